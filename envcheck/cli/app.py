"""The command-line layer: parse options, call the core, pick a renderer, set the exit code.

Kept thin on purpose: probing lives in ``collect``, judging in ``rules``, output in ``render``.
Heavy modules are imported inside the commands so ``envcheck --help`` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .. import __version__
from ..findings import ExitCode
from ..i18n import N_, Gettext, english

app = typer.Typer(
    name="envcheck",
    help=N_("Is this PyTorch/CUDA machine sound? What is wrong, and which commands fix it."),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


#: the exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it)
INTERRUPTED = 130


class UsageProblem(Exception):
    """envcheck could not run as asked (exit 3)."""


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"envcheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help=N_("Print envcheck's version and exit.")),
    lang: Optional[str] = typer.Option(None, "--lang", metavar="en|zh",
                                       help=N_("Language of the report (JSON stays English). Default: from "
                                               "LC_ALL, LC_MESSAGES, LANG (zh_* gives Chinese). Accepted anywhere "
                                               "on the line.")),
) -> None:
    """envcheck: diagnose, explain and fix PyTorch/CUDA environments."""
    import os

    from ..i18n import can_show, resolve_lang

    try:
        chosen = resolve_lang(lang, os.environ)
    except ValueError as exc:
        _ = _gettext_for_lang(resolve_lang(None, os.environ))
        raise UsageProblem(_("{option}: choose one of {choices}").format(option=f"--lang {lang!r}", choices="en, zh")) \
            from exc
    stdout_encoding = getattr(sys.stdout, "encoding", None)
    if not can_show(chosen, stdout_encoding):  # say it once, in words this stream can print
        typer.echo(f"envcheck: this output's encoding ({stdout_encoding}) cannot show --lang {chosen}: reporting in "
                   "English (use a UTF-8 locale, or PYTHONIOENCODING=utf-8)", err=True)
        chosen = "en"
    ctx.ensure_object(dict)["lang"] = chosen


def _gettext_for_lang(lang: str) -> Gettext:
    from ..i18n import gettext_for

    return gettext_for(lang) if lang != "en" else english


def _gettext(ctx: Optional[typer.Context], as_json: bool = False) -> Gettext:
    """The gettext function for this run's human-readable output: English for JSON, else --lang / the locale."""
    if as_json:
        return english
    root = ctx.find_root() if ctx is not None else None
    return _gettext_for_lang(((root.obj if root is not None else None) or {}).get("lang", "en"))


def hoist_lang(argv: List[str]) -> List[str]:
    """``--lang X`` / ``--lang=X`` anywhere before ``--`` moves to the front, where the root callback reads it,
    so ``envcheck doctor --lang zh`` works as well as ``envcheck --lang zh doctor``."""
    head, tail = (argv[:argv.index("--")], argv[argv.index("--"):]) if "--" in argv else (argv, [])
    moved: List[str] = []
    rest: List[str] = []
    i = 0
    while i < len(head):
        arg = head[i]
        if arg == "--lang" and i + 1 < len(head):
            moved += [arg, head[i + 1]]
            i += 2
            continue
        if arg.startswith("--lang="):
            moved.append(arg)
        else:
            rest.append(arg)
        i += 1
    return moved + rest + tail


def _stdout_console():
    """rich's console; NO_COLOR (https://no-color.org) turns off every escape code, not just colours."""
    import os
    from rich.console import Console
    if os.environ.get("NO_COLOR"):
        return Console(color_system=None, highlight=False)
    return Console(highlight=False)


def one_output(as_json: bool, markdown: bool, _: Gettext = english) -> None:
    """Refuse ``--json`` and ``--markdown`` together (every command that has both)."""
    if as_json and markdown:
        raise UsageProblem(_("choose one of {first} and {second}").format(first="--json", second="--markdown"))


def _read_snapshot(path: Path, _: Gettext = english):
    from ..snapshot import Snapshot
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)) from exc
    try:
        return Snapshot.from_json(text)
    except (ValueError, TypeError) as exc:
        raise UsageProblem(_("{path} is not an envcheck snapshot: {reason}").format(path=path, reason=exc)) from exc


def _write_atomic(path: Path, text: str, _: Gettext = english) -> None:
    """Write via a temporary file in the same folder, so a crash never leaves half a file."""
    import os
    import tempfile
    path = path.expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageProblem(_("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)) from exc


@app.command()
def doctor(
    ctx: typer.Context,
    python: Optional[str] = typer.Option(None, "--python", metavar="PATH",
                                         help=N_("Judge this interpreter (or env prefix) instead of the active one.")),
    timeout: float = typer.Option(10.0, "--timeout", metavar="S", min=0.1,
                                  help=N_("Per-command timeout in seconds.")),
    fast: bool = typer.Option(False, "--fast", help=N_("Skip the live check that imports torch (static facts only).")),
    as_json: bool = typer.Option(False, "--json", help=N_("Print the report as JSON.")),
    markdown: bool = typer.Option(False, "--markdown", help=N_("Print Markdown for a GitHub issue.")),
    save: Optional[Path] = typer.Option(None, "--save", metavar="FILE", help=N_("Also save the snapshot as JSON.")),
    from_file: Optional[Path] = typer.Option(None, "--from", metavar="FILE",
                                             help=N_("Judge a saved snapshot instead of probing this machine.")),
    strict: bool = typer.Option(False, "--strict", help=N_("Exit 1 when there are warnings (and no errors).")),
    facts: bool = typer.Option(True, "--facts/--no-facts", help=N_("Show the facts after the findings.")),
    require: List[str] = typer.Option([], "--require", metavar="EXPR",
                                      help=N_("A requirement (repeatable): torch>=2.3, cuda, gpus>=8, "
                                              "gpu-memory>=70GiB, driver>=535, compute-capability>=8.0, no-warnings, "
                                              "smoke-bf16>=500, no-finding=CODE. Unmet: exit 4.")),
    policy: Optional[Path] = typer.Option(None, "--policy", metavar="FILE",
                                          help=N_("A TOML file with require = [...] (as --require).")),
) -> None:
    """Inspect driver, GPUs, CUDA toolkits, cuDNN, torch and its packages, pip and conda; report findings."""
    _ = _gettext(ctx, as_json)
    one_output(as_json, markdown, _gettext(ctx))
    requirements = []
    if require or policy is not None:
        from ..preflight.policy import parse_requirements
        try:
            requirements = parse_requirements(list(require), policy, _=_gettext(ctx))
        except ValueError as exc:
            raise UsageProblem(str(exc)) from exc
    from ..findings import exit_code
    from ..knowledge import Knowledge
    from ..render.report import Report
    from ..rules import evaluate

    knowledge = Knowledge()
    if from_file is not None:
        snap = _read_snapshot(from_file, _gettext(ctx))
    else:
        snap = _probe(python, timeout, fast, knowledge, (ctx.obj or {}).get("early"), _gettext(ctx))
    findings = evaluate(snap, knowledge, _=_)
    report = Report(snap, findings)
    policy_result = None
    if requirements:
        from ..preflight.policy import evaluate as evaluate_policy, smoke_runner
        runner = None if from_file is not None else smoke_runner(requirements, python, snap.gpus, knowledge)
        policy_result = evaluate_policy(requirements, snap, findings, runner)
    if save is not None:
        from ..redact import redact_data
        _write_atomic(save, json.dumps(redact_data(snap.to_dict()), indent=2, ensure_ascii=False) + "\n",
                      _gettext(ctx))
    if as_json:
        from ..render.report import report_data
        data = report_data(report)
        if policy_result is not None:
            from ..preflight.policy import policy_data
            from ..redact import redact_data
            data["policy"] = redact_data(policy_data(policy_result))
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif markdown:
        from ..render.markdown import render_markdown
        sys.stdout.write(render_markdown(report, _=_))
        if policy_result is not None:
            from ..preflight.policy import policy_markdown
            sys.stdout.write("\n" + policy_markdown(policy_result, _=_))
    else:
        from ..render.terminal import render_terminal
        render_terminal(report, _stdout_console(), show_facts=facts, _=_)
    code = exit_code(findings, strict=strict)
    if policy_result is not None:
        from ..preflight.policy import policy_lines
        for line in policy_lines(policy_result, _=_gettext(ctx)):
            typer.echo(line, err=True)
        if not policy_result.ok:
            code = ExitCode.POLICY
    raise typer.Exit(code)


def _target_context(python: Optional[str], timeout: float, fast: bool, _: Gettext = english):
    """The probe context for ``--python`` (a usage error, in ``_``'s language, when it names no interpreter)."""
    from ..probes.target import TargetNotFound, context_for

    try:
        return context_for(python, timeout, fast)
    except TargetNotFound as exc:
        raise UsageProblem(exc.message.text(_)) from exc


def _probe(python: Optional[str], timeout: float, fast: bool, knowledge, early=None, _: Gettext = english):
    from ..probes.collect import collect

    ctx = _target_context(python, timeout, fast, _)
    return collect(ctx, knowledge, early=early)


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
        code = run_install_cmd(request, Knowledge(), _read_snapshot(from_file, _gettext(ctx)) if from_file else None,
                               as_json, _stdout_console, (ctx.obj or {}).get("early"), _=_gettext(ctx, as_json))
    except ValueError as exc:
        raise UsageProblem(str(exc)) from exc
    raise typer.Exit(code)


@app.command()
def smoke(
    ctx: typer.Context,
    python: Optional[str] = typer.Option(None, "--python", metavar="PATH",
                                         help=N_("Interpreter whose torch runs the test.")),
    device: List[int] = typer.Option([], "--device", metavar="N", help=N_("Only this CUDA device (repeatable).")),
    no_multi: bool = typer.Option(False, "--no-multi", help=N_("Skip the peer-access and NCCL all-reduce test.")),
    timeout: float = typer.Option(120.0, "--timeout", metavar="S", min=1, help=N_("Limit for the whole test.")),
    as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
    markdown: bool = typer.Option(False, "--markdown", help=N_("Print Markdown.")),
) -> None:
    """A matmul (fp32/tf32/fp16/bf16) and bandwidth test on every GPU, held against the GPU's peak."""
    _ = _gettext(ctx, as_json)
    one_output(as_json, markdown, _gettext(ctx))
    from ..findings import exit_code
    from ..knowledge import Knowledge
    from ..probes import nvidia
    from ..smoke.render import render_smoke
    from ..smoke.host import build_report, judge, make_config, parse_output, run_script

    probe_ctx = _target_context(python, min(timeout, 10.0), True, _gettext(ctx))
    knowledge = Knowledge()
    _driver, gpus, _issues = nvidia.probe(probe_ctx)
    config = make_config(gpus, knowledge, list(device) or None, not no_multi)
    report = build_report(parse_output(run_script(probe_ctx, config, timeout), _), knowledge)
    findings = judge(report, gpus, _)
    render_smoke(report, findings, "json" if as_json else "markdown" if markdown else "terminal", _stdout_console,
                 _=_)
    raise typer.Exit(exit_code(findings))


def _register_more() -> None:
    from . import analyze as cli_analyze, fleet as cli_fleet, mirrors as cli_mirrors

    cli_analyze.register(app)
    cli_mirrors.register(app)
    cli_fleet.register(app)


_register_more()


def message_gettext(args: List[str], env=None) -> Gettext:
    """The language of what main() itself prints (usage errors, --help, "interrupted"): ``--lang`` at the
    front of the hoisted ``args`` (see :func:`hoist_lang`), else the locale; an unknown ``--lang`` value
    falls back to the locale (the root command then refuses it, in that language)."""
    import os

    from ..i18n import can_show, resolve_lang

    env = os.environ if env is None else env
    flag = None
    if args and args[0] == "--lang" and len(args) > 1:
        flag = args[1]
    elif args and args[0].startswith("--lang="):
        flag = args[0].split("=", 1)[1]
    try:
        lang = resolve_lang(flag, env)
    except ValueError:
        lang = resolve_lang(None, env)
    if not can_show(lang, getattr(sys.stderr, "encoding", None)):
        lang = "en"
    return _gettext_for_lang(lang)


def main(argv: Optional[List[str]] = None, early=None) -> None:
    """Run the CLI; every way out is a documented exit code, never a traceback.

    ``early``: target probes already started by ``envcheck.cli.entry`` (an optimisation only).
    """
    args = hoist_lang(list(sys.argv[1:] if argv is None else argv))
    _ = message_gettext(args)
    if (len(args) == 2 and args[0] == "--lang") or (len(args) == 1 and args[0].startswith("--lang=")):
        args.append("--help")  # `envcheck --lang zh` alone: the overview, as plain `envcheck` gives
    try:
        command = typer.main.get_command(app)
        if _ is not english:
            from .wording import localize_help
            localize_help(command, _)
        code = command.main(args=args, prog_name="envcheck", standalone_mode=False, obj={"early": early or {}})
        if code == INTERRUPTED:  # typer turns Ctrl-C into this exit code, silently
            typer.echo(_("envcheck: interrupted"), err=True)
    except UsageProblem as exc:
        typer.echo(f"envcheck: {exc}", err=True)
        code = ExitCode.USAGE
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo(_("envcheck: interrupted"), err=True)
        code = INTERRUPTED
    except BrokenPipeError:
        code = 0
    except Exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `envcheck`: the help is already printed
            code = ExitCode.USAGE
        elif hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click's UsageError / BadParameter
            from .wording import usage_error_text
            typer.echo(usage_error_text(exc, _), err=True)
            code = ExitCode.USAGE
        else:  # the promise: whatever the machine, a message, not a traceback
            typer.echo(_("envcheck: internal error: {error} (please report it with {command})").format(
                error=f"{type(exc).__name__}: {exc}", command="`envcheck doctor --json`"), err=True)
            code = ExitCode.INTERNAL
    sys.exit(code if isinstance(code, int) else 0)
