"""install-cmd's renderer: the plan (or why nothing fits) for the terminal in the reader's language,
and as JSON in English. The only module of :mod:`envcheck.install` that words Messages.
"""

from __future__ import annotations

import json
from typing import List

from ..i18n import Gettext, Message, english, text_in
from .plan import Plan
from .resolve import Target

#: the JSON ``error`` of a run where no build fits (scripts match it)
NO_FIT_ERROR = "no torch build fits"
#: what --format can write besides JSON
FORMATS = ("shell", "requirements", "uv-project", "pip-conf")


def plan_json(plan: Plan) -> str:
    """The plan as the JSON install-cmd prints (English texts)."""
    return json.dumps(plan.to_data(), indent=2, ensure_ascii=False) + "\n"


def no_fit_json(reasons: List[Message]) -> str:
    """Why nothing fits, as the JSON install-cmd prints (English texts)."""
    return json.dumps({"error": NO_FIT_ERROR, "reasons": [str(r) for r in reasons]}, indent=2) + "\n"


def render_no_fit(reasons: List[Message], console, _: Gettext = english) -> None:
    """Why no torch build fits, one reason a line."""
    from rich.text import Text

    console.print(Text(_("No torch build fits these constraints."), style="bold red"))
    for reason in reasons:
        console.print(f"  - {text_in(reason, _)}", markup=False, highlight=False)


def render_plan(plan: Plan, target: Target, console, _: Gettext = english) -> None:
    """The chosen build, the machine it is for, why, and the commands (never wrapped: they get copied)."""
    from rich.text import Text

    machine = [target.os, target.arch]
    if target.python:
        machine.append(f"Python {target.python}")
    if target.driver or target.driver_cuda:
        machine.append(_("driver {version}").format(version=target.driver) + (f" (CUDA {target.driver_cuda})"
                                                                             if target.driver_cuda else "")
                       if target.driver else f"CUDA {target.driver_cuda}")
    if target.capabilities:
        machine.append(_("GPUs {capabilities}").format(capabilities=", ".join(f"cc {c}" for c in target.capabilities)))
    elif target.gfx:
        machine.append(_("AMD GPUs {gfx}").format(gfx=", ".join(target.gfx)))
    elif target.no_gpu:
        machine.append(_("no NVIDIA GPU"))
    companions = [f"{name} {version}" for name, version in plan.packages.items() if name != "torch"]
    console.print(Text.assemble(("torch ", "bold"), (f"{plan.torch} {plan.variant}", "bold green"),
                                _("  with {companions}").format(companions=", ".join(companions)) if companions
                                else ""))
    console.print(Text(_("for {machine}").format(machine=", ".join(machine)), style="dim"))
    console.print()
    for reason in plan.reasons:
        console.print(Text(_("  why: {reason}").format(reason=text_in(reason, _))))
    console.print()
    for c in plan.commands:
        label = _("{manager} via {mirror}").format(manager=c.manager, mirror=c.mirror) if c.mirror else c.manager
        console.print(Text(f"# {label}: {text_in(c.note, _)}", style="dim"))
        console.print(Text(c.command, style="green"), soft_wrap=True)  # never wrapped: it gets copied
    for w in plan.warnings:
        console.print(Text(f"! {text_in(w, _)}", style="yellow"))
    if plan.alternatives:
        console.print()
        for alt in plan.alternatives:
            console.print(Text(_("  also: {alternative}").format(alternative=text_in(alt, _)), style="dim"))


def render_format(plan: Plan, target: Target, out_format: str, _: Gettext = english) -> str:
    """The plan as a requirements.txt, pyproject.toml tables for uv, or a pip.conf (comments in ``_``'s language)."""
    from .spec import pip_conf, requirements_txt, uv_project

    header = [_("torch {build} for {platform}, Python {python}: envcheck install-cmd").format(
        build=f"{plan.torch} {plan.variant}", platform=target.platform, python=target.python or "-")]
    if plan.spec is None:
        return ""
    writers = {"requirements": requirements_txt, "uv-project": uv_project, "pip-conf": pip_conf}
    return writers[out_format](plan.spec, header)
