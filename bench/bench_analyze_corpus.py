"""Score `envcheck analyze` on the corpora of real pastes (issue 13, requirement 5).

Two corpora are scored:

* ``tests/fixtures/analyze/public/``: one ``<name>.txt`` paste per case and its ``<name>.truth.toml``
  (source, year, what the thread confirmed, ``expect`` codes that must fire, ``forbid`` codes that must
  not, ``control`` for a healthy machine, and ``[facts]`` read by hand from the paste);
* ``tests/fixtures/analyze/expected.toml``: the older corpus, whose ``codes`` is the exact set of codes
  (every one must fire, no other may) and whose ``values`` give the parsed facts.

A case is right only when every expected code fires, no forbidden one does, and every listed fact
matches the parsed snapshot. A case whose analysis crashes counts as wrong, with the exception shown.
This measures; it does not gate: the exit status is 0 whatever the score.

    python bench/bench_analyze_corpus.py           # the score and every wrong case
    python bench/bench_analyze_corpus.py --json    # the same as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envcheck.knowledge import parse_toml  # noqa: E402 (the one TOML parser; after the path is set)

CORPUS = ROOT / "tests" / "fixtures" / "analyze"
PUBLIC = CORPUS / "public"
EXPECTED = CORPUS / "expected.toml"

#: truth-file fact -> how it is read from ``result.snapshot.to_dict()``
FACT_PATHS = {
    "driver": "driver.version",
    "driver_max_cuda": "driver.cuda_version",
    "gpu_count": "len(gpus)",
    "torch_version": "torch.version",
    "torch_cuda": "torch.cuda",
    "nvcc": "cuda_toolkits.0.version",
}

#: the keys a truth file may have
TRUTH_KEYS = {"source", "year", "confirmed", "control", "expect", "forbid", "facts"}


def lookup(data: Dict[str, Any], path: str) -> Any:
    """A dotted path into the snapshot's dict ("gpus.0.name", "len(gpus)"); None when absent."""
    if path.startswith("len(") and path.endswith(")"):
        value = lookup(data, path[4:-1])
        return len(value) if isinstance(value, (list, dict)) else 0
    node: Any = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
        if node is None:
            return None
    return node


def same(want: Any, got: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return want == got
    return want is not None and got is not None and str(want) == str(got)


def load_public() -> List[Dict[str, Any]]:
    cases = []
    for paste in sorted(PUBLIC.glob("*.txt")):
        truth_path = paste.with_name(paste.name[:-4] + ".truth.toml")
        case: Dict[str, Any] = {"name": f"public/{paste.name}", "path": paste, "corpus": "public"}
        try:
            truth = parse_toml(truth_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            case.update(truth_error=f"{type(exc).__name__}: {exc}", year=None, control=False, expect=[],
                        forbid=[], facts={}, exact=False)
            cases.append(case)
            continue
        facts = {FACT_PATHS.get(k, k): v for k, v in (truth.get("facts") or {}).items()}
        case.update(year=truth.get("year"), control=bool(truth.get("control", False)),
                    expect=list(truth.get("expect", [])), forbid=list(truth.get("forbid", [])),
                    facts=facts, exact=False, source=truth.get("source"))
        cases.append(case)
    return cases


def load_older() -> List[Dict[str, Any]]:
    if not EXPECTED.exists():
        return []
    data = parse_toml(EXPECTED.read_text(encoding="utf-8"))
    wanted_paths = set(FACT_PATHS.values())
    cases = []
    for name, entry in sorted(data.items()):
        values = entry.get("values", {}) or {}
        facts = {k: v for k, v in values.items() if k in wanted_paths}
        cases.append({"name": name, "path": CORPUS / name, "corpus": "older", "year": None, "control": False,
                      "expect": list(entry.get("codes", [])), "forbid": [], "facts": facts, "exact": True})
    return cases


def score(case: Dict[str, Any], knowledge: Any) -> Dict[str, Any]:
    from envcheck.analyze import Input, analyze

    out: Dict[str, Any] = {"name": case["name"], "corpus": case["corpus"], "year": case["year"],
                           "control": case["control"], "right": False, "codes": [], "missed": [], "traps": [],
                           "facts_differ": {}, "errors": [], "error": None}
    if case.get("truth_error"):
        out["error"] = "truth file: " + case["truth_error"]
        return out
    try:
        text = case["path"].read_text(encoding="utf-8")
        result = analyze([Input(case["path"].name, text)], knowledge)
        codes = sorted({f.code for f in result.findings})
        snap = result.snapshot.to_dict()
        out["errors"] = sorted({f.code for f in result.findings if getattr(f.severity, "value", f.severity) == "error"})
    except Exception as exc:  # a crash is a wrong answer, shown with its cause
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=4)
        out["missed"] = list(case["expect"])
        return out
    out["codes"] = codes
    out["missed"] = [c for c in case["expect"] if c not in codes]
    if case["exact"]:
        out["traps"] = [c for c in codes if c not in case["expect"]]
    else:
        out["traps"] = [c for c in case["forbid"] if c in codes]
    for path, want in case["facts"].items():
        got = lookup(snap, path)
        if not same(want, got):
            out["facts_differ"][path] = {"want": want, "got": got}
    out["right"] = not out["missed"] and not out["traps"] and not out["facts_differ"]
    return out


def tally(rows: List[Dict[str, Any]]) -> Dict[str, int]:
    return {"right": sum(1 for r in rows if r["right"]), "all": len(rows)}


def run() -> Dict[str, Any]:
    from envcheck.knowledge import Knowledge

    knowledge = Knowledge()
    cases = load_public() + load_older()
    rows = [score(c, knowledge) for c in cases]
    recent = [r for r in rows if isinstance(r["year"], int) and 2025 <= r["year"] <= 2026]
    controls = [r for r in rows if r["control"]]
    missed = Counter(c for r in rows for c in r["missed"])
    traps = Counter(c for r in rows for c in r["traps"])
    return {
        "total": tally(rows),
        "recent_2025_2026": tally(recent),
        "controls": tally(controls),
        "public": tally([r for r in rows if r["corpus"] == "public"]),
        "older": tally([r for r in rows if r["corpus"] == "older"]),
        "missed_codes": dict(missed.most_common()),
        "traps_hit": dict(traps.most_common()),
        "controls_with_errors": [{"name": r["name"], "errors": r["errors"]} for r in controls if r["errors"]],
        "wrong": [r for r in rows if not r["right"]],
        "cases": rows,
    }


def pct(t: Dict[str, int]) -> str:
    return f"{t['right']}/{t['all']}" + (f" ({100.0 * t['right'] / t['all']:.1f}%)" if t["all"] else "")


def show(report: Dict[str, Any]) -> None:
    print(f"cases right: {pct(report['total'])}   2025-2026: {pct(report['recent_2025_2026'])}   "
          f"controls: {pct(report['controls'])}")
    print(f"  public corpus: {pct(report['public'])}   older corpus (expected.toml): {pct(report['older'])}")
    if report["wrong"]:
        print("\nwrong cases:")
    for r in report["wrong"]:
        year = f" ({r['year']})" if r["year"] else ""
        parts = []
        if r["error"]:
            parts.append(f"crashed: {r['error']}")
        if r["missed"]:
            parts.append("missed " + ", ".join(r["missed"]))
        if r["traps"]:
            parts.append(("extra " if r["corpus"] == "older" else "traps ") + ", ".join(r["traps"]))
        for path, d in r["facts_differ"].items():
            parts.append(f"{path}: want {d['want']!r} got {d['got']!r}")
        print(f"  {r['name']}{year}: " + "; ".join(parts))
    if report["controls_with_errors"]:
        print("\ncontrols with an error finding:")
        for c in report["controls_with_errors"]:
            print(f"  {c['name']}: {', '.join(c['errors'])}")
    else:
        print("\ncontrols with an error finding: none")
    if report["missed_codes"]:
        print("\nmissed codes: " + ", ".join(f"{k} x{v}" for k, v in report["missed_codes"].items()))
    print("traps hit / extra codes: " + (", ".join(f"{k} x{v}" for k, v in report["traps_hit"].items())
                                         or "none"))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        report = run()
    except Exception as exc:  # measuring must not fail the caller
        report = {"total": {"right": 0, "all": 0}, "fatal": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"could not score the corpus: {report['fatal']}\n{report['traceback']}")
        return 0
    try:
        if args.json:
            for r in report["cases"]:
                r.pop("traceback", None)
            print(json.dumps({k: v for k, v in report.items() if k != "wrong"}, indent=2, default=str))
        else:
            show(report)
        sys.stdout.flush()
    except BrokenPipeError:  # piped into head: not an error of the measurement
        sys.stdout = open(os.devnull, "w")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
