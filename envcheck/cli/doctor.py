"""`envcheck doctor`: probe (or read a saved snapshot), judge, render, apply a policy, set the exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..findings import ExitCode
from ..i18n import N_
from .common import CommandTrace, ProbeStatus, UsageProblem, early_probes, err, gettext_of, one_form, out, \
    read_report, refuse_non_python, stdout_console, target_context, write_line, write_text

#: the default of --torch-timeout: ``envcheck.probes.target.TORCH_TIMEOUT_S`` (written out here so that
#: ``--help`` does not import the probes; a test holds the two equal)
TORCH_TIMEOUT_S = 120.0


def register(app: typer.Typer) -> None:
    """Add `doctor` to the root app."""

    @app.command()
    def doctor(
        ctx: typer.Context,
        python: Optional[str] = typer.Option(None, "--python", metavar="PATH",
                                             envvar="ENVCHECK_PYTHON", show_envvar=False,
                                             help=N_("Judge this interpreter (or env prefix) instead of the active one.")),
        timeout: float = typer.Option(10.0, "--timeout", metavar="S", min=0.1,
                                      envvar="ENVCHECK_TIMEOUT", show_envvar=False,
                                      help=N_("Per-command timeout in seconds.")),
        torch_timeout: float = typer.Option(TORCH_TIMEOUT_S, "--torch-timeout", metavar="S", min=1,
                                            envvar="ENVCHECK_TORCH_TIMEOUT", show_envvar=False,
                                            help=N_("Limit in seconds for importing torch in the target (the live "
                                                    "check), apart from --timeout: a cold import from a network "
                                                    "filesystem can take minutes.")),
        fast: bool = typer.Option(False, "--fast", help=N_("Skip the live check that imports torch (static facts only).")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print the report as JSON.")),
        jsonl: bool = typer.Option(False, "--jsonl", help=N_("Print the report as JSON on one line, written at once "
                                                            "(many nodes can append to one file).")),
        markdown: bool = typer.Option(False, "--markdown", help=N_("Print Markdown for a GitHub issue.")),
        save: Optional[Path] = typer.Option(None, "--save", metavar="FILE", help=N_("Also save the snapshot as JSON.")),
        from_file: Optional[Path] = typer.Option(None, "--from", metavar="FILE",
                                                 help=N_("Judge a saved snapshot instead of probing this machine "
                                                         "(a saved doctor --json report: show its own findings).")),
        strict: bool = typer.Option(False, "--strict", help=N_("Exit 1 when there are warnings (and no errors).")),
        facts: bool = typer.Option(True, "--facts/--no-facts", help=N_("Show the facts after the findings.")),
        require: List[str] = typer.Option([], "--require", metavar="EXPR",
                                          help=N_("A requirement (repeatable): torch>=2.3, cuda, gpus>=8, "
                                                  "gpu-memory>=70GiB, driver>=535, compute-capability>=8.0, no-warnings, "
                                                  "smoke-bf16>=500, no-finding=CODE. Unmet: exit 4.")),
        policy: Optional[Path] = typer.Option(None, "--policy", metavar="FILE",
                                              help=N_("A TOML file with require = [...] (as --require).")),
        verbose: bool = typer.Option(False, "--verbose", "-v",
                                     help=N_("On stderr: each probe, the commands it ran and how long each took.")),
        quiet: bool = typer.Option(False, "--quiet", "-q",
                                   help=N_("Print only the verdict line (the exit code says the rest).")),
    ) -> None:
        """Inspect driver, GPUs, CUDA toolkits, cuDNN, torch and its packages, pip and conda; report findings."""
        _ = gettext_of(ctx, as_json or jsonl)
        one_form(("--json", as_json), ("--jsonl", jsonl), ("--markdown", markdown), ("--quiet", quiet))
        requirements = []
        if require or policy is not None:
            from ..preflight.policy import PolicyError, parse_requirements
            try:
                requirements = parse_requirements(list(require), policy)
            except PolicyError as exc:
                raise UsageProblem(exc.message) from exc
        from ..findings import exit_code
        from ..knowledge import Knowledge
        from ..render.report import Report
        from ..rules import evaluate

        knowledge = Knowledge()
        recorded = None
        if from_file is not None:
            snap, recorded = read_report(from_file)  # a report's own findings, or a bare snapshot to judge here
        else:
            from ..probes.collect import collect
            probe_ctx = target_context(python, timeout, fast)
            with CommandTrace() as trace, ProbeStatus(gettext_of(ctx), enabled=None if not quiet else False) as status:
                snap = collect(probe_ctx, knowledge, early=early_probes(ctx), torch_timeout=torch_timeout,
                               progress=status)
            if verbose:
                trace.add_started(early_probes(ctx))
                for line in trace.lines(snap.meta.probe_durations_s):
                    err(line)
            refuse_non_python(snap)
        findings = recorded if recorded is not None else evaluate(snap, knowledge)
        report = Report(snap, findings)
        policy_result = None
        if requirements:
            from ..preflight.policy import evaluate as evaluate_policy, smoke_runner
            runner = None if from_file is not None else smoke_runner(requirements, python, snap.gpus, knowledge)
            policy_result = evaluate_policy(requirements, snap, findings, runner)
        outcome = None  # what the first line says of the policy
        if policy_result is not None:
            from ..render.report import PolicyOutcome
            outcome = PolicyOutcome(len(policy_result.results), [r.requirement.expr for r in policy_result.unmet])
        if save is not None:
            from ..redact import redact_data
            write_text(save, json.dumps(redact_data(snap.to_dict()), indent=2, ensure_ascii=False) + "\n")
        if as_json or jsonl:
            from ..render.report import report_data
            data = report_data(report)
            if policy_result is not None:
                from ..preflight.policy import policy_data
                from ..redact import redact_data
                data["policy"] = redact_data(policy_data(policy_result))
            if jsonl:
                write_line(json.dumps(data, separators=(",", ":"), ensure_ascii=True))
            else:
                sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        elif quiet:
            from ..render.terminal import verdict_line
            from ..render.report import redacted
            stdout_console().print(verdict_line(redacted(report), _=_, policy=outcome), soft_wrap=True)
        elif markdown:
            from ..render.markdown import render_markdown
            out(render_markdown(report, _=_, policy=outcome))
            if policy_result is not None:
                from ..preflight.render import policy_markdown
                out("\n" + policy_markdown(policy_result, _=_))
        else:
            from ..render.terminal import render_terminal
            render_terminal(report, stdout_console(), show_facts=facts, _=_, policy=outcome)
        code = exit_code(findings, strict=strict)
        if policy_result is not None:
            from ..preflight.render import policy_lines
            for line in policy_lines(policy_result, _=gettext_of(ctx)):
                err(line)
            if not policy_result.ok:
                code = ExitCode.POLICY
        raise typer.Exit(code)
