"""System probe: the real machine, fake roots for container/WSL/distro detection, fake compilers."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path
from typing import Dict, Optional

import pytest

from envcheck.probes import ProbeContext, system
from envcheck.probes.system import (
    detect_container,
    detect_wsl,
    parse_compiler_version,
    parse_cpuinfo,
    parse_os_release,
)
from envcheck.runner import run
from envcheck.versions import dotted

LINUX = platform.system() == "Linux"
UBUNTU_OS_RELEASE = """\
PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
"""
WSL_PROC_VERSION = ("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) "
                    "(gcc (GCC) 11.2.0, GNU ld (GNU Binutils) 2.37) #1 SMP Fri Mar 29 23:14:13 UTC 2024\n")
PLAIN_PROC_VERSION = ("Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) (x86_64-linux-gnu-gcc-13 "
                      "(Ubuntu 13.2.0-23ubuntu4) 13.2.0) #45-Ubuntu SMP PREEMPT_DYNAMIC\n")


def fake_root(tmp_path: Path, files: Dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def ctx_at(root: Path, env: Optional[Dict[str, str]] = None, timeout: float = 10.0) -> ProbeContext:
    env = dict(env or {})
    env.setdefault("PATH", str(root / "no-bin"))
    return ProbeContext(env=env, root=str(root), home=str(root), timeout=timeout)


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body + "\n")
    path.chmod(0o755)
    return path


# --------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("line, expected", [
    ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0", "12.2.0"),
    ("gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0", "11.4.0"),
    ("gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3)", "11.4.1"),
    ("x86_64-conda-linux-gnu-cc (conda-forge gcc 12.3.0-3) 12.3.0", "12.3.0"),
    ("Ubuntu clang version 14.0.0-1ubuntu1.1", "14.0.0"),
    ("Apple clang version 15.0.0 (clang-1500.1.0.2.5)", "15.0.0"),
    ("clang version 18.1.8 (https://github.com/llvm/llvm-project 3b5b5c1ec4a3095ab096dd780e84d7ab81f3d7ff)", "18.1.8"),
    ("1.11.1", "1.11.1"),  # ninja --version
    ("Segmentation fault", None),
    ("", None),
])
def test_parse_compiler_version(line: str, expected: Optional[str]) -> None:
    assert parse_compiler_version(line + "\nCopyright (C) 2022 Free Software Foundation, Inc.\n") == expected


def test_parse_os_release() -> None:
    assert parse_os_release(UBUNTU_OS_RELEASE) == "Ubuntu 24.04.1 LTS"
    assert parse_os_release('NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\n') == "Rocky Linux 9.4 (Blue Onyx)"
    assert parse_os_release("PRETTY_NAME='Debian GNU/Linux 12 (bookworm)'\n") == "Debian GNU/Linux 12 (bookworm)"
    assert parse_os_release('PRETTY_NAME="unterminated\n# comment\n') is None
    assert parse_os_release(None) is None


def test_parse_cpuinfo() -> None:
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
    assert parse_cpuinfo(x86) == "Intel(R) Xeon(R) Platinum 8480+"
    pi = "processor\t: 0\nBogoMIPS\t: 108.00\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
    assert parse_cpuinfo(pi) == "BCM2835"
    arm_server = "processor\t: 0\nBogoMIPS\t: 2000.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n"
    assert parse_cpuinfo(arm_server) is None
    assert parse_cpuinfo("") is None


# --------------------------------------------------------------------------- fake roots


@pytest.mark.parametrize("files, env, expected", [
    ({"/.dockerenv": ""}, {}, "docker"),
    ({"/run/.containerenv": "engine=\"podman-4.9\"\n"}, {}, "podman"),
    ({"/proc/1/cgroup": "0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-1a2b.scope\n",
      "/.dockerenv": ""}, {}, "kubernetes"),
    ({"/proc/1/cgroup": "12:cpuset:/docker/3f4e5d\n11:memory:/docker/3f4e5d\n"}, {}, "docker"),
    ({"/proc/1/cgroup": "0::/lxc.payload.mybox\n"}, {}, "lxc"),
    ({"/run/systemd/container": "systemd-nspawn\n"}, {}, "systemd-nspawn"),
    ({}, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, "kubernetes"),
    ({"/proc/1/cgroup": "0::/init.scope\n"}, {}, None),
    ({}, {}, None),
])
def test_detect_container(tmp_path: Path, files: Dict[str, str], env: Dict[str, str],
                          expected: Optional[str]) -> None:
    assert detect_container(ctx_at(fake_root(tmp_path, files), env)) == expected


@pytest.mark.skipif(not LINUX, reason="WSL detection reads /proc")
def test_detect_wsl(tmp_path: Path) -> None:
    wsl = fake_root(tmp_path / "wsl", {"/proc/version": WSL_PROC_VERSION})
    assert detect_wsl(ctx_at(wsl), "6.8.0-45-generic") is True
    plain = fake_root(tmp_path / "plain", {"/proc/version": PLAIN_PROC_VERSION})
    assert detect_wsl(ctx_at(plain), "6.8.0-45-generic") is False
    assert detect_wsl(ctx_at(tmp_path / "empty"), "5.15.153.1-microsoft-standard-WSL2") is True
    assert detect_wsl(ctx_at(tmp_path / "empty"), None) is None


@pytest.mark.skipif(not LINUX, reason="fake /proc and /etc are Linux layouts")
def test_probe_on_fake_root(tmp_path: Path) -> None:
    root = fake_root(tmp_path, {
        "/etc/os-release": UBUNTU_OS_RELEASE,
        "/proc/version": WSL_PROC_VERSION,
        "/proc/sys/kernel/osrelease": "5.15.153.1-microsoft-standard-WSL2\n",
        "/proc/cpuinfo": "processor\t: 0\nmodel name\t: AMD EPYC 9654 96-Core Processor\n",
        "/run/.containerenv": "",
    })
    (root / "dev" / "shm").mkdir(parents=True)
    facts = system.probe(ctx_at(root))
    assert facts.distro == "Ubuntu 24.04.1 LTS"
    assert facts.kernel == "5.15.153.1-microsoft-standard-WSL2"
    assert facts.wsl is True
    assert facts.container == "podman"
    assert facts.cpu_model == "AMD EPYC 9654 96-Core Processor"
    assert facts.disk_path == str(root) and facts.disk_free_mib is not None
    assert facts.shm_total_mib is not None and facts.shm_total_mib > 0
    assert facts.compilers == [] and facts.ninja is None  # nothing on the fake PATH


@pytest.mark.skipif(not LINUX, reason="fake /proc is a Linux layout")
def test_probe_with_empty_root_is_unknown_not_wrong(tmp_path: Path) -> None:
    facts = system.probe(ctx_at(tmp_path))
    assert facts.distro is None and facts.cpu_model is None and facts.container is None
    assert facts.shm_total_mib is None
    assert facts.os == "Linux" and facts.cpu_count and facts.cpu_count >= 1


@pytest.mark.parametrize("body", ["exec sleep 30", "echo '\\001\\002 junk'", "kill -SEGV $$"])
def test_broken_compilers_do_not_sink_the_probe(tmp_path: Path, body: str) -> None:
    bindir = tmp_path / "bin"
    script(bindir / "gcc", body)
    script(bindir / "ninja", "echo 1.12.1")
    facts = system.probe(ctx_at(tmp_path, {"PATH": str(bindir)}, timeout=0.5))
    assert [(c.name, c.path, c.version) for c in facts.compilers] == [("gcc", str(bindir / "gcc"), None)]
    assert facts.ninja == "1.12.1"


# --------------------------------------------------------------------------- the real machine


@pytest.mark.skipif(not LINUX, reason="asserts Linux facts")
def test_real_machine() -> None:
    facts = system.probe(ProbeContext())
    assert facts.os == "Linux"
    assert facts.glibc and dotted(facts.glibc, 2) >= (2, 17)
    assert facts.glibc == os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    assert facts.cpu_count and facts.cpu_count >= 1
    assert facts.kernel == platform.release()
    assert facts.ram_total_mib and facts.ram_available_mib is not None
    assert 0 < facts.ram_available_mib <= facts.ram_total_mib
    assert facts.machine == platform.machine()
    assert facts.wsl is ("microsoft" in platform.release().lower())
    if os.path.exists("/.dockerenv"):
        assert facts.container == "docker"
    gcc = shutil.which("gcc")
    if gcc:
        found = {c.name: c for c in facts.compilers}
        assert found["gcc"].path == gcc
        # `gcc -dumpversion` says the major (or the whole version) another way
        major = dotted(run([gcc, "-dumpversion"]).stdout)[0]
        assert dotted(found["gcc"].version)[0] == major
    if shutil.which("ninja"):
        assert facts.ninja == run(["ninja", "--version"]).stdout.strip()


@pytest.mark.skipif(shutil.which("gcc") is None or not os.path.exists("/etc/debian_version")
                    or not open("/etc/debian_version").read().startswith("12"),
                    reason="the gcc 12 fact holds on the Debian 12 dev machine")
def test_dev_machine_has_gcc_12() -> None:
    facts = system.probe(ProbeContext())
    gcc = [c for c in facts.compilers if c.name == "gcc"]
    assert gcc and (gcc[0].version or "").startswith("12.")
