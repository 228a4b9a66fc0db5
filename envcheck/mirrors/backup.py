"""The journal that lets `envcheck mirrors restore` undo every `use`, byte for byte.

Layout (``$XDG_CONFIG_HOME/envcheck/mirrors-backup/``, default ``~/.config/envcheck/...``;
``%APPDATA%\\envcheck\\mirrors-backup\\`` on Windows)::

    manifest.json   {"schema": 1, "files": [...], "dirs": [...]}
    001-pip.conf    the original bytes of the first file envcheck changed
    002-.condarc    ...

Each ``files`` entry records a config file *before its first change*: ``existed`` with the name of
the copy of its original bytes and its mode, or ``existed: false`` for a file envcheck created.
A later `use` (another mirror) finds the file already journalled and takes no new copy, so the
journal always holds what the user had. ``dirs`` lists the folders envcheck created (for a new
config file, and the journal's own), removed again by restore when empty. The copy is written and
the manifest saved (both atomically) *before* the config file is touched.

Each entry also records what the path *was*: ``kind`` ("file", "link" or "missing"), a link's text
(``link``) and the file it led to (``target``), and the file's ``uid``/``gid``/``mode``. Restore writes
each original back (in place for a hard link, keeping owner and mode where permitted), deletes the
files envcheck created (for a link that dangled: the file at its target, the link stays), then
removes the journal itself. Every run holds the folder's lock (:mod:`.lock`) from load to save.

The manifest is not trusted: it is validated field by field, and restore only touches the paths
`use` edits (:func:`.places.config_paths`, as links there resolve now); an entry naming another path
is reported and left alone. A manifest it cannot read is reported and left alone.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..i18n import N_, Message
from ..probes import ProbeContext
from ..fileio import atomic_write, give_new_folder, resolve_target
from .fileio import Refusal, ensure_dir, read_bytes, reason_of, sha256
from .lock import LOCK
from .places import key as _key


SCHEMA = 1
MANIFEST = "manifest.json"


class JournalError(Refusal):
    """The journal exists but cannot be read or written (``str()`` English, ``.message`` worded where shown)."""


def journal_dir(ctx: ProbeContext, platform: str = sys.platform) -> Path:
    if platform.startswith("win"):
        appdata = ctx.env.get("APPDATA")
        base = Path(appdata) if appdata else ctx.home_dir() / "AppData" / "Roaming"
    else:
        xdg = ctx.env.get("XDG_CONFIG_HOME", "").strip()
        base = Path(xdg) if xdg else ctx.home_dir() / ".config"
    return base / "envcheck" / "mirrors-backup"


@dataclass
class Entry:
    path: str
    existed: bool
    tool: str = ""
    #: file name of the original bytes inside the journal folder (existed only)
    backup: Optional[str] = None
    mode: Optional[int] = None
    sha256_original: Optional[str] = None
    #: what envcheck last wrote, to tell the user when the file changed since
    sha256_written: Optional[str] = None
    recorded: str = ""
    #: what the path was: "file", "link" (``link`` its text, ``target`` the file it led to) or "missing"
    kind: str = ""
    link: Optional[str] = None
    target: Optional[str] = None
    uid: Optional[int] = None
    gid: Optional[int] = None


@dataclass
class RestoreStep:
    entry: Entry
    path: Path
    #: the file's bytes now (None: missing) and what restore puts back (None: delete it)
    current: Optional[bytes]
    original: Optional[bytes]
    #: why it cannot be restored; worded where shown
    error: Optional[Message] = None
    #: the file changed since envcheck last wrote it
    edited_since: bool = False

    @property
    def changes(self) -> bool:
        return self.error is None and self.current != self.original


@dataclass
class Journal:
    folder: Path
    files: List[Entry] = field(default_factory=list)
    dirs: List[str] = field(default_factory=list)
    exists: bool = False

    # -- loading and saving
    @classmethod
    def load(cls, folder: Path) -> "Journal":
        journal = cls(folder)
        manifest = folder / MANIFEST
        try:
            raw = read_bytes(manifest)
        except Exception as exc:
            raise JournalError(Message(N_("cannot read {path}: {problem}"), path=manifest,
                                       problem=reason_of(exc))) from exc
        if raw is None:
            return journal
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("schema") != SCHEMA:
                raise JournalError(Message(
                    N_("{path} is not an envcheck backup manifest (unknown schema {schema}); left as it is, nothing "
                       "restored"),
                    path=manifest, schema=repr(data.get("schema") if isinstance(data, dict) else data)))
            journal.files = [Entry(**row) for row in data.get("files", [])]
            journal.dirs = [str(d) for d in data.get("dirs", [])]
            problem = _invalid(journal)
            if problem:
                raise JournalError(Message(N_("{path} is not an envcheck backup manifest ({reason}); left as it is, "
                                              "nothing restored"), path=manifest, reason=problem))
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise JournalError(Message(N_("{path} is not an envcheck backup manifest ({reason}); left as it is, "
                                          "nothing restored"), path=manifest, reason=str(exc))) from exc
        journal.exists = True
        return journal

    def _ensure_folder(self) -> None:
        created = ensure_dir(self.folder)
        for folder in created:
            give_new_folder(folder)
        if self.folder in created:
            try:
                os.chmod(self.folder, 0o700)  # the copies may hold index credentials
            except OSError:
                pass
        self._add_dirs(created)

    def save(self) -> None:
        self._ensure_folder()
        data: Dict[str, Any] = {
            "schema": SCHEMA,
            "about": "originals of the config files `envcheck mirrors use` changed; "
                     "`envcheck mirrors restore` puts them back",
            "files": [e.__dict__ for e in self.files],
            "dirs": self.dirs,
        }
        atomic_write(self.folder / MANIFEST, (json.dumps(data, indent=2) + "\n").encode("utf-8"), mode=0o600,
                     new_owner_from_folder=True)
        self.exists = True

    # -- recording
    def entry(self, path: Path) -> Optional[Entry]:
        key = _key(path)
        for e in self.files:
            if e.path == key:
                return e
        return None

    def remember(self, path: Path, before: Optional[bytes], tool: str, created_dirs: List[Path]) -> None:
        """Journal ``path`` before its first change (a later call keeps the true original)."""
        self._add_dirs(created_dirs)
        if self.entry(path) is None:
            info = resolve_target(path)
            entry = Entry(path=_key(path), existed=before is not None, tool=tool,
                          recorded=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                          kind="link" if info.link is not None else ("file" if info.exists else "missing"),
                          link=info.link, target=str(info.path) if info.link is not None else None,
                          uid=info.uid, gid=info.gid)
            if before is not None:
                entry.backup = f"{len(self.files) + 1:03d}-{path.name}"
                entry.mode = info.mode
                entry.sha256_original = sha256(before)
                self._ensure_folder()
                atomic_write(self.folder / entry.backup, before, mode=0o600, new_owner_from_folder=True)
            self.files.append(entry)
        self.save()

    def state(self) -> Tuple[List[Entry], List[str], bool]:
        """What :meth:`revert` goes back to."""
        return [Entry(**e.__dict__) for e in self.files], list(self.dirs), self.exists

    def revert(self, state: Tuple[List[Entry], List[str], bool]) -> None:
        """Forget what was journalled since :meth:`state` (a `use` that changed nothing in the end)."""
        files, dirs, existed = state
        kept = {e.backup for e in files}
        for e in self.files:
            if e.backup and e.backup not in kept:
                _unlink(self.folder / e.backup)
        for folder in sorted((d for d in self.dirs if d not in dirs), key=lambda d: len(Path(d).parts),
                             reverse=True):
            if Path(folder) != self.folder and not _is_within(self.folder, Path(folder)):
                _rmdir(Path(folder))
        self.files, self.dirs = files, dirs
        if existed:
            self.save()
        else:
            _unlink(self.folder / MANIFEST)
            self.exists = False

    def written(self, path: Path, data: bytes) -> None:
        entry = self.entry(path)
        if entry is not None:
            entry.sha256_written = sha256(data)
            self.save()

    def _add_dirs(self, created: List[Path]) -> None:
        for folder in created:
            key = _key(folder)
            if key not in self.dirs:
                self.dirs.append(key)

    # -- restoring
    def restore_plan(self, allowed: Optional[Sequence[Path]] = None) -> List[RestoreStep]:
        """What restore would do to each journalled file; ``allowed``: the only paths it may touch
        (None: every journalled path, for callers that checked them already)."""
        permitted = None if allowed is None else {_key(p) for p in allowed}
        steps: List[RestoreStep] = []
        for entry in self.files:
            path = Path(entry.path)
            step = RestoreStep(entry, path, None, None)
            steps.append(step)
            if permitted is not None and _key(path) not in permitted:
                step.error = Message(N_("{path} is not a config file envcheck edits here; left alone (the backup "
                                        "manifest names it)"), path=path)
                continue
            step.error = _link_changed(entry, path)
            if step.error:
                continue
            try:
                step.current = read_bytes(path)
            except Exception as exc:
                step.error = reason_of(exc)
                continue
            if entry.existed:
                try:
                    step.original = read_bytes(self.folder / (entry.backup or ""))
                except Exception as exc:
                    step.error = Message(N_("the saved original of {path} cannot be read: {problem}"), path=path,
                                         problem=reason_of(exc))
                if step.original is None and step.error is None:
                    step.error = Message(N_("the saved original of {path} is missing from {folder}"), path=path,
                                         folder=self.folder)
            step.edited_since = (entry.sha256_written is not None
                                 and sha256(step.current) != entry.sha256_written)
        return steps

    def apply(self, steps: List[RestoreStep], allowed: Optional[Sequence[Path]] = None,
              home: Optional[Path] = None) -> List[Message]:
        """Put the originals back; the problems met, worded where shown (the journal is kept when there are any)."""
        problems: List[Message] = []
        for step in steps:
            if step.error:
                problems.append(step.error)
                continue
            try:
                problem = _restore_one(step)
            except OSError as exc:
                problem = Message(N_("{path}: {reason}"), path=step.path, reason=exc.strerror or str(exc))
            if problem:
                problems.append(problem)
        if problems:
            return problems
        self.discard(allowed, home)
        return problems

    def discard(self, allowed: Optional[Sequence[Path]] = None, home: Optional[Path] = None) -> None:
        """Delete the journal and the folders envcheck created that are now empty (with ``allowed``: only
        folders on the way to those paths, their link targets, or the journal)."""
        for entry in self.files:
            if entry.backup:
                _unlink(self.folder / entry.backup)
        _unlink(self.folder / MANIFEST)
        _unlink(self.folder / LOCK)  # held by this run: a waiting run takes a new one
        folders = [Path(d) for d in self.dirs
                   if allowed is None or _may_remove(Path(d), allowed, self.folder, home or Path("~"))]
        folders.append(self.folder)
        if self.folder.parent.name == "envcheck":
            # envcheck's own folder, when empty: which concurrent run made it is not always the one that
            # recorded the journal (issue 16's race bench), and nothing but envcheck puts files there
            folders.append(self.folder.parent)
        for folder in sorted(set(folders), key=lambda p: len(p.parts), reverse=True):
            _rmdir(folder)
        self.files, self.dirs, self.exists = [], [], False


def _restore_one(step: RestoreStep) -> Optional[Message]:
    """Give one file back as it was: bytes, mode, owner where permitted; or delete what envcheck created."""
    entry = step.entry
    if step.original is None:  # envcheck created it
        if entry.kind == "link":  # the link dangled: the file at its target goes, the link stays as it was
            info = resolve_target(step.path)
            if info.exists:
                os.unlink(info.path)
        elif entry.kind and os.path.islink(step.path):
            return Message(N_("{path} is a symlink now, not the file envcheck created; left alone"), path=step.path)
        elif os.path.lexists(step.path):
            os.unlink(step.path)
        return None
    if step.current != step.original:
        info = resolve_target(step.path)
        created = ensure_dir(info.path.parent)
        for folder in created:
            give_new_folder(folder)
        atomic_write(step.path, step.original, mode=entry.mode)
    info = resolve_target(step.path)
    if entry.mode is not None and info.mode != entry.mode:
        os.chmod(info.path, entry.mode)
    if entry.uid is not None and entry.gid is not None and (info.uid, info.gid) != (entry.uid, entry.gid) \
            and hasattr(os, "chown"):
        try:
            os.chown(info.path, entry.uid, entry.gid)
        except PermissionError:
            pass  # owner "where permitted": a user cannot give a file away
    if read_bytes(step.path) != step.original:
        return Message(N_("{path} does not hold its original bytes after the restore; the backup stays"),
                       path=step.path)
    return None


def _link_changed(entry: Entry, path: Path) -> Optional[Message]:
    """Why a path that was a symlink cannot be restored through it now (it points elsewhere), else None."""
    if entry.kind != "link":
        return None
    try:
        now = os.readlink(path)
    except OSError:
        now = None
    target = os.path.realpath(path) if now is not None else None
    if now != entry.link or target != entry.target:
        return Message(N_("{path} was a symlink to {target} when envcheck changed it and no longer is; left alone"),
                       path=path, target=entry.target or entry.link or "?")
    return None


_BACKUP_NAME = re.compile(r"^[0-9]{3}-[^/\\\x00]+$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _invalid(journal: "Journal") -> Optional[str]:
    """What is wrong with a loaded manifest (English, a technical detail), or None."""
    def opt_int(v: Any, top: int) -> bool:
        return v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= top)

    seen = set()
    for e in journal.files:
        if not isinstance(e.path, str) or not os.path.isabs(e.path) or "\x00" in e.path:
            return f"path {e.path!r} is not an absolute path"
        if e.path in seen:
            return f"{e.path} is listed twice"
        seen.add(e.path)
        if not isinstance(e.existed, bool):
            return f"existed of {e.path} is not true or false"
        if e.existed != (e.backup is not None):
            return f"{e.path}: backup must be named exactly when the file existed"
        if e.backup is not None and (not isinstance(e.backup, str) or not _BACKUP_NAME.match(e.backup)
                                     or e.backup in (MANIFEST, LOCK)):
            return f"backup {e.backup!r} is not a file name inside the backup folder"
        if not opt_int(e.mode, 0o7777) or not opt_int(e.uid, 1 << 32) or not opt_int(e.gid, 1 << 32):
            return f"mode, uid or gid of {e.path} is not a small number"
        for sha in (e.sha256_original, e.sha256_written):
            if sha is not None and not (isinstance(sha, str) and _SHA.match(sha)):
                return f"a sha256 of {e.path} is not a hex digest"
        if e.kind not in ("", "file", "link", "missing"):
            return f"kind {e.kind!r} of {e.path} is not file, link or missing"
        if e.kind == "link" and not (isinstance(e.link, str) and isinstance(e.target, str)
                                     and os.path.isabs(e.target)):
            return f"the link of {e.path} lacks its text or target"
        for text in (e.tool, e.recorded):
            if not isinstance(text, str):
                return f"tool or recorded of {e.path} is not text"
    for d in journal.dirs:
        if not os.path.isabs(d) or "\x00" in d:
            return f"folder {d!r} is not an absolute path"
    return None


def _may_remove(folder: Path, allowed: Sequence[Path], journal: Path, home: Path) -> bool:
    """Only empty folders on the way to a place `use` edits (or to the journal) are removed, never HOME
    or above it."""
    folder = Path(_key(folder))
    home = Path(_key(home))
    if folder == home or _is_within(folder, home):
        return False
    spots = [Path(_key(journal))]
    for path in allowed:
        spots.append(Path(_key(path)))
        if os.path.islink(path):
            spots.append(Path(os.path.realpath(path)))
    return any(_is_within(folder, spot) and folder != spot for spot in spots)


def _is_within(folder: Path, path: Path) -> bool:
    """``path`` is ``folder`` or lies below it."""
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _rmdir(folder: Path) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty (the user's own files) or already gone


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
