"""Rules about the torch build in the target interpreter: present, importable, CUDA-capable."""

from __future__ import annotations

import re
from typing import Iterator, Optional

from ..install.compat import FULL, driver_support
from ..findings import Finding
from ..i18n import N_, Message
from .base import RuleContext, finding

_UNDEFINED = re.compile(r"(?P<lib>[^\s:]+\.so[\w.]*): undefined symbol: (?P<sym>\S+)")
_MISSING_LIB = re.compile(r"(?P<lib>lib[\w\-+.]+\.so[\w.]*): cannot open shared object file")


def torch_not_installed(ctx: RuleContext) -> Iterator[Finding]:
    t, py = ctx.snap.torch, ctx.snap.python
    if ctx.torch_installed or t.error or not py.executable or py.error:
        return
    yield finding("torch-not-installed", Message(N_("No torch in {python}"), python=py.executable),
                  Message(N_("The target interpreter ({python}, chosen by {chosen_by}) cannot import torch. Pick another with "
                    "--python, or install it:"), python=py.executable, chosen_by=py.chosen_by) if py.chosen_by else
                  Message(N_("The target interpreter ({python}) cannot import torch. Pick another with --python, or "
                             "install it:"), python=py.executable),
                  ctx.install_fix(), python=py.executable)


def torch_import_failed(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    if not t.error or t.error_kind not in ("import", "signal", "cuda-init", "timeout"):
        return
    what = {"import": N_("`import torch` raises in {python}"),
            "signal": N_("`import torch` crashes the interpreter in {python}"),
            "cuda-init": N_("CUDA initialisation fails in {python}"),
            "timeout": N_("`import torch` hangs in {python}")}[t.error_kind]
    fix = [Message(N_("Reinstall a matched set into a clean environment:")), *ctx.install_fix()]
    if _UNDEFINED.search(t.error) or _MISSING_LIB.search(t.error):
        fix.insert(0, Message(N_("See the more specific finding below for the library involved.")))
    yield finding("torch-import-failed", Message(what, python=ctx.snap.python.executable or Message(N_("the target interpreter"))),
                  t.error.strip()[-1500:], fix, error_kind=t.error_kind)


def undefined_symbol(ctx: RuleContext) -> Iterator[Finding]:
    text = ctx.snap.torch.error or ""
    m = _UNDEFINED.search(text)
    if not m:
        return
    lib = m.group("lib")
    yield finding(
        "undefined-symbol", Message(N_("{library}: undefined symbol {symbol}"), library=lib.rsplit('/', 1)[-1], symbol=m.group('sym')[:60]),
        Message(N_("{error}. A library was built against a different version of the one it loads: typically torch "
          "mixed with torchvision/torchaudio/an extension from another build, or a system CUDA library found first "
          "through LD_LIBRARY_PATH."), error=m.group(0)),
        ["echo $LD_LIBRARY_PATH   # " + Message(N_("try again with it unset: {command}"), command="env -u LD_LIBRARY_PATH python -c 'import torch'"),
         "pip list | grep -iE 'torch|nvidia'   # " + Message(N_("every torch* package must come from the same release and "
                                                       "index")),
         *ctx.install_fix()],
        library=lib, symbol=m.group("sym"))


def _cuda_wanted(ctx: RuleContext) -> Optional[Message]:
    """Why this machine wants a CUDA torch, if anything says so: an NVIDIA GPU or driver, a CUDA toolkit,
    or torch.cuda.is_available() asked and answered False."""
    if ctx.has_nvidia:
        return Message(N_("on a machine with an NVIDIA GPU"))
    d = ctx.snap.driver
    if d.status == "not-found" and d.pci_scanned:  # known to have no NVIDIA GPU: the CPU build is the right one
        return None
    asked = _cuda_request(ctx)
    if asked:
        return Message(N_("although a CUDA build was asked for ({request})"), request=asked)
    kits = [k.version for k in ctx.snap.cuda_toolkits if k.version]
    if kits:
        return Message(N_("beside CUDA toolkit {version}"), version=kits[0])
    if ctx.snap.torch.cuda_available is False:
        return Message(N_("while torch.cuda.is_available() was asked for"))
    return None


def _cuda_request(ctx: RuleContext) -> Optional[str]:
    """A CUDA variant in what was asked of pip, uv or conda (a pasted install line or transcript)."""
    py, conda = ctx.snap.python, ctx.snap.conda
    for url in py.requested_index_urls:
        if re.search(r"/whl/(?:nightly/)?cu\d+", url):
            return url
    for spec in py.requested:
        if re.search(r"\+cu\d+", spec):
            return spec
    for spec in conda.requested:
        if re.match(r"(?:pytorch-cuda|cudatoolkit|cuda-version|pytorch-gpu)\b", spec):
            return spec
    return None


def torch_cpu_only(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    if t.build != "cpu" or ctx.os_name == "macos":  # build None: nobody said CPU
        return
    wanted = _cuda_wanted(ctx)
    if wanted is None:
        return
    yield finding("torch-cpu-only", Message(N_("torch {version} is a CPU-only build {why}"),
                                            version=t.version or t.dist_version, why=wanted),
                  Message(N_("torch.version.cuda is None: the GPU will never be used. This happens when pip picked the CPU "
                    "wheel (Windows/macOS PyPI default, the cpu index, or a mirror serving +cpu).")),
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
    detail = Message(N_("torch {version} is a CUDA {cuda} build and nvidia-smi works, yet torch.cuda.is_available() is "
               "False."), version=t.version, cuda=t.cuda)
    if t.cuda_warning:
        detail += Message(N_(" torch says: {message}"), message=t.cuda_warning.strip())
    yield finding("cuda-unavailable", Message(N_("torch cannot use CUDA")), detail, [
        "python -c 'import torch; torch.zeros(1).cuda()'   # " + Message(N_("shows CUDA's own error")),
        "ls -l /dev/nvidia*   # " + Message(N_("device nodes present and readable by you?")),
        Message(N_("Check CUDA_VISIBLE_DEVICES and that no other process holds the GPU in exclusive mode ({command})"), command="nvidia-smi -q -d COMPUTE"),
    ], warning=t.cuda_warning)


RULES = [torch_not_installed, torch_import_failed, undefined_symbol, torch_cpu_only, cuda_unavailable]
