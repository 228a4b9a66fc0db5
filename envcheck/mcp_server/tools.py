"""What each MCP tool runs: its arguments as an envcheck command line that ends in ``--json``, and the
finding-code catalogue entry for ``explain``.

Every tool is read-only by construction: the command lines built here never carry ``--save``, ``--from``,
``--format`` or a ``mirrors`` command, and each value travels as one ``--flag=value`` token, so a value
that starts with ``-`` can never become an option of its own.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional

from ..rules.codes import CODES

#: the options a tool may put on a command line: everything else (``--save``, ``--from``, ``--format``,
#: ``--policy``) writes or reads a file, so no tool can reach it
ALLOWED_OPTIONS = {
    "doctor": {"--python", "--fast", "--timeout", "--json"},
    "analyze": {"--json"},
    "install-cmd": {"--os", "--arch", "--python", "--driver", "--no-gpu", "--gpu", "--compute-capability", "--torch",
                    "--cuda", "--manager", "--mirror", "--with", "--keep-torch", "--replace-torch", "--timeout",
                    "--json"},
    "smoke": {"--python", "--device", "--no-multi", "--timeout", "--json"},
}


@dataclass
class CliRun:
    """One in-process run of the command line: its exit code, what it printed on stdout, and the one-line
    reason when it stopped on a usage problem or failed (``None`` otherwise)."""

    code: int
    stdout: str
    error: Optional[str] = None


#: runs ``envcheck ARGS`` (with the text as its standard input) and returns what it printed
CliRunner = Callable[[List[str], Optional[str]], CliRun]


class ToolInputError(ValueError):
    """A tool argument the command line would refuse: said before anything runs."""


def _value(flag: str, value: object) -> List[str]:
    if value is None:
        return []
    text = str(value)
    if not text.strip() or "\n" in text or "\x00" in text:
        raise ToolInputError(f"{flag}: give a non-empty one-line value (got {text!r})")
    return [f"{flag}={text}"]


def _values(flag: str, values: Optional[Iterable[object]]) -> List[str]:
    return [token for value in (values or []) for token in _value(flag, value)]


def _flag(flag: str, on: bool) -> List[str]:
    return [flag] if on else []


def doctor_args(python: Optional[str] = None, fast: bool = False, timeout: Optional[float] = None) -> List[str]:
    """``envcheck doctor --json`` with the interpreter, ``--fast`` and the per-command timeout."""
    return ["doctor", *_value("--python", python), *_flag("--fast", fast), *_value("--timeout", timeout), "--json"]


def analyze_args() -> List[str]:
    """``envcheck analyze --json``: the pasted text comes on standard input, as ``envcheck analyze < paste``."""
    return ["analyze", "--json"]


def install_cmd_args(os: Optional[str] = None, arch: Optional[str] = None, python: Optional[str] = None,
                     driver: Optional[str] = None, no_gpu: bool = False, gpu: Optional[List[str]] = None,
                     compute_capability: Optional[List[str]] = None, cuda: Optional[str] = None,
                     torch: Optional[str] = None, manager: Optional[List[str]] = None, mirror: Optional[str] = None,
                     with_packages: Optional[List[str]] = None, keep_torch: Optional[bool] = None,
                     timeout: Optional[float] = None) -> List[str]:
    """``envcheck install-cmd ... --json``: each argument is the flag of the same name (``with_packages`` is
    ``--with``; ``keep_torch`` True/False is ``--keep-torch`` / ``--replace-torch``)."""
    keep = [] if keep_torch is None else ["--keep-torch" if keep_torch else "--replace-torch"]
    return ["install-cmd", *_value("--os", os), *_value("--arch", arch), *_value("--python", python),
            *_value("--driver", driver), *_flag("--no-gpu", no_gpu), *_values("--gpu", gpu),
            *_values("--compute-capability", compute_capability), *_value("--cuda", cuda), *_value("--torch", torch),
            *_values("--manager", manager), *_value("--mirror", mirror), *_values("--with", with_packages), *keep,
            *_value("--timeout", timeout), "--json"]


def smoke_args(python: Optional[str] = None, device: Optional[List[int]] = None, no_multi: bool = False,
               timeout: Optional[float] = None) -> List[str]:
    """``envcheck smoke --json``: the interpreter whose torch runs the test, the devices, the time limit."""
    return ["smoke", *_value("--python", python), *_values("--device", device), *_flag("--no-multi", no_multi),
            *_value("--timeout", timeout), "--json"]


def options_of(args: List[str]) -> List[str]:
    """The options of a command line built here (``--flag=value`` gives ``--flag``)."""
    return [token.split("=", 1)[0] for token in args[1:]]


def explain_data(code: str) -> Dict[str, str]:
    """The catalogue entry of a finding code (``rules/codes.py``, the table the README's findings table
    repeats): code, usual severity, section, and what it means."""
    entry = CODES.get(code.strip().lower())
    if entry is None:
        near = difflib.get_close_matches(code.strip().lower(), list(CODES), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else f"; the codes are: {', '.join(sorted(CODES))}"
        raise ToolInputError(f"unknown finding code {code!r}{hint}")
    return {"code": entry.code, "severity": entry.severity, "section": entry.section, "summary": entry.summary}
