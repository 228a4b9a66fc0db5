"""The plain ``nvidia-smi`` table, of every driver era.

Layouts handled: the narrow pre-R530 table (``GPU  Name        Persistence-M|``), the R530-R570
wide ones, R580's (a ``+---`` rule under the header), Windows (``TCC/WDDM`` column and ``WDDM``/``TCC``
in the GPU row), the 2014-era table without a CUDA version, MIG device tables, process tables, a
header pasted alone (even outside the box), rows pasted without their header, truncated names
(``NVIDIA GeForce ...``) and ``N/A`` / ``ERR!`` cells. The layout is never assumed from the driver
version: cells are found by splitting on ``|`` and recognised by content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..snapshot import Driver, Gpu, GpuProcess
from .detect import BUS_ID, SMI_GPU_ROW, SMI_HEADER

_MODES = ("On", "Off", "N/A", "WDDM", "TCC", "MCDM")
_BUS = re.compile(r"(" + BUS_ID + r")(?:\s+(On|Off|N/A))?")
_MEMORY = re.compile(r"(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")
_POWER = re.compile(r"(ERR!|N/A|\d+(?:\.\d+)?W)\s*/\s*(ERR!|N/A|\d+(?:\.\d+)?W)")
_TEMP = re.compile(r"(?<![\w.])(\d+)C\b")
_FAN = re.compile(r"^\s*(\d+%|N/A|ERR!)")
_PERF = re.compile(r"\b(P\d{1,2})\b")
_UTIL = re.compile(r"(\d+|N/A|ERR!)%?\s+(Default|E\. Process|E\. Thread|Prohibited|Exclusive_Process|N/A)\b")
_MIG_CELL = re.compile(r"^\s*(Enabled|Disabled|N/A|ERR!)\s*$")
_PROCESS_TYPE = re.compile(r"^[CGM](?:\+[CGM])?$")
_MEMORY_CELL = re.compile(r"^(?:\d+MiB|N/A)$")
_MIG_ROW = re.compile(r"^\|\s*(\d+)\s+(\d+|N/A)\s+(\d+|N/A)\s+(\d+)\s+\|\s*(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")
_NA = {"N/A", "ERR!", "", "[N/A]", "Unknown Error"}


@dataclass
class SmiTable:
    driver: Driver = field(default_factory=Driver)
    #: nvidia-smi's own version (the NVML library), from the header
    smi_version: Optional[str] = None
    #: "CUDA Version: ERR!" and the like: the header said something that is not a version
    cuda_raw: Optional[str] = None
    gpus: List[Gpu] = field(default_factory=list)
    #: the table's layout told us it runs on Windows (TCC/WDDM column or row)
    windows: bool = False
    #: MIG instances per GPU index, from the "MIG devices" table
    mig_instances: Dict[int, int] = field(default_factory=dict)
    header_only: bool = False


def _value(cell: Optional[str]) -> Optional[str]:
    if cell is None:
        return None
    text = " ".join(cell.split())
    return None if text in _NA else text


def _watts(text: str) -> Optional[float]:
    if not text or not text.endswith("W"):
        return None
    try:
        return float(text[:-1])
    except ValueError:
        return None


def _version(text: Optional[str]) -> Optional[str]:
    """A driver / CUDA version cell, or None for "N/A", "ERR!" and other non-versions."""
    if not text:
        return None
    text = text.strip().strip("|").strip()
    return text if re.fullmatch(r"\d+(?:\.\d+)+", text) else None


def _cells(line: str) -> List[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|"):
        s = s[:-1]
    return s.split("|")


def parse(lines: Sequence[str]) -> SmiTable:
    """Facts from an ``nvidia-smi`` table (or any part of one); never raises."""
    table = SmiTable()
    current: Optional[Gpu] = None
    row_in_gpu = 0
    section = "gpus"
    seen_mig: set = set()
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if "NVIDIA-SMI" in line:
            m = SMI_HEADER.search(line)
            if m:
                section, current = "gpus", None
                table.smi_version = _version(m.group("smi")) or table.smi_version
                table.driver.version = _version(m.group("driver")) or table.driver.version
                cuda = m.group("cuda")
                if cuda is not None:
                    table.cuda_raw = cuda
                    table.driver.cuda_version = _version(cuda) or table.driver.cuda_version
                continue
        if "TCC/WDDM" in line:
            table.windows = True
        if "Persistence-M" in line or "Driver-Model" in line or "TCC/WDDM" in line:
            section = "gpus"  # a GPU table's header: a MIG or process table pasted before it has ended
            current = None
            continue
        if "Processes:" in line:
            section = "processes"
            current = None
            continue
        if "MIG devices:" in line:
            section = "mig"
            current = None
            continue
        if not line.startswith("|"):
            if line.startswith("+"):
                current = None  # a rule ends the GPU's rows
            continue
        if section in ("mig", "processes") and SMI_GPU_ROW.match(line):
            section = "gpus"  # GPU rows pasted without their header after a MIG or process table
        if section == "processes":
            _process_row(table, line)
            continue
        if section == "mig":
            m = _MIG_ROW.match(line)
            if m and m.group(1, 2, 3, 4) not in seen_mig:  # the same table pasted twice counts once
                seen_mig.add(m.group(1, 2, 3, 4))
                gpu_index = int(m.group(1))
                table.mig_instances[gpu_index] = table.mig_instances.get(gpu_index, 0) + 1
            continue
        m = SMI_GPU_ROW.match(line)
        if m or (current is None and _cut_gpu_row(line)):
            current = _first_row(table, line)
            row_in_gpu = 1
            continue
        if current is None:
            continue
        cells = _cells(line)
        if row_in_gpu == 1:
            _second_row(current, cells)
            row_in_gpu = 2
        elif row_in_gpu == 2:
            if len(cells) >= 3:
                mig = _MIG_CELL.match(cells[-1])
                if mig and not cells[0].strip():
                    current.mig_mode = _value(mig.group(1))
            row_in_gpu = 3
    table.header_only = not table.gpus and table.driver.version is not None
    for gpu in table.gpus:
        if gpu.index in table.mig_instances:
            gpu.mig_devices = table.mig_instances[gpu.index]
    return table


def _cut_gpu_row(line: str) -> bool:
    """A GPU's first row whose bus id was cut off ("|   0  NVIDIA GeForce RTX 4090      WDDM  |   0000000")."""
    cells = _cells(line)
    words = cells[0].split() if cells else []
    return len(cells) >= 2 and len(words) >= 3 and words[0].isdigit() and words[-1] in _MODES and \
        not any(w.endswith("MiB") for w in words)


def _first_row(table: SmiTable, line: str) -> Gpu:
    cells = _cells(line)
    left = cells[0] if cells else ""
    m = re.match(r"^\s*(\d+)\s+(.*)$", left)
    index = int(m.group(1)) if m else len(table.gpus)
    rest = m.group(2) if m else ""
    words = rest.split()
    mode = words[-1] if words and words[-1] in _MODES else None
    name = " ".join(words[:-1] if mode else words)
    gpu = Gpu(index=index, name=name or None)
    if mode in ("WDDM", "TCC", "MCDM"):
        gpu.driver_model = mode
        table.windows = True
    elif mode in ("On", "Off"):
        gpu.persistence_mode = "Enabled" if mode == "On" else "Disabled"
    if len(cells) > 1:
        bus = _BUS.search(cells[1])
        if bus:
            gpu.bus_id = bus.group(1)
    if len(cells) > 2:
        ecc = cells[2].strip()
        if ecc.isdigit():
            gpu.ecc_uncorrected_volatile = int(ecc)
    # the same GPU seen twice (two tables pasted) keeps its first row
    if not any(g.index == gpu.index and g.bus_id == gpu.bus_id for g in table.gpus):
        table.gpus.append(gpu)
    return gpu


def _second_row(gpu: Gpu, cells: List[str]) -> None:
    if not cells:
        return
    left = cells[0]
    temp = _TEMP.search(left)
    if temp:
        gpu.temperature_c = float(temp.group(1))
    power = _POWER.search(left)
    if power:
        gpu.power_draw_w = _watts(power.group(1))
        gpu.power_limit_w = _watts(power.group(2))
    if len(cells) > 1:
        memory = _MEMORY.search(cells[1])
        if memory:
            gpu.memory_used_mib = int(memory.group(1))
            gpu.memory_total_mib = int(memory.group(2))
    if len(cells) > 2:
        util = _UTIL.search(cells[2])
        if util:
            gpu.compute_mode = _value(util.group(2))


def _process_row(table: SmiTable, line: str) -> None:
    """A process row: "| GPU GI CI PID Type Name Memory |" (R450+) or "| GPU PID Type Name Memory |"."""
    words = line.strip().strip("|").split()
    if len(words) < 5 or not words[0].isdigit() or not _MEMORY_CELL.match(words[-1]):
        return
    if len(words) >= 7 and _PROCESS_TYPE.match(words[4]) and words[3].isdigit():
        gpu_index, pid, kind, name = int(words[0]), int(words[3]), words[4], " ".join(words[5:-1])
    elif _PROCESS_TYPE.match(words[2]) and words[1].isdigit():
        gpu_index, pid, kind, name = int(words[0]), int(words[1]), words[2], " ".join(words[3:-1])
    else:
        return
    memory = words[-1]
    used = int(memory[:-3]) if memory.endswith("MiB") else None
    for gpu in table.gpus:
        if gpu.index == gpu_index:
            gpu.processes.append(GpuProcess(pid=pid, name=name.strip() or None, used_memory_mib=used, type=kind))
            return
