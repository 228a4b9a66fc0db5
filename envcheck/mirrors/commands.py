"""The five `envcheck mirrors` commands: gather, decide, write; a :class:`~.render.Screen` says what happens.

Why a screen object rather than the CLI running the steps: `use` and `restore` interleave
showing with deciding (plan, show the diff, ask, write, report each file), and the order of those
steps -- the journal before the config file, the re-read before the write -- is the part that must
not go wrong. Kept here, it sits beside the planner it drives and can be run in-process with any
screen; :mod:`envcheck.cli.mirrors` stays what its docstring says (options and exit codes) and
builds the one :class:`~.render.Screen` that knows the reader's language. Nothing in this module
words a sentence: every one is a :class:`~envcheck.i18n.Message` handed to the screen.

`use` and `restore` hold the backup folder's lock (:mod:`.lock`) while they read and write, sweep the
temporary files a killed run left, check every file before writing any, and change all or none
(a failed write puts back what was already written). With ``--yes`` the lock is taken before the
files are read (a second run queues behind the first); when asking, after the answer, and the files
are read again: if they changed meanwhile, nothing is written. ``ENVCHECK_MIRRORS_LOCK_WAIT`` (seconds,
default 60) is how long a run waits for the lock before it refuses.

Exit codes: 0 done (also: nothing to change, `--dry-run`, unreachable mirrors in `test`);
1 the user declined (or gave no answer to) the confirmation, nothing changed; 2 a file could not
be changed or restored (cannot parse it, cannot write it: it is left as it was and named);
3 bad input (``UsageError``: unknown mirror, a tool the mirror has no mirror for).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple

from ..fileio import atomic_write, give_new_folder, resolve_target, sweep_temps
from ..i18n import N_, Message, join
from ..knowledge import Knowledge, Mirror
from ..probes import ProbeContext
from ..redact import redact_url
from . import edit_conda, edit_pip, edit_uv
from .backup import Journal, JournalError, journal_dir
from .fileio import Edit, EditRefused, Refusal, ensure_dir, read_bytes, sha256
from .lock import DEFAULT_WAIT, JournalLock, LockError
from .places import config_paths, folders_to_sweep

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
    paths = config_paths(ctx, platform)
    for tool in tools:
        if tool == "pip":
            edits.append(edit_pip.plan(paths["pip"], mirror.pypi or "", mirror.name))
        elif tool == "conda":
            edits.append(edit_conda.plan(paths["conda"], mirror))
        elif tool == "uv":
            edits.append(edit_uv.plan(paths["uv"], mirror.pypi or "", mirror.name))
    return edits


def check_writes(edits: Sequence[Edit], force: bool = False) -> None:
    """Before anything is written: mark (``error``) each change that cannot be made as promised."""
    for edit in edits:
        if edit.changes:
            edit.error = write_problem(edit.path, force)


def write_problem(path: Path, force: bool = False) -> Optional[Message]:
    """Why ``path`` cannot be written keeping what it is (owner, mode, links), or None."""
    try:
        info = resolve_target(path)
    except OSError as exc:
        return Message(N_("{path} cannot be written: {reason}"), path=path, reason=exc.strerror or str(exc))
    if info.exists:
        if info.read_only and not force:
            return Message(N_("{path} is read-only (mode {mode}); pass --force to change it anyway"),
                           path=info.path, mode=oct(info.mode or 0)[2:].rjust(4, "0"))
        if info.nlink > 1 or not _may_give(info.uid, info.gid):
            if not os.access(info.path, os.W_OK) and not (force and info.uid == _euid()):
                return Message(N_("{path} belongs to another user and cannot be written in place; replacing it "
                                  "would change its owner"), path=info.path)
        elif not os.access(info.path.parent, os.W_OK | os.X_OK):
            return Message(N_("{folder} is not writable: {path} cannot be replaced"), folder=info.path.parent,
                           path=info.path)
    # a new file: whether its folder can be made shows when it is made (the OS's own words), and
    # apply_use then undoes whatever was already written
    return None


def _euid() -> Optional[int]:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _may_give(uid: Optional[int], gid: Optional[int]) -> bool:
    """This process can give a replacement file this owner and group (root can; a user only their own)."""
    euid = _euid()
    if euid is None or euid == 0 or uid is None:
        return True
    return uid == euid and (gid == os.getegid() or gid in os.getgroups())


def lock_wait(ctx: ProbeContext) -> float:
    try:
        return max(0.0, float(ctx.env.get("ENVCHECK_MIRRORS_LOCK_WAIT", "") or DEFAULT_WAIT))
    except ValueError:
        return DEFAULT_WAIT


@contextlib.contextmanager
def exits_cleanly() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run through its ``finally`` blocks (temporary files removed, writes undone)."""
    import signal

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, stop)
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def sweep(ctx: ProbeContext, platform: str, folder: Path) -> List[Path]:
    """Remove the temporary files killed runs left next to the config files and in the journal (lock held)."""
    removed: List[Path] = []
    for where, names in folders_to_sweep(list(config_paths(ctx, platform).values())).items():
        removed += sweep_temps(where, names)
    removed += sweep_temps(folder)
    return removed


def _fingerprint(edits: Sequence[Edit]) -> List[Tuple[str, Optional[bytes], Optional[bytes], bool]]:
    return [(str(e.path), e.before, e.after, e.error is None) for e in edits]


def run_use(ctx: ProbeContext, knowledge: Knowledge, name: str, wanted: Sequence[str], dry_run: bool,
            yes: bool, platform: str, screen: "Screen", force: bool = False) -> int:
    """Plan the edits, check each, show them, ask (unless ``yes``), journal every original, then write all."""
    mirror = find_mirror(knowledge, name)
    tools, skipped = choose_tools(mirror, wanted)
    folder = journal_dir(ctx, platform)
    lock: Optional[JournalLock] = None
    with exits_cleanly():
        try:
            if yes and not dry_run:
                lock = JournalLock(folder, lock_wait(ctx)).acquire()
                sweep(ctx, platform, folder)
            edits = plan_use(ctx, mirror, tools, platform)
            check_writes(edits, force)
            screen.use_plan(mirror, skipped, edits)
            failed = [e for e in edits if e.error]
            changes = [e for e in edits if e.changes]
            if failed:
                if changes:
                    screen.error(Message(N_("nothing changed: {paths} cannot be changed (see above), and envcheck "
                                            "changes all the files or none"),
                                         paths=", ".join(str(e.path) for e in failed)))
                else:
                    screen.nothing_to_change(True)
                return FAILED
            if not changes:
                screen.nothing_to_change(False)
                return OK
            if dry_run:
                screen.dry_run()
                return OK
            if not yes and not screen.confirm_apply(len(changes)):
                screen.declined()
                return DECLINED
            if lock is None:
                lock = JournalLock(folder, lock_wait(ctx)).acquire()
                sweep(ctx, platform, folder)
                again = plan_use(ctx, mirror, tools, platform)
                check_writes(again, force)
                if _fingerprint(again) != _fingerprint(edits):
                    screen.error(Message(N_("the files changed while envcheck was asking; nothing changed, run the "
                                            "command again")))
                    return FAILED
            journal = Journal.load(folder)
            journal._add_dirs(lock.created)
            written, problem = apply_use(journal, changes, force)
        except (JournalError, LockError) as exc:
            screen.error(exc.message)
            return FAILED
        finally:
            if lock is not None:
                _record_lock_folders(lock)
                lock.release()
    if problem is not None:
        screen.not_changed(*problem)
        return FAILED
    screen.changed(len(written), journal.folder,
                   after_checks(ctx, knowledge, mirror, [e.tool for e in written], platform))
    return OK


def _record_lock_folders(lock: JournalLock) -> None:
    """The folders this run made to hold the lock go into an existing journal (restore removes them), even
    when this run changed nothing: the run that wrote the journal found them already there."""
    if not lock.created or not (lock.folder / "manifest.json").is_file():
        return
    try:
        journal = Journal.load(lock.folder)
        missing = [f for f in lock.created if str(f) not in journal.dirs]
        if missing:
            journal._add_dirs(missing)
            journal.save()
    except (JournalError, OSError):
        pass  # the journal stays as it was; at worst an empty folder outlives restore


def apply_use(journal: Journal, changes: Sequence[Edit], force: bool = False
              ) -> Tuple[List[Edit], Optional[Tuple[str, Message]]]:
    """Journal every original, then write every file; on any failure undo what was written (all or none).

    Returns (the edits written, None) or ([], (tool, why nothing changed)); other exceptions (a signal)
    are re-raised after the undo."""
    state = journal.state()
    written: List[Edit] = []
    current = changes[0]
    try:
        for current in changes:  # every original is safe in the journal before any file is touched
            created = ensure_dir(resolve_target(current.path).path.parent)
            for made in created:
                give_new_folder(made)
            journal.remember(current.path, current.before, current.tool, created)
        for current in changes:
            if read_bytes(current.path) != current.before:
                raise EditRefused(Message(N_("{path} changed while envcheck was asking; left as it is now"),
                                          path=current.path))
            atomic_write(current.path, current.after or b"", force=force, new_owner_from_folder=True)
            written.append(current)
        for edit in written:
            entry = journal.entry(edit.path)
            if entry is not None:
                entry.sha256_written = sha256(edit.after or b"")
        journal.save()
        return written, None
    except BaseException as exc:
        undone = undo(written)
        if undone:
            journal.revert(state)
        if isinstance(exc, (EditRefused, OSError)):
            why = exc.message if isinstance(exc, EditRefused) else Message(
                N_("{path}: {reason}"), path=current.path, reason=exc.strerror or str(exc))
            return [], (current.tool, why)
        raise


def undo(written: Sequence[Edit]) -> bool:
    """Put back the files this run already wrote; False when one could not be (the journal then stays)."""
    ok = True
    for edit in reversed(written):
        try:
            if edit.before is None:
                info = resolve_target(edit.path)
                if info.exists:
                    os.unlink(info.path)
            else:
                atomic_write(edit.path, edit.before)
        except OSError:
            ok = False
    return ok


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
    allowed = list(config_paths(ctx, platform).values())
    lock: Optional[JournalLock] = None
    with exits_cleanly():
        try:
            if yes and not dry_run and folder.is_dir():
                lock = _restore_lock(ctx, folder)
                if lock is not None:
                    sweep(ctx, platform, folder)
            journal = Journal.load(folder)
            if not journal.exists or not journal.files:
                if journal.exists and not dry_run:
                    lock = lock or _restore_lock(ctx, folder)
                    journal.discard(allowed, ctx.home_dir())
                screen.nothing_to_restore(folder)
                return OK
            steps = journal.restore_plan(allowed)
            screen.restore_plan(steps)
            failed = any(s.error for s in steps)
            if dry_run:
                screen.dry_run()
                return FAILED if failed else OK
            if any(s.changes for s in steps) and not yes and not screen.confirm_restore():
                screen.declined()
                return DECLINED
            if lock is None:
                lock = _restore_lock(ctx, folder)
                if lock is not None:
                    sweep(ctx, platform, folder)
                again = Journal.load(folder)
                fresh = again.restore_plan(allowed)
                if [(s.path, s.current, s.original, s.error is None) for s in fresh] != \
                        [(s.path, s.current, s.original, s.error is None) for s in steps]:
                    screen.error(Message(N_("the files or the backups changed while envcheck was asking; nothing "
                                            "restored, run the command again")))
                    return FAILED
            problems = journal.apply(steps, allowed, ctx.home_dir())
        except (JournalError, LockError) as exc:
            screen.error(exc.message)
            return FAILED
        finally:
            if lock is not None:
                lock.release()
    screen.restored(problems, folder)
    return FAILED if problems else OK


def _restore_lock(ctx: ProbeContext, folder: Path) -> Optional[JournalLock]:
    """The journal's lock for restore, which never creates the folder (None: it is gone, nothing to restore)."""
    try:
        return JournalLock(folder, lock_wait(ctx)).acquire(create=False)
    except (FileNotFoundError, NotADirectoryError):
        return None


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
