"""Rules about the host: container limits and tools that failed to answer."""

from __future__ import annotations

import re
from typing import Iterator

from ..findings import Finding
from ..i18n import N_, Message
from ..snapshot import ProbeIssue
from .base import RuleContext, finding
from .torch_rules import stage_phase

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


def _startup_hang(ctx: RuleContext, issue: ProbeIssue) -> Finding:
    """The target interpreter printed not even the first line of envcheck's script: its own start-up hangs."""
    python = ctx.snap.python.executable or (issue.command[0] if issue.command else "python")
    seconds = f"{issue.duration_s:.1f}" if issue.duration_s is not None else "?"
    return finding(
        "tool-timeout", Message(N_("{python} hangs while starting, before it runs any code"), python=python),
        Message(N_("It printed nothing within {seconds} s, not even the first line of envcheck's script: what hangs is "
                   "the interpreter's own start-up, which imports a sitecustomize or usercustomize module, runs every "
                   ".pth file in site-packages and reads each directory on sys.path (PYTHONPATH on a slow or unreachable "
                   "network filesystem). torch was never imported: this says nothing about torch."), seconds=seconds),
        [f"{python} -X importtime -c pass   # " + Message(N_("lists each module as it finishes importing at start-up: "
                                                             "the hang is in one imported after the last line")),
         f"{python} -S -c pass   # " + Message(N_("without the site module (no .pth files, no sitecustomize): if this "
                                                  "returns at once, the cause is in site-packages")),
         f"{python} -S -c \"import sysconfig; print(sysconfig.get_paths()['purelib'])\"   # " + Message(N_(
             "the site-packages to look in for sitecustomize.py, usercustomize.py and *.pth files")),
         "env | grep '^PYTHON'   # " + Message(N_("a PYTHONPATH entry on a filesystem that does not answer"))],
        severity="error", probe=issue.probe, stage=issue.stage)


def tool_timeout(ctx: RuleContext) -> Iterator[Finding]:
    startup_said = False
    for issue in ctx.snap.probe_issues:
        if issue.kind != "timeout":
            continue
        phase = stage_phase(issue)
        if phase in ("import", "cuda", "xpu"):
            continue  # torch-import-failed names the stage that hangs, with its fixes
        if phase == "startup":
            if not startup_said:  # the static and the live probe hang alike: one finding
                startup_said = True
                yield _startup_hang(ctx, issue)
            continue
        cmd = " ".join(issue.command) if issue.command else issue.probe
        if "nvidia" in issue.probe:
            hint = Message(N_("A hung nvidia-smi usually means a wedged driver: check `dmesg` for Xid errors; a reboot clears it."))
        elif phase == "script":
            hint = Message(N_("envcheck's script was reading the packages on sys.path in the target: a slow or unreachable "
                              "filesystem there slows every import too. Raise the limit with --timeout S if the machine "
                              "is just slow."))
        else:
            hint = Message(N_("Raise the limit with --timeout S if the machine is just slow."))
        yield finding("tool-timeout", Message(N_("{probe} did not answer in time"), probe=issue.probe),
                      Message(N_("{command}: {message}. Its facts are unknown in this report."), command=cmd, message=issue.message), [hint],
                      probe=issue.probe)


#: how a probe failed, as the finding's title says it
_FAILURE = {"crashed": N_("crashed"), "garbage": N_("garbage"), "error": N_("error")}
#: the runner's words for a file that exists but may not be executed (runner.not_executable_reason)
_MODE = re.compile(r"not executable \(mode (?P<mode>0[0-7]{3,4})\)")
_NOT_A_PROGRAM = "not a program this system can run"


def _not_executable(issue: ProbeIssue) -> Finding:
    """A tool that is there but cannot be run: said as such, never as "not installed" (nor, for nvidia-smi, "no
    NVIDIA GPU"): what it would have told stays unknown."""
    path = issue.command[0] if issue.command else issue.probe
    tool = issue.probe
    mode = _MODE.search(issue.message)
    if mode:
        title = Message(N_("{tool} at {path} is not executable (mode {mode})"), tool=tool, path=path, mode=mode.group("mode"))
    else:
        reason = issue.message.split(": ", 1)[-1] if issue.message.startswith(path) else issue.message
        title = Message(N_("{tool} at {path} cannot be run: {reason}"), tool=tool, path=path, reason=reason)
    detail = Message(N_("The file is there, so {tool} is not missing; but it cannot be run, so what it would tell is "
                        "unknown in this report."), tool=tool)
    if "nvidia" in tool:
        detail += Message(N_(" That says nothing about whether this machine has an NVIDIA GPU or driver."))
    if _NOT_A_PROGRAM in issue.message:
        fix = [f"file {path}   # " + Message(N_("another CPU architecture, or a truncated or damaged file: reinstall the "
                                                "package that owns it"))]
    elif mode:
        fix = [f"ls -l {path}",
               f"sudo chmod 755 {path}   # " + Message(N_("if it is meant to be a program; else reinstall the package "
                                                          "that owns it"))]
    else:  # execute bits set and still refused
        fix = [f"findmnt -T {path}   # " + Message(N_("a filesystem mounted noexec refuses every program on it")),
               f"ls -l {path}"]
    return finding("probe-failed", title, detail, fix, severity="warning", probe=tool, path=path,
                   mode=mode.group("mode") if mode else None)


def probe_failed(ctx: RuleContext) -> Iterator[Finding]:
    for issue in ctx.snap.probe_issues:
        if issue.kind in ("crashed", "garbage", "error"):
            yield finding("probe-failed", issue.probe + ": " + Message(_FAILURE[issue.kind]), issue.message,
                          probe=issue.probe)
        elif issue.kind == "not-executable":
            yield _not_executable(issue)


RULES = [shm_too_small, tool_timeout, probe_failed]
