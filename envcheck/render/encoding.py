"""Output that never crashes on a stream's encoding (GBK, cp1252, cp437, ASCII consoles and redirections).

A character the stream cannot encode is not an error: a mark or a box-drawing line becomes its ASCII
look-alike ("✗" -> "x", "→" -> "->", "─" -> "-"), anything else becomes a ``\\uXXXX`` escape (a surrogate
pair above U+FFFF), which inside a JSON string is the same character, so JSON stays valid JSON.
:func:`install` registers this as a codec error handler and sets it on stdout and stderr.
"""

from __future__ import annotations

import codecs
import sys
from typing import Optional, Tuple

#: the codec error handler's name (``str.encode(enc, ERRORS)``)
ERRORS = "envcheck-ascii"

#: ASCII look-alikes; none holds a double quote or a backslash, so a JSON string stays a JSON string
FALLBACKS = {
    "✗": "x", "✘": "x", "❌": "x", "✖": "x", "×": "x",
    "✓": "ok", "✔": "ok", "✅": "ok",
    "⚠": "!", "❗": "!", "ℹ": "i", "\ufe0f": "", "\ufe0e": "", "\u200b": "", "\u200d": "",
    "→": "->", "←": "<-", "⇒": "=>", "↔": "<->", "↑": "^", "↓": "v",
    "—": "-", "–": "-", "‒": "-", "−": "-", "…": "...", "•": "*", "·": ".", "\u00a0": " ",
    "‘": "'", "’": "'", "“": "'", "”": "'", "«": "<<", "»": ">>",
    "≥": ">=", "≤": "<=", "≠": "!=", "≈": "~", "±": "+/-", "°": " deg",
    "─": "-", "━": "-", "═": "=", "│": "|", "┃": "|", "║": "|",
    "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+",
    "╭": "+", "╮": "+", "╰": "+", "╯": "+", "╔": "+", "╗": "+", "╚": "+", "╝": "+",
    "█": "#", "▓": "#", "▒": ":", "░": ".", "▏": "|", "▕": "|",
}


def _escape(char: str) -> str:
    point = ord(char)
    if point <= 0xFFFF:
        return f"\\u{point:04x}"
    point -= 0x10000
    return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"


def _handler(error: UnicodeError) -> Tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start:error.end]
    encoding = error.encoding or "ascii"
    out = []
    for char in chunk:
        fallback = FALLBACKS.get(char)
        if fallback is not None:
            try:  # a look-alike the stream can encode (all are ASCII, but cp500 and friends exist)
                fallback.encode(encoding)
            except (UnicodeEncodeError, LookupError):
                fallback = None
        out.append(fallback if fallback is not None else _escape(char))
    return "".join(out), error.end


codecs.register_error(ERRORS, _handler)


def degrade(text: str, encoding: Optional[str]) -> str:
    """``text`` as the stream with ``encoding`` will show it (look-alikes and escapes where it must)."""
    if not encoding:
        return text
    try:
        return text.encode(encoding, ERRORS).decode(encoding)
    except LookupError:
        return text


def can_encode(text: str, encoding: Optional[str]) -> bool:
    """Whether a stream with ``encoding`` shows ``text`` as it is (unknown encoding: assume it does)."""
    if not encoding:
        return True
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:
        return True
    return True


def is_utf(encoding: Optional[str]) -> bool:
    """Whether ``encoding`` is a UTF (every character encodable)."""
    try:
        return codecs.lookup(encoding or "").name.startswith("utf")
    except LookupError:
        return False


def install() -> None:
    """Set the handler on stdout and stderr (a stream that cannot be reconfigured is left as it is)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or is_utf(getattr(stream, "encoding", None)):
            continue
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError, TypeError):
            pass
