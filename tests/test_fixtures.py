"""Every recorded file in tests/fixtures (copied from ../shared/fixtures) is read by envcheck's own code.

Files with a probe parser are checked in the probe tests too; this file makes sure none is left out and
ties the CPU machine's recordings to what the probes see on this (same) machine.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from builders import CPU, H100
from envcheck.probes import ProbeContext, nvidia, toolkits
from envcheck.runner import CommandResult


def test_every_query_field_envcheck_asks_for_exists_on_a_real_driver():
    text = (H100 / "nvidia-smi-help-query.txt").read_text()
    listed = set(re.findall(r'^"([a-z_.]+)"', text, flags=re.M))
    assert len(listed) > 100
    for field in set(nvidia.CC_FIELDS) | set(nvidia.FALLBACK_FIELDS):
        assert field in listed, field
    assert "clocks_event_reasons.active" in listed  # the renamed field (old name: clocks_throttle_reasons)


def test_query_csv_with_header_and_units_matches_the_xml():
    csv_text = (H100 / "nvidia-smi-query.txt").read_text()
    header = [h.split(" [")[0].strip() for h in csv_text.splitlines()[0].split(",")]
    rows = nvidia.parse_query_csv(csv_text, header)
    _, gpus = nvidia.parse_smi_xml((H100 / "nvidia-smi-q-x.xml").read_text())
    assert rows[0]["uuid"] == gpus[0].uuid and rows[0]["pci.bus_id"] == gpus[0].bus_id
    assert rows[0]["compute_cap"] == "9.0"


def test_site_txt_is_the_interpreter_the_builders_describe():
    from builders import h100
    lines = (H100 / "site.txt").read_text().splitlines()
    snap = h100()
    assert lines[0] == snap.python.executable and lines[2] == snap.python.prefix
    assert snap.python.version == lines[1].split()[0]
    sys_path = ast.literal_eval(lines[3])
    assert any(p.endswith("site-packages") for p in sys_path)
    assert lines[4] == snap.python.user_site


def test_nvidia_smi_L_names_the_same_gpu():
    line = (H100 / "nvidia-smi-L.txt").read_text().strip()
    _, gpus = nvidia.parse_smi_xml((H100 / "nvidia-smi-q-x.xml").read_text())
    m = re.match(r"GPU (\d+): (.+) \(UUID: (GPU-[0-9a-f-]+)\)", line)
    assert m and int(m.group(1)) == gpus[0].index and m.group(2) == gpus[0].name and m.group(3) == gpus[0].uuid


def test_cpu_box_nvidia_smi_not_found_is_classified():
    text = (CPU / "nvidia-smi.txt").read_text()
    rc = int(re.search(r"exit=(\d+)", text).group(1))
    result = CommandResult(argv=["nvidia-smi"], returncode=rc, stderr=text.splitlines()[0], not_found=rc == 127)
    status, _ = nvidia.classify_smi_failure(result)
    assert status == "not-found"


def test_cpu_box_recordings_match_this_machine():
    """The CPU fixtures were recorded on this kind of machine: the toolkit probe must see the same."""
    which = (CPU / "which-nvcc.txt").read_text().strip()
    target = (CPU / "usr-local-cuda.txt").read_text().strip().splitlines()[-1]
    if not Path(which).exists():
        pytest.skip("not the recorded CPU machine (no /usr/local/bin/nvcc)")
    kits, _ = toolkits.probe(ProbeContext(timeout=10))
    active = [k for k in kits if k.active]
    assert active and active[0].nvcc == which
    version, _ = toolkits.parse_nvcc_version((CPU / "nvcc-V.txt").read_text())
    assert active[0].version == version == "13.0"
    assert any(str(Path(k.path).resolve()) == target for k in kits if k.path)


def test_topology_lists_the_gpu():
    text = (H100 / "nvidia-smi-topo.txt").read_text()
    assert re.search(r"^GPU0\s+X\s+0-15", text, flags=re.M)


def test_no_fixture_is_left_out():
    """Each recorded file is named by some test in this suite."""
    tests = "".join(p.read_text() for p in Path(__file__).parent.rglob("*.py"))
    for folder in (H100, CPU):
        for f in folder.iterdir():
            assert f.name in tests, f"{folder.name}/{f.name} is read by no test"
