"""doctor's `mps-unavailable` (issue 15 req 3): a Mac whose torch imported but cannot use the Apple GPU, the reason
taken from the live probe's facts (built without MPS, an x86_64 Python under Rosetta, a macOS below the floor in
platforms.toml), and a Mac report that gives no CUDA advice."""

from __future__ import annotations

from envcheck.knowledge import Knowledge
from envcheck.rules import evaluate
from envcheck.snapshot import Meta, Python, Snapshot, System, Torch

K = Knowledge()
CUDA_WORDS = ("cuda", "nvidia", "driver", "nvcc", "cu12", "cu13", "--index-url https://download.pytorch.org/whl/cu")


def mac(torch_version: str = "2.15.0", **torch: object) -> Snapshot:
    """An M2 MacBook with a native arm64 Python 3.12 and PyPI's torch, imported by the live probe."""
    snap = Snapshot(meta=Meta(origin="doctor", envcheck_version="test"))
    snap.driver.status = "not-found"
    snap.system = System(os="Darwin", machine="arm64", cpu_model="Apple M2", mac_version="15.1", apple_silicon=True,
                         cpu_count=8)
    snap.python = Python(executable="/opt/homebrew/bin/python3.12", version="3.12.7", chosen_by="PATH",
                         prefix="/opt/homebrew")
    snap.torch = Torch(version=torch_version, dist_version=torch_version, build="cpu", live=True,
                       cuda_available=False, device_count=0, location="/opt/homebrew/lib/python3.12/site-packages/torch",
                       installer="pip", mps_built=True, mps_available=True, mac_version="15.1", machine="arm64",
                       translated=False)
    for name, value in torch.items():
        setattr(snap.torch, name, value)
    return snap


def found(snap: Snapshot):
    return {f.code: f for f in evaluate(snap, K)}


def test_a_working_mac_is_clean_of_mps_and_of_every_cuda_fix():
    findings = evaluate(mac(), K)
    assert "mps-unavailable" not in {f.code for f in findings}
    for f in findings:
        assert f.severity.value != "error", (f.code, str(f.title))
        text = " ".join([str(f.title), str(f.detail)] + [str(x) for x in f.fix]).lower()
        assert not any(w in text for w in CUDA_WORDS) or f.severity.value == "info", (f.code, text)


def test_an_x86_64_python_under_rosetta_is_the_reason_and_no_cuda_advice_follows():
    snap = mac("2.2.2", mps_available=False, machine="x86_64", translated=True, mac_version="10.16")
    snap.python.executable = "/usr/local/bin/python3"
    all_findings = evaluate(snap, K)
    f = {x.code: x for x in all_findings}["mps-unavailable"]
    assert "x86_64 Python running under Rosetta" in str(f.title) and "/usr/local/bin/python3" in str(f.title)
    # the system is 15.1, the Python is told 10.16: said too, as the Rosetta symptom
    assert "told macOS 10.16" in str(f.detail)
    assert any("native arm64 Python" in str(x) for x in f.fix)
    for other in all_findings:
        text = " ".join([str(other.title), str(other.detail)] + [str(x) for x in other.fix]).lower()
        assert other.severity.value == "info" or not any(w in text for w in CUDA_WORDS), (other.code, text)


def test_rosetta_told_by_the_machine_when_the_sysctl_was_not_read():
    f = found(mac(mps_available=False, machine="x86_64", translated=None))["mps-unavailable"]
    assert "Rosetta" in str(f.title)


def test_a_build_without_mps():
    f = found(mac(mps_built=False, mps_available=False))["mps-unavailable"]
    assert "built without MPS" in str(f.title)
    assert "pip install --force-reinstall torch" in str(f.fix[0])
    assert f.facts["mps_built"] is False


def test_macos_below_the_floor_of_a_recent_torch():
    snap = mac("2.15.0", mps_available=False, mac_version="13.6")
    snap.system.mac_version = "13.6"
    f = found(snap)["mps-unavailable"]
    floor = K.platform_notes()["macos-mps"]["latest_min_macos"]
    assert floor == "14.0"
    assert "macOS 13.6 is older than the 14.0" in str(f.title)
    assert any("Update macOS to 14.0" in str(x) for x in f.fix)


def test_an_old_torch_keeps_the_backends_own_floor():
    snap = mac("2.0.1", mps_available=False, mac_version="12.1")
    snap.system.mac_version = "12.1"
    f = found(snap)["mps-unavailable"]
    assert "older than the 12.3" in str(f.title)


def test_no_reason_known_says_so():
    f = found(mac(mps_available=False))["mps-unavailable"]
    assert "no Metal GPU visible" in str(f.title)


def test_not_on_linux_and_not_without_the_live_probe():
    snap = mac(mps_available=False)
    snap.system.os = "Linux"
    assert "mps-unavailable" not in found(snap)
    snap = mac(mps_available=None, live=False)
    assert "mps-unavailable" not in found(snap)
