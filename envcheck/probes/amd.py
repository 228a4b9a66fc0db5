"""AMD GPUs and the ROCm install: what rocminfo, amd-smi, rocm_agent_enumerator, the KFD topology and the
PCI bus say, so that a ROCm torch build can be picked for the right ISA (gfx90a, gfx942, gfx1100, ...).

A machine without AMD GPUs pays a few file reads and PATH look-ups: a ROCm tool runs only when it is
installed and the machine shows an AMD GPU (/dev/kfd, an AMD display function on the PCI bus, or a PCI
bus that cannot be read). The first tool that answers wins; a tool that hangs ends the tool list (the
next would hang in the same driver) and the KFD topology, read without any tool, stands in. Facts only.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import List, Optional, Tuple

from ..runner import CommandResult
from ..snapshot import AmdFacts, AmdGpu, ProbeIssue
from ..versions import dotted
from . import ProbeContext, issue_from, read_text, scan_pci_display

PROBE_NAME = "amd"
AMD_PCI_VENDOR = "0x1002"
#: display/3D, and processing accelerator: lspci names an Instinct MI325X "Processing accelerators [1200]"
AMD_PCI_CLASSES = ("0x03", "0x12")
#: where ROCm lives when $ROCM_PATH does not say (TheRock's native packages add core/)
ROCM_ROOTS = ("/opt/rocm",)
VERSION_FILES = (".info/version", "core/.info/version")
KFD_NODES = "/sys/class/kfd/kfd/topology/nodes"
#: the tools in the order they are tried, with their arguments
TOOLS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("rocminfo", ()),
    ("amd-smi", ("static", "--asic", "--json")),
    ("rocm_agent_enumerator", ()),
)
_AGENT = re.compile(r"^\s*Agent\s+\d+\s*$")
_FIELD = re.compile(r"^(\s*)([A-Za-z][A-Za-z .()]*?):\s*(.*?)\s*$")
_GFX = re.compile(r"\b(gfx[0-9a-f]{3,4})(?![0-9a-z])")
_SMI_LINE = re.compile(r'^\s*"?(gpu|market_name|target_graphics_version|device_id|bdf)"?\s*:\s*"?(.*?)"?\s*,?\s*$',
                       re.IGNORECASE)
_UNKNOWN = {"", "n/a", "na", "unknown", "none"}


def _value(text: Optional[str]) -> Optional[str]:
    value = " ".join((text or "").split())
    return None if value.lower() in _UNKNOWN else value


def gfx_of(text: Optional[str]) -> Optional[str]:
    """"gfx90a", "amdgcn-amd-amdhsa--gfx942:sramecc+:xnack-" -> the bare target; None for gfx000 (the CPU)."""
    match = _GFX.search(text or "")
    if not match or match.group(1) == "gfx000":
        return None
    return match.group(1)


# --------------------------------------------------------------------------- parsers (pure)


def parse_rocminfo(text: str) -> List[AmdGpu]:
    """GPU agents of ``rocminfo`` (CPU agents dropped); ValueError when the text has no agent at all.

    Each agent's own fields are the first of their name in its block: the ``Name`` under ``ISA Info``
    (the full ISA string) comes later and only fills ``gfx`` when the agent's name is not one.
    """
    blocks: List[List[str]] = []
    for line in (text or "").splitlines():
        if _AGENT.match(line):
            blocks.append([])
        elif blocks:
            blocks[-1].append(line)
    if not blocks:
        raise ValueError("no HSA agent in the output")
    gpus: List[AmdGpu] = []
    for block in blocks:
        fields = {}
        isa = None
        for line in block:
            match = _FIELD.match(line)
            if not match:
                continue
            key = match.group(2).strip().lower()
            if key == "name" and fields.get("name") is not None:
                isa = isa or match.group(3)
            fields.setdefault(key, match.group(3))
        if (fields.get("device type") or "").strip().upper() != "GPU":
            continue
        name = _value(fields.get("name"))
        gpus.append(AmdGpu(name=name, gfx=gfx_of(name) or gfx_of(isa),
                           marketing_name=_value(fields.get("marketing name"))))
    return gpus


def parse_agent_enumerator(text: str) -> List[AmdGpu]:
    """``rocm_agent_enumerator``: one target per line, ``gfx000`` (the CPU agent, printed before ROCm 6) dropped.

    ValueError when a line is not a target at all.
    """
    gpus: List[AmdGpu] = []
    for line in (text or "").splitlines():
        word = line.strip()
        if not word:
            continue
        if not re.fullmatch(r"gfx[0-9a-z-]+(?::[a-z-]+[+-])*", word):
            raise ValueError(f"not a gfx target: {word[:80]!r}")
        gfx = gfx_of(word)
        if gfx:
            gpus.append(AmdGpu(gfx=gfx))
    return gpus


def parse_amd_smi(text: str) -> List[AmdGpu]:
    """``amd-smi static --asic [--json]``: market name, target and ids per GPU.

    Reads the JSON (a list, or ``{"gpu_data": [...]}`` in newer releases, possibly after Python warnings),
    else the key/value lines both the text form and a cut-off JSON have. ValueError when no GPU is named.
    """
    gpus = _amd_smi_json(text)
    if gpus is not None:
        return gpus
    gpus = []
    seen_gpu_key = False
    for line in (text or "").splitlines():
        match = _SMI_LINE.match(line)
        if not match:
            continue
        key, value = match.group(1).lower(), _value(match.group(2))
        if key == "gpu":
            if value is not None and value.isdigit():
                seen_gpu_key = True
                gpus.append(AmdGpu())
            continue
        if not gpus:
            gpus.append(AmdGpu())
        _set_smi(gpus[-1], key, value)
    if not seen_gpu_key and not gpus:
        raise ValueError("no GPU in the amd-smi output")
    return gpus


def _set_smi(gpu: AmdGpu, key: str, value: Optional[str]) -> None:
    if key == "market_name":
        gpu.marketing_name = gpu.marketing_name or value
    elif key == "target_graphics_version":
        gpu.gfx = gpu.gfx or gfx_of(value)
    elif key == "device_id":
        gpu.device_id = gpu.device_id or (value.lower() if value else None)
    elif key == "bdf":
        gpu.bus_id = gpu.bus_id or (value.lower() if value else None)


def _amd_smi_json(text: str) -> Optional[List[AmdGpu]]:
    """The GPUs of amd-smi's JSON, or None when no whole JSON document is in the text."""
    start = next((i for i, ch in enumerate(text or "") if ch in "[{" and (i == 0 or text[i - 1] == "\n")), None)
    if start is None:
        return None
    try:
        data, _end = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None
    if isinstance(data, dict):
        data = data.get("gpu_data")
    if not isinstance(data, list):
        return None
    gpus: List[AmdGpu] = []
    for item in data:
        if not isinstance(item, dict):
            continue
        gpu = AmdGpu()
        for section in (item.get("asic"), item.get("bus")):
            if isinstance(section, dict):
                for key in ("market_name", "target_graphics_version", "device_id", "bdf"):
                    if key in section:
                        _set_smi(gpu, key, _value(str(section[key])))
        gpus.append(gpu)
    return gpus


def gfx_from_target_version(value: Optional[str]) -> Optional[str]:
    """KFD's ``gfx_target_version`` (major*10000 + minor*100 + stepping) -> "gfx942" (90402), "gfx90a" (90010);
    None for 0 (a CPU node) or a value that is not one."""
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    major, minor, step = number // 10000, (number // 100) % 100, number % 100
    if major == 0 or minor > 15 or step > 15:
        return None
    return f"gfx{major}{minor:x}{step:x}"


def parse_kfd_properties(text: Optional[str]) -> dict:
    """A KFD topology node's ``properties`` ("key value" lines) as a dict of strings."""
    out = {}
    for line in (text or "").splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            out[key] = value.strip()
    return out


def _bus_id(props: dict) -> Optional[str]:
    """PCI address from a KFD node's ``domain`` and ``location_id`` (bus << 8 | device << 3 | function)."""
    try:
        location, domain = int(props["location_id"]), int(props.get("domain", "0"))
    except (KeyError, ValueError):
        return None
    if location <= 0:
        return None
    return f"{domain:04x}:{(location >> 8) & 0xff:02x}:{(location >> 3) & 0x1f:02x}.{location & 0x7:x}"


# --------------------------------------------------------------------------- files


def read_kfd(ctx: ProbeContext) -> List[AmdGpu]:
    """GPU nodes of the KFD topology (gfx_target_version not 0), in node order; [] when there is none."""
    base = ctx.path(KFD_NODES)
    try:
        nodes = sorted((n for n in os.listdir(base) if n.isdigit()), key=int)
    except OSError:
        return []
    gpus: List[AmdGpu] = []
    for node in nodes:
        props = parse_kfd_properties(read_text(base / node / "properties", 1 << 16))
        gfx = gfx_from_target_version(props.get("gfx_target_version"))
        if gfx is None:
            continue
        device = props.get("device_id")
        gpus.append(AmdGpu(name=_value(read_text(base / node / "name", 256)), gfx=gfx,
                           device_id=f"0x{int(device):04x}" if device and device.isdigit() else None,
                           bus_id=_bus_id(props)))
    return gpus


def rocm_roots(ctx: ProbeContext) -> List[str]:
    """$ROCM_PATH, then /opt/rocm, each once."""
    roots: List[str] = []
    for root in (ctx.env.get("ROCM_PATH"),) + ROCM_ROOTS:
        if root and root not in roots:
            roots.append(root)
    return roots


def read_rocm_version(ctx: ProbeContext) -> Tuple[Optional[str], Optional[str]]:
    """(version "7.14.0", the root it was read under) from the first ROCm root with a version file."""
    for root in rocm_roots(ctx):
        for name in VERSION_FILES:
            nums = dotted(read_text(ctx.path(os.path.join(root, name)), 4096))
            if nums and len(nums) >= 2:
                return ".".join(str(n) for n in nums), root
    return None, None


def find_tool(ctx: ProbeContext, name: str) -> Optional[str]:
    """The tool on PATH, else in a ROCm root's bin/ (ROCm does not put itself on PATH)."""
    found = ctx.which(name)
    if found:
        return found
    for root in rocm_roots(ctx):
        candidate = ctx.path(os.path.join(root, "bin", name))
        try:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        except OSError:
            continue
    return None


# --------------------------------------------------------------------------- the probe


def _kind(result: CommandResult) -> str:
    if result.not_found:
        return "not-found"
    if result.timed_out:
        return "timeout"
    if result.signal:
        return "crashed"
    return "error"


def probe(ctx: ProbeContext) -> Tuple[AmdFacts, List[ProbeIssue]]:
    """AMD GPUs, ROCm version and /dev/kfd; returns in about ``ctx.timeout`` and never raises for a tool."""
    deadline = time.monotonic() + ctx.timeout
    facts = AmdFacts()
    facts.pci_devices, facts.pci_scanned = scan_pci_display(ctx, AMD_PCI_VENDOR, AMD_PCI_CLASSES)
    facts.rocm_version, facts.rocm_path = read_rocm_version(ctx)
    if sys.platform.startswith("linux"):
        facts.kfd = os.path.exists(ctx.path("/dev/kfd"))
    tools = [(name, path, args) for name, args in TOOLS for path in [find_tool(ctx, name)] if path]
    if facts.rocm_path is None:
        facts.rocm_path = next((r for r in rocm_roots(ctx) if os.path.isdir(ctx.path(r))), None)
    issues: List[ProbeIssue] = []
    if not tools:
        facts.status = "not-found"
    elif not (facts.kfd or facts.pci_devices or not facts.pci_scanned):
        facts.status, facts.status_message = "no-device", "no /dev/kfd and no AMD GPU on the PCI bus: ROCm tools not run"
    else:
        _run_tools(ctx, facts, tools, deadline, issues)
    if not facts.gpus:
        kfd_gpus = read_kfd(ctx)
        if kfd_gpus:
            facts.gpus, facts.source = kfd_gpus, "kfd"
    return facts, issues


def _run_tools(ctx: ProbeContext, facts: AmdFacts, tools: List[Tuple[str, str, Tuple[str, ...]]],
               deadline: float, issues: List[ProbeIssue]) -> None:
    parsers = {"rocminfo": parse_rocminfo, "amd-smi": parse_amd_smi, "rocm_agent_enumerator": parse_agent_enumerator}
    for name, path, args in tools:
        remaining = deadline - time.monotonic()
        if remaining < 0.25:
            break
        result = ctx.run([path, *args], timeout=remaining)
        if result.ok:
            try:
                gpus = parsers[name](result.stdout)
            except ValueError as exc:
                status, message = "garbage", f"{name} printed no readable answer ({exc})"
            else:
                facts.gpus, facts.source = gpus, name
                facts.status, facts.status_message = "ok", None
                return
        else:
            status, message = _kind(result), issue_from(PROBE_NAME, result).message
        issue = issue_from(PROBE_NAME, result, kind=status)
        issue.message = message
        issues.append(issue)
        if facts.status is None:
            facts.status, facts.status_message = status, message
        if result.timed_out:
            break  # the next tool would wait on the same driver
