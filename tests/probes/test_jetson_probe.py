"""Linux aarch64 flavours: a Jetson (Tegra, L4T) told from an SBSA server (Grace Hopper / GB200), on the
real /etc/nv_tegra_release and device-tree texts of tests/fixtures/probes/jetson/ (sources in its README)
laid into a fake root."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import pytest

from envcheck.probes import ProbeContext
from envcheck.probes.system import basic, detect_jetson, dpkg_version, parse_tegra_release
from envcheck.snapshot import Gpu, PciDevice, Snapshot, System, aarch64_flavour

JETSON = Path(__file__).resolve().parents[1] / "fixtures" / "probes" / "jetson"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Jetson detection is Linux only")
#: the version string jetson_stats#706 names for nvidia-l4t-core (JetPack 6.2.1)
L4T_CORE_VERSION = "36.4.4-20250616085344"


def fixture(name: str) -> str:
    return (JETSON / name).read_text(encoding="utf-8")


def root_with(tmp_path: Path, files: Dict[str, str]) -> ProbeContext:
    root = tmp_path / "root"
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    root.mkdir(exist_ok=True)
    return ProbeContext(env={"PATH": ""}, root=str(root), home=str(tmp_path))


def test_tegra_release_lines():
    assert parse_tegra_release(fixture("nv_tegra_release-r35.3.1-orin-nano.txt")) == (
        "R35 (release), REVISION: 3.1, GCID: 32827747, BOARD: t186ref, EABI: aarch64, "
        "DATE: Sun Mar 19 15:19:21 UTC 2023", "35.3.1")
    assert parse_tegra_release(fixture("nv_tegra_release-r39.2.0-agx-orin.txt"))[1] == "39.2.0"
    assert parse_tegra_release("") == (None, None) and parse_tegra_release("PRETTY_NAME=Ubuntu") == (None, None)


@linux_only
def test_agx_orin_with_release_file_and_model(tmp_path):
    ctx = root_with(tmp_path, {"/etc/nv_tegra_release": fixture("nv_tegra_release-r39.2.0-agx-orin.txt"),
                               "/proc/device-tree/model": fixture("device-tree-model-agx-orin.txt") + "\x00"})
    jetson, l4t, model = detect_jetson(ctx, "aarch64")
    assert jetson.startswith("R39 (release), REVISION: 2.0") and l4t == "39.2.0"
    assert model == "NVIDIA Jetson AGX Orin Developer Kit"


@linux_only
def test_orin_nano_kit_without_release_file_is_known_by_its_tegra_device_tree(tmp_path):
    """Its model says "NVIDIA Orin Nano Developer Kit" (no "Jetson"): the compatible list names nvidia,tegra234."""
    model = fixture("device-tree-model-orin-nano.txt")
    assert "jetson" not in model.lower()
    ctx = root_with(tmp_path, {"/proc/device-tree/model": model + "\x00",
                               "/proc/device-tree/compatible": fixture("device-tree-compatible-orin-nano-as-pasted.txt")})
    assert detect_jetson(ctx, "aarch64") == (model, None, model)


@linux_only
def test_l4t_core_package_when_the_release_file_is_gone(tmp_path):
    """A SYNTHETIC dpkg status stanza around the real package version."""
    status = ("Package: bash\nStatus: install ok installed\nVersion: 5.1-6ubuntu1\n\n"
              f"Package: nvidia-l4t-core\nStatus: install ok installed\nArchitecture: arm64\nVersion: {L4T_CORE_VERSION}\n"
              "Description: NVIDIA Core Package\n multi-line description\n")
    assert dpkg_version(status, "nvidia-l4t-core") == L4T_CORE_VERSION
    ctx = root_with(tmp_path, {"/var/lib/dpkg/status": status, "/var/lib/dpkg/info/nvidia-l4t-core.list": ""})
    assert detect_jetson(ctx, "aarch64") == (f"nvidia-l4t-core {L4T_CORE_VERSION}", "36.4.4", None)


@linux_only
def test_sbsa_server_and_other_architectures_are_not_jetson(tmp_path):
    ctx = root_with(tmp_path, {"/proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.4\x00"})
    assert detect_jetson(ctx, "aarch64") == (None, None, None)  # and a Grace server has no device tree model
    release = root_with(tmp_path / "x", {"/etc/nv_tegra_release": fixture("nv_tegra_release-r35.3.1-orin-nano.txt")})
    assert detect_jetson(release, "x86_64") == (None, None, None)


def test_this_machine_basic_system_has_no_jetson():
    system = basic(ProbeContext())
    if (system.machine or "") not in ("aarch64", "arm64"):
        assert (system.jetson, system.jetson_l4t, system.jetson_model) == (None, None, None)


def test_aarch64_flavour_from_a_snapshot():
    def snap(machine: str, **system: str) -> Snapshot:
        return Snapshot(system=System(os="Linux", machine=machine, **system))

    jetson = snap("aarch64", jetson="R36 (release), REVISION: 4.3", jetson_l4t="36.4.3")
    assert aarch64_flavour(jetson) == "jetson"
    grace = snap("aarch64")
    assert aarch64_flavour(grace) is None  # no NVIDIA GPU seen: a plain ARM box
    grace.gpus = [Gpu(name="NVIDIA GH200 480GB")]
    assert aarch64_flavour(grace) == "sbsa"
    broken_driver = snap("aarch64")
    # a GPU on the bus whose driver does not answer (SYNTHETIC address)
    broken_driver.driver.pci_devices = [PciDevice(address="0000:01:00.0", pci_class="0x030200")]
    assert aarch64_flavour(broken_driver) == "sbsa"
    x86 = snap("x86_64")
    x86.gpus = [Gpu(name="NVIDIA H100 80GB HBM3")]
    assert aarch64_flavour(x86) is None
    assert Snapshot.from_json(jetson.to_json()).system == jetson.system
