"""Output of `envcheck smoke`: a table per GPU, JSON, or Markdown; the host's Messages worded here."""

from __future__ import annotations

import json
import sys
from typing import Callable, List

from ..findings import Finding
from ..inert import inert
from ..i18n import Gettext, english, text_in
from ..render.report import SEVERITY, finding_data
from ..serde import to_data
from .host import SmokeReport


def _f(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def rows(report: SmokeReport, _: Gettext = english) -> List[List[str]]:
    out = []
    for dev in report.devices:
        for r in dev.matmul:
            out.append([f"{dev.index} {dev.name or ''}".strip(), r.dtype, _f(r.tflops), _f(r.peak_tflops),
                        _f(r.ratio, "{:.0%}"), _f(r.max_rel_error, "{:.1e}"),
                        _("error") if r.error else (_("ok") if r.ok else _("WRONG"))])
    return out


def render_smoke(report: SmokeReport, findings: List[Finding], form: str, console_factory: Callable,
                 _: Gettext = english) -> None:
    """JSON (always English, each finding with its ``messages``), Markdown or a rich table in ``_``'s language."""
    if form == "json":
        data = {"schema_version": 1, "smoke": to_data(report), "findings": [finding_data(f) for f in findings]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    head = ["GPU", "dtype", "TFLOP/s", _("peak"), _("of peak"), _("max rel err"), _("result")]
    skipped = text_in(report.skipped, _) if report.skipped else None
    if form == "markdown":
        lines = ["### envcheck smoke", ""]
        if skipped:
            lines.append(_("Skipped: {reason}").format(reason=skipped))
        else:
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in rows(report, _)]
        lines += [""] + [f"- **{_(SEVERITY[f.severity.value][0])}** `{f.code}`: {text_in(f.title, _)}"
                         for f in findings]
        sys.stdout.write(inert("\n".join(lines) + "\n"))
        return
    from rich.table import Table
    from rich.text import Text

    console = console_factory()
    if skipped:
        console.print(Text(_("envcheck smoke: skipped ({reason})").format(reason=skipped), style="yellow"))
    elif report.error:
        console.print(Text(_("envcheck smoke: failed: {error}").format(error=text_in(report.error, _)),
                           style="bold red"))
    else:
        table = Table(*head, title="envcheck smoke", title_justify="left")
        for r in rows(report, _):
            table.add_row(*[Text(c) for c in r])
        console.print(table)
        for dev in report.devices:
            console.print(Text(_("GPU {index}: CUDA init {init} s, H2D {h2d} GB/s, D2H {d2h} GB/s, D2D {d2d} "
                                 "GB/s").format(index=dev.index, init=_f(dev.init_s, '{:.2f}'), h2d=_f(dev.h2d_gbps),
                                                d2h=_f(dev.d2h_gbps), d2d=_f(dev.d2d_gbps))))
        if report.allreduce_busbw_gbps:
            console.print(Text(_("NCCL all-reduce bus bandwidth: {rate} GB/s").format(
                rate=f"{report.allreduce_busbw_gbps:.1f}")))
    for f in findings:
        console.print(Text(f"{_(SEVERITY[f.severity.value][1])} [{f.code}] {text_in(f.title, _)}"))
        if f.detail:
            console.print(Text("    " + text_in(f.detail, _)))
