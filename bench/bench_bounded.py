"""Benchmark: bounded cost on big inputs (issue 16): analyze on a 50 MB and a 500 MB log, fleet with both cores busy.

The log is the real pastes of tests/fixtures/analyze (tracebacks, nvidia-smi tables, collect_env, pip logs)
repeated to the size asked. Each measurement runs in its own process, so its peak RSS is its own.

    python bench/bench_bounded.py                   # 50 MB and 500 MB logs, then 10,000 fleet reports under load
    python bench/bench_bounded.py --sizes 50 --no-fleet

Prints, per log size: analyze in-process (``envcheck.analyze.analyze`` on the whole text: seconds, peak RSS)
and the CLI (``envcheck analyze FILE --json``: seconds, peak RSS, exit code). The CLI reads an input whole up to
``cli/analyze.py``'s MAX_INPUT_BYTES (64 MiB); a longer one is read as its first 16 MiB and its last 48 MiB
(where a crash is), the lines between counted and named in a note: a 500 MB log costs the memory of 64 MiB.
Then ``bench/bench_fleet.py`` (10,000 reports) with one busy loop per core running beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "analyze"
TARGET_50MB_S = 10.0

_IN_PROCESS = r"""
import json, resource, sys, time
from envcheck.analyze import Input, analyze
from envcheck.knowledge import Knowledge
path = sys.argv[1]
text = open(path, encoding="utf-8", errors="replace").read()
start = time.perf_counter()
result = analyze([Input(path, text)], Knowledge())
elapsed = time.perf_counter() - start
print(json.dumps({"s": elapsed, "blocks": len(result.blocks), "findings": len(result.findings),
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_log(path: Path, megabytes: int, kind: str = "pastes") -> None:
    """``pastes``: the fixtures back to back (every line in a block: the worst case for the detectors);
    ``training``: a training job's log, 2,000 progress lines for each real paste (a traceback, a table) in it."""
    pastes = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(FIXTURES.rglob("*.txt"))]
    if kind == "pastes":
        chunk = "\n".join(pastes) + "\n"
    else:
        chunk = "".join(f"[2026-12-04 10:{i // 60 % 60:02d}:{i % 60:02d}] step {i} loss {1.0 / (i + 1):.5f} "
                        f"lr 3.0e-04 throughput 1234.5 samples/s\n" for i in range(2000)) + pastes[0] + "\n"
    target = megabytes * 1024 * 1024
    with open(path, "w", encoding="utf-8") as fh:
        written = 0
        while written < target:
            piece = chunk[: target - written]
            fh.write(piece)
            written += len(piece.encode("utf-8"))


_MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(r.returncode)")


def child(argv: List[str]) -> Tuple[float, float, int, str]:
    """(seconds, the command's own peak RSS in MiB, exit code, stdout and stderr's tail) of one command."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    err = proc.stderr
    peak = 0.0
    if "PEAK_RSS_KIB" in err:
        err, _, tail = err.rpartition("PEAK_RSS_KIB")
        peak = float(tail.split()[0]) / 1024
    return elapsed, peak, proc.returncode, proc.stdout + err[-400:]


def bench_log(megabytes: int, workdir: Path, kind: str) -> None:
    path = workdir / f"log-{megabytes}mb.txt"
    make_log(path, megabytes, kind)
    print(f"--- {megabytes} MB {kind} log ({path.stat().st_size:,} bytes)")
    if megabytes <= 64:
        _s, rss, code, out = child([sys.executable, "-c", _IN_PROCESS, str(path)])
        try:
            data = json.loads(out.strip().splitlines()[-1])
            verdict = "ok" if data["s"] < TARGET_50MB_S else "SLOW"
            print(f"analyze in-process: {data['s']:.2f} s (target {TARGET_50MB_S:.0f} s: {verdict}), peak RSS "
                  f"{data['rss_mib']:.0f} MiB, {data['blocks']} blocks, {data['findings']} findings")
        except (ValueError, IndexError, KeyError):
            print(f"analyze in-process: failed (exit {code}): {out[-400:]}")
    else:
        print("analyze in-process: not run (the whole text in memory is what the CLI's cap exists to avoid)")
    s, rss, code, out = child([sys.executable, "-m", "envcheck", "analyze", str(path), "--json"])
    said = " ".join(out.split())[:160]
    print(f"envcheck analyze (CLI): {s:.2f} s, peak RSS {rss:.0f} MiB, exit {code}" + (f": {said}" if code else ""))
    path.unlink()


def bench_fleet_loaded() -> None:
    print("--- 10,000 fleet reports, one busy loop per core beside it")
    cores = os.cpu_count() or 2
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_fleet.py"), "--rounds", "1"],
                              capture_output=True, text=True, cwd=ROOT)
        print(proc.stdout.strip() or proc.stderr[-800:])
    finally:
        for p in busy:
            p.kill()
            p.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 500], help="log sizes in MB")
    parser.add_argument("--kinds", nargs="*", default=["training", "pastes"], choices=["training", "pastes"])
    parser.add_argument("--no-fleet", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envcheck-bench-") as tmp:
        for size in args.sizes:
            for kind in args.kinds if size <= 64 else args.kinds[:1]:
                bench_log(size, Path(tmp), kind)
    if not args.no_fleet:
        bench_fleet_loaded()


if __name__ == "__main__":
    main()
