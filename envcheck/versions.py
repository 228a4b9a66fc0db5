"""The one way envcheck parses and compares versions.

Package versions follow PEP 440 (``packaging``); CUDA, driver and compute-capability versions are
dotted integers ("13.0", "580.159.04", "8.6") compared as tuples. Nothing else in the code base
splits a version string by hand.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

from packaging.version import InvalidVersion, Version

_DOTTED = re.compile(r"(\d+(?:\.\d+)*)")


def parse_version(text: Optional[str]) -> Optional[Version]:
    """PEP 440 version of a package ("2.11.0+cu130" keeps its local part), or None."""
    if not text:
        return None
    try:
        return Version(str(text).strip())
    except InvalidVersion:
        match = _DOTTED.search(str(text))
        if not match:
            return None
        try:
            return Version(match.group(1))
        except InvalidVersion:
            return None


def public_version(text: Optional[str]) -> Optional[str]:
    """"2.11.0+cu130" -> "2.11.0"; None when the text is no version."""
    v = parse_version(text)
    return v.public if v is not None else None


def local_tag(text: Optional[str]) -> Optional[str]:
    """"2.11.0+cu130" -> "cu130"; None without a local part."""
    v = parse_version(text)
    return v.local if v is not None else None


def dotted(text: Optional[str], parts: Optional[int] = None) -> Optional[Tuple[int, ...]]:
    """First dotted-integer run in ``text`` as a tuple: "release 13.0, V13.0.88" -> (13, 0)."""
    if text is None:
        return None
    match = _DOTTED.search(str(text))
    if not match:
        return None
    nums = tuple(int(p) for p in match.group(1).split("."))
    if parts is not None:
        nums = (nums + (0,) * parts)[:parts]
    return nums


def major_minor(text: Optional[str]) -> Optional[str]:
    """"13.0.88" -> "13.0"; "12" -> "12.0"; None when there is no number."""
    nums = dotted(text, 2)
    return f"{nums[0]}.{nums[1]}" if nums else None


def cuda_tag(cuda: Optional[str]) -> Optional[str]:
    """"12.6" -> "cu126", the tag PyTorch uses for its wheel indexes."""
    nums = dotted(cuda, 2)
    return f"cu{nums[0]}{nums[1]}" if nums else None


def cuda_from_tag(tag: Optional[str]) -> Optional[str]:
    """"cu126" -> "12.6", "cu92" -> "9.2"; None for "cpu", "rocm6.2" and other tags."""
    if not tag:
        return None
    match = re.fullmatch(r"cu(\d+)(\d)", tag.strip().lower())
    if not match:
        return None
    return f"{int(match.group(1))}.{match.group(2)}"


def capability(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """Compute capability "8.6", "sm_86", "86" or (8, 6) -> (8, 6)."""
    if text is None:
        return None
    if isinstance(text, (tuple, list)) and len(text) >= 2:
        return int(text[0]), int(text[1])
    s = str(text).strip().lower()
    match = re.fullmatch(r"(?:sm_|compute_)?(\d+)([0-9])([a-z]?)", s)
    if match and "." not in s:
        return int(match.group(1)), int(match.group(2))
    nums = dotted(s, 2)
    return (nums[0], nums[1]) if nums else None


def capability_str(cc: Optional[Tuple[int, int]]) -> Optional[str]:
    return f"{cc[0]}.{cc[1]}" if cc else None


def at_least(have: Optional[str], need: Optional[str]) -> Optional[bool]:
    """Dotted comparison ``have >= need``; None when either side is unknown."""
    a, b = dotted(have), dotted(need)
    if a is None or b is None:
        return None
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)) >= b + (0,) * (width - len(b))


def in_specifier(version: Optional[str], spec: Optional[str]) -> Optional[bool]:
    """Does ``version`` (its public part) satisfy the PEP 440 ``spec``? None when either is unusable."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # 7 ms: only when a rule asks

    v = parse_version(version)
    if v is None or not spec:
        return None
    try:
        return SpecifierSet(spec).contains(v.public, prereleases=True)
    except InvalidSpecifier:
        return None


def _unpack(value: int, major_unit: int) -> str:
    return f"{value // major_unit}.{(value % major_unit) // 100}.{value % 100}"


def cudnn_from_int(value: Optional[int]) -> Optional[str]:
    """cuDNN's packed integer: 91900 -> "9.19.0" (cuDNN 9: major*10000), 8902 -> "8.9.2", 7605 -> "7.6.5"."""
    if value is None or value <= 0:
        return None
    return _unpack(value, 10000 if value >= 90000 else 1000)


def nccl_from_int(value: Optional[int]) -> Optional[str]:
    """NCCL's packed integer: 21803 -> "2.18.3" (from 2.9: major*10000), 2708 -> "2.7.8"."""
    if value is None or value <= 0:
        return None
    return _unpack(value, 10000 if value >= 10000 else 1000)


def cuda_from_int(value: Optional[int]) -> Optional[str]:
    """CUDA's packed integer (cudaDriverGetVersion, "found version 11040"): 11040 -> "11.4", 9010 -> "9.1"."""
    if value is None or value <= 0:
        return None
    major, minor = value // 1000, (value % 1000) // 10
    return f"{major}.{minor}" if 1 <= major <= 99 else None


def cuda_from_hundreds(value: Optional[int]) -> Optional[str]:
    """CUDA as major * 100 + minor (xformers' build info: 1208, 1201) -> "12.8"."""
    if value is None or isinstance(value, bool) or not 100 <= value < 10000:
        return None
    return f"{value // 100}.{value % 100}"


_TAG_TORCH = (re.compile(r"(?:^|[^a-z])pt(\d)(\d{1,2})(?!\d)"), re.compile(r"torch(\d+)\.(\d+)"))
_TAG_CUDA = re.compile(r"(?:^|[^a-z])cu(\d{2,3})(?!\d)|cu(\d{2,3})(?=torch|pt)")


def build_tag(tag: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(torch major.minor, CUDA) a compiled extension's local version tag names: "pt25cu121" (PyG) ->
    ("2.5", "12.1"), "cu12torch2.8cxx11abiTRUE" (flash-attn) -> ("2.8", "12"), "cu124" -> (None, "12.4")."""
    if not tag:
        return None, None
    text = str(tag).lower()
    torch = None
    for pattern in _TAG_TORCH:
        match = pattern.search(text)
        if match:
            torch = f"{int(match.group(1))}.{int(match.group(2))}"
            break
    cuda = None
    match = _TAG_CUDA.search(text)
    if match:
        digits = match.group(1) or match.group(2)
        # cu10..cu13 is a CUDA major alone (flash-attn from 2.7: "cu12"); cu92, cu118, cu121 carry the minor
        cuda = str(int(digits)) if len(digits) == 2 and 10 <= int(digits) <= 13 else cuda_from_tag("cu" + digits)
    return torch, cuda
