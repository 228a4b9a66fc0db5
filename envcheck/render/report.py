"""The report every output form starts from: the redacted snapshot and its findings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..findings import Finding, Severity, fix_step
from ..i18n import N_, Gettext, Message, message_data, message_from_data
from ..redact import redact_data
from ..serde import from_data, to_data
from ..snapshot import SCHEMA_VERSION, Snapshot


#: each severity as a word and as a label (translate with ``_``; JSON keeps ``Severity.value``)
SEVERITY = {"error": (N_("error"), N_("ERROR")), "warning": (N_("warning"), N_("WARNING")),
            "info": (N_("info"), N_("INFO"))}
#: the verdict as terminal and Markdown word it, one word per JSON code (the "Exit codes" table of docs/reference.md)
VERDICT_WORDS = {"ok": N_("sound"), "degraded": N_("works, with warnings"), "broken": N_("broken")}
#: the verdict with a policy's outcome (``--require`` / ``--policy``), the first line of doctor's output
POLICY_MET = N_("{verdict}, policy met")
POLICY_UNMET = N_("{verdict}, policy unmet ({unmet} of {total}: {requirements})")
#: the summary of a report's findings
COUNTS = N_("{error} error(s), {warning} warning(s), {info} info")
#: a finding title as an older report recorded it (English only), shown as a quotation
RECORDED = N_("{recorded_title}")


def recorded_title(title: Optional[str], _: Gettext) -> str:
    """A finding title another report recorded (``fleet``, ``diff``): a Message (from the report's ``messages``) in
    ``_``'s language; plain text (a report without ``messages``) as recorded, quoted in another language."""
    if not title:
        return ""
    if isinstance(title, Message):
        return title.text(_)
    return _(RECORDED).format(recorded_title=title)


@dataclass
class PolicyOutcome:
    """What the first line says of a policy: how many requirements, and the unmet ones (their expressions)."""

    total: int
    unmet: List[str]

    @property
    def ok(self) -> bool:
        return not self.unmet


def verdict_words(verdict: str, policy: Optional[PolicyOutcome], _: Gettext) -> str:
    """The verdict in ``_``'s language, with the policy's outcome when there is one."""
    word = _(VERDICT_WORDS[verdict])
    if policy is None:
        return word
    if policy.ok:
        return _(POLICY_MET).format(verdict=word)
    return _(POLICY_UNMET).format(verdict=word, unmet=len(policy.unmet), total=policy.total,
                                  requirements=_(", ").join(policy.unmet))


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


def _redact_text(value: Any) -> Any:
    """A finding's text with credentials hidden; a Message keeps its id and has its fields redacted."""
    if isinstance(value, Message):
        return value.mapped(lambda text: redact_data(text))
    return redact_data(value)


def redacted_finding(f: Finding) -> Finding:
    done = from_data(Finding, redact_data(to_data(f)))
    done.title, done.detail = _redact_text(f.title), _redact_text(f.detail)
    done.fix = [_redact_text(step) for step in f.fix]
    return done


def redacted(report: Report) -> Report:
    """The same report with credentials hidden in every string (all output forms use this)."""
    snap = Snapshot.from_dict(redact_data(report.snapshot.to_dict()))
    return Report(snap, [redacted_finding(f) for f in report.findings])


def finding_data(f: Finding) -> Dict[str, Any]:
    """A finding as JSON: its English ``title``, ``detail`` and ``fix`` (what scripts read), and ``messages``:
    the same texts as message ids and fields, so a reader in another language can word them without
    judging the snapshot again (see :func:`finding_from_data`); ``steps``: each fix classified
    (:func:`envcheck.findings.fix_step`: a command with its shell, a step to take, or a note)."""
    data = to_data(f)
    data["steps"] = [fix_step(step).data() for step in f.fix]
    data["messages"] = {"title": message_data(f.title), "detail": message_data(f.detail),
                        "fix": [message_data(step) for step in f.fix]}
    return data


def finding_from_data(data: Any) -> Finding:
    """A finding from a report's JSON (``doctor --json``, ``smoke --json``), its texts as Messages where the
    report carries ``messages`` (else the recorded English). ValueError/TypeError on a wrong shape."""
    if not isinstance(data, dict):
        raise ValueError("a finding is not an object")
    plain = {k: v for k, v in data.items() if k not in ("messages", "steps")}
    f = from_data(Finding, plain)
    messages = data.get("messages")
    if isinstance(messages, dict):
        f.title = message_from_data(messages.get("title"), f.title) or f.title
        f.detail = message_from_data(messages.get("detail"), f.detail) or f.detail
        steps = messages.get("fix")
        if isinstance(steps, list) and len(steps) == len(f.fix):
            f.fix = [message_from_data(s, english) or english for s, english in zip(steps, f.fix)]
    return f


def report_data(report: Report) -> Dict[str, Any]:
    r = redacted(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": r.verdict(),
        "summary": r.counts(),
        "findings": [finding_data(f) for f in r.findings],
        "snapshot": r.snapshot.to_dict(),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False)
