"""cuDNN copies outside the target's torch: the system's (ldconfig, headers, toolkits) and conda's.

PyTorch wheels bundle their own cuDNN, yet tools such as collect_env name a system copy as "probably"
in use; a system copy of another version on the loader's path is a classic source of confusion
(and of real clashes through LD_LIBRARY_PATH). This probe only lists the copies and their versions;
the bundled and the really loaded copies come from the target probe.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..snapshot import Cudnn, CudnnCopy, ProbeIssue
from ..versions import dotted
from . import ProbeContext, issue_from, read_text
from .toolkits import conda_prefixes, find_toolkits

PROBE = "cudnn"

#: ldconfig entries worth keeping: the CUDA runtime and math libraries, NCCL, cuDNN, the driver's
_CUDA_LIB = re.compile(
    r"^lib(cud|cublas|cufft|curand|cusolver|cusparse|cupti|cufile|cutensor|nccl|nvrtc|nvjitlink|"
    r"nvtoolsext|nvjpeg|npp|nvblas|nvidia-)",
    re.IGNORECASE,
)
#: "\tlibcudnn.so.9 (libc6,x86-64) => /lib/x86_64-linux-gnu/libcudnn.so.9"
_LDCONFIG_LINE = re.compile(r"^\s*(\S+)\s+\([^)]*\)\s+=>\s+(.+?)\s*$")
_CUDNN_SONAME = re.compile(r"^libcudnn\.so\.\d+$")
_CUDNN_FILE_VERSION = re.compile(r"^libcudnn\.so\.(\d+\.\d+(?:\.\d+)*)$")
_HEADER_DEFINE = re.compile(r"^\s*#\s*define\s+CUDNN_(MAJOR|MINOR|PATCHLEVEL)\s+(\d+)\b", re.MULTILINE)

#: where distributions and NVIDIA's packages put the cuDNN headers
HEADER_DIRS = (
    "/usr/include",
    "/usr/include/x86_64-linux-gnu",
    "/usr/include/aarch64-linux-gnu",
    "/usr/local/cuda/include",
)
HEADER_NAMES = ("cudnn_version.h", "cudnn_version_v*.h", "cudnn.h")


def parse_ldconfig(text: str) -> List[Tuple[str, str]]:
    """(soname, path) of the CUDA-related libraries in ``ldconfig -p`` output, in its order."""
    out: List[Tuple[str, str]] = []
    for line in (text or "").splitlines():
        match = _LDCONFIG_LINE.match(line)
        if match and _CUDA_LIB.match(match.group(1)):
            out.append((match.group(1), match.group(2)))
    return out


def parse_cudnn_header(text: str) -> Optional[str]:
    """cudnn_version.h (or cudnn.h before cuDNN 8) -> "9.14.0"; None without CUDNN_MAJOR."""
    defines: Dict[str, str] = {}
    for name, value in _HEADER_DEFINE.findall(text or ""):
        defines.setdefault(name, value)
    if "MAJOR" not in defines:
        return None
    parts = [defines["MAJOR"]]
    for name in ("MINOR", "PATCHLEVEL"):
        if name not in defines:
            break
        parts.append(defines[name])
    nums = dotted(".".join(parts))
    return ".".join(str(n) for n in nums) if nums else None


def version_from_filename(path: str) -> Optional[str]:
    """"libcudnn.so.9.14.0" (a resolved symlink target) -> "9.14.0"; None for "libcudnn.so.9"."""
    match = _CUDNN_FILE_VERSION.match(os.path.basename(path))
    if not match:
        return None
    nums = dotted(match.group(1))
    return ".".join(str(n) for n in nums) if nums else None


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _major(version: Optional[str]) -> Optional[int]:
    nums = dotted(version)
    return nums[0] if nums else None


def _headers(dirs: List[str]) -> List[CudnnCopy]:
    """One copy per distinct header file (symlinked alternatives collapse) that names a version."""
    copies: List[CudnnCopy] = []
    seen: set = set()
    for directory in dirs:
        for pattern in HEADER_NAMES:
            for path in sorted(glob.glob(os.path.join(glob.escape(directory), pattern))):
                real = _real(path)
                if real in seen:
                    continue
                seen.add(real)
                version = parse_cudnn_header(read_text(Path(path)) or "")
                if version:
                    copies.append(CudnnCopy(version=version, path=path, source="header"))
    return copies


def _version_for_lib(path: str, soname_major: Optional[int], headers: List[CudnnCopy]) -> Optional[str]:
    """The library's version from its real file name, else from a header of the same major."""
    version = version_from_filename(os.path.realpath(path))
    if version:
        return version
    for header in headers:
        if soname_major is not None and _major(header.version) == soname_major:
            return header.version
    return None


def _soname_major(soname: str) -> Optional[int]:
    nums = dotted(soname.rsplit(".so.", 1)[-1]) if ".so." in soname else None
    return nums[0] if nums else None


def _ldconfig_copies(ctx: ProbeContext, headers: List[CudnnCopy],
                     issues: List[ProbeIssue]) -> List[CudnnCopy]:
    exe = ctx.which("ldconfig")
    if exe is None:
        for fallback in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
            if os.path.isfile(ctx.path(fallback)):
                exe = str(ctx.path(fallback))
                break
    if exe is None:
        issues.append(ProbeIssue(probe=PROBE, kind="not-found", message="ldconfig: not found",
                                 command=["ldconfig", "-p"]))
        return []
    result = ctx.run([exe, "-p"])
    if not result.ok:
        issues.append(issue_from(PROBE, result))
        return []
    copies: List[CudnnCopy] = []
    seen: set = set()
    for soname, path in parse_ldconfig(result.stdout):
        if not _CUDNN_SONAME.match(soname):
            continue
        local = str(ctx.path(path))
        real = _real(local)
        if real in seen:
            continue
        seen.add(real)
        version = _version_for_lib(local, _soname_major(soname), headers)
        copies.append(CudnnCopy(version=version, path=path, source="ldconfig"))
    return copies


def _library_copies(lib_dirs: List[str], headers: List[CudnnCopy], source: str,
                    seen: set) -> List[CudnnCopy]:
    """libcudnn.so.N files found by looking in directories (toolkit lib64, conda lib)."""
    copies: List[CudnnCopy] = []
    for directory in lib_dirs:
        for path in sorted(glob.glob(os.path.join(glob.escape(directory), "libcudnn.so.*"))):
            if not _CUDNN_SONAME.match(os.path.basename(path)):
                continue
            real = _real(path)
            if real in seen:
                continue
            seen.add(real)
            version = _version_for_lib(path, _soname_major(os.path.basename(path)), headers)
            copies.append(CudnnCopy(version=version, path=path, source=source))
    return copies


def probe(ctx: ProbeContext) -> Tuple[Cudnn, List[ProbeIssue]]:
    """System and conda cuDNN copies (``Cudnn.system``, ``Cudnn.conda``); never raises."""
    issues: List[ProbeIssue] = []
    # pip and conda toolkits belong to an environment, not the system: their copies are reported
    # as the bundled (target probe) and conda copies
    envs = {_real(prefix) for prefix in conda_prefixes(ctx)}
    toolkit_roots = [tk.path for tk in find_toolkits(ctx)
                     if tk.path and tk.source not in ("pip", "conda") and _real(tk.path) not in envs]

    header_dirs = [str(ctx.path(d)) for d in HEADER_DIRS]
    header_dirs += [os.path.join(root, "include") for root in toolkit_roots]
    system_headers = _headers(header_dirs)

    system: List[CudnnCopy] = []
    if sys.platform.startswith("linux"):
        system += _ldconfig_copies(ctx, system_headers, issues)
    seen = {_real(str(ctx.path(c.path))) for c in system if c.path}
    lib_dirs = [os.path.join(root, sub) for root in toolkit_roots for sub in ("lib64", "lib")]
    system += _library_copies(lib_dirs, system_headers, "toolkit", seen)
    system += system_headers

    conda: List[CudnnCopy] = []
    for prefix in conda_prefixes(ctx):
        conda_headers = _headers([os.path.join(prefix, "include"), os.path.join(prefix, "Library", "include")])
        conda += _library_copies([os.path.join(prefix, "lib")], conda_headers, "conda", set())
        for header in conda_headers:
            header.source = "conda"
        conda += conda_headers
    return Cudnn(system=system, conda=conda), issues
