"""The root of the command line: the typer app, ``--lang``, ``--version``, and :func:`main`, the one place
where envcheck's own failures become exit codes.

Each command lives in a module of its own (``doctor``, ``install``, ``smoke``, ``analyze``, ``fleet``,
``mirrors``) that registers itself here; those modules import :mod:`.common`, never this root.
Heavy modules are imported inside the commands so ``envcheck --help`` stays instant.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from .. import __version__
from ..findings import ExitCode
from ..i18n import N_, Gettext, Message, english
from . import analyze, doctor, fleet, install, mirrors, smoke
from . import mcp as mcp_command  # envcheck mcp (the SDK itself is imported only inside the command)
from .common import INTERRUPTED, UsageProblem, err, gettext_for_lang, silence_stdout

app = typer.Typer(
    name="envcheck",
    help=N_("Is this PyTorch/CUDA machine sound? What is wrong, and which commands fix it."),
    add_completion=True,  # --install-completion, --show-completion: typer imports its completion code anyway
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: typer's own help for the completion options, marked here so the catalogue carries them (``--help`` in Chinese)
COMPLETION_HELP = (N_("Install completion for the current shell."),
                   N_("Show completion for the current shell, to copy it or customize the installation."))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"envcheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help=N_("Print envcheck's version and exit.")),
    lang: Optional[str] = typer.Option(None, "--lang", metavar="en|zh", envvar="ENVCHECK_LANG", show_envvar=False,
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
        raise UsageProblem(Message(N_("{option}: choose one of {choices}"), option=f"--lang {lang!r}",
                                   choices="en, zh")) from exc
    stdout_encoding = getattr(sys.stdout, "encoding", None)
    if not can_show(chosen, stdout_encoding):  # say it once, in words this stream can print
        typer.echo(f"envcheck: this output's encoding ({stdout_encoding}) cannot show --lang {chosen}: reporting in "
                   "English (use a UTF-8 locale, or PYTHONIOENCODING=utf-8)", err=True)
        chosen = "en"
    ctx.ensure_object(dict)["lang"] = chosen


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


for _command in (doctor, install, smoke, analyze, mirrors, fleet, mcp_command):  # the root imports the commands, never the reverse
    _command.register(app)



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
    flag = flag or env.get("ENVCHECK_LANG") or None  # as the root's --lang option reads it
    try:
        lang = resolve_lang(flag, env)
    except ValueError:
        lang = resolve_lang(None, env)
    if not can_show(lang, getattr(sys.stderr, "encoding", None)):
        lang = "en"
    return gettext_for_lang(lang)


def main(argv: Optional[List[str]] = None, early=None) -> None:
    """Run the CLI; every way out is a documented exit code, never a traceback.

    ``early``: target probes already started by ``envcheck.cli.entry`` (an optimisation only).
    """
    from ..render.encoding import install as encodable_streams
    from ..runner import CHILDREN, Stopped

    encodable_streams()  # a GBK, cp1252, cp437 or ASCII stream degrades marks and text, never raises (issue 17)
    restore_signals = CHILDREN.install()  # SIGTERM/SIGHUP: every child ended, then Stopped (exit 128 + signal)
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
        err(f"envcheck: {exc.text(_)}")
        code = ExitCode.USAGE
    except Stopped as exc:  # SIGTERM / SIGHUP: the children are already ended
        from ..runner import signal_name
        try:
            err(Message(N_("envcheck: stopped by {signal}"), signal=signal_name(exc.signum)).text(_))
        except (OSError, ValueError):  # SIGHUP: the terminal may be gone
            pass
        code = exc.code
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo(_("envcheck: interrupted"), err=True)
        code = INTERRUPTED
    except BrokenPipeError:
        silence_stdout()
        code = ExitCode.PIPE_CLOSED
    except SystemExit as exc:  # click meets a closed stdout with sys.exit(1) after wrapping the stream
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            silence_stdout()
            code = ExitCode.PIPE_CLOSED
        else:
            code = exc.code
    except Exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `envcheck`: the help is already printed
            code = ExitCode.USAGE
        elif hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click's UsageError / BadParameter
            from .wording import usage_error_text
            err(usage_error_text(exc, _))
            code = ExitCode.USAGE
        else:  # the promise: whatever the machine, a message, not a traceback
            typer.echo(_("envcheck: internal error: {error} (please report it with {command})").format(
                error=f"{type(exc).__name__}: {exc}", command="`envcheck doctor --json`"), err=True)
            code = ExitCode.INTERNAL
    try:  # what is still buffered goes out now, while a closed pipe can still be told apart
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        code = ExitCode.PIPE_CLOSED
    except (OSError, ValueError):
        pass
    CHILDREN.end_all(closing=False)  # every way out, early ones included: no child outlives envcheck
    restore_signals()
    sys.exit(code if isinstance(code, int) else 0)
