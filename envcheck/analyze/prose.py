"""Facts stated in prose and hand-written lists: "PyTorch: 2.9.1+cu130", "torch.__version__ → 2.9.1+cpu".

Issue reports often state the environment by hand (Markdown lists, bold labels, arrows, one sentence)
instead of pasting a tool's output. A line here gives a fact only when it names it plainly:

* torch: ``PyTorch version: X``, ``- **PyTorch Version**: X``, ``torch.__version__ → X``, ``torch X+tag``
  in a sentence (a version with its build tag; an install request such as ``torch==X`` or
  ``pip install torch X`` is not what is installed and is never read), xFormers' ``(you have X)``;
* ``torch.version.cuda → None`` / ``12.1``, ``CUDA (PyTorch): 13.0``, ``torch.cuda.is_available() → False``;
* the driver: ``Driver Version: 573.44``, ``(Driver 570.181)``; its CUDA only when the label says it is
  nvidia-smi's (``CUDA Version (nvidia-smi): 12.8``) or conda's virtual package (``__cuda=11.7=0``,
  "Your installed CUDA driver is: 11.4"); ``nvcc Version: 12.4``;
* a GPU named after a ``GPU:`` label, ComfyUI's ``Device: cuda:0 NVIDIA GeForce RTX 4090 : ...`` (kept as
  a device torch reports, never as a count of GPUs).

Every pattern is anchored or bounded, so a long line costs time in proportion to its length.
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence

from .gates import Gate
from .prints import VERSION, TorchFacts

_FULL_VERSION = r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+|\.post\d+|\.dev\d+)*(?:\+[\w.]+)?"
_LEAD = r"^[\s>*\-•+|]*(?:\*\*|__)?"
_LABEL_END = r"(?:\*\*|__)?\s*[:]\s*(?:\*\*|__|`)?\s*"

_TORCH_LABEL = re.compile(_LEAD + r"(?:py)?torch(?:\s+version)?(?:\s*\([^)]{0,30}\))?" + _LABEL_END
                          + r"v?(?P<version>" + _FULL_VERSION + r")(?:`)?(?:\s*\((?P<gpu>True|False)\))?", re.I)
_TORCH_ATTR = re.compile(r"torch\.__version__\)?[\s:=→>\-`'\"]{0,8}(?:is|returns?|gives|shows|prints|reports)?"
                         r"[\s:`'\"]{0,4}(?P<version>" + VERSION + r")")
_TORCH_PROSE = re.compile(r"(?<![\w.=<>~\-])(?:py)?torch\s+(?:v?(?P<version>\d+\.\d+\.\d+"
                          r"(?:(?:a|b|rc)\d+|\.post\d+|\.dev\d+)*\+[\w.]+)|version\s+(?:is\s+)?v?(?P<plain>"
                          + _FULL_VERSION + r"))", re.I)
#: an install request or a resolver's wish, not what is installed
_REQUEST = re.compile(r"(?:pip3?|uv|conda|mamba|poetry)\s+(?:pip\s+)?(?:install|add|create)|==|index-url|\.whl|"
                      r"Collecting|Downloading|requires|required|built for|No matching|from versions|"
                      r"Could not find|want|need", re.I)
_XFORMERS = re.compile(r"PyTorch (?P<built>\S+) with CUDA (?P<cuda>\d+) \(you have (?P<version>" + VERSION + r")\)")
_TORCH_CUDA = re.compile(r"torch\.version\.cuda\)?[\s:=→>\-`'\"]{0,8}(?:is|returns?|gives|shows)?[\s:`'\"]{0,4}"
                         r"(?P<cuda>None|\d+\.\d+)\b")
_CUDA_PYTORCH = re.compile(r"CUDA\s*\((?:PyTorch|torch)\)" + _LABEL_END + r"(?P<cuda>\d+\.\d+)\b", re.I)
_AVAILABLE = re.compile(r"torch\.cuda\.is_available(?:\(\))?\)?\s*(?:→|->|=>|:|=(?!=)|\bis\b|returns?|returned|"
                        r"gives?|shows?|prints?|always returns?|为|是|返回|结果为)?\s*[`'\"*]{0,3}(?P<value>True|False)\b", re.I)
_AVAILABLE_LABEL = re.compile(_LEAD + r"(?:Is\s+)?CUDA\s+available" + _LABEL_END + r"(?P<value>True|False|Yes|No)\b",
                              re.I)
_DRIVER_LABEL = re.compile(_LEAD + r"(?:NVIDIA\s+|Nvidia\s+|GPU\s+)?Driver(?:\s+Version)?" + _LABEL_END
                           + r"v?(?P<version>\d{3}\.\d{1,3}(?:\.\d{1,3})?)\b", re.I)
_DRIVER_PAREN = re.compile(r"\(\s*(?:NVIDIA\s+)?driver(?:\s+version)?\s*:?\s*(?P<version>\d{3}\.\d{2,3}(?:\.\d{2})?)\b",
                           re.I)
_SMI_CUDA = re.compile(r"CUDA\s+Version\s*\(nvidia-smi\)" + _LABEL_END + r"(?P<cuda>\d+\.\d+)\b", re.I)
_CONDA_CUDA = re.compile(r"(?:^|[\s:'\"])__cuda[-=](?P<cuda>\d+\.\d+)(?:[-=.\s'\"]|$)|"
                         r"Your installed CUDA driver is:\s*(?P<cuda2>\d+\.\d+)")
_NVCC_LABEL = re.compile(_LEAD + r"nvcc(?:\s+Version|\s+-V|\s+--version)?" + _LABEL_END
                         + r"(?:release\s+)?(?P<version>\d+\.\d+)\b", re.I)
_GPU_LABEL = re.compile(_LEAD + r"GPU(?:\s+model|\s+name|\s+type)?" + _LABEL_END
                        + r"(?P<name>(?:NVIDIA\s+)?(?:GeForce|Tesla|Quadro|TITAN|RTX|GTX|A\d|H\d|L\d|B\d|V100|P100|T4)"
                          r"[^,;(|\[\]*]{0,60})", re.I)
#: DeepSpeed's CUDAMismatchException: the toolkit it builds with, torch's CUDA
_DEEPSPEED = re.compile(r"Installed CUDA version (?P<nvcc>\d+\.\d+) does not match the version torch was compiled with "
                        r"(?P<cuda>\d+\.\d+)")
#: a companion's own check (torchvision, torchaudio, torch_scatter, torch_sparse, ...)
_COMPANION_CUDA = re.compile(r"PyTorch has CUDA [Vv]ersion[ =](?P<cuda>\d+\.\d+)\.? (?:and|whereas) (?P<name>[\w\-]+) has "
                             r"CUDA [Vv]ersion[ =](?P<other>\d+\.\d+)")
_COMFY_DEVICE = re.compile(r"^\s*Device: cuda:(?P<index>\d+) (?P<name>[^:]{2,80}?) : ")
#: cheap test before any pattern runs
GATE = Gate(words=("torch", "driver", "nvcc", "gpu", "device:", "cuda"))
_HINT = re.compile("|".join(map(re.escape, GATE.words)), re.I)


def read_line(line: str) -> TorchFacts:
    """The facts one line states; empty when it states none."""
    facts = TorchFacts()
    if len(line) > 2000 or not _HINT.search(line):
        return facts
    m = _XFORMERS.search(line)
    if m:
        facts.version = m.group("version")
    m = _TORCH_LABEL.match(line)
    if m and facts.version is None:
        facts.version = m.group("version")
        if m.group("gpu"):
            facts.available = m.group("gpu") == "True"
    m = _TORCH_ATTR.search(line)
    if m and facts.version is None:
        facts.version = m.group("version")
    if facts.version is None and m is None and not _REQUEST.search(line):
        m = _TORCH_PROSE.search(line)
        if m:
            facts.version = m.group("version") or m.group("plain")
    m = _TORCH_CUDA.search(line)
    if m:
        if m.group("cuda") == "None":
            facts.cuda_none = True
        else:
            facts.cuda = m.group("cuda")
    m = _CUDA_PYTORCH.search(line)
    if m and facts.cuda is None:
        facts.cuda = m.group("cuda")
    m = _DEEPSPEED.search(line)
    if m:
        facts.cuda = facts.cuda or m.group("cuda")
        facts.extension_nvcc = m.group("nvcc")
    m = _COMPANION_CUDA.search(line)
    if m:
        facts.cuda = facts.cuda or m.group("cuda")
        name = m.group("name").lower().replace("_", "-")
        facts.companion_cuda[name] = m.group("other")
    m = _AVAILABLE.search(line) or _AVAILABLE_LABEL.match(line)
    if m and facts.available is None and "==" not in line[m.start():m.end()]:
        facts.available = m.group("value").lower() in ("true", "yes")
    m = _DRIVER_LABEL.match(line) or _DRIVER_PAREN.search(line)
    if m:
        facts.driver_version = m.group("version")
    m = _SMI_CUDA.search(line)
    if m:
        facts.driver_cuda = m.group("cuda")
    m = _CONDA_CUDA.search(line)
    if m and facts.driver_cuda is None:
        facts.driver_cuda = m.group("cuda") or m.group("cuda2")
    m = _NVCC_LABEL.match(line)
    if m:
        facts.nvcc = m.group("version")
    m = _COMFY_DEVICE.match(line)
    if m:
        facts.devices.append((int(m.group("index")), m.group("name").strip(), None))
        facts.available = True if facts.available is None else facts.available
    else:
        m = _GPU_LABEL.match(line)
        if m:
            name = " ".join(m.group("name").split()).rstrip(" .")
            if name and not re.search(r"\band\b|&|\+|/|\bx\d|\d\s*x\b", name, re.I):  # one GPU, not a list of them
                facts.devices.append((0, name, None))
    return facts


def detect(lines: List[str], i: int) -> Optional[int]:
    """End of a run of lines that state facts, from ``i``, or None."""
    if read_line(lines[i]).empty():
        return None
    j = i + 1
    while j < len(lines) and j < i + 50 and not read_line(lines[j]).empty():
        j += 1
    return j


def parse(lines: Sequence[str]) -> TorchFacts:
    """Every fact the lines state, the first statement of each winning; never raises."""
    facts = TorchFacts()
    for line in lines:
        facts.absorb(read_line(line))
    return facts
