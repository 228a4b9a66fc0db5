"""Markdown for pasting into a GitHub issue: findings first, facts in a collapsible block."""

from __future__ import annotations

from typing import List

from .facts import sections
from .report import Report, redacted

_ICON = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, title: str = "envcheck doctor") -> str:
    r = redacted(report)
    counts = r.counts()
    lines: List[str] = [
        f"### {title}: {r.verdict()}",
        "",
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"
        + (f" — envcheck {r.snapshot.meta.envcheck_version}" if r.snapshot.meta.envcheck_version else ""),
        "",
    ]
    for f in r.findings:
        lines.append(f"- {_ICON[f.severity.value]} **{f.severity.value}** `{f.code}`: {f.title}")
        if f.detail:
            lines.append(f"  {f.detail}")
        if f.fix:
            lines.append("  ```sh")
            lines.extend(f"  {step}" if not step.startswith(("(", "or ", "See ")) else f"  # {step}" for step in f.fix)
            lines.append("  ```")
    if not r.findings:
        lines.append("No problems found.")
    lines += ["", "<details><summary>Facts</summary>", ""]
    for name, rows in sections(r.snapshot):
        lines += [f"**{name}**", "", "| | |", "|---|---|"]
        lines += [f"| {_cell(label)} | {_cell(value)} |" for label, value in rows]
        lines.append("")
    lines += ["</details>", ""]
    return "\n".join(lines)
