"""Run every probe at once and assemble the snapshot.

Doctor's wall time is its slowest probe, not the sum: each independent probe runs on its own thread
(``runner.run_parallel``), and the few that need the target interpreter's prefix (pip, conda) run
right after the static target probe on the same thread. A probe that dies or outlives the deadline
becomes a ``ProbeIssue``, never an exception.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any, Callable, Dict, Optional, Set

from .. import __version__
from ..knowledge import Knowledge
from . import ProbeContext, target
from ..runner import Started, run_parallel
from ..snapshot import Cudnn, Meta, ProbeIssue, Snapshot, Torch

#: extra time the collector waits past the slowest probe's own timeout before giving up on it
DEADLINE_SLACK_S = 2.0


#: ``progress(probe, running)``: called as each probe starts (True) and ends (False), from its own thread
Progress = Callable[[str, bool], None]


def _timed(fn: Callable[[], Any], durations: Dict[str, float], key: str,
           progress: Optional[Progress] = None) -> Callable[[], Any]:
    def wrapper() -> Any:
        start = time.monotonic()
        _tell(progress, key, True)
        try:
            return fn()
        finally:
            durations[key] = round(time.monotonic() - start, 3)
            _tell(progress, key, False)
    return wrapper


def _tell(progress: Optional[Progress], key: str, running: bool) -> None:
    """A progress hook that fails must not sink the probe (it only shows what is being waited on)."""
    if progress is None:
        return
    try:
        progress(key, running)
    except Exception:  # noqa: BLE001 - display only
        pass


def _gpu_vendor_probe(name: str, ctx: ProbeContext) -> Any:
    """The AMD or Intel probe, imported on its own thread only when asked for (install-cmd usually is not)."""
    if name == "amd":
        from . import amd as module
    else:
        from . import intel as module
    return module.probe(ctx)


def _fault_probe(name: str, ctx: ProbeContext) -> Any:
    """The kernel-log, fabric, container or WSL probe, imported on its own thread."""
    if name == "kernel_log":
        from . import kernel_log as module
    elif name == "fabric":
        from . import fabric as module
    elif name == "container":
        from . import container as module
    else:
        from . import wsl as module
    return module.probe(ctx)


def collect(ctx: ProbeContext, knowledge: Knowledge, early: Optional[Dict[str, Started]] = None,
            only: Optional[Set[str]] = None, torch_timeout: Optional[float] = None,
            progress: Optional[Progress] = None) -> Snapshot:
    """Probe the machine and return a complete snapshot.

    ``early``: target probes the caller already started ("static", "live"; see ``envcheck.cli.entry``).
    ``only``: run just these probes (install-cmd needs nvidia, system and target-static; "amd" and "intel"
    add the AMD/ROCm and Intel/XPU GPUs).
    ``torch_timeout``: the limit for importing torch in the target (the live probe), apart from
    ``ctx.timeout`` (each command's); None: :data:`target.TORCH_TIMEOUT_S`.
    ``progress``: told as each probe starts and ends (the CLI's status line), see :data:`Progress`.
    """
    torch_limit = target.TORCH_TIMEOUT_S if torch_timeout is None else torch_timeout
    started = time.monotonic()
    early = early or {}
    durations: Dict[str, float] = {}

    from . import conda, cudnn, envvars, nvidia, pip_config, system, toolkits  # noqa: F401 (used below)

    def target_static_and_configs():
        py, torch_static, cudnn_bundled, issues = target.probe_static(ctx, started=early.get("static"))
        prefix = py.prefix
        pip = pip_config.probe(ctx, prefix, knowledge)
        conda_facts = conda.probe(ctx, py.conda_prefix or prefix)
        return py, torch_static, cudnn_bundled, issues, pip, conda_facts

    tasks: Dict[str, Callable[[], Any]] = {
        "nvidia": lambda: nvidia.probe(ctx),
        "amd": lambda: _gpu_vendor_probe("amd", ctx),
        "intel": lambda: _gpu_vendor_probe("intel", ctx),
        "toolkits": lambda: toolkits.probe(ctx),
        "cudnn": lambda: cudnn.probe(ctx),
        "system": lambda: system.probe(ctx),
        "system-basic": lambda: system.basic(ctx),
        "env": lambda: envvars.probe(ctx),
        "target-static": target_static_and_configs,
        # faults (issue 15): each reads a few files first and runs nothing without its evidence (an NVIDIA kernel
        # module, NVSwitch functions or the fabric manager, WSL), so they cost nothing elsewhere
        "kernel-log": lambda: _fault_probe("kernel_log", ctx),
        "fabric": lambda: _fault_probe("fabric", ctx),
        "container": lambda: _fault_probe("container", ctx),
        "wsl": lambda: _fault_probe("wsl", ctx),
    }
    if not ctx.fast:
        tasks["target-live"] = lambda: target.probe_live(ctx, timeout=torch_limit, started=early.get("live"))
    wanted = only if only is not None else set(tasks) - {"system-basic"}
    tasks = {key: _timed(fn, durations, key, progress) for key, fn in tasks.items() if key in wanted}

    deadline = (max(torch_limit, ctx.timeout) if "target-live" in tasks else ctx.timeout) + DEADLINE_SLACK_S
    results, errors = run_parallel(tasks, deadline)

    snap = Snapshot()
    issues = snap.probe_issues

    if "nvidia" in results:
        snap.driver, snap.gpus, more = results["nvidia"]
        issues.extend(more)
    if "amd" in results:
        snap.amd, more = results["amd"]
        issues.extend(more)
    if "intel" in results:
        snap.intel, more = results["intel"]
        issues.extend(more)
    if "toolkits" in results:
        snap.cuda_toolkits, more = results["toolkits"]
        issues.extend(more)
    system_cudnn = Cudnn()
    if "cudnn" in results:
        system_cudnn, more = results["cudnn"]
        issues.extend(more)
    if "system" in results or "system-basic" in results:
        snap.system = results.get("system") or results["system-basic"]
    if "env" in results:
        snap.env = results["env"]
    if "kernel-log" in results:
        snap.kernel_log, more = results["kernel-log"]
        issues.extend(more)
    if "fabric" in results:
        snap.fabric, more = results["fabric"]
        issues.extend(more)
    if "container" in results:
        snap.container_runtime = results["container"]
    if "wsl" in results:
        snap.wsl_cuda, more = results["wsl"]
        issues.extend(more)

    torch_static: Optional[Torch] = None
    bundled = Cudnn()
    if "target-static" in results:
        snap.python, torch_static, bundled, more, snap.pip, snap.conda = results["target-static"]
        issues.extend(more)
    torch_live: Optional[Torch] = None
    loaded = Cudnn()
    if "target-live" in results:
        torch_live, loaded, more = results["target-live"]
        issues.extend(more)

    snap.torch = target.merge_torch(torch_static or Torch(), torch_live)
    snap.cudnn = Cudnn(
        bundled=bundled.bundled,
        system=system_cudnn.system,
        conda=system_cudnn.conda,
        loaded=loaded.loaded,
        torch_reported=loaded.torch_reported,
    )

    for key, message in errors.items():
        kind = "timeout" if message.startswith("timeout") else "error"
        issues.append(ProbeIssue(probe=key, kind=kind, message=message))
        if key == "target-live" and snap.torch.error is None and kind == "timeout":
            snap.torch.error = message
            snap.torch.error_kind = "timeout"

    snap.meta = Meta(
        envcheck_version=__version__,
        created_at=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        duration_s=round(time.monotonic() - started, 3),
        fast=ctx.fast,
        origin="doctor",
        probe_durations_s=dict(sorted(durations.items())),
    )
    return snap
