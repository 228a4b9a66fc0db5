"""Markdown for pasting into a GitHub issue: findings first, facts in a collapsible block."""

from __future__ import annotations

from typing import List

from ..i18n import Gettext, english, text_in
from .facts import sections
from ..findings import looks_like_command
from .report import COUNTS, SEVERITY, VERDICT, Report, has_wide_text, redacted

_ICON = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, title: str = "envcheck doctor", _: Gettext = english) -> str:
    r = redacted(report)
    counts = r.counts()
    lines: List[str] = [
        f"### {title}: {_(VERDICT[r.verdict()])}",
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
            for step in f.fix:  # prose steps become shell comments, so the block stays pasteable
                shown = text_in(step, _)
                prose = step.startswith(("(", "or ", "See ")) or (has_wide_text(shown) and not looks_like_command(shown))
                lines.append(f"  # {shown}" if prose else f"  {shown}")
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
