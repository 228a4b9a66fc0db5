"""The five `envcheck mirrors` commands: gather, decide, write; a :class:`~.render.Screen` says what happens.

Why a screen object rather than the CLI running the steps: `use` and `restore` interleave
showing with deciding (plan, show the diff, ask, write, report each file), and the order of those
steps -- the journal before the config file, the re-read before the write -- is the part that must
not go wrong. Kept here, it sits beside the planner it drives and can be run in-process with any
screen; :mod:`envcheck.cli.mirrors` stays what its docstring says (options and exit codes) and
builds the one :class:`~.render.Screen` that knows the reader's language. Nothing in this module
words a sentence: every one is a :class:`~envcheck.i18n.Message` handed to the screen.

Exit codes: 0 done (also: nothing to change, `--dry-run`, unreachable mirrors in `test`);
1 the user declined (or gave no answer to) the confirmation, nothing changed; 2 a file could not
be changed or restored (cannot parse it, cannot write it: it is left as it was and named);
3 bad input (``UsageError``: unknown mirror, a tool the mirror has no mirror for).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from ..fileio import atomic_write, write_target
from ..i18n import N_, Message, join
from ..knowledge import Knowledge, Mirror
from ..probes import ProbeContext
from ..redact import redact_url
from . import edit_conda, edit_pip, edit_uv
from .backup import Journal, JournalError, journal_dir
from .fileio import Edit, EditRefused, Refusal, ensure_dir, read_bytes

if TYPE_CHECKING:  # the CLI builds the screen; this module only calls it
    from .render import Screen


TOOLS = ("pip", "conda", "uv")
OK, DECLINED, FAILED = 0, 1, 2


class UsageError(Refusal):
    """Bad input: the CLI turns it into envcheck's usage exit (3) and words its ``message``."""


def find_mirror(knowledge: Knowledge, name: str) -> Mirror:
    mirror = knowledge.mirror(name.strip())
    if mirror is None:
        known = ", ".join(m.name for m in knowledge.mirrors())
        raise UsageError(Message(N_("unknown mirror {name}; known mirrors: {known}"), name=repr(name), known=known))
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


def run_list(knowledge: Knowledge, as_json: bool, screen: "Screen") -> int:
    mirrors = knowledge.mirrors()
    if as_json:
        screen.json({"mirrors": [mirror_dict(m) for m in mirrors]})
    else:
        screen.mirror_list(mirrors)
    return OK


# --------------------------------------------------------------------------- status


def run_status(ctx: ProbeContext, knowledge: Knowledge, platform: str, as_json: bool, screen: "Screen",
               cwd: Optional[Path] = None) -> int:
    from .status import collect

    status = collect(ctx, knowledge, platform, cwd)
    if as_json:
        screen.json(status.to_dict())
    else:
        screen.status(status)
    return OK


# --------------------------------------------------------------------------- use


def capabilities(m: Mirror) -> Dict[str, bool]:
    return {"pip": bool(m.pypi), "conda": bool(m.conda_default_channels or m.conda_channels), "uv": bool(m.pypi)}


def choose_tools(mirror: Mirror, wanted: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(tools to change, tools skipped because the mirror has nothing for them); UsageError when none fit."""
    can = capabilities(mirror)
    if wanted:
        lacking = [t for t in wanted if not can[t]]
        if lacking:
            what = {"pip": N_("no PyPI index (for {tool})"), "uv": N_("no PyPI index (for {tool})"),
                    "conda": N_("no conda channels (for {tool})")}
            missing = join(Message(N_(" and ")), [Message(what[t], tool=t) for t in lacking])
            raise UsageError(Message(N_("{mirror} has {missing} in envcheck's data; see `envcheck mirrors list` for "
                                        "what each mirror offers"), mirror=mirror.name, missing=missing))
        return [t for t in TOOLS if t in wanted], []
    tools = [t for t in TOOLS if can[t]]
    if not tools:
        extra = (Message(N_(" Its PyTorch wheels ({url}) are per-variant: {command} prints commands that use them."),
                         url=mirror.torch_wheels, command=f"`envcheck install-cmd --mirror {mirror.name}`")
                 if mirror.torch_wheels else "")
        raise UsageError(Message(N_("{mirror} has no PyPI index and no conda channels to configure."),
                                 mirror=mirror.name) + extra)
    return tools, [t for t in TOOLS if not can[t]]


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
            yes: bool, platform: str, screen: "Screen") -> int:
    """Plan the edits, show them, ask (unless ``yes``), journal each original, then write."""
    mirror = find_mirror(knowledge, name)
    tools, skipped = choose_tools(mirror, wanted)
    edits = plan_use(ctx, mirror, tools, platform)
    screen.use_plan(mirror, skipped, edits)
    failed = [e for e in edits if e.error]
    changes = [e for e in edits if e.changes]
    code = FAILED if failed else OK
    if not changes:
        screen.nothing_to_change(bool(failed))
        return code
    if dry_run:
        screen.dry_run()
        return code
    if not yes and not screen.confirm_apply(len(changes)):
        screen.declined()
        return DECLINED
    try:
        journal = Journal.load(journal_dir(ctx, platform))
    except JournalError as exc:
        screen.error(exc.message)
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
            screen.not_changed(edit.tool, why)
            code = FAILED
    if written:
        screen.changed(len(written), journal.folder,
                       after_checks(ctx, knowledge, mirror, [e.tool for e in written], platform))
    return code


def after_checks(ctx: ProbeContext, knowledge: Knowledge, mirror: Mirror, tools: List[str],
                 platform: str) -> List[Message]:
    """What still overrides the files just written (a variable, a project or site file)."""
    from .status import conda_status, pip_status, uv_status

    warnings: List[Message] = []
    want = (mirror.pypi or "").rstrip("/")
    if "pip" in tools:
        pip = pip_status(ctx, knowledge, platform)
        if pip.index.value.rstrip("/") != want:
            warnings.append(Message(N_("{tool} still uses {url}: {origin} overrides the user file."),
                                    tool="pip", url=redact_url(pip.index.value), origin=pip.index.origin))
    if "uv" in tools:
        uv = uv_status(ctx, knowledge, platform, Path.cwd())
        if uv.index.value.rstrip("/") != want:
            warnings.append(Message(N_("{tool} still uses {url}: {origin} overrides the user file."),
                                    tool="uv", url=redact_url(uv.index.value), origin=uv.index.origin))
    if "conda" in tools:
        conda = conda_status(ctx, knowledge)
        settings, _notes = edit_conda.layout(mirror)
        for name, base in settings.get("custom_channels", {}).items():
            got = conda.custom_channels.get(name)
            if got is not None and got.value.rstrip("/") != base:
                warnings.append(Message(N_("conda sends {channel} to {url}: {origin} overrides ~/.condarc."),
                                        channel=name, url=redact_url(got.value), origin=got.origin))
        if conda.default_channels and settings.get("default_channels") and \
                conda.default_channels[0].value.rstrip("/") != settings["default_channels"][0].rstrip("/"):
            first = conda.default_channels[0]
            warnings.append(Message(N_("conda's default_channels start with {url} from {origin}, which comes before "
                                       "~/.condarc."), url=redact_url(first.value), origin=first.origin))
    return warnings


# --------------------------------------------------------------------------- restore


def run_restore(ctx: ProbeContext, yes: bool, dry_run: bool, platform: str, screen: "Screen") -> int:
    """Show what restore puts back, ask (unless ``yes``), put it back; the journal goes when all succeeded."""
    folder = journal_dir(ctx, platform)
    try:
        journal = Journal.load(folder)
    except JournalError as exc:
        screen.error(exc.message)
        return FAILED
    if not journal.exists or not journal.files:
        if journal.exists and not dry_run:
            journal.discard()
        screen.nothing_to_restore(folder)
        return OK
    steps = journal.restore_plan()
    screen.restore_plan(steps)
    failed = any(s.error for s in steps)
    if dry_run:
        screen.dry_run()
        return FAILED if failed else OK
    if any(s.changes for s in steps) and not yes and not screen.confirm_restore():
        screen.declined()
        return DECLINED
    problems = journal.apply(steps)
    screen.restored(problems, folder)
    return FAILED if problems else OK


# --------------------------------------------------------------------------- test


def run_test(knowledge: Knowledge, timeout: float, urls: Sequence[str], as_json: bool, screen: "Screen") -> int:
    from . import nettest

    if urls:
        try:
            targets = [nettest.parse_target(u) for u in urls]
        except nettest.BadTarget as exc:
            raise UsageError(exc.message) from exc
    else:
        targets = nettest.targets_for(knowledge.mirrors())
    results = nettest.run_all(targets, timeout)
    known = [m.name for m in knowledge.mirrors() if m.pypi or m.conda_default_channels or m.conda_channels]
    if as_json:
        screen.json(nettest.to_dict(results, timeout, known))
    else:
        screen.test_results(results, timeout, nettest.summary(results, timeout, known))
    return OK
