"""One lock per backup folder, so two `mirrors use` / `restore` runs never interleave their journal writes.

Why: each run loads the manifest, adds to it and saves it; two at once each save their own copy and
one entry is lost (restore then misses a file). The lock is ``fcntl.flock`` on ``lock`` inside the
backup folder (``msvcrt.locking`` on Windows; where neither exists, an ``O_EXCL`` lock file that
refuses a second run). A run waits for the lock up to ``wait`` seconds (queues), then refuses.

The lock file exists only while a run holds it (so a refused run leaves the user's folders as they
were); a run that waited on a removed file notices (its inode is no longer the one at the path) and
takes the lock again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import List, Optional

from ..fileio import give_new_folder
from ..i18n import N_, Message
from .fileio import Refusal, ensure_dir

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
try:  # Windows
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]


LOCK = "lock"
#: seconds a run waits for another to finish before it refuses
DEFAULT_WAIT = 60.0
_POLL = 0.02


class LockError(Refusal):
    """The backup folder's lock cannot be taken (``.message`` worded where shown)."""


class LockBusy(LockError):
    """Another run holds the backup folder's lock."""


class JournalLock:
    """The backup folder's lock, held between :meth:`acquire` and :meth:`release`."""

    def __init__(self, folder: Path, wait: float = DEFAULT_WAIT) -> None:
        self.folder = folder
        self.path = folder / LOCK
        self.wait = wait
        #: folders created to hold the lock file (the journal records them, so restore removes them)
        self.created: List[Path] = []
        self._fd: Optional[int] = None
        self._exclusive_file = False

    def acquire(self, create: bool = True) -> "JournalLock":
        """Take the lock (waiting up to ``wait`` s); LockBusy when another run keeps it, FileNotFoundError
        when ``create`` is False and the folder is gone."""
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            try:
                if create:
                    for folder in ensure_dir(self.folder):
                        if folder not in self.created:
                            self.created.append(folder)
                        give_new_folder(folder)
                    if self.folder in self.created:
                        _private(self.folder)  # the backups may hold index credentials
                if self._try_once():
                    return self
            except FileNotFoundError:
                if not create:
                    raise
                # the run before us removed the emptied folder between our mkdir and open: again
            except OSError as exc:
                if not create and isinstance(exc, NotADirectoryError):
                    raise
                raise LockError(Message(N_("cannot lock {path}: {reason}"), path=self.path,
                                        reason=exc.strerror or str(exc))) from exc
            if time.monotonic() >= deadline:
                raise LockBusy(Message(N_("another `envcheck mirrors` run holds {path} (waited {seconds} s); nothing "
                                          "changed, try again when it has finished"),
                                       path=self.path, seconds=round(self.wait)))
            time.sleep(_POLL)

    def _try_once(self) -> bool:
        if fcntl is None and msvcrt is None:
            return self._try_exclusive_file()
        fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        if not _same_file(fd, self.path):  # removed (or replaced) while we waited: lock the new one
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _try_exclusive_file(self) -> bool:  # pragma: no cover - platforms without flock or msvcrt
        try:
            fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        os.write(fd, str(os.getpid()).encode())
        self._fd, self._exclusive_file = fd, True
        return True

    def release(self) -> None:
        """Let the next run in. The lock file goes with the lock (a waiter on it takes the new one), and
        when no journal is left, so do the folders made for it."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._exclusive_file or _same_file(fd, self.path):
                _unlink(self.path)
            if not (self.folder / "manifest.json").exists():
                for folder in sorted(self.created, key=lambda p: len(p.parts), reverse=True):
                    try:
                        os.rmdir(folder)
                    except OSError:
                        pass
        finally:
            os.close(fd)  # closing drops the flock / msvcrt lock

    def __enter__(self) -> "JournalLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _private(folder: Path) -> None:
    try:
        os.chmod(folder, 0o700)
    except OSError:
        pass


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
