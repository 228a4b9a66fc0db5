"""The target probe names the stage that hangs (issue 16 req 5): the interpreter's own start-up, `import torch`,
CUDA initialisation, or nothing at all when the answer is out and only the exit (or a daemon holding the pipe)
lingers; and a tool that is there but cannot be run is "not executable", never "not found" / "no NVIDIA GPU".

Real interpreters with a sitecustomize or a stand-in torch that sleep, fake targets that answer and leave
daemons behind, nvidia-smi files with mode 0644 or no program in them; short timeouts keep it to seconds.
"""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, List

import pytest

from envcheck.knowledge import Knowledge
from envcheck.probes import ProbeContext
from envcheck.probes import nvidia
from envcheck.probes.target import (STARTUP, answered, merge_torch, probe_live, probe_static, script_argv,
                                    start_script)
from envcheck.rules import evaluate
from envcheck.runner import run
from envcheck.snapshot import Python, Torch

from builders import cpu_box
from conftest import clean_env, venv_python

posix_only = pytest.mark.skipif(os.name != "posix", reason="fake interpreters are shell scripts")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and setsid")
HANG_S = 1.5
ANSWER = '{"ok": true, "mode": "live", "errors": [], "torch": {"installed": true, "version": "2.5.1"}}'


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


def ctx_for(python: Path | str, timeout: float = HANG_S, **env: str) -> ProbeContext:
    return ProbeContext(env=clean_env(**env), timeout=timeout, python=str(python), python_chosen_by="--python")


def findings_for(knowledge: Knowledge, python: Python, static: Torch, live: Torch, issues) -> Dict[str, object]:
    """The rules' findings for what the probes found, as collect would put it together, by code."""
    snap = cpu_box()
    snap.python, snap.torch, snap.probe_issues = python, merge_torch(static, live), list(issues)
    return {f.code: f for f in evaluate(snap, knowledge)}


def all_findings(knowledge: Knowledge, python: Python, static: Torch, live: Torch, issues) -> List[object]:
    snap = cpu_box()
    snap.python, snap.torch, snap.probe_issues = python, merge_torch(static, live), list(issues)
    return list(evaluate(snap, knowledge))


def make_torch(where: Path, init: str) -> None:
    (where / "torch").mkdir(parents=True)
    (where / "torch" / "__init__.py").write_text(textwrap.dedent(init))


# --------------------------------------------------------------------------- the answer


def test_answered_needs_the_whole_json_line() -> None:
    marker = "@@ENVCHECK-TARGET-JSON@@"
    assert not answered("torch says hello\n")
    assert not answered(f"\n{marker}\n")
    assert not answered(f"\n{marker}\n{ANSWER[:30]}")  # still being written
    assert not answered(f"\n{marker}\n{ANSWER}")  # no newline yet: the line may go on
    assert answered(f"noise\n{marker}\n{ANSWER}\n")
    assert answered(f"{marker} {ANSWER}\n")
    assert not answered(f"{marker}\n[1, 2]\n")


# --------------------------------------------------------------------------- where it hangs


@posix_only
def test_a_sitecustomize_that_hangs_is_the_interpreters_start_up(tmp_path: Path, knowledge: Knowledge) -> None:
    (tmp_path / "sitecustomize.py").write_text("import time\ntime.sleep(60)\n")
    ctx = ctx_for(sys.executable, PYTHONPATH=str(tmp_path))
    early = {"static": start_script(ctx, "static", HANG_S), "live": start_script(ctx, "live", HANG_S)}
    python, static, _, static_issues = probe_static(ctx, started=early["static"])
    live, _, live_issues = probe_live(ctx, timeout=HANG_S, started=early["live"])
    issues = static_issues + live_issues
    assert [(i.probe, i.kind, i.stage) for i in issues] == [("target", "timeout", STARTUP),
                                                            ("torch-live", "timeout", STARTUP)]
    assert "while the interpreter was starting" in live.error and live.error_kind == "timeout"
    assert max(i.duration_s for i in issues) < 10  # the limit held, not the 60 s sleep
    found = all_findings(knowledge, python, static, live, issues)
    hangs = [f for f in found if f.code == "tool-timeout"]
    assert len(hangs) == 1, [f.title for f in hangs]  # both probes hung alike: said once
    assert "hangs while starting" in hangs[0].title and sys.executable in hangs[0].title
    assert hangs[0].severity.value == "error" and hangs[0].facts["stage"] == STARTUP
    assert "sitecustomize" in hangs[0].detail and "torch was never imported" in hangs[0].detail
    assert any("-X importtime -c pass" in step for step in hangs[0].fix)
    assert any(" -S -c pass" in step for step in hangs[0].fix)
    assert "torch-import-failed" not in {f.code for f in found}  # not "`import torch` hangs"


def test_an_import_that_hangs_is_import_torch(bare_venv: Path, tmp_path: Path, knowledge: Knowledge) -> None:
    make_torch(tmp_path, "import time\ntime.sleep(60)\n")
    ctx = ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path))
    live, _, issues = probe_live(ctx, timeout=HANG_S)
    assert [(i.kind, i.stage) for i in issues] == [("timeout", "import")]
    found = findings_for(knowledge, Python(executable=ctx.python), Torch(), live, issues)
    f = found["torch-import-failed"]
    assert f.title == f"`import torch` hangs in {ctx.python}" and f.facts["stage"] == "import"
    assert any("-X importtime -c 'import torch'" in step for step in f.fix)
    assert any("--torch-timeout" in step for step in f.fix)
    assert "tool-timeout" not in found  # torch-import-failed names the stage; no second finding for it


def test_a_cuda_initialisation_that_hangs_is_named_so(bare_venv: Path, tmp_path: Path, knowledge: Knowledge) -> None:
    make_torch(tmp_path, """
        import time, types
        __version__ = "2.5.1+cu124"
        version = types.SimpleNamespace(cuda="12.4", hip=None, git_version="x", debug=False)
        class _Cuda:
            @staticmethod
            def is_available():
                time.sleep(60)
        cuda = _Cuda()
    """)
    ctx = ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path))
    live, _, issues = probe_live(ctx, timeout=HANG_S + 1.0)
    assert [(i.kind, i.stage) for i in issues] == [("timeout", "cuda-available")]
    assert "during torch.cuda.is_available()" in live.error
    found = findings_for(knowledge, Python(executable=ctx.python), Torch(), live, issues)
    f = found["torch-import-failed"]
    assert f.title == f"CUDA initialisation hangs in {ctx.python}" and f.facts["stage"] == "cuda"
    steps = " | ".join(f.fix)
    assert "nvidia-smi -pm 1" in steps and "/dev/nvidia*" in steps and "pip install" not in steps
    assert "tool-timeout" not in found


# --------------------------------------------------------------------------- answered, then lingered


def _marked(tmp_path: Path) -> Path:
    from test_processes import _marked as marked

    return marked(tmp_path)


@linux_only
@pytest.mark.parametrize("tail", [
    "setsid {slp} 300 &\nexec {slp} 301",  # a daemon in its own session holds stdout; the target never exits
    "sh -c 'setsid {slp} 302 &'\nexit 0",  # the target exits; an orphan in a new session holds stdout
])
def test_an_answer_counts_when_a_daemon_keeps_the_pipe(tmp_path: Path, knowledge: Knowledge, tail: str) -> None:
    from test_processes import _alive, _settle

    folder = _marked(tmp_path)
    exe = folder / "python"
    exe.write_text(f"#!/bin/sh\nprintf '\\n@@ENVCHECK-TARGET-JSON@@\\n%s\\n' '{ANSWER}'\n"
                   + tail.format(slp=folder / "slp") + "\n")
    exe.chmod(0o755)
    try:
        start = time.monotonic()
        live, _, issues = probe_live(ctx_for(exe, timeout=20.0), timeout=20.0)
        elapsed = time.monotonic() - start
        assert elapsed < 5, elapsed  # the answer was taken when it came, not at the 20 s limit
        assert live.live is True and live.version == "2.5.1" and live.error is None
        assert [i.kind for i in issues] == ["did-not-exit"] and "after answering" in issues[0].message
        found = findings_for(knowledge, Python(executable=str(exe)), Torch(), live, issues)
        assert not {"tool-timeout", "torch-import-failed", "probe-failed"} & set(found)
        assert _settle(folder.name) == []  # and nothing it left is still running
    finally:
        for pid in _alive(folder.name):
            os.kill(pid, 9)


@linux_only
def test_a_real_python_whose_sitecustomize_leaves_a_daemon(tmp_path: Path) -> None:
    from test_processes import _alive, _settle

    folder = _marked(tmp_path)
    (folder / "sitecustomize.py").write_text(
        f"import subprocess\nsubprocess.Popen([{str(folder / 'slp')!r}, '300'], start_new_session=True)\n")
    try:
        start = time.monotonic()
        python, torch, _, issues = probe_static(ctx_for(sys.executable, timeout=20.0, PYTHONPATH=str(folder)))
        assert time.monotonic() - start < 8
        assert python.version and python.error is None and torch.error is None
        assert [i.kind for i in issues] == ["did-not-exit"]
        assert _settle(folder.name) == []
    finally:
        for pid in _alive(folder.name):
            os.kill(pid, 9)


@pytest.mark.slow
def test_a_healthy_real_torch_reports_every_stage_in_order(torch_venv: Path) -> None:
    result = run(script_argv(str(venv_python(torch_venv)), "live"), timeout=60, env=clean_env(), answered=answered)
    stages = [line.split()[-1] for line in result.stderr.splitlines() if line.startswith("@@ENVCHECK-STAGE@@")]
    assert stages == ["started", "import", "imported", "cuda-available", "cuda-done", "xpu", "maps", "done",
                      "result", "exit"]
    assert result.ok and not result.lingered and not result.timed_out


# --------------------------------------------------------------------------- not executable is not "not found"


def _smi_ctx(tmp_path: Path, bindir: Path) -> ProbeContext:
    root = tmp_path / "root"
    (root / "sys" / "bus" / "pci" / "devices").mkdir(parents=True)  # scanned: no NVIDIA device on the bus
    return ProbeContext(env={"PATH": str(bindir)}, timeout=5.0, root=str(root), home=str(tmp_path))


@posix_only
def test_a_mode_0644_nvidia_smi_is_not_executable_not_missing(tmp_path: Path, knowledge: Knowledge) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    smi = bindir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho should never run\n")
    smi.chmod(0o644)
    driver, gpus, issues = nvidia.probe(_smi_ctx(tmp_path, bindir))
    assert driver.status == "error" and driver.smi_path == str(smi) and gpus == []
    assert driver.status_message == f"nvidia-smi at {smi} is not executable (mode 0644)"
    assert [(i.kind, i.command) for i in issues] == [("not-executable", [str(smi)])]
    snap = cpu_box()
    snap.driver, snap.gpus, snap.probe_issues = driver, gpus, issues
    found = {f.code: f for f in evaluate(snap, knowledge)}
    assert "no-nvidia-gpu" not in found
    f = found["probe-failed"]
    assert f.title == f"nvidia-smi at {smi} is not executable (mode 0644)" and f.severity.value == "warning"
    assert "says nothing about whether this machine has an NVIDIA GPU" in f.detail
    assert f"sudo chmod 755 {smi}" in " | ".join(f.fix)

    smi.unlink()  # the same machine without the file: now it is "no NVIDIA GPU" (the rule above could fire)
    driver, gpus, issues = nvidia.probe(_smi_ctx(tmp_path / "again", bindir))
    snap.driver, snap.gpus, snap.probe_issues = driver, gpus, issues
    assert driver.status == "not-found" and "no-nvidia-gpu" in {f.code for f in evaluate(snap, knowledge)}


@posix_only
def test_a_non_executable_nvidia_smi_in_a_usual_place_off_path(tmp_path: Path) -> None:
    ctx = _smi_ctx(tmp_path, tmp_path / "empty")
    smi = Path(ctx.root) / "usr" / "bin" / "nvidia-smi"
    smi.parent.mkdir(parents=True)
    smi.write_text("")
    smi.chmod(0o600)
    driver, _, issues = nvidia.probe(ctx)
    assert driver.status_message == f"nvidia-smi at {smi} is not executable (mode 0600)"
    assert [i.kind for i in issues] == ["not-executable"]


@posix_only
def test_an_nvidia_smi_that_is_no_program_is_enoexec(tmp_path: Path, knowledge: Knowledge) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    smi = bindir / "nvidia-smi"
    smi.write_bytes(b"\x7fELF\x02\x01\x01garbage, not a program")
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR)
    driver, _, issues = nvidia.probe(_smi_ctx(tmp_path, bindir))
    assert driver.status == "error" and "not a program this system can run" in driver.status_message
    assert [i.kind for i in issues] == ["not-executable"]  # the fallback query was not tried on it
    snap = cpu_box()
    snap.driver, snap.gpus, snap.probe_issues = driver, [], issues
    found = {f.code: f for f in evaluate(snap, knowledge)}
    assert "no-nvidia-gpu" not in found
    assert found["probe-failed"].title.startswith(f"nvidia-smi at {smi} cannot be run: not a program")


@posix_only
def test_the_runner_says_not_executable_for_a_bare_name_too(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o644)
    result = run(["tool"], env={"PATH": str(tmp_path)})
    assert result.not_executable and not result.not_found
    assert result.describe() == f"{tool}: not executable (mode 0644)"
    assert run([str(tmp_path / "missing")]).not_found
