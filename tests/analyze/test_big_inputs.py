"""A log too big to read whole (issue 16): analyze reads its head and its tail, where a crash is, in bounded memory,
and says which lines it skipped; the evidence keeps the line numbers of the whole file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from envcheck.textio import read_excerpt
from tests.analyze.test_i18n_analyze import run_cli

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "analyze"
LINES = b"".join(b"step %d loss 0.5\n" % i for i in range(5000))


def test_an_input_that_fits_is_read_whole():
    excerpt = read_excerpt(io.BytesIO(LINES).read, len(LINES), 100)
    assert excerpt.head == LINES.decode() and excerpt.tail == "" and excerpt.skipped_bytes == 0


@pytest.mark.parametrize("chunk", [7, 64, 4096, 1 << 20])
def test_a_longer_input_keeps_its_head_and_tail_cut_at_line_breaks(chunk):
    excerpt = read_excerpt(io.BytesIO(LINES).read, 2000, 500, chunk=chunk)
    whole = LINES.decode().split("\n")
    head = excerpt.head.split("\n")
    assert excerpt.head.endswith("\n") and len(excerpt.head) <= 500
    assert head[:-1] == whole[:len(head) - 1]
    assert excerpt.tail.endswith("step 4999 loss 0.5\n")
    assert excerpt.tail.split("\n")[0] == whole[excerpt.tail_line]  # the tail starts on a whole line, numbered right
    assert len(excerpt.head) + len(excerpt.tail) <= 2000 + chunk
    assert len(excerpt.head) + excerpt.skipped_bytes + len(excerpt.tail) == len(LINES)  # every byte accounted for
    assert excerpt.tail_line == excerpt.head.count("\n") + excerpt.skipped_lines


def test_utf16_input_is_cut_on_code_units():
    data = "\ufeff".encode("utf-16-le") + "\n".join(f"line {i}" for i in range(3000)).encode("utf-16-le")
    excerpt = read_excerpt(io.BytesIO(data).read, 4000, 1001, chunk=64)
    assert excerpt.head.startswith("line 0") and excerpt.tail.endswith("line 2999")
    assert "\ufffd" not in excerpt.head + excerpt.tail


def test_the_cli_reads_the_tail_of_a_long_log_and_says_what_it_skipped(tmp_path, capsys, monkeypatch):
    import envcheck.cli.analyze as cli

    monkeypatch.setattr(cli, "MAX_INPUT_BYTES", 256 * 1024)
    monkeypatch.setattr(cli, "HEAD_BYTES", 64 * 1024)
    crash = (CORPUS / "public").glob("*.txt")
    paste = next(p for p in sorted(crash) if "no kernel image is available" in p.read_text(errors="replace"))
    log = tmp_path / "train.log"
    filler = "".join(f"step {i} loss 0.5 lr 3e-4\n" for i in range(40000))
    log.write_text(filler + paste.read_text(errors="replace"), encoding="utf-8")
    code, out, _err = run_cli(capsys, monkeypatch, "analyze", str(log), "--json")
    data = json.loads(out)
    assert data["analyze"]["inputs"] == [str(log)]
    [note] = [n for n in data["analyze"]["notes"] if "were skipped" in n]
    assert "read as its first 0.1 MiB and its last 0.2 MiB" in note, note
    evidence = [f for f in data["findings"] if "no kernel image" in json.dumps(f).lower()]
    assert evidence, data["findings"]
    lines = [f["facts"]["evidence"]["line"] for f in evidence if "evidence" in f.get("facts", {})]
    assert lines and min(lines) > 40000  # numbered as lines of the whole file, not of its tail
    assert f"{log}, line {lines[0]}" in evidence[0]["detail"]


def test_the_skip_note_speaks_chinese(tmp_path, capsys, monkeypatch):
    import envcheck.cli.analyze as cli

    monkeypatch.setattr(cli, "MAX_INPUT_BYTES", 64 * 1024)
    monkeypatch.setattr(cli, "HEAD_BYTES", 16 * 1024)
    log = tmp_path / "train.log"
    log.write_text("".join(f"step {i} loss 0.5\n" for i in range(20000)) + "RuntimeError: CUDA error: out of memory\n")
    code, out, _err = run_cli(capsys, monkeypatch, "analyze", "--lang", "zh", str(log))
    assert "太长，无法整体读取" in out and "之间的第" in out, out


def test_many_blocks_of_one_kind_are_one_line_in_what_was_read(tmp_path, capsys, monkeypatch):
    """A log that repeats an output (nvidia-smi every minute) lists it once with its count; a few are listed."""
    smi = (CORPUS / "smi-461-windows-wddm.txt").read_text(encoding="utf-8")
    log = tmp_path / "watch.log"
    log.write_text("\n".join(f"step {i}\n{smi}" for i in range(5)), encoding="utf-8")
    code, out, _err = run_cli(capsys, monkeypatch, "analyze", str(log))
    read = out[out.index("Read"):]
    assert f"{log}: nvidia-smi table 5 times, lines " in read and read.count("nvidia-smi table") == 1, read
    few = tmp_path / "two.log"
    few.write_text(f"{smi}\nstep 1\n{smi}", encoding="utf-8")
    code, out, _err = run_cli(capsys, monkeypatch, "analyze", str(few))
    assert out[out.index("Read"):].count("nvidia-smi table") == 2
