"""What every command module shares: the console, the run's language, usage problems, reading a
snapshot and writing a file. Command modules import this; it imports no command module and not the root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple, Union

import typer

from ..i18n import Gettext, Message, english, text_in

#: the exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it)
INTERRUPTED = 130


class UsageProblem(Exception):
    """envcheck could not run as asked (exit 3). Carries a Message, worded by the root in the reader's language."""

    def __init__(self, message: Union[Message, str]) -> None:
        self.message = message
        super().__init__(str(message))

    def text(self, _: Gettext = english) -> str:
        return text_in(self.message, _)


def stdout_console():
    """rich's console for stdout; NO_COLOR (https://no-color.org) turns off every escape code, not just colours.

    A reader that goes away (``envcheck doctor | head``) raises BrokenPipeError, which :func:`.app.main` turns
    into its own exit code; rich alone would exit 1, which means "warnings under --strict".
    """
    import os

    from rich.console import Console

    class PipeAwareConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError()

        def _render_buffer(self, buffer):  # every text segment inert; rich's own control segments kept
            from rich.segment import Segment

            from ..inert import inert
            return super()._render_buffer(
                segment if segment.control else Segment(inert(segment.text), segment.style, segment.control)
                for segment in buffer)

    if os.environ.get("NO_COLOR"):
        return PipeAwareConsole(color_system=None, highlight=False)
    return PipeAwareConsole(highlight=False)


def out(text: str) -> None:
    """Human-readable text (Markdown, plain lines) to stdout, inert (see :mod:`envcheck.inert`)."""
    import sys

    from ..inert import inert
    sys.stdout.write(inert(text))


def err(text: str) -> None:
    """One line for a person on stderr, inert."""
    from ..inert import inert
    typer.echo(inert(text), err=True)


def silence_stdout() -> None:
    """Point stdout at the null device, so nothing more is written to a closed pipe (nor complained about at exit)."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def gettext_for_lang(lang: str) -> Gettext:
    from ..i18n import gettext_for

    return gettext_for(lang) if lang != "en" else english


def run_lang(ctx: Optional[typer.Context]) -> str:
    """The language the root callback chose for this run ("en" when there is no root context)."""
    root = ctx.find_root() if ctx is not None else None
    return ((root.obj if root is not None else None) or {}).get("lang", "en")


def gettext_of(ctx: Optional[typer.Context], as_json: bool = False) -> Gettext:
    """The gettext function for this run's human-readable output: English for JSON, else --lang / the locale."""
    return english if as_json else gettext_for_lang(run_lang(ctx))


def early_probes(ctx: typer.Context) -> dict:
    """Target probes that the entry point started before the CLI was imported (an optimisation only)."""
    root = ctx.find_root()
    return ((root.obj if root is not None else None) or {}).get("early") or {}


def one_output(as_json: bool, markdown: bool) -> None:
    """Refuse ``--json`` and ``--markdown`` together (every command that has both)."""
    from ..i18n import N_
    if as_json and markdown:
        raise UsageProblem(Message(N_("choose one of {first} and {second}"), first="--json", second="--markdown"))


def one_form(*chosen: Tuple[str, bool]) -> None:
    """Refuse two output forms at once (``("--json", as_json), ("--markdown", markdown), ...``)."""
    from ..i18n import N_
    given = [name for name, on in chosen if on]
    if len(given) > 1:
        raise UsageProblem(Message(N_("choose one of {first} and {second}"), first=given[0], second=given[1]))


def read_snapshot(path: Path):
    """A saved snapshot (``doctor --save``, or the snapshot inside a ``doctor --json`` report), or a usage
    problem naming the file."""
    return read_report(path)[0]


def read_report(path: Path):
    """(snapshot, the findings a ``doctor --json`` report recorded, or None for a bare snapshot).

    A report's findings are shown as that machine's envcheck judged them, worded in the reader's language
    from their messages; nothing is judged again.
    """
    from ..i18n import N_
    from ..render.report import finding_from_data
    from ..shape import check_report
    from ..snapshot import Snapshot
    from ..textio import InputError, read_json

    source = str(path)
    try:  # bounded, any BOM / UTF-16 / UTF-32, depth-limited, then every field the readers use checked by type
        data = read_json(path, source=source)
        kind = check_report(data, source, kinds=("doctor", "snapshot"))
    except InputError as exc:
        raise UsageProblem(exc.message if exc.unreadable else Message(
            N_("{path} is not an envcheck snapshot: {reason}"), path=path, reason=exc.reason)) from exc
    try:
        snap = Snapshot.from_dict(data)
        findings = None
        if kind == "doctor" and isinstance(data.get("findings"), list):
            findings = [finding_from_data(f) for f in data["findings"]]
        return snap, findings
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageProblem(Message(N_("{path} is not an envcheck snapshot: {reason}"), path=path,
                                   reason=str(exc))) from exc


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with the one atomic writer."""
    from ..fileio import atomic_write
    from ..i18n import N_
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise UsageProblem(Message(N_("cannot write {path}: {reason}"), path=path,
                                   reason=exc.strerror or str(exc))) from exc


def target_context(python: Optional[str], timeout: float, fast: bool):
    """The probe context for ``--python`` (a usage problem when it names no interpreter)."""
    from ..probes.target import TargetNotFound, context_for

    try:
        return context_for(python, timeout, fast)
    except TargetNotFound as exc:
        raise UsageProblem(exc.message) from exc


#: what a Python says when it starts and then fails (a finding about that Python, not a wrong --python)
_PYTHON_OWN_WORDS = ("Traceback (most recent call last)", "Fatal Python error")


def refuse_non_python(snap) -> None:
    """A target that never answered as a Python (a shell script, /bin/true, a pyenv shim exiting 127) is a usage
    problem (exit 3), not a report saying "sound": nothing of that machine's torch was examined."""
    if snap.python.version or not snap.python.executable:
        return
    # "garbage": it ran and exited without an answer; a crash by a signal is a broken Python, examined as such
    issue = next((i for i in snap.probe_issues if i.probe == "target" and i.kind == "garbage"), None)
    if issue is None or any(words in (issue.message or "") for words in _PYTHON_OWN_WORDS):
        return
    raise _not_a_python(snap.python.executable, issue.message or "")


def refuse_non_python_run(python: str, result, marker: str) -> None:
    """The same for a script run in the target (smoke): it exited by itself, printed no answer, and nothing it
    said is a Python's own words."""
    from ..inert import inert

    said = " ".join(((result.stdout or "") + " " + (result.stderr or "")).split())
    if result.timed_out or result.signal or result.not_found or marker in (result.stdout or ""):
        return
    if any(words in said for words in _PYTHON_OWN_WORDS):
        return
    raise _not_a_python(python, inert(f"exit {result.returncode}" + (f": {said[:200]}" if said else "")))


def _not_a_python(python: str, answer: str) -> "UsageProblem":
    from ..i18n import N_, quoted

    return UsageProblem(Message(N_("{python} is not a working Python interpreter (it answered: {answer}); give "
                                   "--python the path of a python executable or of an environment"),
                                python=python, answer=quoted(answer)))


# --------------------------------------------------------------------------- conventions (issue 17)


def write_line(text: str) -> None:
    """``text`` as one line on stdout in one ``os.write`` (``--jsonl``): many writers appending to one file
    (``srun``, ``pdsh``, Ansible) never interleave inside a line. ASCII only, so any stream takes it."""
    import os
    import sys

    data = (text.rstrip("\n") + "\n").encode("ascii", "backslashreplace")
    try:
        sys.stdout.flush()  # whatever was printed before goes first
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a stream without a descriptor (tests): its own write
        sys.stdout.write(data.decode("ascii"))
        return
    written = os.write(fd, data)
    while written < len(data):  # a pipe may take less than asked (a regular file takes it whole)
        written += os.write(fd, data[written:])


class ProbeStatus:
    """What is being waited on, as a rich status line on stderr, once a probe has run about a second.

    Only when stderr is a terminal (nothing in a log, a pipe or a CI job); the collector calls it as each
    probe starts and ends (:data:`envcheck.probes.collect.Progress`).
    """

    DELAY_S = 1.0

    def __init__(self, _: Gettext = english, enabled: Optional[bool] = None) -> None:
        import sys
        import threading

        self._ = _
        self.enabled = bool(getattr(sys.stderr, "isatty", lambda: False)()) if enabled is None else enabled
        self.running: dict = {}
        self._lock = threading.Lock()
        self._status = None
        self._timer = None
        self._closed = False

    def __call__(self, probe: str, running: bool) -> None:
        import time

        with self._lock:
            if running:
                self.running[probe] = time.monotonic()
            else:
                self.running.pop(probe, None)
            if self._status is not None:
                self._status.update(self.text())

    def text(self) -> str:
        """"waiting for: importing torch (target-live), nvidia" (the longest-running first)."""
        from ..i18n import N_
        names = [self._(N_("importing torch")) + " (target-live)" if p == "target-live" else p
                 for p in sorted(self.running, key=self.running.get)]
        return self._(N_("waiting for: {probes}")).format(probes=", ".join(names) or "...")

    def _show(self) -> None:
        with self._lock:
            if self._closed or not self.running:
                return
            from rich.console import Console

            from ..render.encoding import is_utf
            import sys
            console = Console(stderr=True, highlight=False)
            spinner = "dots" if is_utf(getattr(sys.stderr, "encoding", None)) else "line"
            self._status = console.status(self.text(), spinner=spinner)
            self._status.start()

    def __enter__(self) -> "ProbeStatus":
        if self.enabled:
            import threading
            self._timer = threading.Timer(self.DELAY_S, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._status is not None:
                self._status.stop()
                self._status = None


class CommandTrace:
    """``-v``: every command the probes ran, with how long it took, grouped by probe (printed to stderr)."""

    def __init__(self) -> None:
        import threading

        self.commands: list = []  # (probe, CommandResult)
        self._lock = threading.Lock()
        self._remove = None

    def _record(self, result) -> None:
        import threading

        name = threading.current_thread().name
        probe = name[len("probe-"):].split("/")[0] if name.startswith("probe-") else "-"
        if name == "started-command":  # started by the entry point before the CLI: the target script's mode
            probe = f"target-{result.argv[-1]}" if result.argv and result.argv[-1] in ("static", "live") else "-"
        with self._lock:
            self.commands.append((probe, result))

    def add_started(self, early: dict) -> None:
        """The target probes the entry point started, those that ended before this trace began included."""
        with self._lock:
            seen = {id(result) for _, result in self.commands}
        for mode, started in (early or {}).items():
            box = getattr(started, "_box", None)
            if box and id(box[0]) not in seen:
                with self._lock:
                    self.commands.append((f"target-{mode}", box[0]))

    def __enter__(self) -> "CommandTrace":
        from ..runner import trace
        self._remove = trace(self._record)
        return self

    def __exit__(self, *exc) -> None:
        if self._remove is not None:
            self._remove()

    def lines(self, durations: Optional[dict] = None) -> list:
        """One line per probe (its seconds), then each of its commands (seconds and how it ended)."""
        durations = dict(durations or {})
        by_probe: dict = {}
        with self._lock:
            for probe, result in self.commands:
                by_probe.setdefault(probe, []).append(result)
        out = []
        for probe in sorted(set(durations) | set(by_probe)):
            seconds = durations.get(probe)
            out.append(f"probe {probe}" + (f": {seconds:.2f} s" if seconds is not None else ""))
            for result in by_probe.get(probe, []):
                out.append(f"  {shown_argv(result.argv)}  ({result.duration_s:.2f} s, {result.describe()})")
        return out


def shown_argv(argv) -> str:
    """A command as a person would type it; an inline script (``python -c <source>``) as its first line."""
    import shlex

    shown = []
    for arg in argv:
        if "\n" in arg or len(arg) > 200:
            arg = f"<script of {arg.count(chr(10)) + 1} lines>"
        shown.append(arg)
    return shlex.join(shown)
