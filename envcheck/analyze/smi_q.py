"""``nvidia-smi -q`` (text), ``-q -x`` (XML) and ``--query-gpu`` CSV, pasted.

The XML goes through the doctor's own parser (:func:`envcheck.probes.nvidia.parse_smi_xml`) and the
CSV through :func:`envcheck.probes.nvidia.parse_query_csv`; the text form of ``-q`` has no parser in
the probe (doctor reads the XML), so it is read here into the same :class:`Gpu` fields, with the
same normalisation (clock-event reasons as ``hw_thermal_slowdown``, sizes in MiB, "N/A" as unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..probes.nvidia import _clean, _int, _number, _yes_no, leading_version, parse_query_csv, parse_smi_xml
from ..snapshot import Driver, Gpu, GpuProcess
from ..versions import capability, capability_str
from .detect import BUS_ID, CSV_GPU_FIELDS, GPU_NAME_HINT, csv_cells, csv_header

_NAME = re.compile(r"[A-Za-z][\w .()/+\-]*")
_GPU = re.compile(r"^\s*GPU\s+(" + BUS_ID + r")\s*$")
#: -q's clock-event reason labels that differ from the XML's tag names
_REASONS = {"idle": "gpu_idle", "hw power brake slowdown": "hw_power_brake_slowdown"}
#: the bits of clocks_event_reasons.active (nvidia-smi --help-query-gpu)
_REASON_BITS = ((0x1, "gpu_idle"), (0x2, "applications_clocks_setting"), (0x4, "sw_power_cap"),
                (0x8, "hw_slowdown"), (0x10, "sync_boost"), (0x20, "sw_thermal_slowdown"),
                (0x40, "hw_thermal_slowdown"), (0x80, "hw_power_brake_slowdown"),
                (0x100, "display_clock_setting"))


@dataclass
class _Node:
    key: str
    value: Optional[str] = None
    children: List["_Node"] = field(default_factory=list)

    def get(self, *path: str) -> Optional["_Node"]:
        node: Optional[_Node] = self
        for part in path:
            if node is None:
                return None
            node = next((c for c in node.children if c.key.lower() == part.lower()), None)
        return node

    def text(self, *path: str) -> Optional[str]:
        node = self.get(*path)
        return _clean(node.value) if node is not None and node.value is not None else None

    def first(self, *paths: Tuple[str, ...]) -> Optional[str]:
        for path in paths:
            value = self.text(*path)
            if value is not None:
                return value
        return None


def _key_value(line: str) -> Optional[Tuple[int, str, Optional[str]]]:
    """(indent, key, value) of a "Key   : value" line, (indent, key, None) of a section line, or None."""
    text = line.expandtabs(4)
    indent = len(text) - len(text.lstrip())
    colon = text.find(" :")
    if colon > 0:
        key = text[:colon].strip()
        value: Optional[str] = text[colon + 2:].strip()
    else:
        key, value = text.strip(), None
    if not key or not _NAME.fullmatch(key):
        return None
    return indent, key, value


def _tree(lines: Sequence[str]) -> Tuple[_Node, List[Tuple[str, _Node]]]:
    """The -q text as a tree by indentation: the top level and each "GPU <bus id>" section."""
    root = _Node("")
    gpus: List[Tuple[str, _Node]] = []
    stack: List[Tuple[int, _Node]] = [(-1, root)]
    for line in lines:
        if not line.strip() or "NVSMI LOG" in line:
            continue
        gpu = _GPU.match(line)
        if gpu:
            node = _Node("GPU", gpu.group(1))
            gpus.append((gpu.group(1), node))
            stack = [(-1, root), (len(line) - len(line.lstrip()), node)]
            continue
        parsed = _key_value(line)
        if parsed is None:
            continue
        indent, key, value = parsed
        node = _Node(key, value)
        while len(stack) > 1 and stack[-1][0] >= indent:
            stack.pop()
        stack[-1][1].children.append(node)
        stack.append((indent, node))
    return root, gpus


def parse_text(lines: Sequence[str]) -> Tuple[Driver, List[Gpu]]:
    """Driver and GPUs from ``nvidia-smi -q`` text (any part of it); never raises."""
    root, sections = _tree(lines)
    # R610+ print "KMD Version" / "CUDA UMD Version" and mark the old keys deprecated (or drop them)
    driver = Driver(version=_version(root.first(("KMD Version",), ("Driver Version",))),
                    cuda_version=_version(root.first(("CUDA UMD Version",), ("CUDA Version",))))
    gpus = [_gpu(node, bus_id, position) for position, (bus_id, node) in enumerate(sections)]
    return driver, gpus


def _version(text: Optional[str]) -> Optional[str]:
    """"610.43.02", or the version before a note ("13.3 [Deprecated; ...]"); None for anything else."""
    return leading_version(text)


def _ecc(block: Optional[_Node]) -> Optional[int]:
    if block is None:
        return None
    parts = [c for c in block.children if c.key.lower() == "dram uncorrectable"
             or c.key.lower().startswith("sram uncorrectable")]
    if not parts:
        return _int(block.text("Double Bit", "Total"))
    known = [v for v in (_int(_clean(c.value)) for c in parts) if v is not None]
    return sum(known) if known else None


def _reasons(node: _Node) -> List[str]:
    block = node.get("Clocks Event Reasons") or node.get("Clocks Throttle Reasons")
    active: List[str] = []
    if block is None:
        return active

    def walk(n: _Node) -> None:
        for child in n.children:
            if (child.value or "").strip().lower() == "active":
                label = child.key.strip().lower()
                name = _REASONS.get(label, label.replace(" ", "_"))
                if name not in active:
                    active.append(name)
            walk(child)

    walk(block)
    return active


def _gpu(node: _Node, bus_id: str, position: int) -> Gpu:
    power = node.get("GPU Power Readings") or node.get("Power Readings")
    link = node.get("PCI", "GPU Link Info")
    ecc = node.get("ECC Errors")
    processes = []
    proc_block = node.get("Processes")
    if proc_block is not None:
        pid: Optional[int] = None
        info: Dict[str, Optional[str]] = {}
        for child in proc_block.children + [_Node("Process ID", None)]:
            if child.key.lower() == "process id":
                if pid is not None:
                    processes.append(GpuProcess(pid=pid, name=info.get("name"), type=info.get("type"),
                                                used_memory_mib=_int(info.get("used gpu memory"))))
                pid, info = _int(_clean(child.value)), {}
                for sub in child.children:
                    info[sub.key.lower()] = _clean(sub.value)
    name = node.text("Product Name")
    return Gpu(
        index=position,
        name=name,
        uuid=node.text("GPU UUID"),
        bus_id=node.text("PCI", "Bus Id") or bus_id,
        architecture=node.text("Product Architecture"),
        memory_total_mib=_int(node.text("FB Memory Usage", "Total")),
        memory_used_mib=_int(node.text("FB Memory Usage", "Used")),
        persistence_mode=node.text("Persistence Mode"),
        mig_mode=node.text("MIG Mode", "Current"),
        mig_devices=len([c for c in (node.get("MIG Devices") or _Node("")).children if c.key.lower() == "mig device"]),
        ecc_mode=node.text("ECC Mode", "Current"),
        ecc_uncorrected_volatile=_ecc(ecc.get("Volatile") if ecc else None),
        ecc_uncorrected_aggregate=_ecc(ecc.get("Aggregate") if ecc else None),
        remapped_rows_pending=_yes_no(node.text("Remapped Rows", "Pending")),
        remapped_rows_failure=_yes_no(node.text("Remapped Rows", "Remapping Failure Occurred")),
        retired_pages_pending=_yes_no(node.first(("Retired Pages", "Pending Page Blacklist"),
                                                 ("Retired Pages", "Pending Page Retirement"))),
        clock_event_reasons=_reasons(node),
        pcie_gen_current=_int(link.text("PCIe Generation", "Current")) if link else None,
        pcie_gen_max=_int(link.text("PCIe Generation", "Max")) if link else None,
        pcie_width_current=_int(link.text("Link Width", "Current")) if link else None,
        pcie_width_max=_int(link.text("Link Width", "Max")) if link else None,
        temperature_c=_number(node.text("Temperature", "GPU Current Temp")),
        power_draw_w=_number(power.first(("Power Draw",), ("Average Power Draw",), ("Instantaneous Power Draw",)))
        if power else None,
        power_limit_w=_number(power.first(("Current Power Limit",), ("Enforced Power Limit",), ("Power Limit",)))
        if power else None,
        power_limit_default_w=_number(power.text("Default Power Limit")) if power else None,
        sm_clock_mhz=_int(node.text("Clocks", "SM")),
        sm_clock_max_mhz=_int(node.text("Max Clocks", "SM")),
        compute_mode=node.text("Compute Mode"),
        driver_model=node.text("Driver Model", "Current"),
        processes=processes,
    )


def parse_xml(text: str) -> Tuple[Driver, List[Gpu]]:
    """``nvidia-smi -q -x``: the doctor's parser; (empty driver, []) when it is not readable XML."""
    try:
        return parse_smi_xml(text)
    except (ValueError, RecursionError):
        return Driver(), []


# --------------------------------------------------------------------------- --query-gpu CSV

_ALIASES = {"gpu_name": "name", "gpu_uuid": "uuid", "gpu_bus_id": "pci.bus_id",
            "clocks_throttle_reasons.active": "clocks_event_reasons.active"}
_DRIVER = re.compile(r"^\d{3}\.\d{2,3}(?:\.\d{2})?$")


def _guess_fields(cells: List[str]) -> List[str]:
    """Field names for a header-less CSV row, from what each value looks like."""
    names: List[str] = []
    memories = []
    for position, cell in enumerate(cells):
        value = cell.strip()
        name = "?"
        if position == 0 and re.fullmatch(r"\d{1,3}", value):
            name = "index"
        elif value.startswith("GPU-"):
            name = "uuid"
        elif re.fullmatch(BUS_ID, value):
            name = "pci.bus_id"
        elif _DRIVER.match(value):
            name = "driver_version"
        elif re.fullmatch(r"\d{1,2}\.\d", value):
            name = "compute_cap"
        elif re.fullmatch(r"\d{3,7}(?:\s*MiB)?", value):
            name = "memory"
            memories.append(position)
        elif GPU_NAME_HINT.search(value) and "name" not in names:
            name = "name"
        names.append(name)
    if memories:  # one size is the total; with two, the larger one
        values = [int(re.sub(r"\D", "", cells[p])) for p in memories]
        for position, value in zip(memories, values):
            names[position] = "memory.total" if value == max(values) else "memory.used"
        if len(memories) == 2 and values[0] == values[1]:
            names[memories[0]], names[memories[1]] = "memory.total", "memory.used"
    return [n if n != "?" else f"?{i}" for i, n in enumerate(names)]


def parse_csv(lines: Sequence[str]) -> Tuple[Driver, List[Gpu]]:
    """``--query-gpu`` CSV with or without header and units; never raises."""
    rows = [l for l in lines if l.strip()]
    if not rows:
        return Driver(), []
    header = csv_header(rows[0].strip())
    if header is not None:
        fields = [_ALIASES.get(f, f) for f in header]
        rows = rows[1:]  # the header: parse_query_csv gets the field names instead
    else:
        fields = _guess_fields(csv_cells(rows[0]))
    text = "\n".join(rows)
    try:
        parsed = parse_query_csv(text, fields)
    except ValueError:
        return Driver(), []
    driver = Driver()
    gpus: List[Gpu] = []
    for position, row in enumerate(parsed):
        index = _int(row.get("index"))
        gpu = Gpu(index=position if index is None else index, name=row.get("name"), uuid=row.get("uuid"),
                  bus_id=row.get("pci.bus_id"), memory_total_mib=_int(row.get("memory.total")),
                  memory_used_mib=_int(row.get("memory.used")), mig_mode=row.get("mig.mode.current"),
                  persistence_mode=row.get("persistence_mode"),
                  pcie_gen_current=_int(row.get("pcie.link.gen.current")), pcie_gen_max=_int(row.get("pcie.link.gen.max")),
                  pcie_width_current=_int(row.get("pcie.link.width.current")),
                  pcie_width_max=_int(row.get("pcie.link.width.max")),
                  ecc_uncorrected_volatile=_int(row.get("ecc.errors.uncorrected.volatile.total")),
                  temperature_c=_number(row.get("temperature.gpu")), power_draw_w=_number(row.get("power.draw")),
                  power_limit_w=_number(row.get("power.limit")), compute_mode=row.get("compute_mode"),
                  driver_model=row.get("driver_model.current"))
        cc = capability_str(capability(row.get("compute_cap"))) if row.get("compute_cap") else None
        if cc:
            gpu.compute_capability, gpu.compute_capability_source = cc, "nvidia-smi"
        reasons = row.get("clocks_event_reasons.active")
        if reasons:
            try:
                bits = int(reasons, 16)
            except ValueError:
                bits = 0
            gpu.clock_event_reasons = [name for bit, name in _REASON_BITS if bits & bit]
        version = _version(row.get("driver_version"))
        if version and driver.version is None:
            driver.version = version
        if gpu.name or gpu.uuid or gpu.bus_id or gpu.memory_total_mib is not None:
            gpus.append(gpu)
    return driver, gpus


__all__ = ["parse_text", "parse_xml", "parse_csv", "CSV_GPU_FIELDS"]
