"""The terminal report: verdict, findings with their fixes, then the facts by section.

rich decides about colour: none when the output is not a terminal or NO_COLOR is set. Widths are
display cells (rich.cells), so Chinese text (two cells a character) stays aligned and wraps at
the right column.
"""

from __future__ import annotations

import re
import textwrap
from typing import List, Optional

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..findings import Severity, fix_step, split_comment
from ..i18n import Gettext, english, text_in
from .facts import sections
from .report import COUNTS, SEVERITY, PolicyOutcome, Report, redacted, verdict_words

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_MARK = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}
_VERDICT_STYLE = {"ok": "bold green", "degraded": "bold yellow", "broken": "bold red"}
#: the width of the severity label column, in cells ("WARNING")
_LABEL_CELLS = 7


def render_terminal(report: Report, console: Console, show_facts: bool = True,
                    title: str = "envcheck doctor", _: Gettext = english,
                    policy: Optional[PolicyOutcome] = None) -> None:
    """The report on ``console`` (the CLI's one factory, :func:`envcheck.cli.common.stdout_console`, makes it).

    The first line is the whole verdict (with ``policy``'s outcome when a policy was applied); it is never
    wrapped when the output is not a terminal, so a log or a file holds it on one line."""
    r = redacted(report)
    console.print(verdict_line(r, title, _, policy), soft_wrap=not console.is_terminal)
    console.print()
    for f in r.findings:
        label = _(SEVERITY[f.severity.value][1])
        label += " " * max(0, _LABEL_CELLS - cell_len(label))
        mark = Text.assemble((f"{_MARK[f.severity]} {label} ", _STYLE[f.severity]),
                             (f"[{f.code}] ", "dim"), (text_in(f.title, _), "bold"))
        console.print(mark)
        width = max(40, console.width - 4)
        if f.detail:
            console.print(Text(_fill(text_in(f.detail, _), width, "    ")), soft_wrap=True)
        for step in f.fix:
            kind = fix_step(step).kind
            shown = text_in(step, _)
            if kind == "command":  # copyable as it is: never wrapped, its comment dim after it on the same line
                command, comment = split_comment(shown)
                line = Text.assemble(("      $ ", "green"), command)
                if comment:
                    line.append("   # " + comment, style="dim")
                console.print(line, soft_wrap=True)
            elif kind == "note":
                console.print(Text(_fill(shown, width, "        "), style="dim"), soft_wrap=True)
            else:  # prose: wrapped under its own first word (a hanging indent)
                console.print(Text.assemble(("      → ", "green"), _fill(shown, width, "        ")[8:]),
                              soft_wrap=True)
        console.print()
    if not r.findings:
        console.print(Text(_("No problems found."), style="green"))
        console.print()
    if show_facts:
        for name, rows in sections(r.snapshot, _):
            table = Table(title=name, title_justify="left", title_style="bold", show_header=False,
                          box=None, padding=(0, 1), expand=False, min_width=cell_len(name))  # title on one line
            table.add_column(style="dim", no_wrap=True)
            table.add_column(overflow="fold")
            for label, value in rows:
                table.add_row(Text(label), Text(value))
            console.print(table)
            console.print()


def verdict_line(report: Report, title: str = "envcheck doctor", _: Gettext = english,
                 policy: Optional[PolicyOutcome] = None) -> Text:
    """The first line, the whole verdict (``doctor -q`` prints only this): verdict, counts, seconds."""
    counts = report.counts()
    verdict = report.verdict()
    style = _VERDICT_STYLE[verdict]
    if policy is not None and not policy.ok:
        style = "bold red"
    head = Text.assemble((f"{title}: ", "bold"), (verdict_words(verdict, policy, _), style),
                         "  (" + _(COUNTS).format(**counts) + ")")
    if report.snapshot.meta.duration_s is not None:
        head.append(_("  in {seconds} s").format(seconds=f"{report.snapshot.meta.duration_s:.2f}"), style="dim")
    return head


#: one wide (CJK) character, a run of spaces, or a run of anything else (a word, a path, a command)
_TOKENS = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]|\s+|"
                     r"[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+")
#: punctuation that must not begin a line
_NO_BREAK_BEFORE = set("，。、；：？！）》」』”’,.;:?!)]")


def _fill(text: str, width: int, indent: str) -> str:
    """Wrap ``text`` to ``width`` cells with every line indented.

    Narrow (ASCII) text wraps as textwrap always did; text with wide characters may break between any
    two of them, never inside a word, path or command, and never before closing punctuation.
    """
    if cell_len(text) == len(text):
        return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent,
                             break_on_hyphens=False, break_long_words=False)
    lines: List[str] = []
    line = indent
    for token in _TOKENS.findall(" ".join(text.split())):
        if token.isspace():
            if line.strip():
                line += " "
            continue
        if line.strip() and cell_len(line + token) > width and token[0] not in _NO_BREAK_BEFORE:
            lines.append(line.rstrip())
            line = indent
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)
