"""`envcheck fleet`: reading many reports, aggregating them, and the four output forms.

The reports are real `doctor --json` reports of the recorded machines (h100(), cpu_box()), varied one
fact at a time, and smoke reports built from the recorded H100 figures.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from builders import cpu_box, h100
from envcheck.fleet import iter_json_values, load, node_name_from_path, robust_z, smoke_outliers
from envcheck.fleet.aggregate import GpuRate, snapshot_facts
from envcheck.fleet.render import fleet_data, render_html, render_markdown, render_terminal
from envcheck.knowledge import Knowledge
from envcheck.render.report import Report, report_data
from envcheck.rules import evaluate

ROOT = Path(__file__).resolve().parents[2]
K = Knowledge()
H100_NAME = "NVIDIA H100 80GB HBM3"


def doctor_report(snap=None, host=None, created="2025-06-01T10:00:00+00:00", **changes) -> dict:
    snap = snap or h100()
    if host:
        snap.system.hostname = host
    snap.meta.created_at = created
    for dotted_key, value in changes.items():
        obj = snap
        parts = dotted_key.split("__")
        for p in parts[:-1]:
            obj = getattr(obj, p)
        setattr(obj, parts[-1], value)
    return json.loads(json.dumps(report_data(Report(snap, evaluate(snap, K)))))


def smoke_report(rates, model=H100_NAME, error=None) -> dict:
    devices = [{"index": i, "name": model, "capability": "9.0", "alloc_ok": True,
                "matmul": [{"dtype": "bf16", "tflops": r, "peak_tflops": 989.4, "ratio": r / 989.4,
                            "max_rel_error": 1e-3, "ok": True, "error": None}]} for i, r in enumerate(rates)]
    return {"schema_version": 1, "smoke": {"skipped": None, "torch": "2.11.0+cu130", "devices": devices,
                                           "error": error}, "findings": []}


def fleet_of(reports) -> "object":
    text = "\n".join(json.dumps(r) for r in reports)
    return load(["-"], io.StringIO(text))


LAUNCH = "import sys; from envcheck.cli.app import main; main(sys.argv[1:])"


def cli(*args: str, stdin: str = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real envcheck CLI in a process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="160")
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(ROOT), input=stdin if stdin is not None else "")


# --------------------------------------------------------------------------- loading


def test_stream_of_json_lines_pretty_objects_and_garbage():
    one = json.dumps({"a": 1})
    pretty = json.dumps({"b": {"c": [1, 2]}}, indent=2)
    text = f"{one}\n{pretty}\nnot json at all\n{{\"broken\": \n{one}\n  \n"
    values = list(iter_json_values(text))
    good = [v for v, e in values if e is None]
    bad = [e for v, e in values if e is not None]
    assert good == [{"a": 1}, {"b": {"c": [1, 2]}}, {"a": 1}]
    assert len(bad) == 2 and all(e.startswith("not JSON") for e in bad)


def test_a_corrupt_pretty_object_costs_one_count():
    good = json.dumps(doctor_report(host="n1"), indent=2)
    broken = good[: len(good) // 2]  # a node killed mid-write
    fleet = load(["-"], io.StringIO(broken + "\n" + good.replace("n1", "n2") + "\n"))
    assert [n.name for n in fleet.nodes] == ["n2"]
    assert len(fleet.skipped) == 1


@pytest.mark.parametrize("path, name", [
    ("reports/gpu-a01.json", "gpu-a01"), ("gpu-a01.smoke.json", "gpu-a01"), ("x/gpu-a01-doctor.json", "gpu-a01"),
    ("/tmp/envcheck.json.gpu-a07", "gpu-a07"), ("node3.jsonl", "node3"), ("smoke.json", "smoke"),
])
def test_node_names_from_file_names(path, name):
    assert node_name_from_path(Path(path)) == name


def test_files_folders_recursively_and_stdin(tmp_path):
    (tmp_path / "rack1" / "deep").mkdir(parents=True)
    (tmp_path / "rack1" / "n1.json").write_text(json.dumps(doctor_report(host="n1"), indent=2))
    (tmp_path / "rack1" / "deep" / "n2.json").write_text(json.dumps(doctor_report(host="n2")))
    (tmp_path / "rack1" / "n2.smoke.json").write_text(json.dumps(smoke_report([790.0])))
    (tmp_path / "rack1" / "notes.txt").write_text("not a report, not read")
    (tmp_path / "rack1" / ".hidden.json").write_text("{}")
    (tmp_path / "rack1" / "empty.json").write_text("")
    (tmp_path / "rack1" / "list.json").write_text("[1, 2]")
    (tmp_path / "rack1" / "other.json").write_text('{"hello": "world"}')
    single = tmp_path / "n3.json"
    single.write_text(json.dumps(doctor_report(cpu_box(), host=None)))  # no hostname: named after the file
    stdin = io.StringIO(json.dumps(doctor_report(host="n4")) + "\n")
    fleet = load([str(tmp_path / "rack1"), str(single), "-", str(tmp_path / "missing")], stdin)
    assert [n.name for n in fleet.nodes] == ["n1", "n2", "n3", "n4"]
    n2 = next(n for n in fleet.nodes if n.name == "n2")
    assert n2.has_doctor and n2.has_smoke and n2.gpu_rates[0].tflops == 790.0
    reasons = sorted(s.reason for s in fleet.skipped)
    assert len(reasons) == 3, reasons  # list.json, other.json, missing (empty.json holds nothing)
    assert any("no such file" in r for r in reasons) and any("not a report" in r for r in reasons)
    assert any("not an envcheck" in r for r in reasons)


def test_smoke_report_in_a_stream_joins_the_doctor_report_before_it():
    fleet = fleet_of([doctor_report(host="a"), smoke_report([780.0]), doctor_report(host="b"),
                      smoke_report([500.0])])
    rates = {n.name: [r.tflops for r in n.gpu_rates] for n in fleet.nodes}
    assert rates == {"a": [780.0], "b": [500.0]}


def test_explicit_node_key_wins():
    rep = smoke_report([790.0])
    rep["node"] = "gpu-17"
    fleet = fleet_of([rep, doctor_report(host="gpu-17")])
    assert [n.name for n in fleet.nodes] == ["gpu-17"] and fleet.nodes[0].has_smoke


def test_duplicates_keep_the_newest():
    old = doctor_report(host="n1", created="2025-01-01T00:00:00+00:00", driver__version="535.54.03")
    new = doctor_report(host="n1", created="2025-06-01T00:00:00+00:00")
    for order in ([old, new], [new, old]):
        fleet = fleet_of(order)
        assert len(fleet.nodes) == 1 and fleet.duplicates == 1
        assert fleet.nodes[0].facts["driver"] == "580.159.04"


def test_other_schema_versions_are_skipped():
    rep = doctor_report(host="n1")
    rep["schema_version"] = 2
    fleet = load(["-"], io.StringIO(json.dumps(rep) + "\n" + json.dumps(doctor_report(host="n2"))))
    assert [n.name for n in fleet.nodes] == ["n2"]
    assert "schema_version 2" in fleet.skipped[0].reason


# --------------------------------------------------------------------------- facts and distributions


def test_facts_of_the_recorded_machines():
    assert snapshot_facts(doctor_report()["snapshot"]) == {
        "driver": "580.159.04", "torch": "2.11.0+cu130", "cuda": "13.0", "gpu_model": H100_NAME,
        "gpu_count": "1", "cudnn": "9.19.0"}
    assert snapshot_facts(doctor_report(cpu_box())["snapshot"]) == {
        "driver": "none", "torch": "none", "cuda": "none", "gpu_model": "none", "gpu_count": "0", "cudnn": "none"}
    from envcheck.snapshot import Snapshot
    assert set(snapshot_facts(Snapshot().to_dict()).values()) == {"unknown"}


def test_distributions_and_nodes_off_the_majority():
    reports = [doctor_report(host=f"n{i}") for i in range(6)]
    reports.append(doctor_report(host="old-driver", driver__version="535.54.03", driver__kernel_module_version="535.54.03"))
    reports.append(doctor_report(host="old-torch", torch__version="2.9.1+cu126", torch__cuda="12.6"))
    reports.append(doctor_report(cpu_box(), host="cpu"))
    fleet = fleet_of(reports)
    dist = {d.fact: d for d in fleet.distributions}
    assert dist["driver"].values == [("580.159.04", 7), ("535.54.03", 1), ("none", 1)]
    assert dist["driver"].majority == "580.159.04"
    assert dist["torch"].values == [("2.11.0+cu130", 7), ("2.9.1+cu126", 1), ("none", 1)]
    assert dist["cuda"].values[0] == ("13.0", 7)
    differing = dict(fleet.differing)
    assert set(differing) == {"old-driver", "old-torch", "cpu"}
    assert [(d.fact, d.value, d.majority) for d in differing["old-driver"]] == [("driver", "535.54.03", "580.159.04")]
    assert {d.fact for d in differing["old-torch"]} == {"torch", "cuda"}
    assert fleet.differing[0][0] == "cpu"  # the node that differs most comes first
    assert fleet.verdicts() == {"ok": 7, "degraded": 1, "broken": 1}


def test_findings_ranked_by_nodes():
    reports = [doctor_report(host=f"n{i}") for i in range(4)]  # cudnn-system-differs (info) on all four
    bad = h100()
    bad.gpus[0].ecc_uncorrected_volatile = 4
    reports += [doctor_report(bad, host="ecc1"), doctor_report(h100(), host="ecc2", gpus=bad.gpus)]
    reports.append(doctor_report(cpu_box(), host="cpu"))
    fleet = fleet_of(reports)
    ranked = [(s.code, len(s.nodes)) for s in fleet.findings]
    assert ranked[0] == ("cudnn-system-differs", 6)
    assert ("gpu-health", 2) in ranked
    gpu_health = next(s for s in fleet.findings if s.code == "gpu-health")
    assert gpu_health.nodes == ["ecc1", "ecc2"]
    assert ranked.index(("gpu-health", 2)) < ranked.index(("torch-not-installed", 1))


# --------------------------------------------------------------------------- smoke outliers


def test_robust_z_is_iglewicz_hoaglin():
    values = [780.0, 790.0, 800.0, 785.0, 795.0, 400.0]
    z = robust_z(values)
    # median 787.5, MAD = median(|x - 787.5|) = 7.5
    assert z[0] == pytest.approx(0.6745 * (780 - 787.5) / 7.5)
    assert z[-1] == pytest.approx(0.6745 * (400 - 787.5) / 7.5)
    assert robust_z([5.0, 5.0, 5.0]) == [0.0, 0.0, 0.0]
    # MAD 0 (most values equal): the mean absolute deviation stands in
    z = robust_z([790.0] * 9 + [500.0])
    assert z[-1] == pytest.approx((500 - 790) / (1.253314 * 29.0)) and z[0] == 0.0


def test_outliers_are_found_within_a_model_not_across_models():
    rates = [GpuRate(f"h{i}", 0, H100_NAME, "bf16", 790.0 + (i % 5)) for i in range(20)]
    rates.append(GpuRate("slow", 3, H100_NAME, "bf16", 420.0))
    # A100s are much slower than H100s, but normal among A100s
    rates += [GpuRate(f"a{i}", 0, "NVIDIA A100-SXM4-80GB", "bf16", 280.0 + (i % 3)) for i in range(10)]
    outliers, groups = smoke_outliers(rates)
    assert [(r.node, r.gpu) for r in outliers] == [("slow", 3)]
    assert outliers[0].z < -3.5
    assert {(g.model, g.gpus) for g in groups} == {(H100_NAME, 21), ("NVIDIA A100-SXM4-80GB", 10)}


def test_small_groups_call_no_outlier():
    rates = [GpuRate("a", 0, H100_NAME, "bf16", 790.0), GpuRate("b", 0, H100_NAME, "bf16", 790.0),
             GpuRate("c", 0, H100_NAME, "bf16", 100.0)]
    assert smoke_outliers(rates)[0] == []


def test_outliers_from_smoke_reports_and_policy_blocks():
    reports = []
    for i in range(8):
        reports += [doctor_report(host=f"n{i}"), smoke_report([785.0 + i, 790.0 - i])]
    with_policy = doctor_report(host="p1")
    with_policy["policy"] = {"ok": False, "requirements": [{"expr": "smoke-bf16>=500", "met": False}],
                             "smoke": smoke_report([791.0, 350.0])["smoke"], "smoke_findings": []}
    reports.append(with_policy)
    fleet = fleet_of(reports)
    assert [(r.node, r.gpu, r.tflops) for r in fleet.outliers] == [("p1", 1, 350.0)]
    assert fleet.policy() == {"met": 0, "not_met": 1}
    assert next(n for n in fleet.nodes if n.name == "p1").unmet == ["smoke-bf16>=500"]


def test_failed_smoke_has_no_rates():
    fleet = fleet_of([doctor_report(host="n1"), smoke_report([], error="no answer within 120 s")])
    assert fleet.nodes[0].gpu_rates == [] and "no answer" in fleet.nodes[0].smoke_error


# --------------------------------------------------------------------------- output forms


def sample_fleet():
    reports = []
    for i in range(10):
        reports.append(doctor_report(host=f"gpu-{i:02d}"))
        reports.append(smoke_report([790.0 + i % 3] if i != 4 else [410.0]))
    reports.append(doctor_report(host="gpu-old", driver__version="535.54.03", driver__kernel_module_version="535.54.03"))
    reports.append(doctor_report(cpu_box(), host="<b>cpu & co</b>"))
    return fleet_of(reports)


def test_json_form():
    data = fleet_data(sample_fleet())
    json.dumps(data)
    assert data["counts"] == {"nodes": 12, "doctor_reports": 12, "smoke_reports": 10, "nodes_with_smoke": 10,
                              "skipped": 0, "duplicates": 0}
    assert data["distributions"]["driver"]["majority"] == "580.159.04"
    assert data["distributions"]["driver"]["values"][0] == {"value": "580.159.04", "nodes": 10}
    assert [o["node"] for o in data["outliers"]] == ["gpu-04"]
    assert {d["node"] for d in data["differing"]} == {"gpu-old", "<b>cpu & co</b>"}
    assert data["findings"][0]["code"] == "cudnn-system-differs" and data["findings"][0]["nodes"] == 11
    assert len(data["nodes"]) == 12


def test_markdown_form():
    md = render_markdown(sample_fleet())
    assert "### NVIDIA driver" in md and "| **580.159.04** | 10 | 83% |" in md
    assert "| gpu-old | NVIDIA driver 535.54.03 (majority 580.159.04) |" in md
    assert "| gpu-04 | 0 | NVIDIA H100 80GB HBM3 | bf16 | 410.0 |" in md
    assert "| `cudnn-system-differs` | info | 11 |" in md


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_with_svg_charts():
    page = render_html(sample_fleet())
    parser = _Page()
    parser.feed(page)
    assert parser.tags.count("svg") >= 7  # six distributions and the findings
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert not [v for k, v in parser.attrs if k in ("src", "href")]
    assert "<b>cpu" not in page and "&lt;b&gt;cpu &amp; co&lt;/b&gt;" in page  # host names are escaped
    text = " ".join(parser.text)
    assert "580.159.04" in text and "gpu-04" in text and "cudnn-system-differs" in text


def test_terminal_form():
    from rich.console import Console

    console = Console(record=True, width=160, color_system=None)
    render_terminal(sample_fleet(), console)
    out = console.export_text()
    assert "12 node(s)" in out and "NVIDIA driver" in out and "580.159.04" in out
    assert "gpu-old" in out and "gpu-04" in out and "cudnn-system-differs" in out


# --------------------------------------------------------------------------- the command


def test_cli_reads_stdin_json_lines_and_prints_json():
    lines = "\n".join(json.dumps(r) for r in [doctor_report(host="a"), doctor_report(host="b"), {"x": 1}])
    proc = cli("fleet", "--json", stdin=lines + "\nnot json\n")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["counts"]["nodes"] == 2 and data["counts"]["skipped"] == 2
    assert "skipped 2 unreadable report(s)" in proc.stderr


def test_cli_folder_markdown_and_html(tmp_path):
    for i in range(3):
        (tmp_path / f"n{i}.json").write_text(json.dumps(doctor_report(host=f"n{i}"), indent=2))
    page = tmp_path / "fleet.html"
    proc = cli("fleet", str(tmp_path), "--markdown", "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("## envcheck fleet") and "3 node(s)" in proc.stdout
    assert page.read_text().startswith("<!DOCTYPE html>")
    term = cli("fleet", str(tmp_path))
    assert term.returncode == 0 and "envcheck fleet: 3 node(s)" in term.stdout and "\x1b[" not in term.stdout


def test_cli_srun_style_concatenated_pretty_reports():
    stream = "".join(json.dumps(doctor_report(host=f"node{i}"), indent=2) + "\n" for i in range(3))
    proc = cli("fleet", "-", "--json", stdin=stream)
    assert [n["name"] for n in json.loads(proc.stdout)["nodes"]] == ["node0", "node1", "node2"]


def test_cli_nothing_readable_is_a_usage_error(tmp_path):
    proc = cli("fleet", "--json", stdin="garbage\n")
    assert proc.returncode == 3 and "no envcheck report" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("fleet", str(tmp_path / "nothing-here"))
    assert proc.returncode == 3
    assert cli("fleet", "--json", "--markdown", str(tmp_path)).returncode == 3


# --------------------------------------------------------------------------- scale


def test_two_thousand_generated_reports_quickly(tmp_path):
    """The bench's generator (real fixtures, varied); the full 10,000-report figure is bench/bench_fleet.py's."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_fleet

    path = tmp_path / "reports.jsonl"
    bench_fleet.write(path, 2000)
    start = time.perf_counter()
    fleet = load([str(path)])
    fleet_data(fleet)
    elapsed = time.perf_counter() - start
    assert len(fleet.nodes) == 2000 and not fleet.skipped
    dist = {d.fact: d for d in fleet.distributions}
    assert dist["driver"].majority == "580.159.04" and len(dist["driver"].values) >= 4
    assert dist["gpu_model"].majority == H100_NAME
    assert fleet.outliers and all(r.z < -3.5 or r.z > 3.5 for r in fleet.outliers)
    assert elapsed < 5.0, elapsed  # 10,000 take ~2.5 s on the 2-core machines; 2,000 leave a wide margin
