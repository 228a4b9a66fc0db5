"""Which torch companions go with a build, in which version, and from which index.

A companion's version comes from the release data's pairing (exact pins first, see
``knowledge/refresh.py``); its index is the torch build's (PyPI when PyPI serves that build on the
platform, else download.pytorch.org/whl/<tag>), unless that index does not carry it: then PyPI, when
PyPI has a wheel for the platform and Python, said so. A companion with no wheel for the Python, or no
release that pairs with the torch, makes the build not fit, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..i18n import N_, Message
from ..knowledge import Knowledge, TorchRelease, TorchVariant
from .availability import index_package, on_pypi, pypi_build, pypi_pythons, torch_pythons

#: every companion install-cmd can pair, in the order commands name them
COMPANIONS = ("torchvision", "torchaudio", "xformers", "torchao", "torchcodec")
#: asked for with --with but never pinned: install-cmd points at their prebuilt wheels instead
POINTERS = ("flash-attn",)
#: what a plan holds when nothing is asked for: torchaudio is opt-in, as on pytorch.org since August 2025
DEFAULT_COMPANIONS = ("torchvision",)
#: the packages the PyTorch index data records per variant; for the others it says nothing
INDEX_TRACKED = ("torch", "torchvision", "torchaudio")

PYPI = "pypi"
PYTORCH = "pytorch"


@dataclass
class PackageChoice:
    name: str
    version: str
    #: pypi | pytorch (download.pytorch.org/whl/<tag>, or a mirror of it)
    index: str
    #: why it comes from there, when that is not the obvious index (a Message)
    note: Optional[Message] = None


def companion_version(release: TorchRelease, name: str) -> Optional[str]:
    """The release of ``name`` paired with this torch release, or None."""
    if name in release.companions:
        return release.companions[name]
    return getattr(release, name, None) if name in ("torchvision", "torchaudio") else None


def _python_problem(name: str, version: str, python: Optional[str], pythons: Optional[List[str]],
                    platform: str) -> Optional[Message]:
    if pythons is None:
        return None
    if not pythons:
        return Message(N_("{package} {version}: no wheel for {platform}"), package=name, version=version,
                       platform=platform)
    if python and python not in pythons:
        return Message(N_("{package} {version}: no wheel for Python {python} on {platform} (wheels for {pythons})"),
                       package=name, version=version, python=python, platform=platform, pythons=", ".join(pythons))
    return None


def choose_packages(knowledge: Knowledge, release: TorchRelease, variant: TorchVariant, platform: str,
                    python: Optional[str], companions: Tuple[str, ...]) -> Tuple[List[PackageChoice], List[Message]]:
    """torch and the companions asked for, each with its index; the problems that make this build not fit."""
    problems: List[Message] = []
    pypi_serves = on_pypi(knowledge, release, variant, platform)
    torch_index = PYPI if pypi_serves else PYTORCH
    problem = _python_problem("torch", f"{release.version} {variant.tag}", python,
                              torch_pythons(knowledge, release, variant, platform), platform)
    if problem is not None:
        problems.append(problem)
    out = [PackageChoice("torch", release.version, torch_index)]
    for name in [c for c in companions if c not in POINTERS]:
        version = companion_version(release, name)
        if not version:
            problems.append(Message(N_("no {package} release pairs with torch {version}"), package=name,
                                    version=release.version))
            continue
        choice, problem = _companion(knowledge, release, variant, platform, python, name, version, pypi_serves)
        if problem is not None:
            problems.append(problem)
        elif choice is not None:
            out.append(choice)
    return out, problems


def _pypi_build_matches(knowledge: Knowledge, release: TorchRelease, variant: TorchVariant, platform: str) -> bool:
    """PyPI's companions on ``platform`` are built for PyPI's torch there: usable beside this build only when that
    is the same build, or a CUDA build of the same CUDA major (torchvision and torchaudio check the major only).
    A CPU torch beside PyPI's CUDA-built torchvision fails ("operator torchvision::nms does not exist")."""
    build = pypi_build(knowledge, release.version, platform)
    if build is None:
        return False
    if build == variant.tag:
        return True
    return bool(variant.cuda) and build.startswith("cu") and build[2:4] == variant.tag[2:4] and len(build) == len(variant.tag)


def _pins_torch(knowledge: Knowledge, name: str, version: str) -> bool:
    """True when the companion's wheel pins an exact torch (``torch==2.5.1``), or its pin is not recorded."""
    rel = knowledge.wheel_facts().release(name, version)
    if rel is None:
        return True
    return (rel.torch_requirement or "").startswith("==")


def _companion(knowledge: Knowledge, release: TorchRelease, variant: TorchVariant, platform: str,
               python: Optional[str], name: str, version: str,
               pypi_serves: bool) -> Tuple[Optional[PackageChoice], Optional[Message]]:
    if pypi_serves:
        problem = _python_problem(name, version, python, pypi_pythons(knowledge, name, version, platform), platform)
        return (None, problem) if problem else (PackageChoice(name, version, PYPI), None)
    carried = index_package(knowledge, release, variant, name, platform) if name in INDEX_TRACKED else None
    if carried is None and not _pins_torch(knowledge, name, version) and _pypi_build_matches(knowledge, release,
                                                                                               variant, platform):
        # Not recorded for this index, and the companion does not pin one torch build (it is built on
        # torch's stable ABI): PyPI's wheel is the one known to exist.
        pythons = pypi_pythons(knowledge, name, version, platform)
        if pythons and (python is None or python in pythons):
            return PackageChoice(name, version, PYPI, Message(
                N_("{package} {version} comes from PyPI: it pins no torch build, and whether the {tag} index has it "
                   "is not recorded"), package=name, version=version, tag=variant.tag)), None
    if carried is None or carried == version:
        return PackageChoice(name, version, PYTORCH), None
    if carried:
        return PackageChoice(name, carried, PYTORCH, Message(
            N_("the {tag} index carries {package} {carried}, not {version}: {carried} is the one that installs there"),
            tag=variant.tag, package=name, carried=carried, version=version)), None
    pythons = pypi_pythons(knowledge, name, version, platform)
    if pythons and (python is None or python in pythons) and _pypi_build_matches(knowledge, release, variant, platform):
        return PackageChoice(name, version, PYPI, Message(
            N_("{package} {version} comes from PyPI: the {tag} index carries no {package}"),
            package=name, version=version, tag=variant.tag)), None
    return None, Message(N_("{package}: neither the {tag} index nor PyPI has a wheel of {version} for {platform}"),
                         package=name, tag=variant.tag, version=version, platform=platform)
