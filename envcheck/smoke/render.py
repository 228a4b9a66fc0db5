"""Output of `envcheck smoke`: a table per GPU, JSON, or Markdown; the host's Messages worded here.

Each rate stands beside the band public measurements of that GPU model reach (median, lowest-highest) and the
datasheet's dense peak; the sizes timed and what each verdict rests on (a band, or the datasheet alone) are said
under the table, and the NCCL all-reduce beside the figure typical for the fabric.
"""

from __future__ import annotations

import json
import sys
from typing import Callable, List

from ..findings import Finding
from ..inert import inert
from ..i18n import LIST_SEPARATOR, Gettext, english, text_in
from ..render.report import SEVERITY, finding_data
from ..serde import to_data
from .host import FABRIC_NAMES, SLOW_FRACTION, SLOW_OF_ALLREDUCE, SLOW_OF_BAND, SmokeReport


def _f(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _band(r) -> str:
    if r.band_tflops is None:
        return "-"
    return f"{r.band_tflops:.1f} ({r.band_low:.0f}-{r.band_high:.0f})"


def rows(report: SmokeReport, _: Gettext = english) -> List[List[str]]:
    out = []
    for dev in report.devices:
        for r in dev.matmul:
            out.append([f"{dev.index} {dev.name or ''}".strip(), r.dtype, _f(r.n, "{}³"), _f(r.tflops), _band(r),
                        _f(r.peak_tflops), _f(r.ratio, "{:.0%}"), _f(r.max_rel_error, "{:.1e}"),
                        _("error") if r.error else (_("ok") if r.ok else _("WRONG"))])
    return out


def _by_gpu(report: SmokeReport, basis: str) -> List[str]:
    """"GPU 0 fp16, bf16" per GPU whose rates rest on ``basis``."""
    out = []
    for dev in report.devices:
        dtypes = [r.dtype for r in dev.matmul if r.basis == basis]
        if dtypes:
            out.append(f"GPU {dev.index} " + ", ".join(dtypes))
    return out


def notes(report: SmokeReport, _: Gettext = english) -> List[str]:
    """The lines under the table: sizes per GPU, what the verdicts rest on, the all-reduce against its band."""
    lines = []
    for dev in report.devices:
        sizes = ", ".join(f"{r.dtype} {r.n}³ x{r.iters}" for r in dev.matmul if r.n)
        if sizes:
            lines.append(_("GPU {index}: products timed: {sizes}").format(index=dev.index, sizes=sizes))
    banded, sheet = _by_gpu(report, "band"), _by_gpu(report, "datasheet")
    if banded:
        lines.append(_("Held against public torch matmul measurements of the same GPU model (band: median, "
                       "lowest-highest healthy copy), slow below {fraction} of the median: {items}").format(
            fraction=f"{SLOW_OF_BAND:.0%}", items=_(LIST_SEPARATOR).join(banded)))
    if sheet:
        lines.append(_("No public measurement of the model recorded, so held against the datasheet alone (slow "
                       "below {fraction} of its dense peak): {items}").format(
            fraction=f"{SLOW_FRACTION:.0%}", items=_(LIST_SEPARATOR).join(sheet)))
    if report.allreduce_busbw_gbps:
        size = f"{report.allreduce_bytes / 2 ** 20:.0f}" if report.allreduce_bytes else None
        line = (_("NCCL all-reduce bus bandwidth: {rate} GB/s ({size} MiB per GPU)") if size else
                _("NCCL all-reduce bus bandwidth: {rate} GB/s")).format(rate=f"{report.allreduce_busbw_gbps:.1f}",
                                                                        size=size)
        fabric = FABRIC_NAMES.get(report.allreduce_fabric or "", report.allreduce_fabric or "?")
        basis = (_("as nvidia-smi topo -m shows") if report.allreduce_fabric_basis == "topology" else
                 _("assumed from the GPU model: doctor's snapshot does not record nvidia-smi topo -m"))
        count, gpu = len(report.devices), report.devices[0].name if report.devices else "?"
        if report.allreduce_band_gbps is not None:
            typical = _("typical for {count} x {gpu} over {fabric} ({basis}): {median} GB/s ({low}-{high}), slow "
                        "below {fraction}").format(
                count=count, gpu=gpu, fabric=fabric, basis=basis, median=f"{report.allreduce_band_gbps:.0f}",
                low=f"{report.allreduce_band_low:.0f}", high=f"{report.allreduce_band_high:.0f}",
                fraction=f"{SLOW_OF_ALLREDUCE:.0%}")
        else:
            typical = _("no typical figure is recorded for {count} x {gpu} over {fabric} ({basis}): not "
                        "judged").format(count=count, gpu=gpu, fabric=fabric, basis=basis)
        line += _(LIST_SEPARATOR) + typical
        lines.append(line)
    return lines


def render_smoke(report: SmokeReport, findings: List[Finding], form: str, console_factory: Callable,
                 _: Gettext = english) -> None:
    """JSON (always English, each finding with its ``messages``), Markdown or a rich table in ``_``'s language."""
    if form == "json":
        data = {"schema_version": 1, "smoke": to_data(report), "findings": [finding_data(f) for f in findings]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    head = ["GPU", "dtype", "n", "TFLOP/s", _("band"), _("datasheet"), _("of datasheet"), _("max rel err"),
            _("result")]
    skipped = text_in(report.skipped, _) if report.skipped else None
    if form == "markdown":
        lines = ["### envcheck smoke", ""]
        if skipped:
            lines.append(_("Skipped: {reason}").format(reason=skipped))
        else:
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in rows(report, _)]
            lines += [""] + [f"- {line}" for line in notes(report, _)]
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
        for line in notes(report, _):
            console.print(Text(line))
    for f in findings:
        console.print(Text(f"{_(SEVERITY[f.severity.value][1])} [{f.code}] {text_in(f.title, _)}"))
        if f.detail:
            console.print(Text("    " + text_in(f.detail, _)))
