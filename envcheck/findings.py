"""Findings (what the rules conclude) and the exit codes scripts rely on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, Iterable, List, Optional, Tuple


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class ExitCode:
    """Documented in docs/reference.md (Exit codes); never renumber."""

    OK = 0
    WARNINGS_STRICT = 1
    #: install-cmd: no torch build fits the constraints
    NO_FIT = 1
    ERRORS = 2
    USAGE = 3
    POLICY = 4
    #: analyze: nothing in the input was recognised (no known output, no known error message): no verdict
    NOTHING_RECOGNISED = 5
    #: a bug in envcheck itself (reported as one line, never a traceback)
    INTERNAL = 70
    #: whoever read stdout went away (``| head``): output stopped there (128 + SIGPIPE, as shells report it)
    PIPE_CLOSED = 141


@dataclass
class Finding:
    #: stable kebab-case code, listed in docs/reference.md's findings table
    code: str
    severity: Severity
    title: str
    #: why, quoting the facts it rests on
    detail: str = ""
    #: concrete commands or steps, in order
    fix: List[str] = field(default_factory=list)
    #: driver | gpu | torch | toolkit | cudnn | packages | python | pip | conda | system | env | envcheck
    section: str = "envcheck"
    #: the facts the finding quotes, for JSON consumers
    facts: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.severity = Severity(self.severity)


def sort_findings(findings: Iterable[Finding]) -> List[Finding]:
    """Errors first, then warnings, then info; stable within a severity."""
    return sorted(findings, key=lambda f: f.severity.rank)


def exit_code(findings: Iterable[Finding], strict: bool = False) -> int:
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return ExitCode.ERRORS
    if strict and Severity.WARNING in severities:
        return ExitCode.WARNINGS_STRICT
    return ExitCode.OK


def looks_like_command(step: str) -> bool:
    """A fix step that is a shell command (printed after ``$``, pasted as is) rather than prose."""
    first = step.split(" ", 1)[0]
    return first in {"pip", "sudo", "conda", "export", "unset", "nvidia-smi", "python", "ls", "lsmod", "echo",
                     "env", "uv", "docker", "mamba", "pip3", "&"} or first.startswith(("/", "~", "./", "'/", "'~"))


#: the shell fix commands are written for (POSIX ``sh``), as ``--json`` names it
SHELL = "sh"
#: a command aimed at a Windows interpreter whose path needs quotes: ``& "C:\Program Files\...\python.exe" -m pip``
POWERSHELL = "powershell"
#: what separates a command from its comment: ``cmd   # comment`` (at least one space before ``#``)
_COMMENT = re.compile(r"\s+#\s")


@dataclass
class FixStep:
    """One fix step classified: a ``command`` to run (in ``shell``, with an optional ``comment``), a ``step`` to
    take (prose), or a ``note`` (``(torch 2.15.0 cpu)``: what a command above it gives; not a step)."""

    kind: str
    text: str
    comment: str = ""
    shell: Optional[str] = None

    def data(self) -> Dict[str, Any]:
        """The step as ``--json`` shows it: ``shell`` for commands only, ``comment`` where there is one."""
        out: Dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.kind == "command":
            out["shell"] = self.shell
            if self.comment:
                out["comment"] = self.comment
        return out


def split_comment(text: str) -> Tuple[str, str]:
    """``cmd   # comment`` as (``cmd``, ``comment``); a text without one as (text, "")."""
    match = _COMMENT.search(text)
    if not match:
        return text, ""
    return text[:match.start()].rstrip(), text[match.end():].strip()


def fix_step(step: str, shell: str = SHELL) -> FixStep:
    """Classify one entry of ``Finding.fix`` (its English text): the one place a command is told from prose."""
    text = str(step).strip()
    if text.startswith("(") and text.endswith(")"):
        return FixStep("note", text)
    if looks_like_command(text):
        command, comment = split_comment(text)
        # a Windows path that needed quotes is written with PowerShell's call operator (rules/aim.py)
        return FixStep("command", command, comment, POWERSHELL if command.startswith("& ") else shell)
    return FixStep("step", text)
