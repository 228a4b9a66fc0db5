"""Environment variables, pasted: ``env`` / ``printenv`` output, ``export`` and ``declare -x`` lines,
``echo $LD_LIBRARY_PATH`` (or ``printenv NAME``, ``echo %PATH%``) followed by what it printed, and
Windows ``set NAME=value``.

Only the variables the doctor keeps are read (CUDA_*, LD_LIBRARY_PATH, PATH, NCCL_*, ...: the list
in :mod:`envcheck.probes.envvars`), with the same redaction. An ``echo`` whose output is not on the
next line (a blank line, the next prompt) gives nothing: the value stays unknown. ``NAME=value command``
(a variable set for one command) keeps the value alone.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

from .gates import Gate, alternation
from ..probes.envvars import NAMES, PREFIXES, _relevant
from ..redact import redact_env

_ASSIGN = re.compile(r"^\s*(?:(?:export|declare\s+-x|set|setenv)\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=|\s+(?=\S))"
                     r"(?P<value>.*)$")
_ECHO = re.compile(r"(?:^|[\s$#>])(?:echo\s+[\"']?\$\{?(?P<name1>[A-Za-z_][A-Za-z0-9_]*)\}?[\"']?|"
                   r"echo\s+%(?P<name2>[A-Za-z_][A-Za-z0-9_]*)%|printenv\s+(?P<name3>[A-Za-z_][A-Za-z0-9_]*)|"
                   r"\$env:(?P<name4>[A-Za-z_][A-Za-z0-9_]*))\s*$")
_PROMPT_LIKE = re.compile(r"[$#>](?:\s|$)|^\s*\(")
#: what a line where variables start always holds (an echo, or a kept variable's name at its start): the cheap
#: test :mod:`.detect` runs first
GATE = Gate(words=("echo", "printenv", "$env:"),
            start=r"(?i:(?:(?:export|declare\s+-x|set|setenv)\s+)?(?:"
                  + alternation(NAMES + PREFIXES) + "))")


def _value(text: str) -> str:
    v = text.strip()
    if v and v[0] in "'\"":
        close = v.find(v[0], 1)
        return v[1:close] if close > 0 else v[1:]
    return v.split()[0] if v else v


def _is_output(line: str) -> bool:
    """Whether the line after an echo is what it printed (not blank, a fence, a prompt or another command)."""
    s = line.strip()
    return bool(s) and not s.startswith(("```", "~~~")) and not _PROMPT_LIKE.search(line) and not _ECHO.search(line) \
        and (" " not in s or "\\" in s or "/" in s)


def assignment(line: str) -> Optional[tuple]:
    """(name, value) of a relevant variable set or listed on this line, or None."""
    m = _ASSIGN.match(line)
    if not m:
        return None
    name = m.group("name")
    if not _relevant(name):
        return None
    head = line.lstrip()
    if "=" not in line[:m.end("name") + 1] and not head.startswith("setenv"):
        return None
    return name, _value(m.group("value"))


def detect(lines: List[str], i: int) -> Optional[int]:
    """End of a run of variable lines (or an echo and its output) starting at ``i``, or None."""
    line = lines[i]
    m = _ECHO.search(line)
    if m:
        name = next(g for g in m.groups() if g)
        if _relevant(name) and i + 1 < len(lines) and _is_output(lines[i + 1]):
            return i + 2
        return None
    if assignment(line) is None:
        return None
    j = i + 1
    while j < len(lines) and (assignment(lines[j]) is not None or re.match(r"^\s*[A-Za-z_][A-Za-z0-9_]*=", lines[j])):
        j += 1
    return j


_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _expand(value: str, known: Dict[str, str]) -> str:
    """``$CUDA_HOME/lib64`` with CUDA_HOME set a line before -> its value; unknown references stay as written."""
    if "$" not in value:
        return value
    return _REFERENCE.sub(lambda m: known.get(m.group(1), m.group(0)), value)


def parse(lines: Sequence[str]) -> Dict[str, str]:
    """The relevant variables the lines set or print; never raises. As in a shell, a later ``export`` of
    a variable replaces an earlier one, and ``$NAME`` refers to what the lines set before."""
    env: Dict[str, str] = {}
    raw: Dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _ECHO.search(line)
        if m:
            name = next(g for g in m.groups() if g)
            if _relevant(name) and i + 1 < len(lines) and _is_output(lines[i + 1]):
                env.setdefault(name, redact_env(name, lines[i + 1].strip()))
                i += 2
                continue
        found = assignment(line)
        if found:
            name, value = found[0], _expand(found[1], raw)
            raw[name] = value
            env[name] = redact_env(name, value)
        i += 1
    return env
