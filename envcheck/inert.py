"""Text from outside made inert on a terminal: control characters shown, never obeyed.

Pasted logs, other machines' reports and tools' output can carry escape sequences that would retitle
the terminal, clear it or fake coloured "all good" output. Every human-readable form shows such a
character as an escape (``\\x1b``); newlines and tabs stay. JSON needs none of this (its encoder escapes
control characters itself).
"""

from __future__ import annotations

import re

#: C0 controls but tab and newline, DEL, C1 controls, and the Unicode bidirectional overrides and isolates
#: (which reorder what a reader sees)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: "re.Match[str]") -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """``text`` with every unsafe character written out as an escape."""
    return _UNSAFE.sub(_escaped, text) if text else text
