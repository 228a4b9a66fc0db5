"""`envcheck diff A B`: the recorded H100 (working) against broken variants of itself, only what differs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builders import cpu_box, h100
from envcheck.fleet.diff import diff_data, diff_sides, flatten, side_from_data
from envcheck.fleet.render_diff import render_markdown, render_terminal
from envcheck.knowledge import Knowledge
from envcheck.render.report import Report, report_data
from envcheck.rules import evaluate
from envcheck.snapshot import Gpu, LoadedLibrary

ROOT = Path(__file__).resolve().parents[2]
K = Knowledge()
SITE = "/opt/torch/.venv/lib/python3.12/site-packages"


def working():
    snap = h100()
    snap.system.hostname = "gpu-good"
    snap.torch.loaded_libraries = [
        LoadedLibrary("libcudart.so.13", f"{SITE}/nvidia/cu13/lib/libcudart.so.13", "13.0.96"),
        LoadedLibrary("libcudnn.so.9", f"{SITE}/nvidia/cudnn/lib/libcudnn.so.9", "9.19.0"),
        LoadedLibrary("libnccl.so.2", f"{SITE}/nvidia/nccl/lib/libnccl.so.2", "2.28.9"),
    ]
    return snap


def broken():
    """What a real broken node looks like: older driver, a cu126 torch, LD_LIBRARY_PATH pulling in the system cuDNN."""
    snap = working()
    snap.system.hostname = "gpu-bad"
    snap.driver.version = snap.driver.kernel_module_version = "535.183.01"
    snap.driver.cuda_version = "12.2"
    snap.torch.version, snap.torch.cuda = "2.11.0+cu126", "12.6"
    snap.python.packages["torch"].build_version, snap.python.packages["torch"].cuda = "2.11.0+cu126", "12.6"
    snap.cudnn.loaded.version, snap.cudnn.loaded.path = "9.14.0", "/lib/x86_64-linux-gnu/libcudnn.so.9"
    snap.torch.loaded_libraries[1] = LoadedLibrary("libcudnn.so.9", "/lib/x86_64-linux-gnu/libcudnn.so.9", "9.14.0")
    snap.env = {"LD_LIBRARY_PATH": "/lib/x86_64-linux-gnu:/usr/local/cuda-12.2/lib64"}
    # noise that must not show: another time, temperature, power, UUID, import time
    snap.meta.created_at, snap.meta.duration_s = "2025-06-02T00:00:00+00:00", 9.9
    snap.gpus[0].temperature_c, snap.gpus[0].power_draw_w = 77.0, 650.0
    snap.gpus[0].uuid = "GPU-00000000-0000-0000-0000-000000000000"
    snap.torch.import_s = 12.3
    return snap


def report(snap) -> dict:
    return json.loads(json.dumps(report_data(Report(snap, evaluate(snap, K)))))


def diff(a, b):
    return diff_sides(side_from_data(a, "a.json"), side_from_data(b, "b.json"))


def test_identical_reports_have_no_difference():
    result = diff(report(working()), report(working()))
    assert result.same and result.facts == [] and result.only_a == [] and result.only_b == []


def test_only_what_differs_most_telling_first():
    result = diff(report(working()), report(broken()))
    keys = [d.key for d in result.facts]
    sections = [d.section for d in result.facts]
    assert keys[:3] == ["driver.version", "driver.cuda_version", "driver.kernel_module_version"]
    # the order the issue asks for: driver, torch build, cuDNN torch loads, loaded libraries, packages, env vars
    order = ["driver", "torch build", "cudnn", "loaded libraries", "packages", "env"]
    assert sections == sorted(sections, key=order.index)
    assert keys.index("torch.version") < keys.index("torch.cuda") < keys.index("cudnn.loaded.version")
    assert "torch.loaded_libraries[libcudnn.so.9].path" in keys
    assert "torch.loaded_libraries[libcudart.so.13].path" not in keys  # the same in both
    assert keys[-1] == "env.LD_LIBRARY_PATH"
    by = {d.key: d for d in result.facts}
    assert (by["driver.version"].a, by["driver.version"].b) == ("580.159.04", "535.183.01")
    assert by["env.LD_LIBRARY_PATH"].a is None  # unset on the working machine
    for noise in ("meta.created_at", "gpus[0].temperature_c", "gpus[0].uuid", "torch.import_s", "system.hostname"):
        assert noise not in keys


def test_findings_only_on_one_side():
    result = diff(report(working()), report(broken()))
    only_b = {f["code"] for f in result.only_b}
    assert {"driver-too-old", "nvcc-torch-mismatch", "ld-library-path-shadowing"} <= only_b
    # the broken node loads the system cuDNN, so "the system copy differs from what torch loads" is gone there
    assert [f["code"] for f in result.only_a] == ["cudnn-system-differs"]


def test_reordered_lists_are_no_difference():
    a, b = working(), working()
    b.torch.loaded_libraries.reverse()
    b.python.packages = dict(reversed(list(b.python.packages.items())))
    assert diff(report(a), report(b)).same


def test_an_item_only_one_side_has_is_one_line():
    b = working()
    b.gpus.append(Gpu(index=1, name="NVIDIA H100 80GB HBM3", compute_capability="9.0", memory_total_mib=81559))
    del b.python.packages["numpy"]
    result = diff(report(working()), report(b))
    facts = {d.key: d for d in result.facts}
    assert set(facts) == {"gpus[1]", "python.packages.numpy"}
    assert facts["gpus[1]"].kind == "item" and facts["gpus[1]"].a is None
    assert facts["gpus[1]"].b.startswith("NVIDIA H100 80GB HBM3")
    assert facts["python.packages.numpy"].a.startswith("numpy 2.")
    md = render_markdown(result)
    assert "| gpus | `gpus[1]` | absent | NVIDIA H100 80GB HBM3 |" in md


def test_snapshot_files_get_their_findings_worked_out():
    a = side_from_data(working().to_dict(), "good-snap.json")
    assert a.evaluated and a.verdict == "ok"
    assert [f["code"] for f in a.findings] == ["cudnn-system-differs"]
    result = diff_sides(a, side_from_data(report(broken()), "bad.json"))
    assert {"driver-too-old"} <= {f["code"] for f in result.only_b}


def test_secrets_stay_hidden():
    b = working()
    b.env = {"HF_TOKEN": "hf_supersecretvalue", "PIP_INDEX_URL": "https://bob:pw123@pypi.example.com/simple"}
    data = diff_data(diff(report(working()), b.to_dict()))
    text = json.dumps(data)
    assert "hf_supersecretvalue" not in text and "pw123" not in text and "pypi.example.com" in text


def test_cpu_box_against_h100_leads_with_the_driver():
    result = diff(report(h100()), report(cpu_box()))
    assert result.facts[0].key == "driver.status"
    assert {"torch-not-installed", "no-nvidia-gpu"} <= {f["code"] for f in result.only_b}


def test_flatten_keys():
    flat = flatten(report(working())["snapshot"])
    assert flat["driver.version"] == "580.159.04"
    assert flat["gpus[0].name"] == "NVIDIA H100 80GB HBM3"
    assert flat["torch.arch_list"].startswith("sm_75, sm_80")
    assert flat["python.packages.torch.version"] == "2.11.0"
    assert flat["cuda_toolkits[/usr/local/cuda-13.0].version"] == "13.0"


def test_terminal_form():
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    render_terminal(diff(report(working()), report(broken())), console)
    out = console.export_text()
    assert "A = a.json (gpu-good) (sound)" in out and "(broken)" in out  # the one verdict vocabulary
    assert "driver.version" in out and "535.183.01" in out and "only in B: WARNING [driver-too-old]" in out


# --------------------------------------------------------------------------- the command

LAUNCH = "import sys; from envcheck.cli.app import main; main(sys.argv[1:])"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=str(ROOT))


@pytest.fixture
def files(tmp_path):
    good, bad, snap = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "good-snap.json"
    good.write_text(json.dumps(report(working()), indent=2))
    bad.write_text(json.dumps(report(broken()), indent=2))
    snap.write_text(working().to_json())
    return good, bad, snap


def test_cli_exit_codes_and_forms(files, tmp_path):
    good, bad, snap = files
    same = cli("diff", str(good), str(snap))
    assert same.returncode == 0 and "No differences" in same.stdout
    proc = cli("diff", str(good), str(bad), "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["facts"][0]["key"] == "driver.version" and data["same"] is False
    assert data["a"]["verdict"] == "ok" and data["b"]["verdict"] == "broken"
    md = cli("diff", str(good), str(bad), "--markdown")
    assert md.returncode == 1 and md.stdout.startswith("## envcheck diff") and "| driver | `driver.version` |" in md.stdout
    term = cli("diff", str(good), str(bad))
    assert term.returncode == 1 and "driver.version" in term.stdout


def test_cli_unreadable_inputs_are_usage_errors(files, tmp_path):
    good, _bad, _snap = files
    smoke = tmp_path / "smoke.json"
    smoke.write_text(json.dumps({"schema_version": 1, "smoke": {}, "findings": []}))
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    for other in (tmp_path / "missing.json", smoke, junk):
        proc = cli("diff", str(good), str(other))
        assert proc.returncode == 3, proc.stderr
        assert str(other) in proc.stderr and "Traceback" not in proc.stderr


def test_diff_is_linear_in_items_only_one_side_has():
    """20,000 packages only one side has: one "item" line each, in well under a second (it was quadratic)."""
    import time as _time

    from envcheck.fleet.diff import diff_facts

    many = {"python": {"version": "3.11.7", "packages": {
        f"pkg{i}": {"version": f"1.{i}", "location": "/x/site-packages", "installer": "pip"} for i in range(20000)}}}
    few = {"python": {"version": "3.12.1", "packages": {"pkg0": {"version": "1.0", "location": "/x/site-packages",
                                                                 "installer": "pip"}}}}
    start = _time.process_time()
    diffs = diff_facts(many, few)
    assert _time.process_time() - start < 1.0
    items = [d for d in diffs if d.kind == "item"]
    assert len(items) == 19999 and items[0].b is None and items[0].a
    assert {d.key for d in diffs if d.kind != "item"} == {"python.version"}
    assert "python.packages[pkg0]" not in {d.key for d in items} and "python.packages.pkg0" not in {d.key for d in items}
