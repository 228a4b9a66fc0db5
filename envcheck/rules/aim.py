"""Fixes act on the judged environment: a bare ``pip install`` runs whichever pip is first on PATH, which
need not be the interpreter doctor judged. After the rules ran, every fix command that starts with pip,
uv pip or conda install/remove is aimed at the target: ``<python> -m pip``, ``uv pip ... --python
<python>``, ``conda ... -p <prefix>``, the path quoted for the user's shell (POSIX quoting; on Windows
PowerShell's ``& "path"`` where a path needs quotes).
"""

from __future__ import annotations

import ntpath
import shlex
from typing import List, Optional

from ..findings import Finding
from ..i18n import Concat
from ..snapshot import Snapshot

_PIP_HEADS = ("python -m pip ", "python3 -m pip ", "pip3 ", "pip ")


def quote_path(path: str, windows: bool) -> str:
    """A path as the user's shell takes it as one word."""
    if not windows:
        return shlex.quote(path)
    if any(c in path for c in " &()[]{}^=;!'+,`~$@#"):
        return '& "' + path.replace('"', '`"') + '"'
    return path


def _heads(snap: Snapshot) -> List[tuple]:
    """(old head, new head) pairs for this target; empty when the target is not known."""
    py = snap.python.executable
    out: List[tuple] = []
    windows = (snap.system.os or "").lower() == "windows"
    # only a path names one interpreter; "python3" is looked up on PATH like pip itself
    if py and (py.startswith("/") or (windows and ntpath.isabs(py))):
        target = quote_path(py, windows)
        out += [(head, f"{target} -m pip ") for head in _PIP_HEADS]
        plain = target[2:] if target.startswith("& ") else target
        out += [("uv pip install ", f"uv pip install --python {plain} "),
                ("uv pip uninstall ", f"uv pip uninstall --python {plain} ")]
    prefix = snap.python.conda_prefix
    if prefix:
        where = quote_path(prefix, windows)
        where = where[2:] if where.startswith("& ") else where
        out += [(f"conda {verb} ", f"conda {verb} -p {where} ") for verb in ("install", "remove", "update")]
    return out


def _aimed(step: str, heads: List[tuple]) -> Optional[str]:
    """The step with its command head replaced, or None when it is not such a command."""
    english = str(step)
    for old, new in heads:
        if not english.startswith(old):
            continue
        if isinstance(step, Concat) and step.parts and isinstance(step.parts[0], str) \
                and not hasattr(step.parts[0], "msgid") and str(step.parts[0]).startswith(old):
            return Concat([new + step.parts[0][len(old):], *step.parts[1:]])
        if type(step) is str:
            return new + step[len(old):]
        return None
    return None


def aim_fixes(findings: List[Finding], snap: Snapshot) -> None:
    """Rewrite, in place, the fix commands of ``findings`` to act on ``snap``'s interpreter and conda env."""
    heads = _heads(snap)
    if not heads:
        return
    for finding in findings:
        if not finding.fix:
            continue
        finding.fix = [_aimed(step, heads) or step for step in finding.fix]
