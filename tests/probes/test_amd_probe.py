"""The AMD/ROCm probe on real recorded tool output (tests/fixtures/probes/amd/, sources in its README) and on
fake rocminfo / amd-smi / rocm_agent_enumerator executables that hang, crash or print junk.

The KFD topology and PCI trees are built in tmp_path (SYNTHETIC layout) around real values: the
``gfx_target_version 90402`` line an MI300X printed (ROCm/rocm-cli#343) and the pair 90006 / gfx906 that
rocprofv3-avail printed for a Radeon VII (ROCm/rocm-systems#922).
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path
from typing import Dict, Optional

import jsonschema
import pytest

from envcheck.knowledge import Knowledge
from envcheck.probes import ProbeContext, amd
from envcheck.probes.amd import (
    gfx_from_target_version,
    gfx_of,
    parse_agent_enumerator,
    parse_amd_smi,
    parse_rocminfo,
    read_kfd,
    read_rocm_version,
)
from envcheck.probes.collect import collect
from envcheck.snapshot import AmdFacts, AmdGpu, PciDevice, Snapshot

ROOT = Path(__file__).resolve().parents[2]
AMD = ROOT / "tests" / "fixtures" / "probes" / "amd"
posix_only = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")


def fixture(name: str) -> str:
    return (AMD / name).read_text(encoding="utf-8")


def make_tool(bindir: Path, name: str, body: str) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / name
    script.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body + "\n")
    script.chmod(0o755)
    return script


def cat(name: str) -> str:
    return "cat " + shlex.quote(str(AMD / name))


def fake_root(tmp_path: Path, kfd: bool = True, pci: Optional[Dict[str, tuple]] = None,
              nodes: Optional[Dict[str, str]] = None) -> Path:
    """A SYNTHETIC machine tree: /dev/kfd, /sys/bus/pci/devices/<addr>/{vendor,class,device}, KFD nodes."""
    root = tmp_path / "root"
    (root / "dev").mkdir(parents=True, exist_ok=True)
    if kfd:
        (root / "dev" / "kfd").write_text("")
    pci_base = root / "sys" / "bus" / "pci" / "devices"
    pci_base.mkdir(parents=True, exist_ok=True)
    for address, (vendor, pci_class, device) in (pci or {}).items():
        entry = pci_base / address
        entry.mkdir()
        (entry / "vendor").write_text(vendor + "\n")
        (entry / "class").write_text(pci_class + "\n")
        (entry / "device").write_text(device + "\n")
    for node, properties in (nodes or {}).items():
        path = root / "sys" / "class" / "kfd" / "kfd" / "topology" / "nodes" / node
        path.mkdir(parents=True)
        (path / "properties").write_text(properties)
    return root


def ctx_for(tmp_path: Path, root: Path, bindir: Optional[Path] = None, timeout: float = 10.0,
            **env: str) -> ProbeContext:
    path = str(bindir) if bindir else str(tmp_path / "empty-bin")
    return ProbeContext(env={"PATH": path, "ROCM_PATH": "/opt/no-rocm", **env}, timeout=timeout,
                        root=str(root), home=str(tmp_path))


MI300X_PCI = {"0000:26:00.0": ("0x1002", "0x120000", "0x74a1")}
#: a CPU node and a GPU node, around the real line (rocm-cli#343) and the CPU node's 0 (same thread)
KFD_NODES = {"0": "cpu_cores_count 96\nsimd_count 0\ngfx_target_version 0\n",
             "1": "cpu_cores_count 0\nsimd_count 1216\n" + fixture("kfd-node-properties-mi300x-line.txt")
                  + "vendor_id 4098\ndevice_id 29857\nlocation_id 9728\ndomain 0\n"}


# --------------------------------------------------------------------------- parsers on recorded output


def test_rocminfo_mi300x_x4_lists_the_four_gpus_and_drops_both_cpu_agents():
    gpus = parse_rocminfo(fixture("rocminfo-mi300x-x4.txt"))
    assert gpus == [AmdGpu(name="gfx942", gfx="gfx942", marketing_name="AMD Instinct MI300X")] * 4


def test_rocminfo_excerpts_mi250x_and_w6600():
    assert parse_rocminfo(fixture("rocminfo-mi250x-excerpt.txt")) == [
        AmdGpu(name="gfx90a", gfx="gfx90a", marketing_name="AMD Instinct MI250X/MI250")]
    assert parse_rocminfo(fixture("rocminfo-w6600-agent-excerpt.txt")) == [
        AmdGpu(name="gfx1032", gfx="gfx1032", marketing_name="AMD Radeon PRO W6600")]


def test_rocminfo_agent_name_is_not_overwritten_by_the_isa_name():
    """The ISA block's ``Name: amdgcn-amd-amdhsa--gfx942:sramecc+:xnack-`` comes after the agent's ``Name``."""
    text = fixture("rocminfo-mi300x-x4.txt")
    assert "amdgcn-amd-amdhsa--gfx942:sramecc+:xnack-" in text
    assert {g.name for g in parse_rocminfo(text)} == {"gfx942"}


@pytest.mark.parametrize("text", ["", "ROCk module is NOT loaded, possibly no GPU devices\n", "hello\nworld"])
def test_rocminfo_without_agents_is_not_an_answer(text):
    with pytest.raises(ValueError):
        parse_rocminfo(text)


def test_agent_enumerator_drops_gfx000():
    assert [g.gfx for g in parse_agent_enumerator(fixture("rocm_agent_enumerator-gfx000-gfx803-gfx902.txt"))] == [
        "gfx803", "gfx902"]
    assert [g.gfx for g in parse_agent_enumerator(fixture("rocm_agent_enumerator-mi300x-x8.txt"))] == ["gfx942"] * 8
    assert parse_agent_enumerator(fixture("rocm_agent_enumerator-cpu-only.txt")) == []
    with pytest.raises(ValueError):
        parse_agent_enumerator("Traceback (most recent call last):\n  File ...")


def test_amd_smi_text_form_mi350x():
    assert parse_amd_smi(fixture("amd-smi-static-mi350x.txt")) == [
        AmdGpu(gfx="gfx950", marketing_name="AMD Instinct MI350X", bus_id="0000:05:00.0", device_id="0x75a0")]


def test_amd_smi_json_after_python_warnings_even_cut_off():
    """The recorded JSON is cut mid-document: the key lines still give the GPU."""
    text = fixture("amd-smi-static-json-rx7800xt-excerpt.txt")
    assert text.startswith("/usr/lib/python3.14/site-packages/amdsmi")
    expected = [AmdGpu(gfx="gfx1101", marketing_name="AMD Radeon RX 7800 XT", bus_id="0000:03:00.0",
                       device_id="0x747e")]
    assert parse_amd_smi(text) == expected


def test_amd_smi_whole_json_in_both_layouts():
    """A whole document, as a list (older amd-smi) and as {"gpu_data": [...]} (newer): values from the recording."""
    item = {"gpu": 0, "asic": {"market_name": "AMD Radeon RX 7800 XT", "device_id": "0x747e",
                               "target_graphics_version": "gfx1101", "oam_id": "N/A"},
            "bus": {"bdf": "0000:03:00.0"}}
    expected = [AmdGpu(gfx="gfx1101", marketing_name="AMD Radeon RX 7800 XT", bus_id="0000:03:00.0",
                       device_id="0x747e")]
    assert parse_amd_smi(json.dumps([item], indent=4)) == expected
    assert parse_amd_smi("warning: x\n" + json.dumps({"gpu_data": [item]})) == expected
    assert parse_amd_smi(json.dumps({"gpu_data": []})) == []
    with pytest.raises(ValueError):
        parse_amd_smi("AMDSMI_STATUS_INIT_ERROR")


def test_gfx_from_target_version_on_recorded_pairs():
    assert gfx_from_target_version("90402") == "gfx942"  # rocm-cli#343, amd-smi said gfx942 too
    assert gfx_from_target_version("90006") == "gfx906"  # rocm-systems#922: name gfx906 beside it
    assert gfx_from_target_version("0") is None  # a CPU node
    assert gfx_from_target_version("banana") is None and gfx_from_target_version(None) is None
    assert gfx_of("amdgcn-amd-amdhsa--gfx90a:sramecc+:xnack-") == "gfx90a" and gfx_of("gfx000") is None


# --------------------------------------------------------------------------- files


def test_kfd_topology_gives_gpu_nodes_only(tmp_path):
    root = fake_root(tmp_path, nodes=KFD_NODES)
    (root / "sys/class/kfd/kfd/topology/nodes/1/name").write_text("ip discovery\n")
    gpus = read_kfd(ctx_for(tmp_path, root))
    assert gpus == [AmdGpu(name="ip discovery", gfx="gfx942", device_id="0x74a1", bus_id="0000:26:00.0")]


def test_rocm_version_from_rocm_path_then_opt_rocm_core(tmp_path):
    root = fake_root(tmp_path)
    custom = root / "opt" / "rocm-6.2.0"
    (custom / ".info").mkdir(parents=True)
    (custom / ".info" / "version").write_text("6.2.0-66\n")
    assert read_rocm_version(ctx_for(tmp_path, root, ROCM_PATH="/opt/rocm-6.2.0")) == ("6.2.0", "/opt/rocm-6.2.0")
    core = root / "opt" / "rocm" / "core" / ".info"
    core.mkdir(parents=True)
    (core / "version").write_text(fixture("rocm-info-version-therock.txt"))
    assert read_rocm_version(ctx_for(tmp_path, root)) == ("7.14.0", "/opt/rocm")


# --------------------------------------------------------------------------- the probe


def test_no_tool_and_no_gpu_runs_nothing(tmp_path, monkeypatch):
    ctx = ctx_for(tmp_path, fake_root(tmp_path, kfd=False))
    monkeypatch.setattr(ctx, "run", lambda *a, **k: pytest.fail("a command ran"))
    facts, issues = amd.probe(ctx)
    assert issues == []
    assert facts == AmdFacts(status="not-found", kfd=False, pci_scanned=True)


def test_tools_installed_but_no_amd_gpu_are_not_run(tmp_path):
    """An NVIDIA box with ROCm installed: no /dev/kfd, no AMD function on the bus, so rocminfo never starts."""
    bindir = tmp_path / "bin"
    marker = tmp_path / "ran"
    make_tool(bindir, "rocminfo", f"touch {shlex.quote(str(marker))}; {cat('rocminfo-mi300x-x4.txt')}")
    root = fake_root(tmp_path, kfd=False, pci={"0000:01:00.0": ("0x10de", "0x030200", "0x2330")})
    facts, issues = amd.probe(ctx_for(tmp_path, root, bindir))
    assert facts.status == "no-device" and facts.gpus == [] and issues == []
    assert not marker.exists()


@posix_only
def test_rocminfo_answers(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "rocminfo", cat("rocminfo-mi300x-x4.txt"))
    root = fake_root(tmp_path, pci=MI300X_PCI)
    facts, issues = amd.probe(ctx_for(tmp_path, root, bindir))
    assert issues == [] and facts.status == "ok" and facts.source == "rocminfo"
    assert [g.marketing_name for g in facts.gpus] == ["AMD Instinct MI300X"] * 4
    assert facts.kfd is True and facts.pci_scanned is True
    # an Instinct says class 0x1200, processing accelerator (apache/cloudstack#11701: MI325X), not display
    assert facts.pci_devices == [PciDevice(address="0000:26:00.0", device_id="0x74a1", pci_class="0x120000")]


def test_pci_lists_amd_display_functions_without_any_tool(tmp_path):
    pci = {"0000:03:00.0": ("0x1002", "0x030000", "0x747e"),  # RX 7800 XT (ids from the amd-smi recording)
           "0000:03:00.1": ("0x1002", "0x040300", "0xab30"),  # its audio function
           "0000:05:00.0": ("0x1002", "0x120000", "0x74a5"),  # MI325X, apache/cloudstack#11701
           "0000:00:02.0": ("0x8086", "0x030000", "0x4680")}
    facts, issues = amd.probe(ctx_for(tmp_path, fake_root(tmp_path, kfd=False, pci=pci)))
    assert facts.status == "not-found" and issues == [] and facts.gpus == []
    assert facts.pci_devices == [PciDevice(address="0000:03:00.0", device_id="0x747e", pci_class="0x030000"),
                                 PciDevice(address="0000:05:00.0", device_id="0x74a5", pci_class="0x120000")]


@posix_only
def test_rocminfo_in_rocm_path_bin_is_found_without_path(tmp_path):
    root = fake_root(tmp_path)
    rocm = root / "opt" / "rocm-7.14.0"
    make_tool(rocm / "bin", "rocminfo", cat("rocminfo-w6600-agent-excerpt.txt"))
    (rocm / ".info").mkdir()
    (rocm / ".info" / "version").write_text(fixture("rocm-info-version-therock.txt"))
    facts, _ = amd.probe(ctx_for(tmp_path, root, ROCM_PATH="/opt/rocm-7.14.0"))
    assert facts.source == "rocminfo" and [g.gfx for g in facts.gpus] == ["gfx1032"]
    assert (facts.rocm_version, facts.rocm_path) == ("7.14.0", "/opt/rocm-7.14.0")


@posix_only
def test_garbage_rocminfo_falls_back_to_amd_smi(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "rocminfo", "echo 'Segmentation fault (core dumped)? no: just noise'")
    make_tool(bindir, "amd-smi", cat("amd-smi-static-mi350x.txt"))
    facts, issues = amd.probe(ctx_for(tmp_path, fake_root(tmp_path), bindir))
    assert facts.status == "ok" and facts.source == "amd-smi" and [g.gfx for g in facts.gpus] == ["gfx950"]
    assert [(i.probe, i.kind) for i in issues] == [("amd", "garbage")]


@posix_only
def test_failing_rocminfo_keeps_its_message_and_enumerator_answers(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "rocminfo", "echo 'ROCk module is NOT loaded, possibly no GPU devices'; exit 1")
    make_tool(bindir, "rocm_agent_enumerator", cat("rocm_agent_enumerator-mi300x-x8.txt"))
    facts, issues = amd.probe(ctx_for(tmp_path, fake_root(tmp_path), bindir))
    assert facts.source == "rocm_agent_enumerator" and len(facts.gpus) == 8 and facts.status == "ok"
    assert issues[0].kind == "error" and "ROCk module is NOT loaded" in issues[0].message


@posix_only
def test_hanging_rocminfo_times_out_and_kfd_stands_in(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "rocminfo", "sleep 30")
    make_tool(bindir, "amd-smi", "sleep 30")
    root = fake_root(tmp_path, nodes=KFD_NODES)
    start = time.monotonic()
    facts, issues = amd.probe(ctx_for(tmp_path, root, bindir, timeout=1.0))
    assert time.monotonic() - start < 5
    assert facts.status == "timeout" and [i.kind for i in issues] == ["timeout"]  # amd-smi not tried after a hang
    assert facts.source == "kfd" and [g.gfx for g in facts.gpus] == ["gfx942"]


@posix_only
def test_crashing_rocminfo_is_crashed_not_an_exception(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "rocminfo", "kill -SEGV $$")
    facts, issues = amd.probe(ctx_for(tmp_path, fake_root(tmp_path), bindir))
    assert facts.status == "crashed" and facts.gpus == [] and facts.source is None
    assert "SIGSEGV" in facts.status_message and issues[0].kind == "crashed"


# --------------------------------------------------------------------------- collect, JSON, schema


@posix_only
def test_collect_names_the_probe_amd_and_the_snapshot_round_trips(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "rocminfo", cat("rocminfo-mi300x-x4.txt"))
    ctx = ctx_for(tmp_path, fake_root(tmp_path, pci=MI300X_PCI), bindir)
    snap = collect(ctx, Knowledge(), only={"amd"})
    assert snap.amd.source == "rocminfo" and len(snap.amd.gpus) == 4
    assert set(snap.meta.probe_durations_s) == {"amd"}
    again = Snapshot.from_json(snap.to_json())
    assert again.amd == snap.amd and again.to_dict() == snap.to_dict()
    schema = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator({**{k: v for k, v in schema.items() if k != "properties"},
                                                 "required": [], "$ref": "#/$defs/snapshot"})
    assert [e.message for e in validator.iter_errors(json.loads(snap.to_json()))] == []


def test_an_old_snapshot_without_amd_loads_as_unknown():
    data = Snapshot().to_dict()
    del data["amd"], data["intel"]
    snap = Snapshot.from_dict(data)
    assert snap.amd == AmdFacts() and snap.amd.status is None
