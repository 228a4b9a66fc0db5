"""probes.read_text never hands a parser part of a file as if it were all of it (issue 16 req 2)."""

from __future__ import annotations

from envcheck.probes import read_text


def test_a_file_within_the_limit_is_read_whole(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_text(path, 100) == "x" * 100


def test_a_longer_file_is_unknown_not_cut(tmp_path):
    path = tmp_path / "status"
    path.write_bytes(b"Package: a\n" * 10 + b"Package: nvidia-l4t-core\nVersion: 36.4.0\n")
    assert read_text(path, 64) is None  # the package past the cut would have been taken for absent


def test_a_head_when_asked_for_one(tmp_path):
    path = tmp_path / "condarc"
    path.write_bytes(b"y" * 100)
    assert read_text(path, 10, whole=False) == "y" * 10


def test_unreadable_is_none(tmp_path):
    assert read_text(tmp_path / "missing") is None and read_text(tmp_path) is None
