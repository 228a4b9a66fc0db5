"""Rules about the torch build in the target interpreter: present, importable, CUDA-capable."""

from __future__ import annotations

import re
from typing import Iterator

from ..compat import FULL, driver_support
from ..findings import Finding
from .base import RuleContext, finding

_UNDEFINED = re.compile(r"(?P<lib>[^\s:]+\.so[\w.]*): undefined symbol: (?P<sym>\S+)")
_MISSING_LIB = re.compile(r"(?P<lib>lib[\w\-+.]+\.so[\w.]*): cannot open shared object file")


def torch_not_installed(ctx: RuleContext) -> Iterator[Finding]:
    t, py = ctx.snap.torch, ctx.snap.python
    if ctx.torch_installed or t.error or not py.executable or py.error:
        return
    yield finding("torch-not-installed", f"No torch in {py.executable}",
                  f"The target interpreter ({py.executable}, chosen by {py.chosen_by or '?'}) cannot import torch. "
                  "Pick another with --python, or install it:", ctx.install_fix(), python=py.executable)


def torch_import_failed(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    if not t.error or t.error_kind not in ("import", "signal", "cuda-init", "timeout"):
        return
    what = {"import": "`import torch` raises", "signal": "`import torch` crashes the interpreter",
            "cuda-init": "CUDA initialisation fails", "timeout": "`import torch` hangs"}[t.error_kind]
    fix = ["Reinstall a matched set into a clean environment:", *ctx.install_fix()]
    if _UNDEFINED.search(t.error) or _MISSING_LIB.search(t.error):
        fix.insert(0, "See the more specific finding below for the library involved.")
    yield finding("torch-import-failed", f"{what} in {ctx.snap.python.executable or 'the target interpreter'}",
                  t.error.strip()[-1500:], fix, error_kind=t.error_kind)


def undefined_symbol(ctx: RuleContext) -> Iterator[Finding]:
    text = ctx.snap.torch.error or ""
    m = _UNDEFINED.search(text)
    if not m:
        return
    lib = m.group("lib")
    yield finding(
        "undefined-symbol", f"{lib.rsplit('/', 1)[-1]}: undefined symbol {m.group('sym')[:60]}",
        f"{m.group(0)}. A library was built against a different version of the one it loads: typically torch "
        "mixed with torchvision/torchaudio/an extension from another build, or a system CUDA library found first "
        "through LD_LIBRARY_PATH.",
        ["echo $LD_LIBRARY_PATH   # try again with it unset: env -u LD_LIBRARY_PATH python -c 'import torch'",
         "pip list | grep -iE 'torch|nvidia'   # every torch* package must come from the same release and index",
         *ctx.install_fix()],
        library=lib, symbol=m.group("sym"))


def torch_cpu_only(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    if not ctx.torch_installed or t.cuda or t.hip or ctx.os_name == "macos" or not ctx.has_nvidia:
        return
    if t.version is None and t.live is False and t.dist_version is None:
        return
    yield finding("torch-cpu-only", f"torch {t.version or t.dist_version} is a CPU-only build on a machine with an NVIDIA GPU",
                  "torch.version.cuda is None: the GPU will never be used. This happens when pip picked the CPU "
                  "wheel (Windows/macOS PyPI default, the cpu index, or a mirror serving +cpu).",
                  ["pip uninstall -y torch torchvision torchaudio", *ctx.install_fix()],
                  torch=t.version)


def cuda_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    t, d = ctx.snap.torch, ctx.snap.driver
    if not t.live or not t.cuda or t.cuda_available is not False or t.error:
        return
    if d.status != "ok" or not ctx.snap.gpus:
        return  # the driver findings explain it
    support = driver_support(t.cuda, d.version, d.cuda_version, ctx.knowledge, ctx.os_name)
    if support.status != FULL or "too old" in (t.cuda_warning or "").lower():
        return  # driver-too-old explains it
    cvd = ctx.snap.env.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None and cvd.strip() in ("", "-1", "NoDevFiles"):
        return  # cuda-visible-devices-invalid explains it
    detail = f"torch {t.version} is a CUDA {t.cuda} build and nvidia-smi works, yet torch.cuda.is_available() is False."
    if t.cuda_warning:
        detail += f" torch says: {t.cuda_warning.strip()}"
    yield finding("cuda-unavailable", "torch cannot use CUDA", detail, [
        "python -c 'import torch; torch.zeros(1).cuda()'   # shows CUDA's own error",
        "ls -l /dev/nvidia*   # device nodes present and readable by you?",
        "Check CUDA_VISIBLE_DEVICES and that no other process holds the GPU in exclusive mode (nvidia-smi -q -d COMPUTE)",
    ], warning=t.cuda_warning)


RULES = [torch_not_installed, torch_import_failed, undefined_symbol, torch_cpu_only, cuda_unavailable]
