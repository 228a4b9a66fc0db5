"""conda's transaction plan ("The following NEW packages will be INSTALLED:"), of every conda era.

Layouts read: today's (conda >= 4.6) ``## Package Plan ##`` with ``added / updated specs`` and rows
``pytorch  pytorch/linux-64::pytorch-2.1.0-py3.10_cuda12.1_cudnn8.9.2_0`` (``old --> new`` for
UPDATED / SUPERSEDED / DOWNGRADED), conda <= 4.5's ``name: version-build channel`` rows
(``pytorch:  0.4.1-py36_cuda9.0.176_cudnn7.1.2_1 pytorch``), the "will be downloaded" table
(``pytorch-1.8.1 | py3.9_cuda11.1_cudnn8.0.5_0  1.2 GB  pytorch``) and mamba's ``+ name version build
channel`` rows. The plan's end state (what it installs, less what it removes) is what is kept, for
the packages envcheck judges; the specs are kept as what conda was asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .gates import Gate
from ..probes.conda import TORCH_PACKAGES
from ..snapshot import CondaPackage
from .conda_text import channel_name

_START = re.compile(r"^\s*[\"']?(?:## Package Plan ##|Package plan for installation in environment|Channels:\s*$|"
                    r"PackagesNotFoundError:|"
                    r"The following (?:NEW )?packages will be (?:INSTALLED|UPDATED|DOWNGRADED|REMOVED|SUPERSEDED|"
                    r"downloaded)|The following packages will be SUPERSEDED)")
_SECTION = re.compile(r"^\s*[\"']?(?:The following (?P<what>NEW packages will be INSTALLED|packages will be UPDATED|"
                      r"packages will be DOWNGRADED|packages will be REMOVED|packages will be SUPERSEDED[^:]*|"
                      r"packages will be downloaded|NEW packages will be INSTALLED)|(?P<specs>added / updated specs|"
                      r"removed specs)|(?P<env>environment location)|(?P<plan>## Package Plan ##|"
                      r"Package plan for installation)|(?P<channels>Channels:\s*$)|(?P<current>Current channels:\s*$)|"
                      r"(?P<notfound>PackagesNotFoundError:)|(?P<solving>Platform:|Collecting package metadata|"
                      r"Solving environment|Retrieving notices|Preparing transaction|Verifying transaction|"
                      r"Executing transaction|Downloading and Extracting Packages))")
_LIST_ITEM = re.compile(r"^\s*-\s+(?P<item>\S+)\s*$")
_DIST = r"(?:[^\s:]|:(?!:))+::\S+"
_NEW_ROW = re.compile(r"^\s+(?P<name>[A-Za-z0-9_][\w.\-]*)\s+(?P<source>" + _DIST + r")(?:\s+-->\s+(?P<target>" + _DIST + r"))?"
                      r"(?:\s+\S+)?\s*$")
_OLD_ROW = re.compile(r"^\s+(?P<name>[A-Za-z0-9_][\w.\-]*):\s+(?P<first>\S+)(?:\s+(?P<channel1>[^\s\[>-]\S*))?"
                      r"(?:\s+-->\s+(?P<second>\S+)(?:\s+(?P<channel2>[^\s\[]\S*))?)?")
_DOWNLOAD_ROW = re.compile(r"^\s+(?P<item>[A-Za-z0-9_][\w.+!\-]*)\s*\|\s*(?P<build>\S+)"
                           r"(?:\s+[\d.]+\s*[KMGT]?B)?(?:\s+(?P<channel>\S+))?\s*$")
_REMOVED_ROW = re.compile(r"^\s+(?P<item>[A-Za-z0-9_][\w.+\-]*)\s*$")
_MAMBA_ROW = re.compile(r"^\s*(?P<op>[+\-])\s+(?P<name>[A-Za-z0-9_][\w.\-]*)\s+(?P<version>\d\S*)\s+(?P<build>\S+)"
                        r"\s+(?P<channel>\S+)")
_SPEC = re.compile(r"^\s+-\s+(?P<spec>\S.*?)\s*$")
_PROCEED = re.compile(r"^\s*Proceed \(\[y\]/n\)\?")
#: what a line where a plan (or its download table) starts always holds: the cheap test :mod:`.detect` runs first
GATE = Gate(start=r"[\"']?(?:## Package Plan|Package plan for|Channels:|PackagesNotFoundError:|The following)"
                 r"|[A-Za-z0-9_][\w.+!\-]*\s*\|")


@dataclass
class CondaPlan:
    prefix: Optional[str] = None
    #: the plan's end state for the packages envcheck judges
    packages: Dict[str, CondaPackage] = field(default_factory=dict)
    removed: List[str] = field(default_factory=list)
    #: "added / updated specs", and the specs a PackagesNotFoundError lists
    specs: List[str] = field(default_factory=list)
    #: the channels conda searched: its "Channels:" list (conda >= 23.9), else "Current channels:" by name
    channels: List[str] = field(default_factory=list)


def _channel(source: str) -> Optional[str]:
    """"pytorch/linux-64::pytorch-2.1.0-..." -> "pytorch"; "pkgs/main/linux-64::x" -> "defaults"."""
    head = source.split("::", 1)[0] if "::" in source else ""
    if not head:
        return None
    parts = head.split("/")
    if parts[0] == "pkgs" or head.startswith(("defaults", "anaconda/pkgs/main")):
        return "defaults"
    if len(parts) > 1 and re.fullmatch(r"(?:linux|win|osx)-\w+|noarch", parts[-1]):
        parts = parts[:-1]
    return "/".join(parts) or None


def _version_build(dist: str, name: str) -> Tuple[Optional[str], Optional[str]]:
    """"pytorch-2.1.0-py3.10_cuda12.1_cudnn8.9.2_0" for name "pytorch" -> ("2.1.0", "py3.10_cuda12.1...")."""
    tail = dist.split("::", 1)[1] if "::" in dist else dist
    if tail.startswith(name + "-"):
        tail = tail[len(name) + 1:]
    else:
        return None, None
    version, _, build = tail.partition("-")
    return (version or None), (build or None)


def _split_item(item: str) -> Optional[Tuple[str, str, Optional[str]]]:
    """"pytorch-1.8.1-py3.9_cuda11.1_0" -> ("pytorch", "1.8.1", "py3.9_cuda11.1_0"); "pytorch-cuda-12.1" too."""
    parts = item.split("-")
    first = next((k for k in range(1, len(parts)) if parts[k][:1].isdigit()), None)
    if first is None:
        return None
    return "-".join(parts[:first]), parts[first], "-".join(parts[first + 1:]) or None


def parse(lines: Sequence[str]) -> CondaPlan:
    """The plan's end state and specs; never raises."""
    plan = CondaPlan()
    section: Optional[str] = None
    state: Dict[str, CondaPackage] = {}
    listed: List[str] = []
    current: List[str] = []

    def put(name: str, version: Optional[str], build: Optional[str], channel: Optional[str]) -> None:
        if name in TORCH_PACKAGES and version:
            state[name] = CondaPackage(name=name, version=version, build=build, channel=channel)
            if name in plan.removed:
                plan.removed.remove(name)

    def drop(name: str) -> None:
        if name in TORCH_PACKAGES:
            state.pop(name, None)
            if name not in plan.removed:
                plan.removed.append(name)

    for raw in lines:
        line = raw.rstrip()
        if not line.strip() or _PROCEED.match(line):
            continue
        s = _SECTION.match(line)
        if s:
            if s.group("channels") or s.group("current"):
                section = "channels" if s.group("channels") else "current"
            elif s.group("notfound"):
                section = "specs"
            elif s.group("solving"):
                section = None
            elif s.group("env"):
                value = line.split(":", 1)[1].strip() if ":" in line else ""
                plan.prefix = plan.prefix or value or None
                section = None
            elif s.group("specs"):
                section = "specs" if "added" in s.group("specs") else "removed-specs"
            elif s.group("plan"):
                m = re.search(r"environment (\S+?):?\s*$", line)
                if m:
                    plan.prefix = plan.prefix or m.group(1)
                section = None
            else:
                what = s.group("what")
                section = ("install" if "INSTALLED" in what else "remove" if "REMOVED" in what
                           else "download" if "downloaded" in what else "change")
            continue
        if section == "specs":
            m = _SPEC.match(line)
            if m and m.group("spec") not in plan.specs:
                plan.specs.append(m.group("spec"))
            continue
        if section in ("channels", "current"):
            m = _LIST_ITEM.match(line)
            if m:
                target = listed if section == "channels" else current
                name = m.group("item") if section == "channels" else channel_name(m.group("item"))
                if name not in target:
                    target.append(name)
            continue
        if section in ("download", None):
            m = _DOWNLOAD_ROW.match(line) if "|" in line else None
            if m:
                split = _split_item(m.group("item"))
                if split and split[0] not in state:
                    put(split[0], split[1], m.group("build"), m.group("channel"))
                continue
            if section == "download":
                continue
        m = _MAMBA_ROW.match(line)
        if m:
            if m.group("op") == "+":
                put(m.group("name"), m.group("version"), m.group("build"), _channel(m.group("channel") + "::x")
                    or m.group("channel"))
            elif m.group("name") not in state:
                drop(m.group("name"))
            continue
        if section in ("install", "change", "remove"):
            m = _NEW_ROW.match(line)
            if m:
                name = m.group("name")
                dist = m.group("target") or m.group("source")
                version, build = _version_build(dist, name)
                if section == "remove":
                    drop(name)
                else:
                    put(name, version, build, _channel(dist))
                continue
            m = _OLD_ROW.match(line)
            if m:
                name = m.group("name")
                value = m.group("second") or m.group("first")
                channel = m.group("channel2") if m.group("second") else m.group("channel1")
                version, _, build = value.partition("-")
                if section == "remove":
                    drop(name)
                else:
                    put(name, version or None, build or None, channel)
                continue
            m = _REMOVED_ROW.match(line) if " " not in line.strip() else None
            if m and section == "remove":
                split = _split_item(m.group("item"))
                if split:
                    drop(split[0])
    plan.packages = state
    plan.channels = listed or [c for c in current if c != "defaults"] + (["defaults"] if "defaults" in current else [])
    return plan


def _download_row(line: str) -> bool:
    m = _DOWNLOAD_ROW.match(line) if "|" in line else None
    return m is not None and _split_item(m.group("item")) is not None


def detect(lines: List[str], i: int) -> Optional[int]:
    """End of a conda plan starting at ``i`` (or of rows of its download table pasted alone), or None."""
    if not _START.match(lines[i]):
        j = i
        while j < len(lines) and _download_row(lines[j]):
            j += 1
        return j if j - i >= 3 else None
    n = len(lines)
    j = i + 1
    last = i
    while j < n and j < i + 2000:
        line = lines[j]
        if line.lstrip().startswith(("```", "~~~")):
            break
        if _PROCEED.match(line):
            last = j
            j += 1
            break
        if line.strip() and (line[:1] in (" ", "\t") or _SECTION.match(line) or _MAMBA_ROW.match(line)
                             or _LIST_ITEM.match(line)):
            last = j
            j += 1
            continue
        if not line.strip():
            j += 1
            continue
        break
    return last + 1
