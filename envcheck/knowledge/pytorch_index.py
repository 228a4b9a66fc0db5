"""What download.pytorch.org/whl/<tag>/ serves per torch release (data/pytorch_index.json).

install-cmd must never print a command naming a package, version, platform or Python that the index it
points at does not carry; these facts let it ask first. `carries` answers None where nothing is recorded,
so a caller can tell "not there" from "not known".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..versions import dotted, major_minor

#: the platform keys the data file uses
PLATFORMS = ("linux-x86_64", "linux-aarch64", "windows-x86_64", "windows-arm64", "macos-arm64", "macos-x86_64")


@dataclass
class IndexVariant:
    """One index tag (cu132, rocm7.2, xpu, cpu) of one torch release."""

    tag: str
    platforms: Dict[str, List[str]]
    packages: Dict[str, str]
    gpu_archs: List[str]
    derived: str
    source: str
    package_platforms: Dict[str, List[str]] = field(default_factory=dict)
    unknown_platforms: List[str] = field(default_factory=list)
    note: str = ""

    def package_on(self, package: str, platform: str) -> bool:
        """Whether `package` is in this variant and not narrowed away from `platform`."""
        if package not in self.packages:
            return False
        narrowed = self.package_platforms.get(package)
        return narrowed is None or platform in narrowed


@dataclass
class IndexRelease:
    torch: str
    variants: List[IndexVariant]
    source: str = ""


def _python_key(python: str) -> str:
    """'3.12.4' -> '3.12'; a free-threaded '3.13t' stays '3.13t'."""
    threaded = python.endswith("t")
    base = major_minor(python.rstrip("t")) or python.rstrip("t")
    return base + ("t" if threaded else "")


class IndexFacts:
    """The recorded releases, looked up by torch version (a local label such as +cu130 is ignored)."""

    def __init__(self, releases: List[IndexRelease], recorded: str = "", sources: Optional[Dict[str, str]] = None) -> None:
        self.releases = releases
        self.recorded = recorded
        self.sources = dict(sources or {})
        self._by_version = {dotted(r.torch.split("+")[0], 3): r for r in releases}

    def release(self, torch_version: str) -> Optional[IndexRelease]:
        return self._by_version.get(dotted(str(torch_version).split("+")[0], 3))

    def variant(self, torch_version: str, tag: str) -> Optional[IndexVariant]:
        release = self.release(torch_version)
        if release is None:
            return None
        return next((v for v in release.variants if v.tag == tag), None)

    def carries(self, torch_version: str, tag: str, package: str, platform: str,
                python: Optional[str] = None) -> Optional[bool]:
        """Whether whl/<tag> has `package` for this torch release on `platform` (and CPython `python`).

        None when the release, or the platform's presence, is not recorded; False when the release is
        recorded and the tag, package, platform or Python is not among what it serves.
        """
        release = self.release(torch_version)
        if release is None:
            return None
        variant = next((v for v in release.variants if v.tag == tag), None)
        if variant is None:
            return False
        if platform in variant.unknown_platforms:
            return None
        if platform not in variant.platforms or not variant.package_on(package, platform):
            return False
        if python is None:
            return True
        pythons = variant.platforms[platform]
        if not pythons:
            return None
        return _python_key(python) in pythons


def _variant(row: Dict[str, Any]) -> IndexVariant:
    return IndexVariant(
        tag=str(row["tag"]),
        platforms={str(k): [str(p) for p in v] for k, v in dict(row.get("platforms", {})).items()},
        packages={str(k): str(v) for k, v in dict(row.get("packages", {})).items()},
        gpu_archs=[str(a) for a in row.get("gpu_archs", [])],
        derived=str(row.get("derived", "")),
        source=str(row.get("source", "")),
        package_platforms={str(k): [str(p) for p in v] for k, v in dict(row.get("package_platforms", {})).items()},
        unknown_platforms=[str(p) for p in row.get("unknown_platforms", [])],
        note=str(row.get("note", "")),
    )


def facts_from_data(data: Dict[str, Any]) -> IndexFacts:
    """Build IndexFacts from the parsed TOML (a dict), so tests can feed their own rows."""
    releases = [
        IndexRelease(torch=str(r["torch"]), variants=[_variant(v) for v in r.get("variant", [])],
                     source=str(r.get("source", "")))
        for r in data.get("release", [])
    ]
    return IndexFacts(releases, recorded=str(data.get("recorded", "")), sources=dict(data.get("sources", {})))

