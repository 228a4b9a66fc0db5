"""End-to-end: `envcheck doctor --require EXPR` / `--policy FILE` as a pre-flight check (exit 4 when unmet).

The real `envcheck` process, judging the recorded H100 and CPU machines (`--from`) and this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from builders import cpu_box, h100

ROOT = Path(__file__).resolve().parents[2]


def envcheck(*args: str, stdin: str = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(ROOT)
    env["NO_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(ROOT), input=stdin)


def saved(tmp_path: Path, snap, name: str) -> str:
    path = tmp_path / name
    path.write_text(snap.to_json())
    return str(path)


def unmet_lines(proc: subprocess.CompletedProcess) -> list:
    return [line for line in proc.stderr.splitlines() if line.startswith("envcheck: requirement NOT MET")]


def test_met_requirements_keep_the_usual_exit(tmp_path):
    snap = saved(tmp_path, h100(), "h100.json")
    proc = envcheck("doctor", "--from", snap, "--require", "torch>=2.3", "--require", "cuda", "--require",
                    "gpu-memory>=70GiB", "--require", "driver>=535", "--require", "compute-capability>=8.0",
                    "--require", "no-warnings", "--require", "no-finding=gpu-health")
    assert proc.returncode == 0, proc.stderr
    assert unmet_lines(proc) == [] and "Traceback" not in proc.stderr


def test_unmet_requirements_exit_4_with_one_line_each(tmp_path):
    snap = saved(tmp_path, h100(), "h100.json")
    proc = envcheck("doctor", "--from", snap, "--require", "gpus>=8", "--require", "driver>=590",
                    "--require", "torch>=2.3")
    assert proc.returncode == 4
    lines = unmet_lines(proc)
    assert len(lines) == 2
    assert "gpus>=8" in lines[0] and "1 GPU(s)" in lines[0]
    assert "driver>=590" in lines[1] and "580.159.04" in lines[1]


def test_json_carries_the_policy_block(tmp_path):
    snap = saved(tmp_path, h100(), "h100.json")
    proc = envcheck("doctor", "--from", snap, "--json", "--require", "gpus>=8", "--require", "driver>=535")
    assert proc.returncode == 4
    data = json.loads(proc.stdout)
    policy = data["policy"]
    assert policy["ok"] is False
    assert [(r["expr"], r["status"]) for r in policy["requirements"]] == [("gpus>=8", "unmet"), ("driver>=535", "met")]
    assert data["verdict"] == "ok"  # the findings alone are fine; the policy is what fails
    assert len(unmet_lines(proc)) == 1  # the lines go to stderr, the JSON stays parseable


def test_json_with_a_policy_block_matches_the_schema(tmp_path):
    import jsonschema

    schema = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    for snap in (h100(), cpu_box()):
        path = saved(tmp_path, snap, "snap.json")
        proc = envcheck("doctor", "--from", path, "--json", "--require", "driver>=535", "--require", "cuda",
                        "--require", "gpu-memory>=70GiB", "--require", "smoke-bf16>=500")
        data = json.loads(proc.stdout)
        assert "policy" in data
        jsonschema.Draft202012Validator(schema).validate(data)


def test_unknown_fact_is_not_met(tmp_path):
    snap = saved(tmp_path, cpu_box(), "cpu.json")
    proc = envcheck("doctor", "--from", snap, "--json", "--require", "driver>=535")
    assert proc.returncode == 4
    req = json.loads(proc.stdout)["policy"]["requirements"][0]
    assert req["status"] == "unknown" and req["met"] is False and req["reason"].startswith("unknown")
    assert "unknown" in unmet_lines(proc)[0]


def test_smoke_requirement_on_a_saved_snapshot_is_unknown(tmp_path):
    """A saved snapshot is another machine's: smoke must not run here, so the rate stays unknown."""
    snap = saved(tmp_path, h100(), "h100.json")
    proc = envcheck("doctor", "--from", snap, "--json", "--require", "smoke-bf16>=500")
    assert proc.returncode == 4
    policy = json.loads(proc.stdout)["policy"]
    assert policy["requirements"][0]["status"] == "unknown" and policy["smoke"] is None


def test_policy_file(tmp_path):
    snap = saved(tmp_path, h100(), "h100.json")
    policy = tmp_path / "preflight.toml"
    policy.write_text('require = ["torch>=2.3", "cuda", "gpus>=8", "no-finding=cudnn-system-differs"]\n')
    proc = envcheck("doctor", "--from", snap, "--policy", str(policy))
    assert proc.returncode == 4
    lines = unmet_lines(proc)
    assert len(lines) == 2 and "gpus>=8" in lines[0] and "cudnn-system-differs" in lines[1]
    ok = tmp_path / "ok.toml"
    ok.write_text('require = ["torch>=2.3", "cuda"]\n')
    assert envcheck("doctor", "--from", snap, "--policy", str(ok), "--require", "driver>=535").returncode == 0


def test_bad_expression_is_a_usage_error(tmp_path):
    snap = saved(tmp_path, h100(), "h100.json")
    proc = envcheck("doctor", "--from", snap, "--require", "gpu>=8")
    assert proc.returncode == 3
    assert "unknown requirement 'gpu'" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_policy_file_is_a_usage_error(tmp_path):
    snap = saved(tmp_path, h100(), "h100.json")
    missing = envcheck("doctor", "--from", snap, "--policy", str(tmp_path / "missing.toml"))
    assert missing.returncode == 3 and "does not exist" in missing.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("require = [\n")
    proc = envcheck("doctor", "--from", snap, "--policy", str(broken))
    assert proc.returncode == 3 and "cannot read policy file" in proc.stderr and "Traceback" not in proc.stderr


def test_policy_beats_error_findings(tmp_path):
    """A broken machine that also misses a requirement exits 4: the pre-flight question is the policy."""
    snap = h100()
    snap.torch.cuda_available = False
    path = saved(tmp_path, snap, "broken.json")
    assert envcheck("doctor", "--from", path).returncode == 2
    assert envcheck("doctor", "--from", path, "--require", "cuda").returncode == 4
    assert envcheck("doctor", "--from", path, "--require", "driver>=535").returncode == 2


def test_on_this_machine():
    """This machine, whatever it has: python is known; the driver is judged from what doctor saw (unknown when absent)."""
    proc = envcheck("doctor", "--fast", "--json", "--python", sys.executable, "--require", "gpus>=1",
                    "--require", "driver>=535", "--require", "python>=3.9")
    data = json.loads(proc.stdout)
    reqs = {r["expr"]: r for r in data["policy"]["requirements"]}
    assert reqs["python>=3.9"]["met"] is True
    driver = data["snapshot"]["driver"]
    if driver["version"] is None and driver["kernel_module_version"] is None:  # the CPU machines
        assert reqs["driver>=535"]["status"] == "unknown" and reqs["gpus>=1"]["met"] is False
    assert proc.returncode == (0 if data["policy"]["ok"] else 4), proc.stderr
    assert len(unmet_lines(proc)) == sum(1 for r in reqs.values() if not r["met"])
