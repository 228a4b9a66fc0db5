"""The report every output form starts from: the redacted snapshot and its findings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List

from ..findings import Finding, Severity
from ..redact import redact_data
from ..serde import from_data, to_data
from ..snapshot import SCHEMA_VERSION, Snapshot


@dataclass
class Report:
    snapshot: Snapshot
    findings: List[Finding]

    def counts(self) -> Dict[str, int]:
        return {s.value: sum(1 for f in self.findings if f.severity == s) for s in Severity}

    def verdict(self) -> str:
        c = self.counts()
        if c["error"]:
            return "broken"
        if c["warning"]:
            return "degraded"
        return "ok"


def redacted(report: Report) -> Report:
    """The same report with credentials hidden in every string (all output forms use this)."""
    snap = Snapshot.from_dict(redact_data(report.snapshot.to_dict()))
    findings = [from_data(Finding, redact_data(to_data(f))) for f in report.findings]
    return Report(snap, findings)


def report_data(report: Report) -> Dict[str, Any]:
    r = redacted(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": r.verdict(),
        "summary": r.counts(),
        "findings": [to_data(f) for f in r.findings],
        "snapshot": r.snapshot.to_dict(),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False)
