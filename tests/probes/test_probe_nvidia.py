"""The NVIDIA driver/GPU probe, on the real H100 recordings and on fake nvidia-smi executables.

Fault cases (driver gone, library mismatch, hang, junk output) use small shell scripts named
nvidia-smi on a PATH in tmp_path; the old-driver XML format comes from the clearly labelled
synthetic fixture under tests/fixtures/synthetic/.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from pathlib import Path
from typing import List, Optional

import pytest

from envcheck.knowledge import Knowledge
from envcheck.probes import ProbeContext
from envcheck.probes.nvidia import (
    FALLBACK_FIELDS,
    classify_smi_failure,
    find_smi,
    leading_version,
    nvml_library_version,
    parse_proc_version,
    parse_query_csv,
    parse_smi_xml,
    probe,
    scan_pci,
)
from envcheck.runner import CommandResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
H100 = FIXTURES / "h100-torch2.11-cu130"
CPU = FIXTURES / "cpu-nvcc13-nodriver"
OLD_XML = FIXTURES / "synthetic" / "nvidia-smi-q-x-old-driver-460.xml"
H100_UUID = "GPU-ed6ac0e0-8b93-9e42-3f24-840158633ab4"
REAL_QUERY_FIELDS = [
    "index", "uuid", "name", "pci.bus_id", "driver_version", "memory.total", "memory.used",
    "compute_cap", "persistence_mode", "pcie.link.gen.current", "pcie.link.width.current",
    "pcie.link.gen.max", "pcie.link.width.max", "clocks_throttle_reasons.active",
    "ecc.errors.uncorrected.volatile.total", "temperature.gpu", "power.draw", "power.limit",
    "mig.mode.current",
]
MISMATCH_TEXT = "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.183"
NO_COMM_TEXT = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
                "Make sure that the latest NVIDIA driver is installed and running.")


# --------------------------------------------------------------------------- helpers


def fake_smi(tmp_path: Path, body: str, name: str = "bin") -> Path:
    """A directory holding an executable ``nvidia-smi`` shell script with ``body``."""
    bindir = tmp_path / name
    bindir.mkdir(exist_ok=True)
    script = bindir / "nvidia-smi"
    script.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body)
    script.chmod(0o755)
    return bindir


def make_ctx(tmp_path: Path, bindir: Path, timeout: float = 10.0) -> ProbeContext:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    return ProbeContext(env={"PATH": str(bindir)}, timeout=timeout, root=str(root), home=str(tmp_path))


def q(path: Path) -> str:
    return shlex.quote(str(path))


# The real CSV (format=csv, header + units) reshaped into what each query prints.
CC_ROW = f"sed -n 2p {q(H100 / 'nvidia-smi-query.txt')} | cut -d, -f1,2,8"
FALLBACK_ROW = f"sed -n 2p {q(H100 / 'nvidia-smi-query.txt')} | cut -d, -f1-8,19"
CC_ARG = "--query-gpu=index,uuid,compute_cap"
FALLBACK_ARG = "--query-gpu=" + ",".join(FALLBACK_FIELDS)


def dispatch(xml: str, cc: str, fallback: str = "echo unexpected >&2; exit 2") -> str:
    return (f'case "$1" in\n  -q) {xml} ;;\n  {CC_ARG}) {cc} ;;\n  {FALLBACK_ARG}) {fallback} ;;\n'
            f'  *) echo "unexpected arguments: $*" >&2; exit 2 ;;\nesac\n')


# --------------------------------------------------------------------------- nvidia-smi -q -x


def test_parse_real_h100_xml() -> None:
    driver, gpus = parse_smi_xml((H100 / "nvidia-smi-q-x.xml").read_text())
    assert driver.version == "580.159.04"
    assert driver.cuda_version == "13.0"
    assert len(gpus) == 1
    gpu = gpus[0]
    assert gpu.index == 0
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.uuid == H100_UUID
    assert gpu.bus_id == "00000000:00:06.0"
    assert gpu.architecture == "Hopper"
    assert (gpu.memory_total_mib, gpu.memory_used_mib) == (81559, 0)
    assert gpu.persistence_mode == "Enabled"
    assert (gpu.mig_mode, gpu.mig_devices) == ("Disabled", 0)
    assert (gpu.pcie_gen_current, gpu.pcie_gen_max) == (5, 5)
    assert (gpu.pcie_width_current, gpu.pcie_width_max) == (16, 16)
    assert gpu.temperature_c == 41.0
    assert gpu.power_draw_w is not None and 126.0 <= gpu.power_draw_w < 127.0
    assert (gpu.power_limit_w, gpu.power_limit_default_w) == (700.0, 700.0)
    # Every reason reads "Not Active" in this sample (the CSV, taken at another moment, says gpu_idle).
    assert gpu.clock_event_reasons == []
    assert gpu.ecc_mode == "Enabled"
    assert (gpu.ecc_uncorrected_volatile, gpu.ecc_uncorrected_aggregate) == (0, 0)
    assert (gpu.remapped_rows_pending, gpu.remapped_rows_failure) == (False, False)
    assert gpu.retired_pages_pending is None  # "N/A" on Hopper: row remapping replaced it
    assert (gpu.sm_clock_mhz, gpu.sm_clock_max_mhz) == (1980, 1980)
    assert gpu.compute_mode == "Default"
    assert gpu.driver_model is None  # Linux prints N/A
    assert gpu.processes == []
    assert gpu.compute_capability is None  # the XML carries none


def test_parse_old_driver_xml_reads_throttle_reasons_and_power_readings() -> None:
    driver, gpus = parse_smi_xml(OLD_XML.read_text())
    assert (driver.version, driver.cuda_version) == ("460.73.01", "11.2")
    first, second = gpus
    assert first.clock_event_reasons == ["hw_thermal_slowdown"]
    assert (first.power_draw_w, first.power_limit_w, first.power_limit_default_w) == (232.8, 250.0, 250.0)
    assert (first.ecc_uncorrected_volatile, first.ecc_uncorrected_aggregate) == (2, 5)
    assert first.retired_pages_pending is False
    assert first.remapped_rows_pending is None  # "<remapped_rows>N/A</remapped_rows>" on Volta
    assert first.mig_mode is None and first.architecture is None
    assert first.temperature_c == 66.0
    assert (first.sm_clock_mhz, first.sm_clock_max_mhz) == (1410, 1597)
    assert len(first.processes) == 1
    proc = first.processes[0]
    assert (proc.pid, proc.name, proc.type, proc.used_memory_mib) == (37305, "python", "C", 31683)
    assert (second.index, second.uuid, second.bus_id) == (1, "GPU-bbf7a241-bf9a-eb90-b2fb-d213294faf48",
                                                          "00000000:00:0E.0")
    assert second.clock_event_reasons == ["gpu_idle"]
    # "[Unknown Error]" and "N/A" are unknowns, never zeros
    assert second.power_draw_w is None
    assert second.temperature_c is None
    assert second.ecc_uncorrected_volatile is None and second.ecc_uncorrected_aggregate is None
    assert second.power_limit_w == 250.0


def test_parse_xml_skips_leading_warning_lines() -> None:
    text = "WARNING: infoROM is corrupted at gpu 0000:00:06.0\n" + (H100 / "nvidia-smi-q-x.xml").read_text()
    driver, gpus = parse_smi_xml(text)
    assert driver.version == "580.159.04" and gpus[0].uuid == H100_UUID


@pytest.mark.parametrize("text", [
    "",
    "   \n",
    "NVIDIA-SMI has failed",
    "\x00\xff\xfe garbage \x01\x02",
    "<?xml version=\"1.0\" ?><other_log></other_log>",
    (H100 / "nvidia-smi-q-x.xml").read_text()[:5000],  # cut off mid-document
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><nvidia_smi_log>&a;</nvidia_smi_log>',
])
def test_parse_xml_rejects_non_smi_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_smi_xml(text)


# --------------------------------------------------------------------------- --query-gpu CSV


def test_parse_real_query_csv_with_header_and_units() -> None:
    rows = parse_query_csv((H100 / "nvidia-smi-query.txt").read_text(), REAL_QUERY_FIELDS)
    assert len(rows) == 1  # the header line is skipped
    row = rows[0]
    assert row["uuid"] == H100_UUID
    assert row["compute_cap"] == "9.0"
    assert row["memory.total"] == "81559 MiB"
    assert row["clocks_throttle_reasons.active"] == "0x0000000000000001"
    assert row["mig.mode.current"] == "Disabled"
    # the same GPU as the XML
    _, gpus = parse_smi_xml((H100 / "nvidia-smi-q-x.xml").read_text())
    assert row["pci.bus_id"] == gpus[0].bus_id
    assert row["driver_version"] == "580.159.04"


def test_parse_real_query_csv_nounits() -> None:
    fields = ["index", "name", "driver_version", "memory.total", "compute_cap"]
    rows = parse_query_csv((H100 / "nvidia-smi-query-nounits.txt").read_text(), fields)
    assert rows == [{"index": "0", "name": "NVIDIA H100 80GB HBM3", "driver_version": "580.159.04",
                     "memory.total": "81559", "compute_cap": "9.0"}]


def test_parse_query_csv_unknowns_blank_and_garbage() -> None:
    fields = ["index", "uuid", "compute_cap"]
    rows = parse_query_csv("0, GPU-a, [N/A]\n1, GPU-b, [Not Supported]\n\n", fields)
    assert rows == [{"index": "0", "uuid": "GPU-a", "compute_cap": None},
                    {"index": "1", "uuid": "GPU-b", "compute_cap": None}]
    assert parse_query_csv("", fields) == []
    with pytest.raises(ValueError):
        parse_query_csv('Field "compute_cap" is not a valid field to query.\n', fields)


# --------------------------------------------------------------------------- failure classification


@pytest.mark.parametrize("result, status, needle", [
    (CommandResult(argv=["nvidia-smi"], returncode=9, stdout=NO_COMM_TEXT + "\n"), "no-driver-comm",
     "couldn't communicate"),
    (CommandResult(argv=["nvidia-smi"], returncode=18, stdout=MISMATCH_TEXT + "\n"),
     "driver-library-mismatch", "NVML library version: 535.183"),
    (CommandResult(argv=["nvidia-smi"], returncode=6, stdout="No devices were found\n"), "no-devices",
     "No devices were found"),
    (CommandResult(argv=["nvidia-smi"], returncode=127, not_found=True), "not-found", "not found"),
    (CommandResult(argv=["nvidia-smi"], timed_out=True, duration_s=1.0), "timeout", "no answer"),
    (CommandResult(argv=["nvidia-smi"], returncode=-11, signal=11), "error", "SIGSEGV"),
    (CommandResult(argv=["nvidia-smi"], returncode=255, stderr="Failed to initialize NVML: Unknown Error\n"),
     "error", "Failed to initialize NVML: Unknown Error"),
    (CommandResult(argv=["nvidia-smi"], returncode=9), "no-driver-comm", "exit 9"),
    (CommandResult(argv=["nvidia-smi"], returncode=0, stdout="<nvidia_smi_log/>"), "ok", ""),
])
def test_classify_smi_failure(result: CommandResult, status: str, needle: str) -> None:
    got_status, message = classify_smi_failure(result)
    assert got_status == status
    assert needle in message


def test_classify_real_cpu_box_output_as_not_found() -> None:
    # The recorded shell said "command not found" and exit 127 on the CPU box.
    text = (CPU / "nvidia-smi.txt").read_text().replace("exit=127", "")
    status, message = classify_smi_failure(CommandResult(argv=["bash"], returncode=127, stderr=text))
    assert status == "not-found" and "command not found" in message


def test_nvml_library_version() -> None:
    assert nvml_library_version(MISMATCH_TEXT) == "535.183"
    assert nvml_library_version(NO_COMM_TEXT) is None


# --------------------------------------------------------------------------- /proc and /sys


def test_parse_proc_version_real_open_module() -> None:
    assert parse_proc_version((H100 / "proc-driver.txt").read_text()) == ("580.159.04", "open")


def test_parse_proc_version_proprietary_and_junk() -> None:
    text = ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
            "GCC version:  gcc version 12.3.0\n")
    assert parse_proc_version(text) == ("535.104.05", "proprietary")
    assert parse_proc_version(None) == (None, None)
    assert parse_proc_version("garbage\x00\n") == (None, None)


def _pci_function(devices: Path, address: str, vendor: str, device: str, pci_class: str,
                  driver_dir: Optional[Path] = None) -> None:
    entry = devices / address
    entry.mkdir(parents=True)
    (entry / "vendor").write_text(vendor + "\n")
    (entry / "device").write_text(device + "\n")
    (entry / "class").write_text(pci_class + "\n")
    if driver_dir is not None:
        (entry / "driver").symlink_to(driver_dir)


def test_scan_pci_fake_tree(tmp_path: Path) -> None:
    devices = tmp_path / "sys" / "bus" / "pci" / "devices"
    drivers = tmp_path / "sys" / "bus" / "pci" / "drivers"
    (drivers / "nvidia").mkdir(parents=True)
    (drivers / "snd_hda_intel").mkdir(parents=True)
    _pci_function(devices, "0000:01:00.0", "0x10de", "0x2330", "0x030200", drivers / "nvidia")
    _pci_function(devices, "0000:02:00.0", "0x10de", "0x2684", "0x030000")  # no driver bound
    _pci_function(devices, "0000:02:00.1", "0x10de", "0x22ba", "0x040300", drivers / "snd_hda_intel")
    _pci_function(devices, "0000:00:02.0", "0x8086", "0x9a49", "0x030000")
    found, scanned = scan_pci(ProbeContext(root=str(tmp_path)))
    assert scanned is True
    assert [(d.address, d.device_id, d.pci_class, d.driver) for d in found] == [
        ("0000:01:00.0", "0x2330", "0x030200", "nvidia"),
        ("0000:02:00.0", "0x2684", "0x030000", None),
    ]


def test_scan_pci_without_sys_is_unknown(tmp_path: Path) -> None:
    assert scan_pci(ProbeContext(root=str(tmp_path))) == ([], False)


def test_scan_pci_real_sys() -> None:
    found, scanned = scan_pci(ProbeContext())
    assert scanned == os.path.isdir("/sys/bus/pci/devices")
    for dev in found:
        base = Path("/sys/bus/pci/devices") / dev.address
        assert (base / "vendor").read_text().strip() == "0x10de"
        assert (base / "class").read_text().strip().startswith("0x03")


def test_kernel_module_from_sys_when_proc_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "root" / "proc" / "driver" / "nvidia" / "version").mkdir(parents=True)  # a dir, not a file
    sys_version = tmp_path / "root" / "sys" / "module" / "nvidia" / "version"
    sys_version.parent.mkdir(parents=True)
    sys_version.write_text("580.159.04\n")
    driver, _, _ = probe(make_ctx(tmp_path, tmp_path / "empty"))
    assert (driver.kernel_module_version, driver.kernel_module_kind) == ("580.159.04", None)


# --------------------------------------------------------------------------- finding nvidia-smi


def test_find_smi_path_first_then_fixed_locations_deduplicated(tmp_path: Path) -> None:
    first = fake_smi(tmp_path, "exit 0\n", "first")
    second = fake_smi(tmp_path, "exit 0\n", "second")
    alias = tmp_path / "alias"
    alias.mkdir()
    (alias / "nvidia-smi").symlink_to(first / "nvidia-smi")  # same real file as the first
    ctx = make_ctx(tmp_path, first)
    ctx.env["PATH"] = os.pathsep.join([str(first), str(alias), str(second)])
    root = Path(ctx.root)
    wsl = root / "usr" / "lib" / "wsl" / "lib"
    wsl.mkdir(parents=True)
    (wsl / "nvidia-smi").write_text("#!/bin/sh\n")
    (wsl / "nvidia-smi").chmod(0o755)
    not_exec = root / "usr" / "local" / "nvidia" / "bin"
    not_exec.mkdir(parents=True)
    (not_exec / "nvidia-smi").write_text("not executable")
    assert find_smi(ctx) == [str(first / "nvidia-smi"), str(second / "nvidia-smi"), str(wsl / "nvidia-smi")]


# --------------------------------------------------------------------------- the whole probe


def test_probe_real_fixture_through_fake_smi(tmp_path: Path) -> None:
    bindir = fake_smi(tmp_path, dispatch(f"cat {q(H100 / 'nvidia-smi-q-x.xml')}", CC_ROW))
    ctx = make_ctx(tmp_path, bindir)
    proc_version = Path(ctx.root) / "proc" / "driver" / "nvidia" / "version"
    proc_version.parent.mkdir(parents=True)
    proc_version.write_text((H100 / "proc-driver.txt").read_text())
    driver, gpus, issues = probe(ctx)
    assert issues == []
    assert driver.status == "ok" and driver.status_message is None
    assert (driver.version, driver.cuda_version) == ("580.159.04", "13.0")
    assert (driver.kernel_module_version, driver.kernel_module_kind) == ("580.159.04", "open")
    assert driver.smi_path == str(bindir / "nvidia-smi")
    assert driver.smi_candidates == [driver.smi_path]
    assert driver.pci_scanned is False  # the fake root has no /sys
    assert len(gpus) == 1
    assert (gpus[0].uuid, gpus[0].compute_capability, gpus[0].compute_capability_source) == (
        H100_UUID, "9.0", "nvidia-smi")


@pytest.mark.parametrize("body, status, needle", [
    (f'echo "{NO_COMM_TEXT}"\nexit 9\n', "no-driver-comm", "couldn't communicate with the NVIDIA driver"),
    (f"printf '%s\\n' {shlex.quote(MISMATCH_TEXT)} >&2\nexit 18\n", "driver-library-mismatch",
     "Driver/library version mismatch"),
    ('echo "No devices were found"\nexit 6\n', "no-devices", "No devices were found"),
    ("printf '\\000\\377\\376\\201garbage<<<\\n'\nexit 0\n", "garbage", "no readable XML"),
    ("kill -SEGV $$\n", "error", "SIGSEGV"),
])
def test_probe_driver_failures(tmp_path: Path, body: str, status: str, needle: str) -> None:
    driver, gpus, issues = probe(make_ctx(tmp_path, fake_smi(tmp_path, body)))
    assert driver.status == status
    assert needle in (driver.status_message or "")
    assert gpus == []
    assert [i.kind for i in issues] == [status]
    assert issues[0].probe == "nvidia-smi"
    assert issues[0].command[1:] == ["-q", "-x"]
    if status == "driver-library-mismatch":
        assert driver.nvml_version == "535.183"
    else:
        assert driver.nvml_version is None


def test_probe_falls_back_to_query_when_xml_is_garbage(tmp_path: Path) -> None:
    body = dispatch("printf 'not xml at all\\n'", CC_ROW, FALLBACK_ROW)
    driver, gpus, issues = probe(make_ctx(tmp_path, fake_smi(tmp_path, body)))
    assert driver.status == "ok"
    assert "--query-gpu" in (driver.status_message or "")
    assert driver.version == "580.159.04"
    assert [i.kind for i in issues] == ["garbage"]
    assert len(gpus) == 1
    gpu = gpus[0]
    assert (gpu.uuid, gpu.name, gpu.bus_id) == (H100_UUID, "NVIDIA H100 80GB HBM3", "00000000:00:06.0")
    assert (gpu.memory_total_mib, gpu.memory_used_mib, gpu.mig_mode) == (81559, 0, "Disabled")
    assert (gpu.compute_capability, gpu.compute_capability_source) == ("9.0", "nvidia-smi")


OLD_DRIVER_BODY = dispatch(f"cat {q(OLD_XML)}",
                           "echo 'Field \"compute_cap\" is not a valid field to query.'; exit 2")


def test_probe_old_driver_takes_capability_from_gpu_table(tmp_path: Path) -> None:
    data = tmp_path / "knowledge"
    data.mkdir()
    (data / "gpus.toml").write_text(
        '[[gpu]]\nname = "Tesla V100S-PCIE-32GB"\ncompute_capability = "7.0"\n'
        'architecture = "Volta"\nmatch = ["v100s"]\n')
    driver, gpus, issues = probe(make_ctx(tmp_path, fake_smi(tmp_path, OLD_DRIVER_BODY)),
                                 knowledge=Knowledge(data_dir=data))
    assert (driver.status, driver.version, issues) == ("ok", "460.73.01", [])
    assert [(g.compute_capability, g.compute_capability_source) for g in gpus] == [
        ("7.0", "gpu-table"), ("7.0", "gpu-table")]
    assert gpus[0].clock_event_reasons == ["hw_thermal_slowdown"]


def test_probe_old_driver_without_gpu_table_leaves_capability_unknown(tmp_path: Path) -> None:
    empty = tmp_path / "no-knowledge"
    empty.mkdir()
    driver, gpus, _ = probe(make_ctx(tmp_path, fake_smi(tmp_path, OLD_DRIVER_BODY)),
                            knowledge=Knowledge(data_dir=empty))
    assert driver.status == "ok"
    assert [g.compute_capability for g in gpus] == [None, None]


def test_probe_hung_smi_times_out(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, fake_smi(tmp_path, "sleep 30\n"), timeout=1)
    start = time.monotonic()
    driver, gpus, issues = probe(ctx)
    assert time.monotonic() - start < 5
    assert driver.status == "timeout"
    assert gpus == [] and [i.kind for i in issues] == ["timeout"]


@pytest.fixture
def pid_file(tmp_path: Path):
    """Where the fake nvidia-smi writes its grandchildren's pids; they are killed afterwards."""
    path = tmp_path / "grandchildren.pid"
    yield path
    pids: List[int] = [int(p) for p in path.read_text().split()] if path.exists() else []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.mark.skipif(not os.path.exists("/usr/bin/setsid") and not os.path.exists("/bin/setsid"),
                    reason="needs setsid(1)")
@pytest.mark.parametrize("then", ["exit 0", "sleep 30"])
def test_probe_grandchild_holding_stdout_does_not_hang(tmp_path: Path, pid_file: Path, then: str) -> None:
    body = f"setsid sleep 30 &\necho $! >> {q(pid_file)}\ncat {q(H100 / 'nvidia-smi-q-x.xml')}\n{then}\n"
    ctx = make_ctx(tmp_path, fake_smi(tmp_path, body), timeout=1)
    start = time.monotonic()
    driver, _, issues = probe(ctx)
    assert time.monotonic() - start < 5
    assert driver.status == "timeout"
    assert [i.kind for i in issues] == ["timeout"]


def test_probe_this_machine_without_smi_is_not_found(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    driver, gpus, issues = probe(make_ctx(tmp_path, empty))
    assert driver.status == "not-found"
    assert driver.smi_path is None and driver.smi_candidates == []
    assert "/usr/lib/wsl/lib" in (driver.status_message or "")
    assert gpus == []
    assert [(i.probe, i.kind) for i in issues] == [("nvidia-smi", "not-found")]
    assert driver.pci_scanned is False and driver.kernel_module_version is None


def test_parse_xml_absurd_numbers_are_unknown() -> None:
    text = OLD_XML.read_text().replace("<total>32510 MiB</total>", "<total>" + "9" * 400 + " MiB</total>")
    _, gpus = parse_smi_xml(text)
    assert [g.memory_total_mib for g in gpus] == [None, None]
    assert gpus[0].memory_used_mib == 31689


# --------------------------------------------------------------------------- R610 and later

# R610 renamed "Driver Version" / "CUDA Version" to "KMD Version" / "CUDA UMD Version" (NVIDIA's nvidia-smi
# documentation, quoted in https://github.com/PrismML-Eng/Bonsai-demo/pull/122: the old names first
# deprecated, "[Deprecated; will be removed in CUDA 14.0. Use CUDA UMD Version instead]", then dropped).
# The real H100 XML with its two version elements as each stage of that change writes them:
R610_DEPRECATION = " [Deprecated; will be removed in CUDA 14.0. Use CUDA UMD Version instead]"


def _h100_xml(driver: str, cuda: str) -> str:
    text = (H100 / "nvidia-smi-q-x.xml").read_text()
    return (text.replace("<driver_version>580.159.04</driver_version>", driver)
                .replace("<cuda_version>13.0</cuda_version>", cuda))


@pytest.mark.parametrize("driver_xml, cuda_xml", [
    ("<kmd_version>610.43.02</kmd_version>", "<cuda_umd_version>13.3</cuda_umd_version>"),
    ("<driver_version>610.43.02" + R610_DEPRECATION + "</driver_version><kmd_version>610.43.02</kmd_version>",
     "<cuda_version>13.3" + R610_DEPRECATION + "</cuda_version><cuda_umd_version>13.3</cuda_umd_version>"),
    ("<driver_version>610.43.02" + R610_DEPRECATION + "</driver_version>",
     "<cuda_version>13.3" + R610_DEPRECATION + "</cuda_version>"),
])
def test_parse_xml_of_r610_drivers(driver_xml: str, cuda_xml: str) -> None:
    driver, gpus = parse_smi_xml(_h100_xml(driver_xml, cuda_xml))
    assert (driver.version, driver.cuda_version) == ("610.43.02", "13.3")
    assert len(gpus) == 1 and gpus[0].uuid == H100_UUID


def test_leading_version() -> None:
    assert leading_version("610.43.02") == "610.43.02"
    assert leading_version(" 13.3" + R610_DEPRECATION) == "13.3"
    assert leading_version("13.3[Deprecated]") == "13.3"
    for junk in (None, "", "N/A", "ERR!", "[N/A]", "13", "v13.3", "13.3beta"):
        assert leading_version(junk) is None, junk


def test_probe_reads_an_r610_driver(tmp_path: Path) -> None:
    xml = tmp_path / "r610.xml"
    xml.write_text(_h100_xml("<kmd_version>610.43.02</kmd_version>", "<cuda_umd_version>13.3</cuda_umd_version>"))
    driver, gpus, issues = probe(make_ctx(tmp_path, fake_smi(tmp_path, dispatch(f"cat {q(xml)}", CC_ROW))))
    assert (driver.status, driver.version, driver.cuda_version, issues) == ("ok", "610.43.02", "13.3", [])
    assert gpus[0].compute_capability == "9.0"


def test_topology_is_read_through_the_runner(tmp_path):
    """`nvidia-smi topo -m` as the recorded H100 prints it; nothing where nvidia-smi fails or is absent."""
    from envcheck.probes.nvidia import topology
    from envcheck.smoke.host import fabric_from_topology

    recorded = FIXTURES / "h100-torch2.11-cu130" / "nvidia-smi-topo.txt"
    bindir = fake_smi(tmp_path, f'[ "$1 $2" = "topo -m" ] && cat {q(recorded)} && exit 0\nexit 9\n')
    assert topology(make_ctx(tmp_path, bindir)) == recorded.read_text()
    two = "\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV18\t0-63\nGPU1\tNV18\t X \t0-63\n"
    assert fabric_from_topology(two) == "nvlink"
    failing = fake_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2\nexit 9\n", name="failing")
    assert topology(make_ctx(tmp_path, failing)) is None
    assert topology(make_ctx(tmp_path, tmp_path / "nothing-here")) is None
