"""Rules about the host: container limits and tools that failed to answer."""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from ..i18n import N_, Message
from .base import RuleContext, finding

SHM_MIN_MIB = 512


def shm_too_small(ctx: RuleContext) -> Iterator[Finding]:
    s = ctx.snap.system
    if s.container and s.shm_total_mib is not None and s.shm_total_mib < SHM_MIN_MIB:
        yield finding("shm-too-small", Message(N_("/dev/shm is {size} MiB in this {container} container"), size=s.shm_total_mib, container=s.container),
                      Message(N_("DataLoader workers pass batches through shared memory; under 512 MiB they die with "
                        "'bus error' or 'DataLoader worker (pid N) is killed by signal: Bus error'.")),
                      ["docker run --shm-size=8g ... " + Message(N_("(or {option})"), option="--ipc=host"),
                       Message(N_("Kubernetes: mount an emptyDir with medium: Memory at /dev/shm")),
                       Message(N_("or {code} as a stop-gap"), code="DataLoader(num_workers=0)")],
                      shm_mib=s.shm_total_mib)


def tool_timeout(ctx: RuleContext) -> Iterator[Finding]:
    for issue in ctx.snap.probe_issues:
        if issue.kind != "timeout":
            continue
        cmd = " ".join(issue.command) if issue.command else issue.probe
        hint = (Message(N_("A hung nvidia-smi usually means a wedged driver: check `dmesg` for Xid errors; a reboot clears it."))
                if "nvidia" in issue.probe else Message(N_("Raise the limit with --timeout S if the machine is just slow.")))
        yield finding("tool-timeout", Message(N_("{probe} did not answer in time"), probe=issue.probe),
                      Message(N_("{command}: {message}. Its facts are unknown in this report."), command=cmd, message=issue.message), [hint],
                      probe=issue.probe)


#: how a probe failed, as the finding's title says it
_FAILURE = {"crashed": N_("crashed"), "garbage": N_("garbage"), "error": N_("error")}


def probe_failed(ctx: RuleContext) -> Iterator[Finding]:
    for issue in ctx.snap.probe_issues:
        if issue.kind in ("crashed", "garbage", "error"):
            yield finding("probe-failed", issue.probe + ": " + Message(_FAILURE[issue.kind]), issue.message,
                          probe=issue.probe)


RULES = [shm_too_small, tool_timeout, probe_failed]
