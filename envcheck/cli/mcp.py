"""`envcheck mcp`: serve doctor, analyze, install-cmd, smoke and explain to an AI assistant over MCP (stdio).

The tools run this very command line in-process (:func:`cli_runner`: the root command with ``--json``,
standard output captured), so each answers with exactly the JSON its command prints, from the same code.
The SDK is the optional extra ``torch-envcheck[mcp]``; only this command, once it runs, imports it (through
:mod:`envcheck.mcp_server.server`), so ``import envcheck`` and every other command never load it.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..findings import ExitCode
from ..i18n import N_, Message, english
from .common import UsageProblem

#: the first SDK release with ``mcp.server.mcpserver.MCPServer`` (1.x called it FastMCP)
NEEDED = "2.0"


def register(app: typer.Typer) -> None:
    """Add `mcp` to the root app."""

    @app.command("mcp")
    def mcp_command(ctx: typer.Context) -> None:
        """Serve doctor, analyze, install-cmd, smoke and explain as read-only tools to an AI assistant (MCP, stdio)."""
        server = _server_module()
        if _stdin_is_terminal():  # a person typed it: say what it waits for (an MCP host starts it with pipes)
            from .common import err, gettext_of
            _ = gettext_of(ctx)
            err(_("envcheck mcp: serving MCP on standard input and output, for an MCP host to start (Ctrl-D ends)"))
        server.serve(cli_runner(app))
        raise typer.Exit(ExitCode.OK)


def _server_module():
    """envcheck's MCP server, or a usage problem that says how to install the SDK."""
    try:
        from ..mcp_server import server
    except ImportError as exc:
        missing = exc.name or ""
        if missing in ("mcp", "mcp_types"):  # no SDK at all: the optional extra is not installed
            raise UsageProblem(Message(N_("envcheck mcp needs the MCP SDK (Python 3.10 or newer): pip install "
                                          "'torch-envcheck[mcp]'"))) from exc
        if not missing.startswith("mcp"):
            raise  # not the SDK: envcheck's own bug, reported as one
        raise UsageProblem(Message(N_("envcheck mcp needs mcp {needed} or newer (installed: {installed}): pip "
                                      "install -U 'torch-envcheck[mcp]'"), needed=NEEDED,
                                   installed=_installed())) from exc
    return server


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _installed() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mcp")
    except PackageNotFoundError:
        return "?"


def cli_runner(app: typer.Typer):
    """``run(args, stdin) -> CliRun``: ``envcheck --lang en ARGS`` in this process, with ``stdin`` (text) as its
    standard input and its standard output captured; usage problems and failures come back as one line, never
    a traceback (what :func:`.app.main` does for a terminal)."""
    import io
    from contextlib import redirect_stdout

    from ..mcp_server.tools import CliRun

    command = typer.main.get_command(app)

    def run(args: List[str], stdin: Optional[str] = None) -> CliRun:
        captured = io.StringIO()
        saved_stdin = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
        error = None
        try:
            with redirect_stdout(captured):
                code = command.main(args=["--lang", "en", *args], prog_name="envcheck", standalone_mode=False,
                                    obj={"early": {}})
        except UsageProblem as exc:
            code, error = ExitCode.USAGE, f"envcheck: {exc.text(english)}"
        except typer.Exit as exc:
            code = exc.exit_code
        except Exception as exc:
            if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click's UsageError / BadParameter
                from .wording import usage_error_text
                code, error = ExitCode.USAGE, usage_error_text(exc, english)
            else:
                code, error = ExitCode.INTERNAL, f"envcheck: internal error: {type(exc).__name__}: {exc}"
        finally:
            sys.stdin = saved_stdin
        return CliRun(code if isinstance(code, int) else ExitCode.OK, captured.getvalue(), error)

    return run
