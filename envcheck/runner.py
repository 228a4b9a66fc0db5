"""The one way envcheck runs an external command.

Every probe goes through :func:`run`: an argv list (never a shell), a timeout, output decoded with
replacement, and a result that says plainly whether the command was missing, timed out, crashed or
ran. A child that cannot be killed (nvidia-smi stuck in the kernel on a broken driver, or a
grandchild that keeps our pipes open) is abandoned rather than waited on, so the caller always gets
an answer in about ``timeout`` seconds.

No process outlives envcheck. Every child starts in a session of its own (so a timeout can end the
whole tree at once, and the terminal's Ctrl-C never reaches it: envcheck ends it). :data:`CHILDREN`
records each child while it may be alive -- its pid, process group and session -- and ends them all,
with everything they started, on a timeout (that command's tree), on SIGTERM, SIGHUP or Ctrl-C
(:meth:`Children.install`, called by ``cli.app.main``) and at exit (``atexit``, for every early exit). A
child that survives SIGKILL is abandoned: nothing waits for it.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import signal
import stat as _stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, TypeVar

DEFAULT_TIMEOUT_S = 10.0
#: After a kill, how long we still wait for the pipes to close before abandoning the child.
KILL_GRACE_S = 0.5
#: After a command's complete answer (``run(answered=...)``), how long it may take to exit and close its output
#: before envcheck ends it (a daemon it started can hold the pipe for ever).
ANSWER_GRACE_S = 0.5
#: most bytes kept of each of a child's streams: the head is kept, the rest read and dropped (``truncated``), so a
#: tool that prints without end costs its timeout, never the memory
MAX_OUTPUT_BYTES = 16 << 20

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
    #: the file exists but could not be executed: no execute permission (EACCES: mode 0644, a noexec mount) or
    #: not a program this system can run (ENOEXEC); ``error`` says which. Not the same as ``not_found``.
    not_executable: bool = False
    #: it gave its answer (``run(answered=...)``), then did not exit or kept its output open (a daemon it started
    #: holds the pipe): envcheck took the answer and ended it. Not a timeout: the answer counts.
    lingered: bool = False
    #: it printed more than :data:`MAX_OUTPUT_BYTES` on stdout or stderr: only the head of that stream is kept
    truncated: bool = False

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
        if self.lingered:
            if self.returncode is not None:
                return (f"{name}: answered and exited {self.returncode}, but a process it started kept its output "
                        f"open (ended by envcheck after {ANSWER_GRACE_S:.1f} s)")
            return f"{name}: answered, then did not exit within {ANSWER_GRACE_S:.1f} s (ended by envcheck)"
        if self.timed_out:
            extra = " (left running: it ignored the kill)" if self.abandoned else ""
            return f"{name}: no answer within {self.duration_s:.1f} s{extra}"
        if self.not_executable and self.error:
            return self.error  # it names the file: "/usr/bin/nvidia-smi: not executable (mode 0644)"
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


# --------------------------------------------------------------------------- the children


class Stopped(SystemExit):
    """Raised in the main thread by the SIGTERM/SIGHUP handler, once every child is ended: exit ``128 + signum``.

    A SystemExit, so no ``except Exception`` on the way up swallows it and an uncaught one still exits right.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


@dataclass
class _Child:
    pid: int
    #: process group and session recorded at spawn (start_new_session: both are the child's pid)
    pgid: int
    sid: int
    created: Optional[float] = None
    #: (pid, create time) of descendants seen when it was killed, in case they outlive it
    seen: List[Tuple[int, Optional[float]]] = field(default_factory=list)


class Children:
    """The children this process started and has not seen end, and the way to end them all.

    One per process, :data:`CHILDREN` -- the one piece of module state in envcheck, on purpose: signal
    handlers and ``atexit`` are per process too, and the children are started from every layer (the entry
    point starts the target probes before the CLI exists; probes, smoke and the policy run commands through
    ``ProbeContext.run``), so threading an object through all of them would change a dozen signatures for
    a fact the operating system already keeps per process. It holds pids, never ``Popen`` objects, so it
    keeps nothing alive; an entry leaves when its command ended and its pipes closed.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()  # re-entrant: the signal handler runs in whichever frame the main thread is
        self._live: Dict[int, _Child] = {}
        self._closing = False
        self._atexit = False
        self._signals: Tuple[int, ...] = ()
        self._subreaper = False
        self._subreaper_tried = False

    # ----------------------------------------------------------------- bookkeeping

    def prepare(self) -> None:
        """Before the first child starts: on Linux become the subreaper of what envcheck starts, so that a
        daemon whose parent exits at once (a double fork into a new session, holding a pipe) is re-parented
        to envcheck, not to init, and is still found at the end. Once per process, costs one prctl."""
        if self._subreaper_tried:
            return
        with self._lock:  # a second thread must not start its child before the first one's prctl is done
            if not self._subreaper_tried:
                self._subreaper = self._subreaper or _set_subreaper(True)
                self._subreaper_tried = True

    def add(self, proc: subprocess.Popen) -> None:
        """Record a child just started; one started while envcheck is already ending is ended at once."""
        child = _Child(proc.pid, _pgid_of(proc.pid), _sid_of(proc.pid), _create_time(proc.pid))
        with self._lock:
            self._live[proc.pid] = child
            closing = self._closing
            if not self._atexit:
                atexit.register(self.end_all)
                self._atexit = True
        if closing:
            self.end(proc.pid)

    def discard(self, pid: int) -> None:
        """The child ended and its pipes closed: end what it left in its group, and forget it."""
        with self._lock:
            child = self._live.pop(pid, None)
        if child is not None:
            _killpg(child.pgid)  # a background job it left behind (its pipes closed, so the answer was complete)

    def live(self) -> List[int]:
        with self._lock:
            return list(self._live)

    # ----------------------------------------------------------------- ending

    def end(self, pid: int) -> None:
        """Kill one child with its process group, its session and every descendant (SIGKILL, no waiting)."""
        with self._lock:
            child = self._live.get(pid)
        if child is None:
            child = _Child(pid, pid, pid)
        child.seen = _end_child(child)

    def end_all(self, closing: bool = True) -> None:
        """End every recorded child and everything it started; then every process left under envcheck.

        ``closing``: envcheck is on its way out, so a child that a thread starts from now on is ended at
        once (``cli.app.main`` passes False when its run ends, so an in-process caller may run again).
        """
        with self._lock:
            self._closing = self._closing or closing
            children = list(self._live.values())
        for child in children:
            try:
                _end_child(child)
            except Exception:  # ending must never fail the exit
                pass
        # A grandchild being forked (``setsid prog &``) while the tree was read shows up a moment later,
        # re-parented to envcheck (the subreaper): a few short passes catch it (at most ~0.1 s, only then).
        for attempt in range(5):
            if not ((children or self._subreaper) and _has_children()):
                break
            try:
                _kill_descendants_of(os.getpid())
            except Exception:
                pass
            if not closing:
                break
            time.sleep(0.02)

    # ----------------------------------------------------------------- signals

    def install(self) -> Callable[[], None]:
        """End every child on SIGTERM, SIGHUP (then :class:`Stopped`: exit 143 / 129) and Ctrl-C (then
        KeyboardInterrupt as before: exit 130), and at exit; returns what puts the old handlers back.

        A signal the caller ignores (``nohup`` ignores SIGHUP, a background job SIGINT) stays ignored. Main
        thread only (elsewhere only the ``atexit`` part applies); see also :meth:`prepare`.
        """
        with self._lock:
            if not self._atexit:
                atexit.register(self.end_all)
                self._atexit = True
            self._closing = False  # a new run in this process (tests call main() more than once)
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        handlers = {getattr(signal, "SIGTERM", None): self._on_signal, getattr(signal, "SIGHUP", None): self._on_signal,
                    getattr(signal, "SIGINT", None): self._on_interrupt}
        before: Dict[int, object] = {}
        for signum, handler in handlers.items():
            if signum is None:
                continue
            try:
                if signal.getsignal(signum) == signal.SIG_IGN:
                    continue
                before[signum] = signal.signal(signum, handler)
            except (OSError, ValueError):
                pass
        self._signals = tuple(before)
        self.prepare()

        def restore() -> None:
            for signum, handler in before.items():
                try:
                    signal.signal(signum, handler)  # type: ignore[arg-type]
                except (OSError, ValueError, TypeError):
                    pass
            self._signals = ()

        return restore

    def _first_signal(self) -> None:
        for other in self._signals:  # a second signal while this one unwinds: end and go, no more unwinding
            try:
                signal.signal(other, self._on_second_signal)
            except (OSError, ValueError):
                pass
        self.end_all()

    def _on_signal(self, signum: int, frame) -> None:
        self._first_signal()
        raise Stopped(signum)

    def _on_interrupt(self, signum: int, frame) -> None:
        self._first_signal()
        raise KeyboardInterrupt

    def _on_second_signal(self, signum: int, frame) -> None:
        self.end_all()
        os._exit(128 + signum)


#: the children of this process (see :class:`Children` for why this one is module state)
CHILDREN = Children()


def _pgid_of(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except (OSError, AttributeError):
        return pid


def _sid_of(pid: int) -> int:
    try:
        return os.getsid(pid)
    except (OSError, AttributeError):
        return pid


def _create_time(pid: int) -> Optional[float]:
    """When ``pid`` started (to tell a reused pid apart), or None; on Linux without importing psutil."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
            return float(stat[stat.rindex(b")") + 2:].split()[19])  # field 22, starttime (clock ticks)
        except (OSError, ValueError, IndexError):
            return None
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:
        return None


def _ours() -> Tuple[int, int, int]:
    """This process, its group and its session: never to be killed."""
    pid = os.getpid()
    try:
        return pid, os.getpgrp(), os.getsid(0)
    except (OSError, AttributeError):
        return pid, -1, -1


def _killpg(pgid: int) -> None:
    if os.name != "posix" or pgid <= 1 or pgid in _ours()[1:]:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _kill_pid(pid: int, created: Optional[float] = None) -> None:
    if pid <= 1 or pid == os.getpid():
        return
    if created is not None and _create_time(pid) not in (None, created):
        return  # that pid is another process now
    try:
        if os.name == "posix":
            os.kill(pid, signal.SIGKILL)
        else:
            import psutil

            psutil.Process(pid).kill()
    except Exception:
        pass


def _descendants(pid: int) -> List[Tuple[int, Optional[float]]]:
    try:
        import psutil

        return [(p.pid, _create_time(p.pid)) for p in psutil.Process(pid).children(recursive=True)]
    except Exception:
        return []


def _has_children() -> bool:
    """Whether this process has any child now (Linux: its threads' ``children`` files, no psutil needed)."""
    if sys.platform.startswith("linux"):
        try:
            for tid in os.listdir("/proc/self/task"):
                with open(f"/proc/self/task/{tid}/children", "rb") as fh:
                    if fh.read().strip():
                        return True
            return False
        except OSError:
            pass
    return True


def _in_sessions(sids: Set[int], pgids: Set[int]) -> List[int]:
    """Every process in one of these sessions or process groups (what a tree walk misses once a parent died)."""
    if os.name != "posix" or not (sids or pgids):
        return []
    try:
        import psutil

        pids = psutil.pids()
    except Exception:
        return []
    me = os.getpid()
    found = []
    for pid in pids:
        if pid == me:
            continue
        try:
            if os.getsid(pid) in sids or os.getpgid(pid) in pgids:
                found.append(pid)
        except OSError:
            continue
    return found


def _end_child(child: _Child) -> List[Tuple[int, Optional[float]]]:
    """SIGKILL the child's tree, then its group and session, and what was seen under it before; no waiting.

    The tree is read first: a grandchild that started its own session (``setsid``) is only found through
    its parent, and only while that parent lives.
    """
    me, my_group, my_session = _ours()
    tree = _descendants(child.pid) + child.seen
    groups = {child.pgid} | {_pgid_of(pid) for pid, _c in tree}
    sessions = {child.sid} | {_sid_of(pid) for pid, _c in tree}
    groups -= {my_group, 0, 1}
    sessions -= {my_session, 0, 1}
    if child.created is None or _create_time(child.pid) in (None, child.created):
        _kill_pid(child.pid)
    for pgid in groups:
        _killpg(pgid)
    for pid, created in tree:
        _kill_pid(pid, created)
    for pid in _in_sessions(sessions, groups):
        _kill_pid(pid)
    return tree


def _kill_descendants_of(pid: int) -> None:
    me, my_group, my_session = _ours()
    for child, created in _descendants(pid):
        _kill_pid(child, created)
        pgid = _pgid_of(child)
        if pgid not in (my_group, 0, 1):
            _killpg(pgid)


def _feed_stdin(proc: subprocess.Popen, stdin_bytes: Optional[bytes]) -> None:
    """Write the command's input from a thread (a child that does not read it must not block envcheck)."""
    if stdin_bytes is None or proc.stdin is None:
        return

    def feed() -> None:
        try:
            proc.stdin.write(stdin_bytes)
            proc.stdin.close()
        except (OSError, ValueError):
            pass
    threading.Thread(target=feed, daemon=True, name="write-in").start()


def _pipe_holders(fds: Sequence[int]) -> List[int]:
    """Linux: the other processes that hold an end of these pipes open (by the pipes' inodes in /proc/*/fd).

    After its parent exited, a daemon in a session of its own is found by no process tree, group or session
    walk; that it keeps our pipe open is exactly what makes it ours to end.
    """
    if not sys.platform.startswith("linux"):
        return []
    wanted = set()
    for fd in fds:
        try:
            wanted.add(f"pipe:[{os.fstat(fd).st_ino}]")
        except OSError:
            continue
    me, found = os.getpid(), []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == me:
            continue
        try:
            links = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in links:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    found.append(pid)
                    break
            except OSError:
                continue
    return found


def _set_subreaper(on: bool) -> bool:
    """Linux: orphaned descendants are re-parented to this process instead of init (PR_SET_CHILD_SUBREAPER)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1 if on else 0, 0, 0, 0) == 0 and on
    except Exception:
        return False


#: ``hook(result)`` for every command :func:`run` finished, on the thread that ran it (``-v`` lists them);
#: add with :func:`trace`, which gives back the function that removes it again
TRACE: List[Callable[["CommandResult"], None]] = []


def trace(hook: Callable[["CommandResult"], None]) -> Callable[[], None]:
    """Call ``hook`` with every command's result from now on; returns the function that stops it."""
    TRACE.append(hook)

    def remove() -> None:
        if hook in TRACE:
            TRACE.remove(hook)
    return remove


def _traced(result: "CommandResult") -> "CommandResult":
    for hook in list(TRACE):
        try:
            hook(result)
        except Exception:  # noqa: BLE001 - a display hook never changes what a command did
            pass
    return result


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
    answered: Optional[Callable[[str], bool]] = None,
) -> CommandResult:
    """Run ``argv`` and return what happened; never raises for the command's own failures.

    ``answered(stdout so far)``: the output is read as it comes, and once this says the answer is complete
    the command gets :data:`ANSWER_GRACE_S` to exit; after that it is ended and the answer kept
    (``lingered``). On a timeout the output read until then (progress markers) is kept too.
    """
    argv = [str(a) for a in argv]
    result = CommandResult(argv=argv)
    start = time.monotonic()
    CHILDREN.prepare()
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
        return _traced(result)
    except (OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.not_executable = getattr(exc, "errno", None) in _NOT_EXECUTABLE
        if result.not_executable:
            result.error = not_executable_reason(argv[0], exc, env)
        result.duration_s = time.monotonic() - start
        return _traced(result)

    CHILDREN.add(proc)
    stdin_bytes = stdin_text.encode() if stdin_text is not None else None
    own_exit: Optional[int] = None
    if answered is not None:
        out, err, result.timed_out, result.lingered, result.abandoned, own_exit = _read_until(
            proc, stdin_bytes, start + timeout, answered)
    else:
        partial: Dict[str, bytearray] = {"out": bytearray(), "err": bytearray()}
        try:
            out, err = _communicate_capped(proc, stdin_bytes, timeout, partial)
        except subprocess.TimeoutExpired:
            result.timed_out = True
            CHILDREN.end(proc.pid)
            more_out, more_err, result.abandoned = _collect_after_kill(proc)
            out, err = bytes(partial["out"]) + more_out, bytes(partial["err"]) + more_err
    result.truncated = len(out) > MAX_OUTPUT_BYTES or len(err) > MAX_OUTPUT_BYTES
    out, err = out[:MAX_OUTPUT_BYTES], err[:MAX_OUTPUT_BYTES]
    if not result.abandoned:  # abandoned: still recorded, so the way out tries again
        CHILDREN.discard(proc.pid)
    result.duration_s = time.monotonic() - start
    result.stdout, result.stderr = _decode(out), _decode(err)
    if result.lingered:  # its exit status only if it exited by itself; the kill was ours, not a crash
        result.returncode = own_exit
    elif not result.abandoned:
        result.returncode = proc.returncode
        if proc.returncode is not None and proc.returncode < 0:
            result.signal = -proc.returncode
    return _traced(result)


#: errno values that mean "this file exists but cannot be executed" (not "not found")
_NOT_EXECUTABLE = (errno.EACCES, errno.ENOEXEC)


def not_executable_reason(program: str, exc: BaseException, env: Optional[Mapping[str, str]] = None) -> str:
    """Why an existing file could not be executed, in words: "not executable (mode 0644)", "not a program this
    system can run (Exec format error)", or the OS's own words (a noexec mount keeps the x bits)."""
    path = program if os.sep in program or "/" in program else (unrunnable(program, env) or (program, ""))[0]
    code = getattr(exc, "errno", None)
    if code == errno.ENOEXEC:
        return f"{path}: not a program this system can run ({os.strerror(code)})"
    mode = file_mode(path)
    if mode is not None and not mode & 0o111:
        return f"{path}: not executable (mode {mode:04o})"
    return f"{path}: cannot be executed ({os.strerror(code) if code else exc})" + (
        f" (mode {mode:04o})" if mode is not None else "")


def file_mode(path: str) -> Optional[int]:
    """The permission bits of ``path`` (0o644), or None when it cannot be read."""
    try:
        return _stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def unrunnable(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[Tuple[str, str]]:
    """The first file called ``name`` on PATH that :func:`which` passes over because it may not be executed:
    (path, "not executable (mode 0644)"); None when there is none. Tells "not executable" from "not found"."""
    path = (env or os.environ).get("PATH", os.defpath)
    for directory in path.split(os.pathsep):
        if not directory:
            continue
        candidate = os.path.join(directory, name)
        reason = unrunnable_file(candidate)
        if reason:
            return candidate, reason
    return None


def unrunnable_file(path: str) -> Optional[str]:
    """Why the regular file at ``path`` may not be executed by us ("not executable (mode 0644)"), or None when
    it is executable or is not a regular file at all."""
    try:
        if not os.path.isfile(path) or os.access(path, os.X_OK):
            return None
    except OSError:
        return None
    mode = file_mode(path)
    return f"not executable (mode {mode:04o})" if mode is not None else "not executable"


def _read_until(proc: subprocess.Popen, stdin_bytes: Optional[bytes], deadline: float,
                answered: Optional[Callable[[str], bool]]) -> Tuple[bytes, bytes, bool, bool, bool, Optional[int]]:
    """Read the child's output as it comes until it ends, answers, or ``deadline`` passes.

    Returns (stdout, stderr, timed_out, lingered, abandoned, its own exit status). A child that answered gets
    :data:`ANSWER_GRACE_S` to exit and close its pipes; one that does not (it hangs in its teardown, or a daemon
    it started holds the pipe) is ended with its tree and its answer kept. Unlike ``communicate``, what was
    read before a timeout survives it, even when the pipes never close: the progress markers say where it hung.
    ``answered`` None: read until it ends or the deadline. Each stream keeps its first :data:`MAX_OUTPUT_BYTES`
    and one byte more (that says it was cut); the rest is read and dropped, so the child never blocks on a full pipe.
    """
    bufs = {"out": bytearray(), "err": bytearray()}
    open_ = {"out": True, "err": True}
    cond = threading.Condition()

    def pump(key: str, fd: int) -> None:
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                with cond:
                    room = MAX_OUTPUT_BYTES + 1 - len(bufs[key])
                    if room > 0:
                        bufs[key] += chunk[:room]
                        cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with cond:
                open_[key] = False
                cond.notify_all()

    pumps = [threading.Thread(target=pump, args=(key, pipe.fileno()), daemon=True, name=f"read-{key}")
             for key, pipe in (("out", proc.stdout), ("err", proc.stderr))]
    for thread in pumps:
        thread.start()
    _feed_stdin(proc, stdin_bytes)
    answered_at: Optional[float] = None
    checked = -1
    with cond:
        while True:
            if (answered is not None and answered_at is None and len(bufs["out"]) != checked
                    and len(bufs["out"]) <= MAX_OUTPUT_BYTES):  # an answer past the kept head cannot be read
                checked = len(bufs["out"])
                if answered(_decode(bytes(bufs["out"]))):
                    answered_at = time.monotonic()
            limit = deadline if answered_at is None else min(deadline, answered_at + ANSWER_GRACE_S)
            now = time.monotonic()
            if (not open_["out"] and not open_["err"]) or now >= limit:
                break
            cond.wait(limit - now)
    closed = not open_["out"] and not open_["err"]
    exited = False
    if closed:
        try:
            proc.wait(max(0.0, limit - time.monotonic()))
            exited = True
        except subprocess.TimeoutExpired:
            pass
    own_exit = proc.poll()
    done = closed and exited
    timed_out = not done and answered_at is None
    lingered = not done and answered_at is not None
    abandoned = False
    if not done:
        fds = [pipe.fileno() for pipe in (proc.stdout, proc.stderr)]
        CHILDREN.end(proc.pid)
        end = time.monotonic() + KILL_GRACE_S
        for thread in pumps:
            thread.join(min(0.1, max(0.0, end - time.monotonic())))
        if any(t.is_alive() for t in pumps):  # a daemon no tree leads to (its parent exited) holds the pipe
            for pid in _pipe_holders(fds):
                _kill_pid(pid)
        for thread in pumps:
            thread.join(max(0.0, end - time.monotonic()))
        try:
            proc.wait(max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        abandoned = any(t.is_alive() for t in pumps) or proc.poll() is None
    if not abandoned:
        for pipe in (proc.stdout, proc.stderr):
            try:
                pipe.close()
            except (OSError, ValueError, AttributeError):
                pass
    with cond:
        return bytes(bufs["out"]), bytes(bufs["err"]), timed_out, lingered, abandoned, own_exit


class Started:
    """A command already running on a daemon thread; :meth:`result` collects it.

    Lets the slowest probe (importing torch in the target) start before envcheck has even finished
    importing its own modules, so its seconds overlap everything else.
    """

    def __init__(self, argv: Sequence[str], timeout: float, env: Optional[Mapping[str, str]] = None,
                 cwd: Optional[str] = None, answered: Optional[Callable[[str], bool]] = None) -> None:
        self.argv = [str(a) for a in argv]
        self.timeout = timeout
        self._box: list[CommandResult] = []
        self._thread = threading.Thread(target=lambda: self._box.append(run(self.argv, timeout, env, cwd,
                                                                            answered=answered)),
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
          cwd: Optional[str] = None, answered: Optional[Callable[[str], bool]] = None) -> Started:
    """Start ``argv`` now and collect it later with ``.result()`` (``answered``: as for :func:`run`)."""
    return Started(argv, timeout, env, cwd, answered)


def _communicate_capped(proc: subprocess.Popen, stdin_bytes: Optional[bytes], timeout: float,
                        partial: Dict[str, bytearray]) -> Tuple[bytes, bytes]:
    """``proc.communicate(stdin_bytes, timeout)`` that keeps at most :data:`MAX_OUTPUT_BYTES` (and one byte more,
    which says it was cut) of each stream, reading and dropping the rest so that the child never blocks on a full
    pipe. Raises ``subprocess.TimeoutExpired`` as ``communicate`` does; what was read by then is in ``partial``."""
    if os.name != "posix":  # no select() on pipes: the standard library's own reader
        return proc.communicate(input=stdin_bytes, timeout=timeout)
    import selectors

    deadline = time.monotonic() + timeout
    _feed_stdin(proc, stdin_bytes)
    keys = {proc.stdout.fileno(): "out", proc.stderr.fileno(): "err"}
    with selectors.DefaultSelector() as selector:
        for fd in keys:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            for key, _events in selector.select(remaining):
                try:
                    chunk = os.read(key.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                buf = partial[keys[key.fd]]
                room = MAX_OUTPUT_BYTES + 1 - len(buf)
                if room > 0:
                    buf += chunk[:room]
    proc.wait(max(0.0, deadline - time.monotonic()))  # TimeoutExpired when it closed its pipes but runs on
    return bytes(partial["out"]), bytes(partial["err"])


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

    parent = threading.current_thread().name  # nested: "probe-system/gcc", so -v knows whose command it was
    prefix = parent + "/" if parent.startswith("probe-") else "probe-"
    threads = {key: threading.Thread(target=call, args=(key, fn), daemon=True, name=f"{prefix}{key}")
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
