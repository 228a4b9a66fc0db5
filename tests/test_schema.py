"""docs/report.schema.json documents the `doctor --json` report: real reports validate, and it stays complete."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import jsonschema
import pytest

from builders import cpu_box, h100
from envcheck.knowledge import Knowledge
from envcheck.preflight.policy import evaluate as evaluate_policy
from envcheck.preflight.policy import parse_requirements, policy_data
from envcheck.render.report import Report, report_data
from envcheck.rules import evaluate
from envcheck.rules.codes import CODES
from envcheck.serde import _hints, to_data
from envcheck.smoke.host import SmokeReport, build_report, judge
from envcheck.snapshot import Snapshot

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
K = Knowledge()


def report_of(snap: Snapshot) -> dict:
    return json.loads(json.dumps(report_data(Report(snap, evaluate(snap, K)))))


def errors(instance, validator=VALIDATOR) -> list:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def sub_validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for one of the schema's $defs (smoke_output, snapshot, ...)."""
    return jsonschema.Draft202012Validator({**{k: v for k, v in SCHEMA.items() if k != "properties"},
                                            "required": [], "$ref": f"#/$defs/{name}"})


def run_envcheck(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(ROOT))


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("build", [h100, cpu_box], ids=["h100", "cpu_box"])
def test_recorded_machines_validate(build):
    assert errors(report_of(build())) == []


def test_broken_variants_validate():
    """Findings of every severity, failures and odd facts: still the documented shape."""
    snap = h100()
    snap.driver.version = snap.driver.kernel_module_version = "525.60.13"
    snap.gpus[0].ecc_uncorrected_volatile = 3
    snap.gpus[0].clock_event_reasons = ["hw_thermal_slowdown"]
    snap.torch.cuda_available = False
    snap.torch.error, snap.torch.error_kind = "CUDA driver initialization failed", "cuda-init"
    snap.env = {"LD_LIBRARY_PATH": "/usr/local/cuda-12.2/lib64", "HF_TOKEN": "***"}
    data = report_of(snap)
    assert data["verdict"] == "broken" and errors(data) == []


def test_the_real_doctor_json_on_this_machine_validates():
    for args in (("doctor", "--json"), ("doctor", "--fast", "--json", "--python", sys.executable)):
        proc = run_envcheck(*args)
        assert proc.returncode in (0, 1, 2), proc.stderr
        data = json.loads(proc.stdout)
        assert errors(data) == [], args


def test_saved_snapshot_validates_as_the_snapshot_def(tmp_path):
    saved = tmp_path / "snap.json"
    proc = run_envcheck("doctor", "--fast", "--json", "--save", str(saved))
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert errors(json.loads(saved.read_text()), sub_validator("snapshot")) == []


def h100_smoke_raw(rate: float = 790.0) -> dict:
    """The smoke script's output for the recorded H100 figures (fixtures README: bf16 790 TFLOP/s at 4096^3)."""
    n, iters = 4096, 50
    ms = {d: 2 * n ** 3 * iters / (r * 1e12) * 1000 for d, r in {"fp32": 52, "tf32": 401, "fp16": 763,
                                                                  "bf16": rate}.items()}
    return {"ok": True, "torch": "2.11.0+cu130", "devices": [{
        "index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "init_s": 0.15, "alloc_ok": True,
        "matmul": {d: {"n": n, "iters": iters, "ms": m, "max_rel_error": 1e-5 if d == "fp32" else 1e-3,
                       "finite": True} for d, m in ms.items()},
        "bandwidth": {"bytes": 256 * 2 ** 20, "h2d_ms": 256 * 2 ** 20 / 55e9 * 1000,
                      "d2h_ms": 256 * 2 ** 20 / 50e9 * 1000, "d2d_ms": 2 * 256 * 2 ** 20 / 2979e9 * 1000}}]}


def test_policy_block_validates():
    snap = h100()
    reqs = parse_requirements(["torch>=2.3", "cuda", "gpus>=8", "driver>=535", "smoke-bf16>=500",
                               "no-finding=gpu-health"], None)
    raw = h100_smoke_raw()
    findings = evaluate(snap, K)
    data = report_of(snap)
    data["policy"] = json.loads(json.dumps(policy_data(evaluate_policy(reqs, snap, findings,
                                                                       lambda: build_report(raw, K)))))
    assert errors(data) == []
    cpu = report_of(cpu_box())
    cpu["policy"] = json.loads(json.dumps(policy_data(evaluate_policy(reqs, cpu_box(), [], None))))
    assert errors(cpu) == []


def test_smoke_json_validates():
    proc = run_envcheck("smoke", "--json", "--python", sys.executable, "--timeout", "60")
    data = json.loads(proc.stdout)
    assert errors(data, sub_validator("smoke_output")) == []
    rep = build_report(h100_smoke_raw(rate=300.0), K)  # slow: a smoke-slow finding
    measured = {"schema_version": 1, "smoke": to_data(rep), "findings": [to_data(f) for f in judge(rep, h100().gpus)]}
    assert [f["code"] for f in measured["findings"]] == ["smoke-slow"]
    assert errors(json.loads(json.dumps(measured)), sub_validator("smoke_output")) == []


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["snapshot"]["driver"].update(status="banana"), "snapshot/driver/status"),
    (lambda d: d["snapshot"].update(gpus={}), "snapshot/gpus"),
    (lambda d: d["snapshot"]["gpus"][0].update(memory_total_mib="80 GB"), "snapshot/gpus/0/memory_total_mib"),
    (lambda d: d.update(verdict="fine"), "verdict"),
    (lambda d: d["findings"][0].update(code="made-up-code"), "findings/0/code"),
    (lambda d: d["snapshot"]["torch"].pop("version"), "snapshot/torch"),
    (lambda d: d.update(policy={"ok": "yes"}), "policy"),
])
def test_the_schema_rejects_what_is_not_a_report(mutate, where):
    data = copy.deepcopy(report_of(h100()))
    mutate(data)
    found = errors(data)
    assert found and any(e.startswith(where) for e in found), found


# --------------------------------------------------------------------------- the schema stays complete


def _dataclasses_under(root) -> dict:
    seen = {}

    def visit(tp):
        origin = typing.get_origin(tp)
        if origin is not None:
            for arg in typing.get_args(tp):
                visit(arg)
            return
        if dataclasses.is_dataclass(tp) and tp not in seen.values():
            seen[tp.__name__] = tp
            hints = _hints(tp)
            for f in dataclasses.fields(tp):
                visit(hints[f.name])

    visit(root)
    return seen


def _def_name(cls_name: str) -> str:
    import re

    return re.sub(r"(?<!^)([A-Z])", r"_\1", cls_name).lower()


@pytest.mark.parametrize("root", [Snapshot, SmokeReport])
def test_every_field_is_documented(root):
    """A field added to (or removed from) a snapshot or smoke dataclass must be added to (removed from) the schema."""
    for name, cls in _dataclasses_under(root).items():
        definition = SCHEMA["$defs"].get(_def_name(name))
        assert definition is not None, f"$defs/{_def_name(name)} is missing for {name}"
        fields = [f.name for f in dataclasses.fields(cls)]
        assert sorted(definition["properties"]) == sorted(fields), name
        assert sorted(definition["required"]) == sorted(fields), name


def test_finding_codes_and_sections_match_the_catalogue():
    finding = SCHEMA["$defs"]["finding"]["properties"]
    assert set(finding["code"]["enum"]) == set(CODES)
    assert {c.section for c in CODES.values()} <= set(finding["section"]["enum"])
