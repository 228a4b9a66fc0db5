"""Where libcuda comes from on WSL2.

On WSL2 the Windows NVIDIA driver provides libcuda: /usr/lib/wsl/lib (mounted from Windows) holds it as
plain files, so ldconfig caches libcuda.so.1 but not libcuda.so. A Linux NVIDIA driver installed inside WSL
puts its own libcuda.so.1 in the Linux library directories, which shadows the Windows driver's and breaks
CUDA. Off WSL nothing is read; on WSL one ``ldconfig -p`` tells which libcuda the loader finds first.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional, Tuple

from ..snapshot import ProbeIssue, WslCuda
from . import ProbeContext, issue_from, read_text

PROBE_NAME = "wsl"
WSL_LIB = "/usr/lib/wsl/lib"
#: where a Linux driver (a .run installer or distro package) puts libcuda
LINUX_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                  "/lib/x86_64-linux-gnu", "/usr/local/lib")


def on_wsl(ctx: ProbeContext) -> bool:
    """/usr/lib/wsl exists, or the kernel says "microsoft" (/proc/version)."""
    if not sys.platform.startswith("linux"):
        return False
    if os.path.isdir(ctx.path("/usr/lib/wsl")):
        return True
    return "microsoft" in (read_text(ctx.path("/proc/version"), 4096) or "").lower()


def _libcuda_names(directory: str) -> List[str]:
    try:
        return sorted(n for n in os.listdir(directory) if n.startswith("libcuda.so"))
    except OSError:
        return []


def linux_copies(ctx: ProbeContext) -> List[str]:
    """libcuda.so* in the Linux library directories that do not resolve into /usr/lib/wsl/lib."""
    wsl_real = os.path.realpath(ctx.path(WSL_LIB))
    found: List[str] = []
    seen = set()
    for directory in LINUX_LIB_DIRS:
        base = ctx.path(directory)
        for name in _libcuda_names(str(base)):
            real = os.path.realpath(base / name)
            if real.startswith(wsl_real + os.sep) or real in seen:
                continue
            seen.add(real)
            found.append(f"{directory.rstrip('/')}/{name}")
    return found


def parse_ldconfig(text: str) -> List[str]:
    """``ldconfig -p``'s libcuda entries, in its order: "libcuda.so.1 => /usr/lib/wsl/lib/libcuda.so.1"."""
    out: List[str] = []
    for line in (text or "").splitlines():
        name, arrow, path = line.strip().partition(" => ")
        soname = name.split(" (")[0].strip()
        if arrow and (soname == "libcuda.so" or soname.startswith("libcuda.so.")):
            out.append(f"{soname} => {path.strip()}")
    return out


def loader_libcuda(entries: Optional[List[str]], soname: str = "libcuda.so.1") -> Optional[str]:
    """The path the loader's cache gives first for ``soname``, or None."""
    for entry in entries or []:
        name, _, path = entry.partition(" => ")
        if name == soname:
            return path
    return None


def probe(ctx: ProbeContext) -> Tuple[WslCuda, List[ProbeIssue]]:
    """The WSL libcuda facts; empty (nothing read or run) off WSL."""
    if not on_wsl(ctx):
        return WslCuda(), []
    facts = WslCuda(wsl_lib=os.path.isdir(ctx.path(WSL_LIB)))
    facts.stub_files = _libcuda_names(str(ctx.path(WSL_LIB)))
    facts.linux_libcuda = linux_copies(ctx)
    issues: List[ProbeIssue] = []
    ldconfig = ctx.which("ldconfig") or next(
        (str(ctx.path(p)) for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.path.exists(ctx.path(p))), None)
    if ldconfig:
        result = ctx.run([ldconfig, "-p"])
        if result.ok:
            facts.ldconfig = parse_ldconfig(result.stdout)
        elif result.timed_out:
            issues.append(issue_from(PROBE_NAME, result))
    return facts, issues
