"""The conventions people expect (issue 17): the torch import's own limit, a status line only on a terminal,
-v and -q, ENVCHECK_* defaults, --jsonl (one line, one write) and shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from builders import h100
from test_encodings import broken_h100, run_on

from envcheck.cli.common import CommandTrace, ProbeStatus, shown_argv, write_line
from envcheck.knowledge import Knowledge
from envcheck.probes import ProbeContext
from envcheck.probes.collect import collect
from envcheck.runner import run, run_parallel, trace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def snap_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("conventions") / "broken.json"
    path.write_text(json.dumps(broken_h100().to_dict()), encoding="utf-8")
    return str(path)


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("ENVCHECK_", "LC_")) or name == "LANGUAGE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("LANG", "C.UTF-8")
    return monkeypatch


# --------------------------------------------------------------------------- the torch import's own limit


@pytest.fixture
def slow_torch(tmp_path) -> dict:
    """An environment whose ``import torch`` takes 0.8 s (a cold network filesystem, in small)."""
    package = tmp_path / "torch"
    package.mkdir()
    (package / "__init__.py").write_text("import time\ntime.sleep(0.8)\n__version__ = '2.11.0'\n")
    return dict(os.environ, PYTHONPATH=str(tmp_path))


def test_a_short_tool_timeout_never_turns_a_slow_torch_import_into_an_error(slow_torch):
    # --timeout 0.2 once gave the import 3 x 0.2 = 0.6 s: "hangs". Now the import has its own limit.
    ctx = ProbeContext(env=slow_torch, timeout=0.2, python=sys.executable, python_chosen_by="--python")
    snap = collect(ctx, Knowledge(), only={"target-live"}, torch_timeout=5)
    assert snap.torch.error_kind != "timeout", snap.torch.error
    assert not [i for i in snap.probe_issues if i.kind == "timeout"], snap.probe_issues
    assert snap.meta.probe_durations_s["target-live"] >= 0.8


def test_the_torch_timeout_is_what_limits_the_import(slow_torch):
    ctx = ProbeContext(env=slow_torch, timeout=10, python=sys.executable, python_chosen_by="--python")
    started = time.monotonic()
    snap = collect(ctx, Knowledge(), only={"target-live"}, torch_timeout=0.3)
    assert snap.torch.error_kind == "timeout" and "during import torch" in snap.torch.error
    assert time.monotonic() - started < 5  # the 10 s tool timeout did not stretch it


def test_the_torch_timeout_default_is_documented_and_one_value(clean_env):
    from envcheck.cli import doctor
    from envcheck.probes import target
    assert doctor.TORCH_TIMEOUT_S == target.TORCH_TIMEOUT_S == 120.0
    code, out, _err = run_on("utf-8", ["doctor", "--help"])
    help_text = " ".join(out.decode().replace("│", " ").split())
    assert code == 0
    assert "--torch-timeout" in help_text and "[default: 120.0]" in help_text
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert "| `--torch-timeout S` (`doctor`, `smoke`) | `ENVCHECK_TORCH_TIMEOUT` | 120 |" in reference


def test_the_early_live_probe_gets_the_torch_timeout(clean_env):
    from envcheck.cli.entry import early_probes
    clean_env.setenv("ENVCHECK_TORCH_TIMEOUT", "42")
    early = early_probes(["doctor", "--python", sys.executable, "--timeout", "3"])
    try:
        assert early["live"].timeout == 42 and early["static"].timeout == 3
    finally:
        for started in early.values():
            started.result()
    early = early_probes(["doctor", "--python", sys.executable, "--torch-timeout", "7"])
    try:
        assert early["live"].timeout == 7  # the option wins over the environment
    finally:
        for started in early.values():
            started.result()


# --------------------------------------------------------------------------- progress: the status line


def test_the_collector_tells_each_probe_start_and_end():
    calls = []
    lock = threading.Lock()

    def progress(probe, running):
        with lock:
            calls.append((probe, running))

    ctx = ProbeContext(timeout=5, python=sys.executable, fast=True)
    collect(ctx, Knowledge(), only={"env", "system-basic"}, progress=progress)
    for probe in ("env", "system-basic"):
        assert calls.index((probe, True)) < calls.index((probe, False))
    assert len(calls) == 4


def test_a_failing_progress_hook_does_not_sink_the_probe():
    def progress(probe, running):
        raise RuntimeError("display broke")

    snap = collect(ProbeContext(timeout=5, python=sys.executable, fast=True), Knowledge(), only={"env"},
                   progress=progress)
    assert "env" in snap.meta.probe_durations_s and not snap.probe_issues


def test_the_status_line_only_on_a_terminal_and_only_after_a_second():
    status = ProbeStatus()
    assert status.enabled is False  # stderr here is pytest's capture, not a terminal
    with ProbeStatus(enabled=False) as quiet:
        quiet("target-live", True)
        time.sleep(0.05)
        assert quiet._status is None and quiet._timer is None
    shown = ProbeStatus(enabled=True)
    shown.DELAY_S = 0.05
    with shown:
        shown("nvidia", True)
        shown("target-live", True)
        assert shown._status is None  # not before the delay
        time.sleep(0.3)
        assert shown._status is not None
        assert shown.text() == "waiting for: nvidia, importing torch (target-live)"
        shown("nvidia", False)
        assert shown.text() == "waiting for: importing torch (target-live)"
    assert shown._status is None  # stopped with the probes


# --------------------------------------------------------------------------- -v: what ran, how long


def test_the_runner_traces_every_command_and_nested_probes_are_named_by_their_probe():
    seen = []
    stop = trace(lambda result: seen.append((threading.current_thread().name, result.argv[0], result.ok)))
    try:
        run(["true"])
        run(["/no/such/tool"])
        run_parallel({"outer": lambda: run_parallel({"inner": lambda: run(["true"])}, 5)}, 5)
    finally:
        stop()
    run(["true"])  # after stop: not seen
    assert ("MainThread", "true", True) in seen and ("MainThread", "/no/such/tool", False) in seen
    assert ("probe-outer/inner", "true", True) in seen and len(seen) == 3


def test_trace_lines_group_commands_under_their_probe():
    with CommandTrace() as traced:
        run_parallel({"nvidia": lambda: run(["true"])}, 5)
    lines = traced.lines({"nvidia": 0.25, "env": 0.0})
    assert lines[0] == "probe env: 0.00 s" and lines[1] == "probe nvidia: 0.25 s"
    assert lines[2].startswith("  true  (") and lines[2].endswith(", true: exit 0)")
    assert shown_argv(["python", "-c", "import x\nprint(1)\n", "live"]) == "python -c '<script of 3 lines>' live"


def test_doctor_verbose_lists_each_probe_and_command(tmp_path, clean_env):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "nvidia-smi"
    tool.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    tool.chmod(0o755)
    clean_env.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    code, out, err = run_on("utf-8", ["doctor", "--fast", "--python", sys.executable, "-v", "-q"])
    lines = err.decode().splitlines()
    assert code in (0, 2)
    at = lines.index(next(line for line in lines if line.startswith("probe nvidia: ")))
    assert lines[at + 1].startswith(f"  {tool} ") and "nvidia-smi: exit 9" in lines[at + 1]
    assert any(line.startswith("probe target-static: ") for line in lines)
    assert len(out.decode().splitlines()) == 1  # -q: the verdict line only


# --------------------------------------------------------------------------- -q


def test_quiet_prints_only_the_verdict_line(snap_file, clean_env):
    code, out, err = run_on("utf-8", ["doctor", "--from", snap_file, "-q"])
    assert code == 2 and not err
    assert out.decode() == "envcheck doctor: broken  (1 error(s), 1 warning(s), 2 info)\n"


@pytest.mark.parametrize("other", ["--json", "--jsonl", "--markdown"])
def test_quiet_with_another_form_is_a_usage_problem(snap_file, other, clean_env):
    code, out, err = run_on("utf-8", ["doctor", "--from", snap_file, "-q", other])
    assert code == 3 and not out and "choose one of" in err.decode()


# --------------------------------------------------------------------------- ENVCHECK_* defaults


def test_envcheck_lang_is_the_default_language(snap_file, clean_env):
    clean_env.setenv("ENVCHECK_LANG", "zh")
    code, out, _err = run_on("utf-8", ["doctor", "--from", snap_file, "-q"])
    assert code == 2 and out.decode().startswith("envcheck doctor: 有故障")
    code, out, _err = run_on("utf-8", ["--lang", "en", "doctor", "--from", snap_file, "-q"])
    assert out.decode().startswith("envcheck doctor: broken")  # the option wins
    code, out, _err = run_on("utf-8", ["doctor", "--help"])
    assert "显示本帮助并退出" in out.decode()  # --help too


def test_envcheck_timeouts_and_python_are_doctors_defaults(clean_env, monkeypatch):
    import envcheck.probes.collect as collect_module
    seen = {}

    def fake_collect(ctx, knowledge, early=None, only=None, torch_timeout=None, progress=None):
        seen.update(timeout=ctx.timeout, python=ctx.python, torch_timeout=torch_timeout)
        return h100()

    monkeypatch.setattr(collect_module, "collect", fake_collect)
    clean_env.setenv("ENVCHECK_TIMEOUT", "4.5")
    clean_env.setenv("ENVCHECK_TORCH_TIMEOUT", "300")
    clean_env.setenv("ENVCHECK_PYTHON", sys.executable)
    code, _out, err = run_on("utf-8", ["doctor", "-q"])
    assert code == 0, err
    assert seen == {"timeout": 4.5, "python": sys.executable, "torch_timeout": 300.0}
    code, _out, _err = run_on("utf-8", ["doctor", "-q", "--timeout", "2", "--torch-timeout", "9"])
    assert seen["timeout"] == 2.0 and seen["torch_timeout"] == 9.0
    clean_env.setenv("ENVCHECK_TIMEOUT", "soon")
    code, _out, err = run_on("utf-8", ["doctor", "-q"])
    assert code == 3 and "--timeout" in err.decode() and "soon" in err.decode()


# --------------------------------------------------------------------------- --jsonl


def test_jsonl_is_one_line_in_one_write(tmp_path, snap_file, clean_env, monkeypatch):
    writes = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(fd) or real_write(fd, data))
    target = tmp_path / "out.jsonl"
    with open(target, "w", encoding="utf-8") as stream:
        fd = stream.fileno()
        saved = sys.stdout
        sys.stdout = stream
        try:
            write_line(json.dumps({"a": "驱动", "b": list(range(20000))}, ensure_ascii=False))
        finally:
            sys.stdout = saved
    assert writes == [fd] and target.read_bytes().count(b"\n") == 1  # ~110 kB, one write
    assert json.loads(target.read_text())["a"] == "驱动"


def test_many_nodes_appending_to_one_file_never_interleave(tmp_path, snap_file):
    """``srun ... envcheck doctor --jsonl >> all.jsonl``: every line one whole report; fleet reads the file."""
    target = tmp_path / "all.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENVCHECK_", "LC_"))}
    env.update(PYTHONPATH=str(ROOT), LANG="C.UTF-8")
    with open(target, "ab") as shared:
        procs = [subprocess.Popen([sys.executable, "-m", "envcheck", "doctor", "--from", snap_file, "--jsonl"],
                                  stdout=shared, stderr=subprocess.PIPE, env=env, cwd=str(ROOT)) for _ in range(4)]
        codes = [p.wait(60) for p in procs]
    assert codes == [2] * 4
    lines = target.read_bytes().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["verdict"] == "broken" for line in lines)
    code, out, err = run_on("utf-8", ["fleet", str(target), "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["counts"]["doctor_reports"] == 4 and data["verdicts"]["broken"] == 4


def test_analyze_and_smoke_jsonl(clean_env):
    sample = ROOT / "tests" / "fixtures" / "analyze" / "log-driver-too-old-11040-smi-470.txt"
    code, out, _err = run_on("utf-8", ["analyze", str(sample), "--jsonl"])
    assert code == 2 and out.count(b"\n") == 1 and json.loads(out)["analyze"]["inputs"]
    code, out, _err = run_on("utf-8", ["smoke", "--python", sys.executable, "--jsonl"])
    assert code == 0 and out.count(b"\n") == 1 and "smoke" in json.loads(out)


# --------------------------------------------------------------------------- shell completion


def test_shell_completion_is_offered_and_completes(clean_env):
    code, out, _err = run_on("utf-8", ["--help"])
    assert "--install-completion" in out.decode() and "--show-completion" in out.decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVCHECK_")}
    env.update(PYTHONPATH=str(ROOT), _ENVCHECK_COMPLETE="complete_bash", COMP_WORDS="envcheck doctor --torch",
               COMP_CWORD="2")
    proc = subprocess.run([sys.executable, "-m", "envcheck"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout.split() == ["--torch-timeout"], proc.stderr
