"""The NVIDIA driver's Xid reports in this boot's kernel log: ``dmesg``, else ``journalctl -k -b``.

A GPU that fell off the bus (Xid 79) or an ECC or GSP fault leaves its only trace here. Reading the log
often needs root (``kernel.dmesg_restrict``, the journal's ``adm`` group): that is a fact recorded in
:class:`KernelLog` (``readable`` False with the tools' words), never a probe failure. Without an NVIDIA
kernel module there can be no Xid, so nothing is run at all.
"""

from __future__ import annotations

import os
import re
import time
from typing import List, Optional, Tuple

from ..snapshot import KernelLog, ProbeIssue, XidRecord
from . import ProbeContext, issue_from, read_text

PROBE_NAME = "kernel-log"
#: at most this many Xid lines are kept (a looping fault repeats one line thousands of times)
MAX_RECORDS = 200
#: "NVRM: Xid (PCI:0000:3b:00): 79, pid=1173, GPU has fallen off the bus." (older drivers: no "PCI:")
XID_LINE = re.compile(r"NVRM: Xid \((?:PCI:)?(?P<pci>[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(?:\.[0-9a-fA-F])?)\):"
                      r" (?P<xid>\d+)\b,?[ \t]*(?P<text>[^\n]*)")
#: journalctl's short format: "Jan 16 14:04:39 host kernel: ..."
_SYSLOG_TIME = re.compile(r"^([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d)\b")
#: dmesg: "[44643.002804] ..." or, with --ctime / -T, "[Fri Aug 30 11:43:09 2024] ..."
_BRACKET_TIME = re.compile(r"\[\s*([^\]]+?)\s*\]")
#: journalctl's answer when this user may not read the system journal (the hint is on stderr)
_JOURNAL_EMPTY = ("-- No entries --", "No journal files were found")


def parse_xid_lines(text: str, limit: int = MAX_RECORDS) -> List[XidRecord]:
    """Every Xid line of a kernel log (dmesg, dmesg -T, journalctl -k in short format), in log order."""
    records: List[XidRecord] = []
    for line in (text or "").splitlines():
        match = XID_LINE.search(line)
        if not match:
            continue
        prefix = line[:match.start()]
        when = _SYSLOG_TIME.match(prefix) or _BRACKET_TIME.search(prefix)
        records.append(XidRecord(xid=int(match.group("xid")), pci=match.group("pci").lower(),
                                 time=when.group(1) if when else None,
                                 text=" ".join(match.group("text").split())[:240]))
        if len(records) >= limit:
            break
    return records


def nvidia_module_loaded(ctx: ProbeContext) -> bool:
    """An NVIDIA kernel module answers here (/proc/driver/nvidia/version, or /sys/module/nvidia)."""
    return (os.path.exists(ctx.path("/proc/driver/nvidia/version"))
            or os.path.isdir(ctx.path("/sys/module/nvidia")))


def _dmesg_restricted(ctx: ProbeContext) -> bool:
    """kernel.dmesg_restrict=1 and not root: dmesg would only say "Operation not permitted"."""
    restrict = (read_text(ctx.path("/proc/sys/kernel/dmesg_restrict"), 16) or "").strip()
    geteuid = getattr(os, "geteuid", None)
    return restrict == "1" and geteuid is not None and geteuid() != 0


def _words(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " ".join(lines)[:300]


def probe(ctx: ProbeContext) -> Tuple[KernelLog, List[ProbeIssue]]:
    """Xid lines of this boot's kernel log; nothing run without an NVIDIA kernel module."""
    if not nvidia_module_loaded(ctx):
        return KernelLog(), []
    reasons: List[str] = []
    issues: List[ProbeIssue] = []
    started = time.monotonic()
    dmesg = ctx.which("dmesg")
    if dmesg and _dmesg_restricted(ctx):
        reasons.append("dmesg: kernel.dmesg_restrict = 1 (root only)")
    elif dmesg:
        result = ctx.run([dmesg])
        if result.ok:
            return KernelLog(source="dmesg", readable=True, xids=parse_xid_lines(result.stdout)), issues
        if result.timed_out:
            issues.append(issue_from(PROBE_NAME, result))
        reasons.append(_words(result.stderr or result.stdout) or result.describe())
    journalctl = ctx.which("journalctl")
    if journalctl:
        # both tools share one probe timeout, so the collector's deadline holds
        left = max(0.5, ctx.timeout - (time.monotonic() - started))
        result = ctx.run([journalctl, "-k", "-b", "--no-pager", "-o", "short"], timeout=left)
        body = [line for line in result.stdout.splitlines() if line.strip() and not line.startswith(_JOURNAL_EMPTY)]
        if result.ok and body:
            return KernelLog(source="journalctl", readable=True, xids=parse_xid_lines(result.stdout)), issues
        if result.timed_out:
            issues.append(issue_from(PROBE_NAME, result))
        reasons.append("journalctl: " + (_words(result.stderr) or _words(result.stdout) or result.describe()))
    if not dmesg and not journalctl:
        reasons.append("neither dmesg nor journalctl is on PATH")
    return KernelLog(readable=False, reason="; ".join(r for r in reasons if r)[:600] or None), issues


def last_seen(records: List[XidRecord]) -> Optional[str]:
    """The time of the last record that has one."""
    return next((r.time for r in reversed(records) if r.time), None)
