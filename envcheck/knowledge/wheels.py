"""Which CPython minors each torch-family release has PyPI wheels for, per platform (``data/wheels.json``).

install-cmd asks this before it names a version: a ``pip install torchaudio==2.11.0`` on Python 3.15
finds no wheel and falls back to building the sdist, so "is there a wheel here" is a fact to look up,
not to guess. The file is derived from PyPI by ``python -m envcheck.knowledge.refresh_wheels``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..versions import parse_version

#: the platform keys wheels.json records
PLATFORMS = ("linux-x86_64", "linux-aarch64", "windows-x86_64", "windows-arm64", "macos-arm64", "macos-x86_64")
_OS = {"linux": "linux", "windows": "windows", "win32": "windows", "win": "windows", "nt": "windows",
       "macos": "macos", "darwin": "macos", "mac": "macos", "osx": "macos"}
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass
class WheelRelease:
    """One release of one package as PyPI serves it."""

    package: str
    version: str
    #: first upload (YYYY-MM-DD)
    date: Optional[str]
    requires_python: Optional[str]
    #: the torch requirement of its Linux x86_64 wheel ("==2.15.0", ">=2.11"); None when it names none
    torch_requirement: Optional[str]
    #: platform key -> CPython minors with a regular (not free-threaded) wheel
    platforms: Dict[str, List[str]] = field(default_factory=dict)
    #: torch only: platform key -> the build PyPI serves there ("cu132", "cpu")
    builds: Dict[str, str] = field(default_factory=dict)


@dataclass
class WheelFacts:
    """wheels.json: per package, per release, the wheels PyPI has."""

    generated: str
    sources: List[str] = field(default_factory=list)
    packages: Dict[str, Dict[str, WheelRelease]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict) -> "WheelFacts":
        packages: Dict[str, Dict[str, WheelRelease]] = {}
        for name, releases in (data.get("packages") or {}).items():
            packages[name] = {
                version: WheelRelease(package=name, version=version, date=row.get("date"),
                                      requires_python=row.get("requires_python"),
                                      torch_requirement=row.get("torch"),
                                      platforms={k: list(v) for k, v in (row.get("platforms") or {}).items()},
                                      builds=dict(row.get("builds") or {}))
                for version, row in releases.items()}
        return cls(generated=str(data.get("generated") or ""), sources=list(data.get("sources") or []),
                   packages=packages)

    def release(self, package: str, version: str) -> Optional[WheelRelease]:
        """The release of ``package`` (``version`` as PyPI spells it, or any equal spelling: "2.15" = "2.15.0")."""
        releases = self.packages.get(package.lower(), {})
        if version in releases:
            return releases[version]
        want = parse_version(version)
        if want is None:
            return None
        return next((r for v, r in releases.items() if parse_version(v) == parse_version(want.public)), None)

    def releases(self, package: str) -> List[WheelRelease]:
        """Every recorded release of ``package``, newest first."""
        return sorted(self.packages.get(package.lower(), {}).values(),
                      key=lambda r: parse_version(r.version) or parse_version("0"), reverse=True)

    def pythons(self, package: str, version: str, platform: str) -> Optional[List[str]]:
        """The CPython minors with a wheel of ``package==version`` on ``platform``: None when the release or the
        platform is not recorded, [] when PyPI has no wheel for that platform."""
        rel = self.release(package, version)
        if rel is None or platform not in PLATFORMS:
            return None
        return list(rel.platforms.get(platform, []))

    @staticmethod
    def platform_key(os_name: str, arch: str) -> str:
        """("linux", "aarch64") -> "linux-aarch64", ("Windows", "AMD64") -> "windows-x86_64",
        ("darwin", "arm64") -> "macos-arm64"; an unknown arch stays as given (lower case), which no release
        records; an unknown OS is a ValueError."""
        os_key = _OS.get((os_name or "").strip().lower())
        if os_key is None:
            raise ValueError(f"unknown OS {os_name!r} (linux, windows or macos)")
        raw = (arch or "").strip().lower()
        machine = _ARCH.get(raw, raw)
        if os_key == "linux" and machine == "arm64":
            machine = "aarch64"
        return f"{os_key}-{machine}"
