"""The torch resolver: which torch build fits a machine, and why.

Picks the newest release that has a build whose CUDA the driver runs (minor-version compatibility
allowed and said so, with the strict alternative named), that carries a cubin for every GPU, and
that has wheels for the Python and OS. doctor's fixes and ``install-cmd`` both call :func:`resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from .availability import platform_key, torch_pythons
from .compat import CUBIN, FULL, MINOR_COMPAT, UNKNOWN, DriverSupport, arch_support, driver_support, sm_name
from .packages import DEFAULT_COMPANIONS, PackageChoice, choose_packages
from ..i18n import N_, Message, data_message
from ..knowledge import Knowledge, TorchRelease, TorchVariant
from ..snapshot import Snapshot
from ..versions import dotted, in_specifier, major_minor, parse_version

#: the platforms the release data's variants (os lists, Python ranges) describe, where wheel facts are missing
_DESCRIBED_PLATFORMS = ("linux-x86_64", "windows-x86_64")
#: a mirror's constraint: True when it serves this build in full
Serves = Callable[[TorchRelease, TorchVariant], bool]


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
    #: the companions to pair ("torchvision", "torchaudio", "xformers", ...)
    companions: Tuple[str, ...] = DEFAULT_COMPANIONS
    #: AMD GPUs' ISA targets ("gfx942"): a ROCm build is wanted when there is no NVIDIA GPU
    gfx: List[str] = field(default_factory=list)
    #: an Intel GPU torch XPU can use
    xpu: bool = False
    #: the L4T release line of a Jetson board; None elsewhere
    jetson: Optional[str] = None

    @property
    def platform(self) -> str:
        """"linux-x86_64", "macos-arm64", ... (the wheel facts' key)."""
        return platform_key(self.os, self.arch)


@dataclass
class Choice:
    release: TorchRelease
    variant: TorchVariant
    #: why this build, as Messages (English as str, worded by whoever shows them)
    reasons: List[Message] = field(default_factory=list)
    alternatives: List[Message] = field(default_factory=list)
    minor_compat: bool = False
    #: torch and its companions, each with the index it comes from
    packages: List[PackageChoice] = field(default_factory=list)
    #: what was asked for (pointers such as flash-attn included)
    companions: Tuple[str, ...] = ()


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
    amd = getattr(snap, "amd", None)
    intel = getattr(snap, "intel", None)
    return Target(
        gfx=[g.gfx for g in amd.gpus if g.gfx] if amd is not None else [],
        xpu=bool(intel.gpus) if intel is not None else False,
        jetson=getattr(snap.system, "jetson", None),
        os=os_name,
        arch=snap.system.machine or "x86_64",
        python=major_minor(snap.python.version),
        driver=snap.driver.version,
        driver_cuda=snap.driver.cuda_version,
        capabilities=caps,
        gpu_names=[g.name for g in snap.gpus if g.name],
        no_gpu=not has_nvidia,
    )


def _python_fits(release: TorchRelease, variant: TorchVariant, python: Optional[str],
                 knowledge: Optional[Knowledge] = None, platform: str = "linux-x86_64") -> bool:
    """Wheels for this Python: the index's own tags when recorded, else the release's range."""
    if not python:
        return True
    if knowledge is not None:
        found = torch_pythons(knowledge, release, variant, platform)
        if found is not None:
            return python in found
        if platform not in _DESCRIBED_PLATFORMS:
            return False  # the older release data describes x86_64 builds only: unknown is not offered
    if variant.python:
        return python in variant.python
    if release.python:
        return in_specifier(f"{python}.0", release.python) is not False
    return True


def releases_matching(wanted: Optional[str], knowledge: Knowledge) -> List[TorchRelease]:
    """The releases ``--torch`` means: "2.14.1" that release, "2.14" every 2.14.x (newest first), none: all."""
    releases = knowledge.torch_releases()
    if not wanted:
        return releases
    want = parse_version(wanted)
    if want is None:
        return []
    if len(want.release) == 2:
        return [r for r in releases if dotted(r.version, 2) == tuple(want.release)]
    return [r for r in releases if parse_version(r.version) == parse_version(want.public)]


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


def resolve(target: Target, knowledge: Knowledge, serves: Optional[Serves] = None, explain: bool = True) -> Choice:
    """The best build for ``target``; raises NoFit with reasons when none exists.

    ``serves``, when given, admits only the builds a mirror serves in full. Reasons, alternatives and
    no-fit reasons are Messages: the renderer words them in its reader's language.
    """
    releases = releases_matching(target.torch, knowledge)
    if not releases:
        raise NoFit([Message(N_("torch {version} is not a release envcheck knows (known: {oldest} to {newest})"),
                             version=target.torch, oldest=knowledge.torch_releases()[-1].version,
                             newest=knowledge.torch_releases()[0].version)])
    tag = _wanted_tag(target.cuda)
    if tag and tag != "cpu" and not any(r.variant(tag) or knowledge.pytorch_index().variant(r.version, tag)
                                        for r in releases):
        raise NoFit(_no_such_variant(tag, releases, knowledge))
    if target.jetson and target.os == "linux":
        raise NoFit(_jetson(target, knowledge))
    rejected: List[Message] = []
    accelerator = _accelerator(target, tag)
    if accelerator:
        return _resolve_accelerator(target, knowledge, releases, accelerator, tag, serves, explain)
    use_cpu = tag == "cpu" or (tag is None and (target.no_gpu or target.os == "macos"))
    if use_cpu:
        return _resolve_cpu(target, knowledge, releases, tag, serves, rejected, explain)

    choice: Optional[Choice] = None
    for release in releases:
        fits = _fitting_variants(release, tag, target, knowledge, rejected, serves)
        if not fits:
            continue
        # Within one release a build the driver fully supports beats a newer CUDA under minor-version compat.
        full = [f for f in fits if f[1].status in (FULL, UNKNOWN)]
        variant, support, packages = (full or fits)[0]
        if choice is None:
            choice = Choice(release, variant, _reasons(release, variant, target, support.rule, knowledge),
                            minor_compat=support.status == MINOR_COMPAT, packages=packages)
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
        raise NoFit(_no_fit_reasons(target, knowledge, rejected, serves) if explain else [])
    _add_alternatives(choice, knowledge, target)
    choice.companions = target.companions
    return choice


def _resolve_cpu(target: Target, knowledge: Knowledge, releases: List[TorchRelease], tag: Optional[str],
                 serves: Optional[Serves], rejected: List[Message], explain: bool = True) -> Choice:
    for release in releases:
        variant = release.variant("cpu")
        if variant is None or target.os not in variant.os or (serves and not serves(release, variant)):
            continue
        packages, problems = choose_packages(knowledge, release, variant, target.platform, target.python,
                                             target.companions)
        if problems or not _python_fits(release, variant, target.python, knowledge, target.platform):
            rejected.extend(problems[:1])
            continue
        why = (Message(N_("no NVIDIA GPU here")) if target.no_gpu and tag is None
               else Message(N_("a CPU build was asked for")))
        if target.os == "macos":
            why = Message(N_("macOS builds are CPU/MPS only"))
        return Choice(release, variant, [
            Message(N_("torch {version} is the newest release with a CPU build for Python {python} on {os} "
                       "({why})"), version=release.version, python=target.python or Message(N_("any")),
                    os=target.platform, why=why)], packages=packages, companions=target.companions)
    if not explain:
        raise NoFit([])
    raise NoFit(_platform_note(target, knowledge) + _python_blocks(target, knowledge, serves) + rejected[:3] or
                [Message(N_("no CPU build for Python {python} on {os} in the releases envcheck knows"),
                         python=target.python, os=target.platform)])


def _accelerator(target: Target, tag: Optional[str]) -> Optional[str]:
    """"rocm" or "xpu" when that is what the machine (or --cuda) asks for."""
    if tag:
        return "rocm" if tag.startswith("rocm") else "xpu" if tag == "xpu" else None
    if target.capabilities or target.driver or target.os == "macos":
        return None
    if target.gfx:
        return "rocm"
    return "xpu" if target.xpu else None


def _index_variants(release: TorchRelease, knowledge: Knowledge, kind: str, platform: str) -> List[TorchVariant]:
    """The ROCm or XPU builds download.pytorch.org serves for this release on ``platform``, newest first."""
    entry = knowledge.pytorch_index().release(release.version)
    found = [TorchVariant(tag=v.tag, os=sorted({p.split("-")[0] for p in v.platforms}), arch_list=list(v.gpu_archs),
                          python=list(v.platforms.get(platform, [])))
             for v in (entry.variants if entry else []) if v.tag.startswith(kind) and platform in v.platforms]
    if not found:
        found = [v for v in release.variants if v.tag.startswith(kind)]
    return sorted(found, key=lambda v: dotted(v.tag.replace(kind, "") or "0", 3), reverse=True)


def _resolve_accelerator(target: Target, knowledge: Knowledge, releases: List[TorchRelease], kind: str,
                         tag: Optional[str], serves: Optional[Serves], explain: bool) -> Choice:
    """A ROCm build whose gfx targets cover every AMD GPU, or an XPU build: the newest that fits."""
    rejected: List[Message] = []
    for release in releases:
        for variant in _index_variants(release, knowledge, kind, target.platform):
            if (tag and variant.tag != tag) or (serves and not serves(release, variant)):
                continue
            build = f"torch {release.version} {variant.tag}"
            # a ROCm build counts only with its gfx list recorded (the releases before the index data have none)
            missing = [g for g in target.gfx if g not in variant.arch_list] if kind == "rocm" else []
            if missing:
                rejected.append(Message(N_("{build}: no kernel for {archs}"), build=build, archs=", ".join(missing)))
                continue
            packages, problems = choose_packages(knowledge, release, variant, target.platform, target.python,
                                                 target.companions)
            if problems:
                rejected.append(problems[0])
                continue
            reasons = [Message(N_("torch {version} is the newest release with a build that fits this machine"),
                               version=release.version)]
            if kind == "rocm" and target.gfx:
                reasons.append(Message(N_("{tag}'s kernels ({archs}) cover {gpus}"), tag=variant.tag,
                                       archs=", ".join(variant.arch_list) or "-", gpus=", ".join(sorted(set(target.gfx)))))
            return Choice(release, variant, reasons, packages=packages, companions=target.companions)
    if not explain:
        raise NoFit([])
    if not rejected:
        rejected.append(Message(N_("no {kind} build of the releases envcheck knows is recorded for {platform}"),
                                kind=kind.upper() if kind == "xpu" else "ROCm", platform=target.platform))
    raise NoFit(rejected[:8])


def _jetson(target: Target, knowledge: Knowledge) -> List[Message]:
    """Jetson boards run NVIDIA's JetPack builds of torch, not PyPI's or download.pytorch.org's."""
    pointer = knowledge.platform_notes().get("jetson", {})
    return [Message(N_("this is a Jetson board ({release}): PyPI's and download.pytorch.org's aarch64 wheels are "
                       "built for SBSA servers, not for Jetson; install NVIDIA's build for your JetPack: {url}"),
                    release=target.jetson, url=pointer.get("url", ""))]


def _fitting_variants(release: TorchRelease, tag: Optional[str], target: Target, knowledge: Knowledge,
                      rejected: List[Message], serves: Optional[Serves] = None,
                      ) -> List[Tuple[TorchVariant, DriverSupport, List[PackageChoice]]]:
    """The CUDA builds of ``release`` that fit the OS, Python, GPUs and driver, newest CUDA first."""
    out = []
    candidates = [release.variant(tag)] if tag else _cuda_variants(release, target.os)
    for variant in [v for v in candidates if v is not None]:
        build = f"torch {release.version} {variant.tag}"
        if target.os not in variant.os:
            rejected.append(Message(N_("{build}: no {os} build"), build=build, os=target.os))
            continue
        if serves is not None and not serves(release, variant):
            continue
        packages, problems = choose_packages(knowledge, release, variant, target.platform, target.python,
                                             target.companions)
        if problems:
            rejected.append(problems[0])
            continue
        if not _python_fits(release, variant, target.python, knowledge, target.platform):
            rejected.append(Message(N_("torch {version}: no wheel for Python {python} ({range})"),
                                    version=release.version, python=target.python, range=release.python))
            continue
        covers, missing = _covers_gpus(variant, target.capabilities)
        if not covers:
            rejected.append(Message(N_("{build}: no kernel for {archs}"),
                                    build=build, archs=", ".join(sm_name(c) for c in missing)))
            continue
        support = driver_support(variant.cuda, target.driver, target.driver_cuda, knowledge, target.os)
        if support.status in (FULL, UNKNOWN, MINOR_COMPAT):
            out.append((variant, support, packages))
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


def _reasons(release: TorchRelease, variant: TorchVariant, target: Target, driver_rule: str,
             knowledge: Optional[Knowledge] = None) -> List[Message]:
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
        pythons = torch_pythons(knowledge, release, variant, target.platform) if knowledge else None
        if pythons:
            reasons.append(Message(N_("wheels exist for Python {python} on {platform} ({pythons})"),
                                   python=target.python, platform=target.platform, pythons=", ".join(pythons)))
        else:
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


def _no_fit_reasons(target: Target, knowledge: Knowledge, rejected: List[Message],
                    serves: Optional[Serves] = None) -> List[Message]:
    """Why nothing fits, what blocks most first: a GPU this driver cannot run at all, then the driver
    (with the driver that would do and the build it would then get), then the Python, then the GPUs'
    kernels, then what each build was rejected for."""
    reasons = _platform_note(target, knowledge) + _impossible(target, knowledge) + _driver_blocks(target, knowledge, serves)
    reasons += _python_blocks(target, knowledge, serves)
    if not reasons and target.python and (target.driver or target.driver_cuda):
        both = _fits(target, knowledge, serves, python=None, driver=None, driver_cuda=None)
        if both is not None:
            reasons.append(Message(N_("both the driver and the Python block: torch {build} fits with a driver >= "
                                      "{floor} and Python {range}"), build=f"{both.release.version} {both.variant.tag}",
                                   floor=_floor_for(knowledge, both.variant.cuda, target.os),
                                   range=both.release.python))
    lead = bool(reasons)
    if not lead:
        reasons += _arch_blocks(target, knowledge)
    seen = {str(r) for r in reasons}
    for r in rejected:
        if str(r) not in seen and len(reasons) < (len(seen) + (3 if lead else 8)):
            seen.add(str(r))
            reasons.append(r)
    if not reasons:
        reasons.append(Message(N_("no release in envcheck's data matches these constraints")))
    return reasons


def _platform_note(target: Target, knowledge: Knowledge) -> List[Message]:
    """A platform no release serves (Windows on ARM) says so, with what to do, before any other reason."""
    note = knowledge.platform_notes().get(target.platform, {}).get("no_release")
    return [Message(N_("{platform}: {note}"), platform=target.platform, note=data_message(note))] if note else []


def _fits(target: Target, knowledge: Knowledge, serves: Optional[Serves], **changes: object) -> Optional[Choice]:
    """The resolver's choice with some constraints lifted, or None."""
    from dataclasses import replace

    try:
        return resolve(replace(target, **changes), knowledge, serves, explain=False)
    except NoFit:
        return None


def _floor_for(knowledge: Knowledge, cuda: Optional[str], os_name: str) -> Optional[str]:
    floor = knowledge.driver_floor(cuda or "")
    return getattr(floor, "windows" if os_name == "windows" else "linux", None) if floor else None


def _impossible(target: Target, knowledge: Knowledge) -> List[Message]:
    """A GPU newer than anything this driver's CUDA can compile for: no torch build will ever run it."""
    if not target.driver or not target.capabilities:
        return []
    out = []
    for cc in sorted(set(target.capabilities)):
        first = knowledge.cuda_first_for_arch(sm_name(cc))
        need = _floor_for(knowledge, first, target.os)
        if first and need and dotted(target.driver) < dotted(need):
            out.append(Message(N_("driver {driver} cannot run a {arch} GPU at all: {arch} needs CUDA >= {cuda}, "
                                  "that is a driver >= {floor}"), driver=target.driver, arch=sm_name(cc), cuda=first,
                               floor=need))
    return out


def _driver_blocks(target: Target, knowledge: Knowledge, serves: Optional[Serves]) -> List[Message]:
    """When only the driver blocks: the driver to install, how, and the build that would then fit."""
    if not (target.driver or target.driver_cuda):
        return []
    relaxed = _fits(target, knowledge, serves, driver=None, driver_cuda=None)
    if relaxed is None:
        return []
    need = _floor_for(knowledge, relaxed.variant.cuda, target.os)
    if need is None:
        return []
    branch = need.split(".")[0]
    upgrade = knowledge.driver_upgrade()
    how = upgrade.get("windows" if target.os == "windows" else "linux", "")
    out = [Message(N_("upgrade the NVIDIA driver to >= {floor} (this one is {driver}): then torch {build} fits"),
                   floor=need, driver=target.driver or target.driver_cuda,
                   build=f"{relaxed.release.version} {relaxed.variant.tag}")]
    if how:
        out.append(Message(N_("to upgrade the driver: {command}"), command=how.format(branch=branch)))
    return out


def _python_blocks(target: Target, knowledge: Knowledge, serves: Optional[Serves]) -> List[Message]:
    """When only the Python blocks: the nearest Python some build that fits has wheels for."""
    if not target.python or _fits(target, knowledge, serves, python=None) is None:
        return []
    have = dotted(target.python)
    for step in range(1, 12):
        for minor in (have[1] - step, have[1] + step):
            if minor < 0:
                continue
            python = f"{have[0]}.{minor}"
            found = _fits(target, knowledge, serves, python=python)
            if found is None:
                continue
            build = f"{found.release.version} {found.variant.tag}"
            if minor < have[1]:
                return [Message(N_("Python {python} is newer than any build that fits: the newest Python with wheels "
                                   "is {newest} (torch {build})"), python=target.python, newest=python, build=build)]
            return [Message(N_("Python {python} is older than any build that fits: the oldest Python with wheels is "
                               "{oldest} (torch {build})"), python=target.python, oldest=python, build=build)]
    return []


def _arch_blocks(target: Target, knowledge: Knowledge) -> List[Message]:
    """For each GPU no build of the asked-for releases has a kernel for: the first torch that does."""
    reasons: List[Message] = []
    asked = releases_matching(target.torch, knowledge)
    for cc in sorted(set(target.capabilities)):
        if any(v.arch_list and arch_support(v.arch_list, cc) == CUBIN for r in asked for v in r.variants):
            continue
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
    return reasons
