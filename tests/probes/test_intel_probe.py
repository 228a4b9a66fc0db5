"""The Intel GPU (XPU) probe on real recorded xpu-smi / sycl-ls output (tests/fixtures/probes/intel/, sources
in its README), on fake tools that hang, crash or print junk, and torch.xpu in the live target probe."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Dict, Optional

import pytest

from envcheck.knowledge import Knowledge
from envcheck.probes import ProbeContext, intel
from envcheck.probes.collect import collect
from envcheck.probes.intel import parse_sycl_ls, parse_xpu_smi
from envcheck.probes.target import probe_live
from envcheck.snapshot import IntelFacts, IntelGpu, PciDevice

from conftest import clean_env, venv_python
from test_probe_target import make_pkg

INTEL = Path(__file__).resolve().parents[1] / "fixtures" / "probes" / "intel"
posix_only = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")
#: an Intel integrated GPU function (the UHD 770 of the xpu-smi recording sits at 0000:00:02.0)
IGPU = {"0000:00:02.0": ("0x8086", "0x030000", "0x4680")}


def fixture(name: str) -> str:
    return (INTEL / name).read_text(encoding="utf-8")


def make_tool(bindir: Path, name: str, body: str) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / name
    script.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body + "\n")
    script.chmod(0o755)


def fake_root(tmp_path: Path, pci: Optional[Dict[str, tuple]] = None) -> Path:
    base = tmp_path / "root" / "sys" / "bus" / "pci" / "devices"
    base.mkdir(parents=True, exist_ok=True)
    for address, (vendor, pci_class, device) in (pci or {}).items():
        (base / address).mkdir()
        for key, value in (("vendor", vendor), ("class", pci_class), ("device", device)):
            (base / address / key).write_text(value + "\n")
    return tmp_path / "root"


def ctx_for(tmp_path: Path, root: Path, bindir: Optional[Path] = None, timeout: float = 10.0) -> ProbeContext:
    return ProbeContext(env={"PATH": str(bindir or tmp_path / "empty-bin")}, timeout=timeout, root=str(root),
                        home=str(tmp_path))


# --------------------------------------------------------------------------- parsers on recorded output


def test_xpu_smi_bordered_table():
    assert parse_xpu_smi(fixture("xpu-smi-discovery-uhd770-flex140-excerpt.txt")) == [
        IntelGpu(name="Intel(R) UHD Graphics 770", bus_id="0000:00:02.0"),
        IntelGpu(name="Intel(R) Data Center GPU Flex 140")]
    assert parse_xpu_smi(fixture("xpu-smi-discovery-arc-pro-b60-excerpt.txt")) == [
        IntelGpu(name="Intel(R) Arc(TM) Pro B60 Graphics", bus_id="0000:17:00.0")]


def test_xpu_smi_borderless_table_of_newer_releases():
    assert parse_xpu_smi(fixture("xpu-smi-discovery-a770-borderless-excerpt.txt")) == [
        IntelGpu(name="Intel(R) Arc(TM) A770 Graphics", device_id="0x56a0")]


def test_xpu_smi_garbage_is_not_an_answer():
    with pytest.raises(ValueError):
        parse_xpu_smi("Segmentation fault\n")
    assert parse_xpu_smi("No device discovered\n") == []


def test_sycl_ls_keeps_level_zero_gpus_in_both_line_formats():
    assert [g.name for g in parse_sycl_ls(fixture("sycl-ls-a770-uhd630.txt"))] == [
        "Intel(R) Arc(TM) A770 Graphics", "Intel(R) UHD Graphics 630"]
    assert [g.name for g in parse_sycl_ls(fixture("sycl-ls-a750-ci-log.txt"))] == ["Intel(R) Arc(TM) A750 Graphics"]


def test_sycl_ls_with_opencl_only_lists_no_xpu_device():
    """compute-runtime#764: the A770 shows under OpenCL only; torch XPU needs Level Zero."""
    assert parse_sycl_ls(fixture("sycl-ls-no-level-zero.txt")) == []
    with pytest.raises(ValueError):
        parse_sycl_ls("sycl-ls: error while loading shared libraries: libsycl.so.8\n")


# --------------------------------------------------------------------------- the probe


def test_no_tool_runs_nothing_and_lists_the_igpu(tmp_path, monkeypatch):
    ctx = ctx_for(tmp_path, fake_root(tmp_path, IGPU))
    monkeypatch.setattr(ctx, "run", lambda *a, **k: pytest.fail("a command ran"))
    facts, issues = intel.probe(ctx)
    assert issues == [] and facts.status == "not-found" and facts.gpus == []
    assert facts.pci_devices == [PciDevice(address="0000:00:02.0", device_id="0x4680", pci_class="0x030000")]


def test_tool_installed_without_an_intel_gpu_is_not_run(tmp_path):
    bindir = tmp_path / "bin"
    marker = tmp_path / "ran"
    make_tool(bindir, "sycl-ls", f"touch {shlex.quote(str(marker))}")
    facts, issues = intel.probe(ctx_for(tmp_path, fake_root(tmp_path), bindir))
    assert facts.status == "no-device" and issues == [] and not marker.exists()


@posix_only
def test_xpu_smi_answers(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "xpu-smi", "cat " + shlex.quote(str(INTEL / "xpu-smi-discovery-arc-pro-b60-excerpt.txt")))
    facts, issues = intel.probe(ctx_for(tmp_path, fake_root(tmp_path, IGPU), bindir))
    assert issues == [] and (facts.status, facts.source) == ("ok", "xpu-smi")
    assert facts.gpus == [IntelGpu(name="Intel(R) Arc(TM) Pro B60 Graphics", bus_id="0000:17:00.0")]


@posix_only
def test_crashing_xpu_smi_then_sycl_ls(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "xpu-smi", "kill -SEGV $$")
    make_tool(bindir, "sycl-ls", "cat " + shlex.quote(str(INTEL / "sycl-ls-a770-uhd630.txt")))
    facts, issues = intel.probe(ctx_for(tmp_path, fake_root(tmp_path, IGPU), bindir))
    assert (facts.status, facts.source, len(facts.gpus)) == ("ok", "sycl-ls", 2)
    assert [(i.probe, i.kind) for i in issues] == [("intel", "crashed")]


@posix_only
def test_hanging_xpu_smi_times_out_and_stops(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "xpu-smi", "sleep 30")
    make_tool(bindir, "sycl-ls", "sleep 30")
    start = time.monotonic()
    facts, issues = intel.probe(ctx_for(tmp_path, fake_root(tmp_path, IGPU), bindir, timeout=1.0))
    assert time.monotonic() - start < 5
    assert facts.status == "timeout" and facts.gpus == [] and [i.kind for i in issues] == ["timeout"]


@posix_only
def test_garbage_from_both_tools(tmp_path):
    bindir = tmp_path / "bin"
    make_tool(bindir, "xpu-smi", "echo '\x1b[31mbanana'")
    make_tool(bindir, "sycl-ls", "echo 'not a device list'")
    facts, issues = intel.probe(ctx_for(tmp_path, fake_root(tmp_path, IGPU), bindir))
    assert facts.status == "garbage" and facts.gpus == [] and [i.kind for i in issues] == ["garbage", "garbage"]


def test_collect_names_the_probe_intel(tmp_path):
    snap = collect(ctx_for(tmp_path, fake_root(tmp_path, IGPU)), Knowledge(), only={"intel"})
    assert snap.intel == IntelFacts(status="not-found", pci_scanned=True, pci_devices=[
        PciDevice(address="0000:00:02.0", device_id="0x4680", pci_class="0x030000")])
    assert set(snap.meta.probe_durations_s) == {"intel"}


# --------------------------------------------------------------------------- torch.xpu in the target


def test_live_probe_records_torch_xpu(bare_venv: Path, tmp_path: Path) -> None:
    """A stand-in torch with torch.xpu (an XPU build), and one whose torch.xpu raises: True, then None."""
    site = tmp_path / "xpu-site"
    make_pkg(site, "torch", """
        import types
        __version__ = "2.8.0+xpu"
        version = types.SimpleNamespace(cuda=None, hip=None, git_version="abc", debug=False)
        cuda = types.SimpleNamespace(is_available=lambda: False)
        xpu = types.SimpleNamespace(is_available=lambda: True)
    """)
    ctx = ProbeContext(env=clean_env(PYTHONPATH=str(site)), timeout=20.0, python=str(venv_python(bare_venv)))
    torch, _, _ = probe_live(ctx)
    assert torch.error is None and torch.xpu_available is True

    broken = tmp_path / "broken-site"
    make_pkg(broken, "torch", """
        import types
        __version__ = "2.3.0+cpu"
        version = types.SimpleNamespace(cuda=None, hip=None, git_version="abc", debug=False)
        cuda = types.SimpleNamespace(is_available=lambda: False)
        def __getattr__(name):
            raise AttributeError(name)
    """)
    ctx.env = clean_env(PYTHONPATH=str(broken))
    torch, _, _ = probe_live(ctx)
    assert torch.error is None and torch.version == "2.3.0+cpu" and torch.xpu_available is None


@pytest.mark.slow
def test_real_cpu_torch_has_no_xpu(torch_venv: Path) -> None:
    torch, _, _ = probe_live(ProbeContext(env=clean_env(), timeout=60.0, python=str(venv_python(torch_venv))))
    assert torch.version == "2.13.0+cpu" and torch.xpu_available is False
