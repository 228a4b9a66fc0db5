"""smoke on the CPU machine: the skip paths for real, and the arithmetic against the real H100 figures.

The H100 figures (fixtures README: 8192^3 bf16 799 TFLOP/s, fp32 52, tf32 388, fp16 771, mean of 20
after 5 warm-ups) are turned back into the milliseconds the script would report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builders import h100
from envcheck.findings import Severity
from envcheck.knowledge import Knowledge
from envcheck.smoke.host import build_report, gbps, judge, parse_output, plan_for, plan_iters, tflops
from envcheck.runner import CommandResult

ROOT = Path(__file__).resolve().parents[2]
K = Knowledge()
H100_8192 = {"fp32": 52, "tf32": 388, "fp16": 771, "bf16": 799}


def ms_for(rate_tflops: float, n: int = 8192, iters: int = 20) -> float:
    return 2 * n ** 3 * iters / (rate_tflops * 1e12) * 1000


def h100_raw(rates=H100_8192, error=1e-3) -> dict:
    matmul = {d: {"n": 8192, "iters": 20, "ms": ms_for(r), "max_rel_error": error / 100 if d == "fp32" else error,
                  "finite": True} for d, r in rates.items()}
    return {"ok": True, "skip": None, "torch": "2.11.0+cu130", "devices": [{
        "index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "init_s": 0.15, "alloc_ok": True,
        "matmul": matmul,
        "bandwidth": {"bytes": 256 * 2 ** 20, "h2d_ms": 256 * 2 ** 20 / 55e9 * 1000,
                      "d2h_ms": 256 * 2 ** 20 / 50e9 * 1000, "d2d_ms": 2 * 256 * 2 ** 20 / 2979e9 * 1000}}]}


def test_arithmetic_matches_the_recorded_rates():
    assert tflops(8192, 20, ms_for(799)) == pytest.approx(799)
    assert gbps(2 ** 30, 1000.0) == pytest.approx(1.073741824)
    rep = build_report(h100_raw(), K)
    bf16 = {r.dtype: r for r in rep.devices[0].matmul}["bf16"]
    assert bf16.tflops == pytest.approx(799) and bf16.peak_tflops == pytest.approx(989.4, rel=0.02)
    assert 0.75 < bf16.ratio < 0.85
    assert rep.devices[0].h2d_gbps == pytest.approx(55) and rep.devices[0].d2d_gbps == pytest.approx(2979)


def test_healthy_h100_has_no_findings():
    assert judge(build_report(h100_raw(), K), h100().gpus) == []


def test_slow_gpu_names_likely_causes():
    snap = h100()
    snap.gpus[0].clock_event_reasons = ["sw_power_cap", "hw_thermal_slowdown"]
    snap.gpus[0].power_limit_w = 300.0
    snap.gpus[0].power_limit_default_w = 700.0
    rates = dict(H100_8192, bf16=300, fp16=290)
    findings = judge(build_report(h100_raw(rates), K), snap.gpus)
    slow = [f for f in findings if f.code == "smoke-slow"]
    assert {f.facts["dtype"] for f in slow} == {"bf16", "fp16"}
    assert "hw_thermal_slowdown" in slow[0].detail and "power cap 300 W" in slow[0].detail
    assert slow[0].severity == Severity.WARNING


def test_wrong_result_is_an_error():
    findings = judge(build_report(h100_raw(error=0.5), K), h100().gpus)
    wrong = {f.facts["dtype"] for f in findings if f.code == "smoke-wrong-result"}
    assert wrong >= {"fp16", "bf16", "tf32"}
    assert all(f.severity == Severity.ERROR for f in findings if f.code == "smoke-wrong-result")


def test_plan_saturates_fast_gpus_and_bounds_slow_ones():
    h100_plan = plan_for(K, "NVIDIA H100 80GB HBM3")
    assert h100_plan["sizes"] == {"fp32": 8192, "tf32": 8192, "fp16": 8192, "bf16": 8192}
    assert h100_plan["iters"]["bf16"] == 50 and 3 <= h100_plan["iters"]["fp32"] <= 5
    assert plan_iters({}) == {"fp32": 5, "tf32": 10, "fp16": 20, "bf16": 20}
    assert plan_iters({"bf16": 989.4}, 4096)["bf16"] == 50  # one size for every dtype still works


def test_the_recorded_h100_is_inside_its_band_at_8192():
    """The fixture's own figures (one point of the SXM5 band) pass the band verdict, and would at 4096^3 too."""
    rep = build_report(h100_raw(), K)
    assert all(r.basis == "band" and r.tflops >= r.slow_below for r in rep.devices[0].matmul)
    at_4096 = {"fp32": 52, "tf32": 401, "fp16": 763, "bf16": 790}  # fixtures README, 4096^3
    assert judge(build_report(h100_raw(at_4096), K), h100().gpus) == []


def test_hang_and_garbage_become_failures():
    hung = parse_output(CommandResult(argv=["python"], timed_out=True, duration_s=120))
    assert "no answer within 120 s" in hung["error"]
    junk = parse_output(CommandResult(argv=["python"], returncode=-11, signal=11, stdout="garbage", stderr="boom"))
    findings = judge(build_report(junk, K), [])
    assert findings[0].code == "smoke-failed" and "SIGSEGV" in findings[0].detail


def smoke_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "envcheck", "smoke", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=str(ROOT))


def test_cpu_only_torch_is_skipped_cleanly(torch_venv):
    from conftest import venv_python
    proc = smoke_cli("--json", "--python", str(venv_python(torch_venv)))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert "CPU-only build" in data["smoke"]["skipped"] and data["findings"][0]["code"] == "smoke-skipped"


def test_no_torch_is_skipped_cleanly(bare_venv):
    from conftest import venv_python
    proc = smoke_cli("--python", str(venv_python(bare_venv)))
    assert proc.returncode == 0 and "skipped" in proc.stdout and "Traceback" not in proc.stderr + proc.stdout


def test_a_skip_reason_this_host_does_not_know_is_shown_as_sent():
    from envcheck.smoke.host import skip_message

    assert skip_message({"why": "cpu-only", "version": "2.13.0+cpu"}) == "torch 2.13.0+cpu is a CPU-only build"
    odd = skip_message({"why": "quantum", "qubits": 3})
    assert odd == "why=quantum, qubits=3"
    assert skip_message({"why": "no-device"}) == "why=no-device"  # a field missing: not a KeyError
    assert skip_message(None) is None and skip_message("text") is None


GPU_SESSION = ROOT / "bench" / "gpu_session.py"


def gpu_session(out, path: str):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = path
    return subprocess.run([sys.executable, str(GPU_SESSION), str(out)], capture_output=True, text=True, env=env,
                          timeout=120, cwd=str(ROOT))


def test_gpu_session_without_a_gpu_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "rec"
    proc = gpu_session(out, str(tmp_path))  # a PATH without nvidia-smi
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.strip() == ("gpu_session: no NVIDIA GPU to record here: nvidia-smi not found (no NVIDIA "
                                   "driver here); nothing written")
    assert not out.exists()


def test_gpu_session_with_a_driver_but_no_cuda_torch_exits_2(tmp_path):
    """nvidia-smi lists a GPU, but the interpreter's torch sees none (here: no torch at all): still nothing recorded."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'\n")
    smi.chmod(0o755)
    out = tmp_path / "rec"
    proc = gpu_session(out, f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert proc.returncode == 2, proc.stderr
    assert "no NVIDIA GPU to record here" in proc.stdout and "torch" in proc.stdout and "Traceback" not in proc.stderr
    assert not out.exists()


def test_gpu_session_names_the_fixture_it_would_make(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_session", GPU_SESSION)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    hint = mod.fixture_hint(tmp_path, {"smoke": {"torch": "2.11.0+cu130", "devices": [{"name": "NVIDIA H200"}] * 8}})
    assert f"cp -r {tmp_path} tests/fixtures/8x-h200-torch2.11.0" in hint and "tests/fixtures/README.md" in hint
