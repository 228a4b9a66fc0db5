"""The one runner: missing commands, timeouts, crashes, junk bytes, and children that will not die."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from envcheck.runner import run, run_parallel, start


def script(tmp_path: Path, body: str, name: str = "tool") -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_ok_and_decoding(tmp_path):
    res = run([script(tmp_path, r"printf 'caf\303\251 \377\376 done'; echo err >&2")], timeout=5)
    assert res.ok and res.returncode == 0
    assert res.stdout.startswith("café ") and "\ufffd" in res.stdout and res.stdout.endswith("done")
    assert res.stderr.strip() == "err"


def test_not_found():
    res = run(["/nonexistent/definitely-not-here", "-V"], timeout=5)
    assert res.not_found and not res.ok and res.returncode == 127
    assert "not found" in res.describe()


def test_permission_denied(tmp_path):
    path = tmp_path / "noexec"
    path.write_text("#!/bin/sh\necho hi\n")
    res = run([str(path)], timeout=5)
    assert not res.ok and (res.error or res.not_found)


def test_timeout_kills_the_whole_tree(tmp_path):
    res = run([script(tmp_path, "sleep 30 & sleep 30")], timeout=0.5)
    assert res.timed_out and not res.ok
    assert res.duration_s < 3


def test_unkillable_child_is_abandoned(tmp_path):
    pidfile = tmp_path / "pid"
    # the grandchild escapes everything the runner can find: a new session, and its parent gone before the
    # timeout (so no tree leads to it); it holds our pipes open
    res = None
    started = time.monotonic()
    try:
        res = run([script(tmp_path, f"sh -c 'setsid sleep 30 & echo $! > {pidfile}'; sleep 30")], timeout=0.5)
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except OSError:
                pass
    assert time.monotonic() - started < 4
    assert res.timed_out and res.abandoned
    assert "ignored the kill" in res.describe()


def test_signal_is_reported(tmp_path):
    res = run([script(tmp_path, "kill -SEGV $$")], timeout=5)
    assert res.signal == signal.SIGSEGV and "SIGSEGV" in res.describe()


def test_argv_is_never_a_shell(tmp_path):
    marker = tmp_path / "pwned"
    res = run(["echo", f"; touch {marker}"], timeout=5)
    assert res.stdout.strip() == f"; touch {marker}"
    assert not marker.exists()


def test_run_parallel_overlaps_and_abandons_stuck_tasks():
    gate = threading.Event()
    started = time.monotonic()
    results, errors = run_parallel({
        "a": lambda: (time.sleep(0.3), "A")[1],
        "b": lambda: (time.sleep(0.3), "B")[1],
        "stuck": lambda: gate.wait(30),
        "broken": lambda: 1 / 0,
    }, deadline_s=1.0)
    gate.set()
    elapsed = time.monotonic() - started
    assert results == {"a": "A", "b": "B"}
    assert errors["stuck"].startswith("timeout") and "ZeroDivisionError" in errors["broken"]
    assert elapsed < 1.5  # not 0.3 + 0.3 + 1.0


def test_start_overlaps_with_other_work(tmp_path):
    handle = start([script(tmp_path, "sleep 0.4; echo late")], timeout=5)
    time.sleep(0.4)
    t0 = time.monotonic()
    res = handle.result()
    assert res.stdout.strip() == "late"
    assert time.monotonic() - t0 < 0.3


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"  # a zombie has ended
    except OSError:
        return True


def test_the_registry_forgets_children_that_ended(tmp_path):
    from envcheck.runner import CHILDREN

    before = set(CHILDREN.live())
    assert run([script(tmp_path, "echo hi")], timeout=5).ok
    assert run([script(tmp_path, "sleep 30")], timeout=0.3).timed_out
    assert set(CHILDREN.live()) == before


def test_ending_a_started_child_ends_its_setsid_grandchild(tmp_path):
    from envcheck.runner import CHILDREN

    pidfile = tmp_path / "pid"
    before = set(CHILDREN.live())
    handle = start([script(tmp_path, f"setsid sleep 30 & echo $! > {pidfile}; sleep 30")], timeout=30)
    deadline = time.monotonic() + 5
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.02)
    grandchild = int(pidfile.read_text())
    try:
        started = time.monotonic()
        for pid in set(CHILDREN.live()) - before:
            CHILDREN.end(pid)
        res = handle.result()
        assert time.monotonic() - started < 3
        assert res.signal == signal.SIGKILL and not res.abandoned
        deadline = time.monotonic() + 2
        while not _gone(grandchild) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _gone(grandchild)
    finally:
        try:
            os.kill(grandchild, signal.SIGKILL)
        except OSError:
            pass


def test_stopped_exits_128_plus_the_signal():
    from envcheck.runner import Stopped

    exc = Stopped(signal.SIGTERM)
    assert isinstance(exc, SystemExit) and not isinstance(exc, Exception)
    assert exc.code == 143 and Stopped(signal.SIGHUP).code == 129
