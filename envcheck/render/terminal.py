"""The terminal report: verdict, findings with their fixes, then the facts by section.

rich decides about colour: none when the output is not a terminal or NO_COLOR is set.
"""

from __future__ import annotations

import textwrap
from typing import Optional

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..findings import Severity
from .facts import sections
from .report import Report, redacted

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_MARK = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}
_VERDICT = {"ok": ("bold green", "sound"), "degraded": ("bold yellow", "works, with warnings"),
            "broken": ("bold red", "broken")}


def render_terminal(report: Report, console: Optional[Console] = None, show_facts: bool = True,
                    title: str = "envcheck doctor") -> None:
    console = console or Console()
    r = redacted(report)
    counts = r.counts()
    style, word = _VERDICT[r.verdict()]
    head = Text.assemble((f"{title}: ", "bold"), (word, style),
                         f"  ({counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info)")
    if r.snapshot.meta.duration_s is not None:
        head.append(f"  in {r.snapshot.meta.duration_s:.2f} s", style="dim")
    console.print(head)
    console.print()
    for f in r.findings:
        mark = Text.assemble((f"{_MARK[f.severity]} {f.severity.value.upper():7} ", _STYLE[f.severity]),
                             (f"[{f.code}] ", "dim"), (f.title, "bold"))
        console.print(mark)
        width = max(40, console.width - 4)
        if f.detail:
            console.print(Text(textwrap.fill(f.detail, width, initial_indent="    ", subsequent_indent="    ",
                                             break_on_hyphens=False, break_long_words=False)), soft_wrap=True)
        for step in f.fix:
            command = _looks_like_command(step)
            console.print(Text.assemble(("      $ " if command else "      → ", "green"), step), soft_wrap=command)
        console.print()
    if not r.findings:
        console.print(Text("No problems found.", style="green"))
        console.print()
    if show_facts:
        for name, rows in sections(r.snapshot):
            table = Table(title=name, title_justify="left", title_style="bold", show_header=False,
                          box=None, padding=(0, 1), expand=False)
            table.add_column(style="dim", no_wrap=True)
            table.add_column(overflow="fold")
            for label, value in rows:
                table.add_row(Text(label), Text(value))
            console.print(table)
            console.print()


def _looks_like_command(step: str) -> bool:
    first = step.split(" ", 1)[0]
    return first in {"pip", "sudo", "conda", "export", "unset", "nvidia-smi", "python", "ls", "lsmod", "echo",
                     "env", "uv", "docker", "mamba", "pip3"} or first.startswith(("/", "~", "./"))
