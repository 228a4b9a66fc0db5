"""The five `envcheck mirrors` commands: gather, render (rich tables or JSON), return an exit code.

Exit codes: 0 done (also: nothing to change, `--dry-run`, unreachable mirrors in `test`);
1 the user declined (or gave no answer to) the confirmation, nothing changed; 2 a file could not
be changed or restored (cannot parse it, cannot write it: it is left as it was and named);
3 bad input (``UsageError``: unknown mirror, a tool the mirror has no mirror for).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from ..i18n import N_, Gettext, Message, data_text, english
from ..knowledge import Knowledge, Mirror
from ..probes import ProbeContext
from ..redact import redact_url
from . import edit_conda, edit_pip, edit_uv
from .backup import Journal, JournalError, journal_dir
from ..fileio import atomic_write, write_target
from .fileio import Edit, EditRefused, diff_lines, ensure_dir, read_bytes


TOOLS = ("pip", "conda", "uv")
OK, DECLINED, FAILED = 0, 1, 2


class UsageError(Exception):
    """Bad input: the CLI turns it into envcheck's usage exit (3)."""


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _text(console, text: str, style: str = "") -> None:
    from rich.text import Text

    console.print(Text(text, style=style), soft_wrap=True)


def _row(table, *cells: str) -> None:
    """A table row whose cells are plain text (a URL or "[[index]]" is never read as markup)."""
    from rich.text import Text

    table.add_row(*(Text(c) for c in cells))


def find_mirror(knowledge: Knowledge, name: str, _: Gettext = english) -> Mirror:
    mirror = knowledge.mirror(name.strip())
    if mirror is None:
        known = ", ".join(m.name for m in knowledge.mirrors())
        raise UsageError(_("unknown mirror {name}; known mirrors: {known}").format(name=repr(name), known=known))
    return mirror


# --------------------------------------------------------------------------- list


def mirror_dict(m: Mirror) -> Dict[str, object]:
    data = asdict(m)
    custom = {}
    for name, url in m.conda_channels.items():
        base = edit_conda.channel_base(name, url)
        if base:
            custom[name] = base
    data["conda_custom_channels"] = custom
    data["source"] = [s for s in m.source.split() if s]
    return data


#: how a mirror serves PyTorch wheels (mirrors/*.toml torch_wheels_layout)
LAYOUTS = {"index": N_("index layout"), "find-links": N_("find-links layout")}


def run_list(knowledge: Knowledge, as_json: bool, console_factory: Callable, _: Gettext = english) -> int:
    mirrors = knowledge.mirrors()
    if as_json:
        _print_json({"mirrors": [mirror_dict(m) for m in mirrors]})
        return OK
    from rich.table import Table

    console = console_factory()
    table = Table(title=_("Known mirrors (data: {files})").format(files="mirrors/*.toml"), show_lines=True)
    table.add_column(_("mirror"), no_wrap=True)
    table.add_column(_("PyPI index"), overflow="fold")
    table.add_column("conda", overflow="fold")
    table.add_column(_("PyTorch wheels"), overflow="fold")
    for m in mirrors:
        conda = []
        if m.conda_default_channels:
            conda.append("defaults: " + ", ".join(u.rstrip("/").rsplit("/", 1)[-1] for u in m.conda_default_channels))
        if m.conda_channels:
            conda.append("channels: " + ", ".join(m.conda_channels))
        layout = m.torch_wheels_layout or ""
        wheels = f"{m.torch_wheels}\n({_(LAYOUTS[layout]) if layout in LAYOUTS else layout})" if m.torch_wheels else "-"
        name = m.name + ("\n" + _("(official)") if m.official else "")
        _row(table, name, m.pypi or "-", "\n".join(conda) or "-", wheels)
    console.print(table)
    for m in mirrors:
        console.print()
        _text(console, f"{m.name}: {data_text(_, m.title)}", "bold")
        if m.notes:
            _text(console, "  " + " ".join(data_text(_, m.notes).split()))
        for src in m.source.split():
            _text(console, "  " + _("source: {url}").format(url=src), "dim")
    return OK


# --------------------------------------------------------------------------- status


def run_status(ctx: ProbeContext, knowledge: Knowledge, platform: str, as_json: bool,
               console_factory: Callable, cwd: Optional[Path] = None, _: Gettext = english) -> int:
    from rich.cells import cell_len

    from .status import DEFAULT_ORIGINS, collect

    status = collect(ctx, knowledge, platform, cwd, _=english if as_json else _)
    if as_json:
        _print_json(status.to_dict())
        return OK
    from rich.table import Table

    console = console_factory()

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
    _row(pip, "index-url", redact_url(status.pip.index.value), mirror_of(status.pip.index), origin(status.pip.index))
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
    _row(uv, _("default index"), redact_url(status.uv.index.value), mirror_of(status.uv.index), origin(status.uv.index))
    if status.uv.pip_index:
        s = status.uv.pip_index
        _row(uv, _("uv pip index"), redact_url(s.value), mirror_of(s), origin(s))
    for f in status.uv.files:
        _row(uv, file_read, f.path, "", scope(f))
    console.print(uv)

    if status.problems:
        console.print()
        _text(console, _("Problems"), "bold")
        for p in status.problems:
            style = "yellow" if p.severity == "warning" else "cyan"
            label = _(PROBLEM_SEVERITY.get(p.severity, p.severity))
            label += " " * max(0, 7 - cell_len(label))
            _text(console, f"  {label} {p.key}: {redact_url(p.message)}", style)
    else:
        _text(console, _("No problems found."), "green")
    return OK


#: the severity words of `mirrors status` problems
PROBLEM_SEVERITY = {"warning": N_("warning"), "info": N_("info")}


# --------------------------------------------------------------------------- use


def capabilities(m: Mirror) -> Dict[str, bool]:
    return {"pip": bool(m.pypi), "conda": bool(m.conda_default_channels or m.conda_channels), "uv": bool(m.pypi)}


def plan_use(ctx: ProbeContext, mirror: Mirror, tools: Sequence[str], platform: str) -> List[Edit]:
    edits: List[Edit] = []
    for tool in tools:
        if tool == "pip":
            edits.append(edit_pip.plan(edit_pip.user_config_path(ctx, platform), mirror.pypi or "", mirror.name))
        elif tool == "conda":
            edits.append(edit_conda.plan(edit_conda.user_condarc_path(ctx.home_dir()), mirror))
        elif tool == "uv":
            edits.append(edit_uv.plan(edit_uv.user_config_path(ctx, platform), mirror.pypi or "", mirror.name))
    return edits


def run_use(ctx: ProbeContext, knowledge: Knowledge, name: str, wanted: Sequence[str], dry_run: bool,
            yes: bool, platform: str, console_factory: Callable, confirm: Callable[[str], bool],
            _: Gettext = english) -> int:
    mirror = find_mirror(knowledge, name, _)
    can = capabilities(mirror)
    skipped: List[str] = []
    if wanted:
        lacking = [t for t in wanted if not can[t]]
        if lacking:
            what = {"pip": N_("no PyPI index (for {tool})"), "uv": N_("no PyPI index (for {tool})"),
                    "conda": N_("no conda channels (for {tool})")}
            missing = _(" and ").join(_(what[t]).format(tool=t) for t in lacking)
            raise UsageError(_("{mirror} has {missing} in envcheck's data; see `envcheck mirrors list` for what each "
                               "mirror offers").format(mirror=mirror.name, missing=missing))
        tools = [t for t in TOOLS if t in wanted]
    else:
        tools = [t for t in TOOLS if can[t]]
        skipped = [t for t in TOOLS if not can[t]]
        if not tools:
            extra = (_(" Its PyTorch wheels ({url}) are per-variant: {command} prints commands that use them.").format(
                url=mirror.torch_wheels, command=f"`envcheck install-cmd --mirror {mirror.name}`")
                if mirror.torch_wheels else "")
            raise UsageError(_("{mirror} has no PyPI index and no conda channels to configure.").format(
                mirror=mirror.name) + extra)
    console = console_factory()
    edits = plan_use(ctx, mirror, tools, platform)
    _text(console, f"envcheck mirrors use {mirror.name}: {data_text(_, mirror.title)}", "bold")
    for tool in skipped:
        _text(console, _("{tool}: {mirror} has nothing for {tool}; left as it is.").format(tool=tool,
                                                                                          mirror=mirror.name), "dim")
    for edit in edits:
        _show_edit(console, edit, _)
    failed = [e for e in edits if e.error]
    changes = [e for e in edits if e.changes]
    code = FAILED if failed else OK
    if not changes:
        _text(console, _("Nothing to change.") if not failed else _("Nothing changed."),
              "green" if not failed else "red")
        return code
    if dry_run:
        _text(console, _("Dry run: nothing was written."), "bold")
        return code
    if not yes and not confirm(_("Apply this change?") if len(changes) == 1 else _("Apply these changes?")):
        _text(console, _("Nothing changed."), "yellow")
        return DECLINED
    try:
        journal = Journal.load(journal_dir(ctx, platform))
    except JournalError as exc:
        _text(console, f"envcheck: {exc.text(_)}", "red")
        return FAILED
    written: List[Edit] = []
    for edit in changes:
        try:
            if read_bytes(edit.path) != edit.before:
                raise EditRefused(Message(N_("{path} changed while envcheck was asking; left as it is now"),
                                          path=edit.path))
            created = ensure_dir(write_target(edit.path).parent)
            journal.remember(edit.path, edit.before, edit.tool, created)
            atomic_write(edit.path, edit.after or b"")
            journal.written(edit.path, edit.after or b"")
            written.append(edit)
        except (EditRefused, OSError) as exc:
            why = exc.message if isinstance(exc, EditRefused) else Message(N_("{path}: {reason}"), path=edit.path,
                                                                              reason=exc.strerror or str(exc))
            _text(console, _("{tool}: not changed: {reason}").format(tool=edit.tool, reason=why.text(_)), "red")
            code = FAILED
    if written:
        changed = (_("Changed 1 file.") if len(written) == 1 else
                   _("Changed {count} files.").format(count=len(written)))
        _text(console, changed + _(" The originals are kept in {folder}; `envcheck mirrors restore` puts them "
                                   "back.").format(folder=journal.folder), "green")
        for warning in _after_checks(ctx, knowledge, mirror, [e.tool for e in written], platform, _):
            _text(console, _("warning: {message}").format(message=warning), "yellow")
    return code


def _show_edit(console, edit: Edit, _: Gettext = english) -> None:
    if edit.error:
        _text(console, _("{tool}: {path}: cannot change it").format(tool=edit.tool, path=edit.path), "bold red")
        _text(console, "  " + redact_url(edit.error.text(_)), "red")
        return
    if not edit.changes:
        _text(console, _("{tool}: {path}: already set, nothing to change").format(tool=edit.tool, path=edit.path),
              "bold")
    else:
        _text(console, f"{edit.tool}: {edit.path}" + (" " + _("(new file)") if edit.creates else ""), "bold")
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
            _text(console, line, style)
    for note in edit.notes:
        _text(console, "  " + _("note: {note}").format(note=note.text(_)), "yellow")


def _after_checks(ctx: ProbeContext, knowledge: Knowledge, mirror: Mirror, tools: List[str],
                  platform: str, _: Gettext = english) -> List[str]:
    """What still overrides the files just written (a variable, a project or site file)."""
    from .status import conda_status, pip_status, uv_status

    warnings: List[str] = []
    want = (mirror.pypi or "").rstrip("/")
    if "pip" in tools:
        pip = pip_status(ctx, knowledge, platform)
        if pip.index.value.rstrip("/") != want:
            warnings.append(_("{tool} still uses {url}: {origin} overrides the user file.").format(
                tool="pip", url=redact_url(pip.index.value), origin=pip.index.origin))
    if "uv" in tools:
        uv = uv_status(ctx, knowledge, platform, Path.cwd())
        if uv.index.value.rstrip("/") != want:
            warnings.append(_("{tool} still uses {url}: {origin} overrides the user file.").format(
                tool="uv", url=redact_url(uv.index.value), origin=uv.index.origin))
    if "conda" in tools:
        conda = conda_status(ctx, knowledge)
        settings, _notes = edit_conda.layout(mirror)
        for name, base in settings.get("custom_channels", {}).items():
            got = conda.custom_channels.get(name)
            if got is not None and got.value.rstrip("/") != base:
                warnings.append(_("conda sends {channel} to {url}: {origin} overrides ~/.condarc.").format(
                    channel=name, url=redact_url(got.value), origin=got.origin))
        if conda.default_channels and settings.get("default_channels") and \
                conda.default_channels[0].value.rstrip("/") != settings["default_channels"][0].rstrip("/"):
            first = conda.default_channels[0]
            warnings.append(_("conda's default_channels start with {url} from {origin}, which comes before "
                              "~/.condarc.").format(url=redact_url(first.value), origin=first.origin))
    return warnings


# --------------------------------------------------------------------------- restore


def run_restore(ctx: ProbeContext, yes: bool, dry_run: bool, platform: str, console_factory: Callable,
                confirm: Callable[[str], bool], _: Gettext = english) -> int:
    console = console_factory()
    folder = journal_dir(ctx, platform)
    try:
        journal = Journal.load(folder)
    except JournalError as exc:
        _text(console, f"envcheck: {exc.text(_)}", "red")
        return FAILED
    if not journal.exists or not journal.files:
        if journal.exists and not dry_run:
            journal.discard()
        _text(console, _("Nothing to restore: envcheck has not changed any config file (no backups in "
                         "{folder}).").format(folder=folder))
        return OK
    steps = journal.restore_plan()
    for step in steps:
        if step.error:
            _text(console, _("{path}: cannot restore: {error}").format(path=step.path, error=step.error.text(_)),
                  "bold red")
            continue
        if not step.changes:
            _text(console, _("{path}: already as it was").format(path=step.path), "bold")
            continue
        what = _("delete (envcheck created it)") if step.original is None else _("put back the original")
        _text(console, f"{step.path}: {what}", "bold")
        if step.edited_since:
            _text(console, "  " + _("note: {note}").format(note=_(
                "changed since envcheck wrote it; restoring drops those changes too (they are in the diff)")),
                "yellow")
        for line in diff_lines(step.path, step.current, step.original):
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            _text(console, line, style)
    failed = any(s.error for s in steps)
    if dry_run:
        _text(console, _("Dry run: nothing was written."), "bold")
        return FAILED if failed else OK
    if any(s.changes for s in steps) and not yes and not confirm(_("Restore these files?")):
        _text(console, _("Nothing changed."), "yellow")
        return DECLINED
    problems = journal.apply(steps)
    for p in problems:
        _text(console, _("not restored: {problem}").format(problem=p.text(_)), "red")
    if problems:
        _text(console, _("The backups stay in {folder}.").format(folder=folder), "yellow")
        return FAILED
    _text(console, _("Restored the files as they were before envcheck changed them."), "green")
    return OK


# --------------------------------------------------------------------------- test


def run_test(knowledge: Knowledge, timeout: float, urls: Sequence[str], as_json: bool,
             console_factory: Callable, _: Gettext = english) -> int:
    from . import nettest

    if urls:
        try:
            targets = [nettest.parse_target(u) for u in urls]
        except nettest.BadTarget as exc:
            raise UsageError(exc.text(_)) from exc
    else:
        targets = nettest.targets_for(knowledge.mirrors())
    results = nettest.run_all(targets, timeout)
    known = [m.name for m in knowledge.mirrors() if m.pypi or m.conda_default_channels or m.conda_channels]
    if as_json:
        _print_json(nettest.to_dict(results, timeout, known))
        return OK
    from rich.table import Table

    console = console_factory()
    table = Table(title=_("Mirrors from here (timeout {seconds} s, measured concurrently)").format(
        seconds=f"{timeout:g}"), title_justify="left")
    for col, justify in (("#", "right"), (_("mirror"), "left"), (_("latency"), "right"), (_("download"), "right"),
                         (_("speed"), "right"), (_("URL / problem"), "left")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in results:
        if r.reachable:
            download = (_("{size} KiB in {seconds} s").format(size=f"{r.bytes / 1024:.0f}",
                                                                seconds=f"{r.download_s:.2f}")
                        if r.bytes and r.download_s is not None else "-")
            speed = f"{r.throughput_kib_s:,.0f} KiB/s" if r.throughput_kib_s else "-"
            extra = f"\n{r.problem_text(_)}" if r.error else ""
            _row(table, str(r.rank), r.name, f"{r.latency_ms:g} ms", download, speed, redact_url(r.url) + extra)
        else:
            _row(table, "-", r.name, _("unreachable"), "-", "-", f"{redact_url(r.url)}\n{r.problem_text(_)}")
    console.print(table)
    _text(console, nettest.summary(results, timeout, known, _), "bold")
    return OK
