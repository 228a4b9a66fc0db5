"""Rules about environment variables that change which GPUs and libraries torch sees."""

from __future__ import annotations

import os
from typing import Iterator, List

from ..findings import Finding
from .base import RuleContext, finding

_HIDE_ALL = ("", "-1", "nodevfiles", "none", "void")
#: libraries torch ships itself in pip installs; a copy from elsewhere means shadowing
_SHADOWABLE = ("libcudnn", "libcublas", "libcudart", "libnccl", "libnvrtc", "libcusparse", "libcufft")


def cuda_visible_devices_invalid(ctx: RuleContext) -> Iterator[Finding]:
    _ = ctx._
    raw = ctx.snap.env.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return
    gpus = ctx.snap.gpus
    setting = f"CUDA_VISIBLE_DEVICES={raw!r}"
    if raw.strip().lower() in _HIDE_ALL:
        if gpus or ctx.has_nvidia:
            yield finding("cuda-visible-devices-invalid", _("{setting} hides every GPU").format(setting=setting),
                          _("CUDA sees no device, so torch.cuda.is_available() is False."),
                          ["unset CUDA_VISIBLE_DEVICES   # " + _("or list the GPUs you want, e.g. {example}").format(
                              example="CUDA_VISIBLE_DEVICES=0,1")],
                          value=raw)
        return
    if not gpus:
        return  # nothing to check the entries against
    uuids = [g.uuid or "" for g in gpus]
    seen: List[str] = []
    bad: List[str] = []
    for position, entry in enumerate(e.strip() for e in raw.split(",")):
        valid = False
        if entry.isdigit():
            valid = int(entry) < len(gpus)
        elif entry.upper().startswith(("GPU-", "MIG-")):
            valid = entry.upper().startswith("MIG-") or any(u.lower().startswith(entry.lower()) for u in uuids)
        if not valid or entry in seen:
            bad.append(entry)
            first_bad = position
            break
        seen.append(entry)
    if not bad:
        return
    hidden_all = first_bad == 0
    detail = _("Entry {entry} is not a GPU here ({count} GPU(s): indices {indices}). CUDA stops at the first "
               "invalid entry: ").format(entry=repr(bad[0]), count=len(gpus), indices=f"0..{len(gpus) - 1}") + (
        _("no GPU is visible.") if hidden_all else _("only {visible} stay visible.").format(visible=", ".join(seen)))
    yield finding("cuda-visible-devices-invalid", _("{setting} names a GPU that does not exist").format(
                      setting=setting),
                  detail, ["nvidia-smi -L   # " + _("valid indices and UUIDs"),
                           f"export CUDA_VISIBLE_DEVICES={','.join(str(i) for i in range(len(gpus)))}"],
                  severity="error" if hidden_all else "warning", value=raw, invalid=bad[0])


def device_order_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    gpus = ctx.snap.gpus
    names = {g.name for g in gpus}
    if len(gpus) < 2 or len(names) < 2:
        return
    if (ctx.snap.env.get("CUDA_DEVICE_ORDER") or "").upper() == "PCI_BUS_ID":
        return
    _ = ctx._
    yield finding("device-order-mismatch", _("CUDA may number these mixed GPUs differently from nvidia-smi"),
                  _("GPUs {names}: CUDA's default order is fastest first, nvidia-smi's is PCI bus order, so cuda:0 "
                    "may not be nvidia-smi's GPU 0.").format(names=", ".join(sorted(n for n in names if n))),
                  ["export CUDA_DEVICE_ORDER=PCI_BUS_ID"])


def ld_library_path_shadowing(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    ld = ctx.snap.env.get("LD_LIBRARY_PATH") or ""
    ld_dirs = [d.rstrip("/") for d in ld.split(os.pathsep) if d]
    if not ld_dirs or not t.loaded_libraries:
        return
    torch_root = os.path.dirname(os.path.dirname(t.location or "")) if t.location else ""
    shadowed = []
    for lib in t.loaded_libraries:
        if not lib.name.startswith(_SHADOWABLE):
            continue
        lib_dir = os.path.dirname(lib.path).rstrip("/")
        if torch_root and lib.path.startswith(torch_root):
            continue
        if lib_dir in ld_dirs:
            shadowed.append(lib)
    if not shadowed:
        return
    _ = ctx._
    bundled = ctx.snap.cudnn.bundled
    libraries = _("; ").join(_("{name} {version} from {path}").format(name=l.name, version=l.version or "", path=l.path)
                          .replace("  ", " ") for l in shadowed)
    detail = _("torch loaded {libraries} — directories listed in LD_LIBRARY_PATH ({value}), instead of the copies "
               "installed with torch").format(libraries=libraries, value=ld)
    if bundled and bundled.version:
        detail += _(" (bundled cuDNN {version})").format(version=bundled.version)
    yield finding("ld-library-path-shadowing", _("LD_LIBRARY_PATH overrides torch's own CUDA libraries"),
                  _("{text}.").format(text=detail),
                  [_("Run without it: {command}").format(command="env -u LD_LIBRARY_PATH python your_script.py"),
                   _("or remove the CUDA/cuDNN directories from LD_LIBRARY_PATH in ~/.bashrc")],
                  libraries=[l.path for l in shadowed])


RULES = [cuda_visible_devices_invalid, device_order_mismatch, ld_library_path_shadowing]
