"""Rules about conda: channel set-ups that pull the wrong torch, and a shell never initialised."""

from __future__ import annotations

from typing import Iterator, List

from ..findings import Finding
from ..i18n import N_, Headline, Message, join, joined
from .base import RuleContext, Texts, finding



def _channel_names(ctx: RuleContext) -> List[str]:
    names = []
    for ch in ctx.snap.conda.channels:
        name = ch.rstrip("/").rsplit("/", 1)[-1] if "://" in ch else ch
        names.append(name.lower())
    return names


def conda_channel_conflict(ctx: RuleContext) -> Iterator[Finding]:
    c = ctx.snap.conda
    pkgs = c.packages
    problems = Texts()
    fix: List[str] = []
    errors = False
    channels = _channel_names(ctx)
    if "pytorch-cuda" in pkgs and "nvidia" not in channels and "nvidia" not in c.custom_channels:
        problems.add(N_("pytorch-cuda {version} is installed but the nvidia channel is not configured: updates "
                        "resolve CUDA libraries from elsewhere"), version=pkgs['pytorch-cuda'].version)
        fix.append(Message(N_("Always pass both channels: {command}"), command="conda install ... -c pytorch -c nvidia"))
    if "defaults" in channels and "conda-forge" in channels and (c.channel_priority or "").lower() != "strict":
        problems.add(N_("defaults and conda-forge are mixed with channel_priority {priority}: the solver mixes builds "
                        "from both (slow solves, ABI clashes)"), priority=c.channel_priority or "flexible")
        fix.append("conda config --set channel_priority strict   # " + Message(N_("or drop one of the two channels")))
    cpu_pin = []
    if "cpuonly" in pkgs:
        cpu_pin.append("cpuonly")
    mutex = pkgs.get("pytorch-mutex")
    if mutex and "cpu" in (mutex.build or ""):
        cpu_pin.append(f"pytorch-mutex ({mutex.build})")
    if cpu_pin and ctx.has_nvidia:
        errors = True
        problems.add(N_("{pins} installed: conda will only ever give this env a CPU pytorch"),
                     pins=join(Message(N_(" and ")), cpu_pin))
        fix.append("conda remove cpuonly   # " + Message(N_("then install the CUDA build (see {command})"), command="envcheck install-cmd --manager conda"))
    if "pytorch" in channels:
        last = ctx.knowledge.conda_facts().pytorch_channel_last
        problems.add(N_("the pytorch channel is frozen at torch {version}: it can never give you a newer torch, and "
                        "mixing it with conda-forge's pytorch breaks solves"), version=last)
        fix.append(Message(N_("For torch > {version} use pip inside the env, or conda-forge's pytorch-gpu ({command})"), version=last, command="conda install -c conda-forge pytorch-gpu cuda-version=12.6"))
    mirrored = {name for name, url in c.custom_channels.items() if "anaconda.org" not in url}
    default_mirrored = any("anaconda.com" not in u for u in c.default_channels)
    if mirrored or default_mirrored:
        official = [name for name in ("pytorch", "nvidia", "conda-forge")
                    if name in channels and name not in mirrored]
        if official:
            problems.add(N_("channels {channels} still go to the official servers while others use a mirror"),
                         channels=", ".join(official))
            fix.append(Message(N_("Mirror those channels too where your mirror hosts them (see {command}); the nvidia channel "
                         "is not mirrored by TUNA"), command="envcheck mirrors list"))
    if problems:
        yield finding("conda-channel-conflict", Message(N_("conda channel set-up: {problem}"), problem=Headline(problems[0])),
                      Message(N_("{text}."), text=joined(problems)), fix,
                      severity="error" if errors else "warning", channels=c.channels, problems=problems.english)


def conda_not_initialized(ctx: RuleContext) -> Iterator[Finding]:
    c = ctx.snap.conda
    if c.executable and c.initialized is False:
        yield finding("conda-not-initialized", Message(N_("conda at {path} is installed but this shell does not know it"), path=c.executable),
                      Message(N_("`conda` is not on PATH and CONDA_EXE is unset: `conda activate` will fail.")),
                      [f"{c.executable} init bash   # " + Message(N_("or zsh/fish; then open a new shell"))],
                      executable=c.executable)


RULES = [conda_channel_conflict, conda_not_initialized]
