"""The NVSwitch fabric: its fabric manager's service state and each GPU's fabric state.

On HGX/DGX systems (A100, H100, H200, B200) CUDA answers "system not yet initialized" (error 802) until
the NVIDIA fabric manager has set up the NVSwitch fabric. ``nvidia-smi -q`` shows each GPU's "Fabric"
section (State: Not Started -> In Progress -> Completed, then Status: Success or an error) and
``systemctl is-active nvidia-fabricmanager`` the service. Both run only where the machine shows NVSwitch
evidence (NVIDIA bridge functions in /sys/bus/pci, or the fabric manager installed): everywhere else the
probe reads a directory listing and runs nothing.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional, Tuple

from ..snapshot import Fabric, FabricGpu, ProbeIssue
from . import ProbeContext, issue_from, scan_pci_display
from .nvidia import find_smi

PROBE_NAME = "fabric"
#: NVSwitch functions show as NVIDIA (0x10de) PCI bridges, class 0x0680 ("Bridge [0680]: NVIDIA Corporation GH100
#: [H100 NVSwitch] [10de:22a3]"); HGX B200's NVSwitches are not PCI devices on the host, so the fabric manager's own
#: files count as evidence too
NVSWITCH_CLASS = ("0x0680",)
FABRIC_MANAGER_FILES = ("/usr/bin/nv-fabricmanager", "/usr/lib/systemd/system/nvidia-fabricmanager.service",
                        "/lib/systemd/system/nvidia-fabricmanager.service",
                        "/etc/systemd/system/nvidia-fabricmanager.service")
#: what ``systemctl is-active`` answers (anything else, "System has not been booted with systemd ...", is no answer)
SERVICE_STATES = ("active", "inactive", "failed", "activating", "deactivating", "reloading")
_GPU_HEADING = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s*$")
_KEY_VALUE = re.compile(r"^(\s*)([^:]+?)\s*:\s*(.*?)\s*$")


def parse_fabric_sections(text: str) -> List[FabricGpu]:
    """Each GPU's "Fabric" section of ``nvidia-smi -q`` (State, Status); a section without a GPU heading (a pasted
    excerpt) is kept with bus_id None. Drivers that print no Fabric section give an empty list."""
    found: List[FabricGpu] = []
    bus_id: Optional[str] = None
    current: Optional[FabricGpu] = None
    depth = -1
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        heading = _GPU_HEADING.match(line)
        if heading:
            bus_id, current = heading.group(1), None
            continue
        indent = len(line) - len(line.lstrip())
        if line.strip() == "Fabric":
            current, depth = FabricGpu(bus_id=bus_id), indent
            found.append(current)
            continue
        if current is None:
            continue
        if indent <= depth:
            current = None
            continue
        pair = _KEY_VALUE.match(line)
        if pair and len(pair.group(1)) > depth:
            key, value = pair.group(2).strip().lower(), pair.group(3) or None
            if key == "state":
                current.state = value
            elif key == "status":
                current.status = value
    return found


def nvswitch_evidence(ctx: ProbeContext) -> Optional[str]:
    """"nvswitch-pci", "fabricmanager-installed" or None (file reads only)."""
    switches, _scanned = scan_pci_display(ctx, "0x10de", NVSWITCH_CLASS)
    if switches:
        return "nvswitch-pci"
    if any(os.path.exists(ctx.path(p)) for p in FABRIC_MANAGER_FILES):
        return "fabricmanager-installed"
    return None


def probe(ctx: ProbeContext) -> Tuple[Fabric, List[ProbeIssue]]:
    """The fabric facts; nothing run without NVSwitch evidence."""
    evidence = nvswitch_evidence(ctx)
    if evidence is None:
        return Fabric(), []
    fabric, issues = Fabric(nvswitch_evidence=evidence), []
    smi = find_smi(ctx)
    if smi:
        result = ctx.run([smi[0], "-q"])
        if result.ok:
            fabric.gpus = parse_fabric_sections(result.stdout)
        elif result.timed_out:
            issues.append(issue_from(PROBE_NAME, result))
    systemctl = ctx.which("systemctl")
    if systemctl:
        result = ctx.run([systemctl, "is-active", "nvidia-fabricmanager"])
        answer = (result.stdout.strip().splitlines() or [""])[0].strip()
        if answer in SERVICE_STATES and not result.timed_out:
            fabric.service = answer
        elif result.timed_out:
            issues.append(issue_from(PROBE_NAME, result))
    return fabric, issues
