"""The fabric probe: the Fabric section of a real `nvidia-smi -q` (tests/fixtures/probes/fabric/, source in its README),
NVSwitch evidence from a built /sys tree, and fake nvidia-smi / systemctl that hang or print junk."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import pytest

from envcheck.probes import ProbeContext, fabric
from envcheck.probes.fabric import parse_fabric_sections

ROOT = Path(__file__).resolve().parents[2]
FABRIC = ROOT / "tests" / "fixtures" / "probes" / "fabric"
posix_only = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")
#: two GPUs' sections in nvidia-smi -q's layout, states as NVSentinel#883/#889 name them (SYNTHETIC around them)
TWO_GPUS = """==============NVSMI LOG==============

Driver Version                            : 550.90.07

GPU 00000000:18:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    Fabric
        State                             : In Progress
        Status                            : N/A
        CliqueId                          : N/A
    Serial Number                         : 1650000000000
GPU 00000000:2A:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    Fabric
        State                             : Completed
        Status                            : Success
"""


def make_tool(bindir: Path, name: str, body: str) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / name
    script.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body + "\n")
    script.chmod(0o755)


def machine(tmp_path: Path, nvswitch: bool = True) -> ProbeContext:
    root = tmp_path / "root"
    dev = root / "sys" / "bus" / "pci" / "devices"
    gpu = dev / "0000:18:00.0"
    gpu.mkdir(parents=True)
    (gpu / "vendor").write_text("0x10de\n"), (gpu / "class").write_text("0x030200\n")
    if nvswitch:
        switch = dev / "0000:05:00.0"
        switch.mkdir(parents=True)
        (switch / "vendor").write_text("0x10de\n"), (switch / "class").write_text("0x068000\n")
        (switch / "device").write_text("0x22a3\n")
    return ProbeContext(env={"PATH": str(tmp_path / "bin")}, timeout=1.0, root=str(root))


def test_the_real_fabric_section_parses():
    [gpu] = parse_fabric_sections((FABRIC / "nvidia-smi-q-fabric-azhpc-506.txt").read_text(encoding="utf-8"))
    assert (gpu.bus_id, gpu.state, gpu.status) == (None, "Completed", "Insufficient Resources")


def test_sections_belong_to_their_gpu_and_end_with_their_indent():
    gpus = parse_fabric_sections(TWO_GPUS)
    assert [(g.bus_id, g.state, g.status) for g in gpus] == [("00000000:18:00.0", "In Progress", "N/A"),
                                                              ("00000000:2A:00.0", "Completed", "Success")]
    assert parse_fabric_sections("GPU 00000000:18:00.0\n    Product Name : X\n") == []


def test_no_nvswitch_evidence_runs_nothing(tmp_path):
    make_tool(tmp_path / "bin", "nvidia-smi", "touch " + shlex.quote(str(tmp_path / "ran")))
    facts, issues = fabric.probe(machine(tmp_path, nvswitch=False))
    assert (facts.nvswitch_evidence, facts.gpus, facts.service, issues) == (None, [], None, [])
    assert not (tmp_path / "ran").exists()


@posix_only
def test_nvswitch_box_reads_smi_and_the_service(tmp_path):
    (tmp_path / "q.txt").write_text(TWO_GPUS)
    make_tool(tmp_path / "bin", "nvidia-smi", "cat " + shlex.quote(str(tmp_path / "q.txt")))
    make_tool(tmp_path / "bin", "systemctl", "echo inactive; exit 3")
    facts, issues = fabric.probe(machine(tmp_path))
    assert facts.nvswitch_evidence == "nvswitch-pci" and facts.service == "inactive" and issues == []
    assert [g.state for g in facts.gpus] == ["In Progress", "Completed"]


@posix_only
def test_fabric_manager_files_are_evidence_without_pci_switches(tmp_path):
    ctx = machine(tmp_path, nvswitch=False)
    (Path(ctx.root) / "usr" / "bin").mkdir(parents=True)
    (Path(ctx.root) / "usr" / "bin" / "nv-fabricmanager").write_text("")
    make_tool(tmp_path / "bin", "systemctl", "echo 'System has not been booted with systemd as init system (PID 1). "
              "Can'\"'\"'t operate.' >&2; exit 1")
    facts, issues = fabric.probe(ctx)
    assert (facts.nvswitch_evidence, facts.service, issues) == ("fabricmanager-installed", None, [])


@posix_only
def test_hanging_and_garbage_tools(tmp_path):
    make_tool(tmp_path / "bin", "nvidia-smi", "sleep 30")
    make_tool(tmp_path / "bin", "systemctl", "printf '\\377\\376garbage\\n'")
    start = time.monotonic()
    facts, issues = fabric.probe(machine(tmp_path))
    assert time.monotonic() - start < 10
    assert facts.gpus == [] and facts.service is None and [i.kind for i in issues] == ["timeout"]
