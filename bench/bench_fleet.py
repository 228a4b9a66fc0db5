"""Benchmark: `envcheck fleet` over 10,000 nodes' reports, against the 5 s target (issue 6).

The reports are generated from the real recorded machines (tests/builders.py: the H100 box and the
CPU box), judged by envcheck's own rules, then varied the way a real fleet varies: driver, torch
build, GPU model and count, cuDNN, a few broken nodes, and per-GPU smoke rates (bf16 TFLOP/s around
the H100's recorded 790, with a few slow GPUs). Each is written as one JSON line, the form
``pdsh ... envcheck doctor --json`` collections and ``cat reports/*.json`` produce.

    python bench/bench_fleet.py                     # 10,000 reports, 3 rounds
    python bench/bench_fleet.py --nodes 2000 --rounds 1 --keep /tmp/fleet.jsonl

Prints the median seconds of (a) loading + aggregating in-process and (b) the whole CLI
(`envcheck fleet --json < reports.jsonl`, process start included), and the verdict against 5 s.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TARGET_S = 5.0

#: (driver, max CUDA) with weights: most of the fleet on one driver, a tail on older ones
DRIVERS = [(("580.159.04", "13.0"), 80), (("575.57.08", "12.9"), 10), (("570.172.08", "12.8"), 7),
           (("535.261.03", "12.2"), 3)]
#: (torch, torch CUDA, cuDNN) with weights
TORCHES = [(("2.11.0+cu130", "13.0", "9.19.0"), 85), (("2.10.0+cu128", "12.8", "9.10.2"), 10),
           (("2.9.1+cu126", "12.6", "9.10.2"), 5)]
#: (GPU model, capability, memory MiB, bf16 TFLOP/s median in the smoke test, GPUs per node) with weights
GPUS = [(("NVIDIA H100 80GB HBM3", "9.0", 81559, 790.0, 8), 88), (("NVIDIA A100-SXM4-80GB", "8.0", 81920, 280.0, 8), 8),
        (("NVIDIA H100 80GB HBM3", "9.0", 81559, 790.0, 4), 4)]
CPU_SHARE = 0.01
SLOW_GPU_SHARE = 0.002


def _pick(rng: random.Random, table):
    values, weights = zip(*table)
    return rng.choices(values, weights)[0]


def _gpu_snapshot(driver, torch, gpu):
    """The recorded H100 box with this driver, torch build and GPU set (still judged by the real rules)."""
    from builders import h100

    snap = h100()
    (dver, dcuda), (tver, tcuda, cudnn), (model, cc, mem, _, count) = driver, torch, gpu
    snap.driver.version = snap.driver.kernel_module_version = dver
    snap.driver.cuda_version = dcuda
    base = snap.gpus[0]
    snap.gpus = []
    for i in range(count):
        g = copy.deepcopy(base)
        g.index, g.name, g.compute_capability, g.memory_total_mib = i, model, cc, mem
        g.uuid = f"GPU-{i:08x}-0000-0000-0000-000000000000"
        g.bus_id = f"00000000:{0x18 + i * 0x10:02X}:00.0"
        snap.gpus.append(g)
    dev = snap.torch.devices[0]
    snap.torch.devices = []
    for i in range(count):
        d = copy.deepcopy(dev)
        d.index, d.name, d.capability = i, model, cc
        snap.torch.devices.append(d)
    snap.torch.device_count = count
    snap.torch.version, snap.torch.cuda = tver, tcuda
    snap.torch.dist_version = tver.split("+")[0]
    snap.torch.cudnn = snap.cudnn.torch_reported = cudnn
    snap.cudnn.loaded.version = cudnn
    snap.python.packages["torch"].version = snap.torch.dist_version
    snap.python.packages["torch"].build_version = tver
    snap.python.packages["torch"].cuda = tcuda
    return snap


def templates() -> Dict[tuple, str]:
    """Every combination, judged once by the rules, as a JSON line with placeholders for the host."""
    from envcheck.knowledge import Knowledge
    from envcheck.render.report import Report, report_data
    from envcheck.rules import evaluate
    from builders import cpu_box

    knowledge = Knowledge()
    out = {}
    for driver, _ in DRIVERS:
        for torch, _ in TORCHES:
            for gpu, _ in GPUS:
                snap = _gpu_snapshot(driver, torch, gpu)
                snap.system.hostname = "@@HOST@@"
                snap.meta.created_at = "2025-01-01T00:00:00+00:00"
                data = report_data(Report(snap, evaluate(snap, knowledge)))
                data["policy"] = "@@POLICY@@"
                out[(driver, torch, gpu)] = json.dumps(data, separators=(",", ":"))
    snap = cpu_box()
    snap.system.hostname = "@@HOST@@"
    data = report_data(Report(snap, evaluate(snap, knowledge)))
    out[("cpu",)] = json.dumps(data, separators=(",", ":"))
    return out


def _policy(rng: random.Random, gpu) -> str:
    model, cc, _mem, rate, count = gpu
    devices = []
    rates = []
    for i in range(count):
        r = rng.gauss(rate, rate * 0.01)
        if rng.random() < SLOW_GPU_SHARE:
            r = rate * rng.uniform(0.45, 0.8)  # a throttled or failing GPU
        rates.append(r)
        devices.append({"index": i, "name": model, "capability": cc, "init_s": 0.15, "alloc_ok": True,
                        "matmul": [{"dtype": "bf16", "tflops": round(r, 2), "peak_tflops": 989.4,
                                    "ratio": round(r / 989.4, 4), "max_rel_error": 0.001, "ok": True, "error": None}],
                        "h2d_gbps": None, "d2h_gbps": None, "d2d_gbps": None, "error": None})
    ok = min(rates) >= 500 or model != "NVIDIA H100 80GB HBM3"
    policy = {"ok": ok, "requirements": [
        {"expr": "smoke-bf16>=500", "name": "smoke-bf16", "op": ">=", "value": "500", "origin": "--require",
         "status": "met" if ok else "unmet", "met": ok, "reason": f"bf16 {min(rates):.0f} TFLOP/s", "have": None}],
        "smoke": {"skipped": None, "torch": "2.11.0+cu130", "import_s": 3.7, "total_s": 5.1, "devices": devices,
                  "peer_access": {}, "allreduce_busbw_gbps": None, "error": None},
        "smoke_findings": []}
    return json.dumps(policy, separators=(",", ":"))


def generate(n: int, seed: int = 6) -> Iterator[str]:
    """``n`` doctor reports as JSON lines, varied from the real fixtures."""
    rng = random.Random(seed)
    tpl = templates()
    for i in range(n):
        host = f"gpu-{i:05d}"
        if rng.random() < CPU_SHARE:
            yield tpl[("cpu",)].replace("@@HOST@@", host)
            continue
        driver, torch, gpu = _pick(rng, DRIVERS), _pick(rng, TORCHES), _pick(rng, GPUS)
        yield tpl[(driver, torch, gpu)].replace("@@HOST@@", host).replace('"@@POLICY@@"', _policy(rng, gpu))


def write(path: Path, n: int, seed: int = 6) -> int:
    with open(path, "w", encoding="utf-8") as fh:
        for line in generate(n, seed):
            fh.write(line + "\n")
    return path.stat().st_size


def in_process(path: Path) -> float:
    from envcheck.fleet import load
    from envcheck.fleet.render import fleet_data

    start = time.perf_counter()
    fleet = load([str(path)])
    json.dumps(fleet_data(fleet))
    return time.perf_counter() - start


#: the CLI in a process
LAUNCH = "import sys; from envcheck.cli.app import main; main(sys.argv[1:])"


def whole_cli(path: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    with open(path, encoding="utf-8") as stdin:
        proc = subprocess.run([sys.executable, "-c", LAUNCH, "fleet", "--json"], stdin=stdin,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"envcheck fleet failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the reports here (and keep them)")
    args = ap.parse_args(argv)

    folder = None
    if args.keep:
        path = args.keep
    else:
        folder = tempfile.TemporaryDirectory(prefix="envcheck-fleet-bench-")
        path = Path(folder.name) / "reports.jsonl"
    t0 = time.perf_counter()
    size = write(path, args.nodes)
    print(f"generated {args.nodes} reports ({size / 2 ** 20:.0f} MiB of JSON lines) in "
          f"{time.perf_counter() - t0:.1f} s -> {path}")
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    inproc = [in_process(path) for _ in range(args.rounds)]
    cli = [whole_cli(path) for _ in range(args.rounds)]
    a, b = statistics.median(inproc), statistics.median(cli)
    print(f"in-process load + aggregate + JSON: median {a:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in inproc)})")
    print(f"whole CLI `envcheck fleet --json < reports.jsonl`: median {b:.2f} s  "
          f"(runs: {', '.join(f'{x:.2f}' for x in cli)})")
    ok = b < TARGET_S
    print(f"target: {args.nodes} reports under {TARGET_S:.0f} s -> {'MET' if ok else 'MISSED'} "
          f"({b / TARGET_S:.0%} of the budget)")
    if folder is not None:
        folder.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
