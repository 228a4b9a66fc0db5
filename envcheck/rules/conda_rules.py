"""Rules about conda: channel set-ups that pull the wrong torch, and a shell never initialised."""

from __future__ import annotations

from typing import Iterator, List

from ..findings import Finding
from .base import RuleContext, finding

_PYTORCH_CHANNEL_LAST = "2.5.1"


def _channel_names(ctx: RuleContext) -> List[str]:
    names = []
    for ch in ctx.snap.conda.channels:
        name = ch.rstrip("/").rsplit("/", 1)[-1] if "://" in ch else ch
        names.append(name.lower())
    return names


def conda_channel_conflict(ctx: RuleContext) -> Iterator[Finding]:
    c = ctx.snap.conda
    pkgs = c.packages
    problems: List[str] = []
    fix: List[str] = []
    errors = False
    channels = _channel_names(ctx)
    if "pytorch-cuda" in pkgs and "nvidia" not in channels and "nvidia" not in c.custom_channels:
        problems.append(f"pytorch-cuda {pkgs['pytorch-cuda'].version} is installed but the nvidia channel is not "
                        "configured: updates resolve CUDA libraries from elsewhere")
        fix.append("Always pass both channels: conda install ... -c pytorch -c nvidia")
    if "defaults" in channels and "conda-forge" in channels and (c.channel_priority or "").lower() != "strict":
        problems.append(f"defaults and conda-forge are mixed with channel_priority {c.channel_priority or 'flexible'}: "
                        "the solver mixes builds from both (slow solves, ABI clashes)")
        fix.append("conda config --set channel_priority strict   # or drop one of the two channels")
    cpu_pin = []
    if "cpuonly" in pkgs:
        cpu_pin.append("cpuonly")
    mutex = pkgs.get("pytorch-mutex")
    if mutex and "cpu" in (mutex.build or ""):
        cpu_pin.append(f"pytorch-mutex ({mutex.build})")
    if cpu_pin and ctx.has_nvidia:
        errors = True
        problems.append(f"{' and '.join(cpu_pin)} installed: conda will only ever give this env a CPU pytorch")
        fix.append("conda remove cpuonly   # then install the CUDA build (see envcheck install-cmd --manager conda)")
    if "pytorch" in channels:
        problems.append(f"the pytorch channel is frozen at torch {_PYTORCH_CHANNEL_LAST}: it can never give you a newer "
                        "torch, and mixing it with conda-forge's pytorch breaks solves")
        fix.append("For torch > 2.5.1 use pip inside the env, or conda-forge's pytorch-gpu (conda install -c conda-forge "
                   "pytorch-gpu cuda-version=12.6)")
    mirrored = {name for name, url in c.custom_channels.items() if "anaconda.org" not in url}
    default_mirrored = any("anaconda.com" not in u for u in c.default_channels)
    if mirrored or default_mirrored:
        official = [name for name in ("pytorch", "nvidia", "conda-forge")
                    if name in channels and name not in mirrored]
        if official:
            problems.append(f"channels {', '.join(official)} still go to the official servers while others use a mirror")
            fix.append("Mirror those channels too where your mirror hosts them (see envcheck mirrors list); "
                       "the nvidia channel is not mirrored by TUNA")
    if problems:
        yield finding("conda-channel-conflict", "conda channel set-up: " + problems[0].split(":")[0],
                      "; ".join(problems) + ".", fix, severity="error" if errors else "warning",
                      channels=c.channels, problems=problems)


def conda_not_initialized(ctx: RuleContext) -> Iterator[Finding]:
    c = ctx.snap.conda
    if c.executable and c.initialized is False:
        yield finding("conda-not-initialized", f"conda at {c.executable} is installed but this shell does not know it",
                      "`conda` is not on PATH and CONDA_EXE is unset: `conda activate` will fail.",
                      [f"{c.executable} init bash   # or zsh/fish; then open a new shell"], executable=c.executable)


RULES = [conda_channel_conflict, conda_not_initialized]
