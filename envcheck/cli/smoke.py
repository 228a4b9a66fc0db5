"""`envcheck smoke`: run the in-target GPU test, judge it, render it."""

from __future__ import annotations

from typing import List, Optional

import typer

from ..i18n import N_
from .common import gettext_of, one_form, refuse_non_python_run, stdout_console, target_context, write_line
from .doctor import TORCH_TIMEOUT_S


def register(app: typer.Typer) -> None:
    """Add `smoke` to the root app."""

    @app.command()
    def smoke(
        ctx: typer.Context,
        python: Optional[str] = typer.Option(None, "--python", metavar="PATH",
                                             envvar="ENVCHECK_PYTHON", show_envvar=False,
                                             help=N_("Interpreter whose torch runs the test.")),
        device: List[int] = typer.Option([], "--device", metavar="N", help=N_("Only this CUDA device (repeatable).")),
        no_multi: bool = typer.Option(False, "--no-multi", help=N_("Skip the peer-access and NCCL all-reduce test.")),
        timeout: float = typer.Option(120.0, "--timeout", metavar="S", min=1,
                                      help=N_("Limit in seconds for the GPU tests, once torch is imported.")),
        torch_timeout: float = typer.Option(TORCH_TIMEOUT_S, "--torch-timeout", metavar="S", min=1,
                                            envvar="ENVCHECK_TORCH_TIMEOUT", show_envvar=False,
                                            help=N_("Limit in seconds for importing torch in the target (the live "
                                                    "check), apart from --timeout: a cold import from a network "
                                                    "filesystem can take minutes.")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
        jsonl: bool = typer.Option(False, "--jsonl", help=N_("Print the report as JSON on one line, written at once "
                                                            "(many nodes can append to one file).")),
        markdown: bool = typer.Option(False, "--markdown", help=N_("Print Markdown.")),
    ) -> None:
        """A matmul (fp32/tf32/fp16/bf16) and bandwidth test on every GPU, held against the GPU's peak."""
        _ = gettext_of(ctx, as_json or jsonl)
        one_form(("--json", as_json), ("--jsonl", jsonl), ("--markdown", markdown))
        from ..findings import exit_code
        from ..knowledge import Knowledge
        from ..probes import nvidia
        from ..smoke.render import render_smoke
        from ..smoke.host import MARKER, build_report, judge, make_config, parse_output, run_script

        probe_ctx = target_context(python, min(timeout, 10.0), True)
        knowledge = Knowledge()
        _driver, gpus, _issues = nvidia.probe(probe_ctx)
        config = make_config(gpus, knowledge, list(device) or None, not no_multi)
        topology = nvidia.topology(probe_ctx) if len(gpus) > 1 and not no_multi else None  # the fabric all-reduce uses
        result = run_script(probe_ctx, config, timeout + torch_timeout)  # the script imports torch, then tests
        refuse_non_python_run(probe_ctx.python or "python3", result, MARKER)
        report = build_report(parse_output(result), knowledge, topology=topology)
        findings = judge(report, gpus)
        if jsonl:  # the --json document, on one line
            import contextlib
            import io
            import json

            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                render_smoke(report, findings, "json", stdout_console, _=_)
            write_line(json.dumps(json.loads(buffer.getvalue()), separators=(",", ":"), ensure_ascii=True))
        else:
            render_smoke(report, findings, "json" if as_json else "markdown" if markdown else "terminal",
                         stdout_console, _=_)
        raise typer.Exit(exit_code(findings))
