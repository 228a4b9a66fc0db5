"""Benchmark: the whole `envcheck smoke` process against a minimal CUDA-events script (issue 4, req. 7).

Side by side, in one run, alternating so drift hits both alike:

* the anchor: a minimal script that imports torch and times 4096^3 bf16 products with CUDA events
  (the least work that answers "how fast is bf16 here"), whole process wall time;
* `envcheck smoke --json` (nvidia-smi probe, the in-target script with every dtype at the sizes it plans for
  this GPU class, 8192^3 on datacenter cards, the checks against float64, bandwidth), whole process wall time,
  and the bf16 rate it reports beside the band public measurements of the model give (smoke_bands.toml);
* the same minimal script at 8192^3: the rate the GPU reaches when saturated, measured in this run.

Targets: smoke wall <= 1.2x the anchor's; smoke's bf16 rate >= 95% of the 8192^3 rate.

    python bench/bench_smoke.py                      # this interpreter's torch, 3 rounds
    python bench/bench_smoke.py --python /opt/venv/bin/python --rounds 5 --json-out /tmp/smoke.json

Needs an NVIDIA GPU and a CUDA torch in the target interpreter; without one it says so and exits 2
(nothing measured, no ratio invented).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
WALL_TARGET = 1.2
RATE_TARGET = 0.95

#: the anchor: import torch, warm up, time `iters` n^3 bf16 products with CUDA events, print TFLOP/s
MINIMAL = r"""
import sys, torch
n, iters = int(sys.argv[1]), int(sys.argv[2])
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
for _ in range(3):
    a @ b
torch.cuda.synchronize()
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
start.record()
for _ in range(iters):
    a @ b
end.record()
torch.cuda.synchronize()
print(2 * n ** 3 * iters / (start.elapsed_time(end) / 1e3) / 1e12)
"""


def _timed(argv: List[str], env: Dict[str, str]) -> Tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=600)
    return time.perf_counter() - t0, proc


def _has_cuda(python: str, env: Dict[str, str]) -> Optional[str]:
    """None when the target's torch sees a CUDA GPU, else why not."""
    probe = "import torch; print(torch.__version__, torch.cuda.is_available())"
    try:
        proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if proc.returncode != 0:
        return f"torch cannot be imported by {python}: {proc.stderr.strip().splitlines()[-1:]}"
    version, available = proc.stdout.split()
    return None if available == "True" else f"torch {version} sees no CUDA GPU"


def _bf16_band(report: dict) -> str:
    """The bf16 band smoke held the first GPU against, as a phrase (or why there is none)."""
    for m in report["smoke"]["devices"][0].get("matmul", []):
        if m["dtype"] == "bf16":
            if m.get("basis") == "band":
                return (f"band median {m['band_tflops']:.1f} ({m['band_low']:.0f}-{m['band_high']:.0f}, "
                        f"{m['band_copies']} copies), n = {m.get('n')}")
            return f"no band recorded: held against the datasheet, n = {m.get('n')}"
    return "no bf16 measured"


def _bf16_rate(report: dict) -> Optional[float]:
    rates = [m["tflops"] for d in report["smoke"]["devices"] for m in d["matmul"]
             if m["dtype"] == "bf16" and m.get("tflops")]
    return min(rates) if rates else None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter whose torch runs both sides")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=50, help="bf16 products the anchor times at 4096^3")
    parser.add_argument("--json-out", help="also write the last `envcheck smoke --json` here")
    args = parser.parse_args(argv)

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    why = _has_cuda(args.python, env)
    if why:
        print(f"bench_smoke: nothing to measure here: {why}")
        return 2
    anchor = [args.python, "-c", MINIMAL, "4096", str(args.iters)]
    saturated = [args.python, "-c", MINIMAL, "8192", str(max(args.iters // 4, 10))]
    smoke = [sys.executable, "-m", "envcheck", "smoke", "--json", "--python", args.python]
    walls: Dict[str, List[float]] = {"anchor": [], "smoke": []}
    rates: Dict[str, List[float]] = {"anchor": [], "saturated": [], "smoke": []}
    last_report = None
    for _round in range(args.rounds):
        wall, proc = _timed(anchor, env)
        walls["anchor"].append(wall)
        rates["anchor"].append(float(proc.stdout.strip().splitlines()[-1]))
        _wall, proc = _timed(saturated, env)
        rates["saturated"].append(float(proc.stdout.strip().splitlines()[-1]))
        wall, proc = _timed(smoke, env)
        walls["smoke"].append(wall)
        last_report = json.loads(proc.stdout)
        rate = _bf16_rate(last_report)
        if rate is None:
            print(f"bench_smoke: envcheck smoke measured no bf16 rate (exit {proc.returncode}): "
                  f"{json.dumps(last_report['smoke'])[:400]}")
            return 1
        rates["smoke"].append(rate)
    if args.json_out and last_report is not None:
        Path(args.json_out).write_text(json.dumps(last_report, indent=2) + "\n", encoding="utf-8")

    med = {k: statistics.median(v) for k, v in walls.items()}
    rate = {k: statistics.median(v) for k, v in rates.items()}
    gpu = last_report["smoke"]["devices"][0].get("name") if last_report else "?"
    print(f"GPU: {gpu}; torch {last_report['smoke'].get('torch')}; {args.rounds} round(s), medians")
    print(f"  minimal 4096^3 bf16 script   {med['anchor']:6.2f} s   {rate['anchor']:7.1f} TFLOP/s")
    print(f"  minimal 8192^3 bf16 script            {rate['saturated']:7.1f} TFLOP/s (saturated)")
    print(f"  envcheck smoke (every dtype) {med['smoke']:6.2f} s   {rate['smoke']:7.1f} TFLOP/s bf16")
    print(f"  smoke's bf16 {_bf16_band(last_report)}")
    wall_ratio, rate_ratio = med["smoke"] / med["anchor"], rate["smoke"] / rate["saturated"]
    print(f"  wall: smoke / minimal = {wall_ratio:.2f}x (target <= {WALL_TARGET}x) "
          f"{'OK' if wall_ratio <= WALL_TARGET else 'MISSED'}")
    print(f"  rate: smoke bf16 / 8192^3 = {rate_ratio:.1%} (target >= {RATE_TARGET:.0%}) "
          f"{'OK' if rate_ratio >= RATE_TARGET else 'MISSED'}")
    return 0 if wall_ratio <= WALL_TARGET and rate_ratio >= RATE_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
