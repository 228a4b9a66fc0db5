"""`envcheck smoke`: run real work on every GPU, then judge the numbers.

The target interpreter runs ``smoke/script.py`` (timed with CUDA events, checked against a
float64 reference); this module plans the sizes, turns milliseconds into TFLOP/s and GB/s, and holds
them against what that GPU model really measures (``knowledge/data/smoke_bands.toml``: public torch
matmul rates per model and dtype, NCCL all-reduce bus bandwidths per fabric), or, where no measurement
is recorded, against the datasheet's dense peak (``gpus.toml``), saying which. The arithmetic is pure
and tested on the CPU machine; the measuring needs a GPU. Sentences are Messages, worded by
``smoke/render.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..findings import Finding
from ..i18n import N_, Message, joined, quoted
from ..knowledge import Knowledge
from ..probes import ProbeContext, marker_json
from ..rules.base import finding
from ..runner import CommandResult
from ..snapshot import Gpu

SCRIPT = Path(__file__).resolve().parent / "script.py"
MARKER = "@@ENVCHECK-SMOKE-JSON@@"
#: the size for a GPU (or dtype) envcheck knows nothing about
MATMUL_N = 4096
#: Sizes per GPU class, from the dtype's expected rate R (the band's median, else the datasheet peak) and the GPU's
#: memory. R >= 15 TFLOP/s: 8192^3 (one product takes <= 73 ms at R; the bands are measured there, and consumer
#: Blackwell needs it: an RTX 5090 reaches 181 TFLOP/s bf16 at 4096^3 but 235 at 8192^3, zzc0721 issues 96/124; an
#: A100 PCIe fp32 15.5 vs 17.6). 2 <= R < 15: 4096^3 (<= 69 ms a product). Below 2: 2048^3. 8192^3 needs 8 GiB
#: (three 256 MiB fp32 matrices and the float64 check beside whatever else runs).
LARGE_N, SMALL_N = 8192, 2048
LARGE_RATE, SMALL_RATE = 15.0, 2.0
LARGE_MIN_MEMORY_GIB = 8.0
#: each dtype's timed loop should last about this long at the expected rate (3 to 50 products), so a datacenter card
#: spends well under a second per dtype (an H100 at 8192^3: bf16 50 x 1.4 ms, fp32 5 x 21 ms, plus 3 warm-ups)
TARGET_LOOP_S = 0.08
#: where no measurement of the model is recorded: slow below half the datasheet's dense peak
SLOW_FRACTION = 0.5
#: where one is: slow below 80% of the band's median. Every healthy copy in smoke_bands.toml (88 points of the 20
#: bands with 3+ copies) lies at >= 84.7% of its median; the slow copies recorded there at <= 77% (see that file)
SLOW_OF_BAND = 0.80
#: NCCL all-reduce: slow below 60% of the fabric's typical bus bandwidth (healthy 8x H100: 370-480 GB/s, 77-100%;
#: a box fallen off NVLink: an order of magnitude lower; see smoke_bands.toml)
SLOW_OF_ALLREDUCE = 0.60
#: all-reduce message per GPU: 1 GiB where every GPU has 32 GiB or more (NVLink figures are quoted at large messages;
#: 256 MiB is too small for an H100 box's peak, nccl-tests issue 212), else 256 MiB
ALLREDUCE_MIB_LARGE, ALLREDUCE_MIB = 1024, 256
ALLREDUCE_LARGE_MIN_MEMORY_GIB = 32.0
#: max relative error of a 64x64 slice against float64, per dtype (K = 4096 accumulations). From evidence
#: (bench/bench_tolerance.py, torch 2.13 CPU, 20 seeds): correct bf16 products reach 2.3e-3 (theory: half an ulp
#: of the output, 2^-9 = 2.0e-3), fp16 3.8e-4 (2^-11 = 4.9e-4); a systematic 2% fault gives 2e-2. Each tolerance
#: leaves 4-10x room above correct products (cuBLAS may reduce split-K partial sums in reduced precision) and
#: sits at least 2x below a 2% fault; tf32 (not measurable on a CPU) keeps 10x its input-rounding bound 2^-11.
#: At K = 8192 (what GPUs of 15+ TFLOP/s now run) the same check on CPU torch 2.13 gives bf16 3.1e-3, fp16 3.9e-4,
#: fp32 3.7e-7 (10 seeds; a 2% fault still 2e-2): the tolerances hold there too.
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
    #: the datasheet's dense peak (gpus.toml) and the rate's share of it
    peak_tflops: Optional[float] = None
    ratio: Optional[float] = None
    max_rel_error: Optional[float] = None
    ok: Optional[bool] = None
    error: Optional[str] = None
    #: the product timed: n x n times n x n, `iters` times
    n: Optional[int] = None
    iters: Optional[int] = None
    #: what public measurements of this model and dtype reach (smoke_bands.toml): median, lowest, highest, how many
    #: healthy copies, and at which sizes (a sentence); None where none is recorded
    band_tflops: Optional[float] = None
    band_low: Optional[float] = None
    band_high: Optional[float] = None
    band_copies: Optional[int] = None
    band_sizes: Optional[str] = None
    #: what the rate is held against: "band" | "datasheet" (None: neither is known); slow below `slow_below`
    basis: Optional[str] = None
    slow_below: Optional[float] = None


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
    #: the all-reduce message per GPU, in bytes
    allreduce_bytes: Optional[int] = None
    #: the typical bus bandwidth public figures give for these GPUs over this fabric (smoke_bands.toml), their range
    allreduce_band_gbps: Optional[float] = None
    allreduce_band_low: Optional[float] = None
    allreduce_band_high: Optional[float] = None
    #: "nvlink" | "pcie": the fabric the band is for; `allreduce_fabric_basis` says how it was known:
    #: "topology" (``nvidia-smi topo -m``) | "model" (assumed from the GPU model)
    allreduce_fabric: Optional[str] = None
    allreduce_fabric_basis: Optional[str] = None
    allreduce_slow_below: Optional[float] = None


def tflops(n: int, iters: int, ms: float) -> Optional[float]:
    """2·n³ flops per product."""
    if not ms or ms <= 0:
        return None
    return 2.0 * n ** 3 * iters / (ms / 1000.0) / 1e12


def gbps(nbytes: int, ms: Optional[float], factor: float = 1.0) -> Optional[float]:
    if not ms or ms <= 0:
        return None
    return nbytes * factor / (ms / 1000.0) / 1e9


@dataclass
class Band:
    """What healthy copies of one GPU model measure (one dtype's matmul, or one fabric's all-reduce)."""

    median: float
    low: float
    high: float
    copies: int = 0
    #: matmul: the sizes of the points ("8192", "best of 1024-10240", "best shape"); all-reduce: the fabric
    sizes: List[str] = field(default_factory=list)
    fabric: Optional[str] = None
    count: Optional[int] = None


def matmul_band(knowledge: Knowledge, gpu: Optional[str], dtype: str) -> Optional[Band]:
    """The band of a GPU model (a gpus.toml name, or a name nvidia-smi / torch print) and dtype, if one is recorded."""
    spec = knowledge.gpu_by_name(gpu) if gpu else None
    if spec is None:
        return None
    for row in knowledge.smoke_bands().get("band", []):
        if row["gpu"] == spec.name and row["dtype"] == dtype:
            return Band(median=float(row["median"]), low=float(row["low"]), high=float(row["high"]),
                        copies=int(row["copies"]), sizes=sorted({p["size"] for p in row.get("points", [])}))
    return None


def expected_rates(knowledge: Knowledge, gpu: Optional[str]) -> Dict[str, float]:
    """Per dtype, the rate a healthy GPU of this model reaches: the band's median, else the datasheet peak."""
    spec = knowledge.gpu_by_name(gpu) if gpu else None
    rates = dict(spec.tflops) if spec else {}
    for dtype in DEFAULT_ITERS:
        band = matmul_band(knowledge, gpu, dtype)
        if band:
            rates[dtype] = band.median
    return rates


def plan_sizes(rates: Dict[str, float], memory_gib: Optional[float] = None) -> Dict[str, int]:
    """n per dtype from the expected rate (TFLOP/s) and the GPU's memory (see LARGE_RATE)."""
    out = {}
    for dtype in DEFAULT_ITERS:
        rate = rates.get(dtype)
        if not rate:
            out[dtype] = MATMUL_N
        elif rate >= LARGE_RATE and (memory_gib is None or memory_gib >= LARGE_MIN_MEMORY_GIB):
            out[dtype] = LARGE_N
        elif rate >= SMALL_RATE:
            out[dtype] = MATMUL_N
        else:
            out[dtype] = SMALL_N
    return out


def plan_iters(rates: Dict[str, float], n: Any = MATMUL_N) -> Dict[str, int]:
    """Iterations per dtype so each timed loop lasts ~TARGET_LOOP_S at the expected rate (3 to 50); ``n`` is one
    size or a size per dtype."""
    out = {}
    for dtype, default in DEFAULT_ITERS.items():
        rate = rates.get(dtype)
        size = n.get(dtype, MATMUL_N) if isinstance(n, dict) else n
        if not rate:
            out[dtype] = default
            continue
        out[dtype] = max(3, min(50, math.ceil(TARGET_LOOP_S * rate * 1e12 / (2.0 * size ** 3))))
    return out


def plan_for(knowledge: Knowledge, gpu: Optional[str], memory_gib: Optional[float] = None) -> Dict[str, Any]:
    """The script's plan for one GPU: a size and an iteration count per dtype."""
    if memory_gib is None:
        spec = knowledge.gpu_by_name(gpu) if gpu else None
        memory_gib = spec.memory_gib if spec else None
    rates = expected_rates(knowledge, gpu)
    sizes = plan_sizes(rates, memory_gib)
    return {"sizes": sizes, "iters": plan_iters(rates, sizes)}


def _memory_gib(g: Gpu) -> Optional[float]:
    return g.memory_total_mib / 1024.0 if g.memory_total_mib else None


def make_config(gpus: List[Gpu], knowledge: Knowledge, devices: Optional[List[int]], multi: bool) -> Dict[str, Any]:
    """The script's config: a plan per GPU model doctor sees (keyed "name:<name>", matched by the name torch gives),
    and "*" (the first GPU's plan) for a GPU whose name is not among them; the all-reduce message size."""
    plans: Dict[str, Any] = {}
    for g in gpus:
        if g.name and f"name:{g.name}" not in plans:
            plans[f"name:{g.name}"] = plan_for(knowledge, g.name, _memory_gib(g))
    unknown = {"sizes": {d: MATMUL_N for d in DEFAULT_ITERS}, "iters": dict(DEFAULT_ITERS)}
    plans["*"] = next(iter(plans.values()), unknown)
    memories = [_memory_gib(g) for g in gpus]
    large = bool(memories) and all(m is not None and m >= ALLREDUCE_LARGE_MIN_MEMORY_GIB for m in memories)
    return {"devices": devices, "multi": multi, "bandwidth_mib": 256, "plan": plans,
            "allreduce_mib": ALLREDUCE_MIB_LARGE if large else ALLREDUCE_MIB}


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


#: how a band's points were sized (smoke_bands.toml `size`), as words
SIZE_WORDS = {"best of 1024-10240": N_("the best of 1024³ to 10240³"), "best shape": N_("the best shape of a search")}


def size_words(sizes: List[str]) -> Optional[Message]:
    """A band's sizes ("8192", "best of 1024-10240", ...) as one Message: "8192³; the best of 1024³ to 10240³"."""
    words = [Message(N_("{n}³"), n=int(size)) if size.isdigit() else Message(SIZE_WORDS.get(size, size))
             for size in sizes]
    return joined(words) if words else None


def fabric_from_topology(text: Optional[str]) -> Optional[str]:
    """The GPU-to-GPU fabric ``nvidia-smi topo -m`` shows: "nvlink" when every GPU pair is joined by NVLink (NV#),
    "pcie" when none is, "mixed" otherwise; None for fewer than two GPUs or text that is no such matrix."""
    import re

    if not text:
        return None
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines()]
    header = next((line.split() for line in lines if line.split()[:1] == ["GPU0"] and "X" not in line.split()), None)
    links = []
    for line in lines:
        cells = line.split()
        if not cells or not re.fullmatch(r"GPU\d+", cells[0]) or "X" not in cells:
            continue
        gpus = len([c for c in (header or []) if re.fullmatch(r"GPU\d+", c)]) or cells.index("X")
        links += [c for c in cells[1:1 + gpus] if c != "X"]
    if not links:
        return None
    nv = [bool(re.fullmatch(r"NV\d+", c)) for c in links]
    return "nvlink" if all(nv) else "pcie" if not any(nv) else "mixed"


def allreduce_band(knowledge: Knowledge, names: List[Optional[str]],
                   fabric: Optional[str] = None) -> Tuple[Optional[Band], Optional[str], Optional[str]]:
    """(band, fabric, basis) for an all-reduce across GPUs of these names: the fabric from ``nvidia-smi topo -m``
    when given (basis "topology"), else assumed from the GPU model (basis "model": SXM parts on an NVSwitch
    baseboard, any other on PCIe); the band where smoke_bands.toml records that model, count and fabric."""
    specs = [knowledge.gpu_by_name(n) for n in names]
    if len(specs) < 2 or any(s is None for s in specs) or len({s.name for s in specs}) != 1:
        return None, fabric, ("topology" if fabric else None)
    data = knowledge.smoke_bands()
    model, basis = specs[0].name, "topology" if fabric else "model"
    if fabric is None:
        fabric = "nvlink" if model in data.get("fabric", {}).get("nvlink_models", []) else "pcie"
    for row in data.get("allreduce", []):
        if model in row["gpus"] and int(row["count"]) == len(specs) and row["fabric"] == fabric:
            return (Band(median=float(row["median"]), low=float(row["low"]), high=float(row["high"]),
                         copies=len(row.get("points", [])), fabric=fabric, count=len(specs)), fabric, basis)
    return None, fabric, basis


def build_report(raw: Dict[str, Any], knowledge: Knowledge, topology: Optional[str] = None) -> SmokeReport:
    """The script's answer as rates held against their bands; ``topology``: ``nvidia-smi topo -m`` output where
    the caller has it (else the all-reduce's fabric is assumed from the GPU model, and the report says so)."""
    rep = SmokeReport(skipped=skip_message(raw.get("skip")), torch=raw.get("torch"), import_s=raw.get("import_s"),
                      total_s=raw.get("total_s"), error=raw.get("error") if not raw.get("ok", True) else None)
    for d in raw.get("devices") or []:
        dev = DeviceResult(index=d.get("index", 0), name=d.get("name"), capability=d.get("capability"),
                           init_s=d.get("init_s"), alloc_ok=d.get("alloc_ok"), error=d.get("error"))
        spec = knowledge.gpu_by_name(dev.name)
        for dtype, m in (d.get("matmul") or {}).items():
            r = DtypeResult(dtype=dtype, error=m.get("error"), n=m.get("n"), iters=m.get("iters"))
            if r.error is None:
                r.tflops = tflops(m.get("n", 0), m.get("iters", 0), m.get("ms", 0.0))
                r.max_rel_error = m.get("max_rel_error")
                r.ok = bool(m.get("finite", True)) and (r.max_rel_error is not None
                                                         and r.max_rel_error <= TOLERANCE.get(dtype, 1e-2))
                r.peak_tflops = spec.tflops.get(dtype) if spec else None
                if r.tflops and r.peak_tflops:
                    r.ratio = r.tflops / r.peak_tflops
                band = matmul_band(knowledge, dev.name, dtype)
                if band:
                    r.band_tflops, r.band_low, r.band_high = band.median, band.low, band.high
                    r.band_copies = band.copies
                    r.band_sizes = size_words(band.sizes)
                    r.basis, r.slow_below = "band", SLOW_OF_BAND * band.median
                elif r.peak_tflops:
                    r.basis, r.slow_below = "datasheet", SLOW_FRACTION * r.peak_tflops
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
        rep.allreduce_bytes = multi.get("allreduce_bytes")
        rep.allreduce_busbw_gbps = gbps(multi["allreduce_bytes"], multi["allreduce_s"] * 1000) * 2 * (n - 1) / n
        seen = fabric_from_topology(topology)
        band, rep.allreduce_fabric, rep.allreduce_fabric_basis = allreduce_band(
            knowledge, [dev.name for dev in rep.devices], seen if seen in ("nvlink", "pcie") else None)
        if band:
            rep.allreduce_band_gbps, rep.allreduce_band_low, rep.allreduce_band_high = band.median, band.low, band.high
            rep.allreduce_slow_below = SLOW_OF_ALLREDUCE * band.median
    return rep


def _likely_causes(gpu: Optional[Gpu], hot_c: Optional[float] = None) -> List[Message]:
    """What in doctor's facts slows a GPU: clock-event reasons, a power cap below default, MIG, other processes, a
    PCIe link narrower than its maximum (the width: the generation drops at idle by design), a hot GPU."""
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
    if hot_c is not None and gpu.temperature_c is not None and gpu.temperature_c >= hot_c:
        causes.append(Message(N_("the GPU was at {temp} °C when doctor looked ({hot} °C or more is hot)"),
                              temp=f"{gpu.temperature_c:.0f}", hot=f"{hot_c:.0f}"))
    return causes


def _causes_sentence(causes: List[Message]) -> Message:
    return (Message(N_("Likely: {causes}."), causes=joined(causes)) if causes else
            Message(N_("doctor's facts show no throttling, power cap, MIG, other process, narrowed PCIe link or "
                       "high temperature.")))


def _slow_matmul(dev: DeviceResult, r: DtypeResult, causes: List[Message]) -> Finding:
    facts = dict(gpu=dev.index, dtype=r.dtype, tflops=r.tflops, peak=r.peak_tflops, n=r.n, basis=r.basis,
                 band=r.band_tflops, slow_below=r.slow_below)
    fix = ["nvidia-smi -q -d PERFORMANCE,POWER,CLOCK,TEMPERATURE", "envcheck doctor"]
    if r.basis == "band":
        title = Message(N_("GPU {index} ({name}): {dtype} at {tflops} TFLOP/s, {share} of the {median} TFLOP/s this "
                           "model measures"), index=dev.index, name=dev.name, dtype=r.dtype,
                        tflops=f"{r.tflops:.0f}", share=f"{r.tflops / r.band_tflops:.0%}",
                        median=f"{r.band_tflops:.0f}")
        detail = Message(N_("Public measurements of this model ({sizes}; healthy copies: {copies}) reach {low} to "
                            "{high} TFLOP/s; under {threshold}, {fraction} of their median, is clearly slow (the "
                            "datasheet's dense peak: {peak}). "),
                         copies=r.band_copies, sizes=r.band_sizes, low=f"{r.band_low:.0f}", high=f"{r.band_high:.0f}",
                         threshold=f"{r.slow_below:.0f}", fraction=f"{SLOW_OF_BAND:.0%}",
                         peak=f"{r.peak_tflops:.0f}" if r.peak_tflops else None)
    else:
        title = Message(N_("GPU {index} ({name}): {dtype} at {tflops} of {peak} TFLOP/s ({ratio})"),
                        index=dev.index, name=dev.name, dtype=r.dtype, tflops=f"{r.tflops:.0f}",
                        peak=f"{r.peak_tflops:.0f}", ratio=f"{r.ratio:.0%}")
        detail = Message(N_("Below half the datasheet's dense peak. No public measurement of this model and dtype is "
                            "recorded, so this verdict rests on the datasheet alone. "))
    return finding("smoke-slow", title, detail + _causes_sentence(causes), fix, **facts)


def _slow_allreduce(rep: SmokeReport) -> Finding:
    count = len(rep.devices)
    fabric = FABRIC_NAMES.get(rep.allreduce_fabric or "", rep.allreduce_fabric)
    title = Message(N_("NCCL all-reduce at {rate} GB/s bus bandwidth, {share} of the {median} GB/s typical for "
                       "{count} x {gpu} over {fabric}"),
                    rate=f"{rep.allreduce_busbw_gbps:.0f}",
                    share=f"{rep.allreduce_busbw_gbps / rep.allreduce_band_gbps:.0%}",
                    median=f"{rep.allreduce_band_gbps:.0f}", count=count, gpu=rep.devices[0].name, fabric=fabric)
    detail = Message(N_("Public all_reduce_perf figures for this box reach {low} to {high} GB/s; under {threshold}, "
                        "{fraction} of their median, is clearly slow. "),
                     low=f"{rep.allreduce_band_low:.0f}", high=f"{rep.allreduce_band_high:.0f}",
                     threshold=f"{rep.allreduce_slow_below:.0f}", fraction=f"{SLOW_OF_ALLREDUCE:.0%}")
    detail = detail + (Message(N_("The fabric is what nvidia-smi topo -m shows. "))
                       if rep.allreduce_fabric_basis == "topology" else
                       Message(N_("The fabric is assumed from the GPU model: doctor's snapshot does not record "
                                  "nvidia-smi topo -m. ")))
    detail = detail + Message(N_("Likely: a link down or running over PCIe, no fabric manager on an NVSwitch system, "
                                 "or NCCL_P2P_DISABLE / NCCL_NVLS_ENABLE=0 in the environment."))
    return finding("smoke-slow", title, detail, ["nvidia-smi topo -m", "nvidia-smi nvlink -s",
                                                 "systemctl status nvidia-fabricmanager"],
                   allreduce_gbps=rep.allreduce_busbw_gbps, typical=rep.allreduce_band_gbps,
                   slow_below=rep.allreduce_slow_below, fabric=rep.allreduce_fabric,
                   fabric_basis=rep.allreduce_fabric_basis)


#: the fabrics' names in a sentence (proper names, the same in every language)
FABRIC_NAMES = {"nvlink": "NVLink/NVSwitch", "pcie": "PCIe"}


def _held(r: "DtypeResult") -> "DtypeResult":
    """``r`` with what it is held against: as build_report set it, else (a report made elsewhere, an older
    envcheck's JSON) the datasheet rule."""
    if r.slow_below is not None or not r.peak_tflops:
        return r
    return replace(r, basis="datasheet", slow_below=SLOW_FRACTION * r.peak_tflops)


def judge(rep: SmokeReport, gpus: List[Gpu], knowledge: Optional[Knowledge] = None) -> List[Finding]:
    """Findings from a smoke report; ``gpus`` are doctor's facts, used to name likely causes of slowness.

    A rate is slow below SLOW_OF_BAND of its band's median where public measurements of the model are recorded,
    else below SLOW_FRACTION of the datasheet peak (and the finding says it rests on the datasheet). Titles, details
    and fixes are Messages (English as text, worded where shown); codes and facts stay as they are.
    """
    out: List[Finding] = []
    if rep.skipped:
        out.append(finding("smoke-skipped", Message(N_("smoke test skipped: {reason}"), reason=rep.skipped),
                           Message(N_("Nothing ran on a GPU."))))
        return out
    if rep.error:
        out.append(finding("smoke-failed", Message(N_("the smoke test could not run")), rep.error))
        return out
    hot = (knowledge or Knowledge()).smoke_bands().get("causes", {}).get("hot_c")
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
            else:
                held = _held(r)
                if held.tflops is not None and held.slow_below is not None and held.tflops < held.slow_below:
                    out.append(_slow_matmul(dev, held, _likely_causes(by_uuid_index.get(dev.index), hot)))
    if (rep.allreduce_busbw_gbps is not None and rep.allreduce_slow_below is not None
            and rep.allreduce_busbw_gbps < rep.allreduce_slow_below):
        out.append(_slow_allreduce(rep))
    return out
