"""The NVIDIA driver and GPU probe: what nvidia-smi, /proc and /sys say about the driver and the GPUs.

nvidia-smi is the only view of the driver that works without importing torch, but it is also the
first thing to break (driver not loaded, library mismatch, hung in the kernel), so the probe also
reads /proc/driver/nvidia/version and scans /sys for NVIDIA PCI functions: "GPU present, driver not
loaded" and "no NVIDIA GPU at all" stay distinguishable when nvidia-smi says nothing. Facts only;
rules judge them.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..knowledge import Knowledge, KnowledgeError
from ..runner import KILL_GRACE_S, CommandResult, run_parallel, unrunnable, unrunnable_file, which
from ..snapshot import Driver, Gpu, GpuProcess, PciDevice, ProbeIssue
from ..versions import capability, capability_str
from . import ProbeContext, issue_from, read_text, scan_pci_display

PROBE_NAME = "nvidia-smi"
CSV_FORMAT = "--format=csv,noheader,nounits"
#: the XML has no compute capability; this query adds it (drivers before ~510 reject the field)
CC_FIELDS = ["index", "uuid", "compute_cap"]
#: what we still learn when ``-q -x`` fails or prints junk
FALLBACK_FIELDS = ["index", "uuid", "name", "pci.bus_id", "driver_version", "memory.total",
                   "memory.used", "compute_cap", "mig.mode.current"]
#: where nvidia-smi lives when it is not on PATH (containers, WSL)
LINUX_SMI_DIRS = ("/usr/bin", "/usr/local/nvidia/bin", "/usr/lib/wsl/lib")
#: nvidia-smi's own words for the failures rules care about, checked in this order
FAILURE_PATTERNS: Tuple[Tuple[str, "re.Pattern[str]"], ...] = (
    ("no-driver-comm", re.compile(r"could(?:n't| not) communicate with the nvidia driver", re.I)),
    ("driver-library-mismatch", re.compile(r"driver/library version mismatch", re.I)),
    ("no-devices", re.compile(r"no devices were found", re.I)),
)
#: exit status 9 is nvidia-smi's "NVIDIA driver is not loaded"
EXIT_DRIVER_NOT_LOADED = 9
_NVML_VERSION = re.compile(r"NVML library version:\s*([0-9]+(?:\.[0-9]+)*)", re.I)
_DOTTED_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: a version, alone or before a note R610+ add ("13.3 [Deprecated; will be removed in CUDA 14.0 ...]")
_LEADING_VERSION = re.compile(r"([0-9]+(?:\.[0-9]+)+)(?:\s|\[|\(|$)")
#: values nvidia-smi prints when it does not know; anything in [brackets] is one too
_UNKNOWN = {"", "n/a", "not supported", "unknown error", "not available", "unknown",
            "requested functionality has been deprecated", "insufficient permissions"}
#: a short failure output is a message; the XML of a working nvidia-smi is always longer
_SHORT_OUTPUT = 2000
_MESSAGE_LIMIT = 600


# --------------------------------------------------------------------------- small value helpers


def _clean(text: Optional[str]) -> Optional[str]:
    """Whitespace-collapsed value, or None for nvidia-smi's "N/A", "[Unknown Error]", ...."""
    if text is None:
        return None
    value = " ".join(text.split())
    if value.lower() in _UNKNOWN or (value.startswith("[") and value.endswith("]")):
        return None
    return value


def _number(text: Optional[str]) -> Optional[float]:
    """"126.40 W" -> 126.4, "16x" -> 16.0, "41 C" -> 41.0; None when there is no number."""
    value = _clean(text)
    if value is None:
        return None
    match = _NUMBER.search(value)
    if not match:
        return None
    num = float(match.group(0))
    return num if math.isfinite(num) else None


def leading_version(text: Optional[str]) -> Optional[str]:
    """"610.43.02" -> "610.43.02"; "13.3 [Deprecated ...]" -> "13.3"; "N/A", "ERR!", "" -> None."""
    if not text:
        return None
    match = _LEADING_VERSION.match(text.strip())
    return match.group(1) if match else None


def _int(text: Optional[str]) -> Optional[int]:
    num = _number(text)
    return int(num) if num is not None else None


def _yes_no(text: Optional[str]) -> Optional[bool]:
    value = _clean(text)
    if value is None:
        return None
    return {"yes": True, "no": False}.get(value.lower())


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT].rstrip() + " ..."


def _text(node: Optional[ET.Element], path: str) -> Optional[str]:
    if node is None:
        return None
    found = node.find(path)
    return _clean(found.text) if found is not None else None


def _first(node: Optional[ET.Element], *paths: str) -> Optional[str]:
    for path in paths:
        value = _text(node, path)
        if value is not None:
            return value
    return None


def _child(node: ET.Element, *tags: str) -> Optional[ET.Element]:
    for tag in tags:
        found = node.find(tag)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- nvidia-smi -q -x


def parse_smi_xml(text: str) -> Tuple[Driver, List[Gpu]]:
    """Driver facts and GPUs from ``nvidia-smi -q -x``; ValueError when the text is not that XML.

    Leading noise (warnings some drivers print before the document) is skipped. Both the current
    element names and the pre-r530 ones (``clocks_throttle_reasons``, ``power_readings``,
    ``double_bit`` ECC counts) are read.
    """
    if not text or not text.strip():
        raise ValueError("empty output")
    start = text.find("<?xml")
    if start < 0:
        start = text.find("<nvidia_smi_log")
    if start < 0:
        raise ValueError("no nvidia_smi_log document in the output")
    body = text[start:]
    if "<!ENTITY" in body:  # nvidia-smi never declares entities; pasted text might
        raise ValueError("entity declarations are not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    if root.tag != "nvidia_smi_log":
        raise ValueError(f"root element is <{root.tag}>, not <nvidia_smi_log>")
    # R610 and later name them <kmd_version> and <cuda_umd_version> (the old elements deprecated, then gone)
    driver = Driver(version=leading_version(_first(root, "kmd_version", "driver_version")),
                    cuda_version=leading_version(_first(root, "cuda_umd_version", "cuda_version")))
    gpus = [_gpu_from_xml(node, position) for position, node in enumerate(root.findall("gpu"))]
    return driver, gpus


def _gpu_from_xml(node: ET.Element, position: int) -> Gpu:
    link = node.find("pci/pci_gpu_link_info")
    power = _child(node, "gpu_power_readings", "power_readings")
    ecc = node.find("ecc_errors")
    return Gpu(
        index=position,
        name=_text(node, "product_name"),
        uuid=_text(node, "uuid"),
        bus_id=_text(node, "pci/pci_bus_id") or _clean(node.get("id")),
        architecture=_text(node, "product_architecture"),
        memory_total_mib=_int(_text(node, "fb_memory_usage/total")),
        memory_used_mib=_int(_text(node, "fb_memory_usage/used")),
        persistence_mode=_text(node, "persistence_mode"),
        mig_mode=_text(node, "mig_mode/current_mig"),
        mig_devices=len(node.findall("mig_devices/mig_device")),
        ecc_mode=_text(node, "ecc_mode/current_ecc"),
        ecc_uncorrected_volatile=_ecc_uncorrected(ecc.find("volatile") if ecc is not None else None),
        ecc_uncorrected_aggregate=_ecc_uncorrected(ecc.find("aggregate") if ecc is not None else None),
        remapped_rows_pending=_yes_no(_text(node, "remapped_rows/remapped_row_pending")),
        remapped_rows_failure=_yes_no(_text(node, "remapped_rows/remapped_row_failure")),
        retired_pages_pending=_yes_no(_text(node, "retired_pages/pending_retirement")),
        clock_event_reasons=_clock_event_reasons(node),
        pcie_gen_current=_int(_text(link, "pcie_gen/current_link_gen")),
        pcie_gen_max=_int(_text(link, "pcie_gen/max_link_gen")),
        pcie_width_current=_int(_text(link, "link_widths/current_link_width")),
        pcie_width_max=_int(_text(link, "link_widths/max_link_width")),
        temperature_c=_number(_text(node, "temperature/gpu_temp")),
        # Ampere+ report a 1 s average as "power_draw"; r535+ split it into average and instant.
        power_draw_w=_number(_first(power, "power_draw", "average_power_draw", "instant_power_draw")),
        # "current" is what r530+ call the old "enforced" limit; "power_limit" is the requested one.
        power_limit_w=_number(_first(power, "current_power_limit", "enforced_power_limit", "power_limit")),
        power_limit_default_w=_number(_text(power, "default_power_limit")),
        sm_clock_mhz=_int(_text(node, "clocks/sm_clock")),
        sm_clock_max_mhz=_int(_text(node, "max_clocks/sm_clock")),
        compute_mode=_text(node, "compute_mode"),
        driver_model=_text(node, "driver_model/current_dm"),
        processes=[_process(p) for p in node.findall("processes/process_info")],
    )


def _ecc_uncorrected(block: Optional[ET.Element]) -> Optional[int]:
    """Uncorrectable ECC errors in a <volatile> or <aggregate> block, in either layout.

    Newer drivers count by location (dram_uncorrectable, sram_uncorrectable[_parity|_secded]);
    older ones by width (double_bit/total).
    """
    if block is None:
        return None
    parts = [child for child in block
             if child.tag == "dram_uncorrectable" or child.tag.startswith("sram_uncorrectable")]
    if not parts:
        return _int(_text(block, "double_bit/total"))
    known = [v for v in (_int(child.text) for child in parts) if v is not None]
    return sum(known) if known else None


_REASON_BLOCKS = (
    ("clocks_event_reasons", "clocks_event_reason_"),
    ("clocks_throttle_reasons", "clocks_throttle_reason_"),
)


def _clock_event_reasons(node: ET.Element) -> List[str]:
    """Active clock-event (throttle) reasons, by short name ("hw_thermal_slowdown")."""
    active: List[str] = []
    for block_tag, prefix in _REASON_BLOCKS:
        block = node.find(block_tag)
        if block is None:
            continue
        for child in block:
            value = _clean(child.text)
            if value is None or value.lower() != "active":
                continue
            name = child.tag[len(prefix):] if child.tag.startswith(prefix) else child.tag
            if name not in active:
                active.append(name)
    return active


def _process(node: ET.Element) -> GpuProcess:
    return GpuProcess(pid=_int(_text(node, "pid")), name=_text(node, "process_name"),
                      used_memory_mib=_int(_text(node, "used_memory")), type=_text(node, "type"))


# --------------------------------------------------------------------------- --query-gpu CSV


def parse_query_csv(text: str, fields: List[str]) -> List[Dict[str, Optional[str]]]:
    """Rows of ``--query-gpu=<fields> --format=csv[,noheader][,nounits]`` as dicts.

    "[N/A]"-style values become None; a header line is skipped (pasted output often has one).
    Raises ValueError when the text has content but no line with the expected number of columns.
    """
    rows: List[Dict[str, Optional[str]]] = []
    rejected = 0
    try:
        for cells in csv.reader(io.StringIO(text), skipinitialspace=True):
            cells = [c.strip() for c in cells]
            if not any(cells):
                continue
            if len(cells) != len(fields):
                rejected += 1
                continue
            if not rows and cells[0].split(" [")[0] == fields[0]:
                continue  # the header: "index, uuid, memory.total [MiB], ..."
            rows.append({f: _clean(c) for f, c in zip(fields, cells)})
    except csv.Error as exc:
        raise ValueError(f"not nvidia-smi CSV: {exc}") from exc
    if not rows and rejected:
        raise ValueError(f"no line has the {len(fields)} columns asked for ({', '.join(fields)})")
    return rows


# --------------------------------------------------------------------------- failures


def classify_smi_failure(result: CommandResult) -> Tuple[str, str]:
    """How an nvidia-smi run ended, as (Driver.status, the tool's own message trimmed).

    Returns ("ok", "") for a run that exited 0 with a normal amount of output; telling "garbage"
    apart needs a parse, which the caller does.
    """
    text = _trim(result.output)
    if result.not_found or (result.returncode == 127 and "not found" in text.lower()):
        return "not-found", text or result.describe()
    if result.not_executable:  # there, but refused (EACCES: a noexec mount; ENOEXEC): not "not found"
        return "error", result.describe()
    if result.timed_out:
        return "timeout", result.describe()
    if result.returncode == 0 and len(result.output) > _SHORT_OUTPUT:
        return "ok", ""
    for status, pattern in FAILURE_PATTERNS:
        if pattern.search(text):
            return status, text
    if result.returncode == 0 and not result.error:
        return "ok", ""
    if result.returncode == EXIT_DRIVER_NOT_LOADED:
        return "no-driver-comm", text or result.describe()
    return "error", text or result.describe()


def nvml_library_version(text: str) -> Optional[str]:
    """"NVML library version: 535.183" (printed with a driver/library mismatch) -> "535.183"."""
    match = _NVML_VERSION.search(text or "")
    return match.group(1) if match else None


# --------------------------------------------------------------------------- /proc and /sys


def parse_proc_version(text: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """/proc/driver/nvidia/version -> (kernel module version, "open" | "proprietary")."""
    if not text:
        return None, None
    line = next((ln for ln in text.splitlines() if "NVRM version" in ln), None)
    if line is None:
        return None, None
    version = next((tok for tok in line.split() if _DOTTED_TOKEN.fullmatch(tok)), None)
    if "open kernel module" in line.lower():
        kind: Optional[str] = "open"
    elif "kernel module" in line.lower():
        kind = "proprietary"
    else:
        kind = None
    return version, kind


def read_kernel_module(ctx: ProbeContext) -> Tuple[Optional[str], Optional[str]]:
    """The loaded nvidia.ko: /proc/driver/nvidia/version, else /sys/module/nvidia/version."""
    version, kind = parse_proc_version(read_text(ctx.path("/proc/driver/nvidia/version")))
    if version is None:
        sys_version = (read_text(ctx.path("/sys/module/nvidia/version")) or "").strip()
        if _DOTTED_TOKEN.fullmatch(sys_version):
            version = sys_version
    return version, kind


def scan_pci(ctx: ProbeContext) -> Tuple[List[PciDevice], bool]:
    """NVIDIA display/3D functions (vendor 0x10de, class 0x03xxxx) in /sys/bus/pci/devices.

    The bool says whether the directory could be listed at all: without it an empty list means
    "unknown", not "no NVIDIA GPU".
    """
    return scan_pci_display(ctx, "0x10de")


# --------------------------------------------------------------------------- finding nvidia-smi


def _fixed_locations(ctx: ProbeContext) -> List[Path]:
    if os.name == "nt":
        system_root = ctx.env.get("SystemRoot") or r"C:\Windows"
        program_files = ctx.env.get("ProgramFiles") or r"C:\Program Files"
        return [Path(system_root, "System32", "nvidia-smi.exe"),
                Path(program_files, "NVIDIA Corporation", "NVSMI", "nvidia-smi.exe")]
    return [ctx.path(d) / "nvidia-smi" for d in LINUX_SMI_DIRS]


def find_smi(ctx: ProbeContext) -> List[str]:
    """Every distinct nvidia-smi (by real path): the one PATH runs first, then the rest of PATH,
    then the usual install locations. Several copies usually mean a stale driver install."""
    seen: Dict[str, str] = {}

    def add(path: Optional[str]) -> None:
        if path:
            seen.setdefault(os.path.realpath(path), path)

    add(ctx.which("nvidia-smi"))
    for directory in ctx.env.get("PATH", "").split(os.pathsep):
        if directory:
            add(which("nvidia-smi", {"PATH": directory}))
    for candidate in _fixed_locations(ctx):
        try:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                add(str(candidate))
        except OSError:
            continue
    return list(seen.values())


def find_unrunnable_smi(ctx: ProbeContext) -> Optional[Tuple[str, str]]:
    """An nvidia-smi that is there but may not be executed (mode 0644): (path, "not executable (mode 0644)").

    Looked for only when :func:`find_smi` finds none: ``which`` passes over such a file, and "not found" would
    then read as "no NVIDIA driver" when the driver may be fine.
    """
    found = unrunnable("nvidia-smi", ctx.env)
    if found:
        return found
    for candidate in _fixed_locations(ctx):
        reason = unrunnable_file(str(candidate))
        if reason:
            return str(candidate), reason
    return None


def topology(ctx: ProbeContext) -> Optional[str]:
    """``nvidia-smi topo -m``: how the GPUs are joined (NVLink ``NV#``, PCIe ``PIX``/``PXB``/``PHB``/``SYS``), for
    holding an all-reduce against the fabric it really runs on; None where nvidia-smi is absent or says nothing."""
    found = find_smi(ctx)
    if not found:
        return None
    result = ctx.run([found[0], "topo", "-m"])
    return result.stdout if result.returncode == 0 and (result.stdout or "").strip() else None


# --------------------------------------------------------------------------- the probe


def probe(ctx: ProbeContext, knowledge: Optional[Knowledge] = None
          ) -> Tuple[Driver, List[Gpu], List[ProbeIssue]]:
    """Driver, GPUs and the problems met getting them; returns in about ``ctx.timeout``.

    ``knowledge`` supplies the GPU table for compute capabilities old drivers do not report
    (a fresh :class:`Knowledge` when omitted).
    """
    deadline = time.monotonic() + ctx.timeout
    driver = Driver()
    driver.kernel_module_version, driver.kernel_module_kind = read_kernel_module(ctx)
    driver.pci_devices, driver.pci_scanned = scan_pci(ctx)
    driver.smi_candidates = find_smi(ctx)
    if not driver.smi_candidates:
        refused = find_unrunnable_smi(ctx)
        if refused is not None:  # a fact of its own: the tool is there, its answer unknown (status error)
            path, reason = refused
            driver.status, driver.smi_path = "error", path
            driver.status_message = f"nvidia-smi at {path} is {reason}"
            issue = ProbeIssue(probe=PROBE_NAME, kind="not-executable", message=f"{path}: {reason}", command=[path])
            return driver, [], [issue]
        missing = CommandResult(argv=["nvidia-smi"], returncode=127, not_found=True)
        driver.status = "not-found"
        driver.status_message = "nvidia-smi not found on PATH or in " + ", ".join(
            str(p.parent) for p in _fixed_locations(ctx))
        return driver, [], [issue_from(PROBE_NAME, missing, kind="not-found")]

    smi = driver.smi_path = driver.smi_candidates[0]
    xml_result, cc_result = _run_concurrently(ctx, smi)
    issues: List[ProbeIssue] = []
    gpus: List[Gpu] = []
    status, message = classify_smi_failure(xml_result)
    if status == "ok":
        try:
            parsed, gpus = parse_smi_xml(xml_result.stdout)
            driver.version, driver.cuda_version = parsed.version, parsed.cuda_version
        except ValueError as exc:
            status, message = "garbage", f"nvidia-smi -q -x printed no readable XML ({exc})"
    if status != "ok":
        issues.append(issue_from(PROBE_NAME, xml_result, kind="not-executable" if xml_result.not_executable else status))
        if xml_result.not_executable:
            issues[-1].command = [smi]
        if status == "driver-library-mismatch":
            driver.nvml_version = nvml_library_version(xml_result.output)
    if status in ("garbage", "error") and not xml_result.not_executable:
        fallback = _query_fallback(ctx, smi, deadline)
        if fallback is not None:
            driver.version, gpus = fallback
            message = f"nvidia-smi -q -x failed ({status}); GPUs read from --query-gpu instead"
            status = "ok"
    _fill_compute_capability(gpus, cc_result, knowledge)
    driver.status, driver.status_message = status, (message or None)
    return driver, gpus, issues


def _run_concurrently(ctx: ProbeContext, smi: str) -> Tuple[CommandResult, CommandResult]:
    """``-q -x`` and the compute-capability query at once; each gets ``ctx.timeout``."""
    argv = {
        "xml": [smi, "-q", "-x"],
        "cc": [smi, "--query-gpu=" + ",".join(CC_FIELDS), CSV_FORMAT],
    }
    tasks = {key: (lambda a=a: ctx.run(a)) for key, a in argv.items()}
    results, errors = run_parallel(tasks, deadline_s=ctx.timeout + KILL_GRACE_S + 0.5)
    out = []
    for key in ("xml", "cc"):
        result = results.get(key)
        if result is None:  # the runner's own deadline should have fired first; be safe anyway
            error = errors.get(key, "no result")
            result = CommandResult(argv=argv[key], timed_out=error.startswith("timeout"),
                                   error=None if error.startswith("timeout") else error,
                                   duration_s=ctx.timeout)
        out.append(result)
    return out[0], out[1]


def _query_fallback(ctx: ProbeContext, smi: str, deadline: float
                    ) -> Optional[Tuple[Optional[str], List[Gpu]]]:
    """Driver version and GPUs from the plain CSV query, within what is left of the time budget."""
    remaining = deadline - time.monotonic()
    if remaining < 0.25:
        return None
    result = ctx.run([smi, "--query-gpu=" + ",".join(FALLBACK_FIELDS), CSV_FORMAT], timeout=remaining)
    if not result.ok:
        return None
    try:
        rows = parse_query_csv(result.stdout, FALLBACK_FIELDS)
    except ValueError:
        return None
    if not rows:
        return None
    gpus = []
    for position, row in enumerate(rows):
        index = _int(row["index"])
        gpu = Gpu(index=position if index is None else index, name=row["name"], uuid=row["uuid"],
                  bus_id=row["pci.bus_id"], memory_total_mib=_int(row["memory.total"]),
                  memory_used_mib=_int(row["memory.used"]), mig_mode=row["mig.mode.current"])
        _set_capability(gpu, row["compute_cap"], "nvidia-smi")
        gpus.append(gpu)
    return leading_version(rows[0]["driver_version"]), gpus


def _set_capability(gpu: Gpu, value: Optional[str], source: str) -> None:
    cc = capability_str(capability(value)) if value else None
    if cc:
        gpu.compute_capability, gpu.compute_capability_source = cc, source


def _fill_compute_capability(gpus: List[Gpu], cc_result: CommandResult,
                             knowledge: Optional[Knowledge]) -> None:
    """compute_cap from nvidia-smi by uuid (else index); else the GPU table by name."""
    rows: List[Dict[str, Optional[str]]] = []
    if cc_result.ok:
        try:
            rows = parse_query_csv(cc_result.stdout, CC_FIELDS)
        except ValueError:
            rows = []
    by_uuid = {r["uuid"]: r["compute_cap"] for r in rows if r["uuid"]}
    by_index = {_int(r["index"]): r["compute_cap"] for r in rows}
    for gpu in gpus:
        if gpu.compute_capability is None:
            value = by_uuid[gpu.uuid] if gpu.uuid in by_uuid else by_index.get(gpu.index)
            _set_capability(gpu, value, "nvidia-smi")
    missing = [g for g in gpus if g.compute_capability is None and g.name]
    if not missing:
        return
    try:
        table = knowledge if knowledge is not None else Knowledge()
        for gpu in missing:
            spec = table.gpu_by_name(gpu.name)
            if spec is not None:
                _set_capability(gpu, spec.compute_capability, "gpu-table")
    except (KnowledgeError, TypeError, ValueError, KeyError):
        return  # the GPU table is missing or malformed: the capability stays unknown
