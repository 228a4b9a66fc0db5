"""The one atomic writer: every file envcheck writes (reports, snapshots, HTML pages, edited configs).

A temporary file in the target's folder, flushed and fsync'ed, given the mode the file has (or the
umask's for a new one), then ``os.replace``'d over the target: a crash leaves the old file or the
new one, never half of one. A symlink is written through (the link stays, its target changes).

An existing file keeps its owner, group and mode: the temporary file is ``chown``'ed to them where
this process may (root editing a user's file under ``sudo -E``), and where replacing the file would
change its owner or group, or would split a hard link from its other names, the bytes are written
in place instead (not atomic, but nothing else about the file changes). ``force=False`` refuses a
read-only file (no write bit at all) with :class:`ReadOnlyFile`. :func:`sweep_temps` removes the
temporary files a killed run left behind.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

#: the suffix of the temporary files, so a sweep can tell ours from anything else
TEMP_SUFFIX = ".envcheck-tmp"


def default_mode() -> int:
    """The mode a new file gets from this process's umask (0o644 under the usual 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def file_mode(path: Path) -> Optional[int]:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def write_target(path: Path) -> Path:
    """Where writing ``path`` really lands: a symlink's target, else the path itself."""
    if os.path.islink(path):
        return Path(os.path.realpath(path))
    return path


class ReadOnlyFile(PermissionError):
    """The file has no write bit at all: the user marked it read-only, so it is not replaced unless forced."""


@dataclass
class Target:
    """Where a write of ``asked`` lands and what is there now (the facts the write must keep)."""

    asked: Path
    #: the file the bytes land in: a symlink's final target (chains followed), else ``asked``
    path: Path
    #: ``os.readlink(asked)`` when ``asked`` is a symlink, else None
    link: Optional[str] = None
    exists: bool = False
    uid: Optional[int] = None
    gid: Optional[int] = None
    mode: Optional[int] = None
    nlink: int = 0

    @property
    def read_only(self) -> bool:
        return self.mode is not None and not self.mode & 0o222


def resolve_target(path: Path) -> Target:
    """What writing ``path`` would change; OSError (ELOOP) for a symlink loop, or a path that is not a file."""
    asked = Path(path).expanduser()
    link = None
    target = asked
    if os.path.islink(asked):
        link = os.readlink(asked)
        try:
            os.stat(asked)
        except FileNotFoundError:
            pass  # dangling: the write creates the file the link names
        target = Path(os.path.realpath(asked))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return Target(asked, target, link)
    if not stat.S_ISREG(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "not a regular file", str(target))
    return Target(asked, target, link, True, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_nlink)


def atomic_write(path: Path, data: bytes, mode: Optional[int] = None, *, force: bool = True,
                 new_owner_from_folder: bool = False) -> str:
    """Replace ``path`` with ``data`` atomically, keeping its mode (``mode``, else the umask's, for a new file).

    An existing file keeps owner, group and mode; it is written in place when replacing it would
    change its owner or break a hard link. ``force=False`` raises :class:`ReadOnlyFile` for a file
    with no write bit. ``new_owner_from_folder``: a new file written by root gets its folder's owner.
    Returns how it wrote: "created", "replaced" or "in-place". Raises OSError; the temporary file is
    removed on every way out.
    """
    info = resolve_target(Path(path))
    target = info.path
    if info.exists and info.read_only and not force:
        raise ReadOnlyFile(errno.EACCES, "read-only file (no write permission)", str(target))
    if info.exists and info.nlink > 1:
        _write_in_place(info, data)
        return "in-place"
    keep = info.mode
    mode = keep if keep is not None else (mode if mode is not None else default_mode())
    folder = str(target.parent) if str(target.parent) else "."
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            owner = (info.uid, info.gid) if info.exists else (_folder_owner(folder) if new_owner_from_folder
                                                              else None)
            if owner is not None and not _give(fh.fileno(), owner):
                if info.exists:
                    raise _OwnerWouldChange()
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except _OwnerWouldChange:
        _unlink_quietly(tmp)
        _write_in_place(info, data)
        return "in-place"
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return "replaced" if info.exists else "created"


class _OwnerWouldChange(Exception):
    pass


def _give(fd: int, owner: tuple) -> bool:
    """Give the open file ``owner`` (uid, gid); False when it differs and this process may not."""
    if not hasattr(os, "fchown"):
        return True  # Windows: no POSIX owners to keep
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) == owner:
        return True
    try:
        os.fchown(fd, owner[0], owner[1])
        return True
    except PermissionError:
        return False


def _folder_owner(folder: str) -> Optional[tuple]:
    """The owner a new file in ``folder`` should get: the folder's, when root writes in someone's folder."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_uid, st.st_gid) if st.st_uid != 0 else None


def give_new_folder(folder: Path) -> None:
    """A folder root just created in someone's folder gets the parent's owner (no-op otherwise)."""
    owner = _folder_owner(str(Path(folder).parent))
    if owner is not None and hasattr(os, "chown"):
        try:
            os.chown(folder, owner[0], owner[1])
        except OSError:
            pass


def _write_in_place(info: Target, data: bytes) -> None:
    """Overwrite the file's bytes in its own inode: owner, group, mode and every hard link stay."""
    target = info.path
    lifted = False
    if info.mode is not None and not os.access(target, os.W_OK) and hasattr(os, "geteuid") \
            and info.uid == os.geteuid():
        os.chmod(target, info.mode | stat.S_IWUSR)  # a forced read-only file: write bit for the write only
        lifted = True
    try:
        with open(target, "r+b") as fh:
            fh.write(data)
            fh.truncate(len(data))
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        if lifted and info.mode is not None:
            os.chmod(target, info.mode)


def temp_names(folder: Path, names: Optional[Iterable[str]] = None) -> List[Path]:
    """The temporary files :func:`atomic_write` leaves in ``folder`` for files called ``names`` (None: any)
    when it is killed."""
    wanted = tuple(f".{name}." for name in names) if names is not None else (".",)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.endswith(TEMP_SUFFIX) and entry.name.startswith(wanted) and \
                entry.is_file(follow_symlinks=False):
            found.append(Path(entry.path))
    return sorted(found)


def sweep_temps(folder: Path, names: Optional[Iterable[str]] = None) -> List[Path]:
    """Delete the leftover temporary files of ``names`` in ``folder``; the ones removed.

    Only call it while no other writer of those files runs (e.g. under a lock)."""
    removed = []
    for path in temp_names(folder, names):
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
