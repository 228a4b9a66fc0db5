"""`envcheck install-cmd`: the options, the machine's facts (probed, or from a saved snapshot), the
resolver's choice, and the plan printed (:mod:`envcheck.install.render`).

The facts come from doctor's own probes and snapshot (only the three it needs: GPUs and driver,
the system, the target interpreter), so install-cmd and doctor can never disagree about a machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from ..i18n import N_, Gettext, Message, english
from .common import UsageProblem, early_probes, gettext_of, read_snapshot, refuse_non_python, stdout_console

if TYPE_CHECKING:
    from ..install.request import InstallRequest
    from ..knowledge import Knowledge
    from ..snapshot import Snapshot


def register(app: typer.Typer) -> None:
    """Add `install-cmd` to the root app."""

    @app.command("install-cmd")
    def install_cmd(
        ctx: typer.Context,
        os_name: Optional[str] = typer.Option(None, "--os", metavar="linux|windows|macos", help=N_("Target OS.")),
        arch: Optional[str] = typer.Option(None, "--arch", metavar="ARCH", help=N_("CPU architecture (x86_64, aarch64).")),
        python: Optional[str] = typer.Option(None, "--python", metavar="X.Y|PATH",
                                             help=N_("Target Python version, or an interpreter to probe.")),
        driver: Optional[str] = typer.Option(None, "--driver", metavar="VER",
                                             help=N_("NVIDIA driver version, e.g. 535.104.05.")),
        no_gpu: bool = typer.Option(False, "--no-gpu", help=N_("Prepare for a machine without an NVIDIA GPU.")),
        gpu: List[str] = typer.Option([], "--gpu", metavar="NAME", help=N_("A GPU by name (repeatable), e.g. 'RTX 4090'.")),
        compute_capability: List[str] = typer.Option([], "--compute-capability", metavar="X.Y",
                                                     help=N_("A GPU by compute capability (repeatable).")),
        torch_version: Optional[str] = typer.Option(None, "--torch", metavar="VER",
                                                    help=N_("Keep this torch; pair the rest.")),
        cuda: Optional[str] = typer.Option(None, "--cuda", metavar="X.Y|cpu", help=N_("Ask for this CUDA build (or cpu).")),
        manager: List[str] = typer.Option([], "--manager", metavar="pip|uv|conda", help=N_("Which commands (repeatable).")),
        mirror: Optional[str] = typer.Option(None, "--mirror", metavar="NAME",
                                             help=N_("Use a mirror (tuna, aliyun, ...).")),
        with_packages: List[str] = typer.Option([], "--with", metavar="NAME",
                                                help=N_("Also pair a companion (repeatable): torchaudio, xformers, "
                                                        "torchao, torchcodec; no-torchvision leaves torchvision out.")),
        keep_torch: Optional[bool] = typer.Option(None, "--keep-torch/--replace-torch",
                                                  help=N_("Keep the installed torch and pair the rest to it (the "
                                                          "default when a torch that fits is installed).")),
        out_format: str = typer.Option("shell", "--format", metavar="shell|requirements|uv-project|pip-conf",
                                       help=N_("Print shell commands, a requirements.txt, pyproject.toml tables for "
                                               "uv, or a pip.conf.")),
        from_file: Optional[Path] = typer.Option(None, "--from", metavar="FILE", help=N_("Use a saved doctor snapshot.")),
        timeout: float = typer.Option(10.0, "--timeout", metavar="S", min=0.1, help=N_("Per-command timeout in seconds.")),
        every: bool = typer.Option(False, "--all", help=N_("Also print the lines through every mirror envcheck "
                                                             "knows.")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
    ) -> None:
        """The matching pip / uv / conda commands for this machine (or for the constraints given), and why."""
        from ..install.request import MANAGERS, InstallRequest
        from ..knowledge import Knowledge

        request = InstallRequest(os_name=os_name, arch=arch, python=python, driver=driver, no_gpu=no_gpu, gpus=gpu,
                                 capabilities=compute_capability, torch=torch_version, cuda=cuda,
                                 managers=manager or list(MANAGERS), mirror=mirror, timeout=timeout,
                                 with_packages=with_packages, keep_torch=keep_torch, out_format=out_format,
                                 every_mirror=every)
        code = run_install_cmd(request, Knowledge(), read_snapshot(from_file) if from_file else None,
                               as_json, early_probes(ctx), gettext_of(ctx, as_json))
        raise typer.Exit(code)


def run_install_cmd(req: "InstallRequest", knowledge: "Knowledge", snap: Optional["Snapshot"], as_json: bool,
                    early: Optional[dict] = None, _: Gettext = english) -> int:
    """Check the flags, probe the machine unless a snapshot is given, resolve, print; the exit code.

    ``_`` is the language of the terminal output; JSON and its usage problems are always English.
    """
    import sys

    from ..findings import ExitCode
    from ..install.keep import choose_keeping
    from ..install.plan import make_plan
    from ..install.render import FORMATS, no_fit_json, plan_json, render_format, render_no_fit, render_plan
    from ..install.request import InvalidRequest, build_target, check_managers, requested_mirror
    from ..install.resolve import NoFit

    try:
        check_managers(req)
        if req.out_format not in FORMATS:
            raise InvalidRequest(Message(N_("{option}: choose {formats}"), option=f"--format {req.out_format!r}",
                                         formats=", ".join(FORMATS)))
        mirror = requested_mirror(req, knowledge)
        if snap is None:
            snap = _probe_machine(req.python_path(), req.timeout, knowledge, early)
            if req.python_path():
                refuse_non_python(snap)
        target = build_target(req, snap, knowledge)
    except InvalidRequest as exc:
        raise _usage_problem(exc.message, as_json) from exc
    try:
        choice, notes = choose_keeping(target, knowledge, mirror, snap,
                                       False if (req.torch or req.cuda) else req.keep_torch)
    except NoFit as exc:
        if as_json:
            sys.stdout.write(no_fit_json(exc.reasons))
        else:
            render_no_fit(exc.reasons, stdout_console(), _)
        return ExitCode.NO_FIT
    plan = make_plan(choice, target.os, req.managers, mirror, arch=target.arch, conda=knowledge.conda_facts(),
                     knowledge=knowledge, python=target.python, every_mirror=req.every_mirror)
    plan.alternatives = notes + plan.alternatives
    if as_json:
        sys.stdout.write(plan_json(plan))
    elif req.out_format != "shell":
        sys.stdout.write(render_format(plan, target, req.out_format, _))
    else:
        render_plan(plan, target, stdout_console(), _)
    return ExitCode.OK


def _probe_machine(python_path: Optional[str], timeout: float, knowledge: "Knowledge",
                   early: Optional[dict]) -> "Snapshot":
    """doctor's probes, only the three install-cmd needs."""
    from ..install.request import InvalidRequest
    from ..probes.collect import collect
    from ..probes.target import TargetNotFound, context_for

    try:
        ctx = context_for(python_path, timeout, fast=True)
    except TargetNotFound as exc:
        raise InvalidRequest(exc.message) from exc
    return collect(ctx, knowledge, early=early, only={"nvidia", "amd", "intel", "system-basic", "target-static"})


def _usage_problem(message: Message, as_json: bool) -> UsageProblem:
    """A usage problem worded for the run: in English when the output is JSON (as install-cmd always did)."""
    return UsageProblem(str(message) if as_json else message)
