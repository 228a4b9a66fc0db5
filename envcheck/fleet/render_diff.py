"""`envcheck diff` as Markdown or a terminal view, in the reader's language (`diff --json` is :func:`.diff.diff_data`).

Finding titles are the reports' own (Messages where a report carries ``messages``), worded here; nothing is
judged again to show them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..i18n import Gettext, N_, english
from ..render.report import SEVERITY, VERDICT_WORDS, recorded_title
from .diff import DiffResult, diff_data, finding_brief

#: the sections as shown (JSON keeps the names of :data:`.diff.SECTIONS`)
SECTION_LABELS = {"driver": N_("driver"), "gpus": N_("gpus"), "torch build": N_("torch build"), "cudnn": N_("cudnn"),
                  "loaded libraries": N_("loaded libraries"), "toolkits": N_("toolkits"), "packages": N_("packages"),
                  "env": N_("env"), "other": N_("other")}


def _show(v: Any, kind: str = "value", _: Gettext = english) -> str:
    if v is None:
        return _("absent") if kind == "item" else _("unknown")
    if v == "":
        return _("(none)")
    if isinstance(v, bool):
        return _("yes") if v else _("no")
    return str(v)


def _section(name: str, _: Gettext = english) -> str:
    return _(SECTION_LABELS[name]) if name in SECTION_LABELS else name


def _verdict(verdict: Optional[str], _: Gettext = english, missing: str = "unknown") -> str:
    if verdict is None:
        return _("unknown") if missing == "unknown" else missing
    return _(VERDICT_WORDS[verdict]) if verdict in VERDICT_WORDS else verdict


def _severity(severity: Optional[str], _: Gettext = english, upper: bool = False) -> str:
    if severity in SEVERITY:
        return _(SEVERITY[severity][1 if upper else 0])
    return (severity or "").upper() if upper else (severity or "")


def _findings(result: DiffResult) -> Dict[str, List[Dict[str, Any]]]:
    """The findings only one side has, as in ``diff --json`` but with their titles still Messages."""
    return {"only_a": [finding_brief(f) for f in result.only_a], "only_b": [finding_brief(f) for f in result.only_b]}


def render_markdown(result: DiffResult, _: Gettext = english) -> str:
    data = diff_data(result)

    def cell(v: Any, kind: str = "value") -> str:
        return _show(v, kind, _).replace("|", "\\|").replace("\n", " ")

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    a, b = data["a"]["label"], data["b"]["label"]
    out = ["## envcheck diff: " + _("A = {a}, B = {b}").format(a=cell(a), b=cell(b)), ""]
    if result.same:
        return "\n".join(out + [_("No differences in facts or findings."), ""])
    out += [_("Verdict: A {a}, B {b}").format(a=esc(_verdict(data["a"]["verdict"], _)),
                                              b=esc(_verdict(data["b"]["verdict"], _))), ""]
    if data["facts"]:
        out += [f"| {_('section')} | {_('fact')} | A | B |", "|---|---|---|---|"]
        out += [f"| {esc(_section(d['section'], _))} | `{d['key']}` | {cell(d['a'], d['kind'])} | "
                f"{cell(d['b'], d['kind'])} |" for d in data["facts"]]
        out.append("")
    found = _findings(result)
    for side, key in (("A", "only_a"), ("B", "only_b")):
        if found[key]:
            out.append(_("Findings only in {side}:").format(side=side))
            out += [f"- **{esc(_severity(f['severity'], _))}** `{f['code']}`: "
                    f"{esc(recorded_title(f['title'], _)) if f['title'] else cell(f['title'])}"
                    for f in found[key]]
            out.append("")
    return "\n".join(out)


def render_terminal(result: DiffResult, console, _: Gettext = english) -> None:
    from rich.table import Table
    from rich.text import Text

    data = diff_data(result)
    a, b = data["a"], data["b"]
    heading = _("A = {a} ({verdict_a}), B = {b} ({verdict_b})").format(
        a=a["label"], verdict_a=_verdict(a["verdict"], _, "?"), b=b["label"], verdict_b=_verdict(b["verdict"], _, "?"))
    console.print(Text.assemble(("envcheck diff: ", "bold"), heading))
    if result.same:
        console.print(Text(_("No differences in facts or findings."), style="green"))
        return
    if data["facts"]:
        table = Table(_("section"), _("fact"), "A", "B",
                      title=_("{count} fact(s) differ, most telling first").format(count=len(data["facts"])),
                      title_justify="left", title_style="bold")
        for d in data["facts"]:
            table.add_row(Text(_section(d["section"], _), style="dim"), Text(d["key"]),
                          Text(_show(d["a"], d["kind"], _)), Text(_show(d["b"], d["kind"], _)))
        console.print(table)
    styles = {"error": "bold red", "warning": "yellow", "info": "cyan"}
    found = _findings(result)
    for side, key in (("A", "only_a"), ("B", "only_b")):
        for f in found[key]:
            console.print(Text.assemble((_("only in {side}: ").format(side=side), "bold"),
                                        (f"{_severity(f['severity'], _, upper=True)} ",
                                         styles.get(f["severity"] or "", "")),
                                        (f"[{f['code']}] ", "dim"),
                                        recorded_title(f["title"], _)))
