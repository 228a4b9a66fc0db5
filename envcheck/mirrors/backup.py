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

Restore writes each original back (atomically, with its old mode), deletes the files envcheck
created, then removes the journal itself. A manifest it cannot read is reported and left alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..i18n import N_, Message
from ..probes import ProbeContext
from ..fileio import atomic_write, write_target
from .fileio import Refusal, ensure_dir, read_bytes, reason_of, sha256


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
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise JournalError(Message(N_("{path} is not an envcheck backup manifest ({reason}); left as it is, "
                                          "nothing restored"), path=manifest, reason=str(exc))) from exc
        journal.exists = True
        return journal

    def _ensure_folder(self) -> None:
        created = ensure_dir(self.folder)
        if created:
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
        atomic_write(self.folder / MANIFEST, (json.dumps(data, indent=2) + "\n").encode("utf-8"), mode=0o600)
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
            entry = Entry(path=_key(path), existed=before is not None, tool=tool,
                          recorded=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            if before is not None:
                entry.backup = f"{len(self.files) + 1:03d}-{path.name}"
                entry.mode = _mode(write_target(path))
                entry.sha256_original = sha256(before)
                self._ensure_folder()
                atomic_write(self.folder / entry.backup, before, mode=0o600)
            self.files.append(entry)
        self.save()

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
    def restore_plan(self) -> List[RestoreStep]:
        steps: List[RestoreStep] = []
        for entry in self.files:
            path = Path(entry.path)
            step = RestoreStep(entry, path, None, None)
            try:
                step.current = read_bytes(path)
            except Exception as exc:
                step.error = reason_of(exc)
                steps.append(step)
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
            steps.append(step)
        return steps

    def apply(self, steps: List[RestoreStep]) -> List[Message]:
        """Put the originals back; the problems met, worded where shown (the journal is kept when there are any)."""
        problems: List[Message] = []
        for step in steps:
            if step.error:
                problems.append(step.error)
                continue
            try:
                if step.original is not None:
                    if step.current != step.original:
                        mode = step.entry.mode
                        target = write_target(step.path)
                        ensure_dir(target.parent)
                        atomic_write(step.path, step.original, mode=mode)
                        if mode is not None:
                            os.chmod(target, mode)
                elif step.current is not None or os.path.islink(step.path):
                    os.unlink(step.path)
            except OSError as exc:
                problems.append(Message(N_("{path}: {reason}"), path=step.path, reason=exc.strerror or str(exc)))
        if problems:
            return problems
        self.discard()
        return problems

    def discard(self) -> None:
        """Delete the journal and the folders envcheck created that are now empty."""
        for entry in self.files:
            if entry.backup:
                _unlink(self.folder / entry.backup)
        _unlink(self.folder / MANIFEST)
        folders = [Path(d) for d in self.dirs] + [self.folder]
        for folder in sorted(set(folders), key=lambda p: len(p.parts), reverse=True):
            try:
                os.rmdir(folder)
            except OSError:
                pass  # not empty (the user's own files) or already gone
        self.files, self.dirs, self.exists = [], [], False


def _key(path: Path) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))


def _mode(path: Path) -> Optional[int]:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
