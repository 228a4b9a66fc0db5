"""The in-target smoke script, run for real in a CPU torch with "CUDA" faked on the CPU.

No GPU here, so tests/fixtures/fake_cuda_run.py tells a real CPU torch that it has two H100s: the
script's products, float64 checks, copies and all-reduce are real torch arithmetic, only the device
is faked (see the harness). This checks what the GPU session would otherwise be the first to see:
the script's control flow, the JSON it prints, and the host's reading and judging of it, including
a GPU that computes wrong numbers and one that fails outright.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Dict, Tuple

import pytest
from rich.console import Console

from conftest import clean_env, venv_python
from envcheck.knowledge import Knowledge
from envcheck.probes import marker_json
from envcheck.smoke.render import render_smoke
from envcheck.smoke.host import MARKER, SCRIPT, TOLERANCE, build_report, judge

#: one xdist worker runs the whole module, so its module-scoped fixtures (a real run each) run once
pytestmark = pytest.mark.xdist_group("smoke_script")
HARNESS = Path(__file__).resolve().parents[1] / "fixtures" / "fake_cuda_run.py"
K = Knowledge()
#: small products: the CPU is ~10^4 times slower than an H100 (one "n" for every dtype, and no "allreduce_mib": the
#: older config shape, still understood; test_smoke_bands.py runs the per-dtype "sizes" and the by-name plans)
CONFIG = {"plan": {"*": {"n": 192, "iters": {"fp32": 3, "tf32": 3, "fp16": 2, "bf16": 3}}}, "bandwidth_mib": 4,
          "multi": True, "devices": None}


def run_script(torch_venv: Path, config=CONFIG, **faults: str) -> dict:
    env = clean_env(**faults)
    proc = subprocess.run([str(venv_python(torch_venv)), str(HARNESS), str(SCRIPT), json.dumps(config)],
                          capture_output=True, text=True, env=env, timeout=300)
    answer = marker_json(proc.stdout, MARKER)
    assert answer is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    return answer


def run_batch(torch_venv: Path, entries: Dict[str, Tuple[dict, Dict[str, str]]]) -> Dict[str, dict]:
    """Several runs of the script in one interpreter (torch imported once): name -> (config, faults)."""
    runs = [{"config": config, "faults": faults} for config, faults in entries.values()]
    proc = subprocess.run([str(venv_python(torch_venv)), str(HARNESS), str(SCRIPT), "--batch", json.dumps(runs)],
                          capture_output=True, text=True, env=clean_env(), timeout=600)
    outputs = [json.loads(line[len("BATCH-OUTPUT "):]) for line in proc.stdout.splitlines()
               if line.startswith("BATCH-OUTPUT ")]
    assert len(outputs) == len(runs), proc.stdout[-2000:] + proc.stderr[-2000:]
    answers = {}
    for name, output in zip(entries, outputs):
        answers[name] = marker_json(output, MARKER)
        assert answers[name] is not None, (name, output[-2000:])
    return answers


def _selection(devices):
    return dict(CONFIG, devices=devices, multi=False, bandwidth_mib=0, plan={"*": {"n": 64, "iters": {"bf16": 2}}})


SELECTIONS = [([1], [1], None), ([0, 7], [0], None), ([5], [], {"why": "no-device", "count": 2})]


@pytest.fixture(scope="module")
def runs(torch_venv) -> Dict[str, dict]:
    """Every run this module judges, in one interpreter: the healthy pair, the faults, the device selections."""
    entries = {"healthy": (CONFIG, {}), "wrong-bf16": (CONFIG, {"FAKE_WRONG_DTYPE": "bf16"}),
               "broken-1": (CONFIG, {"FAKE_BROKEN_GPU": "1"})}
    entries.update({f"devices={devices}": (_selection(devices), {}) for devices, _i, _s in SELECTIONS})
    return run_batch(torch_venv, entries)


@pytest.fixture(scope="module")
def healthy(runs):
    return runs["healthy"]


def test_a_run_alone_answers_as_in_a_batch(torch_venv, runs):
    """The batch is only a saving: one run in its own interpreter gives the same devices and plan."""
    alone = run_script(torch_venv, _selection([1]))
    batched = runs["devices=[1]"]
    assert [d["index"] for d in alone["devices"]] == [d["index"] for d in batched["devices"]] == [1]
    assert alone["devices"][0]["matmul"].keys() == batched["devices"][0]["matmul"].keys() == {"bf16"}


def test_every_gpu_every_dtype_measured_and_checked(healthy):
    assert healthy["ok"] and healthy["skip"] is None and healthy["torch"].startswith("2.13.0")
    assert [d["index"] for d in healthy["devices"]] == [0, 1]
    for dev in healthy["devices"]:
        assert "error" not in dev, dev
        assert dev["name"] == "NVIDIA H100 80GB HBM3" and dev["capability"] == "9.0" and dev["alloc_ok"] is True
        assert set(dev["matmul"]) == {"fp32", "tf32", "fp16", "bf16"}
        for dtype, m in dev["matmul"].items():
            assert m["n"] == 192 and m["iters"] == CONFIG["plan"]["*"]["iters"][dtype]
            assert m["ms"] > 0 and m["finite"] is True
            assert 0 <= m["max_rel_error"] <= TOLERANCE[dtype], (dtype, m)
        bw = dev["bandwidth"]
        assert bw["bytes"] == 4 * 2 ** 20 and min(bw["h2d_ms"], bw["d2h_ms"], bw["d2d_ms"]) > 0
    multi = healthy["multi"]
    assert multi["peer"] == {"0-1": True, "1-0": True}
    assert multi["allreduce_ok"] is True and multi["allreduce_bytes"] == 64 * 2 ** 20 and multi["allreduce_s"] > 0


def test_the_host_reads_and_judges_the_real_answer(healthy):
    report = build_report(healthy, K)
    assert len(report.devices) == 2 and report.allreduce_busbw_gbps and report.allreduce_busbw_gbps > 0
    for dev in report.devices:
        assert {r.dtype for r in dev.matmul} == {"fp32", "tf32", "fp16", "bf16"}
        assert all(r.ok and r.tflops and r.peak_tflops for r in dev.matmul)
        assert dev.h2d_gbps and dev.d2h_gbps and dev.d2d_gbps
    findings = judge(report, [])
    # a CPU is far below what an H100 measures: every product is "slow" against its band, nothing is wrong or failed
    assert {f.code for f in findings} == {"smoke-slow"} and len(findings) == 8
    assert {f.facts["basis"] for f in findings} == {"band"}
    out = io.StringIO()
    render_smoke(report, findings, "terminal", lambda: Console(file=out, width=160, color_system=None))
    assert "NVIDIA H100 80GB HBM3" in out.getvalue() and "bf16" in out.getvalue()


def test_the_answer_matches_the_report_schema(healthy):
    from test_schema import errors, sub_validator

    report = build_report(healthy, K)
    from envcheck.serde import to_data

    data = {"schema_version": 1, "smoke": to_data(report), "findings": [to_data(f) for f in judge(report, [])]}
    assert errors(json.loads(json.dumps(data)), sub_validator("smoke_output")) == []


def test_wrong_products_are_caught_by_the_float64_check(runs):
    raw = runs["wrong-bf16"]
    for dev in raw["devices"]:
        assert dev["matmul"]["bf16"]["max_rel_error"] > TOLERANCE["bf16"] / 4
        assert dev["matmul"]["fp16"]["max_rel_error"] <= TOLERANCE["fp16"]
    wrong = [f for f in judge(build_report(raw, K), []) if f.code == "smoke-wrong-result"]
    assert [(f.facts["gpu"], f.facts["dtype"]) for f in wrong] == [(0, "bf16"), (1, "bf16")]


def test_a_failing_gpu_is_reported_and_the_others_still_measured(runs):
    raw = runs["broken-1"]
    ok, broken = raw["devices"]
    assert "error" not in ok and set(ok["matmul"]) == {"fp32", "tf32", "fp16", "bf16"}
    assert broken["error"] == "RuntimeError: CUDA error: an illegal memory access was encountered"
    failed = [f for f in judge(build_report(raw, K), []) if f.code == "smoke-failed"]
    assert len(failed) == 1 and "illegal memory access" in failed[0].detail


@pytest.mark.parametrize("devices, indexes, skipped", SELECTIONS)
def test_device_selection(runs, devices, indexes, skipped):
    raw = runs[f"devices={devices}"]
    assert raw["skip"] == skipped
    assert [d["index"] for d in raw["devices"]] == indexes
    assert all(set(d["matmul"]) == {"bf16"} and "bandwidth" not in d for d in raw["devices"])
    assert "multi" not in raw
