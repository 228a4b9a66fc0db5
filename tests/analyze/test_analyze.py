"""`envcheck analyze`: real pasted outputs in, the doctor's diagnosis out.

The corpus in tests/fixtures/analyze/ (each file's source in its README) is checked against
expected.toml; the recorded H100 machine is checked against the doctor's own view of it; the
overreach cases of issue 5 have tests of their own; and every parser and the detector are fuzzed
with hypothesis (random text, and mutations of the real fixtures): no exception may escape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import H100, h100
from envcheck.analyze import Input, analyze, parse_inputs
from envcheck.analyze import collect_env as ce_parser
from envcheck.analyze import conda_text, detect, nvcc, pip_list, smi_q, smi_table
from envcheck.analyze.signatures import PROPOSED_CODES, code_info, load_catalogue, scan
from envcheck.findings import Severity
from envcheck.knowledge import Knowledge, load_toml
from envcheck.rules import evaluate
from envcheck.rules.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "analyze"
EXPECTED = load_toml(CORPUS / "expected.toml")
H100_FILES = ["nvidia-smi.txt", "nvidia-smi-q.txt", "nvidia-smi-q-x.xml", "nvidia-smi-query.txt",
              "nvidia-smi-query-nounits.txt", "nvcc-V.txt", "collect_env.txt", "pip-list.txt"]


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


def run(*names: str, knowledge: Knowledge = None):
    return analyze([Input(n, (CORPUS / n).read_text(encoding="utf-8")) for n in names], knowledge or Knowledge())


def value_at(data: Any, path: str) -> Any:
    if path.startswith("len(") and path.endswith(")"):
        return len(value_at(data, path[4:-1]))
    for part in path.split("."):
        if isinstance(data, list):
            data = data[int(part)]
        elif isinstance(data, dict):
            data = data[part]
        else:
            raise KeyError(path)
    return data


def codes_of(result) -> set:
    return {f.code for f in result.findings}


# --------------------------------------------------------------------------- the corpus


def test_corpus_is_large_and_documented():
    files = sorted(p.name for p in CORPUS.glob("*.txt"))
    assert len(files) >= 30
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for name in files:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is not listed in the corpus README"
        assert "https://" in row, f"{name} has no source URL in the README"
    assert sorted(EXPECTED) == files, "expected.toml must cover exactly the corpus files"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name, knowledge):
    spec: Dict[str, Any] = EXPECTED[name]
    result = run(name, knowledge=knowledge)
    assert codes_of(result) == set(spec["codes"]), [(f.code, f.title) for f in result.findings]
    assert "probe-failed" not in codes_of(result)
    by_code = {f.code: f for f in result.findings}
    for code, line in spec.get("evidence", {}).items():
        evidence = by_code[code].facts["evidence"]
        assert evidence["line"] == line and evidence["input"] == name
        pasted = (CORPUS / name).read_text(encoding="utf-8").splitlines()[line - 1]
        assert evidence["text"][:40] == " ".join(pasted.split())[:40]
    for code, facts in spec.get("facts", {}).items():
        for key, value in facts.items():
            assert by_code[code].facts.get(key) == value, (code, key)
    snap = result.snapshot.to_dict()
    assert snap["meta"]["origin"] == "analyze"
    for path, expected in spec.get("values", {}).items():
        if path == "blocks":
            assert [b.kind for b in result.blocks if b.kind != "log"] == expected
        else:
            assert value_at(snap, path) == expected, path


def test_every_finding_code_is_known_and_sectioned(knowledge):
    for name in EXPECTED:
        for f in run(name, knowledge=knowledge).findings:
            info = code_info(f.code)
            assert info is not None, f.code
            assert f.section == info.section


# --------------------------------------------------------------------------- the recorded H100


def _h100_input(name: str) -> Input:
    return Input(name, (H100 / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name,kind", [
    ("nvidia-smi.txt", "smi-table"), ("nvidia-smi-q.txt", "smi-q"), ("nvidia-smi-q-x.xml", "smi-xml"),
    ("nvidia-smi-query.txt", "smi-csv"), ("nvidia-smi-query-nounits.txt", "smi-csv"), ("nvcc-V.txt", "nvcc"),
    ("collect_env.txt", "collect-env"), ("pip-list.txt", "pip-list"),
])
def test_h100_each_output_alone(name, kind, knowledge):
    result = analyze([_h100_input(name)], knowledge)
    assert [b.kind for b in result.blocks if b.kind != "log"] == [kind]
    assert [f for f in result.findings if f.severity != Severity.INFO] == []
    snap, real = result.snapshot, h100()
    if kind.startswith("smi"):
        assert snap.driver.version == real.driver.version
        assert snap.gpus[0].name == real.gpus[0].name
        assert snap.gpus[0].memory_total_mib == real.gpus[0].memory_total_mib
        assert snap.gpus[0].compute_capability == "9.0"
        if name != "nvidia-smi-query-nounits.txt":
            assert snap.gpus[0].uuid in (real.gpus[0].uuid, None)
        if snap.driver.cuda_version is not None:
            assert snap.driver.cuda_version == real.driver.cuda_version
    if kind == "nvcc":
        assert (snap.cuda_toolkits[0].version, snap.cuda_toolkits[0].full_version) == ("13.0", "13.0.88")
        assert snap.driver.version is None and snap.driver.cuda_version is None
    if kind == "collect-env":
        assert (snap.torch.version, snap.torch.cuda) == (real.torch.version, real.torch.cuda)
        assert snap.driver.version == real.driver.version
        assert [c.version for c in snap.cudnn.system] == ["9.14.0"]
        assert snap.python.packages["nvidia-cudnn-cu13"].version == "9.19.0.56"
        assert snap.cuda_toolkits[0].full_version == "13.0.88"
    if kind == "pip-list":
        assert snap.torch.dist_version == real.torch.dist_version == "2.11.0"
        assert snap.python.packages["torchvision"].version == "0.26.0"


def test_h100_q_text_reads_like_the_xml():
    _, from_text = smi_q.parse_text((H100 / "nvidia-smi-q.txt").read_text().splitlines())
    _, from_xml = smi_q.parse_xml((H100 / "nvidia-smi-q-x.xml").read_text())
    a, b = from_text[0], from_xml[0]
    for attr in ("name", "uuid", "bus_id", "architecture", "memory_total_mib", "memory_used_mib", "persistence_mode",
                 "mig_mode", "ecc_mode", "ecc_uncorrected_volatile", "ecc_uncorrected_aggregate",
                 "remapped_rows_pending", "remapped_rows_failure", "clock_event_reasons", "pcie_gen_current",
                 "pcie_gen_max", "pcie_width_current", "pcie_width_max", "temperature_c", "power_limit_w",
                 "power_limit_default_w", "sm_clock_mhz", "sm_clock_max_mhz", "compute_mode"):
        assert getattr(a, attr) == getattr(b, attr), attr


def test_h100_everything_gives_the_doctors_diagnosis(knowledge):
    separate = analyze([_h100_input(n) for n in H100_FILES], knowledge)
    together = analyze([Input("all.txt", "\n".join((H100 / n).read_text() for n in H100_FILES))], knowledge)
    doctor = evaluate(h100(), knowledge)
    assert {f.code for f in doctor} == {"cudnn-system-differs"}
    for result in (separate, together):
        assert codes_of(result) == {f.code for f in doctor}
        snap = result.snapshot
        assert len(snap.gpus) == 1  # four views of one GPU, merged
        gpu = snap.gpus[0]
        assert (gpu.uuid, gpu.bus_id, gpu.compute_capability) == (
            "GPU-ed6ac0e0-8b93-9e42-3f24-840158633ab4", "00000000:00:06.0", "9.0")
        assert len(snap.cuda_toolkits) == 1 and snap.cuda_toolkits[0].version == "13.0"
        assert (snap.driver.version, snap.driver.cuda_version, snap.driver.status) == ("580.159.04", "13.0", "ok")
        assert snap.torch.version == "2.11.0+cu130" and snap.torch.dist_version == "2.11.0"
        assert snap.cudnn.bundled.version == "9.19.0"
    assert [(b.kind) for b in together.blocks if b.kind != "log"] == [
        "smi-table", "smi-q", "smi-xml", "smi-csv", "smi-csv", "nvcc", "collect-env", "pip-list"]


# --------------------------------------------------------------------------- judgement must not overreach


def test_conda_torch_from_pypi_is_the_pip_install_not_a_second_torch(knowledge):
    # the shape collect_env prints for a pip install inside a conda env (the columns of
    # ce-2.2.2-windows-cpu-wheel.txt's [conda] lines, with conda's "pypi_0 pypi" build/channel)
    text = ("PyTorch version: 2.0.1+cu118\nIs debug build: False\nCUDA used to build PyTorch: 11.8\n"
            "ROCM used to build PyTorch: N/A\n\nVersions of relevant libraries:\n[pip3] torch==2.0.1+cu118\n"
            "[conda] torch                     2.0.1+cu118              pypi_0    pypi\n"
            "[conda] pytorch-cuda              11.8                 h7e8668a_5    pytorch\n")
    result = analyze([Input("ce.txt", text)], knowledge)
    snap = result.snapshot
    assert "pytorch" not in snap.conda.packages and "torch" not in snap.conda.packages
    assert snap.conda.packages["pytorch-cuda"].version == "11.8"
    assert snap.python.packages["torch"].version == "2.0.1+cu118"
    assert snap.torch.copies == [] and snap.torch.installer == "pip"
    assert "duplicate-torch" not in codes_of(result)


@pytest.mark.parametrize("name", ["ce-2.2.2-windows-cpu-wheel.txt", "ce-1.3.1-indented-cpu-build.txt"])
def test_cpu_torch_is_never_mismatched_with_nvcc(name, knowledge):
    result = run(name, knowledge=knowledge)
    assert result.snapshot.cuda_toolkits and result.snapshot.torch.cuda is None
    assert "nvcc-torch-mismatch" not in codes_of(result)
    assert "torch-cpu-only" in codes_of(result)


@pytest.mark.parametrize("name", ["log-smi-no-comm-with-nvcc.txt", "nvcc-11.0.txt", "log-driver-too-old-9010-nvcc-10.1.txt",
                                  "ce-2.0.1-cu117-windows.txt", "ce-1.3.1-indented-cpu-build.txt"])
def test_nvcc_is_never_taken_for_the_driver(name, knowledge):
    result = run(name, knowledge=knowledge)
    d = result.snapshot.driver
    assert result.snapshot.cuda_toolkits
    for kit in result.snapshot.cuda_toolkits:
        assert d.version not in (kit.version, kit.full_version)
        assert d.cuda_version != kit.version
    if name == "log-driver-too-old-9010-nvcc-10.1.txt":
        assert d.cuda_version == "9.1"  # from torch's message, while nvcc is 10.1
    elif name in ("log-smi-no-comm-with-nvcc.txt", "nvcc-11.0.txt"):
        assert d.version is None and d.cuda_version is None


def test_mig_instances_are_not_gpus(knowledge):
    alone = run("smi-mig-devices-table.txt", knowledge=knowledge).snapshot
    assert alone.gpus == []
    both = run("smi-510-a100-mig-enabled.txt", "smi-mig-devices-table.txt", knowledge=knowledge).snapshot
    assert [g.index for g in both.gpus] == [0, 1]
    assert both.gpus[1].mig_mode == "Enabled" and both.gpus[1].mig_devices == 3
    assert both.gpus[0].mig_devices == 0


def test_header_with_different_smi_and_driver_versions(knowledge):
    wsl = run("smi-545-wsl-err-cuda.txt", knowledge=knowledge)
    assert (wsl.snapshot.driver.version, wsl.snapshot.driver.cuda_version) == ("546.80", None)
    assert wsl.snapshot.driver.nvml_version is None  # WSL shows the Windows driver: not a skew
    assert "smi-driver-skew" not in codes_of(wsl)
    assert any("ERR!" in n for n in wsl.notes)
    table = smi_table.parse(["| NVIDIA-SMI 535.54.03   Driver Version: 535.104.05   CUDA Version: 12.2 |"])
    assert (table.smi_version, table.driver.version, table.header_only) == ("535.54.03", "535.104.05", True)


# --------------------------------------------------------------------------- partial snapshots and the rules


def test_doctor_only_checks_stay_silent(knowledge):
    result = analyze([_h100_input("collect_env.txt"), _h100_input("nvcc-V.txt")], knowledge)
    assert result.snapshot.system.ninja is None and result.snapshot.meta.origin == "analyze"
    assert "build-toolchain" not in codes_of(result)
    assert "no-nvidia-gpu" not in codes_of(result) and "torch-not-installed" not in codes_of(result)


def test_torch_cpu_only_needs_someone_to_say_cpu(knowledge):
    """torch.cuda None is "CPU build" only when something says which build it is; in a `pip list` paste
    nothing does (torch.build None), so the rule itself stays quiet and analyze says why in a note."""
    parsed = parse_inputs([_h100_input("nvidia-smi.txt"), _h100_input("pip-list.txt")], knowledge)
    snap = parsed.snapshot
    assert snap.torch.dist_version == "2.11.0" and snap.torch.cuda is None  # pip list cannot tell the build
    assert snap.torch.build is None
    assert "torch-cpu-only" not in {f.code for f in evaluate(snap, knowledge)}
    result = analyze([_h100_input("nvidia-smi.txt"), _h100_input("pip-list.txt")], knowledge)
    assert "torch-cpu-only" not in codes_of(result)
    assert any("torch-cpu-only" in n for n in result.notes)


def test_rule_and_message_agree_one_finding_with_evidence(knowledge):
    result = run("log-cuda-mismatch-wrapped.txt", knowledge=knowledge)
    [finding] = [f for f in result.findings if f.code == "nvcc-torch-mismatch"]
    assert finding.title == "nvcc 11.8 vs torch's CUDA 12.4"  # the rule's title, the message's evidence
    assert finding.facts["evidence"] == {"input": "log-cuda-mismatch-wrapped.txt", "line": 2,
                                         "text": "The detected CUDA version (11.8) mismatches the version that was used to compile"}
    assert "Evidence: log-cuda-mismatch-wrapped.txt, line 2" in finding.detail
    arch = run("log-sm80-a100-with-smi-450.txt", "freeform-header-nvcc-torch-version.txt", knowledge=knowledge)
    found = [f for f in arch.findings if f.code == "gpu-arch-unsupported"]
    assert len(found) == 1 and found[0].facts["evidence"]["line"] == 1
    assert found[0].facts["compute_capability"] == "8.0"  # the rule fired on the facts the message carried


def test_signature_facts_feed_the_rules(knowledge):
    # "found version 11040" says the driver runs CUDA 11.4; with a cu118 torch known the rule judges it
    text = (CORPUS / "log-driver-too-old-11040-smi-470.txt").read_text() + \
        "\nprint(torch.__version__)\n2.1.0+cu121\n"
    result = analyze([Input("x.txt", text)], knowledge)
    snap = result.snapshot
    assert (snap.driver.cuda_version, snap.torch.cuda) == ("11.4", "12.1")
    [finding] = [f for f in result.findings if f.code == "driver-too-old"]
    assert finding.severity == Severity.ERROR and "evidence" in finding.facts


def test_torch_not_compiled_with_cuda_on_macos_is_information(knowledge):
    alone = run("log-torch-not-compiled-cuda.txt", knowledge=knowledge)
    assert [f.severity for f in alone.findings] == [Severity.ERROR]
    mac = run("log-torch-not-compiled-cuda.txt", "ce-2.2.2-macos-email-wrapped.txt", knowledge=knowledge)
    [finding] = [f for f in mac.findings if f.code == "torch-cpu-only"]
    assert finding.severity == Severity.INFO and "mps" in finding.detail


def test_evidence_of_repeated_messages(knowledge):
    result = run("log-no-kernel-image-interleaved.txt", knowledge=knowledge)
    [finding] = result.findings
    assert finding.facts["evidence"]["line"] == 1
    assert [e["line"] for e in finding.facts["evidence_more"]] == [3, 7]
    assert "seen on 3 lines" in finding.detail


def test_a_parser_bug_is_a_note_not_a_crash(monkeypatch, knowledge):
    def boom(lines):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(smi_table, "parse", boom)
    result = run("smi-570-l4.txt", knowledge=knowledge)
    assert any("could not read this smi-table block" in n for n in result.notes)


# --------------------------------------------------------------------------- the catalogue


def test_catalogue_entries_are_valid():
    signatures = load_catalogue()
    assert len(signatures) >= 20
    for sig in signatures:
        if sig.code:
            assert code_info(sig.code) is not None and sig.source.startswith("https://")
    for code, info in PROPOSED_CODES.items():
        assert code not in CODES or CODES[code] == info, f"{code} is now in codes.py: drop it from PROPOSED_CODES"


REQUIRED_MESSAGES = [
    ("log-driver-too-old-11040-smi-470.txt", "driver-too-old"),
    ("log-no-kernel-image.txt", "gpu-arch-unsupported"),
    ("log-sm86-compute37.txt", "gpu-arch-unsupported"),
    ("log-found-no-driver-colab.txt", "driver-not-loaded"),
    ("log-torch-not-compiled-cuda.txt", "torch-cpu-only"),
    ("log-cuda-mismatch-droidcalib.txt", "nvcc-torch-mismatch"),
    ("log-torchvision-nms.txt", "torchvision-mismatch"),
    ("log-libcudnn8-missing.txt", "cudnn-missing"),
    ("log-undefined-symbol-torchvision.txt", "undefined-symbol"),
    ("log-nvml-mismatch.txt", "driver-library-mismatch"),
    ("log-smi-no-comm-with-nvcc.txt", "driver-not-loaded"),
    ("log-no-devices-wsl.txt", "no-devices"),
    ("log-conda-unsatisfiable-cudatoolkit.txt", "conda-unsatisfiable"),
    ("log-oom-2.x.txt", "cuda-out-of-memory"),
    ("log-cublas-not-initialized.txt", "cublas-not-initialized"),
    ("log-nccl-system-error.txt", "nccl-error"),
]


@pytest.mark.parametrize("name,code", REQUIRED_MESSAGES)
def test_required_messages_are_recognised(name, code):
    text = (CORPUS / name).read_text(encoding="utf-8")
    hits = scan(text, name, load_catalogue())
    assert code in {h.signature.code for h in hits}


def test_driver_version_decoding():
    hits = scan("The NVIDIA driver on your system is too old (found version 12020).", "x", load_catalogue())
    assert hits[0].values["driver_cuda"] == "12.2"
    hits = scan("NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
                "installation.\nThe current PyTorch install supports CUDA capabilities sm_50 sm_90a compute_90.",
                "x", load_catalogue())
    assert hits[0].values["cc"] == "12.0" and hits[0].values["arch_list"] == ["sm_50", "sm_90a", "compute_90"]


# --------------------------------------------------------------------------- formats in detail


def test_query_csv_with_and_without_header():
    driver, gpus = smi_q.parse_csv((H100 / "nvidia-smi-query.txt").read_text().splitlines())
    assert driver.version == "580.159.04"
    g = gpus[0]
    assert (g.uuid, g.bus_id, g.memory_total_mib, g.compute_capability, g.pcie_width_max, g.power_limit_w) == (
        "GPU-ed6ac0e0-8b93-9e42-3f24-840158633ab4", "00000000:00:06.0", 81559, "9.0", 16, 700.0)
    assert g.clock_event_reasons == ["gpu_idle"]
    driver, gpus = smi_q.parse_csv((H100 / "nvidia-smi-query-nounits.txt").read_text().splitlines())
    assert driver.version == "580.159.04"
    assert (gpus[0].index, gpus[0].name, gpus[0].memory_total_mib, gpus[0].compute_capability) == (
        0, "NVIDIA H100 80GB HBM3", 81559, "9.0")


def test_pip_freeze_url_and_conda_export():
    packages = pip_list.parse_freeze([
        "torch @ https://download.pytorch.org/whl/cu118/torch-2.0.1%2Bcu118-cp310-cp310-linux_x86_64.whl",
        "torchvision==0.15.2+cu118", "requests==2.31.0"])
    assert {k: v.version for k, v in packages.items()} == {"torch": "2.0.1+cu118", "torchvision": "0.15.2+cu118"}
    listed = conda_text.parse_list((CORPUS / "conda-list-export.txt").read_text().splitlines())
    assert listed.packages["cudatoolkit"].build == "h2bc3f7f_2"
    assert conda_text.channel_name("https://repo.anaconda.com/pkgs/main/win-64") == "defaults"
    assert conda_text.channel_name("https://conda.anaconda.org/pytorch/linux-64/") == "pytorch"


def test_windows_collect_env_and_cudnn_dll():
    parsed = ce_parser.parse((CORPUS / "ce-2.0.1-cu117-windows.txt").read_text().splitlines())
    assert (parsed.os, parsed.torch_cuda, parsed.nvcc, parsed.driver_version) == ("Windows", "11.7", "11.7.64", "535.98")
    assert [c.version for c in parsed.cudnn_system] == ["8"]
    assert parsed.cpu_model == "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz"


def test_old_driver_xml_through_the_doctors_parser(knowledge):
    xml = (CORPUS.parent / "synthetic" / "nvidia-smi-q-x-old-driver-460.xml").read_text()
    result = analyze([Input("old.xml", "some noise before it\n" + xml)], knowledge)
    assert [b.kind for b in result.blocks if b.kind != "log"] == ["smi-xml"]
    assert result.snapshot.driver.version == "460.73.01" and len(result.snapshot.gpus) == 2
    assert "gpu-health" in codes_of(result)


def test_conda_builds_say_what_torch_was_built_for(knowledge):
    # conda list rows in the shape of conda-list-pytorch3d.txt, for the pytorch channel's builds
    cuda = analyze([Input("c.txt", "# packages in environment at /opt/env:\n#\n"
                                   "pytorch                   1.13.1          py3.9_cuda11.7_cudnn8.5.0_0    pytorch\n"
                                   "pytorch-cuda              11.7                 h778d358_5    pytorch\n")], knowledge)
    assert (cuda.snapshot.torch.cuda, cuda.snapshot.torch.installer, cuda.snapshot.torch.dist_version) == (
        "11.7", "conda", "1.13.1")
    cpu = parse_inputs([Input("c.txt", "# packages in environment at /opt/env:\n"
                                       "pytorch                   2.0.1               py3.10_cpu_0    pytorch\n"
                                       "cpuonly                   2.0                           0    pytorch\n")], knowledge)
    assert cpu.merger.torch_build == "cpu" and cpu.snapshot.torch.cuda is None


def test_conda_info_alone_cannot_show_channel_priority(knowledge):
    """Reported to the lead: conda-channel-conflict reads an unknown channel_priority as conda's default
    (flexible). True for a .condarc (an absent key is the default), an assumption for a `conda info` paste."""
    result = run("conda-info-windows-forge-defaults.txt", knowledge=knowledge)
    assert result.snapshot.conda.channel_priority is None
    [finding] = [f for f in result.findings if f.code == "conda-channel-conflict"]
    assert "channel_priority flexible" in finding.title


def test_utf16_and_crlf_inputs(tmp_path):
    from envcheck.textio import decode

    text = (CORPUS / "smi-461-windows-wddm.txt").read_text(encoding="utf-8").replace("\n", "\r\n")
    assert decode(text.encode("utf-16")) == text  # what PowerShell's `>` writes
    result = analyze([Input("win.txt", decode(text.encode("utf-16")))], Knowledge())
    assert result.snapshot.driver.version == "461.72" and result.snapshot.gpus[0].driver_model == "WDDM"


# --------------------------------------------------------------------------- the command


def envcheck(*args: str, stdin: str = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "envcheck", "analyze", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120, cwd=str(ROOT))


def test_cli_json_exit_codes_and_stdin():
    broken = envcheck(str(CORPUS / "log-nvml-mismatch.txt"), "--json")
    assert broken.returncode == 2, broken.stderr
    data = json.loads(broken.stdout)
    assert data["verdict"] == "broken" and data["snapshot"]["meta"]["origin"] == "analyze"
    assert data["findings"][0]["facts"]["evidence"]["line"] == 2
    assert data["analyze"]["blocks"] == []
    clean = envcheck("-", stdin=(CORPUS / "smi-570-l4.txt").read_text())
    assert clean.returncode == 0, clean.stderr
    assert "envcheck analyze: sound" in clean.stdout and "<stdin> lines 2-16: nvidia-smi table" in clean.stdout
    warned = envcheck(str(CORPUS / "ce-2.4.0-cu121-wsl2.txt"), "--strict")  # nvcc 12.4 beside torch's 12.1
    assert warned.returncode == 1
    busy = envcheck(str(CORPUS / "smi-550-tesla-p4-busy.txt"), "--strict")  # memory in use in a pasted table
    assert busy.returncode == 0 and "INFO    [gpu-health]" in busy.stdout


def test_cli_markdown_and_usage_errors(tmp_path):
    md = envcheck(str(CORPUS / "log-oom-2.x.txt"), "--markdown")
    assert md.returncode == 0 and md.stdout.startswith("### envcheck analyze: works, with warnings")
    assert "What was read" in md.stdout
    for args in ([str(tmp_path / "missing.txt")], [str(tmp_path)], [str(CORPUS / "nvcc-11.0.txt"), "--json", "--markdown"]):
        proc = envcheck(*args)
        assert proc.returncode == 3, (args, proc.stderr)
        assert proc.stderr.startswith("envcheck:") and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- speed


def test_parsing_a_large_log_is_fast():
    parts = [(CORPUS / n).read_text() for n in sorted(EXPECTED)] + [(H100 / n).read_text() for n in H100_FILES]
    text = "\n".join(parts)
    while len(text) < 200_000:
        text += "\n" + text
    text = text[:200_000]
    start = time.perf_counter()
    parse_inputs([Input("big.log", text)])
    assert time.perf_counter() - start < 2.0  # bench/bench_analyze.py holds the 0.3 s target


# --------------------------------------------------------------------------- fuzzing


FUZZ = settings(max_examples=int(os.environ.get("ENVCHECK_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
lines_strategy = st.lists(st.text(max_size=120), max_size=40)
REAL_TEXTS = [(CORPUS / n).read_text(encoding="utf-8") for n in sorted(EXPECTED)] + \
    [(H100 / n).read_text(encoding="utf-8") for n in H100_FILES]
#: characters the formats are made of, so random text reaches the parsers' inner branches
TOKENS = list("|+-=:., \t\n0123456789abcdefNVIDASMGPU()[]<>/\\'\"%WCMiB_x") + [
    "NVIDIA-SMI ", "Driver Version: ", "CUDA Version: ", "MiB", "GPU ", "sm_", "PyTorch version: ", "[conda] ",
    "[pip3] ", "==", "release ", "\u2018", "\x00", "é", "<nvidia_smi_log>", "NVSMI LOG", "Package    Version\n---- ----\n",
    "channels:\n  - ", "not compatible with the current PyTorch installation", " with CUDA capability sm_",
    "undefined symbol: ", ".so", "found version ", "active environment : ", "# packages in environment at "]
ALPHABET = st.lists(st.sampled_from(TOKENS), max_size=150).map("".join)


@st.composite
def mutated_fixture(draw):
    """A real fixture, cut, with lines dropped, doubled or shuffled and characters spliced in."""
    text = draw(st.sampled_from(REAL_TEXTS))
    lines = text.splitlines()
    if lines:
        start = draw(st.integers(0, len(lines) - 1))
        end = draw(st.integers(start, len(lines)))
        lines = lines[start:end]
    ops = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), ALPHABET), max_size=8))
    for op, where, junk in ops:
        if not lines:
            break
        i = where % len(lines)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            cut = where % (len(lines[i]) + 1)
            lines[i] = lines[i][:cut] + junk + lines[i][cut:]
        else:
            lines[i] = lines[i][: where % (len(lines[i]) + 1)]
    return "\n".join(lines)


any_text = st.one_of(st.text(max_size=400), ALPHABET, mutated_fixture())

PARSERS = {
    "smi_table": lambda t: smi_table.parse(t.splitlines()),
    "smi_q_text": lambda t: smi_q.parse_text(t.splitlines()),
    "smi_q_xml": lambda t: smi_q.parse_xml(t),
    "smi_q_csv": lambda t: smi_q.parse_csv(t.splitlines()),
    "nvcc": lambda t: nvcc.parse(t),
    "collect_env": lambda t: ce_parser.parse(t.splitlines()),
    "pip_list": lambda t: pip_list.parse_list(t.splitlines()),
    "pip_freeze": lambda t: pip_list.parse_freeze(t.splitlines()),
    "conda_list": lambda t: conda_text.parse_list(t.splitlines()),
    "conda_info": lambda t: conda_text.parse_info(t.splitlines()),
    "conda_config": lambda t: conda_text.parse_config(t.splitlines()),
    "detect": lambda t: detect.detect(detect.clean_lines(detect.split_lines(t))),
    "signatures": lambda t: scan(t, "fuzz", load_catalogue()),
}


@pytest.mark.parametrize("parser", sorted(PARSERS))
@FUZZ
@given(text=any_text)
def test_fuzz_parsers_never_raise(parser, text):
    PARSERS[parser](text)


@FUZZ
@given(lines=lines_strategy)
def test_fuzz_detector_covers_every_line_once(lines):
    blocks = detect.detect(detect.clean_lines(lines))
    covered: List[int] = []
    for block in blocks:
        assert block.start < block.end and block.lines == detect.clean_lines(lines)[block.start:block.end]
        covered.extend(range(block.start, block.end))
    assert covered == list(range(len(lines)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(any_text, min_size=1, max_size=3))
def test_fuzz_whole_analysis_never_raises(texts):
    result = analyze([Input(f"in{i}", t) for i, t in enumerate(texts)], Knowledge())
    assert result.snapshot.meta.origin == "analyze"
    json.dumps(result.snapshot.to_dict())
