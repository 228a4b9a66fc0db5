"""The container probe: /dev/nvidia*, docker and the NVIDIA Container Toolkit on PATH, daemon.json; no command run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from envcheck.probes import ProbeContext, container
from envcheck.probes.container import daemon_runtimes

linux_only = pytest.mark.skipif(not os.sys.platform.startswith("linux"), reason="/dev is read on Linux only")


def tool(bindir: Path, name: str) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    (bindir / name).write_text("#!/bin/sh\ntouch \"$0.ran\"\n")
    (bindir / name).chmod(0o755)


@linux_only
def test_host_with_docker_and_the_toolkit(tmp_path):
    root, bindir = tmp_path / "root", tmp_path / "bin"
    (root / "dev").mkdir(parents=True)
    for node in ("nvidia0", "nvidiactl", "nvidia-uvm", "null"):
        (root / "dev" / node).write_text("")
    (root / "etc" / "docker").mkdir(parents=True)
    # the daemon.json `nvidia-ctk runtime configure --runtime=docker` writes (NVIDIA container toolkit install guide)
    (root / "etc" / "docker" / "daemon.json").write_text(json.dumps(
        {"runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}}))
    tool(bindir, "docker"), tool(bindir, "nvidia-ctk"), tool(bindir, "nvidia-container-runtime-hook")
    facts = container.probe(ProbeContext(env={"PATH": str(bindir)}, root=str(root)))
    assert facts.dev_nodes == ["nvidia-uvm", "nvidia0", "nvidiactl"] and facts.dev_scanned
    assert facts.docker == str(bindir / "docker")
    assert facts.toolkit == ["nvidia-ctk", "nvidia-container-runtime-hook"]
    assert facts.daemon_runtimes == ["nvidia"]
    assert not list(bindir.glob("*.ran")), "nothing is run"


@linux_only
def test_container_without_gpu_nodes(tmp_path):
    (tmp_path / "root" / "dev").mkdir(parents=True)
    facts = container.probe(ProbeContext(env={"PATH": str(tmp_path / "none")}, root=str(tmp_path / "root")))
    assert (facts.dev_nodes, facts.dev_scanned, facts.docker, facts.toolkit, facts.daemon_runtimes) == ([], True, None, [], None)


def test_daemon_json_shapes():
    assert daemon_runtimes('{"default-runtime": "nvidia", "runtimes": {"nvidia": {}}}') == ["nvidia"]
    assert daemon_runtimes('{"log-driver": "json-file"}') == []
    assert daemon_runtimes("{not json") is None and daemon_runtimes("[1]") is None and daemon_runtimes(None) is None
