"""Probes: each module collects raw facts about one part of the machine and never judges.

Every probe takes a :class:`ProbeContext` (the environment as the user's shell sees it, the
timeout, the target interpreter, and a filesystem root that tests can point at a fake tree) and
returns snapshot dataclasses. External commands go through :func:`envcheck.runner.run` only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..runner import DEFAULT_TIMEOUT_S, CommandResult, run, which
from ..snapshot import PciDevice, ProbeIssue


@dataclass
class ProbeContext:
    env: Dict[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout: float = DEFAULT_TIMEOUT_S
    #: the interpreter whose torch we judge (already resolved to an existing file)
    python: Optional[str] = None
    #: how it was chosen: --python | CONDA_PREFIX | VIRTUAL_ENV | PATH
    python_chosen_by: Optional[str] = None
    fast: bool = False
    #: "/" on a real machine; tests point it at a fake tree holding proc/, sys/, usr/, ...
    root: str = "/"
    #: the user's home, for config files (tests use a temporary one)
    home: Optional[str] = None

    def path(self, absolute: str) -> Path:
        """A system path under this context's root ("/proc/x" -> root/proc/x)."""
        if self.root in ("", "/"):
            return Path(absolute)
        return Path(self.root) / absolute.lstrip("/")

    def home_dir(self) -> Path:
        return Path(self.home or self.env.get("HOME") or os.path.expanduser("~"))

    def run(self, argv: List[str], timeout: Optional[float] = None,
            answered: Optional[Callable[[str], bool]] = None) -> CommandResult:
        """``answered``: see :func:`envcheck.runner.run` (an answer counts even if the command then lingers)."""
        return run(argv, timeout=self.timeout if timeout is None else timeout, env=self.env, answered=answered)

    def which(self, name: str) -> Optional[str]:
        return which(name, self.env)


def read_text(path: Path, limit: int = 1 << 20, whole: bool = True) -> Optional[str]:
    """A small text file's content, or None when it cannot be read (missing, denied) or, with ``whole``, when it is
    longer than ``limit`` bytes: a fact read from part of a file could be wrong (the package listed after the cut
    taken for absent), one not read is unknown. ``whole=False``: its first ``limit`` bytes."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1 if whole else limit)
    except OSError:
        return None
    if whole and len(data) > limit:
        return None
    return data.decode("utf-8", errors="replace")


def marker_json(stdout: str, marker: str) -> Optional[Dict[str, Any]]:
    """The JSON object after the last ``marker`` (on the same line, or the next), or None.

    The scripts envcheck runs inside the target interpreter answer this way, so that whatever torch
    prints on import cannot be mistaken for the answer.
    """
    lines = stdout.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i].strip()
        if not line.startswith(marker):
            continue
        text = line[len(marker):].strip() or (lines[i + 1] if i + 1 < len(lines) else "")
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    return None


def issue_from(probe: str, result: CommandResult, kind: Optional[str] = None) -> ProbeIssue:
    """A ProbeIssue describing how a command went wrong."""
    if kind is None:
        if result.not_found:
            kind = "not-found"
        elif result.timed_out:
            kind = "timeout"
        elif result.signal:
            kind = "crashed"
        else:
            kind = "error"
    message = result.describe()
    tail = result.output.strip()
    if tail and not result.timed_out:
        message += ": " + tail[-400:]
    return ProbeIssue(probe=probe, kind=kind, message=message, command=list(result.argv),
                      duration_s=round(result.duration_s, 3))


def scan_pci_display(ctx: ProbeContext, vendor: str, classes: Tuple[str, ...] = ("0x03",)
                     ) -> Tuple[List[PciDevice], bool]:
    """GPU functions of one PCI vendor ("0x1002" AMD, "0x8086" Intel) in /sys/bus/pci: display/3D (class
    0x03xxxx), or the ``classes`` given (AMD's Instinct MI300 and later say 0x1200, processing accelerator).

    File reads only, no command. The bool says whether the directory could be listed at all: without it
    an empty list means "unknown", not "none".
    """
    base = ctx.path("/sys/bus/pci/devices")
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return [], False
    found: List[PciDevice] = []
    for name in entries:
        entry = base / name
        if (read_text(entry / "vendor", 64) or "").strip().lower() != vendor:
            continue
        pci_class = (read_text(entry / "class", 64) or "").strip().lower()
        if not pci_class.startswith(classes):
            continue
        try:
            driver: Optional[str] = os.path.basename(os.readlink(entry / "driver")) or None
        except OSError:
            driver = None
        found.append(PciDevice(address=name, device_id=(read_text(entry / "device", 64) or "").strip().lower() or None,
                               pci_class=pci_class, driver=driver))
    return found, True
