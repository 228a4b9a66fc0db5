"""The fleet view as JSON, Markdown, a self-contained HTML page (inline SVG charts), or a terminal table.

Finding titles are the reports' own (Messages where a report carries ``messages``), worded here in the
reader's language; nothing is judged again to show them.
"""

from __future__ import annotations

import html
from typing import Any, Dict, List, Optional

from ..i18n import Gettext, N_, english, text_in
from ..render.report import SEVERITY, VERDICT_WORDS, recorded_title
from .aggregate import FACT_LABELS, MIN_GROUP, NONE, UNKNOWN, Fleet, Z_LIMIT

FLEET_SCHEMA_VERSION = 1


def _pct(n: int, total: int) -> str:
    return f"{100.0 * n / total:.0f}%" if total else "-"


def fleet_data(fleet: Fleet) -> Dict[str, Any]:
    """Everything, unabridged: the `fleet --json` object."""
    doctor = fleet.doctor_nodes
    return {
        "schema_version": FLEET_SCHEMA_VERSION,
        "counts": {"nodes": len(fleet.nodes), "doctor_reports": len(doctor),
                   "smoke_reports": sum(1 for n in fleet.nodes if n.has_smoke),
                   "nodes_with_smoke": sum(1 for n in fleet.nodes if n.gpu_rates or n.has_smoke),
                   "skipped": len(fleet.skipped), "duplicates": fleet.duplicates},
        "verdicts": fleet.verdicts(),
        "policy": fleet.policy(),
        "distributions": {d.fact: {"label": d.label, "majority": d.majority,
                                   "values": [{"value": v, "nodes": c} for v, c in d.values]}
                          for d in fleet.distributions},
        "differing": [{"node": name, "differences": [{"fact": d.fact, "value": d.value, "majority": d.majority}
                                                     for d in diffs]} for name, diffs in fleet.differing],
        "outliers": [{"node": r.node, "gpu": r.gpu, "model": r.model, "dtype": r.dtype,
                      "tflops": round(r.tflops, 2), "z": round(r.z, 2) if r.z is not None else None}
                     for r in fleet.outliers],
        "smoke_groups": [{"model": g.model, "dtype": g.dtype, "gpus": g.gpus, "median": round(g.median, 2),
                          "mad": round(g.mad, 2), "min": round(g.low, 2), "max": round(g.high, 2)}
                         for g in fleet.groups],
        "outlier_rule": {"z_limit": Z_LIMIT, "min_group": MIN_GROUP,
                         "z": "0.6745 * (x - median) / MAD within one GPU model and dtype"},
        "findings": [{"code": s.code, "severity": s.severity, "nodes": len(s.nodes), "title": s.title,
                      "node_names": s.nodes} for s in fleet.findings],
        "nodes": [{"name": n.name, "verdict": n.verdict, "facts": n.facts, "policy_ok": n.policy_ok,
                   "unmet": n.unmet, "findings": sorted(n.findings), "sources": n.sources,
                   "smoke": [{"gpu": r.gpu, "model": r.model, "dtype": r.dtype, "tflops": round(r.tflops, 2)}
                             for r in n.gpu_rates],
                   "smoke_error": n.smoke_error} for n in fleet.nodes],
        "skipped": [{"source": s.source, "reason": s.reason} for s in fleet.skipped],
    }


#: fact values that are words, not data: said in the reader's language (JSON keeps "none" / "unknown")
_VALUE_WORDS = {NONE: N_("none"), UNKNOWN: N_("unknown")}


def _value(value: Any, _: Gettext = english) -> str:
    text = str(value)
    return _(_VALUE_WORDS[text]) if text in _VALUE_WORDS else text


def _severity(severity: str, _: Gettext = english, upper: bool = False) -> str:
    return _(SEVERITY[severity][1 if upper else 0]) if severity in SEVERITY else severity


def _summary_line(fleet: Fleet, _: Gettext = english) -> str:
    doctor = fleet.doctor_nodes
    v = fleet.verdicts()
    parts = [_("{count} node(s)").format(count=len(fleet.nodes)),
             _("{count} doctor report(s)").format(count=len(doctor)),
             _("smoke results from {count} node(s)").format(
                 count=sum(1 for n in fleet.nodes if n.gpu_rates or n.has_smoke))]
    if doctor:
        parts.append(_(", ").join(f"{_(VERDICT_WORDS.get(k, _VALUE_WORDS.get(k, k)))} {c}" for k, c in v.items()))
    p = fleet.policy()
    if p["met"] or p["not_met"]:
        parts.append(_("policy met on {met}, not met on {not_met}").format(met=p["met"], not_met=p["not_met"]))
    if fleet.skipped:
        parts.append(_("{count} unreadable skipped").format(count=len(fleet.skipped)))
    if fleet.duplicates:
        parts.append(_("{count} duplicate(s) (newest kept)").format(count=fleet.duplicates))
    return _("; ").join(parts)


def _more(n: int, limit: int, _: Gettext = english) -> Optional[str]:
    return _("... and {count} more (see --json)").format(count=n - limit) if n > limit else None


def _differs(d, _: Gettext = english, show=str) -> str:
    """"NVIDIA driver 535.54.03 (majority 580.159.04)"; ``show`` escapes the values for Markdown."""
    return (f"{show(_(FACT_LABELS[d.fact]))} {show(_value(d.value, _))}"
            + _(" (majority {majority})").format(majority=show(_value(d.majority, _))))


# --------------------------------------------------------------------------- Markdown


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_head(*cells: str) -> str:
    return "| " + " | ".join(_md(c) for c in cells) + " |"


def render_markdown(fleet: Fleet, limit: int = 20, _: Gettext = english) -> str:
    total = len(fleet.doctor_nodes)
    out = ["## envcheck fleet", "", _summary_line(fleet, _), ""]
    for d in fleet.distributions:
        out += [f"### {_(d.label)}", "", _md_head(_("value"), _("nodes"), _("share")), "|---|---:|---:|"]
        out += [f"| {'**' + _md(_value(v, _)) + '**' if v == d.majority else _md(_value(v, _))} | {c} | "
                f"{_pct(c, total)} |" for v, c in d.values[:limit]]
        if _more(len(d.values), limit):
            out.append(f"| {_more(len(d.values), limit, _)} | | |")
        out.append("")
    out += ["### " + _("Nodes that differ from the majority"), ""]
    if fleet.differing:
        out += [_md_head(_("node"), _("differs in")), "|---|---|"]
        for name, diffs in fleet.differing[:limit]:
            out.append(f"| {_md(name)} | " + _("; ").join(_differs(d, _, _md) for d in diffs) + " |")
        if _more(len(fleet.differing), limit):
            out.append(f"| {_more(len(fleet.differing), limit, _)} | |")
    else:
        out.append(_("None: every node matches the majority."))
    out += ["", "### " + _("Smoke outliers"), ""]
    if fleet.outliers:
        out += [_md_head(_("node"), "GPU", _("model"), "dtype", "TFLOP/s", _("robust z")),
                "|---|---:|---|---|---:|---:|"]
        out += [f"| {_md(r.node)} | {r.gpu} | {_md(r.model)} | {r.dtype} | {r.tflops:.1f} | {r.z:+.1f} |"
                for r in fleet.outliers[:limit]]
    else:
        out.append(_("None.") if fleet.groups else _("No smoke results in these reports."))
    out += ["", "### " + _("Findings by number of nodes"), ""]
    if fleet.findings:
        out += [_md_head(_("code"), _("severity"), _("nodes"), _("example")), "|---|---|---:|---|"]
        out += [f"| `{s.code}` | {_md(_severity(s.severity, _))} | {len(s.nodes)} | "
                f"{_md(recorded_title(s.title, _))} |"
                for s in fleet.findings[:limit]]
    else:
        out.append(_("None."))
    if fleet.skipped:
        out += ["", "### " + _("Skipped ({count})").format(count=len(fleet.skipped)), ""]
        out += [f"- `{_md(s.source)}`: {_md(text_in(s.reason, _))}" for s in fleet.skipped[:limit]]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;
padding:0 1rem}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d8dde6}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #d8dde6;padding:.25rem .6rem;
text-align:left;vertical-align:top}th{background:#f2f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.chart{flex:1 1 480px}.error{color:#b3261e}.warning{color:#8a5a00}
.info{color:#245c9e}.muted{color:#667085}code{background:#f2f4f8;padding:0 .25rem;border-radius:3px}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def html_lang(_: Gettext = english) -> str:
    """The page's ``lang`` attribute: the language of the catalogue behind ``_`` ("zh-CN"), else "en"."""
    catalogue = getattr(_, "__self__", None)
    info = catalogue.info() if catalogue is not None and hasattr(catalogue, "info") else {}
    return str(info.get("language") or "en").replace("_", "-")


_SEVERITY_COLOR = {"error": "#c62828", "warning": "#d08a00", "info": "#5b8bd0"}


def svg_bars(values: List[tuple], majority: Optional[str], width: int = 520, rows: int = 12,
             colors: Optional[Dict[str, str]] = None, _: Gettext = english) -> str:
    """A horizontal bar chart as inline SVG: one bar per value (the top ``rows``, the rest as "other")."""
    shown = [(value, _value(value, _), count) for value, count in values[:rows]]
    rest = sum(c for _v, c in values[rows:])
    if rest:
        other = _("other ({count} values)").format(count=len(values) - rows)
        shown.append((other, other, rest))
    if not shown:
        return '<p class="muted">' + _e(_("no data")) + "</p>"
    top = max(c for _v, _l, c in shown) or 1
    label_w, count_w, row_h = 210, 60, 22
    bar_w = width - label_w - count_w
    height = row_h * len(shown) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for i, (value, full, count) in enumerate(shown):
        y = i * row_h + 2
        w = max(1.0, bar_w * count / top)
        label = full
        if len(label) > 30:
            label = label[:29] + "…"
        color = (colors or {}).get(value) or ("#2f6fde" if value == majority else "#9aa8c0")
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f'<title>{_e(full)}</title>{_e(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}" rx="2"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: List[str], rows: List[List[str]], numeric: tuple = ()) -> str:
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{c}</td>'
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def render_html(fleet: Fleet, limit: int = 200, title: str = "envcheck fleet", _: Gettext = english) -> str:
    """One self-contained page: no scripts, no external assets."""
    total = len(fleet.doctor_nodes)
    body = [f"<h1>{_e(title)}</h1>", f"<p>{_e(_summary_line(fleet, _))}</p>", f"<h2>{_e(_('Distributions'))}</h2>",
            '<div class="charts">']
    for d in fleet.distributions:
        maj = ""
        if d.values:
            maj = ' <span class="muted">' + _e(_("majority: {value} ({share})").format(
                value=_value(d.majority, _), share=_pct(d.values[0][1], total))) + "</span>"
        body.append(f'<div class="chart"><h3>{_e(_(d.label))}{maj}</h3>{svg_bars(d.values, d.majority, _=_)}</div>')
    body.append("</div>")

    count = len(fleet.differing)
    body.append(f"<h2>{_e(_('Nodes that differ from the majority ({count})').format(count=count))}</h2>")
    if fleet.differing:
        def differs(d) -> str:
            majority = _(" (majority {majority})").format(majority=_e(_value(d.majority, _)))
            space = " " if majority.startswith(" ") else ""
            return (f"{_e(_(FACT_LABELS[d.fact]))} <b>{_e(_value(d.value, _))}</b>"
                    f'{space}<span class="muted">{majority.lstrip()}</span>')

        rows = [[_e(name), _e(_("; ")).join(differs(d) for d in diffs)] for name, diffs in fleet.differing[:limit]]
        body.append(_table([_("node"), _("differs in")], rows))
        if _more(len(fleet.differing), limit):
            body.append(f'<p class="muted">{_e(_more(len(fleet.differing), limit, _))}</p>')
    else:
        body.append(f"<p>{_e(_('None: every node matches the majority.'))}</p>")

    body.append(f"<h2>{_e(_('Smoke outliers ({count})').format(count=len(fleet.outliers)))}</h2>")
    body.append('<p class="muted">' + _e(_("Robust z-score within each GPU model and dtype: 0.6745·(x − median)/MAD; "
                                           "|z| > {limit} is an outlier (groups of at least {min_group} GPUs).").format(
        limit=Z_LIMIT, min_group=MIN_GROUP)) + "</p>")
    if fleet.outliers:
        rows = [[_e(r.node), str(r.gpu), _e(r.model), _e(r.dtype), f"{r.tflops:.1f}", f"{r.z:+.1f}"]
                for r in fleet.outliers[:limit]]
        body.append(_table([_("node"), "GPU", _("model"), "dtype", "TFLOP/s", _("robust z")], rows,
                           numeric=(1, 4, 5)))
    if fleet.groups:
        rows = [[_e(g.model), _e(g.dtype), str(g.gpus), f"{g.median:.1f}", f"{g.mad:.1f}", f"{g.low:.1f}",
                 f"{g.high:.1f}"] for g in fleet.groups]
        body.append(_table([_("model"), "dtype", _("GPUs"), _("median"), "MAD", _("min"), _("max")], rows,
                           numeric=(2, 3, 4, 5, 6)))
    else:
        body.append(f"<p>{_e(_('No smoke results in these reports.'))}</p>")

    body.append(f"<h2>{_e(_('Findings by number of nodes ({count})').format(count=len(fleet.findings)))}</h2>")
    if fleet.findings:
        values = [(s.code, len(s.nodes)) for s in fleet.findings]
        body.append(svg_bars(values, None, width=640, rows=15,
                             colors={s.code: _SEVERITY_COLOR.get(s.severity, "#9aa8c0") for s in fleet.findings},
                             _=_))
        rows = [[f"<code>{_e(s.code)}</code>", f'<span class="{_e(s.severity)}">{_e(_severity(s.severity, _))}</span>',
                 str(len(s.nodes)), _pct(len(s.nodes), len(fleet.nodes)),
                 _e(recorded_title(s.title, _)),
                 _e(", ".join(s.nodes[:8]) + (f" … (+{len(s.nodes) - 8})" if len(s.nodes) > 8 else ""))]
                for s in fleet.findings[:limit]]
        body.append(_table([_("code"), _("severity"), _("nodes"), _("share"), _("example"), _("on")], rows,
                           numeric=(2, 3)))
    else:
        body.append(f"<p>{_e(_('None.'))}</p>")
    if fleet.skipped:
        body.append(f"<h2>{_e(_('Skipped ({count})').format(count=len(fleet.skipped)))}</h2>")
        body.append(_table([_("source"), _("reason")], [[_e(s.source), _e(text_in(s.reason, _))] for s in fleet.skipped[:limit]]))
    return (f"<!DOCTYPE html>\n<html lang=\"{_e(html_lang(_))}\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


# --------------------------------------------------------------------------- terminal


def render_terminal(fleet: Fleet, console, limit: int = 20, _: Gettext = english) -> None:
    from rich.table import Table
    from rich.text import Text

    total = len(fleet.doctor_nodes)
    console.print(Text.assemble(("envcheck fleet: ", "bold"), _summary_line(fleet, _)))
    table = Table(_("fact"), _("majority"), _("nodes"), _("other values"), title=_("Distributions"),
                  title_justify="left", title_style="bold")
    for d in fleet.distributions:
        if not d.values:
            continue
        others = _(", ").join(f"{_value(v, _)} ×{c}" for v, c in d.values[1:6])
        if len(d.values) > 6:
            others += _(", … ({count} more)").format(count=len(d.values) - 6)
        table.add_row(Text(_(d.label)), Text(_value(d.majority, _), style="bold"),
                      f"{d.values[0][1]} ({_pct(d.values[0][1], total)})", Text(others or "-", style="yellow"
                                                                                  if others else "dim"))
    if total:
        console.print(table)
    if fleet.differing:
        table = Table(_("node"), _("differs in"),
                      title=_("Nodes that differ from the majority ({count})").format(count=len(fleet.differing)),
                      title_justify="left", title_style="bold")
        for name, diffs in fleet.differing[:limit]:
            table.add_row(Text(name), Text(_("; ").join(_differs(x, _) for x in diffs)))
        if _more(len(fleet.differing), limit):
            table.add_row(Text(_more(len(fleet.differing), limit, _), style="dim"), "")
        console.print(table)
    elif total:
        console.print(Text(_("Every node matches the majority."), style="green"))
    if fleet.outliers:
        table = Table(_("node"), "GPU", _("model"), "dtype", "TFLOP/s", _("robust z"),
                      title=_("Smoke outliers, |z| > {limit} within a model ({count})").format(
                          limit=Z_LIMIT, count=len(fleet.outliers)),
                      title_justify="left", title_style="bold")
        for r in fleet.outliers[:limit]:
            table.add_row(Text(r.node), str(r.gpu), Text(r.model), r.dtype, f"{r.tflops:.1f}", f"{r.z:+.1f}")
        console.print(table)
    elif fleet.groups:
        console.print(Text(_("No smoke outliers."), style="green"))
    if fleet.findings:
        styles = {"error": "bold red", "warning": "yellow", "info": "cyan"}
        table = Table(_("code"), _("severity"), _("nodes"), _("example"), title=_("Findings by number of nodes"),
                      title_justify="left", title_style="bold")
        for s in fleet.findings[:limit]:
            table.add_row(Text(s.code), Text(_severity(s.severity, _), style=styles.get(s.severity, "")),
                          str(len(s.nodes)), Text(recorded_title(s.title, _)))
        console.print(table)
