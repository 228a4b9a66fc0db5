"""Issue 17, requirements 5 and 7: the first line is the whole verdict (policy included, never wrapped in a
pipe), and every fix step in --json says what it is (a command with its shell, a step, or a note)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from builders import h100
from envcheck.findings import fix_step
from envcheck.knowledge import Knowledge
from envcheck.render.markdown import render_markdown
from envcheck.render.report import Report
from envcheck.render.terminal import render_terminal
from envcheck.rules import evaluate

ROOT = Path(__file__).resolve().parents[2]


def envcheck(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "COLUMNS")}
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        env.pop(name, None)
    env.update({"PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"})
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env,
                          timeout=60, cwd=str(ROOT))


def h100_fixable():
    """The recorded H100 with every GPU hidden and an nvcc of another major: a command with a comment, and prose."""
    snap = h100()
    snap.env["CUDA_VISIBLE_DEVICES"] = "-1"
    snap.cuda_toolkits[0].version, snap.cuda_toolkits[0].full_version = "12.4", "12.4.131"
    return snap


def h100_without_torch():
    """The recorded H100 with no torch: an install command and its note."""
    snap = h100()
    snap.torch = type(snap.torch)()
    return snap


@pytest.fixture(scope="module")
def h100_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "h100.json"
    path.write_text(json.dumps(h100().to_dict()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fixable_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fixable")
    paths = []
    for name, build in (("fixable", h100_fixable), ("no-torch", h100_without_torch)):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(build().to_dict()), encoding="utf-8")
        paths.append(path)
    return paths


def test_fix_step_classifies_commands_steps_and_notes():
    assert fix_step("unset CUDA_VISIBLE_DEVICES   # or list the GPUs").data() == {
        "kind": "command", "text": "unset CUDA_VISIBLE_DEVICES", "shell": "sh", "comment": "or list the GPUs"}
    assert fix_step("pip install torch").data() == {"kind": "command", "text": "pip install torch", "shell": "sh"}
    assert fix_step("(torch 2.15.0 cpu)").data() == {"kind": "note", "text": "(torch 2.15.0 cpu)"}
    assert fix_step("Install a gcc >= 9").data() == {"kind": "step", "text": "Install a gcc >= 9"}
    # a '#' inside a word is not a comment
    assert fix_step("echo a#b").text == "echo a#b"


def test_json_steps_say_what_each_fix_is(fixable_files):
    by_code = {}
    for path in fixable_files:
        proc = envcheck("doctor", "--from", str(path), "--json")
        assert proc.stdout, proc.stderr
        for f in json.loads(proc.stdout)["findings"]:
            assert len(f["steps"]) == len(f["fix"]) and all(isinstance(s, str) for s in f["fix"]), f["code"]
            by_code[f["code"]] = f
    hidden = by_code["cuda-visible-devices-invalid"]
    assert hidden["fix"] == ["unset CUDA_VISIBLE_DEVICES   # or list the GPUs you want, e.g. CUDA_VISIBLE_DEVICES=0,1"]
    assert hidden["steps"] == [{"kind": "command", "text": "unset CUDA_VISIBLE_DEVICES", "shell": "sh",
                                "comment": "or list the GPUs you want, e.g. CUDA_VISIBLE_DEVICES=0,1"}]
    assert [s["kind"] for s in by_code["nvcc-torch-mismatch"]["steps"]] == ["step", "step"]
    assert all("shell" not in s for s in by_code["nvcc-torch-mismatch"]["steps"])
    install = by_code["torch-not-installed"]["steps"]
    assert [s["kind"] for s in install] == ["command", "note"]
    assert "pip install torch==" in install[0]["text"] and install[0]["shell"] == "sh"
    assert install[1]["text"].startswith("(torch ") and set(install[1]) == {"kind", "text"}
    assert by_code["cudnn-system-differs"]["steps"] == []


def test_terminal_commands_stay_copyable_with_a_dim_comment():
    snap = h100_fixable()
    console = Console(record=True, width=50, force_terminal=True, color_system="standard", highlight=False)
    render_terminal(Report(snap, evaluate(snap, Knowledge())), console, show_facts=False)
    text = console.export_text(clear=False)
    line = "      $ unset CUDA_VISIBLE_DEVICES   # or list the GPUs you want, e.g. CUDA_VISIBLE_DEVICES=0,1"
    assert line in text.splitlines()  # one line, though wider than the console
    ansi = console.export_text(styles=True)
    assert "\x1b[2m   # or list the GPUs" in ansi  # the comment dim, the command not
    assert "\x1b[2munset" not in ansi
    md = render_markdown(Report(snap, evaluate(snap, Knowledge())))
    assert "  unset CUDA_VISIBLE_DEVICES   # or list the GPUs you want, e.g. CUDA_VISIBLE_DEVICES=0,1" in md
    assert "  # Install CUDA toolkit 13.0" in md and "  # or install the torch build" in md


def first_line(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.split("\n", 1)[0]


def test_first_line_says_the_policy_met(h100_file):
    term = envcheck("doctor", "--from", str(h100_file), "--require", "cuda", "--require", "gpus>=1")
    assert term.returncode == 0, term.stderr
    assert first_line(term).startswith("envcheck doctor: sound, policy met  (0 error(s), 0 warning(s), 1 info)")
    md = envcheck("doctor", "--from", str(h100_file), "--markdown", "--require", "cuda")
    assert first_line(md) == "### envcheck doctor: sound, policy met"
    plain = envcheck("doctor", "--from", str(h100_file))
    assert first_line(plain).startswith("envcheck doctor: sound  (") and "policy" not in first_line(plain)


def test_first_line_says_the_policy_unmet(h100_file):
    args = ("doctor", "--from", str(h100_file), "--require", "cuda", "--require", "gpus>=16", "--require", "torch>=9")
    term = envcheck(*args)
    assert term.returncode == 4
    assert first_line(term).startswith("envcheck doctor: sound, policy unmet (2 of 3: gpus>=16, torch>=9)  (")
    assert "envcheck: requirement NOT MET: gpus>=16" in term.stderr  # the policy lines on stderr stay
    md = envcheck(*args, "--markdown")
    assert md.returncode == 4
    assert first_line(md) == "### envcheck doctor: sound, policy unmet (2 of 3: gpus>=16, torch>=9)"
    js = envcheck(*args, "--json")
    data = json.loads(js.stdout)
    assert js.returncode == 4 and data["verdict"] == "ok" and data["policy"]["ok"] is False


def test_first_line_is_never_wrapped_in_a_pipe(h100_file):
    requirements = ["no-finding=cudnn-system-differs", "gpus>=6400", "gpu-memory>=90000GiB", "driver>=999",
                    "compute-capability>=12.0", "torch>=99.9", "smoke-bf16>=500", "no-warnings"]
    args = ["doctor", "--from", str(h100_file), "--no-facts"]
    for expr in requirements:
        args += ["--require", expr]
    proc = envcheck(*args)
    assert proc.returncode == 4
    head = first_line(proc)
    assert len(head) > 200, head
    assert head.startswith("envcheck doctor: sound, policy unmet (7 of 8: no-finding=cudnn-system-differs, gpus>=6400, ")
    assert head.endswith("1 info)") or "1 info)  in " in head
    assert proc.stdout.split("\n")[1] == ""  # nothing of the first line spilled onto the second
