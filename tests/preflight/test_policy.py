"""Requirement expressions and their evaluation, on the real recorded machines (h100(), cpu_box())."""

from __future__ import annotations

import json

import pytest

from builders import cpu_box, h100
from envcheck.knowledge import Knowledge
from envcheck.preflight.policy import (PolicyResult, parse_requirement, parse_requirements, parse_size_mib, policy_data,
                                       smoke_dtypes, smoke_runner)
from envcheck.preflight.render import policy_lines, policy_markdown
from envcheck.preflight.policy import evaluate as evaluate_policy
from envcheck.rules import evaluate as evaluate_rules
from envcheck.smoke.host import DeviceResult, DtypeResult, SmokeReport, build_report

K = Knowledge()
ISSUE_EXAMPLES = ["torch>=2.3", "cuda", "gpus>=8", "gpu-memory>=70GiB", "driver>=535", "compute-capability>=8.0",
                  "no-warnings", "smoke-bf16>=500", "no-finding=gpu-health"]


def judge(exprs, snap, run_smoke=None) -> PolicyResult:
    return evaluate_policy(parse_requirements(exprs, None), snap, evaluate_rules(snap, K), run_smoke)


def status(result: PolicyResult) -> dict:
    return {r.requirement.expr: r.status for r in result.results}


# --------------------------------------------------------------------------- parsing


def test_every_example_of_the_issue_parses():
    reqs = parse_requirements(ISSUE_EXAMPLES, None)
    assert [r.expr for r in reqs] == ISSUE_EXAMPLES
    by = {r.name: r for r in reqs}
    assert by["gpus"].threshold == 8 and by["driver"].threshold == (535,)
    assert by["compute-capability"].threshold == (8, 0)
    assert by["gpu-memory"].threshold == 70 * 1024
    assert by["smoke-bf16"].threshold == 500.0 and by["no-finding"].threshold == "gpu-health"
    assert by["cuda"].op is None and by["no-warnings"].op is None


def test_spacing_and_equals_are_normalised():
    assert parse_requirement(" driver >= 535.104 ").expr == "driver>=535.104"
    assert parse_requirement("gpus=8").op == "=="
    assert parse_requirement("no-finding == GPU-HEALTH").expr == "no-finding=gpu-health"


@pytest.mark.parametrize("text, needle", [
    ("", "empty"),
    ("gpu>=8", "unknown requirement 'gpu'"),
    ("driver>=abc", "not a dotted version"),
    ("gpus>=eight", "not a whole number"),
    ("gpu-memory>=lots", "not a size"),
    ("smoke-bf16>=fast", "not a number"),
    ("no-warnings>=1", "takes no operator"),
    ("driver", "needs an operator"),
    ("no-finding=not-a-code", "unknown finding code"),
    ("no-finding>=gpu-health", "no-finding=CODE"),
    ("torch>=two", "not a version"),
    ("torch >= ", "cannot parse"),
])
def test_bad_expressions_say_why(text, needle):
    with pytest.raises(ValueError) as err:
        parse_requirements([text], None)
    assert needle in str(err.value)
    assert "--require" in str(err.value) or "empty" in str(err.value)


def test_sizes():
    assert parse_size_mib("70GiB") == 71680
    assert parse_size_mib("70 GiB") == 71680
    assert parse_size_mib("81559MiB") == 81559
    assert parse_size_mib("1TiB") == 1024 * 1024
    assert parse_size_mib("80GB") == pytest.approx(80e9 / 2 ** 20)
    assert parse_size_mib("70") == 71680  # a bare number is GiB
    assert parse_size_mib("70 parsecs") is None


def test_policy_file_then_require_each_once(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('# pre-flight for the training fleet\nrequire = ["torch>=2.3", "driver>=535", "cuda"]\n')
    reqs = parse_requirements(["driver >= 535", "gpus>=8"], path)
    assert [r.expr for r in reqs] == ["torch>=2.3", "driver>=535", "cuda", "gpus>=8"]
    assert reqs[0].origin == str(path) and reqs[-1].origin == "--require"


@pytest.mark.parametrize("content, needle", [
    ('require = "torch>=2.3"', "must be a list of strings"),
    ("needs = []", "no `require"),
    ("require = [", "cannot read policy file"),
    ('require = ["gpu>=8"]', "unknown requirement"),
])
def test_bad_policy_files(tmp_path, content, needle):
    path = tmp_path / "p.toml"
    path.write_text(content)
    with pytest.raises(ValueError) as err:
        parse_requirements([], path)
    assert needle in str(err.value)
    assert "knowledge file" not in str(err.value)


def test_missing_policy_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        parse_requirements([], tmp_path / "nope.toml")


# --------------------------------------------------------------------------- evaluation on the H100


def test_h100_meets_what_it_has_and_not_what_it_lacks():
    result = judge(["torch>=2.3", "cuda", "gpu-memory>=70GiB", "driver>=535", "compute-capability>=8.0",
                    "no-warnings", "no-finding=gpu-health", "gpus>=8", "gpus>=1", "cuda>=13.0", "torch-cuda<13",
                    "cudnn>=9.19", "python>=3.10", "driver-cuda>=12.8", "no-errors"], h100())
    assert status(result) == {
        "torch>=2.3": "met", "cuda": "met", "gpu-memory>=70GiB": "met", "driver>=535": "met",
        "compute-capability>=8.0": "met", "no-warnings": "met", "no-finding=gpu-health": "met",
        "gpus>=8": "unmet", "gpus>=1": "met", "cuda>=13.0": "met", "torch-cuda<13": "unmet",
        "cudnn>=9.19": "met", "python>=3.10": "met", "driver-cuda>=12.8": "met", "no-errors": "met"}
    assert not result.ok
    gpus = next(r for r in result.results if r.requirement.expr == "gpus>=8")
    assert gpus.reason == "1 GPU(s) (nvidia-smi), needs >=8" and gpus.have == 1
    assert next(r for r in result.results if r.requirement.expr == "driver>=535").reason == "driver 580.159.04"


def test_h100_memory_and_capability_thresholds():
    assert status(judge(["gpu-memory>=80GiB"], h100())) == {"gpu-memory>=80GiB": "unmet"}  # 81559 MiB = 79.6 GiB
    assert status(judge(["gpu-memory>=80GB"], h100())) == {"gpu-memory>=80GB": "met"}  # 80e9 bytes = 76294 MiB
    assert status(judge(["compute-capability>=10.0"], h100())) == {"compute-capability>=10.0": "unmet"}
    assert status(judge(["compute-capability==9.0"], h100())) == {"compute-capability==9.0": "met"}


def test_torch_versions_compare_like_pip():
    snap = h100()  # 2.11.0+cu130
    assert status(judge(["torch>=2.3", "torch<2.12", "torch==2.11", "torch==2.11.0+cu130", "torch!=2.11.0+cu126",
                         "torch>=2.12"], snap)) == {
        "torch>=2.3": "met", "torch<2.12": "met", "torch==2.11": "met", "torch==2.11.0+cu130": "met",
        "torch!=2.11.0+cu126": "met", "torch>=2.12": "unmet"}


def test_no_finding_and_no_warnings_read_the_findings():
    snap = h100()  # one info finding: cudnn-system-differs
    result = judge(["no-finding=cudnn-system-differs", "no-warnings"], snap)
    assert status(result) == {"no-finding=cudnn-system-differs": "unmet", "no-warnings": "met"}
    snap.gpus[0].ecc_uncorrected_volatile = 2
    result = judge(["no-warnings", "no-finding=gpu-health", "no-errors"], snap)
    assert status(result)["no-warnings"] == "unmet" and status(result)["no-finding=gpu-health"] == "unmet"
    assert "gpu-health" in result.results[0].reason


def test_driver_too_old_on_the_h100():
    snap = h100()
    snap.driver.version = snap.driver.kernel_module_version = "525.60.13"
    result = judge(["driver>=535"], snap)
    assert status(result) == {"driver>=535": "unmet"}
    assert result.results[0].reason == "driver 525.60.13, needs >=535"


def test_fast_snapshot_leaves_cuda_unknown_not_met():
    snap = h100()
    snap.torch.cuda_available = None
    snap.torch.live = False
    result = judge(["cuda"], snap)
    assert status(result) == {"cuda": "unknown"} and not result.ok
    assert result.results[0].reason.startswith("unknown")


def test_torch_that_cannot_see_cuda():
    snap = h100()
    snap.torch.cuda_available = False
    snap.torch.cuda_warning = "CUDA initialization: CUDA driver initialization failed"
    result = judge(["cuda"], snap)
    assert status(result) == {"cuda": "unmet"} and "driver initialization failed" in result.results[0].reason


# --------------------------------------------------------------------------- the CPU machine: unknown is never met


def test_cpu_box_unknown_facts_are_unmet():
    result = judge(ISSUE_EXAMPLES[:-1] + ["cudnn>=9"], cpu_box())
    st = status(result)
    assert st["driver>=535"] == "unknown"
    assert next(r for r in result.results if r.requirement.name == "driver").reason == "unknown: no NVIDIA driver found"
    assert st["torch>=2.3"] == "unmet" and st["cuda"] == "unmet"  # torch is known to be absent
    assert st["gpus>=8"] == "unmet" and st["gpu-memory>=70GiB"] == "unmet" and st["compute-capability>=8.0"] == "unmet"
    assert st["no-warnings"] == "unmet"  # torch-not-installed is a warning
    assert st["smoke-bf16>=500"] == "unknown"
    assert st["cudnn>=9"] == "unknown"
    assert not any(r.met for r in result.results) and not result.ok


def test_driver_that_timed_out_is_unknown():
    snap = h100()
    snap.driver.status, snap.driver.version, snap.driver.kernel_module_version = "timeout", None, None
    snap.gpus = []
    st = status(judge(["driver>=535", "gpus>=1"], snap))
    assert st["driver>=535"] == "unknown"
    assert st["gpus>=1"] == "met"  # torch still counts its device


def test_snapshot_with_nothing_known_is_all_unknown():
    from envcheck.snapshot import Snapshot

    result = evaluate_policy(parse_requirements(["driver>=535", "gpus>=1", "torch>=2", "cuda", "python>=3.9",
                                                 "compute-capability>=8.0", "gpu-memory>=1GiB"], None), Snapshot(), [])
    assert set(status(result).values()) == {"unknown"}


# --------------------------------------------------------------------------- smoke


def _smoke(rates, name="NVIDIA H100 80GB HBM3", wrong=()):
    devices = []
    for i, rate in enumerate(rates):
        r = DtypeResult("bf16", tflops=rate, peak_tflops=989.4, ratio=rate / 989.4, max_rel_error=1e-3,
                        ok=i not in wrong)
        devices.append(DeviceResult(index=i, name=name, alloc_ok=True, matmul=[r]))
    return SmokeReport(torch="2.11.0+cu130", devices=devices)


def test_smoke_runs_only_when_asked_and_once():
    calls = []

    def run():
        calls.append(1)
        return _smoke([790.0, 785.0])

    assert judge(["driver>=535"], h100(), run).smoke is None and calls == []
    result = judge(["smoke-bf16>=500", "smoke-bf16>=780", "no-warnings"], h100(), run)
    assert calls == [1]
    assert status(result) == {"smoke-bf16>=500": "met", "smoke-bf16>=780": "met", "no-warnings": "met"}
    assert result.results[0].reason == "bf16 785 TFLOP/s (slowest of 2 GPUs)"


def test_slow_gpu_fails_smoke_and_its_finding_counts():
    result = judge(["smoke-bf16>=500", "no-warnings"], h100(), lambda: _smoke([300.0]))
    assert status(result) == {"smoke-bf16>=500": "unmet", "no-warnings": "unmet"}
    assert "GPU 0 (NVIDIA H100 80GB HBM3) 300 TFLOP/s" in result.results[0].reason
    assert [f.code for f in result.smoke_findings] == ["smoke-slow"]


def test_wrong_results_fail_smoke():
    result = judge(["smoke-bf16>=500"], h100(), lambda: _smoke([790.0], wrong=(0,)))
    assert status(result) == {"smoke-bf16>=500": "unmet"} and "wrong bf16" in result.results[0].reason


def test_smoke_from_the_real_script_arithmetic():
    """The H100 figures of the fixtures README (bf16 790 TFLOP/s at 4096^3) through build_report."""
    n, iters, rate = 4096, 50, 790.0
    raw = {"ok": True, "devices": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "alloc_ok": True, "matmul": {
        "bf16": {"n": n, "iters": iters, "ms": 2 * n ** 3 * iters / (rate * 1e12) * 1000, "max_rel_error": 1e-3,
                 "finite": True}}}]}
    result = judge(["smoke-bf16>=500", "smoke-fp16>=1"], h100(), lambda: build_report(raw, K))
    assert status(result) == {"smoke-bf16>=500": "met", "smoke-fp16>=1": "unmet"}
    assert "fp16 not measured" in result.results[1].reason


@pytest.mark.parametrize("report, expected", [
    (SmokeReport(skipped="no CUDA device"), "unknown"),
    (SmokeReport(error="no answer within 120 s (a hung GPU or driver?)"), "unmet"),
    (SmokeReport(devices=[DeviceResult(index=0, error="CUDA error: an illegal memory access")]), "unmet"),
])
def test_smoke_that_did_not_measure(report, expected):
    assert status(judge(["smoke-bf16>=500"], h100(), lambda: report)) == {"smoke-bf16>=500": expected}


def test_smoke_runner_that_raises_is_unknown():
    def boom():
        raise RuntimeError("no interpreter")

    result = judge(["smoke-bf16>=500"], h100(), boom)
    assert status(result) == {"smoke-bf16>=500": "unknown"} and "no interpreter" in result.results[0].reason


def test_smoke_runner_plans_only_the_dtypes_asked(monkeypatch):
    import envcheck.smoke.host as smoke_mod
    from envcheck.runner import CommandResult

    seen = {}

    def fake_run_script(ctx, config, timeout):
        seen["config"] = config
        return CommandResult(argv=["python"], returncode=0, stdout='@@ENVCHECK-SMOKE-JSON@@ {"ok": true, '
                             '"skip": {"why": "cpu-only", "version": "2.13.0+cpu"}}\n', stderr="", duration_s=0.1)

    monkeypatch.setattr(smoke_mod, "run_script", fake_run_script)
    reqs = parse_requirements(["smoke-bf16>=500", "driver>=535"], None)
    assert smoke_dtypes(reqs) == ["bf16"]
    assert smoke_runner(parse_requirements(["driver>=535"], None), None, [], K) is None
    run = smoke_runner(reqs, None, h100().gpus, K)
    report = run()
    assert report.skipped == "torch 2.13.0+cpu is a CPU-only build"
    plan = seen["config"]["plan"]["*"]
    assert list(plan["iters"]) == ["bf16"] and seen["config"]["bandwidth_mib"] == 0 and not seen["config"]["multi"]


# --------------------------------------------------------------------------- output


def test_policy_block_and_lines():
    result = judge(["driver>=535", "gpus>=8", "smoke-bf16>=500"], h100(), lambda: _smoke([790.0]))
    data = policy_data(result)
    json.dumps(data)  # JSON-ready
    assert data["ok"] is False
    assert [(r["expr"], r["status"], r["met"]) for r in data["requirements"]] == [
        ("driver>=535", "met", True), ("gpus>=8", "unmet", False), ("smoke-bf16>=500", "met", True)]
    assert data["smoke"]["devices"][0]["matmul"][0]["tflops"] == 790.0
    lines = policy_lines(result)
    assert lines == ["envcheck: requirement NOT MET: gpus>=8: 1 GPU(s) (nvidia-smi), needs >=8"]
    assert len(policy_lines(result, include_met=True)) == 3
    assert policy_data(judge([], h100()))["ok"] is True


def test_policy_markdown():
    md = policy_markdown(judge(["driver>=535", "gpus>=8"], cpu_box()))
    assert md.startswith("### Policy: 2 of 2 not met")
    assert "| `driver>=535` | **not met** (unknown) | unknown: no NVIDIA driver found |" in md
    assert policy_markdown(judge(["python>=3.9"], cpu_box())).startswith("### Policy: met")
