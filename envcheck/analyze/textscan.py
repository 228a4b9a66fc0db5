"""Whole-text searches that name lines: one regex pass in C over a big paste instead of a Python step per line."""

from __future__ import annotations

import bisect
import itertools
import operator
from typing import Iterator, List, Pattern


def line_starts(text: str) -> List[int]:
    """The offset of each line's first character in ``text``."""
    lengths = map(len, text.split("\n"))
    # line i starts after the lengths of the lines before it and their i line breaks (all in C: no step per line)
    return list(map(operator.add, itertools.accumulate(lengths, initial=0), range(text.count("\n") + 1)))


def line_of(starts: List[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset) - 1


def lines_holding(pattern: "Pattern[str]", text: str, starts: List[int]) -> Iterator[int]:
    """The index of each line of ``text`` where ``pattern`` is found, once per line, in order (a pattern that
    does not cross a line break: the search goes on from the next line)."""
    search = pattern.search
    m = search(text)
    while m is not None:
        i = line_of(starts, m.start())
        yield i
        if i + 1 >= len(starts):
            return
        m = search(text, starts[i + 1])
