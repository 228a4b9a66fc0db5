"""Text from outside is inert on a terminal (issue 16 req 7): escape sequences in pasted text, foreign reports
and tool output are shown escaped in every human-readable form, never obeyed; JSON keeps them exact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builders import h100
from envcheck.inert import inert

ROOT = Path(__file__).resolve().parents[2]
#: retitle the terminal, clear it, fake green "all good", a carriage return that overwrites, a bidi override
ATTACK = "\x1b]0;PWNED\x07 \x1b[2J\x1b[32mall good\x1b[0m\rX\u202e"


def test_inert_writes_controls_out_and_keeps_text():
    assert inert("a\tb\nc") == "a\tb\nc"
    assert inert(ATTACK) == "\\x1b]0;PWNED\\x07 \\x1b[2J\\x1b[32mall good\\x1b[0m\\x0dX\\u202e"
    assert inert("中文：好") == "中文：好"


def run(*args: str, stdin: str = "", env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), FORCE_COLOR="1", COLUMNS="200", **(env_extra or {}))
    env.pop("NO_COLOR", None)
    return subprocess.run([sys.executable, "-m", "envcheck", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=str(ROOT), timeout=60)


def _no_raw_attack(text: str) -> None:
    for raw in ("\x1b]0;", "\x1b[2J", "\x1b[32mall good", "\rX", "\u202e", "\x07"):
        assert raw not in text, repr(raw)


@pytest.mark.parametrize("form", [(), ("--markdown",)])
def test_a_paste_with_escapes_is_shown_escaped(form):
    paste = f"RuntimeError: CUDA error: no kernel image is available for execution on the device {ATTACK}\n"
    proc = run("analyze", *form, stdin=paste)
    assert proc.returncode == 2, proc.stderr
    _no_raw_attack(proc.stdout)
    assert "\\x1b[2J" in proc.stdout
    if not form:
        assert "\x1b[" in proc.stdout  # envcheck's own colours are still there (FORCE_COLOR)


def test_a_foreign_report_with_escapes_is_shown_escaped_in_doctor_fleet_and_diff(tmp_path):
    snap = h100()
    snap.system.hostname = "node" + ATTACK
    snap.torch.location = "/opt/envs/x" + ATTACK  # shown in the facts
    snap.driver.version = "580.159.04" + ATTACK  # differs from the other node: shown by fleet and diff
    report = tmp_path / "a.json"
    report.write_text(json.dumps(snap.to_dict()), encoding="utf-8")
    other = h100()
    other.system.hostname = "clean"
    (tmp_path / "b.json").write_text(json.dumps(other.to_dict()), encoding="utf-8")
    for args in (("doctor", "--from", str(report)), ("doctor", "--markdown", "--from", str(report)),
                 ("fleet", str(report), str(tmp_path / "b.json")), ("fleet", "--markdown", str(report)),
                 ("diff", str(report), str(tmp_path / "b.json")),
                 ("diff", "--markdown", str(report), str(tmp_path / "b.json"))):
        proc = run(*args)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        _no_raw_attack(proc.stdout + proc.stderr)
        assert "\\x1b" in proc.stdout, (args, "the foreign text is shown, escaped")
    data = json.loads(run("doctor", "--json", "--from", str(report)).stdout)
    assert data["snapshot"]["system"]["hostname"] == "node" + ATTACK  # JSON: exact (its encoder escapes it)


def test_a_file_name_with_escapes_in_a_usage_error_is_escaped(tmp_path):
    proc = run("analyze", str(tmp_path / ("missing" + ATTACK)))
    assert proc.returncode == 3
    _no_raw_attack(proc.stderr)
