"""`envcheck mirrors`: command registration (kept apart so the main CLI module stays thin).

The work is in :mod:`envcheck.mirrors`; this module only declares the options, builds the
:class:`~envcheck.mirrors.render.Screen` that speaks the run's language (and asks on the terminal),
and turns the commands' answers into exit codes. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from ..i18n import N_

_PLATFORM_HELP = "Act as on this platform (sys.platform value: linux, darwin, win32); for tests."


def _platform(value: Optional[str]) -> str:
    return value or sys.platform


def _context():
    from ..probes import ProbeContext

    return ProbeContext(env=dict(os.environ))


def _console():
    from .common import stdout_console as _stdout_console

    return _stdout_console()


def _screen(ctx: typer.Context, as_json: bool = False):
    """The run's screen: its language (English for JSON) and a confirm function that asks on the terminal."""
    from ..mirrors.render import Screen
    from .common import gettext_of

    _ = gettext_of(ctx, as_json)
    return Screen(_console, _, _confirmer(_))


def _confirmer(_):
    """A confirm function that asks on the terminal (or reads a y/n line from stdin); no answer means no."""
    def confirm(question: str) -> bool:
        try:
            return bool(typer.confirm(question, default=False))
        except (typer.Abort, EOFError):
            typer.echo("\n" + _("no answer: nothing changed (pass --yes to apply without asking)"), err=True)
            return False
    return confirm


def _usage(exc):
    """A command's UsageError as the CLI's usage problem (its Message worded by the root)."""
    from .common import UsageProblem

    return UsageProblem(exc.message)


def register(app: typer.Typer) -> None:
    """Add the `mirrors` command group to the main app."""
    mirrors = typer.Typer(
        name="mirrors",
        help=N_("Package mirrors for pip, conda and uv: list them, see what is used, switch, undo, test."),
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @mirrors.command("list")
    def list_cmd(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
    ) -> None:
        """Every known mirror in one table: its host and what it carries for pip, conda and PyTorch wheels."""
        from ..knowledge import Knowledge
        from ..mirrors.commands import run_list

        raise typer.Exit(run_list(Knowledge(), as_json, _screen(ctx, as_json)))

    @mirrors.command("show")
    def show_cmd(
        ctx: typer.Context,
        name: str = typer.Argument(..., metavar="NAME", help=N_("A mirror from `envcheck mirrors list` (e.g. tuna).")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
    ) -> None:
        """One mirror in full: its URLs for pip, conda and PyTorch wheels, where each is stated, notes, sources."""
        from ..knowledge import Knowledge
        from ..mirrors.commands import UsageError, find_mirror, mirror_dict

        try:
            mirror = find_mirror(Knowledge(), name)
        except UsageError as exc:
            raise _usage(exc) from exc
        screen = _screen(ctx, as_json)
        if as_json:
            screen.json(mirror_dict(mirror))
        else:
            screen.mirror_show(mirror)
        raise typer.Exit(0)

    @mirrors.command("status")
    def status_cmd(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
        platform: Optional[str] = typer.Option(None, "--platform", hidden=True, help=_PLATFORM_HELP),
    ) -> None:
        """What pip, conda and uv use now, from which file or variable, which mirror, and problems."""
        from ..knowledge import Knowledge
        from ..mirrors.commands import run_status

        raise typer.Exit(run_status(_context(), Knowledge(), _platform(platform), as_json, _screen(ctx, as_json)))

    @mirrors.command("use")
    def use_cmd(
        ctx: typer.Context,
        name: str = typer.Argument(..., metavar="NAME", help=N_("A mirror from `envcheck mirrors list` (e.g. tuna).")),
        pip: bool = typer.Option(False, "--pip", help=N_("Change pip's user config (pip.conf / pip.ini).")),
        conda: bool = typer.Option(False, "--conda", help=N_("Change ~/.condarc.")),
        uv: bool = typer.Option(False, "--uv", help=N_("Change uv's user uv.toml.")),
        dry_run: bool = typer.Option(False, "--dry-run", help=N_("Only show the changes.")),
        yes: bool = typer.Option(False, "--yes", "-y", help=N_("Apply without asking.")),
        force: bool = typer.Option(False, "--force", help=N_("Also change a read-only config file.")),
        platform: Optional[str] = typer.Option(None, "--platform", hidden=True, help=_PLATFORM_HELP),
    ) -> None:
        """Point pip, conda and uv (all the mirror serves, or those named) at a mirror; backs up first.

        Only the keys a mirror needs change; every other key and comment stays. The diff is shown
        first. `envcheck mirrors restore` puts the files back as they were.
        """
        from ..knowledge import Knowledge
        from ..mirrors.commands import UsageError, run_use

        wanted: List[str] = [t for t, on in (("pip", pip), ("conda", conda), ("uv", uv)) if on]
        try:
            code = run_use(_context(), Knowledge(), name, wanted, dry_run, yes, _platform(platform), _screen(ctx),
                           force=force)
        except UsageError as exc:
            raise _usage(exc) from exc
        raise typer.Exit(code)

    @mirrors.command("restore")
    def restore_cmd(
        ctx: typer.Context,
        yes: bool = typer.Option(False, "--yes", "-y", help=N_("Restore without asking.")),
        dry_run: bool = typer.Option(False, "--dry-run", help=N_("Only show what would be restored.")),
        platform: Optional[str] = typer.Option(None, "--platform", hidden=True, help=_PLATFORM_HELP),
    ) -> None:
        """Put back, byte for byte, every file as it was before envcheck first changed it."""
        from ..mirrors.commands import run_restore

        raise typer.Exit(run_restore(_context(), yes, dry_run, _platform(platform), _screen(ctx)))

    @mirrors.command("test")
    def test_cmd(
        ctx: typer.Context,
        timeout: float = typer.Option(5.0, "--timeout", metavar="S", min=0.1,
                                      help=N_("Per-request timeout in seconds.")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print JSON.")),
        url: List[str] = typer.Option([], "--url", hidden=True, metavar="NAME=URL",
                                      help=N_("Test these URLs instead of the known mirrors (repeatable).")),
    ) -> None:
        """Measure every mirror's latency and a small download at once, and rank them."""
        from ..knowledge import Knowledge
        from ..mirrors.commands import UsageError, run_test

        try:
            code = run_test(Knowledge(), timeout, url, as_json, _screen(ctx, as_json))
        except UsageError as exc:
            raise _usage(exc) from exc
        raise typer.Exit(code)

    app.add_typer(mirrors, name="mirrors")
