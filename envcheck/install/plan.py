"""install-cmd's core: from the resolver's choice to exact pip / uv / conda commands, mirrors included.

Every command names exact pins (torch and the companions paired with it) and the index each comes
from (:mod:`envcheck.install.spec`). Mirrors are used only where they really carry the build: a
PyPI mirror for PyPI's own build, a PyTorch wheel mirror with the flags its layout needs, else the
official index, said so. Nothing here invents a URL: every one comes from the mirrors/ data. One
line per manager: with a mirror named, each manager's line goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ..i18n import N_, Message, data_message, join
from ..knowledge import CondaFacts, Knowledge, Mirror, TorchRelease, TorchVariant
from .availability import on_pypi, platform_key
from .commands import PYTORCH_INDEX
from .packages import DEFAULT_COMPANIONS, PYPI, PackageChoice, companion_version
from .resolve import Choice
from .spec import FIND_LINKS, INDEX, PYPI_SIMPLE, InstallSpec, Pin, Source, needs_best_match, pip_line


@dataclass
class Command:
    manager: str
    mirror: Optional[str]
    command: str
    #: what this command is and why (a Message: the English as str, worded where shown)
    note: str = ""


@dataclass
class Plan:
    torch: str
    torchvision: Optional[str]
    torchaudio: Optional[str]
    variant: str
    commands: List[Command] = field(default_factory=list)
    #: Messages, worded by the renderer; their str is the English that JSON carries
    reasons: List[Message] = field(default_factory=list)
    alternatives: List[Message] = field(default_factory=list)
    warnings: List[Message] = field(default_factory=list)
    #: the pins and their indexes the pip / uv lines are written from (requirements, uv project, pip.conf)
    spec: Optional[InstallSpec] = None
    #: every package pinned, with its version ({"torch": "2.15.0", "torchvision": "0.29.2"})
    packages: dict = field(default_factory=dict)

    def to_data(self) -> dict:
        """The plan as JSON data: English texts, whatever the reader's language (scripts read them)."""
        data = {
            "torch": self.torch, "torchvision": self.torchvision, "torchaudio": self.torchaudio,
            "variant": self.variant, "packages": dict(self.packages),
            "commands": [{"manager": c.manager, "mirror": c.mirror, "command": c.command, "note": str(c.note)}
                         for c in self.commands],
            "reasons": [str(r) for r in self.reasons], "alternatives": [str(a) for a in self.alternatives],
            "warnings": [str(w) for w in self.warnings],
        }
        if self.spec is not None:
            data["indexes"] = [{"url": s.url, "layout": s.layout, "packages": self.spec.by_source().get(s, [])}
                               for s in self.spec.sources()]
        return data


def choice_packages(choice: Choice, platform: str, knowledge: Knowledge) -> List[PackageChoice]:
    """The resolver's packages, or (for a Choice made by hand) torch and the default companions."""
    if choice.packages:
        return choice.packages
    index = PYPI if on_pypi(knowledge, choice.release, choice.variant, platform) else "pytorch"
    out = [PackageChoice("torch", choice.release.version, index)]
    for name in DEFAULT_COMPANIONS:
        version = companion_version(choice.release, name)
        if version:
            out.append(PackageChoice(name, version, index))
    return out


# --------------------------------------------------------------------------- specs: pins and indexes


def _torch_index(variant: TorchVariant) -> Source:
    return Source(f"{PYTORCH_INDEX}/{variant.tag}", INDEX, f"pytorch-{variant.tag}")


def official_spec(packages: List[PackageChoice], variant: TorchVariant) -> InstallSpec:
    """The official route: PyPI for what PyPI serves, download.pytorch.org/whl/<tag> for the rest."""
    pypi = Source(PYPI_SIMPLE)
    torch_index = _torch_index(variant)
    pins = [Pin(p.name, p.version, pypi if p.index == PYPI else torch_index, _local(p, variant)) for p in packages]
    from_index = [p for p in pins if p.source == torch_index]
    base = torch_index if from_index and len(from_index) == len(pins) else pypi
    return InstallSpec(pins, base)


def _local(package: PackageChoice, variant: TorchVariant) -> Optional[str]:
    """The local tag a torch-index wheel carries ("cu130", "cpu"); PyPI's wheels carry none."""
    return variant.tag if package.index != PYPI else None


def mirror_spec(packages: List[PackageChoice], variant: TorchVariant, mirror: Mirror) -> Optional[InstallSpec]:
    """The same pins through a mirror: its PyPI for PyPI's packages and the dependencies, its wheel mirror
    for the torch index's when it carries the variant, else the official torch index. None: no route."""
    pypi = Source(mirror.pypi, INDEX, mirror.name) if mirror.pypi else Source(PYPI_SIMPLE)
    torch_source = _torch_index(variant)
    # only a variant the mirror is recorded to carry: a list that is not verified says nothing of the others
    if mirror.torch_wheels and mirror.carries_variant(variant.tag) is True:
        url = f"{mirror.torch_wheels.rstrip('/')}/{variant.tag}"
        layout = FIND_LINKS if mirror.torch_wheels_layout == "find-links" else INDEX
        torch_source = Source(url, layout, f"{mirror.name}-{variant.tag}")
    pins = [Pin(p.name, p.version, pypi if p.index == PYPI else torch_source, _local(p, variant)) for p in packages]
    from_index = [p for p in pins if p.source == torch_source]
    if not from_index and not mirror.pypi:
        return None
    own_deps = torch_source.layout == INDEX and torch_source.name != f"pytorch-{variant.tag}" and \
        mirror.torch_wheels_mirrors_deps is True
    base = torch_source if from_index and len(from_index) == len(pins) and own_deps else pypi
    return InstallSpec(pins, base, mirror=mirror.name)


def describe_sources(spec: InstallSpec, installer: str, cuda: bool = True) -> Message:
    """Which packages come from which index, the nvidia-* libraries and other dependencies included."""
    parts = [Message(N_("{packages} from {index}"), packages=", ".join(names), index=source.url)
             for source, names in spec.by_source().items()]
    extras = [s for s in spec.sources() if s != spec.base and s.layout == INDEX]
    if not cuda:
        deps = Message(N_("dependencies from {indexes}"),
                       indexes=" / ".join(s.url for s in spec.sources() if s.layout == INDEX))
    elif not extras:
        deps = Message(N_("dependencies (nvidia-* libraries included) from {index}"), index=spec.base.url)
    elif installer.startswith("uv") and not needs_best_match(spec):
        # uv asks the extra index first and stops at the first that has a package: the torch index has them
        deps = Message(N_("with uv the dependencies, nvidia-* libraries included (about 3 GB for a CUDA build), come "
                          "from {index}, the first index that has them"), index=extras[0].url)
    else:
        deps = Message(N_("dependencies (nvidia-* libraries included) from whichever of {indexes} has the pinned "
                          "version"), indexes=" / ".join(s.url for s in spec.sources() if s.layout == INDEX))
    return join("; ", parts + [deps])


# --------------------------------------------------------------------------- commands per manager


def _spec_commands(manager: str, spec: InstallSpec, official: bool, variant: TorchVariant,
                   mirror: Optional[Mirror]) -> Command:
    installer = "uv pip install" if manager == "uv" else "pip install"
    if official:
        title = Message(N_("official: PyPI")) if spec.base.is_pypi and not spec.mixed() else \
            Message(N_("official PyTorch index ({tag})"), tag=variant.tag)
    else:
        title = data_message(mirror.title) if mirror else Message(N_("official: PyPI"))
    note = Message(N_("{title}: {sources}"), title=title, sources=describe_sources(spec, installer, bool(variant.cuda)))
    return Command(manager, None if official else spec.mirror, pip_line(spec, installer), note)


def conda_commands(release: TorchRelease, variant: TorchVariant, os_name: str, mirror: Optional[Mirror],
                   facts: Optional[CondaFacts] = None, knowledge: Optional[Knowledge] = None,
                   arch: str = "x86_64", python: Optional[str] = None,
                   packages: Optional[List[PackageChoice]] = None) -> List[Command]:
    """conda: the official pytorch channel up to its last release (conda.toml), else conda-forge's own
    build when its data has one of this CUDA for the platform; otherwise no conda line (pip in the env)."""
    knowledge = knowledge or Knowledge()
    facts = facts or knowledge.conda_facts()
    entry = facts.release(release.version)
    if packages is None:
        packages = [PackageChoice("torch", release.version, PYPI)] + [
            PackageChoice(n, v, PYPI) for n in ("torchvision", "torchaudio") if (v := companion_version(release, n))]
    channel_packages = ("torch", "torchvision", "torchaudio")
    pins = " ".join(f"{'pytorch' if p.name == 'torch' else p.name}=={p.version}" for p in packages
                    if p.name in channel_packages)
    if entry is not None and (variant.tag == "cpu" or variant.cuda in entry.cuda):
        pytorch_channel = "pytorch"
        if mirror and "pytorch" in mirror.conda_channels:
            pytorch_channel = mirror.conda_channels["pytorch"]
        if variant.tag == "cpu":
            # cpuonly keeps conda from pulling a CUDA build; macOS builds are CPU/MPS anyway and have no cpuonly
            selector = "" if os_name == "macos" else " cpuonly"
            cmd = f"conda install {pins}{selector} -c {pytorch_channel}"
            note = Message(N_("the official pytorch channel, CPU build"))
        else:
            channels = [pytorch_channel if c == "pytorch" else c
                        for c in entry.channels + entry.extra_channels.get(variant.cuda or "", [])]
            cmd = f"conda install {pins} {entry.selector}={variant.cuda} " + " ".join(f"-c {c}" for c in channels)
            note = (Message(N_("the official pytorch + nvidia channels")) if entry.selector == "pytorch-cuda"
                    else Message(N_("the official pytorch channel (before 1.13 CUDA came as cudatoolkit)")))
        if mirror and pytorch_channel != "pytorch":
            note = Message(N_("{mirror} hosts the pytorch channel; the nvidia channel is not mirrored there and comes "
                              "from anaconda.org"), mirror=data_message(mirror.title))
        return [Command("conda", mirror.name if mirror and pytorch_channel != "pytorch" else None, cmd, note)]
    return _conda_forge(release, variant, os_name, mirror, knowledge, arch, python)


_CONDA_PLATFORMS = {"linux-x86_64": "linux-64", "linux-aarch64": "linux-aarch64", "windows-x86_64": "win-64",
                    "macos-arm64": "osx-arm64", "macos-x86_64": "osx-64"}


def _conda_forge(release: TorchRelease, variant: TorchVariant, os_name: str, mirror: Optional[Mirror],
                 knowledge: Knowledge, arch: str, python: Optional[str]) -> List[Command]:
    """conda-forge's own pytorch of the same version and CUDA, only where its recorded builds have it."""
    loader = getattr(knowledge, "conda_forge", None)
    if loader is None:
        return []
    platform = _CONDA_PLATFORMS.get(platform_key(os_name, arch))
    build = loader().build(release.version) if platform else None
    if build is None:
        return []
    cudas = build.platforms.get(platform, [])
    want = variant.cuda or "cpu"
    if want not in cudas or (python and build.python and python not in build.python):
        return []
    forge = "conda-forge"
    if mirror and "conda-forge" in mirror.conda_channels:
        forge = mirror.conda_channels["conda-forge"]
    if variant.cuda:
        cmd = f'conda install -c {forge} "pytorch={release.version}=*cuda*" "cuda-version={variant.cuda}"'
        note = Message(N_("conda-forge's own build of torch {version} with CUDA {cuda} (recorded in its data); "
                          "torchvision from conda-forge separately"), version=release.version, cuda=variant.cuda)
    else:
        cmd = f'conda install -c {forge} "pytorch={release.version}=*cpu*"'
        note = Message(N_("conda-forge's own CPU build of torch {version}"), version=release.version)
    return [Command("conda", mirror.name if forge != "conda-forge" else None, cmd, note)]


# --------------------------------------------------------------------------- the plan


def make_plan(choice: Choice, os_name: str, managers: List[str], mirror: Optional[Mirror],
              arch: str = "x86_64", conda: Optional[CondaFacts] = None, knowledge: Optional[Knowledge] = None,
              python: Optional[str] = None, every_mirror: bool = False) -> Plan:
    """Commands for every manager asked for, one line each (through the mirror when one is named);
    reasons, notes and warnings as Messages, worded by the renderer or as English in JSON."""
    knowledge = knowledge or Knowledge()
    rel, var = choice.release, choice.variant
    platform = platform_key(os_name, arch)
    packages = choice_packages(choice, platform, knowledge)
    versions = {p.name: p.version for p in packages}
    plan = Plan(torch=rel.version, torchvision=versions.get("torchvision"), torchaudio=versions.get("torchaudio"),
                variant=var.tag, reasons=list(choice.reasons), alternatives=list(choice.alternatives),
                packages=versions)
    plan.reasons += [p.note for p in packages if p.note is not None]
    spec = official_spec(packages, var)
    official = True
    if mirror is not None and not mirror.official:
        routed = mirror_spec(packages, var, mirror)
        if routed is not None:
            spec, official = routed, False
    plan.spec = spec
    for manager in managers:
        if manager in ("pip", "uv"):
            plan.commands.append(_spec_commands(manager, spec, official, var, mirror))
        elif manager == "conda":
            plan.commands.extend(conda_commands(rel, var, os_name, mirror, facts=conda, knowledge=knowledge,
                                                arch=arch, python=python, packages=packages))
    if every_mirror:
        for other in knowledge.mirrors():
            routed = mirror_spec(packages, var, other) if not other.official and other is not mirror else None
            for manager in [m for m in managers if m in ("pip", "uv")] if routed else []:
                plan.commands.append(_spec_commands(manager, routed, False, var, other))
    _dedupe(plan)
    if "flash-attn" in choice.companions:
        plan.alternatives.append(flash_attn_pointer(rel, var, platform, python, knowledge))
    if "conda" in managers and not any(c.manager == "conda" for c in plan.commands):
        plan.warnings.append(Message(N_("conda: no conda package of torch {build} is recorded (the pytorch channel "
                                        "ends at {last}); inside the activated conda env, use the pip line"),
                                     build=f"{rel.version} {var.tag}",
                                     last=(conda or knowledge.conda_facts()).pytorch_channel_last))
    if mirror is not None and not official and any(p.source.url.startswith(PYTORCH_INDEX) for p in spec.pins):
        plan.warnings.append(Message(N_("{mirror} has no copy of the {tag} build: torch comes from the official "
                                        "index ({index}), the rest from the mirror"),
                                     mirror=data_message(mirror.title), tag=var.tag, index=f"{PYTORCH_INDEX}/{var.tag}"))
    if mirror is not None and spec.mixed():
        plan.warnings.append(Message(N_("Give pip one -i/--index-url only: given twice, the last one wins silently. "
                                        "Keep a mirror with --extra-index-url instead.")))
    return plan


def flash_attn_pointer(release: TorchRelease, variant: TorchVariant, platform: str, python: Optional[str],
                       knowledge: Knowledge) -> Message:
    """flash-attn is never pinned: its prebuilt wheel for this torch/CUDA/Python when one is published, else how
    it builds (flash-attn's wheels are Linux x86_64 only, from its GitHub releases)."""
    minor = ".".join(release.version.split(".")[:2])
    wheel = None
    if variant.cuda and python and platform == "linux-x86_64":
        wheel = knowledge.flash_attn().wheel_for(minor, variant.cuda, python, "linux-64")
    if wheel is not None:
        return Message(N_("flash-attn {version} has a prebuilt wheel for torch {torch}, CUDA {cuda}, Python {python}: "
                          "pip install {url}"), version=wheel.version, torch=minor, cuda=variant.cuda, python=python,
                       url=wheel.url)
    return Message(N_("flash-attn publishes no prebuilt wheel for torch {torch} {tag} on {platform} with Python "
                      "{python}: pip install flash-attn --no-build-isolation builds it from source (needs nvcc and a long compile)"),
                   torch=minor, tag=variant.tag, platform=platform, python=python or "-")


def install_line(choice: Choice, target, knowledge: Knowledge) -> str:
    """The pip line install-cmd prints first for a resolver choice (doctor's fixes quote the same)."""
    plan = make_plan(choice, target.os, ["pip"], None, arch=target.arch, knowledge=knowledge, python=target.python)
    return plan.commands[0].command


def _dedupe(plan: Plan) -> None:
    """Never the same command twice."""
    seen = set()
    kept = []
    for c in plan.commands:
        if c.command in seen:
            continue
        seen.add(c.command)
        kept.append(c)
    plan.commands = kept
