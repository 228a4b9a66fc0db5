"""`envcheck fleet` and `envcheck diff`: command registration (kept apart so the main CLI module stays thin)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer


def _usage(message: str) -> Exception:
    from .cli import UsageProblem

    return UsageProblem(message)


def _console():
    from .cli import _stdout_console

    return _stdout_console()


def _write(path: Path, text: str) -> None:
    from .cli import _write_atomic

    if str(path) == "-":
        sys.stdout.write(text)
    else:
        _write_atomic(path, text)


def register(app: typer.Typer) -> None:
    """Add the `fleet` and `diff` commands to the main app."""

    @app.command()
    def fleet(
        reports: List[str] = typer.Argument(None, metavar="REPORT...",
                                            help="doctor/smoke --json files, folders (read recursively), or - for "
                                                 "stdin (the default when stdin is a pipe)."),
        as_json: bool = typer.Option(False, "--json", help="Print the whole aggregate as JSON."),
        markdown: bool = typer.Option(False, "--markdown", help="Print Markdown."),
        html: Optional[Path] = typer.Option(None, "--html", metavar="FILE",
                                            help="Also write a self-contained HTML page with charts (- for stdout)."),
        limit: int = typer.Option(20, "--limit", metavar="N", min=1,
                                  help="Rows per section in the terminal, Markdown and HTML views."),
    ) -> None:
        """Aggregate many nodes' reports: distributions, nodes off the majority, smoke outliers, findings."""
        if as_json and markdown:
            raise _usage("choose one of --json and --markdown")
        sources = list(reports or [])
        if not sources:
            if sys.stdin is None or sys.stdin.isatty():
                raise _usage("give report files or folders, or pipe JSON reports on stdin (see envcheck fleet --help)")
            sources = ["-"]
        from .fleet import load
        from .fleet.render import fleet_data, render_html, render_markdown, render_terminal

        result = load(sources)
        if result.skipped:
            shown = "; ".join(f"{s.source}: {s.reason}" for s in result.skipped[:3])
            more = f" (+{len(result.skipped) - 3} more, listed in --json)" if len(result.skipped) > 3 else ""
            typer.echo(f"envcheck: skipped {len(result.skipped)} unreadable report(s): {shown}{more}", err=True)
        if not result.nodes:
            raise _usage("no envcheck report could be read from " + ", ".join(sources))
        if html is not None:
            _write(html, render_html(result, limit=max(limit, 200)))
        if as_json:
            import json

            sys.stdout.write(json.dumps(fleet_data(result), indent=2, ensure_ascii=False) + "\n")
        elif markdown:
            sys.stdout.write(render_markdown(result, limit))
        elif html is None or str(html) != "-":
            render_terminal(result, _console(), limit)
            if html is not None:
                typer.echo(f"wrote {html}", err=True)
        raise typer.Exit(0)

    @app.command()
    def diff(
        a: Path = typer.Argument(..., metavar="A.json", help="A doctor --json report or --save snapshot (the working one)."),
        b: Path = typer.Argument(..., metavar="B.json", help="The other one (the broken one)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        markdown: bool = typer.Option(False, "--markdown", help="Print Markdown."),
    ) -> None:
        """Two machines' reports side by side: only the facts and findings that differ, most telling first.

        Exit 0 when nothing differs, 1 when something does (like diff(1)), 3 when a file cannot be read.
        """
        if as_json and markdown:
            raise _usage("choose one of --json and --markdown")
        from .diff import diff_data, diff_files, render_markdown, render_terminal

        try:
            result = diff_files(a, b)
        except ValueError as exc:
            raise _usage(str(exc)) from exc
        if as_json:
            import json

            sys.stdout.write(json.dumps(diff_data(result), indent=2, ensure_ascii=False) + "\n")
        elif markdown:
            sys.stdout.write(render_markdown(result))
        else:
            render_terminal(result, _console())
        raise typer.Exit(0 if result.same else 1)
