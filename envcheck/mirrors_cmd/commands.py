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

from ..knowledge import Knowledge, Mirror
from ..probes import ProbeContext
from ..redact import redact_url
from . import edit_conda, edit_pip, edit_uv
from .backup import Journal, JournalError, journal_dir
from .fileio import Edit, EditRefused, atomic_write, diff_lines, ensure_dir, read_bytes, write_target

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


def find_mirror(knowledge: Knowledge, name: str) -> Mirror:
    mirror = knowledge.mirror(name.strip())
    if mirror is None:
        known = ", ".join(m.name for m in knowledge.mirrors())
        raise UsageError(f"unknown mirror {name!r}; known mirrors: {known}")
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


def run_list(knowledge: Knowledge, as_json: bool, console_factory: Callable) -> int:
    mirrors = knowledge.mirrors()
    if as_json:
        _print_json({"mirrors": [mirror_dict(m) for m in mirrors]})
        return OK
    from rich.table import Table

    console = console_factory()
    table = Table(title="Known mirrors (data: mirrors/*.toml)", show_lines=True)
    table.add_column("mirror", no_wrap=True)
    table.add_column("PyPI index", overflow="fold")
    table.add_column("conda", overflow="fold")
    table.add_column("PyTorch wheels", overflow="fold")
    for m in mirrors:
        conda = []
        if m.conda_default_channels:
            conda.append("defaults: " + ", ".join(u.rstrip("/").rsplit("/", 1)[-1] for u in m.conda_default_channels))
        if m.conda_channels:
            conda.append("channels: " + ", ".join(m.conda_channels))
        wheels = f"{m.torch_wheels}\n({m.torch_wheels_layout} layout)" if m.torch_wheels else "-"
        name = m.name + ("\n(official)" if m.official else "")
        _row(table, name, m.pypi or "-", "\n".join(conda) or "-", wheels)
    console.print(table)
    for m in mirrors:
        console.print()
        _text(console, f"{m.name}: {m.title}", "bold")
        if m.notes:
            _text(console, "  " + " ".join(m.notes.split()))
        for src in m.source.split():
            _text(console, "  source: " + src, "dim")
    return OK


# --------------------------------------------------------------------------- status


def run_status(ctx: ProbeContext, knowledge: Knowledge, platform: str, as_json: bool,
               console_factory: Callable, cwd: Optional[Path] = None) -> int:
    from .status import collect

    status = collect(ctx, knowledge, platform, cwd)
    if as_json:
        _print_json(status.to_dict())
        return OK
    from rich.table import Table

    console = console_factory()

    def mirror_of(s) -> str:
        return s.mirror or ""

    pip = Table(title="pip", title_justify="left", show_header=True)
    for col in ("setting", "value", "mirror", "from"):
        pip.add_column(col, overflow="fold")
    _row(pip, "index-url", redact_url(status.pip.index.value), mirror_of(status.pip.index), status.pip.index.origin)
    for s in status.pip.extra_index_urls:
        _row(pip, "extra-index-url", redact_url(s.value), mirror_of(s), s.origin)
    for s in status.pip.find_links:
        _row(pip, "find-links", redact_url(s.value), mirror_of(s), s.origin)
    for f in status.pip.files:
        _row(pip, "file read", f.path, "", f.scope + ("" if f.ok else " (cannot parse)"))
    console.print(pip)

    conda = Table(title="conda", title_justify="left")
    for col in ("setting", "value", "mirror", "from"):
        conda.add_column(col, overflow="fold")
    for s in status.conda.channels:
        _row(conda, "channels", redact_url(s.value), mirror_of(s), s.origin)
    if not status.conda.channels:
        _row(conda, "channels", "defaults", "", "conda's default")
    for s in status.conda.default_channels:
        _row(conda, "default_channels", redact_url(s.value), mirror_of(s), s.origin)
    if not status.conda.default_channels:
        _row(conda, "default_channels", "https://repo.anaconda.com/pkgs/...", "anaconda", "conda's default")
    for name, s in status.conda.custom_channels.items():
        _row(conda, f"custom_channels.{name}", redact_url(s.value), mirror_of(s), s.origin)
    if status.conda.channel_alias:
        s = status.conda.channel_alias
        _row(conda, "channel_alias", redact_url(s.value), mirror_of(s), s.origin)
    for f in status.conda.files:
        _row(conda, "file read", f.path, "", "" if f.ok else "cannot parse")
    if not status.conda.files:
        _row(conda, "file read", "(no .condarc)", "", "")
    console.print(conda)

    uv = Table(title="uv", title_justify="left")
    for col in ("setting", "value", "mirror", "from"):
        uv.add_column(col, overflow="fold")
    _row(uv, "default index", redact_url(status.uv.index.value), mirror_of(status.uv.index), status.uv.index.origin)
    if status.uv.pip_index:
        s = status.uv.pip_index
        _row(uv, "uv pip index", redact_url(s.value), mirror_of(s), s.origin)
    for f in status.uv.files:
        _row(uv, "file read", f.path, "", f.scope + ("" if f.ok else " (cannot parse)"))
    console.print(uv)

    if status.problems:
        console.print()
        _text(console, "Problems", "bold")
        for p in status.problems:
            style = "yellow" if p.severity == "warning" else "cyan"
            _text(console, f"  {p.severity:<7} {p.key}: {redact_url(p.message)}", style)
    else:
        _text(console, "No problems found.", "green")
    return OK


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
            yes: bool, platform: str, console_factory: Callable, confirm: Callable[[str], bool]) -> int:
    mirror = find_mirror(knowledge, name)
    can = capabilities(mirror)
    skipped: List[str] = []
    if wanted:
        lacking = [t for t in wanted if not can[t]]
        if lacking:
            what = {"pip": "PyPI index", "uv": "PyPI index", "conda": "conda channels"}
            missing = " and ".join(f"no {what[t]} (for {t})" for t in lacking)
            raise UsageError(f"{mirror.name} has {missing} in envcheck's data; "
                             "see `envcheck mirrors list` for what each mirror offers")
        tools = [t for t in TOOLS if t in wanted]
    else:
        tools = [t for t in TOOLS if can[t]]
        skipped = [t for t in TOOLS if not can[t]]
        if not tools:
            extra = (f" Its PyTorch wheels ({mirror.torch_wheels}) are per-variant: "
                     f"`envcheck install-cmd --mirror {mirror.name}` prints commands that use them."
                     if mirror.torch_wheels else "")
            raise UsageError(f"{mirror.name} has no PyPI index and no conda channels to configure.{extra}")
    console = console_factory()
    edits = plan_use(ctx, mirror, tools, platform)
    _text(console, f"envcheck mirrors use {mirror.name}: {mirror.title}", "bold")
    for tool in skipped:
        _text(console, f"{tool}: {mirror.name} has nothing for {tool}; left as it is.", "dim")
    for edit in edits:
        _show_edit(console, edit)
    failed = [e for e in edits if e.error]
    changes = [e for e in edits if e.changes]
    code = FAILED if failed else OK
    if not changes:
        _text(console, "Nothing to change." if not failed else "Nothing changed.", "green" if not failed else "red")
        return code
    if dry_run:
        _text(console, "Dry run: nothing was written.", "bold")
        return code
    if not yes and not confirm(f"Apply {'this change' if len(changes) == 1 else 'these changes'}?"):
        _text(console, "Nothing changed.", "yellow")
        return DECLINED
    try:
        journal = Journal.load(journal_dir(ctx, platform))
    except JournalError as exc:
        _text(console, f"envcheck: {exc}", "red")
        return FAILED
    written: List[Edit] = []
    for edit in changes:
        try:
            if read_bytes(edit.path) != edit.before:
                raise EditRefused(f"{edit.path} changed while envcheck was asking; left as it is now")
            created = ensure_dir(write_target(edit.path).parent)
            journal.remember(edit.path, edit.before, edit.tool, created)
            atomic_write(edit.path, edit.after or b"")
            journal.written(edit.path, edit.after or b"")
            written.append(edit)
        except (EditRefused, OSError) as exc:
            msg = str(exc) if isinstance(exc, EditRefused) else f"{edit.path}: {exc.strerror or exc}"
            _text(console, f"{edit.tool}: not changed: {msg}", "red")
            code = FAILED
    if written:
        _text(console, f"Changed {len(written)} file{'s' if len(written) != 1 else ''}. The originals are kept in "
                       f"{journal.folder}; `envcheck mirrors restore` puts them back.", "green")
        for warning in _after_checks(ctx, knowledge, mirror, [e.tool for e in written], platform):
            _text(console, "warning: " + warning, "yellow")
    return code


def _show_edit(console, edit: Edit) -> None:
    if edit.error:
        _text(console, f"{edit.tool}: {edit.path}: cannot change it", "bold red")
        _text(console, "  " + redact_url(edit.error), "red")
        return
    if not edit.changes:
        _text(console, f"{edit.tool}: {edit.path}: already set, nothing to change", "bold")
    else:
        _text(console, f"{edit.tool}: {edit.path}" + (" (new file)" if edit.creates else ""), "bold")
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
        _text(console, "  note: " + note, "yellow")


def _after_checks(ctx: ProbeContext, knowledge: Knowledge, mirror: Mirror, tools: List[str],
                  platform: str) -> List[str]:
    """What still overrides the files just written (a variable, a project or site file)."""
    from .status import conda_status, pip_status, uv_status

    warnings: List[str] = []
    want = (mirror.pypi or "").rstrip("/")
    if "pip" in tools:
        pip = pip_status(ctx, knowledge, platform)
        if pip.index.value.rstrip("/") != want:
            warnings.append(f"pip still uses {redact_url(pip.index.value)}: {pip.index.origin} overrides the "
                            "user file.")
    if "uv" in tools:
        uv = uv_status(ctx, knowledge, platform, Path.cwd())
        if uv.index.value.rstrip("/") != want:
            warnings.append(f"uv still uses {redact_url(uv.index.value)}: {uv.index.origin} overrides the user file.")
    if "conda" in tools:
        conda = conda_status(ctx, knowledge)
        settings, _notes = edit_conda.layout(mirror)
        for name, base in settings.get("custom_channels", {}).items():
            got = conda.custom_channels.get(name)
            if got is not None and got.value.rstrip("/") != base:
                warnings.append(f"conda sends {name} to {redact_url(got.value)}: {got.origin} overrides ~/.condarc.")
        if conda.default_channels and settings.get("default_channels") and \
                conda.default_channels[0].value.rstrip("/") != settings["default_channels"][0].rstrip("/"):
            first = conda.default_channels[0]
            warnings.append(f"conda's default_channels start with {redact_url(first.value)} from {first.origin}, "
                            "which comes before ~/.condarc.")
    return warnings


# --------------------------------------------------------------------------- restore


def run_restore(ctx: ProbeContext, yes: bool, dry_run: bool, platform: str, console_factory: Callable,
                confirm: Callable[[str], bool]) -> int:
    console = console_factory()
    folder = journal_dir(ctx, platform)
    try:
        journal = Journal.load(folder)
    except JournalError as exc:
        _text(console, f"envcheck: {exc}", "red")
        return FAILED
    if not journal.exists or not journal.files:
        if journal.exists and not dry_run:
            journal.discard()
        _text(console, f"Nothing to restore: envcheck has not changed any config file (no backups in {folder}).")
        return OK
    steps = journal.restore_plan()
    for step in steps:
        if step.error:
            _text(console, f"{step.path}: cannot restore: {step.error}", "bold red")
            continue
        if not step.changes:
            _text(console, f"{step.path}: already as it was", "bold")
            continue
        what = "delete (envcheck created it)" if step.original is None else "put back the original"
        _text(console, f"{step.path}: {what}", "bold")
        if step.edited_since:
            _text(console, "  note: changed since envcheck wrote it; restoring drops those changes too "
                           "(they are in the diff)", "yellow")
        for line in diff_lines(step.path, step.current, step.original):
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            _text(console, line, style)
    failed = any(s.error for s in steps)
    if dry_run:
        _text(console, "Dry run: nothing was written.", "bold")
        return FAILED if failed else OK
    if any(s.changes for s in steps) and not yes and not confirm("Restore these files?"):
        _text(console, "Nothing changed.", "yellow")
        return DECLINED
    problems = journal.apply(steps)
    for p in problems:
        _text(console, "not restored: " + p, "red")
    if problems:
        _text(console, f"The backups stay in {folder}.", "yellow")
        return FAILED
    _text(console, "Restored the files as they were before envcheck changed them.", "green")
    return OK


# --------------------------------------------------------------------------- test


def run_test(knowledge: Knowledge, timeout: float, urls: Sequence[str], as_json: bool,
             console_factory: Callable) -> int:
    from . import nettest

    if urls:
        try:
            targets = [nettest.parse_target(u) for u in urls]
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    else:
        targets = nettest.targets_for(knowledge.mirrors())
    results = nettest.run_all(targets, timeout)
    known = [m.name for m in knowledge.mirrors() if m.pypi or m.conda_default_channels or m.conda_channels]
    if as_json:
        _print_json(nettest.to_dict(results, timeout, known))
        return OK
    from rich.table import Table

    console = console_factory()
    table = Table(title=f"Mirrors from here (timeout {timeout:g} s, measured concurrently)", title_justify="left")
    for col, justify in (("#", "right"), ("mirror", "left"), ("latency", "right"), ("download", "right"),
                         ("speed", "right"), ("URL / problem", "left")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in results:
        if r.reachable:
            download = f"{r.bytes / 1024:.0f} KiB in {r.download_s:.2f} s" if r.bytes and r.download_s is not None else "-"
            speed = f"{r.throughput_kib_s:,.0f} KiB/s" if r.throughput_kib_s else "-"
            extra = f"\n{r.error}" if r.error else ""
            _row(table, str(r.rank), r.name, f"{r.latency_ms:g} ms", download, speed, redact_url(r.url) + extra)
        else:
            _row(table, "-", r.name, "unreachable", "-", "-", f"{redact_url(r.url)}\n{r.error or ''}")
    console.print(table)
    _text(console, nettest.summary(results, timeout, known), "bold")
    return OK
