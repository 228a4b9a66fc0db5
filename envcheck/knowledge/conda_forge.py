"""conda-forge's pytorch builds (data/conda_forge.toml): which versions, platforms, CUDA builds and Pythons exist.

A conda command is only worth printing for a build conda-forge made; PyPI's version and CUDA say nothing about
that (conda-forge skipped 2.0.1, 2.2 and 2.9.0, and builds with its own CUDA, e.g. 12.9 where PyPI has 12.8).
The facts were read from the feedstock's history; this module only answers questions about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..versions import dotted, parse_version

#: the CPU build's entry in ``CondaForgeBuild.platforms``
CPU = "cpu"


@dataclass
class CondaForgeBuild:
    """One pytorch version on conda-forge: per platform the CUDA versions its GPU builds were made with
    (``cuda_compiler_version``, what ``cuda-version=X.Y`` selects), plus "cpu" when a CPU build exists."""

    version: str
    #: commit date of the feedstock's version bump (YYYY-MM-DD)
    date: Optional[str]
    #: "linux-64" -> ["cpu", "12.9", "13.0"]
    platforms: Dict[str, List[str]] = field(default_factory=dict)
    python: List[str] = field(default_factory=list)
    #: only where the Pythons differ per platform (osx-arm64 before 1.13 lacks 3.6/3.7)
    python_by_platform: Dict[str, List[str]] = field(default_factory=dict)
    #: first and last pushed feedstock commit with this version
    commits: List[str] = field(default_factory=list)
    source: str = ""
    note: str = ""

    def cuda_versions(self, platform: str) -> List[str]:
        """The CUDA versions of the platform's GPU builds, oldest first ([] for a CPU-only platform)."""
        return sorted((c for c in self.platforms.get(platform, []) if c != CPU), key=lambda c: dotted(c) or ())

    def pythons(self, platform: str) -> List[str]:
        return list(self.python_by_platform.get(platform, self.python))

    def has(self, cuda: Optional[str], platform: str, python: Optional[str] = None) -> bool:
        """A build for ``platform`` with ``cuda`` ("12.9"; "12" = any 12.x; "cpu"; None = any kind) and ``python``."""
        kinds = self.platforms.get(platform)
        if not kinds:
            return False
        if python is not None and _minor(python) not in self.pythons(platform):
            return False
        if cuda is None:
            return True
        if str(cuda).strip().lower() == CPU:
            return CPU in kinds
        want = dotted(cuda)
        if want is None:
            return False
        want = want[:2]
        return any(c != CPU and (dotted(c) or ())[:len(want)] == want for c in kinds)


def _minor(python: str) -> str:
    """"3.12.4" / "3.12" / "cp312" -> "3.12"."""
    text = str(python).strip().lower()
    if text.startswith("cp") and text[2:].isdigit():
        return f"{text[2]}.{text[3:]}"
    nums = dotted(text, 2)
    return f"{nums[0]}.{nums[1]}" if nums else text


@dataclass
class CondaForgeFacts:
    """The builds of data/conda_forge.toml and the file's provenance."""

    records: List[CondaForgeBuild] = field(default_factory=list)
    #: package names and selectors (the file's [packages] table)
    packages: Dict[str, str] = field(default_factory=dict)
    recorded: str = ""
    #: the feedstock snapshot's newest commit date: builds after it are unknown
    snapshot: str = ""
    source: str = ""

    @classmethod
    def from_data(cls, data: Dict[str, Any]) -> "CondaForgeFacts":
        records = [CondaForgeBuild(**row) for row in data.get("build", [])]
        records.sort(key=lambda b: parse_version(b.version) or parse_version("0"), reverse=True)
        return cls(records=records, packages=dict(data.get("packages", {})), recorded=data.get("recorded", ""),
                   snapshot=data.get("snapshot", ""), source=data.get("source", ""))

    def builds(self) -> List[CondaForgeBuild]:
        """Every recorded version, newest first."""
        return list(self.records)

    def build(self, version: Optional[str]) -> Optional[CondaForgeBuild]:
        """The record of a pytorch version ("2.5.1", "2.5.1+cu124" -> its public part); None if conda-forge
        has no such build."""
        v = parse_version(version)
        if v is None:
            return None
        for b in self.records:
            if parse_version(b.version) == parse_version(v.public):
                return b
        return None

    def newest_with(self, cuda_major_minor: Optional[str], platform: str,
                    python: Optional[str] = None) -> Optional[CondaForgeBuild]:
        """The newest version built for ``platform`` ("linux-64") with that CUDA ("12.9"; "12" = any 12.x;
        "cpu" = a CPU build; None = any build) and, if given, that Python ("3.12")."""
        for b in self.records:
            if b.has(cuda_major_minor, platform, python):
                return b
        return None

    def cuda_versions(self, version: Optional[str], platform: str) -> List[str]:
        """The CUDA versions conda-forge built ``version`` with on ``platform``, oldest first; [] if none."""
        b = self.build(version)
        return b.cuda_versions(platform) if b else []
