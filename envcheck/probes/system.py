"""The machine around the GPU: OS, distro, kernel, glibc, CPU, memory, disk, container, compilers.

These facts explain failures that look like CUDA problems (a tiny /dev/shm in Docker kills
DataLoader workers, an old glibc rejects new wheels, a too-new gcc breaks nvcc, WSL needs the
Windows driver). Files are read through ``ctx.path`` so tests can point at a fake tree; the host
compilers and ninja run concurrently through the runner.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import socket
import sys
from typing import Dict, List, Optional, Tuple


from ..runner import CommandResult, run_parallel
from ..snapshot import Compiler, System
from ..versions import dotted
from . import ProbeContext, read_text
from .toolkits import interpreter_prefix

MIB = 1024 * 1024
COMPILERS = ("gcc", "g++", "cc", "clang")
#: /proc/1/cgroup words that name a container runtime, most specific first
_CGROUP_RUNTIMES = (("kubepods", "kubernetes"), ("libpod", "podman"), ("docker", "docker"),
                    ("containerd", "containerd"), ("lxc", "lxc"))
_VERSION_WORD = re.compile(r"\bversion\s+(\d+(?:\.\d+)+)", re.IGNORECASE)
_DOTTED_RUN = re.compile(r"\b(\d+\.\d+(?:\.\d+)*)")
_PARENS = re.compile(r"\([^)]*\)")


def _dotted_str(text: Optional[str]) -> Optional[str]:
    nums = dotted(text)
    return ".".join(str(n) for n in nums) if nums else None


def parse_os_release(text: Optional[str]) -> Optional[str]:
    """/etc/os-release -> PRETTY_NAME ("Ubuntu 24.04.1 LTS"), else NAME VERSION; shell quoting honoured."""
    values: Dict[str, str] = {}
    for line in (text or "").splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            continue
        values[key.strip()] = " ".join(parts)
    if values.get("PRETTY_NAME"):
        return values["PRETTY_NAME"]
    name = " ".join(v for v in (values.get("NAME"), values.get("VERSION")) if v)
    return name or None


def parse_compiler_version(text: Optional[str]) -> Optional[str]:
    """First line of ``gcc --version`` / ``clang --version`` -> "12.2.0".

    GNU prints the version after a parenthesised package note ("gcc (Debian 12.2.0-14) 12.2.0",
    "x86_64-conda-linux-gnu-cc (conda-forge gcc 12.3.0-3) 12.3.0"); clang says "clang version 18.1.8".
    """
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    match = _VERSION_WORD.search(line) or _DOTTED_RUN.search(_PARENS.sub(" ", line))
    return _dotted_str(match.group(1)) if match else None


def parse_cpuinfo(text: Optional[str]) -> Optional[str]:
    """/proc/cpuinfo -> the CPU's model name (x86 "model name"; ARM and others use other keys)."""
    found: Dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if sep and value and key not in found:
            found[key] = value
    for key in ("model name", "hardware", "cpu model", "model", "processor"):
        name = found.get(key)
        if name and not name.isdigit():
            return name
    return None


def detect_container(ctx: ProbeContext) -> Optional[str]:
    """docker | podman | kubernetes | containerd | lxc | <systemd's name>; None when none is seen.

    Absence of evidence is not proof (cgroup v2 hides the runtime), so no container is None.
    """
    if ctx.env.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    cgroup = (read_text(ctx.path("/proc/1/cgroup")) or "").lower()
    if "kubepods" in cgroup:
        return "kubernetes"
    if os.path.exists(ctx.path("/.dockerenv")):
        return "docker"
    if os.path.exists(ctx.path("/run/.containerenv")):
        return "podman"
    for word, runtime in _CGROUP_RUNTIMES:
        if word in cgroup:
            return runtime
    declared = (read_text(ctx.path("/run/systemd/container")) or "").strip()
    return declared or None


def detect_wsl(ctx: ProbeContext, kernel: Optional[str]) -> Optional[bool]:
    """True inside WSL (its kernel says "microsoft"); None on Linux when nothing could be read."""
    if not sys.platform.startswith("linux"):
        return False
    proc_version = read_text(ctx.path("/proc/version"))
    texts = [t for t in (proc_version, kernel) if t]
    if not texts:
        return None
    return any("microsoft" in t.lower() for t in texts)


#: "# R36 (release), REVISION: 4.3, GCID: ..., BOARD: generic, EABI: aarch64, DATE: ..." (/etc/nv_tegra_release)
_TEGRA_RELEASE = re.compile(r"^#?\s*R(\d+)\s*\(release\),\s*REVISION:\s*([0-9.]+)", re.IGNORECASE)
_ARM_MACHINES = ("aarch64", "arm64")


def parse_tegra_release(text: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """/etc/nv_tegra_release -> (its release line without the "# ", the L4T version "35.3.1"); (None, None) if not one."""
    for line in (text or "").splitlines():
        match = _TEGRA_RELEASE.match(line.strip())
        if match:
            revision = dotted(match.group(2)) or ()
            l4t = ".".join(str(n) for n in (int(match.group(1)),) + revision)
            return line.strip().lstrip("#").strip(), l4t
    return None, None


def dpkg_version(status_text: Optional[str], package: str) -> Optional[str]:
    """The ``Version:`` of ``package``'s stanza in a dpkg status file ("36.4.4-20250616085344"), or None."""
    for stanza in (status_text or "").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" "))
        if fields.get("Package") == package:
            return fields.get("Version")
    return None


def detect_jetson(ctx: ProbeContext, machine: Optional[str]) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(jetson, jetson_l4t, jetson_model) on Linux aarch64; all None elsewhere and on aarch64 that is not a Jetson.

    Evidence, most telling first: /etc/nv_tegra_release, the nvidia-l4t-core package, a device-tree model
    naming a Jetson or a device tree compatible with "nvidia,tegra" (the Orin Nano kit's model says "NVIDIA
    Orin Nano Developer Kit", no "Jetson"). Grace Hopper / GB200 servers (SBSA) have none of these.
    """
    if not sys.platform.startswith("linux") or (machine or "").lower() not in _ARM_MACHINES:
        return None, None, None
    line, l4t = parse_tegra_release(read_text(ctx.path("/etc/nv_tegra_release"), 4096))
    model = (read_text(ctx.path("/proc/device-tree/model"), 4096) or "").replace("\x00", "").strip() or None
    compatible = (read_text(ctx.path("/proc/device-tree/compatible"), 4096) or "").lower()
    package = None
    if line is None and os.path.exists(ctx.path("/var/lib/dpkg/info/nvidia-l4t-core.list")):
        package = dpkg_version(read_text(ctx.path("/var/lib/dpkg/status"), 1 << 24), "nvidia-l4t-core")
        if package is not None:
            nums = dotted(package)
            l4t = ".".join(str(n) for n in nums) if nums else None
    is_jetson = bool(line or package or "jetson" in (model or "").lower() or "nvidia,tegra" in compatible)
    if not is_jetson:
        return None, None, None
    jetson = line or (f"nvidia-l4t-core {package}" if package else None) or model or "tegra"
    return jetson, l4t, model


def _distro(ctx: ProbeContext) -> Optional[str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        name = parse_os_release(read_text(ctx.path(path)))
        if name:
            return name
    if sys.platform == "darwin":
        release = platform.mac_ver()[0]
        return f"macOS {release}" if release else "macOS"
    if os.name == "nt":
        release, version = platform.win32_ver()[:2]
        return " ".join(p for p in ("Windows", release, version) if p)
    return None


def _kernel(ctx: ProbeContext) -> Optional[str]:
    text = (read_text(ctx.path("/proc/sys/kernel/osrelease")) or "").strip()
    return text or platform.release() or None


def _glibc() -> Optional[str]:
    """The C library's version; confstr is instant, libc_ver() reads the interpreter binary."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (AttributeError, ValueError, OSError):
        text = None
    if text and text.lower().startswith("glibc"):
        return _dotted_str(text)
    try:
        lib, version = platform.libc_ver()
    except OSError:
        return None
    return _dotted_str(version) if lib == "glibc" and version else None


def _cpu_model(ctx: ProbeContext) -> Optional[str]:
    model = parse_cpuinfo(read_text(ctx.path("/proc/cpuinfo")))
    if model:
        return model
    if sys.platform == "darwin":
        result = ctx.run(["sysctl", "-n", "machdep.cpu.brand_string"])
        return (result.stdout.strip() or None) if result.ok else None
    if os.name == "nt":  # env-based on Windows; elsewhere platform.processor() spawns `uname -p`
        return platform.processor() or None
    return None


def mac_facts(ctx: ProbeContext) -> Tuple[Optional[str], Optional[bool]]:
    """macOS: (the system's version, Apple Silicon or not), for what torch's MPS needs.

    ``sw_vers`` gives the real version even where an x86_64 Python is told 10.16; ``hw.optional.arm64`` is 1 on
    Apple Silicon also for a process under Rosetta, and absent (a failed sysctl) on an Intel Mac.
    """
    version = ctx.run(["sw_vers", "-productVersion"])
    mac_version = _dotted_str(version.stdout.strip()) if version.ok else None
    arm = ctx.run(["sysctl", "-n", "hw.optional.arm64"])
    text = arm.stdout.strip() if arm.ok else ""
    apple_silicon = text == "1" if text in ("0", "1") else (False if arm.returncode not in (None, 0) else None)
    return mac_version or (platform.mac_ver()[0] or None), apple_silicon


def _hostname() -> Optional[str]:
    try:
        return socket.gethostname() or None
    except OSError:
        return platform.node() or None


def _disk_path(ctx: ProbeContext) -> Optional[str]:
    for candidate in (interpreter_prefix(ctx.python), str(ctx.home_dir())):
        if candidate and os.path.isdir(candidate):
            return candidate
    return None


def _mib(value: Optional[int]) -> Optional[int]:
    return int(value // MIB) if value is not None else None


def _memory(system: System, ctx: ProbeContext) -> None:
    import psutil  # 8 ms: only for the full probe, not system.basic()

    try:
        vm = psutil.virtual_memory()
        system.ram_total_mib, system.ram_available_mib = _mib(vm.total), _mib(vm.available)
    except (OSError, RuntimeError, AttributeError):
        pass
    system.disk_path = _disk_path(ctx)
    if system.disk_path:
        try:
            system.disk_free_mib = _mib(psutil.disk_usage(system.disk_path).free)
        except OSError:
            pass
    shm = ctx.path("/dev/shm")
    if sys.platform.startswith("linux") and os.path.isdir(shm):
        try:
            system.shm_total_mib = _mib(psutil.disk_usage(str(shm)).total)
        except OSError:
            pass


def _tools(ctx: ProbeContext) -> Tuple[List[Compiler], Optional[str]]:
    """Host compilers and ninja, their ``--version`` run concurrently."""
    paths = {name: ctx.which(name) for name in COMPILERS + ("ninja",)}
    tasks = {name: (lambda p=path: ctx.run([p, "--version"])) for name, path in paths.items() if path}
    results, _errors = run_parallel(tasks, ctx.timeout + 2.0)

    def version(name: str) -> Optional[str]:
        result: Optional[CommandResult] = results.get(name)
        if result is None or not result.ok:
            return None
        return parse_compiler_version(result.stdout or result.stderr)

    compilers = [Compiler(name=name, path=paths[name], version=version(name))
                 for name in COMPILERS if paths[name]]
    return compilers, version("ninja") if paths["ninja"] else None


def basic(ctx: ProbeContext) -> System:
    """Only what picking a torch build needs (OS, architecture, distro, Jetson or not): no commands run."""
    machine = platform.machine() or None
    system = System(os=platform.system() or None, machine=machine, distro=_distro(ctx))
    system.jetson, system.jetson_l4t, system.jetson_model = detect_jetson(ctx, machine)
    return system


def probe(ctx: ProbeContext) -> System:
    """Facts about the host; anything unreadable stays None."""
    kernel = _kernel(ctx)
    system = System(
        os=platform.system() or None,
        distro=_distro(ctx),
        kernel=kernel,
        machine=platform.machine() or None,
        glibc=_glibc() if sys.platform.startswith("linux") else None,
        hostname=_hostname(),
        cpu_model=_cpu_model(ctx),
        cpu_count=os.cpu_count(),
        container=detect_container(ctx),
        wsl=detect_wsl(ctx, kernel),
    )
    system.jetson, system.jetson_l4t, system.jetson_model = detect_jetson(ctx, system.machine)
    if sys.platform == "darwin":
        system.mac_version, system.apple_silicon = mac_facts(ctx)
    _memory(system, ctx)
    system.compilers, system.ninja = _tools(ctx)
    return system
