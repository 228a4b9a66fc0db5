"""Gates: the cheap test a line passes before any detector looks at it.

A training or build log is mostly lines no detector claims, and trying twenty detectors on each costs
about 35 µs a line (a 50 MB log: 20 s). Each detector therefore declares its gate: what every line where
a block of its kind starts holds — a start (a pattern matched where the line's text begins, after any blanks) or a word
(anywhere, in any case). A gate may pass lines its detector then
refuses (it is a necessary condition, never a sufficient one); it must never fail a line where its
detector fires (tests/analyze/test_detect_gates.py checks every detector on every recorded paste).

The lines that pass some gate are found for the whole input at once, each shape of line tested once (see
:class:`GateSet`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, Sequence, Set, Tuple


@dataclass(frozen=True)
class Gate:
    #: a regular expression matched at the line's first non-blank character (``re.match``), or ""
    start: str = ""
    #: lower-case strings, any of which in the lower-cased line passes it
    words: Tuple[str, ...] = ()

    def passes(self, line: str) -> bool:
        """Whether ``line`` may start a block of this gate's kind (what the tests hold each detector to)."""
        low = line.lower()
        return any(w in low for w in self.words) or (bool(self.start) and re.match(self.start, line.lstrip()) is not None)


#: every ASCII digit as 0: lines that differ only in their numbers (a training log's) are tested once
_DIGITS = str.maketrans("123456789", "000000000")
#: most line shapes remembered
MEMO_LIMIT = 65536


@dataclass(frozen=True)
class GateSet:
    """The union of several gates, tested on a whole input at once. Gates see every digit alike (their words and
    starts name no digit but as ``\\d``: :func:`alternation` writes one so), so a line is tested by its shape: its
    text after any blanks, each digit made 0."""

    starts: "re.Pattern[str]"
    words: "re.Pattern[str]"

    @classmethod
    def of(cls, gates: Sequence[Gate]) -> "GateSet":
        starts = [f"(?:{g.start})" for g in gates if g.start]
        words = {w.translate(_DIGITS) for g in gates for w in g.words}
        return cls(re.compile("|".join(starts) or r"(?!)"), re.compile(alternation(words)))

    def candidates(self, lines: Sequence[str]) -> Set[int]:
        """The indices of the lines some gate passes."""
        match, search = self.starts.match, self.words.search
        memo: Dict[str, bool] = {}
        found: Set[int] = set()
        for i, line in enumerate(lines):
            shape = line.lstrip().translate(_DIGITS)
            passes = memo.get(shape)
            if passes is None:
                passes = match(shape) is not None or search(shape.lower()) is not None
                if len(memo) < MEMO_LIMIT:
                    memo[shape] = passes
            if passes:
                found.add(i)
        return found


def alternation(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words`` (literals, a digit in them standing for any digit), written
    as a trie: one test per character instead of one per word (sre tries a plain alternation's branches one after
    another)."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word.translate(_DIGITS):
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(trie) or r"(?!)"


def _trie_pattern(node: dict) -> str:
    ends = "" in node
    branches = [(r"\d" if char in "0123456789" else re.escape(char)) + _trie_pattern(child)
                for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # longest first, as a plain alternation sorted by length would: the word ending here only when nothing longer does
    return f"(?:{body})?" if ends else body
