"""Rules: pure functions from a snapshot to findings.

Each rule reads the snapshot (and the knowledge data) and returns findings; none probes, prints or
runs anything. An unknown fact (``None``) never produces a finding. A rule that raises is reported
as an internal finding instead of sinking the whole report.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Tuple

from ..findings import Finding, Severity, sort_findings
from ..i18n import Gettext, Message, N_
from ..knowledge import Knowledge
from ..snapshot import Snapshot
from .base import RuleContext
from .codes import CODES
from . import conda_rules, cudnn_rules, driver, env, gpu, packages, system, toolkit, torch_rules

Rule = Callable[[RuleContext], Iterable[Finding]]

RULES: List[Rule] = [
    *driver.RULES,
    *gpu.RULES,
    *torch_rules.RULES,
    *packages.RULES,
    *toolkit.RULES,
    *cudnn_rules.RULES,
    *env.RULES,
    *conda_rules.RULES,
    *system.RULES,
]


def evaluate(snap: Snapshot, knowledge: Knowledge) -> List[Finding]:
    """All findings for a snapshot, errors first; titles, details and fixes are Messages, worded where shown."""
    ctx = RuleContext(snap, knowledge)
    findings: List[Finding] = []
    for rule in RULES:
        try:
            produced = list(rule(ctx))
            unknown = [f.code for f in produced if f.code not in CODES]
            if unknown:
                raise ValueError(f"unknown finding code(s) {unknown}")
        except Exception as exc:  # a rule bug must not hide the other findings
            produced = [Finding(
                code="probe-failed", severity=Severity.INFO, section="envcheck",
                title=Message(N_("envcheck's rule {rule} failed: please report this"), rule=rule.__name__),
                detail=f"{type(exc).__name__}: {exc}",
            )]
        findings.extend(produced)
    return sort_findings(findings)


#: a finding as another machine's report recorded it: (code, English title)
Recorded = Tuple[str, str]


def reworded_titles(recorded: Iterable[Tuple[Recorded, Dict[str, Any]]], knowledge: Knowledge,
                    _: Gettext) -> Dict[Recorded, str]:
    """Titles in ``_``'s language for findings that reports recorded in English.

    ``recorded``: each finding with the snapshot data (``doctor --json``'s ``snapshot``) it was judged
    on. The snapshot is judged again here, in English and in ``_``'s language; where that gives the
    same finding (same code, same English title) its translated title is known. Others (another
    envcheck version, a smoke finding, a snapshot that no longer reads) are left out: show them as
    recorded.
    """
    out: Dict[Recorded, str] = {}
    judged: Dict[int, Dict[Recorded, str]] = {}
    for key, snapshot_data in recorded:
        if key in out or not isinstance(snapshot_data, dict):
            continue
        if id(snapshot_data) not in judged:
            judged[id(snapshot_data)] = _titles_of(snapshot_data, knowledge, _)
        if key in judged[id(snapshot_data)]:
            out[key] = judged[id(snapshot_data)][key]
    return out


def _titles_of(snapshot_data: Dict[str, Any], knowledge: Knowledge, _: Gettext) -> Dict[Recorded, str]:
    try:
        snap = Snapshot.from_dict(snapshot_data)
    except (ValueError, TypeError):
        return {}
    english_findings, worded = evaluate(snap, knowledge), evaluate(snap, knowledge, _=_)
    return {(e.code, e.title): w.title for e, w in zip(english_findings, worded) if e.code == w.code}
