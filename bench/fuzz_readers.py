"""Fuzz every reader of a file from elsewhere (issue 16) for a while; the goal is 0 crashes.

The inputs start from real reports: the recorded machines (tests/builders.py: the H100 box, the CPU box) judged by
envcheck's own rules and saved as ``doctor --json`` and ``doctor --save`` write them, the policy files of the
recipes, the shipped mirror files. Each round mutates one (cut short, a token spliced in, a value replaced by one of
another type, nested deep, re-encoded as UTF-16/UTF-32/with a BOM) and runs it through the commands in-process:
``doctor --from`` (rules and rendering included), ``install-cmd --from``, ``diff``, ``fleet`` (beside a good
report, which must still be read), ``doctor --policy`` and the mirror-file reader. A crash is exit 70 (envcheck's
"internal error") or an exception other than the reader's own error.

    python bench/fuzz_readers.py                 # 60 s
    python bench/fuzz_readers.py --seconds 600 --seed 7

Prints the inputs tried per reader, the crashes (exception type, count, one example kept under --keep) and the
slowest input.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

_VALUES = [None, 0, -1, 2 ** 70, 1.5, float("inf"), "", "x", "580.159.04", "∞", True, [], {}, [1], {"a": 1},
           ["x"], "\x1b[31m", "a" * 500]
_DEEP = "\u0000deep\u0000"
_TOKENS = ["[", "]", "{", "}", '"', ",", ":", "null", "1e999", "-", "\\", "\ufeff", "\x00", "\n{", "NaN", "[" * 300]


def seeds():
    from builders import cpu_box, h100
    from envcheck.knowledge import Knowledge, mirrors_dir
    from envcheck.render.report import Report, report_data
    from envcheck.rules import evaluate

    knowledge = Knowledge()
    reports = []
    for build in (h100, cpu_box):
        snap = build()
        report = json.loads(json.dumps(report_data(Report(snap, evaluate(snap, knowledge)))))
        reports += [report, report["snapshot"]]
    policies = ['require = ["driver>=535", "torch>=2.3", "gpus>=1"]\n',
                'require = ["cuda>=12.1", "no-errors", "gpu-memory>=40GiB", "smoke-bf16>=300"]\n']
    mirrors = [p.read_text(encoding="utf-8") for p in sorted(mirrors_dir().glob("*.toml"))[:4]]
    return reports, policies, mirrors


def mutate_data(rng: random.Random, data):
    data = json.loads(json.dumps(data))
    for _ in range(rng.randint(1, 4)):
        node, parent, key = data, None, None
        for _ in range(rng.randint(1, 7)):
            if isinstance(node, dict) and node:
                parent, key = node, rng.choice(sorted(node))
            elif isinstance(node, list) and node:
                parent, key = node, rng.randrange(len(node))
            else:
                break
            node = parent[key]
        if parent is None:
            continue
        roll = rng.random()
        if roll < 0.7:
            parent[key] = rng.choice(_VALUES)
        elif roll < 0.85:
            parent[key] = _DEEP  # nested in the text (json.dumps itself cannot write 1,200 deep)
        elif isinstance(parent, dict):
            del parent[key]
    return data


def mutate_text(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.35:
        return text[: rng.randint(0, len(text))]
    if roll < 0.8:
        at = rng.randint(0, len(text))
        return text[:at] + rng.choice(_TOKENS) + text[at + rng.choice([0, 0, 1, 5]):]
    return text


def encode(rng: random.Random, text: str) -> bytes:
    codec = rng.choice(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1"])
    return text.encode(codec, errors="replace")


def report_input(rng: random.Random, reports) -> bytes:
    report = rng.choice(reports)
    if rng.random() < 0.6:
        report = mutate_data(rng, report)
    text = json.dumps(report, indent=rng.choice([None, 2]), allow_nan=True)
    depth = rng.choice([70, 500, 1200, 100000])
    text = text.replace(json.dumps(_DEEP), "[" * depth + "1" + "]" * depth)
    return encode(rng, mutate_text(rng, text) if rng.random() < 0.5 else text)


def toml_input(rng: random.Random, texts) -> bytes:
    text = rng.choice(texts)
    roll = rng.random()
    if roll < 0.2:
        text = text.replace("[", "[" * rng.choice([2, 100, 1000]), 1).replace("]", "]" * 2, 1)
    elif roll < 0.4:
        key = rng.choice(["require", "name", "title", "hosts", "pypi", "official", "torch_wheels_variants"])
        value = rng.choice(["5", "true", "[1, 2]", "{a = 1}", '"x"', "[[]]", "1979-05-27"])
        text += f"\n{key} = {value}\n"
    return encode(rng, mutate_text(rng, text))


def run_cli(args):
    """envcheck's own main in-process: (exit code, stderr)."""
    from envcheck.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    return code, err.getvalue()


def crash_type(stderr: str) -> str:
    marker = "internal error: "
    if marker in stderr:
        return stderr.split(marker, 1)[1].split(":", 1)[0].strip()
    return "exit 70"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="folder for one example input per crash kind")
    opts = parser.parse_args()

    from envcheck.knowledge import KnowledgeError, read_mirror_file

    rng = random.Random(opts.seed)
    reports, policies, mirrors = seeds()
    work = Path(tempfile.mkdtemp(prefix="envcheck-fuzz-"))
    good = work / "good.json"
    good.write_text(json.dumps(reports[0]), encoding="utf-8")
    tried, crashes, examples = Counter(), defaultdict(Counter), {}
    slowest = (0.0, "", b"")
    deadline = time.monotonic() + opts.seconds

    readers = ["doctor --from", "install-cmd --from", "diff", "fleet", "policy", "mirror file"]
    while time.monotonic() < deadline:
        reader = readers[tried.total() % len(readers)]
        if reader in ("policy", "mirror file"):
            data = toml_input(rng, policies if reader == "policy" else mirrors)
            path = work / ("policy.toml" if reader == "policy" else "mirror.toml")
        else:
            data = report_input(rng, reports)
            path = work / "report.json"
        path.write_bytes(data)
        start = time.perf_counter()
        problem = None
        if reader == "mirror file":
            try:
                read_mirror_file(path)
            except KnowledgeError:
                pass
            except Exception as exc:  # noqa: BLE001 - a crash is what this looks for
                problem = type(exc).__name__
        else:
            args = {"doctor --from": ["doctor", "--from", str(path), "--json"],
                    "install-cmd --from": ["install-cmd", "--from", str(path)],
                    "diff": ["diff", str(good), str(path), "--json"],
                    "fleet": ["fleet", str(good), str(path), "--json"],
                    "policy": ["doctor", "--from", str(good), "--policy", str(path), "--json"]}[reader]
            code, stderr = run_cli(args)
            if code == 70 or "Traceback" in stderr:
                problem = crash_type(stderr)
            elif reader == "fleet" and code != 0:
                problem = f"fleet lost the good report (exit {code})"
        took = time.perf_counter() - start
        tried[reader] += 1
        if took > slowest[0]:
            slowest = (took, reader, data)
        if problem:
            crashes[reader][problem] += 1
            if opts.keep and (reader, problem) not in examples:
                opts.keep.mkdir(parents=True, exist_ok=True)
                example = opts.keep / f"{reader.split()[0]}-{problem.replace(' ', '_')}{path.suffix}"
                example.write_bytes(data)
                examples[(reader, problem)] = example

    total = sum(tried.values())
    print(f"inputs tried: {total} in {opts.seconds:.0f} s (seed {opts.seed})")
    for reader in readers:
        found = crashes.get(reader) or Counter()
        said = ", ".join(f"{kind} x{n}" for kind, n in found.most_common()) or "none"
        print(f"  {reader:<20} {tried[reader]:>6} tried, crashes: {sum(found.values())} ({said})")
    print(f"crashes: {sum(sum(c.values()) for c in crashes.values())}")
    print(f"slowest input: {slowest[0] * 1000:.0f} ms ({slowest[1]}, {len(slowest[2])} bytes)")
    for (reader, problem), example in examples.items():
        print(f"  example of {problem} in {reader}: {example}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
