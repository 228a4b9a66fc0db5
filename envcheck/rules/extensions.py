"""Rules about compiled CUDA extensions beside torch (flash-attn, xformers, torch-scatter, ...), from the inventory
the static target probe read out of their distribution metadata (Torch.extensions).

An extension is built against one torch release and one CUDA major; beside another it fails to load or to run.
The wording is the one ``envcheck analyze`` uses for the same fault in pasted text (error_signatures.toml), so
both paths say the same sentence; the GPU floors are data (extension_arch.toml), never code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..findings import Finding, Severity
from ..i18n import N_, Message, Sentences
from ..knowledge import load_toml
from ..snapshot import Extension
from ..versions import capability, dotted, in_specifier, major_minor
from .base import RuleContext, finding
from .faults import _from_signature

#: the analyze signatures whose wording these findings share
PIN_SIGNATURE = "pip-extension-requires-other-torch"
BUILD_SIGNATURE = "extension-undefined-torch-symbol"
ARCH_SIGNATURE = "flash-attention-gpu-too-old"


@lru_cache(maxsize=4)
def _floors(path: str) -> Dict[str, Dict[str, Any]]:
    return {str(f.get("package")): f for f in load_toml(Path(path)).get("floor", []) if isinstance(f, dict)}


def arch_floors(ctx: RuleContext) -> Dict[str, Dict[str, Any]]:
    """package -> {min_capability, arch, source} from extension_arch.toml; empty when the file is missing."""
    try:
        return _floors(str(Path(ctx.knowledge.data_dir) / "extension_arch.toml"))
    except Exception:
        return {}


@lru_cache(maxsize=4)
def _stable_abi(path: str) -> Dict[str, str]:
    return {str(e.get("package")): str(e.get("since")) for e in load_toml(Path(path)).get("stable_abi", [])
            if isinstance(e, dict)}


def stable_abi_since(ctx: RuleContext) -> Dict[str, str]:
    """package -> the first release whose wheels load beside a later torch (extension_abi.toml); empty when missing."""
    try:
        return _stable_abi(str(Path(ctx.knowledge.data_dir) / "extension_abi.toml"))
    except Exception:
        return {}


def _exact_pin(spec: Optional[str]) -> bool:
    """Only an exact pin (==X, ===X) says which torch a build is for; a range (>=2.1) is the author's hope."""
    parts = [p.strip() for p in (spec or "").split(",") if p.strip()]
    return bool(parts) and all(p.startswith("==") and "*" not in p for p in parts)


def _cuda_major(text: Optional[str]) -> Optional[int]:
    nums = dotted(text)
    return nums[0] if nums else None


def _forward_compatible(ext: Extension, have: str, since: Optional[str]) -> bool:
    """A release built on torch's stable ABI, compiled against an older torch that its own range admits beside."""
    if not since or not ext.version or not ext.built_torch:
        return False
    newer_release = in_specifier(ext.version, f">={since}")
    older_build = in_specifier(have, f">={ext.built_torch}") and major_minor(have) != major_minor(ext.built_torch)
    admitted = not ext.requires_torch or in_specifier(have, ext.requires_torch) is not False
    return bool(newer_release and older_build and admitted)


def _problem(ext: Extension, have: str, have_cuda: Optional[str],
             stable_since: Optional[str] = None) -> Optional[Tuple[str, Dict[str, Any]]]:
    """What is wrong with one extension beside this torch: ("pin"|"torch"|"cuda", facts), or None."""
    if _exact_pin(ext.requires_torch) and in_specifier(have, ext.requires_torch) is False:
        return "pin", {"wants": ext.requires_torch}
    have_mm = major_minor(have)
    if ext.built_torch and have_mm and major_minor(ext.built_torch) != have_mm \
            and not _forward_compatible(ext, have, stable_since):
        return "torch", {"built_torch": ext.built_torch, "built_cuda": ext.built_cuda}
    ext_major, torch_major = _cuda_major(ext.built_cuda), _cuda_major(have_cuda)
    if ext_major is not None and torch_major is not None and ext_major != torch_major:
        return "cuda", {"built_cuda": ext.built_cuda, "torch_cuda": have_cuda}
    return None


def extension_torch_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """An extension whose exact torch pin, build tag (torch major.minor) or CUDA major is not the installed torch's."""
    t = ctx.snap.torch
    have = t.version or t.dist_version
    if not t.extensions or not have:
        return
    stable = stable_abi_since(ctx)
    for ext in t.extensions:
        found = _problem(ext, have, t.cuda, stable.get(ext.name))
        if found is None:
            continue
        kind, facts = found
        ext_version = ext.version or "?"
        build = _from_signature(ctx, BUILD_SIGNATURE, library=ext.name, library_name=ext.name, symbol="?")
        fix = list(build["fix"]) if build else []
        if kind == "pin":
            text = _from_signature(ctx, PIN_SIGNATURE, ext=ext.name, ext_version=ext_version, wants=facts["wants"],
                                   have=have)
            title = text["title"] if text else Message(
                N_("{ext} {ext_version} needs torch{wants}, but torch {have} is installed"),
                ext=ext.name, ext_version=ext_version, wants=facts["wants"], have=have)
            detail = Message(N_("{ext} {ext_version} pins torch{wants} in its metadata (Requires-Dist): it was built "
                                "for that torch and fails to load beside torch {have} (undefined symbols)."),
                             ext=ext.name, ext_version=ext_version, wants=facts["wants"], have=have)
            fix = (list(text["fix"]) if text else []) + fix[:1]
        elif kind == "torch":
            title = Message(N_("{ext} {ext_version} was built for torch {built_torch}, but torch {have} is installed"),
                            ext=ext.name, ext_version=ext_version, built_torch=facts["built_torch"], have=have)
            detail = Message(N_("{ext} is a compiled extension and its build tag names torch {built_torch} (CUDA "
                                "{built_cuda}): beside torch {have} it fails to load (undefined symbols) or runs "
                                "without its kernels."), ext=ext.name, built_torch=facts["built_torch"],
                             built_cuda=facts["built_cuda"], have=have)
        else:
            title = Message(N_("{ext} {ext_version} was built for CUDA {built_cuda}, torch {have} for CUDA "
                               "{torch_cuda}"), ext=ext.name, ext_version=ext_version,
                            built_cuda=facts["built_cuda"], have=have, torch_cuda=facts["torch_cuda"])
            detail = Message(N_("A compiled extension needs torch's CUDA major: {ext} was built with CUDA {built_cuda} "
                                "and torch with CUDA {torch_cuda}, so it fails to load (a missing libcudart) or to "
                                "run."), ext=ext.name, built_cuda=facts["built_cuda"], torch_cuda=facts["torch_cuda"])
        yield finding("extension-torch-mismatch", title, detail, fix, extension=ext.name, version=ext.version,
                      have_torch=have, have_cuda=t.cuda, source=ext.tag_source or "requires", **facts)


def extension_arch_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """An installed extension with a recorded GPU floor (flash-attn 2: sm_80) and a GPU below it; the fix names
    PyTorch's own attention (SDPA), which runs on every GPU."""
    t = ctx.snap.torch
    floors = arch_floors(ctx) if t.extensions else {}
    caps = ctx.capabilities()
    if not floors or not caps:
        return
    for ext in t.extensions:
        floor = floors.get(ext.name)
        need = capability(floor.get("min_capability")) if floor else None
        if need is None:
            continue
        below = [cc for cc in caps if capability(cc) is not None and capability(cc) < need]
        if not below:
            continue
        arch = str(floor.get("arch") or "")
        text = _from_signature(ctx, ARCH_SIGNATURE, arch=arch)
        title = text["title"] if text else Message(
            N_("FlashAttention needs an {arch} GPU or newer, and this GPU is older"), arch=arch)
        here = Message(N_("{ext} {ext_version} is installed; {count} of {total} GPU(s) have compute capability "
                          "{cc}, below sm_{need}."), ext=ext.name, ext_version=ext.version or "?", count=len(below),
                       total=len(caps), cc=", ".join(sorted(set(below))), need=f"{need[0]}{need[1]}")
        detail = Sentences([here, text["detail"]]) if text else here
        severity = Severity.ERROR if len(below) == len(caps) else Severity.WARNING
        fix = list(text["fix"]) if text else [Message(N_(
            "Use PyTorch's own attention instead, which runs on every GPU: "
            "torch.nn.functional.scaled_dot_product_attention (in transformers: attn_implementation=\"sdpa\")"))]
        yield finding("extension-arch-unsupported", title, detail, fix,
                      severity=severity.value, extension=ext.name, version=ext.version, capabilities=below,
                      min_capability=floor.get("min_capability"), source=floor.get("source"))


RULES: List[Any] = [extension_torch_mismatch, extension_arch_unsupported]
