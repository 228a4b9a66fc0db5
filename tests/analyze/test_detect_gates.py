"""Each detector's gate is a necessary condition: on every recorded paste, no detector fires on a line its
gate fails, and detecting with the gates gives exactly the blocks detecting without them gives."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from envcheck.analyze import detect
from envcheck.analyze.gates import Gate, GateSet
from envcheck.analyze.runs import Miss
from envcheck.textio import decode

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "analyze"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
PASTES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".txt", ".md")) \
    + sorted(p for p in SHARED.rglob("*.txt") if p.stat().st_size < 2_000_000)


def _lines(path: Path) -> List[str]:
    text = decode(path.read_bytes())
    return [line[:detect.MAX_LINE] for line in detect.clean_lines(detect.split_lines(text))]


def test_the_corpus_is_there():
    assert len(PASTES) > 150


@pytest.mark.parametrize("kind", [k for k, _d, _g in detect.DETECTORS + detect.FALLBACK] + ["headerless"])
def test_no_detector_fires_where_its_gate_fails(kind):
    if kind == "headerless":
        gate: Gate = detect.HEADERLESS_GATE

        def fires(lines: List[str], i: int) -> bool:
            return detect._headerless_list(lines, i) is not None
    else:
        fn, gate = next((d, g) for k, d, g in detect.DETECTORS + detect.FALLBACK if k == kind)

        def fires(lines: List[str], i: int) -> bool:
            end = fn(lines, i)
            return not isinstance(end, Miss) and end is not None and end > i
    fired = 0
    for path in PASTES:
        lines = _lines(path)
        for i, line in enumerate(lines):
            if gate.passes(line):
                fired += fires(lines, i)
                continue
            assert not fires(lines, i), f"{kind} fires on {path.name}:{i + 1} past its gate: {line!r}"
    if kind not in ("smi-xml",):  # no XML in the text corpus
        assert fired, f"{kind} never fired on the corpus: the test above proves nothing for it"


def test_the_gates_change_no_block(monkeypatch):
    gated = {p: [(b.kind, b.start, b.end) for b in detect.detect(_lines(p))] for p in PASTES}
    monkeypatch.setattr(GateSet, "candidates", lambda self, lines: set(range(len(lines))))
    for path in PASTES:
        assert [(b.kind, b.start, b.end) for b in detect.detect(_lines(path))] == gated[path], path.name


def test_candidates_find_words_in_any_case_and_starts_only_at_the_start():
    gates = GateSet.of([Gate(words=("nvidia-smi",)), Gate(start=r"\s*Package\s+Version")])
    lines = ["loss 0.5", "ran NVIDIA-SMI here", "  Package   Version", "a Package Version", "", "nvidia-smi"]
    assert gates.candidates(lines) == {1, 2, 5}
    # a letter whose lower case is longer ("İ" -> "i̇") shifts no line
    assert gates.candidates(["İİİ x", "nvidia-smi"]) == {1}


def test_gates_see_every_digit_alike():
    """GateSet tests a line by its shape (digits as 0): a start naming a digit would pass one number and fail
    another of the same shape."""
    import re
    for _kind, _detector, gate in detect.DETECTORS + detect.FALLBACK + (("", None, detect.HEADERLESS_GATE),):
        source = re.sub(r"\{\d*,?\d*\}|\\d|0-9", "", gate.start)
        assert not re.search(r"[0-9]", source), gate.start


def test_line_starts():
    from envcheck.analyze.textscan import line_starts
    assert line_starts("") == [0]
    assert line_starts("ab\n\ncd\n") == [0, 3, 4, 7]
