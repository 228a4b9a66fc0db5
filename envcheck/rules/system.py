"""Rules about the host: container limits and tools that failed to answer."""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from .base import RuleContext, finding

SHM_MIN_MIB = 512


def shm_too_small(ctx: RuleContext) -> Iterator[Finding]:
    s = ctx.snap.system
    if s.container and s.shm_total_mib is not None and s.shm_total_mib < SHM_MIN_MIB:
        yield finding("shm-too-small", f"/dev/shm is {s.shm_total_mib} MiB in this {s.container} container",
                      "DataLoader workers pass batches through shared memory; under 512 MiB they die with "
                      "'bus error' or 'DataLoader worker (pid N) is killed by signal: Bus error'.",
                      ["docker run --shm-size=8g ... (or --ipc=host)",
                       "Kubernetes: mount an emptyDir with medium: Memory at /dev/shm",
                       "or DataLoader(num_workers=0) as a stop-gap"], shm_mib=s.shm_total_mib)


def tool_timeout(ctx: RuleContext) -> Iterator[Finding]:
    for issue in ctx.snap.probe_issues:
        if issue.kind != "timeout":
            continue
        cmd = " ".join(issue.command) if issue.command else issue.probe
        hint = ("A hung nvidia-smi usually means a wedged driver: check `dmesg` for Xid errors; a reboot clears it."
                if "nvidia" in issue.probe else "Raise the limit with --timeout S if the machine is just slow.")
        yield finding("tool-timeout", f"{issue.probe} did not answer in time",
                      f"{cmd}: {issue.message}. Its facts are unknown in this report.", [hint],
                      probe=issue.probe)


def probe_failed(ctx: RuleContext) -> Iterator[Finding]:
    for issue in ctx.snap.probe_issues:
        if issue.kind in ("crashed", "garbage", "error"):
            yield finding("probe-failed", f"{issue.probe}: {issue.kind}", issue.message,
                          probe=issue.probe)


RULES = [shm_too_small, tool_timeout, probe_failed]
