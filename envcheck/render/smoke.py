"""Output of `envcheck smoke`: a table per GPU, JSON, or Markdown."""

from __future__ import annotations

import json
import sys
from typing import Callable, List

from ..findings import Finding
from ..serde import to_data
from ..smoke import SmokeReport


def _f(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def rows(report: SmokeReport) -> List[List[str]]:
    out = []
    for dev in report.devices:
        for r in dev.matmul:
            out.append([f"{dev.index} {dev.name or ''}".strip(), r.dtype, _f(r.tflops), _f(r.peak_tflops),
                        _f(r.ratio, "{:.0%}"), _f(r.max_rel_error, "{:.1e}"),
                        "error" if r.error else ("ok" if r.ok else "WRONG")])
    return out


def render_smoke(report: SmokeReport, findings: List[Finding], form: str, console_factory: Callable) -> None:
    if form == "json":
        data = {"schema_version": 1, "smoke": to_data(report), "findings": [to_data(f) for f in findings]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    head = ["GPU", "dtype", "TFLOP/s", "peak", "of peak", "max rel err", "result"]
    if form == "markdown":
        lines = ["### envcheck smoke", ""]
        if report.skipped:
            lines.append(f"Skipped: {report.skipped}")
        else:
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in rows(report)]
        lines += [""] + [f"- **{f.severity.value}** `{f.code}`: {f.title}" for f in findings]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.table import Table
    from rich.text import Text

    console = console_factory()
    if report.skipped:
        console.print(Text(f"envcheck smoke: skipped ({report.skipped})", style="yellow"))
    elif report.error:
        console.print(Text(f"envcheck smoke: failed: {report.error}", style="bold red"))
    else:
        table = Table(*head, title="envcheck smoke", title_justify="left")
        for r in rows(report):
            table.add_row(*[Text(c) for c in r])
        console.print(table)
        for dev in report.devices:
            console.print(Text(f"GPU {dev.index}: CUDA init {_f(dev.init_s, '{:.2f}')} s, H2D {_f(dev.h2d_gbps)} GB/s, "
                               f"D2H {_f(dev.d2h_gbps)} GB/s, D2D {_f(dev.d2d_gbps)} GB/s"))
        if report.allreduce_busbw_gbps:
            console.print(Text(f"NCCL all-reduce bus bandwidth: {report.allreduce_busbw_gbps:.1f} GB/s"))
    for f in findings:
        console.print(Text(f"{f.severity.value.upper()} [{f.code}] {f.title}"))
        if f.detail:
            console.print(Text("    " + f.detail))
