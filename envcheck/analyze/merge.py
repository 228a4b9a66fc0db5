"""Typed blocks and signature matches -> one partial snapshot (``meta.origin == "analyze"``).

The rule everywhere: a fact is set once, by the first input (in the order given, then line order)
that states it; later inputs only fill what is still unknown, and nothing is invented. ``None``
stays "unknown" exactly as in a doctor snapshot. A few things the snapshot cannot say are kept on
the :class:`Merger` instead (whether the torch build is known to be CPU-only, for instance), and
the notes say what was read and what conflicted.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any, List, Optional

from .. import __version__
from ..i18n import N_, Message
from ..knowledge import Knowledge, KnowledgeError
from ..probes.nvidia import classify_smi_failure, nvml_library_version
from ..probes.target import extension_of
from ..probes.target_script import EXTENSIONS
from ..runner import CommandResult
from ..probes.envvars import _relevant as _env_relevant
from ..redact import redact_env
from ..snapshot import (Compiler, CondaPackage, CudaToolkit, CudnnCopy, Gpu, LoadedLibrary, Meta, Package, Snapshot,
                        TorchDevice)
from ..versions import capability, capability_str, cuda_from_tag, dotted, local_tag, major_minor
from . import (collect_env, conda_plan, conda_text, env_report, env_vars, frames, install_cmd, ldd, nvcc, pip_list,
               pip_log, prints, prose, smi_list, smi_q, smi_table)
from .detect import Block
from .signatures import Hit
from .textscan import line_starts, lines_holding

_CONDA_BUILD_CUDA = re.compile(r"cuda_?(\d+)\.?(\d)?")
#: what only WSL shows: its kernel ("5.15.153.1-microsoft-standard-WSL2", WSL1's "4.4.0-19041-Microsoft"), the
#: driver's libraries mounted from Windows, the \\wsl$ share
#: in the lower-cased text (a case-insensitive search is slow over a big paste)
_WSL_EVIDENCE = re.compile(r"microsoft-standard-wsl|\d-microsoft\b|/usr/lib/wsl/|\\\\wsl(?:\$|\.localhost)\\")
_SITE_HINT = re.compile("-packages")
_SMI_HINT = re.compile("NVIDIA-SMI|NVML|No devices")
#: nvidia-smi's own failure lines (the ones rules know by status, and "Unknown Error" / "Insufficient Permissions")
_SMI_FAILURE = re.compile(r"NVIDIA-SMI has failed because it couldn.t communicate with the NVIDIA driver|"
                          r"Failed to initialize NVML: [A-Za-z/ ]+|^[ \t]*No devices were found[ \t]*$")
_SYS_PLATFORM = {"linux": "Linux", "win32": "Windows", "darwin": "Darwin", "cygwin": "Windows"}


#: GPUs one analysis keeps (one machine shows at most 16: DGX-2, HGX-2)
MAX_GPUS = 64


def _unknown(value: Any) -> bool:
    return value is None or value == "" or value == []


def fill(obj: Any, attr: str, value: Any) -> bool:
    """Set ``obj.attr`` to ``value`` when it is still unknown and ``value`` is known."""
    if _unknown(value) or not _unknown(getattr(obj, attr)):
        return False
    setattr(obj, attr, value)
    return True


def _name_key(name: Optional[str]) -> str:
    text = (name or "").lower().replace("nvidia", " ").replace("...", " ")
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text).split())


def names_compatible(a: Optional[str], b: Optional[str]) -> bool:
    """Two GPU names that may be the same GPU (either unknown, equal, or one a truncation of the other)."""
    if not a or not b:
        return True
    ka, kb = _name_key(a), _name_key(b)
    if not ka or not kb:
        return True
    truncated = "..." in a or "..." in b
    if truncated:
        return ka.startswith(kb) or kb.startswith(ka)
    return ka == kb or ka in kb or kb in ka


def _bus_key(bus: Optional[str]) -> Optional[str]:
    if not bus:
        return None
    parts = bus.lower().split(":")
    if len(parts) != 3:
        return bus.lower()
    return f"{int(parts[0], 16) if parts[0].strip() else 0}:{parts[1]}:{parts[2]}"


@dataclass
class Merger:
    knowledge: Optional[Knowledge] = None
    snap: Snapshot = field(default_factory=Snapshot)
    #: "cpu" | "cuda" | "rocm" when the torch build is known (the snapshot cannot say "known CPU")
    torch_build: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    #: MIG instances per GPU index from MIG tables, applied once every GPU is known (tables come in any order)
    mig_instances: dict = field(default_factory=dict)
    #: (status, message) of every failing nvidia-smi seen in the text, kept beside a working one
    smi_failures: list = field(default_factory=list)
    #: site-packages folder -> the top-level packages paths in the text load from it (tracebacks, errors)
    sites: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.snap.meta = Meta(envcheck_version=__version__, origin="analyze",
                              created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    # ------------------------------------------------------------------ GPUs, toolkits, packages

    def add_gpu(self, new: Gpu) -> Gpu:
        """The GPU ``new`` is (merged into it), or ``new`` added. Past :data:`MAX_GPUS` GPUs a new one is not kept:
        each is compared with every one kept, and no machine has that many (a paste listing more is not one machine)."""
        for gpu in self.snap.gpus:
            same = (gpu.uuid and new.uuid and gpu.uuid.lower() == new.uuid.lower()) or \
                   (_bus_key(gpu.bus_id) and _bus_key(gpu.bus_id) == _bus_key(new.bus_id))
            if not same and gpu.index == new.index and names_compatible(gpu.name, new.name):
                same = not (gpu.uuid and new.uuid) and not (gpu.bus_id and new.bus_id)
            if same:
                self._merge_gpu(gpu, new)
                return gpu
        if len(self.snap.gpus) < MAX_GPUS:
            self.snap.gpus.append(new)
        return new

    def _merge_gpu(self, gpu: Gpu, new: Gpu) -> None:
        if new.name and (not gpu.name or ("..." in gpu.name and "..." not in new.name)):
            gpu.name = new.name
        for attr, value in vars(new).items():
            if attr in ("index", "name", "processes", "clock_event_reasons", "mig_devices"):
                continue
            fill(gpu, attr, value)
        if not gpu.processes and new.processes:
            gpu.processes = list(new.processes)
        if not gpu.clock_event_reasons and new.clock_event_reasons:
            gpu.clock_event_reasons = list(new.clock_event_reasons)
        gpu.mig_devices = max(gpu.mig_devices, new.mig_devices)

    def add_toolkit(self, kit: CudaToolkit) -> CudaToolkit:
        for existing in self.snap.cuda_toolkits:
            if existing.version == kit.version and (existing.active == kit.active or not existing.active or not kit.active):
                fill(existing, "full_version", kit.full_version)
                existing.active = existing.active or kit.active
                existing.used_by_torch_extensions = existing.used_by_torch_extensions or kit.used_by_torch_extensions
                return existing
        if kit.active and any(k.active for k in self.snap.cuda_toolkits):
            kit.active = False  # two different nvcc pasted as "the one on PATH": keep the first as active
            self.notes.append(Message(N_("two different nvcc versions were pasted; {version} is kept as a second "
                                      "toolkit"), version=kit.version))
        self.snap.cuda_toolkits.append(kit)
        return kit

    def add_package(self, name: str, package: Package) -> None:
        if name not in self.snap.python.packages:
            self.snap.python.packages[name] = package
        else:
            existing = self.snap.python.packages[name]
            fill(existing, "version", package.version)
            fill(existing, "location", package.location)

    def add_conda_package(self, name: str, package: CondaPackage) -> None:
        self.snap.conda.packages.setdefault(name, package)

    def note_build(self, build: Optional[str]) -> None:
        if build and self.torch_build is None:
            self.torch_build = build

    # ------------------------------------------------------------------ blocks

    def apply_block(self, block: Block) -> None:
        handler = getattr(self, "_block_" + block.kind.replace("-", "_"), None)
        if handler is not None:
            handler(block)

    def _driver_seen(self, version: Optional[str], cuda: Optional[str]) -> None:
        d = self.snap.driver
        fill(d, "version", version)
        fill(d, "cuda_version", cuda)
        if d.status is None and (version or cuda):
            d.status = "ok"

    def _block_smi_table(self, block: Block) -> None:
        table = smi_table.parse(block.lines)
        d = self.snap.driver
        self._driver_seen(table.driver.version, table.driver.cuda_version)
        if table.cuda_raw and not table.driver.cuda_version:
            self.notes.append(Message(N_("nvidia-smi printed '{text}': the driver's CUDA is unknown"),
                                   text=f"CUDA Version: {table.cuda_raw}"))
        smi, drv = table.smi_version, table.driver.version
        if smi and drv and smi != drv and d.version == drv:
            if len(drv.split(".")) == 2:
                # WSL prints the Windows driver (two-part number) beside its own Linux-side nvidia-smi:
                # not a skew a reboot would settle, so not the NVML version either
                self.notes.append(Message(N_("nvidia-smi {smi} reports driver {driver}: as on WSL, where the driver is "
                                          "the Windows one; not treated as a driver/NVML skew"), smi=smi, driver=drv))
            else:
                fill(d, "nvml_version", smi)
        if table.windows and not self.snap.system.wsl:
            fill(self.snap.system, "os", "Windows")
        if table.gpus and d.status is None:
            d.status = "ok"
        for gpu in table.gpus:
            self.add_gpu(gpu)
        for index, count in table.mig_instances.items():
            self.mig_instances[index] = max(self.mig_instances.get(index, 0), count)

    def _smi_structured(self, driver, gpus) -> None:
        self._driver_seen(driver.version, driver.cuda_version)
        if gpus and self.snap.driver.status is None:
            self.snap.driver.status = "ok"
        for gpu in gpus:
            self.add_gpu(gpu)

    def _block_smi_q(self, block: Block) -> None:
        self._smi_structured(*smi_q.parse_text(block.lines))

    def _block_smi_xml(self, block: Block) -> None:
        self._smi_structured(*smi_q.parse_xml(block.text))

    def _block_smi_csv(self, block: Block) -> None:
        self._smi_structured(*smi_q.parse_csv(block.lines))

    def _block_nvcc(self, block: Block) -> None:
        kit = nvcc.parse(block.text)
        if kit is not None:
            self.add_toolkit(kit)

    def _block_pip_list(self, block: Block) -> None:
        twice: dict = {}
        for name, package in pip_list.parse_list(block.lines, twice).items():
            self.add_package(name, package)
        for name, versions in twice.items():
            self.snap.python.listed_twice.setdefault(name, versions)

    def _block_pip_freeze(self, block: Block) -> None:
        for name, package in pip_list.parse_freeze(block.lines).items():
            self.add_package(name, package)

    def _block_conda_list(self, block: Block) -> None:
        result = conda_text.parse_list(block.lines)
        for name, package in result.packages.items():
            self.add_conda_package(name, package)
        for name, package in result.pip_packages.items():
            self.add_package(name, package)
        fill(self.snap.conda, "active_prefix", result.prefix)

    def _block_conda_info(self, block: Block) -> None:
        info = conda_text.parse_info(block.lines)
        c = self.snap.conda
        fill(c, "version", info.version)
        fill(c, "active_env", info.active_env)
        fill(c, "active_prefix", info.active_prefix)
        fill(c, "root_prefix", info.root_prefix)
        if not c.channels and info.channels:
            c.channels = list(info.channels)
        if info.virtual_cuda:
            fill(self.snap.driver, "cuda_version", major_minor(info.virtual_cuda))
        if info.platform:
            os_name = {"linux": "Linux", "win": "Windows", "osx": "Darwin"}.get(info.platform.split("-")[0])
            fill(self.snap.system, "os", os_name)

    def _block_conda_config(self, block: Block) -> None:
        rc = conda_text.parse_config(block.lines)
        if rc is None:
            return
        c = self.snap.conda
        c.condarc.append(rc)
        if not c.channels and rc.channels:
            c.channels = list(rc.channels)
        if not c.default_channels and rc.default_channels:
            c.default_channels = list(rc.default_channels)
        for name, url in (rc.custom_channels or {}).items():
            c.custom_channels.setdefault(name, url)
        fill(c, "channel_priority", rc.channel_priority)

    def _block_collect_env(self, block: Block) -> None:
        ce = collect_env.parse(block.lines)
        t, s = self.snap.torch, self.snap.system
        fill(t, "version", ce.torch_version)
        fill(t, "cuda", ce.torch_cuda)
        fill(t, "hip", ce.torch_hip)
        fill(t, "debug", ce.torch_debug)
        fill(t, "cuda_available", ce.cuda_available)
        self.note_build(ce.torch_build)
        fill(s, "os", ce.os)
        fill(s, "distro", ce.distro)
        fill(s, "machine", ce.machine)
        fill(s, "kernel", ce.kernel)
        fill(s, "wsl", ce.wsl)
        fill(s, "glibc", ce.glibc)
        fill(s, "cpu_model", ce.cpu_model)
        fill(s, "cpu_count", ce.cpu_count)
        if not s.compilers:
            if ce.gcc:
                s.compilers.append(Compiler("gcc", None, ce.gcc))
            if ce.clang:
                s.compilers.append(Compiler("clang", None, ce.clang))
        fill(self.snap.python, "version", ce.python_version)
        if ce.nvcc:
            self.add_toolkit(CudaToolkit(version=major_minor(ce.nvcc), full_version=ce.nvcc,
                                         source="collect_env: PATH", active=True))
        self._driver_seen(ce.driver_version, None)
        for gpu in ce.gpus:
            self.add_gpu(gpu)
        if ce.gpus and self.snap.driver.status is None:
            self.snap.driver.status = "ok"  # collect_env got them from nvidia-smi -L
        for copy in ce.cudnn_system:
            self.snap.cudnn.system.append(copy)
        for name, package in ce.pip_packages.items():
            self.add_package(name, package)
        for name, package in ce.conda.packages.items():
            self.add_conda_package(name, package)
        for name, value in ce.env.items():
            if _env_relevant(name):
                self.snap.env.setdefault(name, redact_env(name, value))

    def _block_smi_list(self, block: Block) -> None:
        gpus = smi_list.parse(block.lines)
        for gpu in gpus:
            self.add_gpu(gpu)
        if gpus and self.snap.driver.status is None:
            self.snap.driver.status = "ok"  # nvidia-smi -L answered

    def _platform(self, platform: Optional[str], sys_platform: Optional[str] = None) -> None:
        s = self.snap.system
        if platform:
            ce = collect_env.CollectEnv()
            collect_env._platform(platform, ce)
            fill(s, "os", ce.os)
            fill(s, "kernel", ce.kernel)
            fill(s, "machine", ce.machine)
            fill(s, "wsl", ce.wsl)
            glibc = re.search(r"-with-glibc(\d+\.\d+)", platform)
            fill(s, "glibc", glibc.group(1) if glibc else None)
        if sys_platform:
            fill(s, "os", _SYS_PLATFORM.get(sys_platform.strip().lower()))

    def _block_env_report(self, block: Block) -> None:
        r = env_report.parse(block.lines)
        t, s = self.snap.torch, self.snap.system
        fill(t, "version", r.torch_version)
        if r.torch_cuda:
            fill(t, "cuda", major_minor(r.torch_cuda))
            self.note_build("cuda")
        if r.torch_hip:
            fill(t, "hip", r.torch_hip)
            self.note_build("rocm")
        elif r.torch_cuda_none and (r.torch_version or t.version):
            self.note_build("cpu")
        fill(t, "cuda_available", r.cuda_available)
        fill(t, "location", r.torch_location)
        fill(t, "cudnn", r.torch_cudnn)
        fill(t, "arch_list", r.arch_list)
        fill(self.snap.python, "version", r.python_version)
        self._platform(r.platform, r.sys_platform)
        self._driver_seen(r.driver_version, None)
        if r.nvcc:
            self.add_toolkit(CudaToolkit(version=major_minor(r.nvcc[0]), full_version=r.nvcc[1] or r.nvcc[0],
                                         path=r.cuda_home, source="CUDA_HOME", used_by_torch_extensions=True))
        if r.gcc and not s.compilers:
            s.compilers.append(Compiler("gcc", None, r.gcc))
        for index, name in r.gpus:
            gpu = Gpu(index=index, name=name)
            cc = capability_str(capability(r.capabilities.get(index))) if r.capabilities.get(index) else None
            if cc:
                gpu.compute_capability, gpu.compute_capability_source = cc, "torch"
            self.add_gpu(gpu)
        if r.gpus:
            fill(t, "device_count", len(r.gpus))
        if r.device_name:
            self._torch_device(0, r.device_name, None)
        for name, version in r.packages.items():
            self.add_package(name, Package(name=name, version=version))
        fill(s, "shm_total_mib", r.shm_mib)
        fill(s, "ram_total_mib", r.ram_mib)

    def _torch_device(self, index: int, name: Optional[str], cc: Optional[str]) -> None:
        devices = self.snap.torch.devices
        for dev in devices:
            if dev.index == index:
                fill(dev, "name", name)
                fill(dev, "capability", cc)
                return
        devices.append(TorchDevice(index=index, name=name, capability=cc))

    def _torch_facts(self, f: prints.TorchFacts) -> None:
        t = self.snap.torch
        fill(t, "version", f.version)
        if f.cuda:
            fill(t, "cuda", major_minor(f.cuda))
            self.note_build("cuda")
        elif f.hip:
            fill(t, "hip", f.hip)
            self.note_build("rocm")
        elif f.cuda_none:
            tag = local_tag(f.version or t.version) or ""
            self.note_build("rocm" if tag.startswith("rocm") else "cpu")
        fill(t, "cuda_available", f.available)
        fill(t, "device_count", f.device_count)
        fill(t, "cudnn", f.cudnn)
        fill(t, "arch_list", f.arch_list)
        fill(t, "location", f.location)
        for index, name, cc in f.devices:
            self._torch_device(index, name, capability_str(capability(cc)) if cc else None)
        for name, version in f.packages.items():
            self.add_package(name, Package(name=name, version=version))
        d = self.snap.driver
        fill(d, "version", f.driver_version)
        fill(d, "cuda_version", major_minor(f.driver_cuda) if f.driver_cuda else None)
        if f.nvcc:
            self.add_toolkit(CudaToolkit(version=major_minor(f.nvcc), full_version=f.nvcc, source="pasted text",
                                         active=True))
        if f.extension_nvcc:
            self.add_toolkit(CudaToolkit(version=major_minor(f.extension_nvcc), full_version=f.extension_nvcc,
                                         source="CUDA_HOME (DeepSpeed)", used_by_torch_extensions=True))
        for name, cuda in f.companion_cuda.items():
            norm = name.replace("_", "-")
            if norm not in self.snap.python.packages:
                self.snap.python.packages[norm] = Package(name=norm)
            fill(self.snap.python.packages[norm], "cuda", major_minor(cuda))

    def _block_torch_print(self, block: Block) -> None:
        self._torch_facts(prints.parse(block.lines))

    def _block_facts(self, block: Block) -> None:
        self._torch_facts(prose.parse(block.lines))

    def _block_pip_log(self, block: Block) -> None:
        log = pip_log.parse(block.lines)
        for name, (version, location) in log.installed.items():
            self.add_package(name, Package(name=name, version=version, location=location, installer="pip"))
        for spec in log.requested:
            if spec not in self.snap.python.requested:
                self.snap.python.requested.append(spec)

    def _block_pip_show(self, block: Block) -> None:
        for name, (version, location) in pip_log.parse_show(block.lines).packages.items():
            self.add_package(name, Package(name=name, version=version, location=location))

    def _block_conda_plan(self, block: Block) -> None:
        plan = conda_plan.parse(block.lines)
        for name, package in plan.packages.items():
            self.add_conda_package(name, package)
        fill(self.snap.conda, "active_prefix", plan.prefix)
        for spec in plan.specs:
            if spec not in self.snap.conda.requested:
                self.snap.conda.requested.append(spec)
        for channel in plan.channels:
            if channel not in self.snap.conda.requested_channels:
                self.snap.conda.requested_channels.append(channel)

    def _block_install_cmd(self, block: Block) -> None:
        py, conda = self.snap.python, self.snap.conda
        for cmd in install_cmd.parse(block.lines):
            specs, more = (py.requested, py.requested_index_urls) if cmd.tool == "pip" else \
                (conda.requested, conda.requested_channels)
            for spec in cmd.specs:
                if spec not in specs:
                    specs.append(spec)
            for source in (cmd.index_urls if cmd.tool == "pip" else cmd.channels):
                if source not in more:
                    more.append(source)

    def _block_ldd(self, block: Block) -> None:
        out = ldd.parse(block.lines)
        t = self.snap.torch
        for stem, path, version in out.resolved:
            if not any(lib.path == path for lib in t.loaded_libraries):
                t.loaded_libraries.append(LoadedLibrary(name=stem, path=path, version=version))
        fill(t, "location", out.torch_location)

    def _block_env_vars(self, block: Block) -> None:
        for name, value in env_vars.parse(block.lines).items():
            self.snap.env.setdefault(name, value)

    def scan_text(self, lines: List[str]) -> None:
        """Facts any line may show, whichever block it is in: WSL's own traces, where tracebacks load from.
        Each is looked for in the whole text at once; only the lines that hold it are read."""
        text = "\n".join(lines)
        starts = line_starts(text)
        for i in lines_holding(_SITE_HINT, text, starts):
            for root, package in frames.site_paths(lines[i]):
                self.sites.setdefault(root, [])
                if package not in self.sites[root]:
                    self.sites[root].append(package)
        if self.snap.system.wsl is None:
            lowered = text.lower()
            if len(lowered) == len(text) and any(len(lines[i]) <= 4000
                                                  for i in lines_holding(_WSL_EVIDENCE, lowered, starts)):
                self.snap.system.wsl = True
        for i in lines_holding(_SMI_HINT, text, starts):
            line = lines[i]
            if len(line) > 4000:
                continue
            m = _SMI_FAILURE.search(line)
            if m:
                text_seen = m.group(0).replace("\u2018", "'").replace("\u2019", "'").strip()
                status, _message = classify_smi_failure(CommandResult(argv=["nvidia-smi"], returncode=1,
                                                                      stdout=text_seen))
                if status not in ("ok", "not-found", "timeout") and (status, text_seen) not in self.smi_failures:
                    self.smi_failures.append((status, text_seen))

    # ------------------------------------------------------------------ signature facts

    def apply_hit(self, hit: Hit, input_text: str) -> None:
        values = hit.values
        for key, spec in hit.signature.sets:
            if spec.startswith("="):
                value: Any = hit.text if spec == "=evidence" else spec[1:]
            else:
                value = values.get(spec)
            if _unknown(value):
                continue
            self._set(key, value, hit, input_text)

    def _set(self, key: str, value: Any, hit: Hit, input_text: str) -> None:
        d, t = self.snap.driver, self.snap.torch
        if key == "driver.cuda_version":
            fill(d, "cuda_version", major_minor(str(value)))
        elif key == "driver.nvml_version":
            fill(d, "nvml_version", str(value))
        elif key == "driver.status":
            text = hit.text.replace("\u2018", "'").replace("\u2019", "'")
            status, message = classify_smi_failure(CommandResult(argv=["nvidia-smi"], returncode=1, stdout=text))
            if status in ("no-driver-comm", "driver-library-mismatch", "no-devices"):
                if d.status is None:
                    d.status, d.status_message = status, message or hit.text
                    if status == "driver-library-mismatch":
                        fill(d, "nvml_version", nvml_library_version(input_text))
                elif d.status != status:
                    fill(d, "other_status", status)
                    fill(d, "other_status_message", message or hit.text)
                    self.notes.append(Message(N_("{input} line {line} says '{text}', but another part of the paste shows "
                                              "nvidia-smi working; the working output was kept"),
                                           input=hit.input, line=hit.line + 1, text=hit.text[:80]))
        elif key == "torch.cuda":
            fill(t, "cuda", major_minor(str(value)))
            if t.cuda:
                self.note_build("cuda")
        elif key == "torch.cuda_warning":
            fill(t, "cuda_warning", str(value))
        elif key == "torch.arch_list":
            fill(t, "arch_list", list(value) if isinstance(value, (list, tuple)) else [str(value)])
        elif key == "torch.version":
            fill(t, "version", str(value))
        elif key == "torch.nccl":
            fill(t, "nccl", str(value))
        elif key == "torch.build":
            self.note_build(str(value))
        elif key == "gpu.compute_capability":
            self._gpu_capability(str(value), hit.values.get("gpu_name") or hit.values.get("gpu"))
        elif key == "toolkit.version":
            kit = CudaToolkit(version=major_minor(str(value)), full_version=str(value),
                              source="CUDA_HOME (torch.utils.cpp_extension)", used_by_torch_extensions=True)
            self.add_toolkit(kit)

    def _gpu_capability(self, cc: str, name: Optional[str]) -> None:
        cc = capability_str(capability(cc)) or cc
        matches = [g for g in self.snap.gpus if name and g.name and names_compatible(g.name, name)]
        if not matches and len(self.snap.gpus) == 1 and names_compatible(self.snap.gpus[0].name, name):
            matches = self.snap.gpus
        for gpu in matches[:1]:
            if gpu.compute_capability is None:
                gpu.compute_capability, gpu.compute_capability_source = cc, "torch"
        devices = self.snap.torch.devices
        if not any(names_compatible(dev.name, name) and dev.capability == cc for dev in devices):
            devices.append(TorchDevice(index=len(devices), name=name, capability=cc))

    # ------------------------------------------------------------------ after everything

    def _user_site_from_paths(self) -> None:
        """Paths through the per-user site beside paths through another site-packages: the user site shadows that
        environment (its packages are imported first)."""
        py = self.snap.python
        user = [root for root in self.sites if frames.is_user_site(root)]
        others = [root for root in self.sites if not frames.is_user_site(root)]
        if not user or not others or py.user_site_shadowing:
            return
        py.user_site = py.user_site or user[0]
        py.prefix = py.prefix or others[0].split("/lib/")[0].split("\\Lib\\")[0]
        py.user_site_shadowing = [name for root in user for name in self.sites[root]]

    def _torch_copies_from_paths(self) -> None:
        """Tracebacks importing torch from one site-packages while a listing places it in another: two copies,
        the traceback's (the one Python imported) first."""
        t, py = self.snap.torch, self.snap.python
        listed = py.packages.get("torch")
        where = (listed.location or "").rstrip("/\\") if listed else ""
        imported = [root for root, packages in self.sites.items() if "torch" in packages]
        if t.copies or not where or not imported or any(root.rstrip("/\\") == where for root in imported):
            return
        t.copies = [imported[0] + "/torch", where + "/torch"]

    def finish(self) -> Snapshot:
        t, py = self.snap.torch, self.snap.python
        self._user_site_from_paths()
        self._torch_copies_from_paths()
        torch_pkg = py.packages.get("torch")
        if torch_pkg and torch_pkg.version:
            fill(t, "dist_version", torch_pkg.version)
            if local_tag(torch_pkg.version):
                fill(t, "version", torch_pkg.version)
            fill(t, "installer", torch_pkg.installer)
        conda_torch = self.snap.conda.packages.get("pytorch")
        if conda_torch is not None:
            t.installer = "conda"  # pip list shows conda's torch too; conda-meta owns it
            fill(t, "dist_version", conda_torch.version)
            build = (conda_torch.build or "").lower()
            m = _CONDA_BUILD_CUDA.search(build)
            if "cpu" in build:
                self.note_build("cpu")
            elif m:
                cuda = f"{m.group(1)}.{m.group(2)}" if m.group(2) else f"{m.group(1)[:-1]}.{m.group(1)[-1]}"
                if dotted(cuda) and fill(t, "cuda", major_minor(cuda)):
                    self.note_build("cuda")
        mutex = self.snap.conda.packages.get("pytorch-mutex")
        if mutex and "cpu" in (mutex.build or "") and "cpuonly" in self.snap.conda.packages:
            self.note_build("cpu")
        tag = local_tag(t.version)
        if tag and self.torch_build is None:
            if cuda_from_tag(tag):
                fill(t, "cuda", cuda_from_tag(tag))
                self.note_build("cuda")
            elif tag == "cpu":
                self.note_build("cpu")
            elif tag.startswith("rocm"):
                self.note_build("rocm")
        if self.torch_build == "cpu":
            t.cuda = None
        t.build = self.torch_build or ("cuda" if t.cuda else "rocm" if t.hip else None)
        for name in ("torchvision", "torchaudio"):
            pkg = py.packages.get(name)
            if pkg and pkg.version and local_tag(pkg.version):
                fill(pkg, "build_version", pkg.version)
        if not t.extensions:  # the compiled extensions a pasted list names, as the live probe would
            t.extensions = [extension_of(name, py.packages[name].version, location=py.packages[name].location)
                            for name in EXTENSIONS if name in py.packages and py.packages[name].version]
        for index, count in self.mig_instances.items():
            for gpu in self.snap.gpus:
                if gpu.index == index:
                    gpu.mig_devices = max(gpu.mig_devices, count)
                    fill(gpu, "mig_mode", "Enabled")
        if self.snap.system.wsl:
            self.snap.system.os = "Linux"  # WSL's nvidia-smi shows the Windows driver model: still Linux
        self._fill_bundled_cudnn()
        self._fill_capabilities()
        d = self.snap.driver
        if d.status is None and (d.version or self.snap.gpus):
            d.status = "ok"
        if d.status == "ok" and d.other_status is None and self.smi_failures:
            # a working nvidia-smi and a failing one in the same paste: both are facts
            d.other_status, d.other_status_message = self.smi_failures[0]
        return self.snap

    def _fill_bundled_cudnn(self) -> None:
        """The nvidia-cudnn-cuXX wheel is the cuDNN a pip torch loads; with several, the one of torch's CUDA major."""
        if self.snap.cudnn.bundled is not None:
            return
        wheels = {name: pkg for name, pkg in self.snap.python.packages.items()
                  if re.fullmatch(r"nvidia-cudnn-cu\d+", name) and pkg.version}
        if not wheels:
            return
        major = dotted(self.snap.torch.cuda)
        chosen = wheels.get(f"nvidia-cudnn-cu{major[0]}") if major else None
        chosen = chosen or next(iter(wheels.values()))
        nums = dotted(chosen.version, 3)
        if nums:
            self.snap.cudnn.bundled = CudnnCopy(version=".".join(str(n) for n in nums), source="pip")

    def _fill_capabilities(self) -> None:
        """Compute capability from envcheck's GPU table, by name, as the doctor's probe does."""
        missing = [g for g in self.snap.gpus if g.compute_capability is None and g.name and "..." not in g.name]
        devices = [d for d in self.snap.torch.devices if d.capability is None and d.name and "..." not in d.name]
        if not (missing or devices) or self.knowledge is None:
            return
        try:
            for gpu in missing:
                spec = self.knowledge.gpu_by_name(gpu.name)
                if spec is not None:
                    cc = capability_str(capability(spec.compute_capability))
                    if cc:
                        gpu.compute_capability, gpu.compute_capability_source = cc, "gpu-table"
            for dev in devices:
                spec = self.knowledge.gpu_by_name(dev.name)
                if spec is not None:
                    dev.capability = capability_str(capability(spec.compute_capability))
        except (KnowledgeError, TypeError, ValueError, KeyError):
            return
