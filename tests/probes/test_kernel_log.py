"""The kernel-log probe: Xid lines parsed from real public pastes (tests/fixtures/probes/kernel_log/, sources in its
README), and fake dmesg / journalctl executables that are refused, hang or print junk. One parser for doctor and the
same lines analyze's signatures read."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import pytest

from envcheck.analyze.signatures import load_catalogue, scan
from envcheck.probes import ProbeContext, kernel_log
from envcheck.probes.kernel_log import parse_xid_lines

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "fixtures" / "probes" / "kernel_log"
posix_only = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")


def log(name: str) -> str:
    return (LOGS / name).read_text(encoding="utf-8")


def make_tool(bindir: Path, name: str, body: str) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / name
    script.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body + "\n")
    script.chmod(0o755)


def machine(tmp_path: Path, module: bool = True, restrict: str = "0") -> ProbeContext:
    root = tmp_path / "root"
    (root / "proc" / "sys" / "kernel").mkdir(parents=True)
    (root / "proc" / "sys" / "kernel" / "dmesg_restrict").write_text(restrict + "\n")
    if module:
        (root / "proc" / "driver" / "nvidia").mkdir(parents=True)
        (root / "proc" / "driver" / "nvidia" / "version").write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.158.01\n")
    return ProbeContext(env={"PATH": str(tmp_path / "bin")}, timeout=1.0, root=str(root))


def test_dmesg_ctime_lines_give_number_pci_time_and_text():
    records = parse_xid_lines(log("dmesg-ctime-gpud-46.txt"))
    assert [r.xid for r in records] == [13, 13, 13, 109]
    assert {r.pci for r in records} == {"0000:cb:00"}
    assert records[0].time == "Fri Aug 30 11:43:09 2024" and records[-1].time == "Fri Aug 30 11:43:14 2024"
    assert records[-1].text.startswith("pid=1797828, name=pt_main_thread, Ch 00000008, errorString CTX SWITCH TIMEOUT")


def test_plain_dmesg_and_journalctl_formats():
    plain = parse_xid_lines(log("dmesg-bumblebee-677.txt"))
    assert [(r.xid, r.time) for r in plain] == [(32, "24128.828315"), (32, "24128.828608"), (31, "24128.834365")]
    journal = parse_xid_lines(log("journalctl-nixpkgs-539036.txt"))
    assert [(r.xid, r.pci, r.time) for r in journal] == [(13, "0000:01:00", "Jul 06 20:02:59")]
    assert "name=.gala-wrapped" in journal[0].text
    cleanup = parse_xid_lines(log("journalctl-xid45-ogkm-1150.txt"))
    assert [r.xid for r in cleanup] == [45] * 7 and cleanup[0].time is None
    assert {r.pci for r in cleanup} == {"0000:dc:00", "0000:ed:00", "0000:ba:00", "0000:97:00"}


def test_xid_79_line_and_not_the_multiline_block():
    records = parse_xid_lines(log("xid79-nvsentinel-155.txt"))
    assert [(r.xid, r.pci) for r in records] == [(79, "0000:44:00")]
    assert records[0].text == "GPU has fallen off the bus"


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("*.txt")))
def test_doctor_reads_the_xid_lines_analyze_reads(name):
    """The same paste: every Xid line analyze's signatures (xid-event, xid-79) match, the probe's parser reads too."""
    text = log(name)
    wanted = {"xid-event", "xid-79-fallen-off-the-bus"}
    hits = [h for h in scan(text, "log", [s for s in load_catalogue() if s.id in wanted])]
    assert len(parse_xid_lines(text)) == len(hits) > 0


def test_no_nvidia_module_runs_nothing(tmp_path):
    make_tool(tmp_path / "bin", "dmesg", "touch " + shlex.quote(str(tmp_path / "ran")))
    facts, issues = kernel_log.probe(machine(tmp_path, module=False))
    assert (facts.readable, facts.source, facts.xids, issues) == (None, None, [], [])
    assert not (tmp_path / "ran").exists()


@posix_only
def test_dmesg_is_read(tmp_path):
    make_tool(tmp_path / "bin", "dmesg", "cat " + shlex.quote(str(LOGS / "dmesg-bumblebee-677.txt")))
    facts, issues = kernel_log.probe(machine(tmp_path))
    assert (facts.source, facts.readable, [r.xid for r in facts.xids], issues) == ("dmesg", True, [32, 32, 31], [])


@posix_only
def test_dmesg_not_permitted_falls_back_to_journalctl(tmp_path):
    make_tool(tmp_path / "bin", "dmesg", "echo 'dmesg: read kernel buffer failed: Operation not permitted' >&2; exit 1")
    make_tool(tmp_path / "bin", "journalctl", "cat " + shlex.quote(str(LOGS / "journalctl-nixpkgs-539036.txt")))
    facts, issues = kernel_log.probe(machine(tmp_path))
    assert (facts.source, facts.readable, [r.xid for r in facts.xids], issues) == ("journalctl", True, [13], [])


@posix_only
def test_neither_log_readable_is_a_fact_not_a_probe_failure(tmp_path):
    make_tool(tmp_path / "bin", "dmesg", "echo 'dmesg: read kernel buffer failed: Operation not permitted' >&2; exit 1")
    make_tool(tmp_path / "bin", "journalctl", "echo '-- No entries --'; echo 'Hint: You are currently not seeing messages "
              "from other users and the system.' >&2; exit 0")
    facts, issues = kernel_log.probe(machine(tmp_path))
    assert facts.readable is False and facts.source is None and issues == []
    assert "Operation not permitted" in facts.reason and "not seeing messages" in facts.reason


@posix_only
def test_dmesg_restrict_skips_dmesg_for_non_root(tmp_path, monkeypatch):
    make_tool(tmp_path / "bin", "dmesg", "touch " + shlex.quote(str(tmp_path / "ran")))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    facts, _ = kernel_log.probe(machine(tmp_path, restrict="1"))
    assert not (tmp_path / "ran").exists()
    assert facts.readable is False and "dmesg_restrict" in facts.reason


@posix_only
def test_a_hanging_dmesg_is_abandoned_and_reported(tmp_path):
    make_tool(tmp_path / "bin", "dmesg", "sleep 30")
    start = time.monotonic()
    facts, issues = kernel_log.probe(machine(tmp_path))
    assert time.monotonic() - start < 10
    assert [i.kind for i in issues] == ["timeout"] and facts.readable is False


@posix_only
def test_garbage_output_gives_no_xid(tmp_path):
    make_tool(tmp_path / "bin", "dmesg", "printf 'NVRM: Xid (PCI:zzzz): 79\\n\\377\\376 binary junk\\nNVRM: Xid (PCI:0000:01:00): x,\\n'")
    facts, issues = kernel_log.probe(machine(tmp_path))
    assert (facts.source, facts.readable, facts.xids, issues) == ("dmesg", True, [], [])


@posix_only
def test_doctor_on_a_faked_machine_raises_gpu_fallen_off_bus(tmp_path):
    """collect (the doctor path) on a tree with the NVIDIA module loaded and a dmesg printing the real Xid 79 paste."""
    from envcheck.knowledge import Knowledge
    from envcheck.probes.collect import collect
    from envcheck.rules import evaluate

    make_tool(tmp_path / "bin", "dmesg", "cat " + shlex.quote(str(LOGS / "xid79-nvsentinel-155.txt")))
    ctx = machine(tmp_path)
    ctx.fast = True
    snap = collect(ctx, Knowledge(), only={"kernel-log", "fabric", "container", "wsl"})
    assert snap.kernel_log.source == "dmesg" and [x.xid for x in snap.kernel_log.xids] == [79]
    assert snap.fabric.nvswitch_evidence is None and snap.wsl_cuda.wsl_lib is None
    found = [f for f in evaluate(snap, Knowledge()) if f.code == "gpu-fallen-off-bus"]
    assert [f.facts["pci"] for f in found] == ["0000:44:00"]
