"""The one way envcheck runs an external command.

Every probe goes through :func:`run`: an argv list (never a shell), a timeout, output decoded with
replacement, and a result that says plainly whether the command was missing, timed out, crashed or
ran. A child that cannot be killed (nvidia-smi stuck in the kernel on a broken driver, or a
grandchild that keeps our pipes open) is abandoned rather than waited on, so the caller always gets
an answer in about ``timeout`` seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence, TypeVar

DEFAULT_TIMEOUT_S = 10.0
#: After a kill, how long we still wait for the pipes to close before abandoning the child.
KILL_GRACE_S = 0.5

T = TypeVar("T")


@dataclass
class CommandResult:
    """What happened when one external command ran."""

    argv: list[str]
    returncode: Optional[int] = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    timed_out: bool = False
    not_found: bool = False
    #: set when the command could not be started for another reason (permission denied, ...)
    error: Optional[str] = None
    #: the signal that ended the child (SIGSEGV for a crashing interpreter), if any
    signal: Optional[int] = None
    #: True when the child ignored the kill and was left behind
    abandoned: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.not_found

    @property
    def output(self) -> str:
        """stdout and stderr together, for messages that tools print on either stream."""
        if self.stdout and self.stderr:
            return self.stdout.rstrip("\n") + "\n" + self.stderr
        return self.stdout or self.stderr

    def describe(self) -> str:
        """One line saying how the command ended, for reports."""
        name = os.path.basename(self.argv[0]) if self.argv else "?"
        if self.not_found:
            return f"{name}: not found"
        if self.timed_out:
            extra = " (left running: it ignored the kill)" if self.abandoned else ""
            return f"{name}: no answer within {self.duration_s:.1f} s{extra}"
        if self.error:
            return f"{name}: {self.error}"
        if self.signal:
            return f"{name}: killed by {signal_name(self.signal)}"
        return f"{name}: exit {self.returncode}"


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _decode(data: Optional[bytes]) -> str:
    if not data:
        return ""
    return data.decode("utf-8", errors="replace")


def run(
    argv: Sequence[str],
    timeout: float = DEFAULT_TIMEOUT_S,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    stdin_text: Optional[str] = None,
) -> CommandResult:
    """Run ``argv`` and return what happened; never raises for the command's own failures."""
    argv = [str(a) for a in argv]
    result = CommandResult(argv=argv)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            # Own process group, so a timeout kills the whole tree the command started.
            start_new_session=(os.name == "posix"),
        )
    except FileNotFoundError:
        result.not_found = True
        result.returncode = 127
        result.duration_s = time.monotonic() - start
        return result
    except (OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.duration_s = time.monotonic() - start
        return result

    stdin_bytes = stdin_text.encode() if stdin_text is not None else None
    try:
        out, err = proc.communicate(input=stdin_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        _kill_tree(proc)
        out, err, result.abandoned = _collect_after_kill(proc)
    result.duration_s = time.monotonic() - start
    result.stdout, result.stderr = _decode(out), _decode(err)
    if not result.abandoned:
        result.returncode = proc.returncode
        if proc.returncode is not None and proc.returncode < 0:
            result.signal = -proc.returncode
    return result


class Started:
    """A command already running on a daemon thread; :meth:`result` collects it.

    Lets the slowest probe (importing torch in the target) start before envcheck has even finished
    importing its own modules, so its seconds overlap everything else.
    """

    def __init__(self, argv: Sequence[str], timeout: float, env: Optional[Mapping[str, str]] = None,
                 cwd: Optional[str] = None) -> None:
        self.argv = [str(a) for a in argv]
        self.timeout = timeout
        self._box: list[CommandResult] = []
        self._thread = threading.Thread(target=lambda: self._box.append(run(self.argv, timeout, env, cwd)),
                                        daemon=True, name="started-command")
        self._started_at = time.monotonic()
        self._thread.start()

    def result(self) -> CommandResult:
        """The command's result; a timed-out result if even the runner's own kill path hung."""
        remaining = self._started_at + self.timeout + KILL_GRACE_S + 1.0 - time.monotonic()
        self._thread.join(max(0.0, remaining))
        if self._box:
            return self._box[0]
        return CommandResult(argv=self.argv, timed_out=True, abandoned=True,
                             duration_s=time.monotonic() - self._started_at)


def start(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT_S, env: Optional[Mapping[str, str]] = None,
          cwd: Optional[str] = None) -> Started:
    """Start ``argv`` now and collect it later with ``.result()``."""
    return Started(argv, timeout, env, cwd)


def _kill_tree(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _collect_after_kill(proc: subprocess.Popen) -> tuple[bytes, bytes, bool]:
    """Read what the killed child left, or give up on it after a short grace period.

    ``communicate`` after a kill can block for ever when the child is stuck in the kernel or a
    grandchild in another session holds the pipes, so the pipes are read on a daemon thread that we
    simply stop waiting for.
    """
    box: dict[str, tuple[bytes, bytes]] = {}

    def drain() -> None:
        try:
            box["out"] = proc.communicate()
        except (OSError, ValueError):
            box["out"] = (b"", b"")

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    reader.join(KILL_GRACE_S)
    if "out" in box:
        return box["out"][0], box["out"][1], False
    return b"", b"", True


def which(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """shutil.which against the given environment's PATH (the target's view, not ours)."""
    path = (env or os.environ).get("PATH", os.defpath)
    return shutil.which(name, path=path)


def run_parallel(
    tasks: Mapping[str, Callable[[], T]], deadline_s: float
) -> tuple[dict[str, T], dict[str, str]]:
    """Run independent callables at once; return their results and the errors of those that failed.

    Daemon threads, not a ThreadPoolExecutor: an executor joins its workers at interpreter exit, so
    one probe stuck in a system call would hold envcheck hostage. Tasks still running at the
    deadline are reported as timed out and left behind.
    """
    results: dict[str, T] = {}
    errors: dict[str, str] = {}
    lock = threading.Lock()

    def call(key: str, fn: Callable[[], T]) -> None:
        try:
            value = fn()
        except Exception as exc:  # a probe bug must not sink the report
            with lock:
                errors[key] = f"{type(exc).__name__}: {exc}"
            return
        with lock:
            results[key] = value

    threads = {key: threading.Thread(target=call, args=(key, fn), daemon=True, name=f"probe-{key}")
               for key, fn in tasks.items()}
    for t in threads.values():
        t.start()
    end = time.monotonic() + deadline_s
    for key, t in threads.items():
        t.join(max(0.0, end - time.monotonic()))
    with lock:
        for key, t in threads.items():
            if t.is_alive() and key not in results and key not in errors:
                errors[key] = f"timeout: no answer within {deadline_s:.1f} s"
        return dict(results), dict(errors)
