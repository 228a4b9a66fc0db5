"""Compatibility judgements shared by the rules and the install resolver.

Two questions decide whether a torch build can run: does the driver run its CUDA (NVIDIA's driver
table, with CUDA minor-version compatibility as the fallback), and does the build carry a kernel
for every GPU (the same-major cubin rule, with PTX as a slower fallback). Both live here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional

from ..i18n import N_, Message
from ..knowledge import Knowledge
from ..versions import at_least, capability, dotted, major_minor

FULL = "full"
MINOR_COMPAT = "minor-compat"
TOO_OLD = "too-old"
UNKNOWN = "unknown"

CUBIN = "cubin"
PTX = "ptx"
NONE = "none"

_ARCH = re.compile(r"^(sm|compute)_(\d+)([0-9])([af]?)$")


@dataclass
class DriverSupport:
    #: full | minor-compat | too-old | unknown
    status: str
    #: the rule that decided, quoted in findings ("CUDA 12.6 needs driver >= 560.28.03 on Linux"):
    #: a Message (its str is the English), worded by whoever shows it; "" when nothing decided
    rule: str = ""
    #: the driver version that would give full support
    needed: Optional[str] = None


def _support(status: str, needed: Optional[str], template: str, **fields: str) -> DriverSupport:
    return DriverSupport(status, Message(template, **fields), needed)


def driver_support(
    build_cuda: Optional[str],
    driver_version: Optional[str],
    driver_cuda: Optional[str],
    knowledge: Knowledge,
    os_name: str = "linux",
) -> DriverSupport:
    """Can a driver run code built with CUDA ``build_cuda``?"""
    cuda = major_minor(build_cuda)
    if cuda is None:
        return DriverSupport(UNKNOWN)
    os_key = "windows" if os_name == "windows" else "linux"
    floor = knowledge.driver_floor(cuda)
    floor_version = getattr(floor, os_key) if floor else None
    platform_name = "Windows" if os_key == "windows" else "Linux"
    # nvidia-smi's own "CUDA Version" is the driver's word: trust it first.
    if driver_cuda and at_least(driver_cuda, cuda):
        return _support(FULL, floor_version, N_("the driver supports CUDA up to {driver_cuda} (nvidia-smi), "
                                                "torch needs {cuda}"), driver_cuda=driver_cuda, cuda=cuda)
    if driver_version and floor_version and at_least(driver_version, floor_version):
        return _support(FULL, floor_version, N_("CUDA {cuda} needs driver >= {floor} on {platform}"),
                        cuda=cuda, floor=floor_version, platform=platform_name)
    major = dotted(cuda)[0]
    compat = knowledge.minor_compat_floor(major)
    compat_version = getattr(compat, os_key) if compat else None
    if driver_version and compat_version and at_least(driver_version, compat_version) and not floor_version:
        return _support(MINOR_COMPAT, None, N_("driver {driver} meets the CUDA {major}.x minor-version compatibility "
                                               "floor {compat} on {platform}"),
                        driver=driver_version, major=str(major), compat=compat_version, platform=platform_name)
    if driver_version and compat_version and at_least(driver_version, compat_version):
        return _support(
            MINOR_COMPAT, floor_version,
            N_("CUDA {cuda} needs driver >= {floor} for full support; driver {driver} meets the "
               "CUDA {major}.x minor-version compatibility floor {compat} on {platform}"),
            cuda=cuda, floor=floor_version, driver=driver_version, major=str(major), compat=compat_version,
            platform=platform_name)
    if driver_version is None and driver_cuda:
        if dotted(driver_cuda)[0] == major:
            return _support(MINOR_COMPAT, floor_version, N_("the driver supports CUDA {driver_cuda}; torch needs "
                                                        "{cuda} (same major: minor-version compatibility)"),
                            driver_cuda=driver_cuda, cuda=cuda)
        return _support(TOO_OLD, floor_version, N_("the driver supports CUDA up to {driver_cuda}; torch needs {cuda}"),
                        driver_cuda=driver_cuda, cuda=cuda)
    if driver_version and floor_version and compat_version is None and major < 11:
        return _support(TOO_OLD, floor_version, N_("CUDA {cuda} needs driver >= {floor} on {platform} (before "
                                                "CUDA 11 there is no minor-version compatibility); this driver "
                                                "is {driver}"),
                        cuda=cuda, floor=floor_version, platform=platform_name, driver=driver_version)
    if driver_version and floor_version:
        return _support(TOO_OLD, floor_version, N_("CUDA {cuda} needs driver >= {floor} on {platform} "
                                                "(minor-version floor {compat}); this driver is {driver}"),
                        cuda=cuda, floor=floor_version, platform=platform_name, compat=compat_version or "unknown",
                        driver=driver_version)
    return DriverSupport(UNKNOWN)


def parse_arch(entry: str):
    """"sm_86" -> ("sm", 8, 6, ""), "sm_90a" -> ("sm", 9, 0, "a"), "compute_90" -> ("compute", 9, 0, "")."""
    m = _ARCH.match(entry.strip().lower())
    if not m:
        return None
    return m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)


def arch_support(arch_list: Iterable[str], cc: Optional[str]) -> str:
    """How a build with ``arch_list`` reaches a GPU of compute capability ``cc``.

    ``cubin``: a kernel image of the same major and a minor not above the GPU's (sm_80 runs on 8.6);
    an arch-specific ``sm_90a`` only on exactly 9.0. ``ptx``: only PTX of an older-or-equal
    capability, JIT-compiled at start-up. ``none``: no kernel at all ("no kernel image is available").
    """
    want = capability(cc)
    if want is None:
        return NONE
    has_ptx = False
    for entry in arch_list:
        parsed = parse_arch(entry)
        if not parsed:
            continue
        kind, major, minor, suffix = parsed
        if kind == "sm":
            if suffix == "a":
                if (major, minor) == want:
                    return CUBIN
            elif major == want[0] and minor <= want[1]:
                return CUBIN
        elif (major, minor) <= want:
            has_ptx = True
    return PTX if has_ptx else NONE


def sm_name(cc: str) -> str:
    c = capability(cc)
    return f"sm_{c[0]}{c[1]}" if c else str(cc)


def arch_range(arch_list: List[str]) -> str:
    """"sm_75 ... sm_120" for messages."""
    sms = [a for a in arch_list if a.startswith("sm_")]
    if not sms:
        return ", ".join(arch_list) or "(empty)"
    return ", ".join(sms)
