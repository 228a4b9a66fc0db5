"""The public analyze corpus (tests/fixtures/analyze/public/): real pastes and the truth their threads confirm.

These tests hold whatever the rules conclude: every paste has a truth file and a README row with its
source, every truth file is well formed and names only codes that exist (or that issues 13/15 plan),
analyze never crashes on a paste nor reports `probe-failed`, and the scoring bench runs and counts every
case. How many cases analyze gets right is measured by bench/bench_analyze_corpus.py, not asserted.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from envcheck.analyze import Input, analyze
from envcheck.knowledge import Knowledge, load_toml
from envcheck.rules.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "analyze" / "public"
EXPECTED = Path(__file__).resolve().parents[1] / "fixtures" / "analyze" / "expected.toml"
BENCH = ROOT / "bench" / "bench_analyze_corpus.py"


def _load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_analyze_corpus", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
PASTES = sorted(PUBLIC.glob("*.txt"))
TRUTH_FILES = sorted(PUBLIC.glob("*.truth.toml"))
REQUIRED_KEYS = {"source", "year", "confirmed", "control", "expect", "forbid"}
KNOWN_CODES = set(CODES)


def truth_of(paste: Path) -> Dict[str, Any]:
    return load_toml(paste.with_name(paste.name[:-4] + ".truth.toml"))


def readme_rows() -> Dict[str, str]:
    """file name -> the source URL of its row in the README table."""
    rows: Dict[str, str] = {}
    for line in (PUBLIC / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*`([^`]+\.txt)`\s*\|\s*(\S+)\s*\|", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


def test_corpus_size() -> None:
    truths = [truth_of(p) for p in PASTES]
    assert len(PASTES) >= 80
    assert sum(1 for t in truths if 2025 <= t["year"] <= 2026) >= 60
    assert sum(1 for t in truths if t["control"]) >= 15


def test_every_paste_has_a_truth_file_and_back() -> None:
    pastes = {p.name[:-4] for p in PASTES}
    truths = {p.name[: -len(".truth.toml")] for p in TRUTH_FILES}
    assert pastes - truths == set(), "pastes without a truth file"
    assert truths - pastes == set(), "truth files without a paste"


def test_every_paste_has_a_readme_row_with_its_source() -> None:
    rows = readme_rows()
    missing = [p.name for p in PASTES if p.name not in rows]
    assert missing == [], f"no README row for {missing}"
    assert sorted(rows) == [p.name for p in PASTES], "README rows for files that do not exist"
    for paste in PASTES:
        assert rows[paste.name].startswith("https://"), paste.name
        assert rows[paste.name] == truth_of(paste)["source"], f"{paste.name}: README and truth file disagree"


@pytest.mark.parametrize("paste", PASTES, ids=[p.name for p in PASTES])
def test_truth_file_is_well_formed(paste: Path) -> None:
    truth = truth_of(paste)
    assert REQUIRED_KEYS <= set(truth), f"missing {REQUIRED_KEYS - set(truth)}"
    assert set(truth) <= bench.TRUTH_KEYS, f"unknown keys {set(truth) - bench.TRUTH_KEYS}"
    assert re.match(r"^https://github\.com/[^/]+/[^/]+/(issues|pull)/\d+$", truth["source"]), truth["source"]
    assert isinstance(truth["year"], int) and 2014 <= truth["year"] <= 2026
    assert isinstance(truth["confirmed"], str) and len(truth["confirmed"]) > 20
    assert isinstance(truth["control"], bool)
    for key in ("expect", "forbid"):
        assert isinstance(truth[key], list) and all(isinstance(c, str) for c in truth[key])
        unknown = [c for c in truth[key] if c not in KNOWN_CODES]
        assert unknown == [], f"{key} names codes that neither exist nor are planned: {unknown}"
        assert len(set(truth[key])) == len(truth[key]), f"{key} repeats a code"
    assert set(truth["expect"]).isdisjoint(truth["forbid"])
    if truth["control"]:
        assert truth["expect"] == [], "a control expects no finding"
        assert truth["forbid"], "a control lists the false alarms it must not raise"
    facts = truth.get("facts", {})
    assert set(facts) <= set(bench.FACT_PATHS), f"unknown facts {set(facts) - set(bench.FACT_PATHS)}"
    if "gpu_count" in facts:
        assert isinstance(facts["gpu_count"], int)
    text = paste.read_text(encoding="utf-8")
    for key, value in facts.items():
        if key == "gpu_count":
            continue
        assert isinstance(value, str) and value, key
        # a fact is read off the paste: its text is there, or (torch_cuda) the wheel's +cuNNN tag is
        spellings = {value}
        if key == "torch_cuda":
            spellings.add("cu" + value.replace(".", ""))
        assert key == "driver_max_cuda" or any(s in text for s in spellings), (
            f"fact {key}={value!r} is not in the paste")


@pytest.mark.parametrize("paste", PASTES, ids=[p.name for p in PASTES])
def test_analyze_never_crashes_nor_reports_probe_failed(paste: Path, knowledge: Knowledge) -> None:
    result = analyze([Input(paste.name, paste.read_text(encoding="utf-8"))], knowledge)
    codes = [f.code for f in result.findings]
    assert "probe-failed" not in codes
    assert all(c in CODES for c in codes), "analyze emitted a code the catalogue does not know"
    json.dumps(result.snapshot.to_dict(), default=str)  # the snapshot the bench reads is serialisable


def test_bench_runs_and_counts_every_case() -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert "fatal" not in report, report.get("fatal")
    older = len(load_toml(EXPECTED)) if EXPECTED.exists() else 0
    assert report["total"]["all"] == len(PASTES) + older
    assert report["public"]["all"] == len(PASTES)
    assert report["older"]["all"] == older
    assert report["controls"]["all"] == sum(1 for p in PASTES if truth_of(p)["control"])
    assert report["recent_2025_2026"]["all"] == sum(1 for p in PASTES if 2025 <= truth_of(p)["year"] <= 2026)
    assert len(report["cases"]) == report["total"]["all"]
    for key in ("missed_codes", "traps_hit", "controls_with_errors"):
        assert key in report
    crashed: List[str] = [c["name"] for c in report["cases"] if c["error"]]
    assert crashed == [], f"analyze crashed on {crashed}"


def test_bench_text_output_runs() -> None:
    proc = subprocess.run([sys.executable, str(BENCH)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("cases right: ")
