"""`envcheck install-cmd`: gather the machine's facts (or take them from flags), resolve, print commands.

The facts come from doctor's own probes and snapshot (only the three it needs: GPUs and driver,
the system, the target interpreter), so install-cmd and doctor can never disagree about a machine.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from ..findings import ExitCode
from ..i18n import Gettext, english
from .plan import Plan, make_plan
from ..knowledge import Knowledge
from .resolve import NoFit, Target, resolve, target_from_snapshot
from ..snapshot import Snapshot
from ..versions import capability, major_minor

_OSES = {"linux": "linux", "windows": "windows", "win": "windows", "macos": "macos", "darwin": "macos", "mac": "macos"}
_MANAGERS = ("pip", "uv", "conda")


@dataclass
class InstallRequest:
    os_name: Optional[str] = None
    arch: Optional[str] = None
    python: Optional[str] = None
    driver: Optional[str] = None
    no_gpu: bool = False
    gpus: List[str] = field(default_factory=list)
    capabilities: List[str] = field(default_factory=list)
    torch: Optional[str] = None
    cuda: Optional[str] = None
    managers: List[str] = field(default_factory=lambda: list(_MANAGERS))
    mirror: Optional[str] = None
    timeout: float = 10.0


def _probe_machine(python_path: Optional[str], timeout: float, knowledge: Knowledge, early=None,
                   _: Gettext = english) -> Snapshot:
    from ..probes.collect import collect
    from ..probes.target import TargetNotFound, context_for

    try:
        ctx = context_for(python_path, timeout, fast=True)
    except TargetNotFound as exc:
        raise ValueError(exc.message.text(_)) from exc
    return collect(ctx, knowledge, early=early, only={"nvidia", "system-basic", "target-static"})


def build_target(req: InstallRequest, snap: Optional[Snapshot], knowledge: Knowledge,
                 _: Gettext = english) -> Target:
    """The resolver's target: the machine's facts, overridden by every flag given."""
    target = target_from_snapshot(snap) if snap is not None else Target()
    if req.os_name:
        os_key = _OSES.get(req.os_name.lower())
        if os_key is None:
            raise ValueError(_("{option}: choose linux, windows or macos").format(option=f"--os {req.os_name!r}"))
        target.os = os_key
    if req.arch:
        target.arch = req.arch
    if req.python and not _is_path(req.python):
        if major_minor(req.python) is None:
            raise ValueError(_("{option}: give a version like 3.11, or a path to an interpreter").format(
                option=f"--python {req.python!r}"))
        target.python = major_minor(req.python)
    if req.driver:
        if major_minor(req.driver) is None:
            raise ValueError(_("{option}: give a version like 535.104.05").format(option=f"--driver {req.driver!r}"))
        target.driver, target.driver_cuda = req.driver, None
    caps: List[str] = []
    names: List[str] = []
    for name in req.gpus:
        spec = knowledge.gpu_by_name(name)
        if spec is None:
            raise ValueError(_("{option}: not a GPU envcheck knows; give --compute-capability X.Y instead").format(
                option=f"--gpu {name!r}"))
        caps.append(spec.compute_capability)
        names.append(spec.name)
    for cc in req.capabilities:
        parsed = capability(cc)
        if parsed is None:
            raise ValueError(_("{option}: give it as X.Y, e.g. 8.6").format(option=f"--compute-capability {cc!r}"))
        caps.append(f"{parsed[0]}.{parsed[1]}")
    if caps:
        target.capabilities, target.gpu_names, target.no_gpu = caps, names, False
    if req.no_gpu:
        target.capabilities, target.gpu_names, target.no_gpu = [], [], True
        target.driver = target.driver_cuda = None
    elif (req.driver or caps) and target.no_gpu:
        target.no_gpu = False
    target.torch, target.cuda = req.torch, req.cuda
    return target


def _is_path(value: str) -> bool:
    return os.sep in value or value.startswith(".") or os.path.exists(value)


def run_install_cmd(req: InstallRequest, knowledge: Knowledge, snap: Optional[Snapshot], as_json: bool,
                    console_factory: Callable, early=None, _: Gettext = english) -> int:
    """Resolve and print; ``_`` is the language of the terminal output (JSON is always English)."""
    if as_json:
        _ = english
    bad = [m for m in req.managers if m not in _MANAGERS]
    if bad:
        raise ValueError(_("{option}: choose pip, uv or conda").format(option=f"--manager {bad[0]!r}"))
    mirror = None
    if req.mirror:
        mirror = knowledge.mirror(req.mirror)
        if mirror is None:
            known = ", ".join(m.name for m in knowledge.mirrors())
            raise ValueError(_("{option} is not a mirror envcheck knows ({known})").format(
                option=f"--mirror {req.mirror!r}", known=known))
    if snap is None:
        snap = _probe_machine(req.python if req.python and _is_path(req.python) else None, req.timeout, knowledge,
                              early, _)
    target = build_target(req, snap, knowledge, _)
    try:
        choice = resolve(target, knowledge, _=_)
    except NoFit as exc:
        if as_json:
            sys.stdout.write(json.dumps({"error": "no torch build fits", "reasons": exc.reasons}, indent=2) + "\n")
        else:
            from rich.text import Text

            console = console_factory()
            console.print(Text(_("No torch build fits these constraints."), style="bold red"))
            for reason in exc.reasons:
                console.print(f"  - {reason}", markup=False, highlight=False)
        return ExitCode.NO_FIT
    plan = make_plan(choice, target.os, req.managers, mirror, _=_, arch=target.arch, conda=knowledge.conda_facts())
    if as_json:
        sys.stdout.write(json.dumps(plan.to_data(), indent=2, ensure_ascii=False) + "\n")
    else:
        render_plan(plan, target, console_factory(), _=_)
    return ExitCode.OK


def render_plan(plan: Plan, target: Target, console, _: Gettext = english) -> None:
    from rich.text import Text

    machine = [target.os, target.arch]
    if target.python:
        machine.append(f"Python {target.python}")
    if target.driver or target.driver_cuda:
        machine.append(_("driver {version}").format(version=target.driver or "?")
                       + (f" (CUDA {target.driver_cuda})" if target.driver_cuda else ""))
    if target.capabilities:
        machine.append(_("GPUs {capabilities}").format(capabilities=", ".join(f"cc {c}" for c in target.capabilities)))
    elif target.no_gpu:
        machine.append(_("no NVIDIA GPU"))
    console.print(Text.assemble(("torch ", "bold"), (f"{plan.torch} {plan.variant}", "bold green"),
                                _("  with torchvision {torchvision}, torchaudio {torchaudio}").format(
                                    torchvision=plan.torchvision or "-", torchaudio=plan.torchaudio or "-")))
    console.print(Text(_("for {machine}").format(machine=", ".join(machine)), style="dim"))
    console.print()
    for reason in plan.reasons:
        console.print(Text(_("  why: {reason}").format(reason=reason)))
    console.print()
    for c in plan.commands:
        label = _("{manager} via {mirror}").format(manager=c.manager, mirror=c.mirror) if c.mirror else c.manager
        console.print(Text(f"# {label}: {c.note}", style="dim"))
        console.print(Text(c.command, style="green"), soft_wrap=True)  # never wrapped: it gets copied
    for w in plan.warnings:
        console.print(Text(f"! {w}", style="yellow"))
    if plan.alternatives:
        console.print()
        for alt in plan.alternatives:
            console.print(Text(_("  also: {alternative}").format(alternative=alt), style="dim"))
