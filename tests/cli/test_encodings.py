"""Every output form on a stream that is not UTF-8 (issue 17): GBK (Chinese Windows), cp1252 (US Windows),
cp437 (the old console) and ASCII. A mark the stream cannot encode degrades to ASCII; nothing ever crashes.

The forms run in this process on a strict stream of each encoding (fast); four real processes check the
same through PYTHONIOENCODING, the way a console or ``envcheck doctor > report.txt`` meets it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from builders import h100

from envcheck.render.encoding import ERRORS, FALLBACKS, degrade

ROOT = Path(__file__).resolve().parents[2]
ENCODINGS = ["gbk", "cp1252", "cp437", "ascii"]
ANALYZE = ROOT / "tests" / "fixtures" / "analyze" / "log-driver-too-old-11040-smi-470.txt"


def broken_h100():
    """The recorded H100 with a driver too old for its torch: an error finding (the ✗ mark) and a warning."""
    snap = h100()
    snap.driver.version, snap.driver.cuda_version = "470.57.02", "11.4"
    return snap


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("encodings")
    snap = folder / "broken.json"
    snap.write_text(json.dumps(broken_h100().to_dict()), encoding="utf-8")
    from envcheck.knowledge import Knowledge
    from envcheck.render.report import Report, report_data
    from envcheck.rules import evaluate
    reports = []
    for name, s in (("a.json", broken_h100()), ("b.json", h100())):
        path = folder / name
        path.write_text(json.dumps(report_data(Report(s, evaluate(s, Knowledge())))), encoding="utf-8")
        reports.append(str(path))
    (folder / "home").mkdir()
    return {"snap": str(snap), "a": reports[0], "b": reports[1], "home": str(folder / "home")}


def run_on(encoding: str, args: List[str]) -> Tuple[int, bytes, bytes]:
    """``envcheck ARGS`` in this process, stdout and stderr strict streams of ``encoding`` (as a console)."""
    from envcheck.cli.app import main
    out = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict", write_through=True)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.buffer.getvalue(), err.buffer.getvalue()


#: (form, arguments, documented exit code): every output form of every command; doctor and install-cmd read the
#: saved doctor --json report of the broken H100 (its own findings, not judged again: fast)
FORMS = [
    ("help", ["--help"], 0),
    ("doctor-help", ["doctor", "--help"], 0),
    ("doctor", ["doctor", "--from", "{a}"], 2),
    ("doctor-markdown", ["doctor", "--from", "{a}", "--markdown"], 2),
    ("doctor-json", ["doctor", "--from", "{a}", "--json"], 2),
    ("doctor-jsonl", ["doctor", "--from", "{a}", "--jsonl"], 2),
    ("doctor-quiet", ["doctor", "--from", "{a}", "-q"], 2),
    ("doctor-zh", ["--lang", "zh", "doctor", "--from", "{a}"], 2),
    ("doctor-zh-markdown", ["--lang", "zh", "doctor", "--from", "{a}", "--markdown"], 2),
    ("analyze", ["analyze", str(ANALYZE)], 2),
    ("analyze-markdown", ["analyze", str(ANALYZE), "--markdown"], 2),
    ("analyze-json", ["analyze", str(ANALYZE), "--json"], 2),
    ("analyze-zh", ["--lang", "zh", "analyze", str(ANALYZE)], 2),
    ("install-cmd", ["install-cmd", "--from", "{a}"], 0),
    ("install-cmd-json", ["install-cmd", "--from", "{a}", "--json"], 0),
    ("smoke", ["smoke", "--python", sys.executable], 0),  # no torch here: skipped (info), exit 0
    ("smoke-markdown", ["smoke", "--python", sys.executable, "--markdown"], 0),
    ("fleet", ["fleet", "{a}", "{b}"], 0),
    ("fleet-markdown", ["fleet", "{a}", "{b}", "--markdown"], 0),
    ("fleet-html", ["fleet", "{a}", "{b}", "--html", "-"], 0),
    ("fleet-zh", ["--lang", "zh", "fleet", "{a}", "{b}"], 0),
    ("diff", ["diff", "{a}", "{b}"], 1),  # the two reports differ
    ("diff-markdown", ["diff", "{a}", "{b}", "--markdown"], 1),
    ("mirrors-list", ["mirrors", "list"], 0),
    ("mirrors-list-zh", ["--lang", "zh", "mirrors", "list"], 0),
    ("mirrors-show", ["mirrors", "show", "tuna"], 0),
    ("mirrors-status", ["mirrors", "status"], 0),
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("form, args, code", FORMS, ids=[f[0] for f in FORMS])
def test_every_form_on_every_encoding(form, args, code, encoding, files, monkeypatch):
    monkeypatch.setenv("HOME", files["home"])  # mirrors status: no user config
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE", "ENVCHECK_LANG", "PIP_INDEX_URL", "UV_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    rc, out, err = run_on(encoding, [a.format(**files) for a in args])
    said = err.decode(encoding, "replace")
    assert rc == code, said
    assert "Traceback" not in said and "internal error" not in said, said
    text = out.decode(encoding)  # every byte is the stream's own encoding
    assert text.strip(), said
    if form.endswith(("json", "jsonl")):
        data = json.loads(text)  # still JSON, whatever the stream could not encode
        assert data.get("findings", data)  # install-cmd: a plan, without findings
    if form.startswith("doctor") and not form.endswith(("json", "jsonl", "help")):
        if encoding in ("cp437", "ascii") or (encoding == "cp1252" and "zh" not in form):
            assert "✗" not in text and "❌" not in text
        assert ("broken" in text) if form == "doctor-quiet" else ("470.57.02" in text)


@pytest.mark.parametrize("encoding, form, first", [
    ("gbk", ["--lang", "zh", "doctor"], "x 错误"),         # GBK shows Chinese, not ✗: the mark is ASCII
    ("cp1252", ["doctor", "--markdown"], "- x **error** `driver-too-old`"),
    ("cp437", ["doctor"], "x ERROR"),
    ("ascii", ["--lang", "zh", "doctor", "--markdown"], "- x **error** `driver-too-old`"),  # zh -> English here
])
def test_a_real_process_on_a_legacy_console(encoding, form, first, files):
    """``envcheck doctor > report.txt`` on a Chinese or US Windows console: exit 2 (an error finding), no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "ENVCHECK_"))}
    env.update(PYTHONIOENCODING=encoding, LANG="C.UTF-8", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "envcheck", *form, "--from", files["snap"]], capture_output=True,
                          env=env, timeout=60, cwd=str(ROOT))
    stderr = proc.stderr.decode(encoding, "replace")
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    text = proc.stdout.decode(encoding)
    assert first in text, text[:600]


def test_marks_fall_back_to_ascii_and_json_escapes_stay_json():
    assert degrade("✗ ERROR → fix — now ⚠️ ℹ️ ✓", "ascii") == "x ERROR -> fix - now ! i ok"
    assert degrade("┌─┐│└┘", "ascii") == "+-+|++"
    assert degrade("✗ 错误", "gbk") == "x 错误"  # what GBK can show stays
    assert degrade("é", "cp1252") == "é" and degrade("é", "ascii") == "\\u00e9"
    # a character with no look-alike: a JSON escape, a surrogate pair above U+FFFF
    text = json.dumps({"t": "驱动 🙂 é"}, ensure_ascii=False).encode("ascii", ERRORS).decode("ascii")
    assert json.loads(text) == {"t": "驱动 🙂 é"}
    assert not any('"' in v or "\\" in v for v in FALLBACKS.values())  # a look-alike never ends a JSON string
