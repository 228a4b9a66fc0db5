"""Where a package of one torch build can come from, and for which Pythons: the two indexes' own facts.

PyPI's facts (``wheels.json``: the wheel tags of every release per platform, and which build PyPI
serves there) and download.pytorch.org's (``pytorch_index.json``: per release and variant, the
platforms, Pythons and packages that index carries). ``None`` means the data does not say, never
"no": the resolver then falls back to the release data's own Python range.
"""

from __future__ import annotations

from typing import List, Optional

from ..knowledge import Knowledge, TorchRelease, TorchVariant

def platform_key(os_name: str, arch: str) -> str:
    """"linux-x86_64", "linux-aarch64", "windows-x86_64", "windows-arm64", "macos-arm64", "macos-x86_64"
    (the wheel facts' own key); an OS they do not know keeps its name, and no release records it."""
    from ..knowledge.wheels import WheelFacts

    try:
        return WheelFacts.platform_key(os_name, arch or "x86_64")
    except ValueError:
        return f"{(os_name or '').lower()}-{(arch or 'x86_64').lower()}"


def pypi_build(knowledge: Knowledge, version: str, platform: str) -> Optional[str]:
    """The torch build ``pip install torch==version`` gets from PyPI on ``platform`` ("cu132", "cpu"), or None."""
    rel = knowledge.wheel_facts().release("torch", version)
    if rel is None:
        return None
    return rel.builds.get(platform)


def pypi_pythons(knowledge: Knowledge, package: str, version: str, platform: str) -> Optional[List[str]]:
    """The CPython minors PyPI has a ``package==version`` wheel for on ``platform``; None when not recorded."""
    return knowledge.wheel_facts().pythons(package, version, platform)


def index_pythons(knowledge: Knowledge, release: TorchRelease, variant: TorchVariant, platform: str) -> Optional[List[str]]:
    """The Pythons download.pytorch.org/whl/<tag> has torch wheels for on ``platform``; None when not recorded."""
    entry = knowledge.pytorch_index().variant(release.version, variant.tag)
    if entry is None:  # not recorded: the variant list of a release may be incomplete, so not "no"
        return None
    if platform in entry.unknown_platforms:
        return None
    return [p for p in entry.platforms.get(platform, []) if not p.endswith("t")]


def index_package(knowledge: Knowledge, release: TorchRelease, variant: TorchVariant, package: str,
                  platform: str = "linux-x86_64") -> Optional[str]:
    """The version of ``package`` the build's index carries for ``platform`` ("0.29.2"), "" when it carries
    none, None when not recorded."""
    entry = knowledge.pytorch_index().variant(release.version, variant.tag)
    if entry is None or platform in entry.unknown_platforms:
        return None
    return entry.packages.get(package, "") if entry.package_on(package, platform) else ""


def on_pypi(knowledge: Knowledge, release: TorchRelease, variant: TorchVariant, platform: str) -> bool:
    """True when plain PyPI serves exactly this build on this platform."""
    build = pypi_build(knowledge, release.version, platform)
    if build is not None:
        return build == variant.tag
    os_name = platform.split("-")[0]
    if os_name == "linux":
        return variant.pypi_default and platform == "linux-x86_64"
    return variant.tag == "cpu"


def torch_pythons(knowledge: Knowledge, release: TorchRelease, variant: TorchVariant,
                  platform: str) -> Optional[List[str]]:
    """The Pythons torch wheels of this build exist for on ``platform``: PyPI's tags where PyPI serves the
    build there (that is the command printed), else the torch index's; None when that is not recorded."""
    if on_pypi(knowledge, release, variant, platform):
        return pypi_pythons(knowledge, "torch", release.version, platform)
    return index_pythons(knowledge, release, variant, platform)
