"""Planned file changes, atomic writes and diffs, shared by the pip, conda and uv editors.

An :class:`Edit` is computed first (nothing touched), shown as a diff, and only then written by
:func:`envcheck.fileio.atomic_write`, envcheck's one atomic writer (a symlinked config is written
through the link).
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Union

from ..i18n import N_, Message, quoted
from ..redact import redact_url


#: config files larger than this are not ours to rewrite
MAX_CONFIG_BYTES = 1 << 20


def reason_of(exc: BaseException) -> Message:
    """Why something failed, worded later: a refusal's own message, an OS error's text, else the exception's."""
    if isinstance(exc, Refusal):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return quoted(exc.strerror)
    return quoted(" ".join(str(exc).split()) or type(exc).__name__)


class Refusal(Exception):
    """An error whose text is a :class:`~envcheck.i18n.Message`: ``str()`` is the English, ``.message``
    the sentence a renderer words in the reader's language (raised deep, worded where it is shown)."""

    def __init__(self, text: Union[Message, str]) -> None:
        self.message = text if isinstance(text, Message) else quoted(text)
        super().__init__(self.message.text())

    def __str__(self) -> str:
        return self.message.text()


class EditRefused(Refusal):
    """A file envcheck will not change (cannot parse it, or cannot edit it without side effects)."""


@dataclass
class Edit:
    """The change one command wants to make to one file."""

    #: pip | conda | uv
    tool: str
    path: Path
    #: the file's bytes now; None when it does not exist
    before: Optional[bytes]
    #: the bytes to write; None when the file is left as it is (refused, or nothing to do)
    after: Optional[bytes] = None
    #: why the file is left untouched (cannot parse, cannot edit safely); worded where shown
    error: Optional[Message] = None
    #: things the user should know about this change; worded where shown
    notes: List[Message] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return self.error is None and self.after is not None and self.after != self.before

    @property
    def creates(self) -> bool:
        return self.before is None and self.changes


def plan_edit(tool: str, path: Path, make_after: Callable[[Optional[bytes]], bytes]) -> Edit:
    """Read ``path`` and compute its new bytes; a refusal at either step is recorded, not raised."""
    try:
        before = read_bytes(path)
    except EditRefused as exc:
        return Edit(tool, path, None, error=exc.message)
    edit = Edit(tool, path, before)
    try:
        edit.after = make_after(before)
    except EditRefused as exc:
        edit.error = exc.message
    return edit


def read_bytes(path: Path) -> Optional[bytes]:
    """A config file's bytes, or None when it does not exist; OSError for one we cannot read."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError as exc:
        raise EditRefused(Message(N_("{path} is a folder, not a file"), path=path)) from exc
    except OSError as exc:
        raise EditRefused(Message(N_("{path} cannot be read: {reason}"), path=path,
                                  reason=exc.strerror or str(exc))) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise EditRefused(Message(N_("{path} is larger than {size} MiB: not a config file envcheck edits"),
                                  path=path, size=MAX_CONFIG_BYTES >> 20))
    return data


def decode(path: Path, data: bytes) -> str:
    """UTF-8 text of a config file (a BOM stays part of the text, as the tools read it)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditRefused(Message(N_("{path} contains bytes that are not UTF-8"), path=path)) from exc


def newline_of(text: str) -> str:
    """The line ending a file already uses ("\\r\\n" for a Windows-style file), "\\n" otherwise."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def sha256(data: Optional[bytes]) -> Optional[str]:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def ensure_dir(folder: Path) -> List[Path]:
    """Create ``folder`` and missing parents; return the folders created, outermost first."""
    missing: List[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    created: List[Path] = []
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        created.append(path)
    return created


def diff_lines(path: Path, before: Optional[bytes], after: Optional[bytes]) -> List[str]:
    """A unified diff (no line endings, URL credentials hidden) of one planned change."""
    old = _text_lines(before)
    new = _text_lines(after)
    old_name = str(path) if before is not None else "/dev/null"
    lines = difflib.unified_diff(old, new, fromfile=old_name, tofile=str(path), lineterm="", n=2)
    return [redact_url(line) for line in lines]


def _text_lines(data: Optional[bytes]) -> List[str]:
    if not data:
        return []
    text = data.decode("utf-8", errors="replace")
    return [line.rstrip("\r\n") for line in text.splitlines(keepends=True)]
