"""Benchmark: how long `envcheck analyze` takes to parse a ~200 KB log (target: under 0.3 s).

The log is built from the real pasted outputs in tests/fixtures/analyze/ and the recorded H100
machine (nvidia-smi in all its forms, collect_env, nvcc, pip list), concatenated and repeated up to
the size asked for: every detector, parser and error signature has work to do. "parse" is
detection + parsing + merging + signature search (what issue 5 targets); "judge" adds the rules.

    python bench/bench_analyze.py                    # 200 KB, median of 7 rounds
    python bench/bench_analyze.py --kib 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envcheck.analyze import Input, judge, parse_inputs  # noqa: E402
from envcheck.analyze.signatures import load_catalogue  # noqa: E402
from envcheck.knowledge import Knowledge  # noqa: E402

TARGET_S = 0.3
CORPUS = ROOT / "tests" / "fixtures" / "analyze"
H100 = ROOT / "tests" / "fixtures" / "h100-torch2.11-cu130"
H100_FILES = ["nvidia-smi.txt", "nvidia-smi-q.txt", "nvidia-smi-q-x.xml", "nvidia-smi-query.txt",
              "nvidia-smi-query-nounits.txt", "nvcc-V.txt", "collect_env.txt", "pip-list.txt"]


def build_log(size: int) -> str:
    parts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    parts += [(H100 / name).read_text(encoding="utf-8") for name in H100_FILES]
    unit = "\n".join(parts)
    text = unit
    while len(text) < size:
        text += "\n" + unit
    return text[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kib", type=int, default=200, help="size of the log in KiB (default 200)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    text = build_log(args.kib * 1024)
    knowledge = Knowledge()
    load_catalogue()  # loaded once per process, as in one `envcheck analyze` run: not part of parsing
    parse_times, judge_times = [], []
    parsed = None
    for _ in range(args.rounds):
        start = time.perf_counter()
        parsed = parse_inputs([Input("bench.log", text)], knowledge)
        parse_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = judge(parsed, knowledge)
        judge_times.append(time.perf_counter() - start)
    assert parsed is not None
    parse_s = statistics.median(parse_times)
    blocks = sum(1 for b in parsed.blocks if b.kind != "log")
    print(f"log: {len(text) / 1024:.0f} KiB, {text.count(chr(10)) + 1} lines, {blocks} recognised blocks, "
          f"{len(parsed.hits)} message matches, {len(result.findings)} findings")
    print(f"parse (median of {args.rounds}): {parse_s:.3f} s   target < {TARGET_S} s   "
          f"{'OK' if parse_s < TARGET_S else 'TOO SLOW'}   (min {min(parse_times):.3f} s, max {max(parse_times):.3f} s)")
    print(f"rules and findings (median): {statistics.median(judge_times):.3f} s")
    if parse_s >= TARGET_S:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
