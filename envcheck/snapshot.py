"""The snapshot: every raw fact the probes collected, as plain data.

Probes fill it, rules read it, renderers show it; it round-trips through JSON (``doctor --save`` /
``--from``) with ``schema_version`` 1. ``None`` always means *unknown*, never *absent*: rules stay
silent about what was not observed. Keys documented in docs/reference.md (JSON report) are stable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .serde import from_data, to_data

SCHEMA_VERSION = 1


@dataclass
class ProbeIssue:
    """A probe that could not do its job: which tool, how it failed, and what it said."""

    probe: str
    #: not-found | not-executable | timeout | crashed | garbage | error | did-not-exit | no-driver-comm |
    #: driver-library-mismatch | no-devices
    kind: str
    message: str = ""
    command: List[str] = field(default_factory=list)
    duration_s: Optional[float] = None
    #: the target probe's last progress marker before it hung or crashed: "startup" (none: the interpreter's own
    #: start-up), started, import, imported, cuda-available, cuda-devices, cuda-tensor, cuda-done, xpu, maps, done, result, exit;
    #: None when the probe reports no stages (other tools, older snapshots)
    stage: Optional[str] = None


# --------------------------------------------------------------------------- NVIDIA driver & GPUs


@dataclass
class GpuProcess:
    pid: Optional[int] = None
    name: Optional[str] = None
    used_memory_mib: Optional[int] = None
    type: Optional[str] = None


@dataclass
class Gpu:
    index: int = 0
    name: Optional[str] = None
    uuid: Optional[str] = None
    bus_id: Optional[str] = None
    #: "9.0"; from nvidia-smi's compute_cap, else the GPU table, else torch
    compute_capability: Optional[str] = None
    compute_capability_source: Optional[str] = None
    architecture: Optional[str] = None
    memory_total_mib: Optional[int] = None
    memory_used_mib: Optional[int] = None
    persistence_mode: Optional[str] = None
    #: "Enabled" / "Disabled" as nvidia-smi says it; None when the GPU has no MIG
    mig_mode: Optional[str] = None
    mig_devices: int = 0
    ecc_mode: Optional[str] = None
    ecc_uncorrected_volatile: Optional[int] = None
    ecc_uncorrected_aggregate: Optional[int] = None
    remapped_rows_pending: Optional[bool] = None
    remapped_rows_failure: Optional[bool] = None
    retired_pages_pending: Optional[bool] = None
    #: active clock-event (throttle) reasons, normalised: "hw_thermal_slowdown", "sw_power_cap", ...
    clock_event_reasons: List[str] = field(default_factory=list)
    pcie_gen_current: Optional[int] = None
    pcie_gen_max: Optional[int] = None
    pcie_width_current: Optional[int] = None
    pcie_width_max: Optional[int] = None
    temperature_c: Optional[float] = None
    power_draw_w: Optional[float] = None
    power_limit_w: Optional[float] = None
    power_limit_default_w: Optional[float] = None
    sm_clock_mhz: Optional[int] = None
    sm_clock_max_mhz: Optional[int] = None
    compute_mode: Optional[str] = None
    driver_model: Optional[str] = None
    processes: List[GpuProcess] = field(default_factory=list)


@dataclass
class PciDevice:
    """A GPU function on the PCI bus (NVIDIA in ``driver``, AMD in ``amd``, Intel in ``intel``), seen in /sys
    even when no driver is loaded."""

    address: str = ""
    device_id: Optional[str] = None
    pci_class: Optional[str] = None
    driver: Optional[str] = None


@dataclass
class Driver:
    #: ok | not-found | no-driver-comm | driver-library-mismatch | no-devices | timeout | garbage | error
    status: Optional[str] = None
    status_message: Optional[str] = None
    version: Optional[str] = None
    #: the newest CUDA the driver supports, as nvidia-smi prints it ("13.0")
    cuda_version: Optional[str] = None
    #: the loaded kernel module, from /proc/driver/nvidia/version
    kernel_module_version: Optional[str] = None
    kernel_module_kind: Optional[str] = None
    smi_path: Optional[str] = None
    smi_candidates: List[str] = field(default_factory=list)
    #: the NVML / nvidia-smi library version when it differs from what it reports for the driver
    nvml_version: Optional[str] = None
    pci_devices: List[PciDevice] = field(default_factory=list)
    #: False when /sys could not be read (not Linux, sandbox): then "no PCI device" means unknown
    pci_scanned: bool = False
    #: analyze: a second nvidia-smi outcome in the same paste that differs from ``status`` (one nvidia-smi
    #: works, another fails: two environments, e.g. host and container); None when there is none
    other_status: Optional[str] = None
    other_status_message: Optional[str] = None


# --------------------------------------------------------------------------- AMD (ROCm) and Intel (XPU) GPUs


@dataclass
class AmdGpu:
    """One AMD GPU agent as ROCm's tools (or the KFD topology) name it."""

    #: the agent's name as the source gives it: rocminfo's ``Name`` ("gfx942"), the KFD node's name
    #: ("vega20"); None from amd-smi and rocm_agent_enumerator, which give none
    name: Optional[str] = None
    #: the ISA target, features stripped ("gfx90a", not "gfx90a:sramecc+:xnack-")
    gfx: Optional[str] = None
    #: the product: rocminfo's ``Marketing Name``, amd-smi's ``market_name`` ("AMD Instinct MI300X")
    marketing_name: Optional[str] = None
    #: PCI address ("0000:05:00.0") when the source gives one
    bus_id: Optional[str] = None
    #: PCI device id ("0x74a1") when the source gives one
    device_id: Optional[str] = None


@dataclass
class AmdFacts:
    """AMD GPUs and the ROCm install, for picking a ROCm torch build; all None/empty on a machine without them."""

    gpus: List[AmdGpu] = field(default_factory=list)
    #: rocminfo | amd-smi | rocm_agent_enumerator | kfd: where ``gpus`` came from; None when nothing listed one
    source: Optional[str] = None
    #: ok | not-found (no ROCm tool) | timeout | crashed | garbage | error: how the first tool tried ended
    status: Optional[str] = None
    status_message: Optional[str] = None
    #: the ROCm release installed ("6.2.0"), from <ROCm root>/.info/version; None when no ROCm is installed
    rocm_version: Optional[str] = None
    rocm_path: Optional[str] = None
    #: whether /dev/kfd exists (ROCm's compute device: a container started without it sees no GPU); None off Linux
    kfd: Optional[bool] = None
    #: AMD GPU functions (vendor 0x1002, class 0x03xxxx display or 0x12xxxx accelerator) in /sys/bus/pci, tools or not
    pci_devices: List[PciDevice] = field(default_factory=list)
    #: False when /sys/bus/pci could not be listed: then no PCI device means unknown
    pci_scanned: bool = False


@dataclass
class IntelGpu:
    """One Intel GPU as xpu-smi or sycl-ls (Level Zero, what torch XPU uses) names it."""

    name: Optional[str] = None
    bus_id: Optional[str] = None
    device_id: Optional[str] = None


@dataclass
class IntelFacts:
    """Intel GPUs torch XPU could use; all None/empty on a machine without them."""

    gpus: List[IntelGpu] = field(default_factory=list)
    #: xpu-smi | sycl-ls: where ``gpus`` came from; None when no tool listed one
    source: Optional[str] = None
    #: ok | not-found (neither tool) | timeout | crashed | garbage | error
    status: Optional[str] = None
    status_message: Optional[str] = None
    #: Intel display/3D functions (vendor 0x8086, class 0x03xxxx: integrated GPUs too) in /sys/bus/pci
    pci_devices: List[PciDevice] = field(default_factory=list)
    pci_scanned: bool = False


# --------------------------------------------------------------------------- CUDA toolkits, cuDNN


@dataclass
class CudaToolkit:
    #: major.minor, "13.0"
    version: Optional[str] = None
    full_version: Optional[str] = None
    #: the toolkit root (CUDA_HOME-like)
    path: Optional[str] = None
    nvcc: Optional[str] = None
    #: PATH | CUDA_HOME | CUDA_PATH | /usr/local/cuda | glob | conda | pip
    source: Optional[str] = None
    #: the nvcc a plain ``nvcc`` on PATH runs
    active: bool = False
    #: the toolkit torch.utils.cpp_extension would build extensions with
    used_by_torch_extensions: bool = False
    error: Optional[str] = None


@dataclass
class CudnnCopy:
    version: Optional[str] = None
    path: Optional[str] = None
    #: pip | ldconfig | header | conda | toolkit
    source: Optional[str] = None


@dataclass
class Cudnn:
    #: the copy torch ships with (the nvidia-cudnn-cuXX wheel), from metadata
    bundled: Optional[CudnnCopy] = None
    system: List[CudnnCopy] = field(default_factory=list)
    conda: List[CudnnCopy] = field(default_factory=list)
    #: what torch really loaded (live probe, from /proc/self/maps)
    loaded: Optional[CudnnCopy] = None
    #: torch.backends.cudnn.version() as "9.19.0"
    torch_reported: Optional[str] = None


# --------------------------------------------------------------------------- torch and packages


@dataclass
class LoadedLibrary:
    """A shared library the target process had mapped after CUDA init."""

    name: str = ""
    path: str = ""
    version: Optional[str] = None


@dataclass
class TorchDevice:
    index: int = 0
    name: Optional[str] = None
    capability: Optional[str] = None
    memory_total_mib: Optional[int] = None
    multi_processor_count: Optional[int] = None


def build_of(version: Optional[str], cuda: Optional[str], hip: Optional[str]) -> Optional[str]:
    """The kind of torch build, from what torch's version.py (or the import) says: ``cuda`` and ``hip``
    name the toolkit, both None with a known ``version`` is a CPU build; no version: not known."""
    if cuda:
        return "cuda"
    if hip:
        return "rocm"
    return "cpu" if version else None


@dataclass
class Extension:
    """A compiled extension tied to one torch/CUDA build, as its distribution metadata records it (issue 15)."""

    #: the normalised distribution name ("flash-attn", "torch-scatter")
    name: str = ""
    version: Optional[str] = None
    #: the torch major.minor its local version tag or wheel file names ("2.5" from +pt25cu121 or cu12torch2.5)
    built_torch: Optional[str] = None
    #: the CUDA its tag names ("12.1" from cu121, "12" from cu12)
    built_cuda: Optional[str] = None
    #: the Requires-Dist specifier on torch (">=2.1", "==2.5.1"); None when it names no torch
    requires_torch: Optional[str] = None
    #: where the built_* facts came from: build-info (the build's own record: xformers/cpp_lib.json) | version (the
    #: local tag) | wheel (direct_url.json's file name)
    tag_source: Optional[str] = None
    location: Optional[str] = None


@dataclass
class Torch:
    #: torch.__version__ ("2.11.0+cu130"); from torch/version.py when not imported
    version: Optional[str] = None
    #: the distribution's version as pip sees it ("2.11.0")
    dist_version: Optional[str] = None
    #: torch.version.cuda ("13.0"); None for CPU and ROCm builds
    cuda: Optional[str] = None
    hip: Optional[str] = None
    #: cuda | rocm | cpu, when something says which (torch's version.py or the import, a +cpu tag, a
    #: conda build string); None when nothing does (a pasted `pip list`): then cuda None is not "CPU"
    build: Optional[str] = None
    git_version: Optional[str] = None
    debug: Optional[bool] = None
    #: torch.backends.cudnn.version() as "9.19.0"
    cudnn: Optional[str] = None
    nccl: Optional[str] = None
    arch_list: Optional[List[str]] = None
    cuda_available: Optional[bool] = None
    device_count: Optional[int] = None
    devices: List[TorchDevice] = field(default_factory=list)
    location: Optional[str] = None
    #: pip | conda | uv | ... from the INSTALLER file, "conda" when conda-meta owns it
    installer: Optional[str] = None
    #: every torch package importable from the target, in sys.path order (first wins)
    copies: List[str] = field(default_factory=list)
    #: import or CUDA-init failure: the exception text, or "killed by SIGSEGV"
    error: Optional[str] = None
    #: import | cuda-init | signal | timeout | probe
    error_kind: Optional[str] = None
    #: torch's own warning when is_available() is False ("CUDA initialization: ...")
    cuda_warning: Optional[str] = None
    #: torch.xpu.is_available() (Intel GPUs), from the live probe; None when not asked or torch has no torch.xpu
    xpu_available: Optional[bool] = None
    #: macOS only, from the live probe: torch.backends.mps.is_built() / is_available() (the Apple GPU); None elsewhere
    mps_built: Optional[bool] = None
    mps_available: Optional[bool] = None
    #: macOS only, as the target Python sees it: platform.mac_ver()[0] ("10.16" under an old-SDK x86_64 build),
    #: platform.machine() ("arm64", "x86_64") and sysctl.proc_translated (True: running under Rosetta 2)
    mac_version: Optional[str] = None
    machine: Optional[str] = None
    translated: Optional[bool] = None
    loaded_libraries: List[LoadedLibrary] = field(default_factory=list)
    #: True when the live (import) probe ran; False under --fast
    live: bool = False
    import_s: Optional[float] = None
    cuda_init_s: Optional[float] = None
    #: CUDA extensions in the target (flash-attn, xformers, torch-scatter, ...) from their metadata, never imported
    extensions: List[Extension] = field(default_factory=list)


@dataclass
class Package:
    name: str = ""
    version: Optional[str] = None
    location: Optional[str] = None
    installer: Optional[str] = None
    #: from the package's version.py when it has one ("0.26.0+cu130")
    build_version: Optional[str] = None
    #: CUDA the package was built for (torchvision.version.cuda)
    cuda: Optional[str] = None


@dataclass
class Python:
    executable: Optional[str] = None
    version: Optional[str] = None
    implementation: Optional[str] = None
    #: how the target was chosen: --python | CONDA_PREFIX | VIRTUAL_ENV | PATH
    chosen_by: Optional[str] = None
    prefix: Optional[str] = None
    base_prefix: Optional[str] = None
    is_venv: Optional[bool] = None
    conda_env: Optional[str] = None
    conda_prefix: Optional[str] = None
    user_site: Optional[str] = None
    user_site_enabled: Optional[bool] = None
    #: distributions in the user site that also exist in the environment (user site wins)
    user_site_shadowing: List[str] = field(default_factory=list)
    sys_path: List[str] = field(default_factory=list)
    #: torch, torchvision, torchaudio, triton, nvidia-*, ... keyed by normalised name
    packages: Dict[str, Package] = field(default_factory=dict)
    error: Optional[str] = None
    #: analyze: what a pasted pip/uv command or transcript asked for or chose, in order ("torch==2.5.1+cu121")
    requested: List[str] = field(default_factory=list)
    #: analyze: the --index-url / --extra-index-url / -f of a pasted pip/uv command, in order
    requested_index_urls: List[str] = field(default_factory=list)
    #: analyze: torch, torchvision or torchaudio shown by one pasted listing more than once: every version shown
    listed_twice: Dict[str, List[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------- pip and conda


@dataclass
class PipSetting:
    key: str = ""
    value: str = ""
    #: the file path or the variable name it came from
    origin: str = ""
    #: the mirror this URL belongs to, by name ("tuna"), if known
    mirror: Optional[str] = None


@dataclass
class BrokenConfigFile:
    """A pip configuration file pip cannot use, and how pip reacts to it."""

    path: str = ""
    #: the 1-based line the parser stopped at, when it names one
    line: Optional[int] = None
    #: the parser's own words (configparser's, or "not UTF-8", or why it cannot be read)
    reason: str = ""
    #: True: pip refuses every command ("Configuration file could not be loaded"); False: pip skips the file silently
    refused: bool = True


@dataclass
class PipConfig:
    files: List[str] = field(default_factory=list)
    #: index-url, extra-index-url, find-links, trusted-host, ... in pip's precedence order
    settings: List[PipSetting] = field(default_factory=list)
    index_url: Optional[str] = None
    extra_index_urls: List[str] = field(default_factory=list)
    find_links: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    #: files pip cannot load: one entry per file, with the line where the parser gave one
    broken: List[BrokenConfigFile] = field(default_factory=list)


@dataclass
class CondaRc:
    path: str = ""
    ok: bool = True
    error: Optional[str] = None
    #: True when conda cannot load the file at all (invalid YAML, not a mapping): it stops every command
    load_failed: bool = False
    #: the 1-based line of the YAML error, when the parser gives one
    error_line: Optional[int] = None
    channels: Optional[List[str]] = None
    default_channels: Optional[List[str]] = None
    custom_channels: Optional[Dict[str, str]] = None
    channel_alias: Optional[str] = None
    channel_priority: Optional[str] = None
    show_channel_urls: Optional[bool] = None


@dataclass
class CondaPackage:
    name: str = ""
    version: Optional[str] = None
    build: Optional[str] = None
    channel: Optional[str] = None


@dataclass
class Conda:
    executable: Optional[str] = None
    #: PATH | CONDA_EXE | install-dir
    found_via: Optional[str] = None
    #: False when conda is installed but the shell was never initialised (conda not on PATH)
    initialized: Optional[bool] = None
    version: Optional[str] = None
    root_prefix: Optional[str] = None
    active_env: Optional[str] = None
    active_prefix: Optional[str] = None
    condarc: List[CondaRc] = field(default_factory=list)
    #: merged view, later files win as conda merges them
    channels: List[str] = field(default_factory=list)
    default_channels: List[str] = field(default_factory=list)
    custom_channels: Dict[str, str] = field(default_factory=dict)
    channel_priority: Optional[str] = None
    #: pytorch, pytorch-cuda, cpuonly, pytorch-mutex, cudatoolkit, ... from conda-meta of the target env
    packages: Dict[str, CondaPackage] = field(default_factory=dict)
    #: analyze: the specs a pasted conda/mamba command or plan asked for ("pytorch-cuda=12.1"), in order
    requested: List[str] = field(default_factory=list)
    #: analyze: the channels a pasted conda/mamba run used, in order: its -c options, the "Channels:" list
    #: conda >= 23.9 prints while solving, or a PackagesNotFoundError's "Current channels" by name
    requested_channels: List[str] = field(default_factory=list)


# --------------------------------------------------------------------------- system and environment


@dataclass
class Compiler:
    name: str = ""
    path: Optional[str] = None
    version: Optional[str] = None


@dataclass
class System:
    os: Optional[str] = None
    distro: Optional[str] = None
    kernel: Optional[str] = None
    machine: Optional[str] = None
    glibc: Optional[str] = None
    hostname: Optional[str] = None
    cpu_model: Optional[str] = None
    cpu_count: Optional[int] = None
    ram_total_mib: Optional[int] = None
    ram_available_mib: Optional[int] = None
    disk_free_mib: Optional[int] = None
    disk_path: Optional[str] = None
    container: Optional[str] = None
    wsl: Optional[bool] = None
    shm_total_mib: Optional[int] = None
    compilers: List[Compiler] = field(default_factory=list)
    ninja: Optional[str] = None
    #: Linux aarch64 on an NVIDIA Jetson (Tegra): the L4T release line of /etc/nv_tegra_release ("R36 (release),
    #: REVISION: 4.3, ..."), else "nvidia-l4t-core <version>", else the device-tree model; None when not a Jetson
    jetson: Optional[str] = None
    #: the L4T version on a Jetson ("36.4.3"); None when not a Jetson or not stated
    jetson_l4t: Optional[str] = None
    #: /proc/device-tree/model on a Jetson ("NVIDIA Jetson AGX Orin Developer Kit")
    jetson_model: Optional[str] = None
    #: macOS: the system's version as `sw_vers -productVersion` says it ("15.1"); None elsewhere
    mac_version: Optional[str] = None
    #: macOS: the hardware is Apple Silicon (`sysctl -n hw.optional.arm64` is 1, also under Rosetta); None elsewhere
    apple_silicon: Optional[bool] = None


# --------------------------------------------------------------------------- faults the driver, the fabric, containers and WSL report


@dataclass
class XidRecord:
    """One Xid line of the kernel log ("NVRM: Xid (PCI:0000:3b:00): 79, pid=1173, GPU has fallen off the bus.")."""

    xid: int = 0
    #: "0000:3b:00" as the driver wrote it
    pci: Optional[str] = None
    #: the line's time as the log wrote it: "Jan 16 14:04:39" (journalctl), "44643.002804" or "Fri Aug 30 11:43:09 2024" (dmesg)
    time: Optional[str] = None
    #: what follows the Xid number (pid, process, the driver's words), shortened
    text: str = ""


@dataclass
class KernelLog:
    """The NVIDIA driver's Xid reports in this boot's kernel log (dmesg, else journalctl -k), read without root where
    the system allows it. Not tried (all None) where no NVIDIA kernel module is loaded."""

    #: dmesg | journalctl: the log the Xids were read from; None when none was read
    source: Optional[str] = None
    #: True: a log was read; False: none could be (not permitted, not there); None: not tried
    readable: Optional[bool] = None
    #: why no log could be read, in the tools' own words ("dmesg: read kernel buffer failed: Operation not permitted")
    reason: Optional[str] = None
    xids: List[XidRecord] = field(default_factory=list)


@dataclass
class FabricGpu:
    """One GPU's "Fabric" section of ``nvidia-smi -q`` (NVSwitch systems)."""

    #: the GPU's bus id as nvidia-smi heads its section ("00000000:18:00.0")
    bus_id: Optional[str] = None
    #: Not Supported | Not Started | In Progress | Completed (nvidia-smi's words)
    state: Optional[str] = None
    #: Success, or the error once the state is Completed ("Insufficient Resources"); N/A before
    status: Optional[str] = None


@dataclass
class Fabric:
    """The NVSwitch fabric and its fabric manager. Not probed (all empty) without NVSwitch evidence."""

    #: why this looks like an NVSwitch system: "nvswitch-pci" (NVIDIA bridge functions, class 0x0680, in /sys/bus/pci)
    #: or "fabricmanager-installed" (nv-fabricmanager or its systemd unit); None when neither was seen
    nvswitch_evidence: Optional[str] = None
    #: ``systemctl is-active nvidia-fabricmanager``: active | inactive | failed | activating | deactivating | reloading;
    #: None when not asked or not answered (no systemd)
    service: Optional[str] = None
    gpus: List[FabricGpu] = field(default_factory=list)


@dataclass
class ContainerRuntime:
    """What a GPU container needs, read from files and PATH only (no docker daemon call)."""

    #: the /dev/nvidia* device nodes (nvidia0, nvidiactl, nvidia-uvm, ...)
    dev_nodes: List[str] = field(default_factory=list)
    #: False when /dev could not be listed (not Linux): then no node means unknown
    dev_scanned: bool = False
    #: the docker client on PATH
    docker: Optional[str] = None
    #: NVIDIA Container Toolkit programs on PATH: nvidia-ctk, nvidia-container-runtime, nvidia-container-runtime-hook,
    #: nvidia-container-cli
    toolkit: List[str] = field(default_factory=list)
    #: the runtimes /etc/docker/daemon.json names ("nvidia"); None when the file is absent or unreadable
    daemon_runtimes: Optional[List[str]] = None


@dataclass
class WslCuda:
    """Where libcuda comes from on WSL2 (the Windows driver's copy in /usr/lib/wsl/lib); empty off WSL."""

    #: True when /usr/lib/wsl/lib exists; None off WSL
    wsl_lib: Optional[bool] = None
    #: the libcuda files in /usr/lib/wsl/lib ("libcuda.so", "libcuda.so.1", "libcuda.so.1.1")
    stub_files: List[str] = field(default_factory=list)
    #: libcuda.so* in the Linux library directories that are not links into /usr/lib/wsl/lib: a Linux NVIDIA driver
    #: installed inside WSL, which shadows the Windows driver's
    linux_libcuda: List[str] = field(default_factory=list)
    #: ``ldconfig -p``'s libcuda entries, in its order ("libcuda.so.1 => /usr/lib/wsl/lib/libcuda.so.1"); None when not read
    ldconfig: Optional[List[str]] = None


@dataclass
class Meta:
    envcheck_version: Optional[str] = None
    created_at: Optional[str] = None
    duration_s: Optional[float] = None
    fast: bool = False
    #: doctor | analyze | from-file
    origin: str = "doctor"
    probe_durations_s: Dict[str, float] = field(default_factory=dict)


@dataclass
class Snapshot:
    schema_version: int = SCHEMA_VERSION
    meta: Meta = field(default_factory=Meta)
    driver: Driver = field(default_factory=Driver)
    gpus: List[Gpu] = field(default_factory=list)
    amd: AmdFacts = field(default_factory=AmdFacts)
    intel: IntelFacts = field(default_factory=IntelFacts)
    cuda_toolkits: List[CudaToolkit] = field(default_factory=list)
    cudnn: Cudnn = field(default_factory=Cudnn)
    torch: Torch = field(default_factory=Torch)
    python: Python = field(default_factory=Python)
    pip: PipConfig = field(default_factory=PipConfig)
    conda: Conda = field(default_factory=Conda)
    system: System = field(default_factory=System)
    kernel_log: KernelLog = field(default_factory=KernelLog)
    fabric: Fabric = field(default_factory=Fabric)
    container_runtime: ContainerRuntime = field(default_factory=ContainerRuntime)
    wsl_cuda: WslCuda = field(default_factory=WslCuda)
    #: the variables that matter (CUDA_*, LD_LIBRARY_PATH, NCCL_*, ...), secrets redacted
    env: Dict[str, str] = field(default_factory=dict)
    probe_issues: List[ProbeIssue] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return to_data(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Snapshot":
        if not isinstance(data, dict):
            raise ValueError("a snapshot is a JSON object")
        if "snapshot" in data and isinstance(data["snapshot"], dict):  # a whole doctor --json report
            data = data["snapshot"]
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(f"snapshot schema_version {version!r} is not supported (this envcheck reads {SCHEMA_VERSION})")
        torch = data.get("torch")
        if isinstance(torch, dict) and "build" not in torch:  # written before `build` was recorded
            data = dict(data, torch=dict(torch, build=build_of(torch.get("version"), torch.get("cuda"),
                                                                 torch.get("hip"))))
        return from_data(cls, data)

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> "Snapshot":
        return cls.from_dict(json.loads(text))


def aarch64_flavour(snap: Snapshot) -> Optional[str]:
    """Which NVIDIA build family a Linux aarch64 machine takes: "jetson" (Tegra, L4T wheels) or "sbsa" (Grace
    Hopper / GB200 servers: no Tegra files, an NVIDIA GPU that nvidia-smi or the PCI bus shows); None elsewhere,
    and on aarch64 with no NVIDIA GPU seen (a Raspberry Pi, a Graviton box)."""
    system = snap.system
    if (system.os or "").lower() != "linux" or (system.machine or "").lower() not in ("aarch64", "arm64"):
        return None
    if system.jetson:
        return "jetson"
    if snap.gpus or snap.driver.pci_devices or snap.driver.status == "ok":
        return "sbsa"
    return None
