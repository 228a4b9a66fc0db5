"""Split pasted text into typed blocks, by content only (never by file name).

A paste mixes things: a traceback, an ``nvidia-smi`` table, ``collect_env`` output, a ``pip list``.
Every line is first cleaned of what pasting adds (Markdown quote markers, CI timestamps, a stray
backtick); then, line by line, each detector decides whether a block of its kind starts there and
where it ends. Lines no detector claims form ``log`` blocks (error messages are searched for in the
whole text anyway, see :mod:`.signatures`). Blocks never overlap and keep their line numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .gates import Gate, GateSet, alternation
from .runs import Miss
from . import conda_plan, env_report, env_vars, install_cmd, ldd, pip_log, prints, prose, smi_list

#: every kind of block, in the order detectors are tried
KINDS = (
    "smi-xml", "smi-q", "smi-table", "collect-env", "env-report", "conda-info", "conda-plan", "conda-list",
    "pip-list", "pip-log", "pip-show", "conda-config", "nvcc", "smi-list", "smi-csv", "ldd", "env-vars",
    "torch-print", "install-cmd", "pip-freeze", "facts", "log",
)


@dataclass
class Block:
    kind: str
    #: the input's name (file name or "<stdin>")
    input: str
    #: 0-based first line and the line after the last
    start: int
    end: int
    #: the cleaned lines of the block
    lines: List[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# --------------------------------------------------------------------------- cleaning

_QUOTE = re.compile(r"^(?:[ \t]*>(?![>=])[ \t]?)+")
_STAMP = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?[ \t]+"          # GitHub Actions
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d[ \t]+"  # syslog / Jenkins
    r"|\[\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[\d.,]*\][ \t]*"
    # Python logging and mmengine's logger: "2020-10-21 13:58:12,888 - mmdet - INFO - ", "07/10 16:07:40 - mmengine - INFO - "
    r"|(?:\d{4}-\d\d-\d\d|\d\d/\d\d) \d\d:\d\d:\d\d(?:[,.]\d+)? - [\w.\-]{1,40} - [A-Z]{4,8} - )"
)
_FENCE = re.compile(r"^\s*(?:```|~~~)")


def split_lines(text: str) -> List[str]:
    """Lines of a text with any line-ending convention."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def clean_line(line: str) -> str:
    """A pasted line without Markdown quote markers, CI timestamps and leading stray backticks."""
    if line.startswith((">", " ", "\t")) and ">" in line[:12]:
        line = _QUOTE.sub("", line)
    first = line[:1]
    if first and (first in "[JFMASOND" or first.isdigit()):
        stamp = _STAMP.match(line)
        if stamp:
            line = line[stamp.end():]
    if line.startswith("`") and not _FENCE.match(line):
        line = line.lstrip("`")
    if "\uff1a" in line:  # a Chinese-locale full-width colon ("GPU 0\uff1a Tesla P100"): one character for one
        line = line.replace("\uff1a", ":")
    if "\x00" in line:
        line = line.replace("\x00", "")
    return line.rstrip()


def clean_lines(lines: Sequence[str]) -> List[str]:
    return [clean_line(line) for line in lines]


# --------------------------------------------------------------------------- shared patterns

#: the banner of every driver era; R610 and later print "KMD Version" and "CUDA UMD Version" instead of
#: "Driver Version" and "CUDA Version" (same meanings: the kernel driver, the newest CUDA it runs)
SMI_HEADER = re.compile(r"NVIDIA-SMI\s+(?P<smi>[^\s*|]+)\s+(?:Driver|KMD) Version:\s*(?P<driver>[^\s*|]+)"
                        r"(?:\s+CUDA (?:UMD )?Version:\s*(?P<cuda>[^\s|*]+))?")
BUS_ID = r"[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]"
SMI_GPU_ROW = re.compile(r"^\|\s*(\d+)\s+([^|]*)\|\s*(" + BUS_ID + r")\b")
_NVSMI_LOG = re.compile(r"^\s*=+\s*NVSMI LOG\s*=+\s*$")
_Q_KEY_NAME = re.compile(r"^\s*[A-Za-z][\w .()/+\-]*$")
_Q_GPU = re.compile(r"^\s*GPU\s+" + BUS_ID + r"\s*$")
_Q_SECTION = re.compile(r"^\s{2,}[A-Za-z][\w .()/+\-]*$")

CE_KEYS = (
    "PyTorch version", "Is debug build", "CUDA used to build PyTorch", "ROCM used to build PyTorch",
    "OS", "GCC version", "Clang version", "CMake version", "Libc version", "Python version",
    "Python platform", "Is CUDA available", "CUDA runtime version", "CUDA_MODULE_LOADING set to",
    "GPU models and configuration", "Nvidia driver version", "cuDNN version", "HIP runtime version",
    "MIOpen runtime version", "Is XPU available", "XPU used to build PyTorch", "Intel GPU driver version",
    "Intel GPU models onboard", "Intel GPU models detected", "Is XNNPACK available",
    "Caching allocator config", "Versions of relevant libraries", "CPU", "Is debug build",
    # vLLM's collect_env (both layouts) adds these
    "vLLM Version", "vLLM Build Flags", "GPU Topology", "ROCM Version", "Neuron SDK Version",
    "Aphrodite Version", "ROCm SDK used to build PyTorch", "HIP used to build PyTorch",
)
#: lower-cased spelling -> the key as collect_env prints it (old scripts and hand edits vary the case)
_CE_CANON = {k.lower(): k for k in CE_KEYS}
_CE_CANON["version of relevant libraries"] = "Versions of relevant libraries"
_CE_ALTERNATION = alternation(set(_CE_CANON))
CE_KEY = re.compile(r"^\s*(" + "|".join(re.escape(k) for k in sorted(set(CE_KEYS), key=len, reverse=True))
                    + r")\s*:(.*)$")
_CE_KEY_ANY = re.compile(r"^\s*(" + _CE_ALTERNATION + r")\s*:(.*)$", re.I)
#: "PyTorch version 1.5.0": a paste that lost the colon
_CE_TORCH_BARE = re.compile(r"^\s*PyTorch version\s+(\d+\.\d+\S*)\s*$")
_CE_START = re.compile(r"^\s*(?:Collecting environment information|PyTorch version\s*:|PyTorch version\s+\d|"
                       r"Is debug build\s*:|CUDA used to build PyTorch\s*:)")
_CE_LIB = re.compile(r"^\s*\[(?:pip3?|conda|uv)\]\s")
_CE_CONT = re.compile(r"^\s*(?:GPU \d+:|MIG \S+|/\S*cudnn|[A-Za-z]:\\\S*cudnn|Probably one of the following)", re.I)
#: vLLM's section rules ("==============================")
_CE_RULE = re.compile(r"^\s*={5,}\s*$")
#: vLLM's environment variables ("NVIDIA_VISIBLE_DEVICES=all", "LD_LIBRARY_PATH=...")
_CE_ENV = re.compile(r"^\s*[A-Z][A-Z0-9_]{2,}=")
_CE_TOPO = re.compile(r"^(?:\s|GPU\d|NIC\d|mlx|Legend)|\t")
_KV = re.compile(r"^\s*[A-Za-z][\w .()/\-]{0,60}:\s")
_WMIC = re.compile(r"^\s*[A-Za-z][\w]*=")


def ce_key(line: str) -> Optional[Tuple[str, str]]:
    """(key as collect_env prints it, the rest of the line) of a collect_env "Key: value" line, or None."""
    m = _CE_KEY_ANY.match(line)
    if m:
        return _CE_CANON[m.group(1).lower()], m.group(2)
    m = _CE_TORCH_BARE.match(line)
    if m:
        return "PyTorch version", m.group(1)
    return None


_CONDA_INFO_KEYS = alternation((
    "active environment", "active env location", "shell level", "user config file", "populated config files",
    "conda version", "conda-build version", "conda-env version", "python version", "virtual packages",
    "base environment", "root environment", "default environment", "conda av data dir", "conda av metadata url",
    "channel urls", "package cache", "envs directories", "platform", "user-agent", "uid:gid", "netrc file",
    "offline mode", "requests version", "conda is private", "config file", "solver"))
_CONDA_INFO_KEY = re.compile(r"^\s*(" + _CONDA_INFO_KEYS + r")\s*:", re.I)
_CONDA_INFO_CONT = re.compile(r"^\s{12,}\S")
_CONDA_LIST_START = re.compile(r"^[ \t]*(?:#[ \t]*)?(?:packages in environment at\b|Name\s+Version\s+Build|platform:[ \t]*\S)", re.I)
_CONDA_ROW = re.compile(r"^\s*[A-Za-z0-9_][\w.+\-]*\s+\S+(?:\s+\S+){0,2}\s*$")
_CONDA_EXPORT_ROW = re.compile(r"^\s*[A-Za-z0-9_][\w.+\-]*=[^=\s]+=[^=\s]+\s*$")
_PIP_HEADER = re.compile(r"^\s*Package\s+Version(?:\s+\S.*)?$")
_PIP_RULE = re.compile(r"^\s*-{3,}\s+-{3,}")
_PIP_ROW = re.compile(r"^\s*[A-Za-z0-9][\w.\-]*\s+\d[^\s]*(?:\s+\S.*)?$")
_HEADERLESS_ROW = re.compile(r"^\s*[A-Za-z0-9][\w.\-]*(?:\s{2,}|\t)\d[^\s]*(?:\s{2,}\S.*)?$")
_FREEZE_ROW = re.compile(r"^\s*(?:[A-Za-z0-9][\w.\-]*(?:\[[\w,\s-]*\])?\s*===?\s*[\w.+!*\-]+(?:\s*;.*)?"
                         r"|[A-Za-z0-9][\w.\-]*\s+@\s+\S+|-e\s+\S+)\s*$")
_CONDA_CONFIG_KEYS = (
    "channels", "default_channels", "custom_channels", "custom_multichannels", "channel_priority", "show_channel_urls",
    "channel_alias", "ssl_verify", "auto_activate_base", "envs_dirs", "pkgs_dirs", "always_yes", "report_errors",
    "add_pip_as_python_dependency", "allow_softlinks", "auto_update_conda", "changeps1", "solver", "proxy_servers",
    "channel_settings", "default_threads", "repodata_threads", "verbosity", "restore_free_channel",
    "allowlist_channels", "create_default_packages", "pip_interop_enabled", "offline", "add_anaconda_token",
    "anaconda_upload", "override_channels_enabled", "experimental_solver", "notify_outdated_conda")
_CONDA_CONFIG_KEY = re.compile(r"^(" + "|".join(map(re.escape, _CONDA_CONFIG_KEYS)) + r"|remote_\w+)\s*:")
_YAML_CONT = re.compile(r"^(?:\s+\S|[a-z_][\w]*\s*:|#|\s*-\s)")
_NVCC_START = re.compile(r"(?:vcc: NVIDIA \(R\) Cuda compiler driver|Cuda compilation tools, release \d)", re.I)
_NVCC_CONT = re.compile(r"^\s*(?:Copyright \(c\)|Built on|Cuda compilation tools|Build cuda_)", re.I)
_CSV_FIELD = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*(?:\s*\[[^\]]*\])?$")
CSV_GPU_FIELDS = {"index", "name", "gpu_name", "uuid", "gpu_uuid", "driver_version", "pci.bus_id", "gpu_bus_id",
                  "memory.total", "memory.used", "memory.free", "compute_cap", "mig.mode.current",
                  "persistence_mode", "temperature.gpu", "power.draw", "power.limit", "utilization.gpu",
                  "clocks_throttle_reasons.active", "clocks_event_reasons.active", "pstate", "count",
                  "vbios_version", "serial", "gpu_serial"}
GPU_NAME_HINT = re.compile(r"\b(?:NVIDIA|GeForce|Tesla|Quadro|TITAN|RTX|GTX|A\d{2,3}0?|H\d{2,3}|L\d{1,2}S?|V100|P100|T4|B200|GB\d+)\b")
_DRIVER_CELL = re.compile(r"^\d{3}\.\d{2,3}(?:\.\d{2})?$")


def is_q_key(line: str) -> bool:
    """An ``nvidia-smi -q`` "Key      : value" line (the colon after padding)."""
    i = line.find(" :")
    return i > 0 and _Q_KEY_NAME.match(line[:i]) is not None


def is_table_line(line: str) -> bool:
    s = line.lstrip()
    return s.startswith("|") or (s.startswith("+") and (len(s) == 1 or s[1] in "-="))


# --------------------------------------------------------------------------- detectors
# Each takes the cleaned lines and a start index and returns the end of its block, None, or a Miss.



def _smi_xml(lines: List[str], i: int) -> Optional[int]:
    line = lines[i]
    if "<?xml" not in line and "<nvidia_smi_log" not in line:
        return None
    if "<?xml" in line:  # the declaration alone is not enough: the document must follow soon
        if not any("<nvidia_smi_log" in lines[k] or "<!DOCTYPE nvidia_smi_log" in lines[k]
                   for k in range(i, min(len(lines), i + 4))):
            return None
    for j in range(i, len(lines)):
        if "</nvidia_smi_log>" in lines[j]:
            return j + 1
    return len(lines)


def _smi_q(lines: List[str], i: int) -> Optional[int]:
    if not _NVSMI_LOG.match(lines[i]):
        return None
    j = i + 1
    n = len(lines)
    while j < n:
        line = lines[j]
        if not line.strip():
            j += 1
            continue
        if _FENCE.match(line):
            break
        if is_q_key(line) or _Q_GPU.match(line) or _Q_SECTION.match(line):
            j += 1
            continue
        break
    while j > i + 1 and not lines[j - 1].strip():
        j -= 1
    return j


def _smi_table(lines: List[str], i: int) -> "Optional[int | Miss]":
    line = lines[i]
    header = "NVIDIA-SMI" in line and SMI_HEADER.search(line) is not None
    if not header and not is_table_line(line):
        return None
    n = len(lines)
    j = i + 1
    while j < n:
        s = lines[j]
        if is_table_line(s) or ("NVIDIA-SMI" in s and SMI_HEADER.search(s)):
            j += 1
            continue
        if not s.strip() and j + 1 < n and is_table_line(lines[j + 1]):
            j += 1
            continue
        break
    block = lines[i:j]
    if header or any(("NVIDIA-SMI" in b and SMI_HEADER.search(b)) or SMI_GPU_ROW.match(b.strip())
                     or "Processes:" in b or "MIG devices:" in b for b in block):
        return j
    return Miss(j)  # every later start in the run reads the same rows, less some: none of them is nvidia-smi's


def _ce_line_kind(line: str, in_cpu: bool, first_in_cpu: bool) -> str:
    """known | lib | cont | cpu | blank | other"""
    if not line.strip() or _CE_RULE.match(line):
        return "blank"
    if ce_key(line) is not None or line.strip().startswith("Collecting environment information"):
        return "known"
    if _CE_LIB.match(line):
        return "lib"
    if _CE_CONT.match(line) or _CE_ENV.match(line):
        return "cont"
    if in_cpu and (_KV.match(line) or _WMIC.match(line) or first_in_cpu):
        return "cpu"
    return "other"


def _collect_env(lines: List[str], i: int) -> Optional[int]:
    canonical = _CE_START.match(lines[i]) is not None
    if not canonical and ce_key(lines[i]) is None:
        return None
    n = len(lines)
    j = i
    last = i
    in_cpu = False
    first_in_cpu = False
    in_topology = False
    known = 0
    while j < n:
        line = lines[j]
        if _FENCE.match(line):
            break
        kind = _ce_line_kind(line, in_cpu, first_in_cpu)
        first_in_cpu = False
        if kind == "known":
            key = ce_key(line)
            name = key[0] if key else ""
            in_cpu = name == "CPU"
            first_in_cpu = in_cpu and not key[1].strip()
            in_topology = name == "GPU Topology"
            if name == "Versions of relevant libraries":
                in_cpu = False
            known += 1
        elif in_topology and kind == "other" and _CE_TOPO.search(line):
            kind = "cont"
        if kind in ("known", "lib", "cont", "cpu"):
            last = j
            j += 1
            continue
        if kind == "blank":
            j += 1
            continue
        # an unknown line: keep going only when a known line follows within two lines (wrapped values,
        # vLLM's section titles)
        ahead = [lines[k] for k in range(j + 1, min(n, j + 3))]
        if any(_ce_line_kind(a, in_cpu, False) in ("known", "lib") for a in ahead):
            j += 1
            continue
        break
    libs = any(_CE_LIB.match(l) for l in lines[i:last + 1])
    if canonical and known < 2 and not libs:
        return None
    if not canonical and known < 3:  # a paste cut at its start: several of collect_env's own keys
        return None
    return last + 1


def _conda_info(lines: List[str], i: int) -> "Optional[int | Miss]":
    if not _CONDA_INFO_KEY.match(lines[i]) and not lines[i].strip().startswith("Current conda install"):
        return None
    n = len(lines)
    j = i + 1
    last = i
    keys = 1 if _CONDA_INFO_KEY.match(lines[i]) else 0
    while j < n:
        line = lines[j]
        if _CONDA_INFO_KEY.match(line):
            keys += 1
            last = j
        elif _CONDA_INFO_CONT.match(line) or (_KV.match(line) and " : " in line):
            last = j
        elif not line.strip() and j + 1 < n and _CONDA_INFO_KEY.match(lines[j + 1]):
            pass
        else:
            break
        j += 1
    return last + 1 if keys >= 2 else Miss(j)  # a later start in the run counts fewer keys


def _conda_list(lines: List[str], i: int) -> Optional[int]:
    if not _CONDA_LIST_START.match(lines[i]):
        return None
    n = len(lines)
    j = i + 1
    while j < n:
        line = lines[j]
        s = line.strip()
        if s.startswith("#") or _CONDA_ROW.match(line) or _CONDA_EXPORT_ROW.match(line):
            j += 1
            continue
        break
    return j


def _pip_list(lines: List[str], i: int) -> Optional[int]:
    if not _PIP_HEADER.match(lines[i]) or i + 1 >= len(lines) or not _PIP_RULE.match(lines[i + 1]):
        return None
    j = i + 2
    while j < len(lines) and _PIP_ROW.match(lines[j]):
        j += 1
    return j


def _conda_config(lines: List[str], i: int) -> Optional[int]:
    if not _CONDA_CONFIG_KEY.match(lines[i]):
        return None
    n = len(lines)
    j = i + 1
    last = i
    while j < n:
        line = lines[j]
        if _FENCE.match(line):
            break
        if _YAML_CONT.match(line) and not _PIP_RULE.match(line):
            last = j
            j += 1
            continue
        if not line.strip() and j + 1 < n and _YAML_CONT.match(lines[j + 1]) and lines[j + 1].strip():
            j += 1
            continue
        break
    return last + 1


def _nvcc(lines: List[str], i: int) -> Optional[int]:
    if not _NVCC_START.search(lines[i]):
        return None
    j = i + 1
    while j < len(lines) and j < i + 6 and _NVCC_CONT.match(lines[j]):
        j += 1
    return j


def csv_cells(line: str) -> List[str]:
    return [c.strip() for c in line.split(",")]


def csv_header(line: str) -> Optional[List[str]]:
    """The field names of a ``--query-gpu`` CSV header line, or None."""
    if "," not in line:
        return None
    cells = csv_cells(line)
    if len(cells) < 2 or not all(_CSV_FIELD.match(c) for c in cells):
        return None
    names = [c.split("[")[0].strip() for c in cells]
    if not any(name in CSV_GPU_FIELDS for name in names):
        return None
    return names


def looks_like_gpu_csv_row(line: str) -> bool:
    """A ``--format=csv,noheader`` row: a GPU name or UUID beside a driver version, MiB or bus id."""
    if line.count(",") < 1 or len(line) > 2000:
        return False
    cells = csv_cells(line)
    named = any(GPU_NAME_HINT.search(c) or c.startswith("GPU-") for c in cells)
    if not named:
        return False
    return any(_DRIVER_CELL.match(c) or c.endswith("MiB") or re.fullmatch(BUS_ID, c) or c.startswith("GPU-")
               or re.fullmatch(r"\d+", c) for c in cells)


def _smi_csv(lines: List[str], i: int) -> Optional[int]:
    line = lines[i].strip()
    header = csv_header(line)
    n = len(lines)
    if header is not None:
        width = len(header)
        j = i + 1
        while j < n and lines[j].strip() and len(csv_cells(lines[j])) == width:
            j += 1
        return j
    if not looks_like_gpu_csv_row(line):
        return None
    width = len(csv_cells(line))
    if width < 2:
        return None
    j = i + 1
    while j < n and lines[j].strip() and len(csv_cells(lines[j])) == width:
        j += 1
    return j


def _pip_freeze(lines: List[str], i: int) -> Optional[int]:
    if not _FREEZE_ROW.match(lines[i]):
        return None
    j = i + 1
    while j < len(lines) and _FREEZE_ROW.match(lines[j]):
        j += 1
    return j if j - i >= 2 else None


def _headerless_list(lines: List[str], i: int) -> Optional[Tuple[str, int]]:
    """Rows of ``pip list`` / ``conda list`` pasted without their header: two or more of them."""
    if not _HEADERLESS_ROW.match(lines[i]):
        return None
    j = i + 1
    while j < len(lines) and _HEADERLESS_ROW.match(lines[j]):
        j += 1
    if j - i < 2:
        return None
    three = 0
    pathlike = 0
    for k in range(i, j):
        cells = lines[k].split()
        if len(cells) >= 3:
            three += 1
            if cells[2][:1] in "/\\~" or re.match(r"^[A-Za-z]:\\", cells[2]):
                pathlike += 1  # pip list's editable-location column
    kind = "conda-list" if three > (j - i) / 2 and pathlike < three / 2 else "pip-list"
    return kind, j


Detector = Callable[[List[str], int], "Optional[int | Miss]"]

#: a GPU's name in a CSV row (GPU_NAME_HINT, lower-cased: "A100" as "a" and a digit)
_GPU_WORDS = ("gpu-", "nvidia", "geforce", "tesla", "quadro", "titan", "rtx", "gtx", "v100", "p100", "t4", "b200") \
    + tuple(f"{letter}{digit}" for letter in ("a", "h", "l", "gb") for digit in range(10))

#: (kind, detector, its gate: what every line where a block of that kind starts holds; see :mod:`.gates`)
DETECTORS: Tuple[Tuple[str, Detector, Gate], ...] = (
    ("smi-xml", _smi_xml, Gate(words=("<?xml", "<nvidia_smi_log"))),
    ("smi-q", _smi_q, Gate(words=("nvsmi log",))),
    ("smi-table", _smi_table, Gate(words=("nvidia-smi",), start=r"\||\+(?:[-=]|$)")),
    ("collect-env", _collect_env, Gate(start=r"(?i:collecting environment information|" + _CE_ALTERNATION + ")")),
    ("conda-info", _conda_info, Gate(start=r"Current conda install|(?i:" + _CONDA_INFO_KEYS + ")")),
    ("env-report", env_report.detect, env_report.GATE),
    ("conda-plan", conda_plan.detect, conda_plan.GATE),
    ("conda-list", _conda_list, Gate(start=r"(?i:#?[ \t]*(?:packages in environment at|Name\s+Version\s+Build|platform:))")),
    ("pip-list", _pip_list, Gate(start=r"Package\s+Version")),
    ("pip-log", pip_log.detect, pip_log.GATE),
    ("pip-show", pip_log.detect_show, pip_log.SHOW_GATE),
    ("conda-config", _conda_config, Gate(start=r"(?:remote_|" + alternation(_CONDA_CONFIG_KEYS) + ")")),
    ("nvcc", _nvcc, Gate(words=("vcc: nvidia (r) cuda compiler driver", "cuda compilation tools, release "))),
    ("smi-list", smi_list.detect, smi_list.GATE),
    # a header's first cell is a field name; a row names a GPU or its UUID
    ("smi-csv", _smi_csv, Gate(words=_GPU_WORDS, start=r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*(?:\s*\[[^\]]*\])?\s*,")),
    ("ldd", ldd.detect, ldd.GATE),
    ("env-vars", env_vars.detect, env_vars.GATE),
    ("torch-print", prints.detect, prints.GATE),
    ("install-cmd", install_cmd.detect, install_cmd.GATE),
    ("pip-freeze", _pip_freeze, Gate(words=("==", "@"), start=r"-e\s")),
)

#: tried after the detectors: rows of a list pasted without its header (see _headerless_list)
HEADERLESS_GATE = Gate(start=r"[A-Za-z0-9][\w.\-]*(?:\s{2,}|\t)\d")

#: tried after everything else, the headerless lists included: a line of prose that states facts
FALLBACK: Tuple[Tuple[str, Detector, Gate], ...] = (("facts", prose.detect, prose.GATE),)

#: every gate at once: a line none passes starts no block (most of a training log); a line some gate passes is
#: tried by every detector (testing each gate there costs more than the detectors' own first tests)
_ANY_GATE = GateSet.of([g for _kind, _detector, g in DETECTORS + FALLBACK] + [HEADERLESS_GATE])

#: longer lines are never part of a recognised output (they stay in the text searched for messages)
MAX_LINE = 2000

#: first characters a line may start with (after whitespace) for any detector but the generic ones
_INTERESTING = re.compile(r"[<=|+#\[A-Za-z0-9`*$>(\-%~./\\\"'!•]")


def detect(lines: Sequence[str], input_name: str = "<input>") -> List[Block]:
    """The typed blocks of cleaned ``lines``, in order; every line belongs to exactly one block."""
    blocks: List[Block] = []
    long_lines = {i for i, line in enumerate(lines) if len(line) > MAX_LINE}
    lines = [line[:MAX_LINE] for line in lines]
    n = len(lines)
    log_start: Optional[int] = None
    i = 0

    def close_log(upto: int) -> None:
        nonlocal log_start
        if log_start is not None and upto > log_start:
            blocks.append(Block("log", input_name, log_start, upto, lines[log_start:upto]))
        log_start = None

    #: detector kind -> the line before which it said no block of its kind starts (see Miss)
    skip: Dict[str, int] = {}
    candidates = _ANY_GATE.candidates(lines)
    while i < n:
        line = lines[i]
        stripped = line.lstrip()
        found: Optional[Tuple[str, int]] = None
        if i in candidates and stripped and i not in long_lines and _INTERESTING.match(stripped) \
                and not _FENCE.match(line):
            for kind, detector, _gate in DETECTORS:
                if skip.get(kind, 0) > i:
                    continue
                end = detector(lines, i)
                if isinstance(end, Miss):
                    skip[kind] = end.until
                    continue
                if end is not None and end > i:
                    found = (kind, end)
                    break
            if found is None:
                found = _headerless_list(lines, i)
            if found is None:
                for kind, detector, _gate in FALLBACK:
                    end = detector(lines, i)
                    if end is not None and end > i:
                        found = (kind, end)
                        break
        if found is None:
            if log_start is None:
                log_start = i
            i += 1
            continue
        close_log(i)
        kind, end = found
        blocks.append(Block(kind, input_name, i, end, lines[i:end]))
        i = end
    close_log(n)
    return blocks
