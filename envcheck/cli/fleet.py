"""`envcheck fleet` and `envcheck diff`: command registration (kept apart so the main CLI module stays thin)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from .common import err, out
from ..i18n import N_, text_in


def _usage(message: str) -> Exception:
    from .common import UsageProblem

    return UsageProblem(message)


def _console():
    from .common import stdout_console as _stdout_console

    return _stdout_console()


def _gettext(ctx: typer.Context, as_json: bool = False):
    """The run's language (English for JSON output); messages on stderr are read by a person: no ``as_json``."""
    from .common import gettext_of

    return gettext_of(ctx, as_json)


def _write(path: Path, text: str) -> None:
    from .common import write_text as _write_atomic

    if str(path) == "-":
        sys.stdout.write(text)
    else:
        _write_atomic(path, text)


def register(app: typer.Typer) -> None:
    """Add the `fleet` and `diff` commands to the main app."""

    @app.command()
    def fleet(
        ctx: typer.Context,
        reports: List[str] = typer.Argument(None, metavar="REPORT...",
                                            help=N_("doctor/smoke --json files, folders (read recursively), or - "
                                                    "for stdin (the default when stdin is a pipe).")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print the whole aggregate as JSON.")),
        markdown: bool = typer.Option(False, "--markdown", help=N_("Print Markdown.")),
        html: Optional[Path] = typer.Option(None, "--html", metavar="FILE",
                                            help=N_("Also write a self-contained HTML page with charts "
                                                    "(- for stdout).")),
        limit: int = typer.Option(20, "--limit", metavar="N", min=1,
                                  help=N_("Rows per section in the terminal, Markdown and HTML views.")),
    ) -> None:
        """Aggregate many nodes' reports: distributions, nodes off the majority, smoke outliers, findings."""
        _ = _gettext(ctx)  # for stderr and the HTML page: the reader's language, --json or not
        from .common import one_output

        one_output(as_json, markdown)
        sources = list(reports or [])
        if not sources:
            if sys.stdin is None or sys.stdin.isatty():
                raise _usage(_("give report files or folders, or pipe JSON reports on stdin (see {command})").format(
                    command="envcheck fleet --help"))
            sources = ["-"]
        from ..fleet import load
        from ..fleet.render import fleet_data, render_html, render_markdown, render_terminal

        result = load(sources)
        if result.skipped:
            shown = _("; ").join(_("{source}: {reason}").format(source=s.source, reason=text_in(s.reason, _))
                                   for s in result.skipped[:3])
            more = (_(" (+{count} more, listed in --json)").format(count=len(result.skipped) - 3)
                    if len(result.skipped) > 3 else "")
            err("envcheck: " + _("skipped {count} unreadable report(s): {shown}").format(
                count=len(result.skipped), shown=shown) + more)
        if not result.nodes:
            raise _usage(_("no envcheck report could be read from {sources}").format(sources=", ".join(sources)))
        report_lang = _gettext(ctx, as_json)
        if html is not None:
            _write(html, render_html(result, limit=max(limit, 200), _=_))
        if as_json:
            from ..render.jsontext import json_text

            sys.stdout.write(json_text(fleet_data(result), levels=3) + "\n")
        elif markdown:
            out(render_markdown(result, limit, _=report_lang))
        elif html is None or str(html) != "-":
            render_terminal(result, _console(), limit, _=report_lang)
            if html is not None:
                typer.echo(_("wrote {path}").format(path=html), err=True)
        raise typer.Exit(0)

    @app.command()
    def diff(
        ctx: typer.Context,
        a: Path = typer.Argument(..., metavar="A.json",
                                 help=N_("A doctor --json report or --save snapshot (the working one).")),
        b: Path = typer.Argument(..., metavar="B.json", help=N_("The other one (the broken one).")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
        markdown: bool = typer.Option(False, "--markdown", help=N_("Print Markdown.")),
    ) -> None:
        """Two machines' reports side by side: only the facts and findings that differ, most telling first.

        Exit 0 when nothing differs, 1 when something does (like diff(1)), 3 when a file cannot be read.
        """
        _ = _gettext(ctx)  # for stderr: the reader's language, --json or not
        from .common import one_output

        one_output(as_json, markdown)
        from ..fleet.diff import diff_data, diff_files
        from ..fleet.render_diff import render_markdown, render_terminal

        try:
            result = diff_files(a, b)
        except ValueError as exc:  # NotComparable says why, worded by the root
            raise _usage(getattr(exc, "message", str(exc))) from exc
        report_lang = _gettext(ctx, as_json)
        if as_json:
            from ..render.jsontext import json_text

            sys.stdout.write(json_text(diff_data(result), levels=3) + "\n")
        elif markdown:
            out(render_markdown(result, _=report_lang))
        else:
            render_terminal(result, _console(), _=report_lang)
        raise typer.Exit(0 if result.same else 1)
