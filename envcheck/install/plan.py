"""install-cmd's core: from the resolver's choice to exact pip / uv / conda commands, mirrors included.

Every command names exact pins (torch, torchvision, torchaudio of one release) and the index that
serves that build. Mirrors are used only where they really carry the build: a PyPI mirror for
PyPI's default build, a PyTorch wheel mirror with the flags its layout needs, else the official
index, said so. Nothing here invents a URL: every one comes from the mirrors/ data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from .commands import PYTORCH_INDEX, pinned_packages, uses_pypi_default
from ..i18n import N_, Message, data_message
from ..knowledge import CondaFacts, Knowledge, Mirror, TorchRelease, TorchVariant
from .resolve import Choice


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

    def to_data(self) -> dict:
        """The plan as JSON data: English texts, whatever the reader's language (scripts read them)."""
        return {
            "torch": self.torch, "torchvision": self.torchvision, "torchaudio": self.torchaudio,
            "variant": self.variant,
            "commands": [{"manager": c.manager, "mirror": c.mirror, "command": c.command, "note": str(c.note)}
                         for c in self.commands],
            "reasons": [str(r) for r in self.reasons], "alternatives": [str(a) for a in self.alternatives],
            "warnings": [str(w) for w in self.warnings],
        }


def _local_pins(release: TorchRelease, variant: TorchVariant) -> List[str]:
    """Pins with the local tag ("torch==2.6.0+cu126"), for indexes that mix builds of one version."""
    return [f"{pin}+{variant.tag}" for pin in pinned_packages(release)]


def pip_commands(release: TorchRelease, variant: TorchVariant, os_name: str, mirror: Optional[Mirror],
                 installer: str = "pip install") -> List[Command]:
    manager = installer.split()[0]
    pins = " ".join(pinned_packages(release))
    official_index = f"{PYTORCH_INDEX}/{variant.tag}"
    on_pypi = uses_pypi_default(variant, os_name)
    official = f"{installer} {pins}" + ("" if on_pypi else f" --index-url {official_index}")
    out = [Command(manager, None, official, Message(N_("official: PyPI")) if on_pypi else
                   Message(N_("official PyTorch index ({tag})"), tag=variant.tag))]
    if mirror is None or mirror.official:
        return out
    title = data_message(mirror.title)
    if on_pypi and mirror.pypi:
        out.insert(0, Command(manager, mirror.name, f"{installer} {pins} -i {mirror.pypi}",
                              Message(N_("{mirror}: PyPI mirror (PyPI's default build is {tag})"),
                                      mirror=title, tag=variant.tag)))
    elif mirror.torch_wheels and mirror.torch_wheels_layout == "find-links":
        local = " ".join(_local_pins(release, variant))
        cmd = f"{installer} {local} -f {mirror.torch_wheels.rstrip('/')}/{variant.tag}"
        if mirror.pypi:
            cmd += f" -i {mirror.pypi}"
        out.insert(0, Command(manager, mirror.name, cmd, Message(N_(
            "{mirror}: PyTorch wheel folder ({tag}), a plain folder of wheels, hence -f and the exact +{tag} "
            "pins"), mirror=title, tag=variant.tag)))
    elif mirror.torch_wheels and mirror.torch_wheels_layout == "index":
        cmd = f"{installer} {pins} --index-url {mirror.torch_wheels.rstrip('/')}/{variant.tag}"
        out.insert(0, Command(manager, mirror.name, cmd, Message(N_("{mirror}: PyTorch wheel index ({tag})"),
                                                                 mirror=title, tag=variant.tag)))
    elif mirror.pypi:
        local = " ".join(_local_pins(release, variant))
        cmd = f"{installer} {local} -i {mirror.pypi} --extra-index-url {official_index}"
        out.insert(0, Command(manager, mirror.name, cmd, Message(N_(
            "{mirror} has no PyTorch wheel mirror: torch comes from the official index ({index}), everything else "
            "from the mirror"), mirror=title, index=official_index)))
    return out


def uv_commands(release: TorchRelease, variant: TorchVariant, os_name: str, mirror: Optional[Mirror]) -> List[Command]:
    out = pip_commands(release, variant, os_name, mirror, installer="uv pip install")
    for c in out:
        if " -i " in c.command and "--extra-index-url" in c.command:
            # uv tries --extra-index-url before --index-url and stops at the first index that has
            # the package (first-index strategy): torch from the PyTorch index, the rest from the mirror.
            c.note += Message(N_("; uv searches --extra-index-url first, so torch comes only from the PyTorch index"))
    return out


def conda_commands(release: TorchRelease, variant: TorchVariant, os_name: str, mirror: Optional[Mirror],
                   facts: Optional[CondaFacts] = None) -> List[Command]:
    """conda commands: the official pytorch channel up to its last release (conda.toml), else pip in the env."""
    facts = facts or Knowledge().conda_facts()
    entry = facts.release(release.version)
    pins = f"pytorch=={release.version}"
    if release.torchvision:
        pins += f" torchvision=={release.torchvision}"
    if release.torchaudio:
        pins += f" torchaudio=={release.torchaudio}"
    out: List[Command] = []
    if entry is not None and (variant.tag == "cpu" or variant.cuda in entry.cuda):
        pytorch_channel = "pytorch"
        if mirror and "pytorch" in mirror.conda_channels:
            pytorch_channel = mirror.conda_channels["pytorch"]
        if variant.tag == "cpu":
            cmd = f"conda install {pins} cpuonly -c {pytorch_channel}"
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
        out.append(Command("conda", mirror.name if mirror and pytorch_channel != "pytorch" else None, cmd, note))
        return out
    # Newer than the frozen pytorch channel: pip inside the env is the supported way.
    for c in pip_commands(release, variant, os_name, mirror):
        out.append(Command("conda", c.mirror, c.command,
                           Message(N_("the pytorch conda channel ends at {version}: inside the activated conda env, "
                                      "install with pip ({note})"), version=facts.pytorch_channel_last, note=c.note)))
    if variant.cuda:
        forge = "conda-forge"
        if mirror and "conda-forge" in mirror.conda_channels:
            forge = mirror.conda_channels["conda-forge"]
        out.append(Command("conda", mirror.name if forge != "conda-forge" else None,
                           f"conda install -c {forge} pytorch-gpu={release.version} cuda-version={variant.cuda}",
                           Message(N_("conda-forge's own build (its versions and CUDA pins can lag PyPI's; "
                                      "torchvision separately)"))))
    return out


def make_plan(choice: Choice, os_name: str, managers: List[str], mirror: Optional[Mirror],
              arch: str = "x86_64", conda: Optional[CondaFacts] = None) -> Plan:
    """Commands for every manager asked for; reasons, notes and warnings as Messages, worded by the renderer
    (:mod:`envcheck.install.render`) or as English in JSON."""
    rel, var = choice.release, choice.variant
    plan = Plan(torch=rel.version, torchvision=rel.torchvision, torchaudio=rel.torchaudio, variant=var.tag,
                reasons=list(choice.reasons), alternatives=list(choice.alternatives))
    builders = {"pip": lambda: pip_commands(rel, var, os_name, mirror),
                "uv": lambda: uv_commands(rel, var, os_name, mirror),
                "conda": lambda: conda_commands(rel, var, os_name, mirror, facts=conda)}
    for manager in managers:
        plan.commands.extend(builders[manager]())
    if mirror is not None and any(" -i " in c.command for c in plan.commands):
        plan.warnings.append(Message(N_("Give pip one -i/--index-url only: given twice, the last one wins silently. "
                                        "Keep a mirror with --extra-index-url instead.")))
    if mirror is not None and mirror.name == "tuna" and not uses_pypi_default(var, os_name):
        plan.warnings.append(Message(N_("TUNA has no PyTorch wheel mirror: the {tag} build is not on TUNA."),
                                     tag=var.tag))
    if arch.lower() not in ("x86_64", "amd64", "x64"):
        plan.warnings.append(Message(N_("envcheck's release data records builds for x86_64 only: check that the index "
                                        "has a {arch} wheel of torch {version} {tag} before relying on this command."),
                                     arch=arch, version=rel.version, tag=var.tag))
    return plan

