"""``python -m torch.utils.collect_env`` output, of every torch version since 1.0.

What each line really says matters more than its label: "CUDA runtime version" is what ``nvcc``
on PATH reports (a toolkit, never the driver), "cuDNN version" lists the *system* copies
("Probably one of the following"), "GPU models and configuration" comes from ``nvidia-smi -L``,
and ``[conda] torch ... pypi`` lines are the pip install seen through conda, not a second torch.
Old outputs say "Yes"/"No" and ``[pip]``; newer ones "True"/"False", ``[pip3]`` and a ``CPU:`` block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..snapshot import CondaPackage, CudnnCopy, Gpu, Package
from ..versions import cuda_from_tag, cudnn_from_int, dotted, local_tag, major_minor
from .conda_text import CondaList, parse_collect_env_line
from .detect import ce_key
from .pip_list import parse_freeze

_NOT_KNOWN = {"", "n/a", "could not collect", "no cuda", "none", "not available", "unknown"}
_GPU_LINE = re.compile(r"^GPU (?P<index>\d+):(?P<rest>.*)$")
_UUID = re.compile(r"\(UUID: (?P<uuid>[^)]+)\)$")
_MIG_LINE = re.compile(r"^\s*MIG \S+\s+Device\s+\d+", re.I)
_CUDNN_SO = re.compile(r"libcudnn(?:_\w+)?\.so\.(?P<version>\d+(?:\.\d+)*)")
_CUDNN_DLL = re.compile(r"cudnn\w*?64_(?P<major>\d+)\.dll", re.I)
_LIB = re.compile(r"^\s*\[(?P<tool>pip3?|conda|uv)\]\s+(?P<rest>.*)$")
_BOOL = {"true": True, "yes": True, "false": False, "no": False}
_ENV_LINE = re.compile(r"^\s*(?P<name>[A-Z][A-Z0-9_]{2,})=(?P<value>.*)$")


@dataclass
class CollectEnv:
    torch_version: Optional[str] = None
    #: "cuda" | "cpu" | "rocm" | None (unknown: torch could not be imported, or the line is missing)
    torch_build: Optional[str] = None
    torch_cuda: Optional[str] = None
    torch_hip: Optional[str] = None
    torch_debug: Optional[bool] = None
    cuda_available: Optional[bool] = None
    os: Optional[str] = None
    distro: Optional[str] = None
    machine: Optional[str] = None
    kernel: Optional[str] = None
    wsl: Optional[bool] = None
    glibc: Optional[str] = None
    gcc: Optional[str] = None
    clang: Optional[str] = None
    python_version: Optional[str] = None
    #: what nvcc on PATH reports ("CUDA runtime version")
    nvcc: Optional[str] = None
    driver_version: Optional[str] = None
    gpus: List[Gpu] = field(default_factory=list)
    cudnn_system: List[CudnnCopy] = field(default_factory=list)
    cpu_model: Optional[str] = None
    cpu_count: Optional[int] = None
    pip_packages: Dict[str, Package] = field(default_factory=dict)
    conda: CondaList = field(default_factory=CondaList)
    #: environment variables vLLM's collect_env lists at its end ("LD_LIBRARY_PATH=...")
    env: Dict[str, str] = field(default_factory=dict)


def _known(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    text = value.strip()
    return None if text.lower() in _NOT_KNOWN else text


def _bool(value: Optional[str]) -> Optional[bool]:
    text = _known(value)
    return _BOOL.get(text.lower()) if text else None


def _compiler_version(value: Optional[str]) -> Optional[str]:
    """"(Ubuntu 13.3.0-6ubuntu2~24.04.1) 13.3.0" -> "13.3.0"; "6.0.0-1ubuntu2 (tags/...)" -> "6.0.0"."""
    text = _known(value)
    if not text:
        return None
    tail = re.search(r"\)\s*(\d+(?:\.\d+)+)\s*$", text)
    if tail:
        return tail.group(1)
    head = re.match(r"^\s*(\d+(?:\.\d+)+)", text)
    return head.group(1) if head else None


def _os(value: str, result: CollectEnv) -> None:
    text = value.strip()
    machine = re.search(r"\((x86_64|aarch64|arm64|ppc64le|AMD64|x86)\)\s*$", text)
    if machine:
        result.machine = machine.group(1)
        text = text[:machine.start()].strip()
    low = text.lower()
    if "windows" in low:
        result.os = "Windows"
    elif low.startswith(("macos", "mac osx", "mac os")):
        result.os = "Darwin"
    elif text:
        result.os = "Linux"
    result.distro = text or None


def _platform(value: str, result: CollectEnv) -> None:
    text = value.strip()
    if text.startswith("Linux-"):
        result.os = result.os or "Linux"
        m = re.match(r"Linux-(?P<kernel>.+?)-(?P<machine>x86_64|aarch64|ppc64le|s390x|armv7l)(?:-with-|$)", text)
        if m:
            result.kernel = m.group("kernel")
            result.machine = result.machine or m.group("machine")
        if "microsoft" in text.lower() or "wsl" in text.lower():
            result.wsl = True
    elif text.startswith("Windows-"):
        result.os = result.os or "Windows"
    elif text.startswith("macOS-"):
        result.os = result.os or "Darwin"


def _cudnn(values: List[str], result: CollectEnv) -> None:
    seen = set()
    for value in values:
        text = value.strip()
        m = _CUDNN_SO.search(text)
        version: Optional[str] = None
        if m and re.search(r"libcudnn\.so\.", text):
            version = m.group("version")
        elif m and not any(re.search(r"libcudnn\.so\.", v) for v in values):
            version = m.group("version")
        elif _CUDNN_DLL.search(text):
            version = _CUDNN_DLL.search(text).group("major")
        elif re.fullmatch(r"\d+(?:\.\d+){1,2}", text):
            version = text
        elif re.fullmatch(r"\d{4,5}", text):  # torch < 1.5 printed cudnn's integer: 7605
            version = cudnn_from_int(int(text))
        if version is None:
            continue
        path = text if ("/" in text or "\\" in text) else None
        key = (version, path.rsplit("/", 1)[0] if path and "/" in path else path)
        if key in seen:
            continue
        seen.add(key)
        result.cudnn_system.append(CudnnCopy(version=version, path=path, source="collect_env"))


def parse(lines: Sequence[str]) -> CollectEnv:
    """Facts from collect_env output (any part of it); never raises."""
    result = CollectEnv()
    fields: Dict[str, List[str]] = {}
    current: Optional[str] = None
    libs: List[Tuple[str, str]] = []
    cpu_lines: List[str] = []
    for line in lines:
        if not line.strip():
            if current in ("GPU models and configuration", "cuDNN version"):
                current = None
            continue
        lib = _LIB.match(line)
        if lib:
            libs.append((lib.group("tool"), lib.group("rest").strip()))
            current = None
            continue
        key = ce_key(line)
        if key:
            current = key[0]
            fields.setdefault(current, []).append(key[1].strip())
            continue
        env = _ENV_LINE.match(line)
        if env and current not in ("CPU",):
            result.env.setdefault(env.group("name"), env.group("value").strip())
            current = None
            continue
        if current in ("GPU models and configuration", "cuDNN version"):
            fields[current].append(line.strip())
        elif current == "CPU":
            cpu_lines.append(line.strip())

    def one(name: str) -> Optional[str]:
        values = fields.get(name)
        return values[0] if values else None

    version = _known(one("PyTorch version"))
    if version:
        result.torch_version = version.split()[0]
    result.torch_debug = _bool(one("Is debug build"))
    built = one("CUDA used to build PyTorch")
    hip = _known(one("ROCM used to build PyTorch")) or _known(one("HIP used to build PyTorch")) \
        or _known(one("ROCm SDK used to build PyTorch"))
    if hip:
        result.torch_hip = hip
        result.torch_build = "rocm"
    cuda = _known(built)
    if cuda and re.fullmatch(r"\d+(?:\.\d+)*", cuda):
        result.torch_cuda = major_minor(cuda)
        result.torch_build = "cuda"
    elif result.torch_version and built is not None and built.strip().lower() in ("none", "could not collect") \
            and not hip:
        result.torch_build = "cpu"
    xpu = _known(one("XPU used to build PyTorch"))
    if result.torch_build == "cpu" and ((local_tag(result.torch_version) or "").startswith("xpu")
                                        or (xpu and xpu[:1].isdigit())):
        result.torch_build = None  # an XPU build: not CUDA, but not a CPU-only torch either
    if result.torch_version and result.torch_build is None:
        tag = local_tag(result.torch_version)
        if tag and tag.startswith("cu") and cuda_from_tag(tag):
            result.torch_cuda, result.torch_build = cuda_from_tag(tag), "cuda"
        elif tag == "cpu":
            result.torch_build = "cpu"
    result.cuda_available = _bool(one("Is CUDA available"))
    if one("OS"):
        _os(one("OS") or "", result)
    if one("Python platform"):
        _platform(one("Python platform") or "", result)
    libc = _known(one("Libc version"))
    if libc and libc.startswith("glibc-"):
        result.glibc = libc[len("glibc-"):]
    result.gcc = _compiler_version(one("GCC version"))
    result.clang = _compiler_version(one("Clang version"))
    python = _known(one("Python version"))
    if python:
        result.python_version = python.split()[0]
    runtime = _known(one("CUDA runtime version"))
    if runtime and dotted(runtime):
        result.nvcc = runtime.split()[0]
    result.driver_version = _known(one("Nvidia driver version"))
    if result.driver_version and not re.fullmatch(r"\d+(?:\.\d+)+", result.driver_version):
        result.driver_version = None
    for value in fields.get("GPU models and configuration", []):
        m = _GPU_LINE.match(value.strip())
        if m:
            rest = m.group("rest").strip()
            uuid = _UUID.search(rest)
            name = rest[:uuid.start()].strip() if uuid else rest
            if name:
                result.gpus.append(Gpu(index=int(m.group("index")), name=name, uuid=uuid.group("uuid") if uuid else None))
        elif _MIG_LINE.match(value) and result.gpus:
            result.gpus[-1].mig_devices += 1
            result.gpus[-1].mig_mode = "Enabled"
    _cudnn(fields.get("cuDNN version", []), result)
    for line in cpu_lines:
        m = re.match(r"^(Model name|Name)\s*[:=]\s*(.+)$", line)
        if m and result.cpu_model is None:
            result.cpu_model = m.group(2).strip()
        m = re.match(r"^CPU\(s\):\s*(\d+)$", line)
        if m:
            result.cpu_count = int(m.group(1))
    if cpu_lines and result.cpu_model is None and len(cpu_lines) == 1 and ":" not in cpu_lines[0]:
        result.cpu_model = cpu_lines[0]  # macOS prints the brand string alone
    for tool, rest in libs:
        if tool == "conda":
            parse_collect_env_line(result.conda, rest)
        else:
            for name, package in parse_freeze([rest]).items():
                result.pip_packages.setdefault(name, package)
    for name, package in result.conda.pip_packages.items():
        result.pip_packages.setdefault(name, package)
    return result


__all__ = ["CollectEnv", "parse", "CondaPackage"]
