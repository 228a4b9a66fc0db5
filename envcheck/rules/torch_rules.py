"""Rules about the torch build in the target interpreter: present, importable, CUDA-capable."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional

from ..install.compat import FULL, driver_support
from ..findings import Finding
from ..i18n import N_, Message, joined
from ..snapshot import ProbeIssue
from ..versions import at_least
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


#: the target probes as the probes name them (the live import first: its error is the one torch.error keeps)
TARGET_PROBES = ("torch-live", "target")
#: whose hang each progress marker of the target script means (see ProbeIssue.stage): the interpreter's own
#: start-up, envcheck's script, the import of torch, CUDA's or the Intel GPU's initialisation
STAGE_PHASE = {"startup": "startup", "started": "script", "maps": "script", "done": "script",
               "import": "import", "imported": "import", "cuda-available": "cuda", "cuda-devices": "cuda",
               "cuda-tensor": "cuda", "cuda-done": "cuda", "xpu": "xpu"}


def stage_phase(issue: ProbeIssue) -> Optional[str]:
    """startup | script | import | cuda | xpu for a target probe's hang or crash; None when no stage is known."""
    if issue.probe not in TARGET_PROBES or not issue.stage:
        return None
    return STAGE_PHASE.get(issue.stage, "script")


def hang_phase(ctx: RuleContext) -> Optional[str]:
    """Where the target probe whose error torch.error holds hung (:func:`stage_phase`), or None."""
    for probe in TARGET_PROBES:
        for issue in ctx.snap.probe_issues:
            if issue.probe == probe and issue.kind == "timeout":
                return stage_phase(issue)
    return None


def _hang_fix(ctx: RuleContext, phase: Optional[str]) -> List[str]:
    """What to try for a hang, by where it hangs."""
    if phase == "cuda":
        return ["nvidia-smi   # " + Message(N_("does the driver answer? If it hangs too, the driver or a GPU is wedged: "
                                               "look for Xid errors in dmesg; a GPU reset or a reboot clears it")),
                "sudo nvidia-smi -pm 1   # " + Message(N_("persistence mode: the driver stays initialised between "
                                                          "processes instead of bringing every GPU up again at each start")),
                "ls -l /dev/nvidia*   # " + Message(N_("device nodes present and readable by you? In a container, start it "
                                                       "with the GPUs passed through ({command})"), command="docker run --gpus all ..."),
                Message(N_("One GPU at a time finds a bad one: {command}"),
                        command="CUDA_VISIBLE_DEVICES=0 python -c 'import torch; torch.zeros(1).cuda()'"),
                Message(N_("If the machine is only slow, give it longer: {option}"), option="--torch-timeout S")]
    if phase == "xpu":
        return ["ls -l /dev/dri   # " + Message(N_("the Intel GPU's device nodes; in a container pass them in ({option})"),
                                                option="--device /dev/dri"),
                Message(N_("If the machine is only slow, give it longer: {option}"), option="--torch-timeout S")]
    return ["python -X importtime -c 'import torch' 2>&1 | tail   # " + Message(N_(
                "lists each module as it finishes importing: the hang is in one imported after the last line")),
            Message(N_("If the machine is only slow (a cold disk, a network filesystem), give it longer: {option}"),
                    option="--torch-timeout S"),
            Message(N_("Reinstall a matched set into a clean environment:")), *ctx.install_fix()]


def torch_import_failed(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    if not t.error or t.error_kind not in ("import", "signal", "cuda-init", "timeout"):
        return
    phase = hang_phase(ctx) if t.error_kind == "timeout" else None
    if phase in ("startup", "script"):
        return  # torch was never imported: tool-timeout names the interpreter's start-up or envcheck's own step
    what = {"import": N_("`import torch` raises in {python}"),
            "signal": N_("`import torch` crashes the interpreter in {python}"),
            "cuda-init": N_("CUDA initialisation fails in {python}"),
            "timeout": {"cuda": N_("CUDA initialisation hangs in {python}"),
                        "xpu": N_("Intel GPU initialisation (torch.xpu) hangs in {python}")}.get(
                            phase or "", N_("`import torch` hangs in {python}"))}[t.error_kind]
    if t.error_kind == "timeout":
        fix = _hang_fix(ctx, phase)
    else:
        fix = [Message(N_("Reinstall a matched set into a clean environment:")), *ctx.install_fix()]
    if _UNDEFINED.search(t.error) or _MISSING_LIB.search(t.error):
        fix.insert(0, Message(N_("See the more specific finding below for the library involved.")))
    facts = {"error_kind": t.error_kind, **({"stage": phase} if phase else {})}
    yield finding("torch-import-failed", Message(what, python=ctx.snap.python.executable or Message(N_("the target interpreter"))),
                  t.error.strip()[-1500:], fix, **facts)


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


def _mps_floor(ctx: RuleContext) -> Optional[str]:
    """The macOS this torch's MPS needs (platforms.toml [macos-mps]): the backend's floor, higher for recent torch."""
    data = ctx.knowledge.platform_notes().get("macos-mps", {})
    floor = data.get("min_macos")
    version = ctx.snap.torch.version or ctx.snap.torch.dist_version
    if data.get("latest_torch") and at_least(version, data["latest_torch"]) and data.get("latest_min_macos"):
        floor = data["latest_min_macos"]
    return floor


def mps_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """On macOS, torch imported and cannot use the Apple GPU: the reason from the live probe's facts, no CUDA advice."""
    t, s = ctx.snap.torch, ctx.snap.system
    if ctx.os_name != "macos" or not t.live or t.error_kind == "import" or t.mps_available is not False:
        return
    version = t.version or t.dist_version
    causes: List[Message] = []
    fix: List[str] = []
    rosetta = t.translated is True or (t.machine == "x86_64" and s.apple_silicon is True)
    if t.mps_built is False:
        causes.append(Message(N_("this torch {version} was built without MPS"), version=version))
        fix.append("pip install --force-reinstall torch   # " + Message(N_("PyPI's macOS arm64 wheels include MPS")))
    if rosetta:
        causes.append(Message(N_("{python} is an x86_64 Python running under Rosetta on Apple Silicon"),
                              python=ctx.snap.python.executable or "python"))
        fix.append(Message(N_("Use a native arm64 Python (python.org's universal2 installer, Miniforge or Homebrew) "
                              "and install torch in it")))
    floor = _mps_floor(ctx)
    seen = s.mac_version or t.mac_version
    if floor and seen and at_least(seen, floor) is False:
        causes.append(Message(N_("macOS {macos} is older than the {floor} torch {version}'s MPS needs"),
                              macos=seen, floor=floor, version=version))
        fix.append(Message(N_("Update macOS to {floor} or newer"), floor=floor))
    elif floor and t.mac_version and s.mac_version and at_least(t.mac_version, floor) is False:
        causes.append(Message(N_("this Python is told macOS {seen} (the system is {macos}), below the {floor} MPS "
                                 "needs"), seen=t.mac_version, macos=s.mac_version, floor=floor))
    if not causes:
        causes.append(Message(N_("torch.backends.mps.is_available() is False on macOS {macos} with an MPS build (no "
                                 "Metal GPU visible: a virtual machine, or an Intel Mac without a supported GPU)"),
                              macos=seen or "?"))
    fix.append(Message(N_("Until then run on the CPU: {code}"), code="device='cpu'"))
    fix.append("python -c 'import platform, torch; print(platform.machine(), platform.mac_ver()[0], "
               "torch.backends.mps.is_built(), torch.backends.mps.is_available())'")
    yield finding("mps-unavailable",
                  Message(N_("torch cannot use the Apple GPU (MPS): {cause}"), cause=causes[0]),
                  Message(N_("On macOS torch reaches the Apple GPU through MPS (Metal); here it cannot: {causes}."),
                          causes=joined(causes)),
                  fix, torch=version, mps_built=t.mps_built, mac_version=seen, machine=t.machine,
                  translated=t.translated, causes=[str(c) for c in causes])


RULES = [torch_not_installed, torch_import_failed, undefined_symbol, torch_cpu_only, cuda_unavailable,
         mps_unavailable]
