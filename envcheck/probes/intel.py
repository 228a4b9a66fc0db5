"""Intel GPUs that torch's XPU backend could use: what xpu-smi and sycl-ls (its Level Zero devices) list,
and the Intel display functions on the PCI bus.

Almost every Intel desktop has an integrated GPU on the PCI bus, so the PCI list alone says little about
XPU; the tools say more, and run only when installed. A machine without them pays two PATH look-ups
and a /sys listing. Facts only.
"""

from __future__ import annotations

import re
import time
from typing import List, Optional, Tuple

from ..snapshot import IntelFacts, IntelGpu, ProbeIssue
from . import ProbeContext, issue_from, scan_pci_display

PROBE_NAME = "intel"
INTEL_PCI_VENDOR = "0x8086"
TOOLS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (("xpu-smi", ("discovery",)), ("sycl-ls", ()))
#: a device's first row: its id in the first column ("| 0 | Device Name: ..." or "  0   Device Type: ...")
_DEVICE_ROW = re.compile(r"^\s*\|?\s*(\d+)\s+\|?\s*\S")
_XPU_FIELD = re.compile(r"(Device Name|PCI BDF Address|PCI Device ID):\s*(.*?)\s*\|?\s*$")
#: "[ext_oneapi_level_zero:gpu:0] Intel(R) Level-Zero, Intel(R) Arc(TM) A770 Graphics 1.3 [1.3.28454]" (2024) and
#: "[level_zero:gpu][level_zero:0] Intel(R) Level-Zero, Intel(R) Arc(TM) A750 Graphics 12.55.8 [1.3.29735]"
_L0_GPU = re.compile(r"\[(?:ext_oneapi_)?level_zero:gpu(?::\d+)?\](?:\[[^\]]*\])?\s*[^,]*,\s*(.*?)\s+[\d.]+\s+\[[^\]]*\]\s*$")
_SYCL_LINE = re.compile(r"\[[a-z_]+:[a-z]+(?::\d+)?\]")


def parse_xpu_smi(text: str) -> List[IntelGpu]:
    """``xpu-smi discovery`` (the bordered table and the borderless one of newer releases) -> devices.

    ValueError when the text is not that table.
    """
    gpus: List[IntelGpu] = []
    for line in (text or "").splitlines():
        if _DEVICE_ROW.match(line):
            gpus.append(IntelGpu())
        match = _XPU_FIELD.search(line)
        if not match or not gpus:
            continue
        key, value = match.group(1), match.group(2) or None
        gpu = gpus[-1]
        if key == "Device Name":
            gpu.name = gpu.name or value
        elif key == "PCI BDF Address":
            gpu.bus_id = gpu.bus_id or (value.lower() if value else None)
        else:
            gpu.device_id = gpu.device_id or (value.lower() if value else None)
    if not gpus and not re.search(r"Device ID|no device", text or "", re.IGNORECASE):
        raise ValueError("not xpu-smi discovery output")
    return gpus


def parse_sycl_ls(text: str) -> List[IntelGpu]:
    """``sycl-ls``: the Level Zero GPUs (the backend torch XPU runs on); OpenCL and CPU entries skipped.

    ValueError when no line is a sycl-ls device line.
    """
    gpus: List[IntelGpu] = []
    seen = False
    for line in (text or "").splitlines():
        if _SYCL_LINE.search(line):
            seen = True
        match = _L0_GPU.search(line)
        if match:
            gpus.append(IntelGpu(name=match.group(1).strip() or None))
    if not seen:
        raise ValueError("no sycl-ls device line")
    return gpus


def probe(ctx: ProbeContext) -> Tuple[IntelFacts, List[ProbeIssue]]:
    """Intel GPUs from the first tool that answers; returns in about ``ctx.timeout``, never raises for a tool."""
    deadline = time.monotonic() + ctx.timeout
    facts = IntelFacts()
    facts.pci_devices, facts.pci_scanned = scan_pci_display(ctx, INTEL_PCI_VENDOR)
    tools = [(name, path, args) for name, args in TOOLS for path in [ctx.which(name)] if path]
    issues: List[ProbeIssue] = []
    if not tools:
        facts.status = "not-found"
        return facts, issues
    if facts.pci_scanned and not facts.pci_devices:
        facts.status, facts.status_message = "no-device", "no Intel GPU on the PCI bus: xpu-smi and sycl-ls not run"
        return facts, issues
    parsers = {"xpu-smi": parse_xpu_smi, "sycl-ls": parse_sycl_ls}
    for name, path, args in tools:
        remaining = deadline - time.monotonic()
        if remaining < 0.25:
            break
        result = ctx.run([path, *args], timeout=remaining)
        message: Optional[str]
        if result.ok:
            try:
                facts.gpus = parsers[name](result.stdout)
            except ValueError as exc:
                status, message = "garbage", f"{name} printed no readable answer ({exc})"
            else:
                facts.source, facts.status, facts.status_message = name, "ok", None
                return facts, issues
        else:
            status = ("timeout" if result.timed_out else "crashed" if result.signal
                      else "not-found" if result.not_found else "error")
            message = issue_from(PROBE_NAME, result).message
        issue = issue_from(PROBE_NAME, result, kind=status)
        issue.message = message
        issues.append(issue)
        if facts.status is None:
            facts.status, facts.status_message = status, message
        if result.timed_out:
            break
    return facts, issues
