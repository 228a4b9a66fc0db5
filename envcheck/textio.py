"""The one way envcheck reads a file it did not write: bounded, decoded as analyze decodes, parsed with a depth limit.

Saved reports and snapshots, policy files and mirror files come from other machines, editors and shells
(PowerShell's ``>`` writes UTF-16; Notepad adds a BOM). Every reader goes through here so that a file that is
too big, not a file at all (``/dev/zero``), in another encoding, or nested a thousand deep is refused with an
:class:`InputError` naming the file, never a hang, a MemoryError or a RecursionError.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import stat
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional, Union

from .i18n import N_, Message

#: a report is tens of kilobytes; past this a file is not one (and reading it would take the memory)
MAX_BYTES = 64 * 1024 * 1024
#: a report nests about 6 deep; past this a file is not one, and walking it could exhaust the stack
MAX_DEPTH = 64

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class InputError(ValueError):
    """A file envcheck was given cannot be used. ``reason`` says why ("gpus[0].name: expected text, got 5"),
    ``message`` the same with the file's name in front; both Messages, worded where shown (``str()`` is the
    English). ``source`` is the file, ``field`` the JSON path of the wrong field (empty when it is the whole file)."""

    def __init__(self, reason: Message, source: str = "", field: str = "", message: Optional[Message] = None) -> None:
        self.reason = reason
        self.message = message if message is not None else Message(N_("{path}: {reason}"), path=source, reason=reason)
        self.source = source
        self.field = field
        #: True when the file could not be read at all (missing, a folder, a device), not merely unusable
        self.unreadable = False
        super().__init__(str(self.message))


def _refuse(source: str, template: str, **fields: Any) -> InputError:
    return InputError(Message(template, **fields), source)


def _unreadable(source: str, reason: Any) -> InputError:
    """The words envcheck has always said for a file it cannot read."""
    exc = InputError(Message(N_("cannot read: {reason}"), reason=reason), source,
                     message=Message(N_("cannot read {path}: {reason}"), path=source, reason=reason))
    exc.unreadable = True
    return exc


def encoding_of(head: bytes) -> tuple:
    """(codec, BOM length) from a file's first bytes: a BOM (UTF-8, UTF-16, UTF-32) says it; without one, the
    zero bytes of UTF-16/UTF-32 text that starts with ASCII (as JSON and TOML do, RFC 8259 section 8.1); else UTF-8."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    if len(head) >= 4 and head[0] and not head[1] and not head[2] and not head[3]:
        return "utf-32-le", 0
    if len(head) >= 4 and not head[0] and not head[1] and not head[2] and head[3]:
        return "utf-32-be", 0
    if len(head) >= 2 and head[0] and not head[1]:
        return "utf-16-le", 0
    if len(head) >= 2 and not head[0] and head[1]:
        return "utf-16-be", 0
    return "utf-8", 0


def decode(data: bytes) -> str:
    """Text of a file as analyze reads a paste: its BOM (or the zero bytes of UTF-16/32) says the encoding, else
    UTF-8; a byte that does not decode becomes U+FFFD (the file is shown and judged, never trusted)."""
    codec, skip = encoding_of(data[:4])
    return data[skip:].decode(codec, errors="replace")


def _open(path: Path, source: str) -> int:
    """A descriptor for reading ``path``: a regular file or a pipe; a device (/dev/zero), a socket or a folder is
    refused before one byte is read, and a FIFO with no writer reads as empty instead of blocking."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _unreadable(source, exc.strerror or str(exc)) from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise _unreadable(source, Message(N_("it is a folder")))
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise _unreadable(source, Message(N_("not a regular file (a device or a socket)")))
        if stat.S_ISFIFO(mode) and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a pipe with a writer is read to its end; with none it is at its end
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Union[str, Path], limit: int = MAX_BYTES, source: Optional[str] = None) -> bytes:
    """The bytes of a file, at most ``limit``; InputError when it cannot be read, is not a file or is larger."""
    source = source if source is not None else str(path)
    fd = _open(Path(path).expanduser(), source)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise _too_big(source, limit)
        chunks, total = [], 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            except OSError as exc:
                raise _unreadable(source, exc.strerror or str(exc)) from exc
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_big(source, limit)
    finally:
        os.close(fd)


def _too_big(source: str, limit: int) -> InputError:
    return _refuse(source, N_("larger than {size} MB: not an envcheck file"), size=limit // (1024 * 1024))


def read_text(path: Union[str, Path], limit: int = MAX_BYTES, source: Optional[str] = None) -> str:
    """:func:`read_bytes`, decoded (:func:`decode`)."""
    return decode(read_bytes(path, limit, source))


def too_deep(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Whether parsed data nests deeper than ``max_depth`` objects/lists (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _deep_error(source: str, max_depth: int) -> InputError:
    return _refuse(source, N_("nested deeper than {depth} levels: not an envcheck file"), depth=max_depth)


_INNERMOST = re.compile(rb"\{\}|\[\]")
#: every byte but brackets and quotes, deleted by :func:`json_too_deep`
_NOT_STRUCTURE = bytes(i for i in range(256) if i not in b'[]{}"')


def json_too_deep(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests deeper than ``max_depth``, told from its brackets before parsing (so no parser
    recurses a thousand deep), with C-speed string operations only: escapes out, then all but brackets and quotes,
    then what lies inside quotes; innermost pairs are removed once per level. Exact for valid JSON; for text that is
    not, the parser then says what is wrong."""
    plain = text.replace("\\\\", "").replace('\\"', "").encode("utf-8", "replace").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(plain.split(b'"')[::2]) if b'"' in plain else plain
    for _ in range(max_depth):
        if not brackets:
            return False
        shorter = _INNERMOST.sub(b"", brackets)  # one level: "[{}]" -> "[]", not on to ""
        if len(shorter) == len(brackets):
            return False  # unbalanced: not JSON, as the parser will say
        brackets = shorter
    return bool(brackets) and _INNERMOST.search(brackets) is not None


def parse_json(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """One JSON value; InputError naming the file and the line when it is not JSON or nests too deep."""
    if json_too_deep(text, max_depth):
        raise _deep_error(source, max_depth)
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise _deep_error(source, max_depth) from exc
    except ValueError as exc:
        raise _not_json(source, exc) from exc


#: why a file or a part of a stream is not used (the words fleet has always said)
NOT_JSON = N_("not JSON ({error} at line {line})")


def _not_json(source: str, exc: ValueError) -> InputError:
    line = getattr(exc, "lineno", None)
    reason = getattr(exc, "msg", None) or str(exc)
    return InputError(Message(NOT_JSON, error=reason, line=line if line is not None else 1), source,
                      message=Message(N_("{path} is not JSON: {error}"), path=source, error=str(exc)))


def read_json(path: Union[str, Path], limit: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
              source: Optional[str] = None) -> Any:
    """The JSON value of a file: :func:`read_text` then :func:`parse_json`."""
    source = source if source is not None else str(path)
    return parse_json(read_text(path, limit, source), source, max_depth)


# --------------------------------------------------------------------------- streams (fleet)


def open_stream(path: Union[str, Path], source: Optional[str] = None) -> IO[bytes]:
    """A file (or pipe) to read in pieces, refused as :func:`read_bytes` refuses one: for JSON-lines files of any
    length, read one record at a time."""
    source = source if source is not None else str(path)
    return os.fdopen(_open(Path(path).expanduser(), source), "rb", buffering=1 << 16)


def iter_blocks(stream: IO[bytes], source: str, limit: int = MAX_BYTES) -> Iterator[str]:
    """The decoded text of a byte stream in blocks of whole lines (each ends with a line end, but the last), read a
    megabyte at a time: memory stays at a block. A line longer than ``limit`` (no line end in 64 MB: not a
    report) raises InputError."""
    decoder = None
    pieces, held = [], 0  # the text after the last line end, in pieces (a long line is not copied again and again)
    while True:
        chunk = stream.read(1 << 20)
        eof = not chunk
        if decoder is None:
            while chunk and len(chunk) < 4:  # the encoding needs the first four bytes
                more = stream.read(4 - len(chunk))
                if not more:
                    break
                chunk += more
            codec, skip = encoding_of(chunk[:4])
            decoder = codecs.getincrementaldecoder(codec)(errors="replace")
            chunk = chunk[skip:]
        text = decoder.decode(chunk, final=eof)
        end = text.rfind("\n")
        if end < 0:
            if text:
                pieces.append(text)
                held += len(text)
        else:
            block = "".join(pieces) + text[:end + 1]
            rest = text[end + 1:]
            pieces, held = ([rest], len(rest)) if rest else ([], 0)
            yield block
        if held > limit:
            raise _refuse(source, N_("a line longer than {size} MB: not an envcheck file"),
                          size=limit // (1024 * 1024))
        if eof:
            if pieces:
                yield "".join(pieces)
            return


@dataclass
class Excerpt:
    """A text too big to read whole, as analyze reads it: its head and its tail (where a log's crash is), and
    what was left between them."""

    head: str
    #: "" when the whole text fitted in ``head``
    tail: str = ""
    #: the 0-based line of the original text that ``tail`` starts on
    tail_line: int = 0
    skipped_bytes: int = 0
    skipped_lines: int = 0


#: a read's chunk: what is dropped from the middle of a long text at a time
CHUNK = 1024 * 1024


def read_excerpt(read: Callable[[int], bytes], limit: int, head_bytes: int, chunk: int = CHUNK) -> Excerpt:
    """Read a stream to its end keeping at most ``limit`` bytes of it (and a chunk): all of it when it fits, else
    its first ``head_bytes`` and its last ``limit - head_bytes``, each cut at a line break (UTF-8 text). Memory is
    bounded whatever the stream's size; the lines between are counted, never kept."""
    chunk = min(chunk, max(4096, limit // 64))  # many chunks to a tail, so the tail keeps close to its budget
    data = bytearray()
    while len(data) <= limit:
        piece = read(chunk)
        if not piece:
            return Excerpt(decode(bytes(data)))
        data += piece
    codec, _skip = encoding_of(bytes(data[:4]))
    unit = 4 if "32" in codec else 2 if "16" in codec else 1
    cut = head_bytes - head_bytes % unit
    if unit == 1:
        cut = data.rfind(b"\n", 0, head_bytes) + 1 or head_bytes
    head = bytes(data[:cut])
    tail: "deque[bytes]" = deque(bytes(data[k:k + chunk]) for k in range(cut, len(data), chunk))
    del data
    kept = sum(map(len, tail))
    budget = limit - len(head)
    skipped_bytes = skipped_lines = 0
    piece = b"-"
    while piece:
        while len(tail) > 1 and kept - len(tail[0]) >= budget:
            dropped = tail.popleft()
            kept -= len(dropped)
            skipped_bytes += len(dropped)
            skipped_lines += dropped.count(b"\n")
        piece = read(chunk)
        if piece:
            tail.append(piece)
            kept += len(piece)
    body = b"".join(tail)
    if not skipped_bytes:  # longer than the limit by less than a chunk: whole after all
        return Excerpt(decode(head + body))
    if unit == 1:
        start = body.find(b"\n") + 1  # the rest of a line cut in two
        skipped_bytes += start
        skipped_lines += 1 if start else 0
        body = body[start:]
    return Excerpt(decode(head), body.decode(codec, errors="replace"), head.count(b"\n") + skipped_lines,
                   skipped_bytes, skipped_lines)
