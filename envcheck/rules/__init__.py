"""Rules: pure functions from a snapshot to findings.

Each rule reads the snapshot (and the knowledge data) and returns findings; none probes, prints or
runs anything. An unknown fact (``None``) never produces a finding. A rule that raises is reported
as an internal finding instead of sinking the whole report.
"""

from __future__ import annotations

from typing import Callable, Iterable, List

from ..findings import Finding, Severity, sort_findings
from ..i18n import Message, N_
from ..knowledge import Knowledge
from ..snapshot import Snapshot
from .aim import aim_fixes
from .base import RuleContext
from .codes import CODES
from . import conda_rules, config_rules, cudnn_rules, driver, env, gpu, packages, system, toolkit, torch_rules
from . import faults
from . import extensions

Rule = Callable[[RuleContext], Iterable[Finding]]

RULES: List[Rule] = [
    *config_rules.RULES,  # first: a config pip or conda cannot load breaks every fix that runs them
    *driver.RULES,
    *gpu.RULES,
    *faults.RULES,  # Xid events, the NVSwitch fabric, GPU containers, WSL's libcuda (issue 15)
    *torch_rules.RULES,
    *packages.RULES,
    *extensions.RULES,  # compiled CUDA extensions beside torch, from their metadata (issue 15)
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
    aim_fixes(findings, snap)
    return sort_findings(findings)
