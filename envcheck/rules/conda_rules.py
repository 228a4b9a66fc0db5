"""Rules about conda: channel set-ups that pull the wrong torch, requests that cannot be solved, and a shell
never initialised.

A pasted conda command (``conda.requested`` specs, ``conda.requested_channels``) is judged as a request: a
channel it needs and does not name widens ``conda-channel-conflict`` (a channel set-up problem); pins that
contradict each other, the pytorch build or the driver are ``conda-unsatisfiable`` (the solve cannot succeed),
the same code the solver's own error gives, so the two merge into one finding with its evidence.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional

from ..findings import Finding
from ..i18n import N_, Headline, Message, join, joined
from ..versions import at_least, cuda_from_tag, major_minor
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


def _specs(requested: List[str]) -> Dict[str, Optional[str]]:
    """"pytorch-cuda=12.1" -> {"pytorch-cuda": "12.1"}; "pytorch=2.6*" -> {"pytorch": "2.6"}; "cpuonly" -> {"cpuonly": None}."""
    out: Dict[str, Optional[str]] = {}
    for spec in requested:
        m = re.match(r"\s*(?:[\w.-]+::)?([A-Za-z0-9_.-]+)\s*(?:[=<>!~]=?\s*([0-9][0-9.]*))?", spec)
        if m:
            out.setdefault(m.group(1).lower(), m.group(2).rstrip(".") if m.group(2) else None)
    return out


def conda_request(ctx: RuleContext) -> Iterator[Finding]:
    c, d = ctx.snap.conda, ctx.snap.driver
    specs = _specs(c.requested)
    if not specs:
        return
    channels = [ch.rstrip("/").rsplit("/", 1)[-1].lower() for ch in c.requested_channels]
    cuda_pin = next(((name, specs[name]) for name in ("pytorch-cuda", "cudatoolkit", "cuda-version")
                     if specs.get(name)), None)
    if "pytorch-cuda" in specs and channels and "nvidia" not in channels:
        yield finding("conda-channel-conflict",
                      Message(N_("pytorch-cuda was asked for without the nvidia channel")),
                      Message(N_("The install line asks for pytorch-cuda{pin} from {channels}: pytorch-cuda's CUDA "
                                 "libraries come from the nvidia channel, so conda cannot solve it or takes them from "
                                 "elsewhere."), pin="=" + specs["pytorch-cuda"] if specs["pytorch-cuda"] else "",
                              channels=", ".join(channels)),
                      [Message(N_("Add both channels: {command}"), command="conda install ... -c pytorch -c nvidia")],
                      channels=channels)
    causes = Texts()
    if "cpuonly" in specs and cuda_pin:
        causes.add(N_("cpuonly pins the CPU build while {pin} pins a CUDA one"), pin=f"{cuda_pin[0]}={cuda_pin[1]}")
    torch_pin = specs.get("pytorch")
    release = ctx.knowledge.torch_release(torch_pin) if torch_pin and torch_pin.count(".") >= 2 else None
    if cuda_pin and release is not None:
        built = sorted({cuda_from_tag(v.tag) for v in release.variants if cuda_from_tag(v.tag)})
        if built and major_minor(cuda_pin[1]) not in built:
            causes.add(N_("pytorch {version} was built for CUDA {built}; {pin} is none of them"), version=torch_pin,
                       built=", ".join(built), pin=f"{cuda_pin[0]}={cuda_pin[1]}")
    if cuda_pin and d.cuda_version and not at_least(d.cuda_version, cuda_pin[1]):
        causes.add(N_("{pin} needs a driver for CUDA {cuda}; this driver supports CUDA {driver_cuda} (conda's __cuda)"),
                   pin=f"{cuda_pin[0]}={cuda_pin[1]}", cuda=cuda_pin[1], driver_cuda=d.cuda_version)
    if causes:
        yield finding("conda-unsatisfiable",
                      Message(N_("This conda request cannot be solved: {cause}"), cause=Headline(causes[0])),
                      Message(N_("{text}."), text=joined(causes)),
                      [Message(N_("Ask for a combination that exists: {command}"),
                               command="envcheck install-cmd --manager conda")],
                      requested=c.requested, causes=causes.english)


def _condarc_origins(c) -> Dict[str, object]:
    """Where each setting comes from: the last .condarc that sets channel_alias, each custom channel, each channel."""
    alias = None
    custom: Dict[str, tuple] = {}
    listed: List[tuple] = []
    for rc in c.condarc:
        if rc.channel_alias:
            alias = (rc.channel_alias, rc.path)
        for name, base in (rc.custom_channels or {}).items():
            custom[name] = (base, rc.path)
    for rc in reversed(c.condarc):  # conda's merge: later files first
        for value in rc.channels or []:
            if all(value != seen for seen, _ in listed):
                listed.append((value, rc.path))
    return {"alias": alias, "custom": custom, "channels": listed}


def _cloud_channel(url: str) -> Optional[str]:
    """The channel a mirror URL names: ".../anaconda/cloud/pytorch/" -> "pytorch"; pkgs/* (defaults) -> None."""
    parts = [p for p in url.split("://", 1)[-1].rstrip("/").split("/") if p]
    if len(parts) < 3 or parts[-2] != "cloud":
        return None
    return parts[-1]


def conda_mirror_missing_channel(ctx: RuleContext) -> Iterator[Finding]:
    """A channel the .condarc files send to a known mirror that does not carry it (mirror data, not a guess).

    The mirror data lists the channels each mirror serves (``Mirror.conda_channels``); a mirror whose list is not
    stated by the mirror itself (``conda_verified`` false) gives a warning, a stated one an error.
    """
    c = ctx.snap.conda
    if not c.condarc:
        return
    kn = ctx.knowledge
    where = _condarc_origins(c)
    asked: List[tuple] = []  # (channel, url, file, how)
    custom = where["custom"]
    # a custom_channels entry is only where conda would look if that channel is asked for: judged when the
    # channels list uses it (the mirrors' help snippets list more custom channels than anyone uses)
    used = {value for value, _ in where["channels"]}
    for name, (base, path) in custom.items():
        if name in used:
            asked.append((name, base.rstrip("/") + "/" + name, path, "custom_channels"))
    alias = where["alias"]
    for value, path in where["channels"]:
        if "://" in value:
            name = _cloud_channel(value)
            if name:
                asked.append((name, value, path, "channels"))
        elif value != "defaults" and value not in custom and alias is not None:
            asked.append((value, alias[0].rstrip("/") + "/" + value, alias[1], "channel_alias"))
    seen = set()
    for name, url, path, how in asked:
        mirror = kn.mirror(kn.recognise_mirror(url) or "")
        if mirror is None or mirror.official or not mirror.conda_channels or name in mirror.conda_channels:
            continue
        if (name, mirror.name) in seen:
            continue
        seen.add((name, mirror.name))
        others = [m.name for m in kn.mirrors() if not m.official and m.conda_verified and name in m.conda_channels]
        official = next((m.conda_channels[name] for m in kn.mirrors() if m.official and name in m.conda_channels),
                        None)
        fix: List[str] = []
        if how == "channels":
            fix.append(f"conda config --file {path} --remove channels {url}   # "
                       + Message(N_("drop the mirror URL of {channel}"), channel=name))
        else:
            fix.append(f"conda config --file {path} --set custom_channels.{name} https://conda.anaconda.org   # "
                       + Message(N_("fetch {channel} from anaconda.org, the mirror for the rest"), channel=name))
        if official:
            fix.append(Message(N_("or name {channel} by its official URL: {url}"), channel=name, url=official))
        if others:
            fix.append(Message(N_("or use a mirror that carries {channel}: {mirrors} (see {command})"), channel=name,
                               mirrors=", ".join(others), command="envcheck mirrors list"))
        else:
            fix.append(Message(N_("No mirror envcheck knows carries {channel}; for torch, pip needs no conda channel: "
                                  "{command}"), channel=name, command="envcheck install-cmd"))
        yield finding("conda-mirror-missing-channel",
                      Message(N_("{file} sends conda channel {channel} to {mirror}, which does not carry it"),
                              file=path, channel=name, mirror=mirror.name),
                      Message(N_("{how} in {file} makes conda fetch channel {channel} from {url}; the mirror {mirror} "
                                 "carries only {known}, so conda fails there (404 / UnavailableInvalidChannel)."),
                              how=how, file=path, channel=name, url=url, mirror=mirror.name,
                              known=", ".join(sorted(mirror.conda_channels))),
                      fix, severity=None if mirror.conda_verified else "warning",
                      file=path, channel=name, mirror=mirror.name, url=url, setting=how)


RULES = [conda_channel_conflict, conda_request, conda_not_initialized, conda_mirror_missing_channel]
