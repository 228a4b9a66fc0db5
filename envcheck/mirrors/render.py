"""What `envcheck mirrors` prints: rich tables and lines in the reader's language, or JSON.

The one module of :mod:`envcheck.mirrors` that words sentences. The planner modules hand it plain
data and :class:`~envcheck.i18n.Message` objects; :mod:`.commands` decides what happens and calls
one :class:`Screen` to say so. JSON is printed as the data holds it (English).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple

from ..i18n import N_, Gettext, Message, data_text, english, text_in
from ..knowledge import Mirror
from ..redact import redact_data, redact_url
from .fileio import Edit, diff_lines

if TYPE_CHECKING:
    from .backup import RestoreStep
    from .nettest import Result
    from .status import MirrorStatus

#: how a mirror serves PyTorch wheels (mirrors/*.toml torch_wheels_layout)
LAYOUTS = {"index": N_("index layout"), "find-links": N_("find-links layout")}
#: the severity words of `mirrors status` problems
PROBLEM_SEVERITY = {"warning": N_("warning"), "info": N_("info")}


def print_json(data: Any) -> None:
    """JSON as the data holds it, credentials hidden (a channel URL's token, a proxy's password)."""
    sys.stdout.write(json.dumps(redact_data(data), indent=2, ensure_ascii=False) + "\n")


def _row(table, *cells: str) -> None:
    """A table row whose cells are plain text (a URL or "[[index]]" is never read as markup), credentials hidden."""
    from rich.text import Text

    table.add_row(*(Text(redact_url(c)) for c in cells))


def _conda_cell(m: Mirror) -> str:
    """The conda channels a mirror carries: defaults, the three torch users need most, and how many more."""
    main = [c for c in ("conda-forge", "pytorch", "nvidia") if c in m.conda_channels]
    parts = (["defaults"] if m.conda_default_channels else []) + main
    more = len(m.conda_channels) - len(main)
    if more:
        parts.append(f"+{more}")
    if not parts:
        return "-"
    return ", ".join(parts) + ("" if m.conda_verified else " ?")


def aligned(rows: Sequence[Sequence[str]], indent: str = "", gap: int = 2) -> List[str]:
    """Rows as plain text lines, each column starting at the same cell (a Chinese character is two cells wide)."""
    from rich.cells import cell_len

    widths = [max(cell_len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows), default=0))]
    lines = []
    for row in rows:
        cells = [c + " " * (widths[i] - cell_len(c)) if i < len(row) - 1 else c for i, c in enumerate(row)]
        lines.append(indent + (" " * gap).join(cells))
    return lines


class Screen:
    """The output of one `envcheck mirrors` run: one language, one console (made on first use), one way to ask.

    Built by the CLI, which knows the language and the terminal; ``confirm`` asks a yes/no question
    (no answer means no).
    """

    def __init__(self, console_factory: Callable[[], Any], _: Gettext = english,
                 confirm: Optional[Callable[[str], bool]] = None) -> None:
        self._factory = console_factory
        self._console: Any = None
        self._ = _
        self._confirm = confirm or (lambda question: False)

    @property
    def console(self) -> Any:
        if self._console is None:
            self._console = self._factory()
        return self._console

    def line(self, text: str, style: str = "") -> None:
        """One line of output; every line passes here, so a note quoting a channel URL cannot print its password."""
        from rich.text import Text

        self.console.print(Text(redact_url(text), style=style), soft_wrap=True)

    def json(self, data: Any) -> None:
        print_json(data)

    def error(self, message: Message) -> None:
        """envcheck's own failure (a journal it cannot read)."""
        self.line(f"envcheck: {text_in(message, self._)}", "red")

    def dry_run(self) -> None:
        self.line(self._("Dry run: nothing was written."), "bold")

    def declined(self) -> None:
        self.line(self._("Nothing changed."), "yellow")

    # ----------------------------------------------------------------------- list

    def mirror_list(self, mirrors: Sequence[Mirror]) -> None:
        """One row per mirror: name, host, and what it carries for pip, conda and PyTorch wheels.

        A rich table on a terminal; plain columns aligned in cells in a pipe (one line per mirror, for grep and
        awk). The notes and sources are `mirrors show NAME`'s; `--json` has everything.
        """
        _ = self._
        header = [_("mirror"), _("host"), "pip", "conda", _("PyTorch wheels")]
        rows = [[m.name, m.hosts[0] if m.hosts else "-", self._pip_cell(m), _conda_cell(m), self._wheels_cell(m)]
                for m in mirrors]
        if self.console.is_terminal:
            from rich.table import Table

            table = Table(title=_("Known mirrors (data: {files})").format(files="mirrors/*.toml"),
                          title_justify="left")
            for i, col in enumerate(header):
                table.add_column(col, no_wrap=i < 2, overflow="fold")
            for row in rows:
                _row(table, *row)
            self.console.print(table)
        else:
            for line in aligned([header] + rows):
                self.line(line)
        self.line(_("?: not confirmed by the mirror's own pages. Notes and sources: `envcheck mirrors show NAME`; "
                    "every field: `envcheck mirrors list --json`"), "dim")

    def _pip_cell(self, m: Mirror) -> str:
        """What the mirror carries for pip: PyPI itself, a full copy of it, a partial one, or a copy of unknown extent."""
        _ = self._
        if not m.pypi:
            return "-"
        if m.official:
            return _("PyPI itself")
        if m.pypi_full is None:
            return _("PyPI copy") + " ?"
        word = _("full PyPI copy") if m.pypi_full else _("partial PyPI copy")
        return word + ("" if m.pypi_verified else " ?")

    def _wheels_cell(self, m: Mirror) -> str:
        """The PyTorch wheel mirror's variants and layout (index: --index-url; find-links: -f)."""
        if not m.torch_wheels:
            return "-"
        variants = m.torch_wheels_variants
        what = self._("all variants") if variants == "all" else (" ".join(variants) or "?")
        return f"{what} ({m.torch_wheels_layout or '?'})" + ("" if m.torch_wheels_verified else " ?")

    # ----------------------------------------------------------------------- show

    def mirror_show(self, m: Mirror) -> None:
        """One mirror in full: what it serves to each manager and where that is stated, its notes, its sources."""
        _ = self._
        yes_no = {True: _("yes"), False: _("no"), None: _("not confirmed")}
        self.line(f"{m.name}: {data_text(_, m.title)}", "bold")
        self._pairs([(_("hosts"), ", ".join(m.hosts) or "-"), (_("official"), yes_no[m.official]),
                     (_("checked on"), m.verified or "-")])
        self.line("pip", "bold")
        if m.pypi:
            self._pairs([(_("index"), m.pypi), (_("full copy of PyPI"), yes_no[m.pypi_full]),
                         (_("stated by the mirror"), yes_no[m.pypi_verified])])
            self._sources(m.pypi_source)
        else:
            self.line("  " + _("no PyPI mirror"), "dim")
        self.line("conda", "bold")
        if m.conda_default_channels or m.conda_channels:
            pairs = [("default_channels", u) for u in m.conda_default_channels]
            pairs += [(name, url) for name, url in m.conda_channels.items()]
            pairs.append((_("stated by the mirror"), yes_no[m.conda_verified]))
            self._pairs(pairs)
            self._sources(m.conda_source)
        else:
            self.line("  " + _("no conda mirror"), "dim")
        self.line(_("PyTorch wheels"), "bold")
        if m.torch_wheels:
            variants = m.torch_wheels_variants
            layout = m.torch_wheels_layout or ""
            self._pairs([(_("URL"), m.torch_wheels),
                         (_("layout"), _(LAYOUTS[layout]) if layout in LAYOUTS else layout or "-"),
                         (_("variants"), _("all variants") if variants == "all" else " ".join(variants) or "-"),
                         (_("dependency wheels too"), yes_no[m.torch_wheels_mirrors_deps]),
                         (_("stated by the mirror"), yes_no[m.torch_wheels_verified])])
            self._sources(m.torch_wheels_source)
        else:
            self.line("  " + _("no PyTorch wheel mirror"), "dim")
        if m.notes:
            self.line(_("Notes"), "bold")
            notes = " ".join(data_text(_, m.notes).split())
            if self.console.is_terminal:  # wrapped to the terminal; in a pipe one line, for grep
                from rich.padding import Padding
                from rich.text import Text

                self.console.print(Padding(Text(redact_url(notes)), (0, 0, 0, 2)))
            else:
                self.line("  " + notes)
        if m.source.split():
            self.line(_("Sources"), "bold")
            for src in m.source.split():
                self.line("  " + src, "dim")

    def _pairs(self, pairs: Sequence[Tuple[str, str]]) -> None:
        """Label / value lines, the values in one column (Chinese labels count two cells a character)."""
        for line in aligned([list(p) for p in pairs], indent="  "):
            self.line(line)

    def _sources(self, text: str) -> None:
        for src in text.split():
            self.line("  " + self._("source: {url}").format(url=src), "dim")

    # ----------------------------------------------------------------------- status

    def status(self, status: "MirrorStatus") -> None:
        """The three tables of :class:`~.status.MirrorStatus`, then its problems."""
        from rich.cells import cell_len
        from rich.table import Table

        from .status import DEFAULT_ORIGINS

        _ = self._
        console = self.console

        def mirror_of(s) -> str:
            return s.mirror or ""

        def origin(s) -> str:
            """Where a setting came from: a path or variable as is, a tool's default in the reader's language."""
            return _(s.origin) if s.origin in DEFAULT_ORIGINS else s.origin

        def scope(f) -> str:
            return f.scope + ("" if f.ok else " " + _("(cannot parse)"))

        columns = (_("setting"), _("value"), _("mirror"), _("from"))
        file_read = _("file read")
        pip = Table(title="pip", title_justify="left", show_header=True)
        for col in columns:
            pip.add_column(col, overflow="fold")
        _row(pip, "index-url", redact_url(status.pip.index.value), mirror_of(status.pip.index),
             origin(status.pip.index))
        for s in status.pip.extra_index_urls:
            _row(pip, "extra-index-url", redact_url(s.value), mirror_of(s), origin(s))
        for s in status.pip.find_links:
            _row(pip, "find-links", redact_url(s.value), mirror_of(s), origin(s))
        for f in status.pip.files:
            _row(pip, file_read, f.path, "", scope(f))
        console.print(pip)

        conda = Table(title="conda", title_justify="left")
        for col in columns:
            conda.add_column(col, overflow="fold")
        for s in status.conda.channels:
            _row(conda, "channels", redact_url(s.value), mirror_of(s), origin(s))
        if not status.conda.channels:
            _row(conda, "channels", "defaults", "", _("conda's default"))
        for s in status.conda.default_channels:
            _row(conda, "default_channels", redact_url(s.value), mirror_of(s), origin(s))
        if not status.conda.default_channels:
            _row(conda, "default_channels", "https://repo.anaconda.com/pkgs/...", "anaconda", _("conda's default"))
        for name, s in status.conda.custom_channels.items():
            _row(conda, f"custom_channels.{name}", redact_url(s.value), mirror_of(s), origin(s))
        if status.conda.channel_alias:
            s = status.conda.channel_alias
            _row(conda, "channel_alias", redact_url(s.value), mirror_of(s), origin(s))
        for f in status.conda.files:
            _row(conda, file_read, f.path, "", "" if f.ok else _("cannot parse"))
        if not status.conda.files:
            _row(conda, file_read, _("(no .condarc)"), "", "")
        console.print(conda)

        uv = Table(title="uv", title_justify="left")
        for col in columns:
            uv.add_column(col, overflow="fold")
        _row(uv, _("default index"), redact_url(status.uv.index.value), mirror_of(status.uv.index),
             origin(status.uv.index))
        if status.uv.pip_index:
            s = status.uv.pip_index
            _row(uv, _("uv pip index"), redact_url(s.value), mirror_of(s), origin(s))
        for f in status.uv.files:
            _row(uv, file_read, f.path, "", scope(f))
        console.print(uv)

        if status.problems:
            console.print()
            self.line(_("Problems"), "bold")
            for p in status.problems:
                style = "yellow" if p.severity == "warning" else "cyan"
                label = _(PROBLEM_SEVERITY.get(p.severity, p.severity))
                label += " " * max(0, 7 - cell_len(label))
                self.line(f"  {label} {p.key}: {redact_url(text_in(p.message, _))}", style)
        else:
            self.line(_("No problems found."), "green")

    # ----------------------------------------------------------------------- use

    def use_plan(self, mirror: Mirror, skipped: Sequence[str], edits: Sequence[Edit]) -> None:
        """The mirror, the tools it has nothing for, and each planned edit as a diff with its notes."""
        _ = self._
        self.line(f"envcheck mirrors use {mirror.name}: {data_text(_, mirror.title)}", "bold")
        for tool in skipped:
            self.line(_("{tool}: {mirror} has nothing for {tool}; left as it is.").format(
                tool=tool, mirror=mirror.name), "dim")
        for edit in edits:
            self._edit(edit)

    def _edit(self, edit: Edit) -> None:
        _ = self._
        if edit.error:
            self.line(_("{tool}: {path}: cannot change it").format(tool=edit.tool, path=edit.path), "bold red")
            self.line("  " + redact_url(text_in(edit.error, _)), "red")
            return
        if not edit.changes:
            self.line(_("{tool}: {path}: already set, nothing to change").format(tool=edit.tool, path=edit.path),
                      "bold")
        else:
            self.line(f"{edit.tool}: {edit.path}" + (" " + _("(new file)") if edit.creates else ""), "bold")
            for line in diff_lines(edit.path, edit.before, edit.after):
                style = ""
                if line.startswith(("---", "+++")):
                    style = "bold"
                elif line.startswith("+"):
                    style = "green"
                elif line.startswith("-"):
                    style = "red"
                elif line.startswith("@@"):
                    style = "cyan"
                self.line(line, style)
        for note in edit.notes:
            self.line("  " + _("note: {note}").format(note=text_in(note, _)), "yellow")

    def nothing_to_change(self, failed: bool) -> None:
        self.line(self._("Nothing to change.") if not failed else self._("Nothing changed."),
                  "green" if not failed else "red")

    def confirm_apply(self, count: int) -> bool:
        return self._confirm(self._("Apply this change?") if count == 1 else self._("Apply these changes?"))

    def not_changed(self, tool: str, reason: Message) -> None:
        self.line(self._("{tool}: not changed: {reason}").format(tool=tool, reason=text_in(reason, self._)), "red")

    def changed(self, count: int, folder: Path, warnings: Sequence[Message]) -> None:
        """How many files changed, where the originals are, and what still overrides them."""
        _ = self._
        changed = (_("Changed 1 file.") if count == 1 else _("Changed {count} files.").format(count=count))
        self.line(changed + _(" The originals are kept in {folder}; `envcheck mirrors restore` puts them "
                              "back.").format(folder=folder), "green")
        for warning in warnings:
            self.line(_("warning: {message}").format(message=text_in(warning, _)), "yellow")

    # ----------------------------------------------------------------------- restore

    def nothing_to_restore(self, folder: Path) -> None:
        self.line(self._("Nothing to restore: envcheck has not changed any config file (no backups in "
                         "{folder}).").format(folder=folder))

    def restore_plan(self, steps: Sequence["RestoreStep"]) -> None:
        """Each :class:`~.backup.RestoreStep`: what happens to the file, and the diff back to the original."""
        _ = self._
        for step in steps:
            if step.error:
                self.line(_("{path}: cannot restore: {error}").format(path=step.path, error=text_in(step.error, _)),
                          "bold red")
                continue
            if not step.changes:
                self.line(_("{path}: already as it was").format(path=step.path), "bold")
                continue
            what = _("delete (envcheck created it)") if step.original is None else _("put back the original")
            self.line(f"{step.path}: {what}", "bold")
            if step.edited_since:
                self.line("  " + _("note: {note}").format(note=_(
                    "changed since envcheck wrote it; restoring drops those changes too (they are in the diff)")),
                    "yellow")
            for line in diff_lines(step.path, step.current, step.original):
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
                self.line(line, style)

    def confirm_restore(self) -> bool:
        return self._confirm(self._("Restore these files?"))

    def restored(self, problems: Sequence[Message], folder: Path) -> None:
        """The outcome of restore: the problems met (the backups stay), or that all is as it was."""
        _ = self._
        for p in problems:
            self.line(_("not restored: {problem}").format(problem=text_in(p, _)), "red")
        if problems:
            self.line(_("The backups stay in {folder}.").format(folder=folder), "yellow")
            return
        self.line(_("Restored the files as they were before envcheck changed them."), "green")

    # ----------------------------------------------------------------------- test

    def test_results(self, results: List["Result"], timeout: float, summary: Message) -> None:
        """The ranked :class:`~.nettest.Result` table and the verdict under it."""
        from rich.table import Table

        _ = self._
        table = Table(title=_("Mirrors from here (timeout {seconds} s, measured concurrently)").format(
            seconds=f"{timeout:g}"), title_justify="left")
        for col, justify in (("#", "right"), (_("mirror"), "left"), (_("latency"), "right"),
                             (_("download"), "right"), (_("speed"), "right"), (_("URL / problem"), "left")):
            table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for r in results:
            if r.reachable:
                download = (_("{size} KiB in {seconds} s").format(size=f"{r.bytes / 1024:.0f}",
                                                                    seconds=f"{r.download_s:.2f}")
                            if r.bytes and r.download_s is not None else "-")
                speed = f"{r.throughput_kib_s:,.0f} KiB/s" if r.throughput_kib_s else "-"
                extra = f"\n{text_in(r.reason, _)}" if r.error else ""
                _row(table, str(r.rank), r.name, f"{r.latency_ms:g} ms", download, speed, redact_url(r.url) + extra)
            else:
                _row(table, "-", r.name, _("unreachable"), "-", "-", f"{redact_url(r.url)}\n{text_in(r.reason, _)}")
        self.console.print(table)
        self.line(text_in(summary, _), "bold")
