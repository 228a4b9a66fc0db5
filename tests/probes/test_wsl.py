"""The WSL probe: the real `ldconfig -p` of a WSL2 machine (tests/fixtures/probes/wsl/, source in its README), a built
WSL tree with and without a Linux driver's libcuda, and a fake ldconfig."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from envcheck.probes import ProbeContext, wsl
from envcheck.probes.wsl import loader_libcuda, parse_ldconfig

ROOT = Path(__file__).resolve().parents[2]
WSL = ROOT / "tests" / "fixtures" / "probes" / "wsl"
posix_only = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")


def wsl_tree(tmp_path: Path, linux_driver: bool = False) -> ProbeContext:
    """/usr/lib/wsl/lib as WSL#8587 lists it (three plain files); with ``linux_driver``, a Linux driver's libcuda."""
    root = tmp_path / "root"
    lib = root / "usr" / "lib" / "wsl" / "lib"
    lib.mkdir(parents=True)
    for line in (WSL / "ls-wsl-lib-8587.txt").read_text(encoding="utf-8").splitlines():
        (lib / os.path.basename(line.split()[-1])).write_text("")
    sysdir = root / "usr" / "lib" / "x86_64-linux-gnu"
    sysdir.mkdir(parents=True)
    if linux_driver:
        (sysdir / "libcuda.so.570.133.07").write_text("")
        os.symlink("libcuda.so.570.133.07", sysdir / "libcuda.so.1")
    else:  # a link into the WSL directory is not a copy
        os.symlink(str(lib / "libcuda.so.1"), sysdir / "libcuda.so.1")
    return ProbeContext(env={"PATH": str(tmp_path / "bin")}, timeout=1.0, root=str(root))


def test_the_real_ldconfig_listing():
    entries = parse_ldconfig((WSL / "ldconfig-p-wsl-8587.txt").read_text(encoding="utf-8"))
    assert entries == ["libcuda.so.1 => /usr/lib/wsl/lib/libcuda.so.1"]
    assert loader_libcuda(entries) == "/usr/lib/wsl/lib/libcuda.so.1" and loader_libcuda(entries, "libcuda.so") is None


def test_off_wsl_nothing_is_read(tmp_path):
    (tmp_path / "root" / "proc").mkdir(parents=True)
    (tmp_path / "root" / "proc" / "version").write_text("Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115)\n")
    facts, issues = wsl.probe(ProbeContext(env={"PATH": ""}, root=str(tmp_path / "root")))
    assert (facts.wsl_lib, facts.stub_files, facts.ldconfig, issues) == (None, [], None, [])


@posix_only
def test_wsl_with_only_the_windows_driver(tmp_path):
    ctx = wsl_tree(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "ldconfig").write_text("#!/bin/sh\nPATH=/usr/bin:/bin\ncat " + shlex.quote(str(WSL / "ldconfig-p-wsl-8587.txt")) + "\n")
    (tmp_path / "bin" / "ldconfig").chmod(0o755)
    facts, issues = wsl.probe(ctx)
    assert facts.wsl_lib is True and facts.stub_files == ["libcuda.so", "libcuda.so.1", "libcuda.so.1.1"]
    assert facts.linux_libcuda == [] and facts.ldconfig == ["libcuda.so.1 => /usr/lib/wsl/lib/libcuda.so.1"]
    assert issues == []


@posix_only
def test_a_linux_driver_inside_wsl_is_seen(tmp_path):
    facts, _ = wsl.probe(wsl_tree(tmp_path, linux_driver=True))
    assert facts.linux_libcuda == ["/usr/lib/x86_64-linux-gnu/libcuda.so.1"]
    assert facts.ldconfig is None  # no ldconfig on this PATH and none in the tree
