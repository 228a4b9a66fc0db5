"""Markdown for pasting into a GitHub issue: findings first, facts in a collapsible block."""

from __future__ import annotations

from typing import List, Optional

from ..findings import fix_step
from ..i18n import Gettext, english, text_in
from .facts import sections
from .report import COUNTS, SEVERITY, PolicyOutcome, Report, redacted, verdict_words

_ICON = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, title: str = "envcheck doctor", _: Gettext = english,
                    policy: Optional[PolicyOutcome] = None) -> str:
    """The report as Markdown; its first line (a heading) is the whole verdict, ``policy``'s outcome included."""
    r = redacted(report)
    counts = r.counts()
    lines: List[str] = [
        f"### {title}: {verdict_words(r.verdict(), policy, _)}",
        "",
        _(COUNTS).format(**counts)
        + (f" — envcheck {r.snapshot.meta.envcheck_version}" if r.snapshot.meta.envcheck_version else ""),
        "",
    ]
    for f in r.findings:
        lines.append(f"- {_ICON[f.severity.value]} **{_(SEVERITY[f.severity.value][0])}** `{f.code}`: "
                     f"{text_in(f.title, _)}")
        if f.detail:
            lines.append(f"  {text_in(f.detail, _)}")
        if f.fix:
            lines.append("  ```sh")
            for step in f.fix:  # steps and notes become shell comments, so the block stays pasteable
                shown = text_in(step, _)
                lines.append(f"  {shown}" if fix_step(step).kind == "command" else f"  # {shown}")
            lines.append("  ```")
    if not r.findings:
        lines.append(_("No problems found."))
    lines += ["", "<details><summary>" + _("Facts") + "</summary>", ""]
    for name, rows in sections(r.snapshot, _):
        lines += [f"**{name}**", "", "| | |", "|---|---|"]
        lines += [f"| {_cell(label)} | {_cell(value)} |" for label, value in rows]
        lines.append("")
    lines += ["</details>", ""]
    return "\n".join(lines)
