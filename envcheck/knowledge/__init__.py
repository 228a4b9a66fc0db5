"""Knowledge: the facts envcheck judges by (torch releases, CUDA driver floors, GPUs, mirrors).

The facts live in data files beside this module (``data/``) and in the top-level ``mirrors/``
folder, each with its source; this module only loads them into dataclasses. A :class:`Knowledge`
object is passed to whoever needs it (no module-level cache), and loads each file on first use, so a
command pays only for the files it reads.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from ..versions import capability, capability_str, dotted, parse_version

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the loaders of pytorch_index.json and amd_gpus.toml (imported lazily below)
    from .amd_gpus import AmdGpus
    from .conda_forge import CondaForgeFacts  # conda_forge.toml, flash_attn.toml: likewise lazily below
    from .flash_attn import FlashAttnFacts
    from .pytorch_index import IndexFacts
    from .wheels import WheelFacts  # wheels.json, lazily below

DATA_DIR = Path(__file__).resolve().parent / "data"


def mirrors_dir() -> Path:
    """The ``mirrors/`` folder: beside the package in a source tree, inside it in a wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "mirrors", here / "_mirrors"):
        if candidate.is_dir():
            return candidate
    return here.parent / "mirrors"


class KnowledgeError(Exception):
    """A data file is missing or malformed: a packaging bug, reported clearly."""


def parse_toml(text: str) -> Dict[str, Any]:
    """The one TOML parser (tomllib, or tomli before Python 3.11); raises ValueError on bad TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.9/3.10
        import tomli as tomllib
    return tomllib.loads(text)  # TOMLDecodeError is a ValueError


def load_toml(path: Path) -> Dict[str, Any]:
    try:
        return parse_toml(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KnowledgeError(f"cannot read knowledge file {path}: {exc}") from exc


def read_toml(path: Path, source: Optional[str] = None) -> Dict[str, Any]:
    """A TOML file from outside envcheck (a policy file, a mirror file): read, decoded and size-limited by
    :mod:`envcheck.textio`, parsed by :func:`parse_toml`; :class:`envcheck.textio.InputError` naming the file
    (and the line) when it cannot be read, is not TOML, or nests deeper than ``textio.MAX_DEPTH``."""
    from ..i18n import N_, Message
    from ..textio import MAX_DEPTH, InputError, read_text, too_deep

    source = source if source is not None else str(path)
    text = read_text(path, source=source)
    try:
        data = parse_toml(text)
    except RecursionError as exc:
        data = exc  # refused below, outside the handler (the stack is deep here)
    except ValueError as exc:
        raise InputError(Message(N_("not TOML: {error}"), error=str(exc)), source) from exc
    if isinstance(data, RecursionError) or too_deep(data, MAX_DEPTH):
        raise InputError(Message(N_("nested deeper than {depth} levels: not an envcheck file"), depth=MAX_DEPTH),
                         source)
    return data


def load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise KnowledgeError(f"cannot read knowledge file {path}: {exc}") from exc


# --------------------------------------------------------------------------- records


@dataclass
class CudaDriverFloor:
    """The oldest driver that runs a CUDA toolkit version."""

    cuda: str
    linux: Optional[str] = None
    windows: Optional[str] = None


@dataclass
class MinorCompat:
    """CUDA minor-version compatibility: a whole major runs on this driver, with limits (no PTX JIT)."""

    major: int
    linux: Optional[str] = None
    windows: Optional[str] = None


@dataclass
class CudaArchFloor:
    """The oldest GPU architecture a CUDA toolkit major compiles for (cuda_arch_floors.toml)."""

    cuda_major: int
    #: "sm_50"
    oldest_arch: str
    source: str = ""

    @property
    def capability(self) -> str:
        """The floor as a compute capability: sm_50 -> "5.0", sm_120 -> "12.0"."""
        return capability_str(capability(self.oldest_arch)) or ""


@dataclass
class CudaArchFirst:
    """The first CUDA toolkit whose nvcc compiles for an architecture (cuda_arch_floors.toml, [[first_support]])."""

    #: "sm_89"
    arch: str
    #: "11.8"
    cuda: str
    source: str = ""


@dataclass
class XidEvent:
    """One NVIDIA Xid event as NVIDIA's Xid catalogue describes it (xid.toml)."""

    xid: int
    meaning: str
    #: NVIDIA's immediate-action bucket: RESTART_APP | RESET_GPU | IGNORE | CONTACT_SUPPORT
    action: str = ""
    #: application | hardware | driver | consequence
    cause: str = ""


@dataclass
class GpuSpec:
    name: str
    compute_capability: str
    architecture: str
    #: lower-case substrings that identify the GPU in nvidia-smi's name
    match: List[str] = field(default_factory=list)
    memory_gib: Optional[float] = None
    #: dense peak TFLOP/s by dtype: fp32, tf32, fp16, bf16 (tensor cores where they exist)
    tflops: Dict[str, float] = field(default_factory=dict)
    source: str = ""


@dataclass
class TorchVariant:
    #: cu126 | cpu | rocm6.2 | ...
    tag: str
    cuda: Optional[str] = None
    os: List[str] = field(default_factory=list)
    #: sm_XX entries of torch.cuda.get_arch_list() for this build (Linux x86_64)
    arch_list: List[str] = field(default_factory=list)
    cudnn: Optional[str] = None
    #: True when this is the build `pip install torch` gets from PyPI on Linux x86_64
    pypi_default: bool = False
    python: List[str] = field(default_factory=list)


@dataclass
class TorchRelease:
    version: str
    torchvision: Optional[str] = None
    torchaudio: Optional[str] = None
    #: PEP 440 specifier of the Python versions wheels exist for, e.g. ">=3.10,<3.15"
    python: Optional[str] = None
    date: Optional[str] = None
    triton: Optional[str] = None
    variants: List[TorchVariant] = field(default_factory=list)
    #: the paired companion releases: torchvision, torchaudio, xformers, torchao, torchcodec (None: none fits)
    companions: Dict[str, Optional[str]] = field(default_factory=dict)

    def variant(self, tag: str) -> Optional[TorchVariant]:
        for v in self.variants:
            if v.tag == tag:
                return v
        return None


@dataclass
class KnownBad:
    #: driver | package
    kind: str
    name: str
    #: PEP 440 specifier (packages) or a list of exact versions (drivers)
    spec: str
    severity: str
    defect: str
    fix: str
    source: str
    recorded: str
    #: compute capabilities ("9.0") the defect is documented on; empty: every GPU
    gpus: Tuple[str, ...] = ()


@dataclass
class HostCompilerRange:
    """The host compilers an nvcc version accepts (nvcc's host_config.h)."""

    cuda: str
    gcc_max: Optional[int] = None
    gcc_min: Optional[int] = None
    clang_max: Optional[int] = None
    source: str = ""


@dataclass
class CondaChannelRelease:
    """How the official `pytorch` conda channel shipped one torch minor (conda.toml)."""

    torch: str
    #: pytorch-cuda (1.13+, with -c nvidia) | cudatoolkit (1.12 and older)
    selector: str
    cuda: List[str] = field(default_factory=list)
    channels: List[str] = field(default_factory=list)
    extra_channels: Dict[str, List[str]] = field(default_factory=dict)


@dataclass
class CondaFacts:
    #: the newest torch the pytorch channel published
    pytorch_channel_last: str
    releases: List[CondaChannelRelease] = field(default_factory=list)
    source: str = ""

    def release(self, version: Optional[str]) -> Optional[CondaChannelRelease]:
        """The channel's entry for a torch version's minor ("1.13.1" -> the "1.13" entry)."""
        want = dotted(version, 2)
        for entry in self.releases:
            if want is not None and dotted(entry.torch, 2) == want:
                return entry
        return None


@dataclass
class Mirror:
    name: str
    title: str
    pypi: Optional[str] = None
    #: conda channel name -> URL this mirror serves it at
    conda_channels: Dict[str, str] = field(default_factory=dict)
    conda_default_channels: List[str] = field(default_factory=list)
    #: a PyTorch wheel mirror: URL and layout ("index" for --index-url, "find-links" for -f)
    torch_wheels: Optional[str] = None
    torch_wheels_layout: Optional[str] = None
    #: hosts that identify the mirror in a configured URL
    hosts: List[str] = field(default_factory=list)
    official: bool = False
    notes: str = ""
    source: str = ""
    #: the day these facts were last checked against their sources (ISO date)
    verified: str = ""
    #: where the pypi URL is stated (the mirror's own help page first); pypi_verified: stated there, not only
    #: seen in use; pypi_full: a whole copy of PyPI, so it also serves PyPI's own torch build and the nvidia-*
    #: wheels that build depends on (None: not confirmed)
    pypi_source: str = ""
    pypi_verified: bool = False
    pypi_full: Optional[bool] = None
    #: what the wheel mirror carries: "all" (the whole of download.pytorch.org/whl) or the variant tags
    #: (cu126, cpu, ...) its sources show; the list is complete only where torch_wheels_verified
    torch_wheels_variants: Union[str, List[str]] = field(default_factory=list)
    #: whether it also serves torch's dependency wheels (nvidia-*, triton) as download.pytorch.org/whl/<tag>
    #: does, so that --index-url alone resolves (None: not confirmed)
    torch_wheels_mirrors_deps: Optional[bool] = None
    #: True only where the mirror's own help page or its maintainers state the URL and the layout
    torch_wheels_verified: bool = False
    torch_wheels_source: str = ""
    #: where conda_channels and conda_default_channels are stated; conda_verified: stated on the mirror's own page
    conda_source: str = ""
    conda_verified: bool = False

    def carries_variant(self, tag: str) -> Optional[bool]:
        """Whether the wheel mirror has a variant ("cu126"): True, False, or None where the data cannot say."""
        if not self.torch_wheels:
            return False
        if self.torch_wheels_variants == "all" or tag in self.torch_wheels_variants:
            return True
        return False if self.torch_wheels_verified and self.torch_wheels_variants else None


class MirrorFileError(KnowledgeError):
    """A mirror file that cannot be used (a user's own, or an edited one): ``message`` names the file and the field."""

    def __init__(self, message: Any) -> None:
        self.message = message
        super().__init__(str(message))


def read_mirror_file(path: Path) -> Dict[str, Any]:
    """One ``mirrors/*.toml`` file's data, checked against :class:`Mirror`'s fields (types, required ``name`` and
    ``title``; unknown keys refused, as ``Mirror(**data)`` would); MirrorFileError naming the file and the field."""
    from ..i18n import N_, Message
    from ..shape import shape_of
    from ..textio import InputError

    try:
        data = read_toml(path)
        unknown = sorted(set(data) - set(shape_of(Mirror).fields))
        if unknown:
            raise InputError(Message(N_("{field}: not a mirror file field"), field=unknown[0]), str(path), unknown[0])
        shape_of(Mirror).check(data, str(path), "")
    except InputError as exc:
        raise MirrorFileError(exc.message) from exc
    variants = data.get("torch_wheels_variants")
    if variants is not None and variants != "all" and not isinstance(variants, list):
        raise MirrorFileError(InputError(Message(N_("{field}: expected {expected}, got {got}"),
                                                 field="torch_wheels_variants", expected='"all"',
                                                 got=json.dumps(variants, default=str)), str(path)).message)
    return data


# --------------------------------------------------------------------------- the loader


class Knowledge:
    """Loads knowledge files on first use; one instance per command run."""

    def __init__(self, data_dir: Path = DATA_DIR, mirror_dir: Optional[Path] = None) -> None:
        self.data_dir = data_dir
        self.mirror_dir = mirror_dir or mirrors_dir()
        self._cache: Dict[str, Any] = {}

    def _once(self, key: str, loader):
        if key not in self._cache:
            self._cache[key] = loader()
        return self._cache[key]

    # -- CUDA and drivers
    def driver_floors(self) -> List[CudaDriverFloor]:
        def load() -> List[CudaDriverFloor]:
            data = load_toml(self.data_dir / "cuda_drivers.toml")
            return [CudaDriverFloor(**row) for row in data.get("cuda", [])]
        return self._once("driver_floors", load)

    def driver_upgrade(self) -> Dict[str, str]:
        """How to get a newer NVIDIA driver per OS (``cuda_drivers.toml`` [upgrade]); {branch} to fill."""
        return self._once("driver_upgrade", lambda: dict(load_toml(self.data_dir / "cuda_drivers.toml").get("upgrade", {})))

    def platform_notes(self) -> Dict[str, Dict[str, str]]:
        """Where to send users of a platform neither index serves (``platforms.toml``: Jetson)."""
        return self._once("platform_notes", lambda: {k: v for k, v in load_toml(self.data_dir / "platforms.toml").items()
                                                     if isinstance(v, dict)})

    def minor_compat(self) -> List[MinorCompat]:
        def load() -> List[MinorCompat]:
            data = load_toml(self.data_dir / "cuda_drivers.toml")
            return [MinorCompat(**row) for row in data.get("minor_compat", [])]
        return self._once("minor_compat", load)

    def driver_floor(self, cuda: str) -> Optional[CudaDriverFloor]:
        """The floor for a CUDA version; a version we do not list takes its nearest older entry."""
        want = dotted(cuda, 2)
        if want is None:
            return None
        best = None
        for row in self.driver_floors():
            have = dotted(row.cuda, 2)
            if have and have[0] == want[0] and have <= want and (best is None or have > dotted(best.cuda, 2)):
                best = row
        return best

    def minor_compat_floor(self, cuda_major: int) -> Optional[MinorCompat]:
        for row in self.minor_compat():
            if row.major == cuda_major:
                return row
        return None

    def max_cuda_for_driver(self, driver: str, os_name: str = "linux") -> Optional[str]:
        """The newest CUDA version whose full-compatibility floor this driver meets."""
        have = dotted(driver)
        if have is None:
            return None
        best = None
        for row in self.driver_floors():
            floor = getattr(row, "windows" if os_name == "windows" else "linux")
            if floor and dotted(floor) <= have and (best is None or dotted(row.cuda, 2) > dotted(best, 2)):
                best = row.cuda
        return best

    def cuda_arch_floors(self) -> List[CudaArchFloor]:
        def load() -> List[CudaArchFloor]:
            data = load_toml(self.data_dir / "cuda_arch_floors.toml")
            return [CudaArchFloor(**row) for row in data.get("floor", [])]
        return self._once("cuda_arch_floors", load)

    def cuda_arch_floor(self, cuda: Optional[str]) -> Optional[CudaArchFloor]:
        """The floor of the CUDA major of ``cuda`` ("12.6" -> the 12.x row), None for a major not recorded."""
        want = dotted(cuda, 1)
        if want is None:
            return None
        for row in self.cuda_arch_floors():
            if row.cuda_major == want[0]:
                return row
        return None

    def cuda_arch_first(self) -> List[CudaArchFirst]:
        def load() -> List[CudaArchFirst]:
            data = load_toml(self.data_dir / "cuda_arch_floors.toml")
            return [CudaArchFirst(**row) for row in data.get("first_support", [])]
        return self._once("cuda_arch_first", load)

    def cuda_first_for_arch(self, arch: Optional[str]) -> Optional[str]:
        """The first CUDA toolkit that compiles for an architecture ("compute_89", "sm_89", "89" -> "11.8"); None
        where the data does not record it (also the feature-specific "sm_90a", which came later than sm_90)."""
        digits = (arch or "").strip().rsplit("_", 1)[-1]
        if not digits.isdigit():
            return None
        for row in self.cuda_arch_first():
            if row.arch == f"sm_{digits}":
                return row.cuda
        return None

    # -- Xid events
    def xid_events(self) -> List[XidEvent]:
        def load() -> List[XidEvent]:
            data = load_toml(self.data_dir / "xid.toml")
            return [XidEvent(**row) for row in data.get("xid", [])]
        return self._once("xid_events", load)

    def xid_event(self, xid: object) -> Optional[XidEvent]:
        """NVIDIA's description of an Xid number (13, "13"); None for one the table does not list."""
        try:
            number = int(str(xid).strip())
        except ValueError:
            return None
        return next((e for e in self.xid_events() if e.xid == number), None)

    # -- GPUs
    def gpus(self) -> List[GpuSpec]:
        def load() -> List[GpuSpec]:
            data = load_toml(self.data_dir / "gpus.toml")
            return [GpuSpec(**row) for row in data.get("gpu", [])]
        return self._once("gpus", load)

    def gpu_by_name(self, name: Optional[str]) -> Optional[GpuSpec]:
        """The GPU whose longest match string occurs in ``name`` (so "rtx 4090 d" beats "rtx 4090")."""
        if not name:
            return None
        low = " ".join(name.lower().replace("nvidia", " ").split())
        best, best_len = None, 0
        for spec in self.gpus():
            for pattern in spec.match or [spec.name.lower()]:
                if pattern in low and len(pattern) > best_len:
                    best, best_len = spec, len(pattern)
        return best

    # -- torch releases
    def torch_releases(self) -> List[TorchRelease]:
        def load() -> List[TorchRelease]:
            data = load_json(self.data_dir / "torch_releases.json")
            releases = []
            for row in data.get("releases", []):
                variants = [TorchVariant(**v) for v in row.get("variants", [])]
                rest = {k: v for k, v in row.items() if k not in ("variants", "companions")}
                releases.append(TorchRelease(variants=variants, companions=dict(row.get("companions") or {}), **rest))
            releases.sort(key=lambda r: parse_version(r.version), reverse=True)
            return releases
        return self._once("torch_releases", load)

    def torch_release(self, version: Optional[str]) -> Optional[TorchRelease]:
        """The release of a torch version; local tags ("+cu130") are ignored."""
        v = parse_version(version)
        if v is None:
            return None
        for rel in self.torch_releases():
            if parse_version(rel.version) == parse_version(v.public):
                return rel
        return None

    # -- defects and compilers
    def known_bad(self) -> List[KnownBad]:
        def load() -> List[KnownBad]:
            data = load_toml(self.data_dir / "known_bad.toml")
            return [KnownBad(**dict(row, gpus=tuple(str(g) for g in row.get("gpus", ()))))
                    for row in data.get("entry", [])]
        return self._once("known_bad", load)

    def host_compiler_ranges(self) -> List[HostCompilerRange]:
        def load() -> List[HostCompilerRange]:
            data = load_toml(self.data_dir / "host_compilers.toml")
            return [HostCompilerRange(**row) for row in data.get("nvcc", [])]
        return self._once("host_compilers", load)

    def host_compiler_range(self, cuda: Optional[str]) -> Optional[HostCompilerRange]:
        want = dotted(cuda, 2)
        if want is None:
            return None
        best = None
        for row in self.host_compiler_ranges():
            have = dotted(row.cuda, 2)
            if have and have <= want and (best is None or have > dotted(best.cuda, 2)):
                best = row
        return best

    # -- conda
    def conda_facts(self) -> CondaFacts:
        def load() -> CondaFacts:
            channel = load_toml(self.data_dir / "conda.toml").get("pytorch_channel", {})
            return CondaFacts(pytorch_channel_last=channel["last_torch"], source=channel.get("source", ""),
                              releases=[CondaChannelRelease(**row) for row in channel.get("release", [])])
        return self._once("conda", load)

    def wheel_facts(self) -> "WheelFacts":
        """The wheels PyPI has per torch-family release and platform (wheels.json): Pythons, builds, torch pins."""
        from .wheels import WheelFacts
        return self._once("wheel_facts", lambda: WheelFacts.from_data(load_json(self.data_dir / "wheels.json")))

    def conda_forge(self) -> "CondaForgeFacts":
        """conda-forge's pytorch builds (conda_forge.toml): versions, platforms, CUDA builds, Pythons."""
        from .conda_forge import CondaForgeFacts
        return self._once("conda_forge", lambda: CondaForgeFacts.from_data(load_toml(self.data_dir / "conda_forge.toml")))

    # -- flash-attn
    def flash_attn(self) -> "FlashAttnFacts":
        """flash-attn's prebuilt wheels on its GitHub releases (flash_attn.toml)."""
        from .flash_attn import FlashAttnFacts
        return self._once("flash_attn", lambda: FlashAttnFacts.from_data(load_toml(self.data_dir / "flash_attn.toml")))

    # -- mirrors
    def mirrors(self) -> List[Mirror]:
        def load() -> List[Mirror]:
            found = []
            for path in sorted(self.mirror_dir.glob("*.toml")):
                data = read_mirror_file(path)
                try:
                    found.append(Mirror(**data))
                except TypeError as exc:
                    raise KnowledgeError(f"mirror file {path}: {exc}") from exc
                variants = found[-1].torch_wheels_variants
                if variants != "all" and not (isinstance(variants, list) and all(isinstance(v, str) for v in variants)):
                    raise KnowledgeError(f"mirror file {path}: torch_wheels_variants must be \"all\" or a list of tags")
            order = {"tuna": 0}
            found.sort(key=lambda m: (m.official, order.get(m.name, 1), m.name))
            return found
        return self._once("mirrors", load)

    def mirror(self, name: str) -> Optional[Mirror]:
        for m in self.mirrors():
            if m.name == name.lower():
                return m
        return None

    def recognise_mirror(self, url: Optional[str]) -> Optional[str]:
        """The name of the mirror a configured URL points at, if any."""
        if not url:
            return None
        low = url.lower()
        for m in self.mirrors():
            if any(h in low for h in m.hosts):
                return m.name
        return None

    # -- download.pytorch.org and AMD targets
    def pytorch_index(self) -> "IndexFacts":
        """What download.pytorch.org/whl/<tag>/ serves per torch release (pytorch_index.json: JSON, because
        most install-cmd runs read it, and JSON parses in about 1 ms where the same data as TOML took 18)."""
        from .pytorch_index import facts_from_data
        return self._once("pytorch_index", lambda: facts_from_data(load_json(self.data_dir / "pytorch_index.json")))

    def amd_gpus(self) -> "AmdGpus":
        """AMD gfx targets and the products that carry them (amd_gpus.toml)."""
        from .amd_gpus import amd_gpus_from_data
        return self._once("amd_gpus", lambda: amd_gpus_from_data(load_toml(self.data_dir / "amd_gpus.toml")))

    # -- smoke bands
    def smoke_bands(self) -> Dict[str, Any]:
        """What torch matmuls and NCCL all-reduces measure per GPU model (smoke_bands.toml), as the file's tables:
        ``band`` (per model and dtype), ``allreduce`` (per fabric), ``fabric`` and ``causes``; read by ``smoke.host``."""
        return self._once("smoke_bands", lambda: load_toml(self.data_dir / "smoke_bands.toml"))
