"""The environment reports of other tools: sglang's ``check_env`` (and mmcv's ``collect_env`` it copies),
``transformers env``, ``accelerate env``, ``hf env`` / ``huggingface-cli env``, ``diffusers-cli env`` and
DeepSpeed's ``ds_report``.

They share one shape: a "key: value" line per fact (bulleted ``- key: value`` in Hugging Face's,
dotted ``key ........ value`` in ``ds_report``). What each key means is read from what the tool
prints there: sglang's ``GPU 0,1,2,3,4,5,6,7: NVIDIA H100`` is eight GPUs of that name (listed once
with their indices), ``NVCC`` is the toolkit under ``CUDA_HOME`` (the one extensions build with), the
Hugging Face ``PyTorch version (GPU?): 2.1.2+cu118 (True)`` is torch's version and
``torch.cuda.is_available()``, ``GPU type`` is the name torch gives device 0 (not a count), and
``ds_report``'s ``torch cuda version`` / ``nvcc version`` are torch's CUDA and the toolkit's. A value
the tool could not get ("N/A", "Module Not Found", "not installed") stays unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .gates import Gate, alternation
from ..probes.target_script import normalize, wanted
from .prints import VERSION
from .runs import Miss

_BULLET = re.compile(r"^\s*[-*•]\s+")
_DOTS = re.compile(r"^\s*(?P<key>[A-Za-z][\w ./()\-]{0,60}?)\s*\.{3,}\s*(?P<value>.*)$")
_COLON = re.compile(r"^\s*(?P<key>[^:\s][^:]{0,70}?)\s*:(?:\s+(?P<value>.*)|\s*$)")
_GPU_GROUP = re.compile(r"^GPU (?P<indices>\d+(?:\s*,\s*\d+)*)(?P<cc> Compute Capability)?$")
#: detectron2's collect_env: a rule of dashes, then "key   value" rows (two or more spaces between)
_D2_RULE = re.compile(r"^\s*-{10,}\s+-{10,}\s*$")
_SPACED = re.compile(r"^\s*(?P<key>[A-Za-z][\w.()/\-]*(?: [\w.()/,\-]+){0,4}?)\s{2,}(?P<value>\S.*)$")
_ARCH = re.compile(r"\(arch=(?P<cc>\d+\.\d+)\)\s*$")
_NVCC = re.compile(r"release (?P<version>\d+\.\d+), V(?P<full>\d+\.\d+\.\d+)")
_VERSION = re.compile(VERSION)
_NOT_KNOWN = ("n/a", "na", "none", "not available", "not installed", "module not found", "not found",
              "could not collect", "unknown", "<fill in>", "")
#: keys that make a block a tool's environment report (two or more of them)
_KNOWN_KEYS = {
    "sys.platform", "python", "python version", "platform", "cuda available", "cuda_home", "nvcc", "gcc",
    "pytorch", "pytorch version", "pytorch version (gpu?)", "pytorch version (accelerator?)",
    "pytorch compiling details", "torchvision", "cuda driver version", "numpy version", "numpy",
    "transformers version", "accelerate version", "accelerate", "huggingface_hub version",
    "safetensors version", "gpu type", "system ram", "torch", "torch install path", "torch version",
    "torch cuda version", "torch hip version", "nvcc version", "deepspeed info", "deepspeed install path",
    "shared memory (/dev/shm) size", "deepspeed wheel compiled w.", "sglang", "sgl_kernel", "vllm", "triton",
    "flashinfer_python", "running in ipython ?", "running in notebook ?", "tensorflow version (gpu?)",
    "using gpu in script?", "accelerate config", "accelerate default config", "diffusers version",
    "xformers version", "accelerator", "mmcv", "mmengine", "opencv", "msvc", "pytorch xpu available",
    "pytorch npu available", "musa available", "cuda runtime", "hypervisor vendor", "ulimit soft",
    "nvidia topology", "peft version", "gpu available", "driver version", "pytorch debug build", "detectron2",
    "compiler", "cuda compiler", "detectron2_env_module", "pillow", "fvcore", "iopath", "cv2", "bitsandbytes version", "flax version (cpu?/gpu?/tpu?)",
    "jax version", "jaxlib version", "using distributed or parallel set-up in script?", "tensorflow",
    "fastai", "token path ?", "has saved token ?", "endpoint", "huggingface_hub", "hf_hub_cache",
}
#: keys that state a torch or GPU fact (a report needs one of them to be worth a block)
_FACT_KEYS = ("pytorch", "torch", "cuda available", "nvcc", "cuda driver version", "gpu type", "accelerator",
              "torch version", "torch cuda version", "nvcc version", "pytorch version", "pytorch version (gpu?)",
              "pytorch version (accelerator?)", "platform", "sys.platform")
#: what a line where a report starts always holds (a known key's first word after any bullet, backtick or emoji; the
#: DeepSpeed banner; detectron2's rule): the cheap test :mod:`.detect` runs first
GATE = Gate(start=r"DeepSpeed general environment info|-{10,}|(?i:(?:[-*•]\s+)?[`🤗\s]*(?:"
                  + alternation({k.split()[0] for k in _KNOWN_KEYS} | {"gpu"}) + "))")


@dataclass
class EnvReport:
    torch_version: Optional[str] = None
    torch_cuda: Optional[str] = None
    #: torch cuda version printed None (ds_report): a CPU or ROCm build
    torch_cuda_none: bool = False
    torch_hip: Optional[str] = None
    cuda_available: Optional[bool] = None
    torch_location: Optional[str] = None
    torch_cudnn: Optional[str] = None
    arch_list: Optional[List[str]] = None
    python_version: Optional[str] = None
    #: the Python platform string ("Linux-6.5.0-25-generic-x86_64-with-glibc2.35") or sys.platform
    platform: Optional[str] = None
    sys_platform: Optional[str] = None
    driver_version: Optional[str] = None
    #: (version, full version) of the toolkit under CUDA_HOME
    nvcc: Optional[Tuple[str, Optional[str]]] = None
    cuda_home: Optional[str] = None
    gcc: Optional[str] = None
    #: (index, name) of every GPU listed, sglang's groups expanded
    gpus: List[Tuple[int, str]] = field(default_factory=list)
    #: compute capability by GPU index
    capabilities: Dict[int, str] = field(default_factory=dict)
    #: the name torch gives device 0 ("GPU type", diffusers' "Accelerator")
    device_name: Optional[str] = None
    packages: Dict[str, str] = field(default_factory=dict)
    shm_mib: Optional[int] = None
    ram_mib: Optional[int] = None


def _key_value(line: str, spaced: bool = False) -> Optional[Tuple[str, str]]:
    """(normalised key, value) of a report line, or None; ``spaced``: detectron2's "key    value" rows."""
    text = _BULLET.sub("", line, count=1)
    m = _SPACED.match(text) if spaced else None
    if m is None:
        m = _DOTS.match(text)
    if m is None:
        m = _COLON.match(text)
    if m is None:
        return None
    key = " ".join(m.group("key").replace("`", "").replace("🤗", "").split()).lower()
    if not key or len(key) > 70:
        return None
    return key, (m.group("value") or "").strip()


def _known(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    text = value.strip().strip("`").strip()
    return None if text.lower() in _NOT_KNOWN else text


def _size_mib(value: str) -> Optional[int]:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(GB|GiB|MB|MiB|TB)\b", value)
    if not m:
        return None
    number = float(m.group(1))
    unit = m.group(2)
    factor = {"GB": 1024, "GiB": 1024, "MB": 1, "MiB": 1, "TB": 1024 * 1024}[unit]
    return int(number * factor)


def _block_keys(lines: Sequence[str], spaced: bool = False) -> Tuple[int, bool]:
    known = 0
    fact = False
    for line in lines:
        kv = _key_value(line, spaced)
        if kv is None:
            continue
        key = kv[0]
        if key in _KNOWN_KEYS or _GPU_GROUP.match(_gpu_key(key)):
            known += 1
            fact = fact or key in _FACT_KEYS or _GPU_GROUP.match(_gpu_key(key)) is not None
    return known, fact


def _is_start(line: str) -> bool:
    if line.strip().startswith("DeepSpeed general environment info") or _D2_RULE.match(line):
        return True
    kv = _key_value(line)
    return kv is not None and (kv[0] in _KNOWN_KEYS or _GPU_GROUP.match(_gpu_key(kv[0])) is not None)


def _gpu_key(key: str) -> str:
    """"gpu 0,1,2 compute capability" -> "GPU 0,1,2 Compute Capability" (for _GPU_GROUP)."""
    if not key.startswith("gpu "):
        return key
    rest = key[4:]
    if rest.endswith(" compute capability"):
        return "GPU " + rest[:-len(" compute capability")] + " Compute Capability"
    return "GPU " + rest


def _continues(line: str, spaced: bool = False) -> bool:
    """A line inside a report: a key line, an indented line (nested config, compiling details, topology)."""
    if not line.strip():
        return False
    if spaced and (_D2_RULE.match(line) or _SPACED.match(line) or line.startswith("PyTorch built with")):
        return True
    if line[:1] in (" ", "\t"):
        return True
    if line.strip().startswith(("DeepSpeed general environment info", "Legend:", "X ", "SYS ", "NODE ", "PHB ",
                                "PXB ", "PIX ", "NV#")):
        return True
    return _key_value(line) is not None and not line.lstrip().startswith(("http://", "https://"))


def detect(lines: List[str], i: int) -> "Optional[int | Miss]":
    """End of an environment report starting at ``i``, or None (a Miss: nor anywhere in the run read)."""
    if not _is_start(lines[i]):
        return None
    n = len(lines)
    j = i + 1
    last = i
    spaced = _D2_RULE.match(lines[i]) is not None
    while j < n and j < i + 400:
        line = lines[j]
        if line.lstrip().startswith(("```", "~~~")):
            break
        if _continues(line, spaced):
            last = j
            j += 1
            continue
        if not line.strip() and j + 1 < n and _continues(lines[j + 1]) and lines[j + 1][:1] in (" ", "\t", "L"):
            j += 1  # a blank line inside the topology legend
            continue
        break
    known, fact = _block_keys(lines[i:last + 1], spaced)
    if known < 3 or not fact:
        # a later start in the run reads a part of the same lines, in the same mode up to the first line of the
        # other mode, and finds fewer keys: no report starts before then (one read per run, not one per line;
        # past the 400-line window a report is looked for from the window's end)
        until = next((k for k in range(i + 1, j) if (_D2_RULE.match(lines[k]) is not None) != spaced), j)
        return Miss(until)
    return last + 1


def _gpu_indices(text: str) -> List[int]:
    return [int(p) for p in re.split(r"\s*,\s*", text.strip()) if p.isdigit()]


def parse(lines: Sequence[str]) -> EnvReport:
    """Facts from a tool's environment report (any part of one); never raises."""
    r = EnvReport()
    section: Optional[str] = None
    spaced = any(_D2_RULE.match(l) for l in lines[:3])
    for raw in lines:
        line = raw.rstrip()
        if not line.strip() or (spaced and _D2_RULE.match(line)):
            continue
        if spaced and line.startswith("PyTorch built with"):
            section = "compiling"
            continue
        if section == "compiling" and line[:1] in (" ", "\t"):
            text = _BULLET.sub("", line, count=1).strip()
            m = re.match(r"^CUDA Runtime (\d+\.\d+)", text)
            if m and r.torch_cuda is None:
                r.torch_cuda = m.group(1)
            m = re.match(r"^CuDNN (\d+\.\d+(?:\.\d+)?)", text)
            if m and r.torch_cudnn is None:
                r.torch_cudnn = m.group(1)
            if text.startswith("NVCC architecture flags:") and r.arch_list is None:
                found: List[str] = []
                for arch in re.findall(r"code=((?:sm|compute)_\d+[a-z]?)", text):
                    if arch not in found:
                        found.append(arch)
                r.arch_list = found or None
            continue
        kv = _key_value(line, spaced and line[:1] not in (" ", "\t"))
        if kv is None:
            continue
        if line[:1] in (" ", "\t") and section in ("config", "topology"):
            continue  # an accelerate config's nested keys, a topology row
        key, value = kv
        section = None
        known = _known(value)
        group = _GPU_GROUP.match(_gpu_key(key))
        if group:
            indices = _gpu_indices(group.group("indices"))
            arch = _ARCH.search(value)
            if arch and not group.group("cc"):
                for index in indices:
                    r.capabilities.setdefault(index, arch.group("cc"))
                known = _known(value[:arch.start()])
            if group.group("cc"):
                cc = re.match(r"^\s*(\d+\.\d+)", value)
                if cc:
                    for index in indices:
                        r.capabilities.setdefault(index, cc.group(1))
            elif known:
                for index in indices:
                    if not any(g[0] == index for g in r.gpus):
                        r.gpus.append((index, known))
            continue
        if key in ("pytorch", "torch", "pytorch version", "pytorch version (gpu?)", "pytorch version (accelerator?)",
                   "torch version"):
            m = _VERSION.match(known or "")
            if m and r.torch_version is None:
                r.torch_version = m.group(0)
                at = re.search(r" @(\S.*)$", known or "")
                if at:
                    r.torch_location = r.torch_location or at.group(1).strip()
                flag = re.search(r"\((True|False)\)\s*$", known or "")
                if flag and key == "pytorch version (gpu?)":
                    r.cuda_available = flag.group(1) == "True"
        elif key in ("cuda available", "gpu available"):
            if known in ("True", "False", "Yes", "No"):
                r.cuda_available = known in ("True", "Yes")
        elif key in ("python", "python version"):
            m = re.match(r"^(\d+\.\d+(?:\.\d+)?)", known or "")
            if m:
                r.python_version = r.python_version or m.group(1)
        elif key == "platform":
            r.platform = r.platform or known
        elif key == "sys.platform":
            r.sys_platform = r.sys_platform or known
        elif key in ("cuda driver version", "driver version"):
            if known and re.fullmatch(r"\d+\.\d+(?:\.\d+)?", known):
                r.driver_version = known
        elif key == "nvcc":
            m = _NVCC.search(known or "")
            if m:
                r.nvcc = (m.group("version"), m.group("full"))
        elif key == "nvcc version":
            m = re.match(r"^(\d+\.\d+)", known or "")
            if m:
                r.nvcc = (m.group(1), None)
        elif key == "cuda_home":
            r.cuda_home = known
        elif key == "gcc":
            m = re.search(r"(\d+\.\d+(?:\.\d+)?)\s*$", known or "")
            if m:
                r.gcc = m.group(1)
        elif key == "pytorch compiling details":
            section = "compiling"
        elif key in ("accelerate config", "accelerate default config"):
            section = "config"
        elif key in ("nvidia topology", "gpu topology"):
            section = "topology"
        elif key == "torch install path":
            m = re.search(r"['\"]([^'\"]+)['\"]", value)
            r.torch_location = r.torch_location or (m.group(1) if m else None)
        elif key == "torch cuda version":
            if value.strip() == "None":
                r.torch_cuda_none = True
            elif known and re.fullmatch(r"\d+\.\d+(?:\.\d+)?", known):
                r.torch_cuda = r.torch_cuda or ".".join(known.split(".")[:2])
        elif key == "torch hip version":
            if known and re.match(r"^\d+\.\d+", known):
                r.torch_hip = known
        elif key in ("gpu type", "accelerator"):
            name = (known or "").split(",")[0].strip()
            if name and name.upper() not in ("NA", "N/A", "CPU", "NONE"):
                r.device_name = r.device_name or name
        elif key == "shared memory (/dev/shm) size":
            r.shm_mib = _size_mib(value)
        elif key == "system ram":
            r.ram_mib = _size_mib(value)
        else:
            name = key.split(" version")[0].strip() if key.endswith(" version") else key
            norm = normalize(name)
            m = _VERSION.match(known or "")
            if m and wanted(norm) and norm not in ("torch",):
                r.packages.setdefault(norm, m.group(0))
    if r.torch_cuda_none and r.torch_cuda:
        r.torch_cuda_none = False
    return r
