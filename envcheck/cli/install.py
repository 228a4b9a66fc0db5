"""`envcheck install-cmd`: the options, handed to :mod:`envcheck.install.request`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..i18n import N_
from .common import UsageProblem, early_probes, gettext_of, read_snapshot, stdout_console


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
        from_file: Optional[Path] = typer.Option(None, "--from", metavar="FILE", help=N_("Use a saved doctor snapshot.")),
        timeout: float = typer.Option(10.0, "--timeout", metavar="S", min=0.1, help=N_("Per-command timeout in seconds.")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
    ) -> None:
        """The matching pip / uv / conda commands for this machine (or for the constraints given), and why."""
        from ..knowledge import Knowledge
        from ..install.request import InstallRequest, run_install_cmd

        request = InstallRequest(os_name=os_name, arch=arch, python=python, driver=driver, no_gpu=no_gpu, gpus=gpu,
                                 capabilities=compute_capability, torch=torch_version, cuda=cuda,
                                 managers=manager or ["pip", "uv", "conda"], mirror=mirror, timeout=timeout)
        try:
            code = run_install_cmd(request, Knowledge(), read_snapshot(from_file) if from_file else None,
                                   as_json, stdout_console, early_probes(ctx), _=gettext_of(ctx, as_json))
        except ValueError as exc:
            raise UsageProblem(str(exc)) from exc
        raise typer.Exit(code)
