"""The torch resolver: which torch build fits a machine, and why.

Picks the newest release that has a build whose CUDA the driver runs (minor-version compatibility
allowed and said so, with the strict alternative named), that carries a cubin for every GPU, and
that has wheels for the Python and OS. doctor's fixes and ``install-cmd`` both call :func:`resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .compat import CUBIN, FULL, MINOR_COMPAT, UNKNOWN, DriverSupport, arch_support, driver_support, sm_name
from ..i18n import N_, Message
from ..knowledge import Knowledge, TorchRelease, TorchVariant
from ..snapshot import Snapshot
from ..versions import dotted, in_specifier, major_minor, parse_version


@dataclass
class Target:
    """What the resolver needs to know about a machine; every field can come from flags."""

    os: str = "linux"
    arch: str = "x86_64"
    python: Optional[str] = None
    driver: Optional[str] = None
    #: the newest CUDA the driver supports, as nvidia-smi says ("13.0")
    driver_cuda: Optional[str] = None
    capabilities: List[str] = field(default_factory=list)
    gpu_names: List[str] = field(default_factory=list)
    no_gpu: bool = False
    #: keep this torch version and pair the rest
    torch: Optional[str] = None
    #: "12.6" / "cu126" / "cpu"
    cuda: Optional[str] = None


@dataclass
class Choice:
    release: TorchRelease
    variant: TorchVariant
    #: why this build, as Messages (English as str, worded by whoever shows them)
    reasons: List[Message] = field(default_factory=list)
    alternatives: List[Message] = field(default_factory=list)
    minor_compat: bool = False


class NoFit(Exception):
    """Nothing fits; ``reasons`` (Messages) say why and the way out."""

    def __init__(self, reasons: List[Message]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def target_from_snapshot(snap: Snapshot) -> Target:
    """The resolver's view of a probed machine."""
    os_name = (snap.system.os or "linux").lower()
    if os_name == "darwin":
        os_name = "macos"
    caps = [g.compute_capability for g in snap.gpus if g.compute_capability]
    if not caps:
        caps = [d.capability for d in snap.torch.devices if d.capability]
    has_nvidia = bool(snap.gpus or snap.driver.version or snap.driver.pci_devices)
    return Target(
        os=os_name,
        arch=snap.system.machine or "x86_64",
        python=major_minor(snap.python.version),
        driver=snap.driver.version,
        driver_cuda=snap.driver.cuda_version,
        capabilities=caps,
        gpu_names=[g.name for g in snap.gpus if g.name],
        no_gpu=not has_nvidia,
    )


def _python_fits(release: TorchRelease, variant: TorchVariant, python: Optional[str]) -> bool:
    if not python:
        return True
    if variant.python:
        return python in variant.python
    if release.python:
        return in_specifier(f"{python}.0", release.python) is not False
    return True


def _wanted_tag(cuda: Optional[str]) -> Optional[str]:
    if not cuda:
        return None
    low = cuda.strip().lower()
    if low == "cpu" or low.startswith("cu") or low.startswith("rocm"):
        return low
    nums = dotted(low, 2)
    return f"cu{nums[0]}{nums[1]}" if nums else low


def _cuda_variants(release: TorchRelease, os_name: str) -> List[TorchVariant]:
    found = [v for v in release.variants if v.cuda and os_name in v.os]
    return sorted(found, key=lambda v: dotted(v.cuda, 2), reverse=True)


def _covers_gpus(variant: TorchVariant, caps: List[str]) -> Tuple[bool, List[str]]:
    """(all GPUs have a cubin, the capabilities that do not); an unknown arch list covers nothing we can prove."""
    if not variant.arch_list:
        return True, []
    missing = [c for c in caps if arch_support(variant.arch_list, c) != CUBIN]
    return not missing, missing


def resolve(target: Target, knowledge: Knowledge) -> Choice:
    """The best build for ``target``; raises NoFit with reasons when none exists.

    Reasons, alternatives and no-fit reasons are Messages: the renderer words them in its reader's language.
    """
    releases = knowledge.torch_releases()
    if target.torch:
        want = parse_version(target.torch)
        releases = [r for r in releases if want is not None and parse_version(r.version) == parse_version(want.public)]
        if not releases:
            raise NoFit([Message(N_("torch {version} is not a release envcheck knows (known: {oldest} to {newest})"),
                                 version=target.torch, oldest=knowledge.torch_releases()[-1].version,
                                 newest=knowledge.torch_releases()[0].version)])
    tag = _wanted_tag(target.cuda)
    if tag and tag != "cpu" and not any(r.variant(tag) for r in releases):
        raise NoFit(_no_such_variant(tag, releases, knowledge))
    use_cpu = tag == "cpu" or (tag is None and (target.no_gpu or target.os == "macos"))
    rejected: List[Message] = []
    if use_cpu:
        for release in releases:
            variant = release.variant("cpu")
            if variant and target.os in variant.os and _python_fits(release, variant, target.python):
                why = (Message(N_("no NVIDIA GPU here")) if target.no_gpu and tag is None
                       else Message(N_("a CPU build was asked for")))
                if target.os == "macos":
                    why = Message(N_("macOS builds are CPU/MPS only"))
                return Choice(release, variant, [
                    Message(N_("torch {version} is the newest release with a CPU build for Python {python} on {os} "
                               "({why})"), version=release.version, python=target.python or Message(N_("any")),
                            os=target.os, why=why)])
        raise NoFit([Message(N_("no CPU build for Python {python} on {os} in the releases envcheck knows"),
                             python=target.python, os=target.os)])

    choice: Optional[Choice] = None
    for release in releases:
        fits = _fitting_variants(release, tag, target, knowledge, rejected)
        if not fits:
            continue
        # Within one release a build the driver fully supports beats a newer CUDA under minor-version compat.
        full = [(v, s) for v, s in fits if s.status in (FULL, UNKNOWN)]
        variant, support = (full or fits)[0]
        if choice is None:
            choice = Choice(release, variant, _reasons(release, variant, target, support.rule),
                            minor_compat=support.status == MINOR_COMPAT)
            if support.status == UNKNOWN and target.driver is None and target.driver_cuda is None:
                floor = knowledge.driver_floor(variant.cuda or "")
                need = getattr(floor, "windows" if target.os == "windows" else "linux", None) if floor else None
                choice.reasons.append(Message(N_("driver unknown: {tag} needs an NVIDIA driver >= {version}"),
                                              tag=variant.tag, version=need) if need else
                                      Message(N_("driver unknown: {tag} needs an NVIDIA driver for CUDA {cuda}"),
                                              tag=variant.tag, cuda=variant.cuda))
            if not choice.minor_compat:
                break
            choice.reasons.append(Message(N_("allowed under CUDA minor-version compatibility: the kernels shipped in "
                                             "the build run; PTX JIT and the newest CUDA APIs do not")))
        elif full:
            v = full[0][0]
            choice.alternatives.append(Message(N_("strict alternative: torch {build}, which this driver supports fully "
                                                  "(no reliance on minor-version compatibility)"),
                                               build=f"{release.version} {v.tag}"))
            break
    if choice is None:
        raise NoFit(_no_fit_reasons(target, knowledge, rejected))
    _add_alternatives(choice, knowledge, target)
    return choice


def _fitting_variants(release: TorchRelease, tag: Optional[str], target: Target, knowledge: Knowledge,
                      rejected: List[Message]) -> List[Tuple[TorchVariant, DriverSupport]]:
    """The CUDA builds of ``release`` that fit the OS, Python, GPUs and driver, newest CUDA first."""
    out = []
    candidates = [release.variant(tag)] if tag else _cuda_variants(release, target.os)
    for variant in [v for v in candidates if v is not None]:
        build = f"torch {release.version} {variant.tag}"
        if target.os not in variant.os:
            rejected.append(Message(N_("{build}: no {os} build"), build=build, os=target.os))
            continue
        if not _python_fits(release, variant, target.python):
            rejected.append(Message(N_("torch {version}: no wheel for Python {python} ({range})"),
                                    version=release.version, python=target.python, range=release.python))
            break
        covers, missing = _covers_gpus(variant, target.capabilities)
        if not covers:
            rejected.append(Message(N_("{build}: no kernel for {archs}"),
                                    build=build, archs=", ".join(sm_name(c) for c in missing)))
            continue
        support = driver_support(variant.cuda, target.driver, target.driver_cuda, knowledge, target.os)
        if support.status in (FULL, UNKNOWN, MINOR_COMPAT):
            out.append((variant, support))
        else:
            rejected.append(f"{build}: " + support.rule)
    return out


def _no_such_variant(tag: str, releases: List[TorchRelease], knowledge: Knowledge) -> List[Message]:
    """A build that never existed (cu112, pytorch-cuda=11.2): say no, and name the nearest real ones."""
    want = dotted(tag.replace("cu", ""), 3)
    published = {}
    for rel in knowledge.torch_releases():
        for v in rel.variants:
            if v.cuda:
                published.setdefault(v.tag, []).append(rel.version)
    reasons = [Message(N_("PyTorch never published a {tag} build for torch {version}"), tag=tag,
                       version=releases[0].version)
               if len(releases) == 1 else
               Message(N_("PyTorch never published a {tag} build for any torch release envcheck knows"), tag=tag)]
    if want:
        nearest = sorted(published, key=lambda t: abs(_cuda_number(t) - _cuda_number(tag)))[:3]
        for t in nearest:
            versions = published[t]
            reasons.append(Message(N_("nearest real choice: {tag} (torch {oldest} to {newest}): {option}"),
                                   tag=t, oldest=versions[-1], newest=versions[0], option=f"--cuda {t}"))
    return reasons


def _cuda_number(tag: str) -> float:
    nums = dotted(tag.replace("cu", "").strip()) or (0,)
    text = str(nums[0])
    return float(text[:-1] + "." + text[-1]) if len(text) > 1 else float(text)


def _reasons(release: TorchRelease, variant: TorchVariant, target: Target, driver_rule: str) -> List[Message]:
    reasons = [Message(N_("torch {version} is the newest release with a build that fits this machine"),
                       version=release.version)]
    if driver_rule:
        reasons.append(f"{variant.tag}: " + driver_rule)
    if variant.arch_list and target.capabilities:
        gpus = ", ".join(sorted({sm_name(c) for c in target.capabilities}))
        reasons.append(Message(N_("{tag}'s kernels ({archs}) cover {gpus}"),
                               tag=variant.tag, archs=", ".join(variant.arch_list), gpus=gpus))
    elif target.capabilities:
        reasons.append(Message(N_("{tag}'s arch list is not recorded; envcheck could not check it against the GPUs"),
                               tag=variant.tag))
    if target.python:
        reasons.append(Message(N_("wheels exist for Python {python} ({range})"),
                               python=target.python, range=release.python or Message(N_("range not recorded"))))
    return reasons


def _add_alternatives(choice: Choice, knowledge: Knowledge, target: Target) -> None:
    others = [v for v in choice.release.variants if v.tag != choice.variant.tag and target.os in v.os]
    for v in others:
        if v.cuda is None:
            continue
        support = driver_support(v.cuda, target.driver, target.driver_cuda, knowledge, target.os)
        covers = _covers_gpus(v, target.capabilities)[0]
        if support.status in (FULL, UNKNOWN) and covers:
            choice.alternatives.append(Message(N_("{build} also fits"),
                                               build=f"torch {choice.release.version} {v.tag}"))
    cpu = choice.release.variant("cpu")
    if cpu and choice.variant.tag != "cpu":
        choice.alternatives.append(Message(N_("{build}: no GPU use, smaller download"),
                                           build=f"torch {choice.release.version} cpu"))


def _no_fit_reasons(target: Target, knowledge: Knowledge, rejected: List[Message]) -> List[Message]:
    reasons: List[Message] = []
    for cc in sorted(set(target.capabilities)):
        first = None
        for release in reversed(knowledge.torch_releases()):
            for v in release.variants:
                if v.arch_list and arch_support(v.arch_list, cc) == CUBIN:
                    first = (release, v)
                    break
            if first:
                break
        if first is None:
            reasons.append(Message(N_("no known torch build has a kernel for {arch}"), arch=sm_name(cc)))
        else:
            rel, v = first
            reasons.append(Message(N_("{arch} needs torch >= {version} ({tag}), which needs Python {python} and a "
                                      "driver for CUDA {cuda}"), arch=sm_name(cc), version=rel.version, tag=v.tag,
                                   python=rel.python, cuda=v.cuda) if rel.python else
                           Message(N_("{arch} needs torch >= {version} ({tag}), which needs a driver for CUDA {cuda}"),
                                   arch=sm_name(cc), version=rel.version, tag=v.tag, cuda=v.cuda))
    reasons.extend(rejected[:8])
    if not reasons:
        reasons.append(Message(N_("no release in envcheck's data matches these constraints")))
    return reasons
