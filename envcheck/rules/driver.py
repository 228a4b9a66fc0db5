"""Rules about the NVIDIA driver: loaded or not, consistent or not, new enough for torch's CUDA."""

from __future__ import annotations

from typing import Iterator

from ..install.compat import FULL, MINOR_COMPAT, TOO_OLD, driver_support
from ..findings import Finding
from ..i18n import N_, Message, join, joined, quoted
from .base import RuleContext, finding

_CONTAINER_HINT = N_("In a container: start it with the GPU passed through "
                     "(`docker run --gpus all ...`, nvidia-container-toolkit installed on the host).")


def driver_not_loaded(ctx: RuleContext) -> Iterator[Finding]:
    d = ctx.snap.driver
    in_container = bool(ctx.snap.system.container)
    if d.status == "no-driver-comm" or (
        d.pci_devices and d.kernel_module_version is None and d.status in ("not-found", None)
    ):
        pci = ", ".join(p.address for p in d.pci_devices) or Message(N_("unknown"))
        bound = {p.driver for p in d.pci_devices if p.driver}
        detail = (Message(N_("nvidia-smi says: {message}"), message=d.status_message.strip())
                  if d.status == "no-driver-comm" and d.status_message
                  else Message(N_("NVIDIA PCI device(s) at {pci}, but no NVIDIA kernel module is loaded "
                         "(/proc/driver/nvidia/version is missing)."), pci=pci))
        if bound and "nvidia" not in bound:
            detail += Message(N_(" The device is bound to: {drivers}."), drivers=", ".join(sorted(bound)))
        fix = [
            "lsmod | grep nvidia; sudo dmesg | grep -iE 'nvrm|nvidia' | tail",
            "sudo modprobe nvidia   # " + Message(N_("load it; if this fails, (re)install the driver:")),
            "sudo ubuntu-drivers install   # " + Message(N_("Ubuntu; or: {command}"), command="sudo apt install nvidia-driver-<version>"),
            Message(N_("With Secure Boot on, the unsigned module is refused: enrol the MOK key or disable Secure Boot.")),
        ]
        if in_container:
            fix.insert(0, Message(_CONTAINER_HINT))
        yield finding("driver-not-loaded", Message(N_("The NVIDIA driver is not loaded")), detail, fix,
                      pci=[p.address for p in d.pci_devices], smi_status=d.status)


def driver_library_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    d = ctx.snap.driver
    if d.status != "driver-library-mismatch":
        return
    versions = []
    if d.kernel_module_version:
        versions.append(Message(N_("kernel module {version}"), version=d.kernel_module_version))
    if d.nvml_version:
        versions.append(Message(N_("NVML library {version}"), version=d.nvml_version))
    detail = Message(N_("nvidia-smi: {message}"), message="Failed to initialize NVML: Driver/library version mismatch.")
    if versions:
        detail += Message(N_(" Loaded: {versions}."), versions=join(", ", versions))
    detail += Message(N_(" The driver packages were upgraded but the old kernel module is still loaded."))
    yield finding("driver-library-mismatch", Message(N_("Driver/library version mismatch (reboot pending)")), detail, [
        "sudo reboot   # " + Message(N_("simplest: loads the new kernel module")),
        Message(N_("or, with no GPU process running: {command}"), command="sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia"),
        Message(N_("To stop it recurring: hold the driver packages ({command} / disable unattended upgrades for them)"), command="sudo apt-mark hold 'nvidia-*'"),
    ], kernel_module=d.kernel_module_version, nvml=d.nvml_version)


def two_environments(ctx: RuleContext) -> Iterator[Finding]:
    """One nvidia-smi works and another fails in the same paste: the driver is fine, one environment (a container,
    a conda env, a nix profile) carries NVIDIA user-space libraries of its own. A reboot changes nothing there."""
    d = ctx.snap.driver
    if d.status != "ok" or d.other_status not in ("driver-library-mismatch", "no-driver-comm"):
        return
    yield finding("driver-library-mismatch",
                  Message(N_("One environment's NVIDIA libraries differ from the driver ({driver} works elsewhere)"),
                          driver=d.version or "nvidia-smi"),
                  Message(N_("One nvidia-smi in the paste works (driver {driver}) and another says: {message}. The "
                             "kernel driver is fine; the failing one runs with its own libnvidia-ml / libcuda: a "
                             "container without the host's driver libraries, a conda env with cuda-compat or "
                             "nvidia-ml, or a nix profile."), driver=d.version or "nvidia-smi",
                          message=quoted((d.other_status_message or d.other_status or "").strip().rstrip("."))),
                  ["ldconfig -p | grep -E 'libnvidia-ml|libcuda\\.so'   # " + Message(N_("in both environments: which "
                                                                                       "library each one loads")),
                   Message(N_("In a container: start it with the NVIDIA container toolkit ({command}) so the host's "
                              "driver libraries are mounted, and remove any libnvidia-ml/libcuda from the image"),
                           command="docker run --gpus all ..."),
                   Message(N_("In a conda env: {command}, then reactivate it"),
                           command="conda remove cuda-compat nvidia-ml-py --force")],
                  driver=d.version, other_status=d.other_status)


def no_devices(ctx: RuleContext) -> Iterator[Finding]:
    d = ctx.snap.driver
    if d.status != "no-devices":
        return
    fix = ["sudo dmesg | grep -iE 'xid|nvrm' | tail   # " + Message(N_("Xid 79 = GPU fell off the bus")),
           "nvidia-smi -L; lspci | grep -i nvidia",
           Message(N_("A GPU that fell off the bus needs a reboot (or power cycle) of the node."))]
    if ctx.snap.system.container:
        fix.insert(0, Message(_CONTAINER_HINT))
    yield finding("no-devices", Message(N_("The driver is loaded but sees no GPU")),
                  Message(N_("nvidia-smi: {message}"), message=(d.status_message or "No devices were found").strip()), fix)


def no_nvidia_gpu(ctx: RuleContext) -> Iterator[Finding]:
    d = ctx.snap.driver
    if d.status == "not-found" and d.pci_scanned and not d.pci_devices and not ctx.snap.gpus \
            and d.kernel_module_version is None:
        detail = Message(N_("No NVIDIA device on the PCI bus, no NVIDIA kernel module, no nvidia-smi."))
        if ctx.torch_is_cuda:
            detail += Message(N_(" The installed torch is a CUDA {cuda} build; it will run on the CPU only."), cuda=ctx.snap.torch.cuda)
        yield finding("no-nvidia-gpu", Message(N_("No NVIDIA GPU on this machine")), detail)


def smi_driver_skew(ctx: RuleContext) -> Iterator[Finding]:
    d = ctx.snap.driver
    if d.status != "ok" or d.other_status:  # facts of two environments: two-environments says it
        return
    pairs = []
    if d.kernel_module_version and d.version and d.kernel_module_version != d.version:
        pairs.append(Message(N_("kernel module {module} vs nvidia-smi's driver {driver}"), module=d.kernel_module_version, driver=d.version))
    if d.nvml_version and d.version and d.nvml_version != d.version:
        pairs.append(Message(N_("NVML {nvml} vs driver {driver}"), nvml=d.nvml_version, driver=d.version))
    if pairs:
        yield finding("smi-driver-skew", Message(N_("nvidia-smi and the kernel module disagree on the driver version")),
                      Message(N_("{pairs}. A reboot after a driver upgrade usually settles it."), pairs=joined(pairs)),
                      ["sudo reboot"], kernel_module=d.kernel_module_version, driver=d.version)


def driver_too_old(ctx: RuleContext) -> Iterator[Finding]:
    t, d = ctx.snap.torch, ctx.snap.driver
    if not t.cuda or (not d.version and not d.cuda_version):
        return
    support = driver_support(t.cuda, d.version, d.cuda_version, ctx.knowledge, ctx.os_name)
    warning_text = t.cuda_warning or ""
    torch_says_old = "too old" in warning_text.lower()
    if support.status == FULL and not torch_says_old:
        return
    if support.status not in (TOO_OLD, MINOR_COMPAT) and not torch_says_old:
        return
    rule = support.rule
    upgrade = (Message(N_("Upgrade the NVIDIA driver to >= {version}"), version=support.needed) if support.needed
               else Message(N_("Upgrade the NVIDIA driver"))) + Message(N_(" ({command}, or NVIDIA's .run/.deb for your distro)"), command="sudo ubuntu-drivers install")
    if support.status == MINOR_COMPAT and not torch_says_old:
        yield finding(
            "driver-too-old",
            Message(N_("torch {version} (CUDA {cuda}) runs only under CUDA minor-version compatibility"), version=t.version, cuda=t.cuda),
            Message(N_("Rule applied: {rule}. Kernels shipped in the build run; PTX JIT and some newer CUDA APIs fail "
              "(e.g. 'the provided PTX was compiled with an unsupported toolchain')."), rule=rule),
            [upgrade, Message(N_("or install a torch built for the driver's CUDA:")), *ctx.install_fix()],
            severity="warning", rule=support.rule, driver=d.version, torch_cuda=t.cuda, status=support.status)
        return
    detail = Message(N_("Rule applied: {rule}."), rule=rule)
    if torch_says_old:
        detail += Message(N_(" torch says: {message}"), message=warning_text.strip())
    yield finding(
        "driver-too-old", Message(N_("The driver ({driver}) is too old for torch's CUDA {cuda}"), driver=d.version or "CUDA " + str(d.cuda_version), cuda=t.cuda),
        detail, [upgrade, Message(N_("or install a torch built for the driver's CUDA:")), *ctx.install_fix()],
        rule=support.rule, driver=d.version, driver_cuda=d.cuda_version, torch_cuda=t.cuda)


RULES = [driver_not_loaded, driver_library_mismatch, two_environments, no_devices, no_nvidia_gpu, smi_driver_skew, driver_too_old]
