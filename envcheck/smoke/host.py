"""`envcheck smoke`: run real work on every GPU, then judge the numbers.

The target interpreter runs ``smoke/script.py`` (timed with CUDA events, checked against a
float64 reference); this module plans the sizes, turns milliseconds into TFLOP/s and GB/s, and holds
them against the GPU's dense peak from the knowledge data. The arithmetic is pure and tested on
the CPU machine; the measuring needs a GPU. Sentences are Messages, worded by ``smoke/render.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..findings import Finding
from ..i18n import N_, Message, joined, quoted
from ..knowledge import Knowledge
from ..probes import ProbeContext, marker_json
from ..rules.base import finding
from ..runner import CommandResult
from ..snapshot import Gpu

SCRIPT = Path(__file__).resolve().parent / "script.py"
MARKER = "@@ENVCHECK-SMOKE-JSON@@"
#: 4096^3 products reach ~99% of the 8192^3 rate on an H100 (fixtures README) at a quarter of the time
MATMUL_N = 4096
#: each dtype's timed loop should last about this long at the GPU's peak
TARGET_LOOP_S = 0.08
SLOW_FRACTION = 0.5
#: max relative error of a 64x64 slice against float64, per dtype (K = 4096 accumulations). From evidence
#: (bench/bench_tolerance.py, torch 2.13 CPU, 20 seeds): correct bf16 products reach 2.3e-3 (theory: half an ulp
#: of the output, 2^-9 = 2.0e-3), fp16 3.8e-4 (2^-11 = 4.9e-4); a systematic 2% fault gives 2e-2. Each tolerance
#: leaves 4-10x room above correct products (cuBLAS may reduce split-K partial sums in reduced precision) and
#: sits at least 2x below a 2% fault; tf32 (not measurable on a CPU) keeps 10x its input-rounding bound 2^-11.
TOLERANCE = {"fp32": 1e-4, "tf32": 5e-3, "fp16": 4e-3, "bf16": 1e-2}
DEFAULT_ITERS = {"fp32": 5, "tf32": 10, "fp16": 20, "bf16": 20}
#: why the script ran nothing ("skip": {"why": ..., fields}), worded here (the script runs without envcheck)
SKIP_REASONS = {
    "no-torch": N_("torch cannot be imported: {error}"),
    "cpu-only": N_("torch {version} is a CPU-only build"),
    "no-cuda": N_("torch.cuda.is_available() is False"),
    "no-device": N_("no such device (torch sees {count})"),
}


@dataclass
class DtypeResult:
    dtype: str
    tflops: Optional[float] = None
    peak_tflops: Optional[float] = None
    ratio: Optional[float] = None
    max_rel_error: Optional[float] = None
    ok: Optional[bool] = None
    error: Optional[str] = None


@dataclass
class DeviceResult:
    index: int
    name: Optional[str] = None
    capability: Optional[str] = None
    init_s: Optional[float] = None
    alloc_ok: Optional[bool] = None
    matmul: List[DtypeResult] = field(default_factory=list)
    h2d_gbps: Optional[float] = None
    d2h_gbps: Optional[float] = None
    d2d_gbps: Optional[float] = None
    error: Optional[str] = None


@dataclass
class SmokeReport:
    skipped: Optional[str] = None
    torch: Optional[str] = None
    import_s: Optional[float] = None
    total_s: Optional[float] = None
    devices: List[DeviceResult] = field(default_factory=list)
    peer_access: Dict[str, bool] = field(default_factory=dict)
    allreduce_busbw_gbps: Optional[float] = None
    error: Optional[str] = None


def tflops(n: int, iters: int, ms: float) -> Optional[float]:
    """2·n³ flops per product."""
    if not ms or ms <= 0:
        return None
    return 2.0 * n ** 3 * iters / (ms / 1000.0) / 1e12


def gbps(nbytes: int, ms: Optional[float], factor: float = 1.0) -> Optional[float]:
    if not ms or ms <= 0:
        return None
    return nbytes * factor / (ms / 1000.0) / 1e9


def plan_iters(peaks: Dict[str, float], n: int = MATMUL_N) -> Dict[str, int]:
    """Iterations per dtype so each timed loop lasts ~TARGET_LOOP_S at peak (3 to 50)."""
    flops = 2.0 * n ** 3
    out = {}
    for dtype, default in DEFAULT_ITERS.items():
        peak = peaks.get(dtype)
        if not peak:
            out[dtype] = default
            continue
        out[dtype] = max(3, min(50, math.ceil(TARGET_LOOP_S * peak * 1e12 / flops)))
    return out


def make_config(gpus: List[Gpu], knowledge: Knowledge, devices: Optional[List[int]], multi: bool) -> Dict[str, Any]:
    peaks: Dict[str, float] = {}
    for g in gpus:
        spec = knowledge.gpu_by_name(g.name)
        if spec:
            for k, v in spec.tflops.items():  # plan for the fastest GPU present
                peaks[k] = max(peaks.get(k, 0.0), v)
    return {"devices": devices, "multi": multi, "bandwidth_mib": 256,
            "plan": {"*": {"n": MATMUL_N, "iters": plan_iters(peaks)}}}


def run_script(ctx: ProbeContext, config: Dict[str, Any], timeout: float) -> CommandResult:
    return ctx.run([ctx.python or "python3", "-c", SCRIPT.read_text(encoding="utf-8"), json.dumps(config)],
                   timeout=timeout)


def skip_message(skip: Any) -> Optional[Message]:
    """The script's ``skip`` ({"why": ..., fields}) as a sentence (English as a str, worded where shown)."""
    if not isinstance(skip, dict):
        return None
    fields = {k: v for k, v in skip.items() if k != "why"}
    template = SKIP_REASONS.get(str(skip.get("why")))
    if template is None:  # a script newer than this host: say what it said
        return quoted(", ".join(f"{k}={v}" for k, v in skip.items()))
    try:
        template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return quoted(", ".join(f"{k}={v}" for k, v in skip.items()))
    return Message(template, **fields)


def parse_output(result: CommandResult) -> Dict[str, Any]:
    """The script's JSON, or a failure description the report can show (a Message when envcheck words it)."""
    if result.timed_out:
        return {"ok": False, "error": Message(N_("no answer within {seconds} s (a hung GPU or driver?)"),
                                              seconds=f"{result.duration_s:.0f}")}
    answer = marker_json(result.stdout, MARKER)
    if answer is not None:
        return answer
    return {"ok": False, "error": result.describe() + (": " + result.stderr.strip()[-600:] if result.stderr else "")}


def build_report(raw: Dict[str, Any], knowledge: Knowledge) -> SmokeReport:
    rep = SmokeReport(skipped=skip_message(raw.get("skip")), torch=raw.get("torch"), import_s=raw.get("import_s"),
                      total_s=raw.get("total_s"), error=raw.get("error") if not raw.get("ok", True) else None)
    for d in raw.get("devices") or []:
        dev = DeviceResult(index=d.get("index", 0), name=d.get("name"), capability=d.get("capability"),
                           init_s=d.get("init_s"), alloc_ok=d.get("alloc_ok"), error=d.get("error"))
        spec = knowledge.gpu_by_name(dev.name)
        for dtype, m in (d.get("matmul") or {}).items():
            r = DtypeResult(dtype=dtype, error=m.get("error"))
            if r.error is None:
                r.tflops = tflops(m.get("n", 0), m.get("iters", 0), m.get("ms", 0.0))
                r.max_rel_error = m.get("max_rel_error")
                r.ok = bool(m.get("finite", True)) and (r.max_rel_error is not None
                                                         and r.max_rel_error <= TOLERANCE.get(dtype, 1e-2))
                r.peak_tflops = spec.tflops.get(dtype) if spec else None
                if r.tflops and r.peak_tflops:
                    r.ratio = r.tflops / r.peak_tflops
            dev.matmul.append(r)
        bw = d.get("bandwidth") or {}
        if "bytes" in bw:
            dev.h2d_gbps = gbps(bw["bytes"], bw.get("h2d_ms"))
            dev.d2h_gbps = gbps(bw["bytes"], bw.get("d2h_ms"))
            dev.d2d_gbps = gbps(bw["bytes"], bw.get("d2d_ms"), factor=2.0)  # read + write
        rep.devices.append(dev)
    multi = raw.get("multi") or {}
    rep.peer_access = dict(multi.get("peer") or {})
    n = len(rep.devices)
    if multi.get("allreduce_s") and n > 1:
        # NCCL's bus bandwidth for all-reduce: algbw * 2(n-1)/n
        rep.allreduce_busbw_gbps = gbps(multi["allreduce_bytes"], multi["allreduce_s"] * 1000) * 2 * (n - 1) / n
    return rep


def _likely_causes(gpu: Optional[Gpu]) -> List[Message]:
    if gpu is None:
        return []
    causes = []
    slow = [r for r in gpu.clock_event_reasons if r not in ("gpu_idle",)]
    if slow:
        causes.append(Message(N_("clock-event reasons active: {reasons}"), reasons=", ".join(slow)))
    if gpu.power_limit_w and gpu.power_limit_default_w and gpu.power_limit_w < gpu.power_limit_default_w:
        causes.append(Message(N_("power cap {limit} W below default {default} W"),
                              limit=f"{gpu.power_limit_w:.0f}", default=f"{gpu.power_limit_default_w:.0f}"))
    if (gpu.mig_mode or "").lower() == "enabled":
        causes.append(Message(N_("MIG is enabled: the process has a slice of the GPU")))
    if gpu.processes:
        causes.append(Message(N_("{count} other process(es) on the GPU"), count=len(gpu.processes)))
    if gpu.pcie_width_current and gpu.pcie_width_max and gpu.pcie_width_current < gpu.pcie_width_max:
        causes.append(Message(N_("PCIe x{width} of x{max}"), width=gpu.pcie_width_current, max=gpu.pcie_width_max))
    return causes


def judge(rep: SmokeReport, gpus: List[Gpu]) -> List[Finding]:
    """Findings from a smoke report; ``gpus`` are doctor's facts, used to name likely causes of slowness.

    Titles, details and fixes are Messages (English as text, worded where shown); codes and facts stay as they are.
    """
    out: List[Finding] = []
    if rep.skipped:
        out.append(finding("smoke-skipped", Message(N_("smoke test skipped: {reason}"), reason=rep.skipped),
                           Message(N_("Nothing ran on a GPU."))))
        return out
    if rep.error:
        out.append(finding("smoke-failed", Message(N_("the smoke test could not run")), rep.error))
        return out
    by_uuid_index = {g.index: g for g in gpus}
    for dev in rep.devices:
        if dev.error or dev.alloc_ok is False:
            out.append(finding("smoke-failed", Message(N_("GPU {index} ({name}) failed the smoke test"),
                                                       index=dev.index, name=dev.name),
                               dev.error or Message(N_("a 64 MiB allocation did not read back what was written"))))
            continue
        for r in dev.matmul:
            if r.error:
                out.append(finding("smoke-failed", Message(N_("GPU {index}: {dtype} matmul failed"),
                                                           index=dev.index, dtype=r.dtype), r.error))
            elif r.ok is False:
                out.append(finding(
                    "smoke-wrong-result", Message(N_("GPU {index} ({name}) computes wrong {dtype} products"),
                                                  index=dev.index, name=dev.name, dtype=r.dtype),
                    Message(N_("max relative error {error} against a float64 reference (tolerance {tolerance}). "
                               "Faulty memory, overclocking or a broken library."),
                            error=f"{r.max_rel_error:.3g}", tolerance=TOLERANCE.get(r.dtype)),
                    ["nvidia-smi -q -d ECC,ROW_REMAPPER",
                     Message(N_("Drain the node; run NVIDIA's field diagnostics ({command})"),
                             command="dcgmi diag -r 3")],
                    gpu=dev.index, dtype=r.dtype))
            elif r.ratio is not None and r.ratio < SLOW_FRACTION:
                causes = _likely_causes(by_uuid_index.get(dev.index))
                out.append(finding(
                    "smoke-slow", Message(N_("GPU {index} ({name}): {dtype} at {tflops} of {peak} TFLOP/s ({ratio})"),
                                          index=dev.index, name=dev.name, dtype=r.dtype, tflops=f"{r.tflops:.0f}",
                                          peak=f"{r.peak_tflops:.0f}", ratio=f"{r.ratio:.0%}"),
                    Message(N_("Below half the dense peak. ")) + (
                        Message(N_("Likely: {causes}."), causes=joined(causes)) if causes else
                        Message(N_("doctor's facts show no throttling, cap, MIG or other process."))),
                    ["nvidia-smi -q -d PERFORMANCE,POWER,CLOCK", "envcheck doctor"],
                    gpu=dev.index, dtype=r.dtype, tflops=r.tflops, peak=r.peak_tflops))
    return out
