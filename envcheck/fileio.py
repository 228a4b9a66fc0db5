"""The one atomic writer: every file envcheck writes (reports, snapshots, HTML pages, edited configs).

A temporary file in the target's folder, flushed and fsync'ed, given the mode the file has (or the
umask's for a new one), then ``os.replace``'d over the target: a crash leaves the old file or the
new one, never half of one. A symlink is written through (the link stays, its target changes).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Optional

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


def atomic_write(path: Path, data: bytes, mode: Optional[int] = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its mode (``mode``, else the umask's, for a new file).

    Raises OSError; the temporary file is removed on every way out.
    """
    target = write_target(Path(path).expanduser())
    keep = file_mode(target)
    mode = keep if keep is not None else (mode if mode is not None else default_mode())
    folder = str(target.parent) if str(target.parent) else "."
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
