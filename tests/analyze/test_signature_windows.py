"""A signature with a hint is searched only near the lines holding it: on every recorded paste, and on all of
them back to back (hints far apart and close together), that finds exactly what a search of the whole text finds."""

from __future__ import annotations

from pathlib import Path

from envcheck.analyze import detect, signatures
from envcheck.textio import decode

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "analyze"
PASTES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".txt", ".md"))


def _scan(text: str):
    return [(h.signature.id, h.line, h.offset, h.text, sorted(h.values.items(), key=str))
            for h in signatures.scan(text, "x", signatures.load_catalogue())]


def _texts():
    texts = [decode(p.read_bytes()) for p in PASTES]
    filler = "step 1 loss 0.5\n" * (2 * signatures.HINT_REACH + 3)  # farther apart than one window reaches
    return texts + ["\n".join(texts), filler.join(texts)]


def test_windows_find_what_the_whole_text_search_finds(monkeypatch):
    texts = [("\n".join(detect.clean_lines(detect.split_lines(t)))) for t in _texts()]
    windowed = [_scan(t) for t in texts]
    monkeypatch.setattr(signatures, "HINT_REACH", 10 ** 9)
    assert sum(map(len, windowed)) > 200
    for text, found in zip(texts, windowed):
        assert _scan(text) == found


def test_windows_merge_and_cover_every_occurrence():
    text = "\n".join(["a"] * 1000 + ["hint"] + ["b"] * 100 + ["hint"] + ["c"] * 1000 + ["hint"])
    starts = signatures.line_starts(text)
    windows = signatures.hint_windows(text, "hint", starts)
    reach = signatures.HINT_REACH
    assert len(windows) == 2  # the first two occurrences share a window, the third is alone
    (a, b), (c, d) = windows
    assert text[a:b].split("\n")[0] == "a" and text[a:b].count("\n") == 2 * reach + 101
    assert b < c and text[c:d].endswith("hint") and d == len(text)
