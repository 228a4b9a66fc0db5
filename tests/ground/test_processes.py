"""No process outlives envcheck: after a tool's timeout, SIGTERM, SIGHUP, Ctrl-C (SIGINT) or an early usage
error, nothing envcheck started is left running.

The fake tools are as hostile as real ones get: a fake ``nvidia-smi`` and a fake ``--python`` that ignore
SIGTERM/SIGHUP/SIGINT, start a grandchild in a session of its own (``setsid``), another in their process
group, and a daemon whose parent exits at once (so no process tree leads to it), all holding the output
pipe. Every process they start carries a marker unique to the test in its argv; psutil counts those before
and after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List

import psutil
import pytest

from envcheck.runner import run

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.name != "posix" or not os.path.exists("/usr/bin/setsid")
                                and not os.path.exists("/bin/setsid"), reason="needs POSIX sessions and setsid")


def _marked(tmp_path: Path) -> Path:
    """A folder whose name is a marker no other process on the machine has in its argv."""
    folder = tmp_path / f"procmark-{uuid.uuid4().hex}"
    folder.mkdir()
    sleep = folder / "slp"
    sleep.symlink_to(_which("sleep"))  # argv[0] of every sleeper names the marked folder
    return folder


def _which(name: str) -> str:
    for d in ("/usr/bin", "/bin"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise FileNotFoundError(name)


def _hostile(folder: Path, name: str) -> Path:
    """A tool that ignores TERM/HUP/INT and leaves three kinds of children holding its pipes."""
    slp = folder / "slp"
    path = folder / name
    path.write_text(f"""#!/bin/sh
trap '' TERM HUP INT
setsid {slp} 300 &
{slp} 301 &
sh -c 'setsid {slp} 302 &'
{slp} 303
""")
    path.chmod(0o755)
    return path


def _alive(marker: str) -> List[int]:
    """Pids of live (not zombie) processes whose argv holds ``marker``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(marker in part for part in proc.info["cmdline"] or []):
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _settle(marker: str, wait_s: float = 3.0, allowed: int = 0) -> List[str]:
    """What is still alive once SIGKILLs had time to land (they are asynchronous), described."""
    end = time.monotonic() + wait_s
    while True:
        left = _alive(marker)
        if len(left) <= allowed or time.monotonic() > end:
            return [_describe(pid) for pid in left]
        time.sleep(0.05)


def _describe(pid: int) -> str:
    try:
        p = psutil.Process(pid)
        return f"{pid} {' '.join(p.cmdline())[-60:]} ppid={p.ppid()} sid={os.getsid(pid)} status={p.status()}"
    except (psutil.Error, OSError):
        return f"{pid} (gone)"


def _wait_for(marker: str, count: int, wait_s: float = 8.0) -> List[int]:
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        found = _alive(marker)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return _alive(marker)


@pytest.fixture
def reaper():
    """Kill whatever a failing test leaves, so one failure cannot leak into the machine."""
    markers: List[str] = []
    yield markers
    for marker in markers:
        for pid in _alive(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _env(folder: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")}
    env["PATH"] = os.pathsep.join([str(folder), "/usr/bin", "/bin"])
    env["PYTHONPATH"] = str(ROOT)
    env["LANG"] = "C.UTF-8"
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        env.pop(name, None)
    return env


def _default_signals() -> None:
    """In the child: SIGINT and SIGHUP as a terminal's job has them. A test run started in the background
    (``cmd &`` in a script) inherits SIGINT ignored, and envcheck rightly keeps an ignored signal ignored."""
    for name in ("SIGINT", "SIGHUP", "SIGTERM"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)


def _envcheck(folder: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "envcheck", *args], env=_env(folder), cwd=str(folder),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)


# --------------------------------------------------------------------------- the runner itself


def test_a_timeout_ends_the_tree_its_group_and_the_session_a_grandchild_started(tmp_path, reaper):
    folder = _marked(tmp_path)
    reaper.append(folder.name)
    tool = _hostile(folder, "tool")
    _wait_for(folder.name, 0)
    started = time.monotonic()
    res = run([str(tool)], timeout=0.7)
    assert res.timed_out and time.monotonic() - started < 3
    left = _settle(folder.name, allowed=1)
    # the shell, its process group, the grandchild in a session of its own and the foreground sleeper are
    # gone; only the daemon whose parent exited before the timeout (no tree leads to it) can be left: it
    # holds the pipe, so it is abandoned, not waited for, and the CLI's exit sweep ends it (tests below)
    assert len(left) <= 1 and all("slp 302" in d for d in left), left
    assert res.abandoned == bool(left)


def test_a_child_that_ended_takes_its_background_jobs_along(tmp_path, reaper):
    folder = _marked(tmp_path)
    reaper.append(folder.name)
    res = run(["/bin/sh", "-c", f"{folder / 'slp'} 300 > /dev/null 2>&1 & echo done"], timeout=5)
    assert res.ok and res.stdout.strip() == "done"
    assert _settle(folder.name) == []


# --------------------------------------------------------------------------- the CLI


def test_tool_timeout_leaves_nothing(tmp_path, reaper):
    folder = _marked(tmp_path)
    reaper.append(folder.name)
    _hostile(folder, "nvidia-smi")
    before = _alive(folder.name)
    started = time.monotonic()
    proc = _envcheck(folder, "doctor", "--fast", "--json", "--timeout", "1", "--python", sys.executable)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert '"status": "timeout"' in out, err[-2000:]
    assert before == [] and _settle(folder.name) == []


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_to_a_running_doctor_ends_every_child(tmp_path, reaper, signum, code):
    folder = _marked(tmp_path)
    reaper.append(folder.name)
    _hostile(folder, "nvidia-smi")
    fake_python = _hostile(folder, "python3")
    proc = _envcheck(folder, "doctor", "--timeout", "60", "--python", str(fake_python))
    try:
        # nvidia-smi and the two target probes: each a shell and four sleepers
        running = _wait_for(folder.name, 10)
        assert len(running) >= 10, running
        time.sleep(0.3)  # let the CLI reach its probes (past start-up, handlers installed)
        started = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err
    assert _settle(folder.name) == []


def test_an_early_usage_error_ends_the_probes_already_started(tmp_path, reaper):
    folder = _marked(tmp_path)
    reaper.append(folder.name)
    fake_python = _hostile(folder, "python3")
    # the entry point starts the target probes before the arguments are parsed (an optimisation)
    proc = _envcheck(folder, "doctor", "--python", str(fake_python), "--no-such-option")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 3, err[-2000:]
    assert _settle(folder.name) == []


def test_a_child_that_cannot_be_killed_does_not_keep_envcheck(tmp_path, reaper):
    """A stopped (SIGSTOP) tool still dies of SIGKILL; what matters is that envcheck never waits for it."""
    folder = _marked(tmp_path)
    reaper.append(folder.name)
    tool = folder / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\nsetsid {folder / 'slp'} 300 &\nkill -STOP $$\n")
    tool.chmod(0o755)
    started = time.monotonic()
    proc = _envcheck(folder, "doctor", "--fast", "--json", "--timeout", "1", "--python", sys.executable)
    proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert _settle(folder.name) == []
