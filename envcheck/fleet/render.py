"""The fleet view as JSON, Markdown, a self-contained HTML page (inline SVG charts), or a terminal table."""

from __future__ import annotations

import html
from typing import Any, Dict, List, Optional

from .aggregate import FACT_LABELS, MIN_GROUP, Z_LIMIT, Fleet

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


def _summary_line(fleet: Fleet) -> str:
    doctor = fleet.doctor_nodes
    v = fleet.verdicts()
    parts = [f"{len(fleet.nodes)} node(s)", f"{len(doctor)} doctor report(s)",
             f"smoke results from {sum(1 for n in fleet.nodes if n.gpu_rates or n.has_smoke)} node(s)"]
    if doctor:
        parts.append(", ".join(f"{k} {c}" for k, c in v.items()))
    p = fleet.policy()
    if p["met"] or p["not_met"]:
        parts.append(f"policy met on {p['met']}, not met on {p['not_met']}")
    if fleet.skipped:
        parts.append(f"{len(fleet.skipped)} unreadable skipped")
    if fleet.duplicates:
        parts.append(f"{fleet.duplicates} duplicate(s) (newest kept)")
    return "; ".join(parts)


def _more(n: int, limit: int) -> Optional[str]:
    return f"... and {n - limit} more (see --json)" if n > limit else None


# --------------------------------------------------------------------------- Markdown


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(fleet: Fleet, limit: int = 20) -> str:
    total = len(fleet.doctor_nodes)
    out = ["## envcheck fleet", "", _summary_line(fleet), ""]
    for d in fleet.distributions:
        out += [f"### {d.label}", "", "| value | nodes | share |", "|---|---:|---:|"]
        out += [f"| {'**' + _md(v) + '**' if v == d.majority else _md(v)} | {c} | {_pct(c, total)} |"
                for v, c in d.values[:limit]]
        if _more(len(d.values), limit):
            out.append(f"| {_more(len(d.values), limit)} | | |")
        out.append("")
    out += ["### Nodes that differ from the majority", ""]
    if fleet.differing:
        out += ["| node | differs in |", "|---|---|"]
        for name, diffs in fleet.differing[:limit]:
            out.append(f"| {_md(name)} | " + "; ".join(f"{FACT_LABELS[d.fact]} {_md(d.value)} (majority "
                                                        f"{_md(d.majority)})" for d in diffs) + " |")
        if _more(len(fleet.differing), limit):
            out.append(f"| {_more(len(fleet.differing), limit)} | |")
    else:
        out.append("None: every node matches the majority.")
    out += ["", "### Smoke outliers", ""]
    if fleet.outliers:
        out += ["| node | GPU | model | dtype | TFLOP/s | robust z |", "|---|---:|---|---|---:|---:|"]
        out += [f"| {_md(r.node)} | {r.gpu} | {_md(r.model)} | {r.dtype} | {r.tflops:.1f} | {r.z:+.1f} |"
                for r in fleet.outliers[:limit]]
    else:
        out.append("None." if fleet.groups else "No smoke results in these reports.")
    out += ["", "### Findings by number of nodes", ""]
    if fleet.findings:
        out += ["| code | severity | nodes | example |", "|---|---|---:|---|"]
        out += [f"| `{s.code}` | {s.severity} | {len(s.nodes)} | {_md(s.title)} |" for s in fleet.findings[:limit]]
    else:
        out.append("None.")
    if fleet.skipped:
        out += ["", f"### Skipped ({len(fleet.skipped)})", ""]
        out += [f"- `{_md(s.source)}`: {_md(s.reason)}" for s in fleet.skipped[:limit]]
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


_SEVERITY_COLOR = {"error": "#c62828", "warning": "#d08a00", "info": "#5b8bd0"}


def svg_bars(values: List[tuple], majority: Optional[str], width: int = 520, rows: int = 12,
             colors: Optional[Dict[str, str]] = None) -> str:
    """A horizontal bar chart as inline SVG: one bar per value (the top ``rows``, the rest as "other")."""
    shown = list(values[:rows])
    rest = sum(c for _, c in values[rows:])
    if rest:
        shown.append((f"other ({len(values) - rows} values)", rest))
    if not shown:
        return '<p class="muted">no data</p>'
    top = max(c for _, c in shown) or 1
    label_w, count_w, row_h = 210, 60, 22
    bar_w = width - label_w - count_w
    height = row_h * len(shown) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for i, (value, count) in enumerate(shown):
        y = i * row_h + 2
        w = max(1.0, bar_w * count / top)
        label = str(value)
        if len(label) > 30:
            label = label[:29] + "…"
        color = (colors or {}).get(value) or ("#2f6fde" if value == majority else "#9aa8c0")
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f'<title>{_e(value)}</title>{_e(label)}</text>')
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


def render_html(fleet: Fleet, limit: int = 200, title: str = "envcheck fleet") -> str:
    """One self-contained page: no scripts, no external assets."""
    total = len(fleet.doctor_nodes)
    body = [f"<h1>{_e(title)}</h1>", f"<p>{_e(_summary_line(fleet))}</p>", "<h2>Distributions</h2>",
            '<div class="charts">']
    for d in fleet.distributions:
        maj = f' <span class="muted">majority: {_e(d.majority)} ({_pct(d.values[0][1], total)})</span>' if d.values else ""
        body.append(f'<div class="chart"><h3>{_e(d.label)}{maj}</h3>{svg_bars(d.values, d.majority)}</div>')
    body.append("</div>")

    body.append(f"<h2>Nodes that differ from the majority ({len(fleet.differing)})</h2>")
    if fleet.differing:
        rows = [[_e(name), "; ".join(f"{_e(FACT_LABELS[d.fact])} <b>{_e(d.value)}</b> "
                                     f'<span class="muted">(majority {_e(d.majority)})</span>' for d in diffs)]
                for name, diffs in fleet.differing[:limit]]
        body.append(_table(["node", "differs in"], rows))
        if _more(len(fleet.differing), limit):
            body.append(f'<p class="muted">{_e(_more(len(fleet.differing), limit))}</p>')
    else:
        body.append("<p>None: every node matches the majority.</p>")

    body.append(f"<h2>Smoke outliers ({len(fleet.outliers)})</h2>")
    body.append(f'<p class="muted">Robust z-score within each GPU model and dtype: 0.6745·(x − median)/MAD; '
                f'|z| &gt; {Z_LIMIT} is an outlier (groups of at least {MIN_GROUP} GPUs).</p>')
    if fleet.outliers:
        rows = [[_e(r.node), str(r.gpu), _e(r.model), _e(r.dtype), f"{r.tflops:.1f}", f"{r.z:+.1f}"]
                for r in fleet.outliers[:limit]]
        body.append(_table(["node", "GPU", "model", "dtype", "TFLOP/s", "robust z"], rows, numeric=(1, 4, 5)))
    if fleet.groups:
        rows = [[_e(g.model), _e(g.dtype), str(g.gpus), f"{g.median:.1f}", f"{g.mad:.1f}", f"{g.low:.1f}",
                 f"{g.high:.1f}"] for g in fleet.groups]
        body.append(_table(["model", "dtype", "GPUs", "median", "MAD", "min", "max"], rows, numeric=(2, 3, 4, 5, 6)))
    else:
        body.append("<p>No smoke results in these reports.</p>")

    body.append(f"<h2>Findings by number of nodes ({len(fleet.findings)})</h2>")
    if fleet.findings:
        values = [(s.code, len(s.nodes)) for s in fleet.findings]
        body.append(svg_bars(values, None, width=640, rows=15,
                             colors={s.code: _SEVERITY_COLOR.get(s.severity, "#9aa8c0") for s in fleet.findings}))
        rows = [[f"<code>{_e(s.code)}</code>", f'<span class="{_e(s.severity)}">{_e(s.severity)}</span>',
                 str(len(s.nodes)), _pct(len(s.nodes), len(fleet.nodes)), _e(s.title),
                 _e(", ".join(s.nodes[:8]) + (f" … (+{len(s.nodes) - 8})" if len(s.nodes) > 8 else ""))]
                for s in fleet.findings[:limit]]
        body.append(_table(["code", "severity", "nodes", "share", "example", "on"], rows, numeric=(2, 3)))
    else:
        body.append("<p>None.</p>")
    if fleet.skipped:
        body.append(f"<h2>Skipped ({len(fleet.skipped)})</h2>")
        body.append(_table(["source", "reason"], [[_e(s.source), _e(s.reason)] for s in fleet.skipped[:limit]]))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


# --------------------------------------------------------------------------- terminal


def render_terminal(fleet: Fleet, console, limit: int = 20) -> None:
    from rich.table import Table
    from rich.text import Text

    total = len(fleet.doctor_nodes)
    console.print(Text.assemble(("envcheck fleet: ", "bold"), _summary_line(fleet)))
    table = Table("fact", "majority", "nodes", "other values", title="Distributions", title_justify="left",
                  title_style="bold")
    for d in fleet.distributions:
        if not d.values:
            continue
        others = ", ".join(f"{v} ×{c}" for v, c in d.values[1:6]) + (f", … ({len(d.values) - 6} more)"
                                                                      if len(d.values) > 6 else "")
        table.add_row(Text(d.label), Text(str(d.majority), style="bold"),
                      f"{d.values[0][1]} ({_pct(d.values[0][1], total)})", Text(others or "-", style="yellow"
                                                                                  if others else "dim"))
    if total:
        console.print(table)
    if fleet.differing:
        table = Table("node", "differs in", title=f"Nodes that differ from the majority ({len(fleet.differing)})",
                      title_justify="left", title_style="bold")
        for name, diffs in fleet.differing[:limit]:
            table.add_row(Text(name), Text("; ".join(f"{FACT_LABELS[x.fact]} {x.value} (majority {x.majority})"
                                                     for x in diffs)))
        if _more(len(fleet.differing), limit):
            table.add_row(Text(_more(len(fleet.differing), limit), style="dim"), "")
        console.print(table)
    elif total:
        console.print(Text("Every node matches the majority.", style="green"))
    if fleet.outliers:
        table = Table("node", "GPU", "model", "dtype", "TFLOP/s", "robust z",
                      title=f"Smoke outliers, |z| > {Z_LIMIT} within a model ({len(fleet.outliers)})",
                      title_justify="left", title_style="bold")
        for r in fleet.outliers[:limit]:
            table.add_row(Text(r.node), str(r.gpu), Text(r.model), r.dtype, f"{r.tflops:.1f}", f"{r.z:+.1f}")
        console.print(table)
    elif fleet.groups:
        console.print(Text("No smoke outliers.", style="green"))
    if fleet.findings:
        styles = {"error": "bold red", "warning": "yellow", "info": "cyan"}
        table = Table("code", "severity", "nodes", "example", title="Findings by number of nodes",
                      title_justify="left", title_style="bold")
        for s in fleet.findings[:limit]:
            table.add_row(Text(s.code), Text(s.severity, style=styles.get(s.severity, "")), str(len(s.nodes)),
                          Text(s.title))
        console.print(table)
