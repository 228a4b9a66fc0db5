"""pip's own transcript (``pip install`` output) and ``pip show``, pasted.

What pip says it did is read in order, so the state at the end of the transcript is what is kept:
``Found existing installation: torch 2.5.1`` (installed before), ``Successfully uninstalled
torch-2.5.1`` (gone), ``Successfully installed torch-2.4.0 ...`` (installed now, with the local tag
pip printed: ``torch-2.5.1+cu121``), ``Requirement already satisfied: torch in /path (2.1.0+cu121)``
(installed, with its location), and the resolver's ``..., but you have torch 2.4.0 which is
incompatible``. ``Collecting torch==2.5.1+cu121`` and ``Downloading .../torch-2.5.1%2Bcu121-...whl``
say what pip was asked for and chose, not what is installed: they are kept as requests.
``pip show``'s ``Name`` / ``Version`` / ``Location`` block is one installed package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import unquote

from .gates import Gate
from ..probes.target_script import normalize, wanted
from .runs import Miss

_NAME = r"[A-Za-z0-9][A-Za-z0-9._\-]*"
_COLLECTING = re.compile(r"^\s*Collecting\s+(?!package metadata|environment information)(?P<spec>" + _NAME + r"(?:\[[^\]]*\])?[^\s(]*)")
_DOWNLOADING = re.compile(r"^\s*(?:Downloading|Using cached|Processing|Obtaining dependency information for \S+ from)\s+"
                          r"(?P<url>\S+)")
_ALREADY_HEAD = re.compile(r"^\s*Requirement already satisfied:\s+(?P<spec>" + _NAME + r")\S*\s+in\s+")
_FOUND = re.compile(r"^\s*Found existing installation:\s+(?P<name>" + _NAME + r")\s+(?P<version>\S+)\s*$")
_UNINSTALLED = re.compile(r"^\s*Successfully uninstalled\s+(?P<item>\S+)\s*$")
_INSTALLED = re.compile(r"^\s*Successfully installed\s+(?P<items>.+)$")
_YOU_HAVE = re.compile(r"but you have (?P<name>" + _NAME + r") (?P<version>\S+?)(?: which is incompatible)?\.?\s*$")
_REQUIRES = re.compile(r"^\s*(?P<name>" + _NAME + r") (?P<version>\S+) (?:requires|has requirement) ")
_OTHER_BODY = (r"(?:Installing collected packages:|Attempting uninstall:|Uninstalling \S+:|"
                    r"Building wheels? for|Created wheel for|Stored in directory:|Looking in indexes:|"
                    r"Looking in links:|Preparing metadata|Getting requirements to build|Installing build dependencies|"
                    r"Building wheel for|Running setup\.py|Successfully built|ERROR: pip's dependency resolver|"
                    r"Requirement already satisfied|Collecting (?!package metadata|environment information)|Downloading|Using cached|Found existing installation|"
                    r"Successfully (?:un)?installed|Obtaining dependency information|Processing |"
                    r"Resolved \d+ packages|Prepared \d+ packages|Installed \d+ packages|Uninstalled \d+ packages|"
                    r"Audited \d+ packages|[━╸\-]{5,}|DEPRECATION:|WARNING: Retrying|Requirement already up-to-date)")
_OTHER = re.compile(r"^\s*" + _OTHER_BODY)
#: uv's summary lines: " + torch==2.5.1+cu121", " - torch==2.4.0"
_UV_LINE = re.compile(r"^\s*(?P<op>[+\-~])\s+(?P<name>" + _NAME + r")==(?P<version>\S+)\s*$")
_SHOW_NAME = re.compile(r"^\s*Name:\s*(?P<name>" + _NAME + r")\s*$")
_SHOW_KEY = re.compile(r"^\s*(?:Name|Version|Summary|Home-page|Author|Author-email|License|License-Expression|"
                       r"Location|Editable project location|Requires|Required-by|Metadata-Version|Installer|"
                       r"Classifiers|Entry-points|Files|Project-URLs?|Download-URL|Platform|Keywords|Maintainer|"
                       r"Maintainer-email|Description|---):")
#: what a line where a transcript (or ``pip show``) starts always holds: the cheap tests :mod:`.detect` runs first
GATE = Gate(start=r"Downloading|Processing|Using cached|[+\-~]\s|" + _OTHER_BODY, words=("but you have ",))
SHOW_GATE = Gate(start="Name:")
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-")


@dataclass
class PipLog:
    #: the packages installed at the end of the transcript: name -> (version, location)
    installed: Dict[str, Tuple[Optional[str], Optional[str]]] = field(default_factory=dict)
    #: what pip / uv was asked for and chose, in order ("torch==2.5.1+cu121", "torch>=2.0")
    requested: List[str] = field(default_factory=list)


def _split_item(item: str) -> Optional[Tuple[str, str]]:
    """"torch-2.5.1+cu121" -> ("torch", "2.5.1+cu121"); "nvidia-cudnn-cu12-9.1.0.70" -> ("nvidia-cudnn-cu12", ...)."""
    cut = -1
    for i in range(len(item) - 1, 0, -1):
        if item[i] == "-" and item[i + 1:i + 2].isdigit():
            cut = i
            break
    if cut <= 0:
        return None
    return item[:cut], item[cut + 1:]


def already_satisfied(line: str) -> Optional[Tuple[str, Optional[str], Optional[str]]]:
    """(name, location, version) of "Requirement already satisfied: torch in /p (from x) (2.1.0+cu121)"."""
    m = _ALREADY_HEAD.match(line)
    if not m:
        return None
    rest = line[m.end():].rstrip()
    version: Optional[str] = None
    if rest.endswith(")"):
        open_at = rest.rfind("(")
        inner = rest[open_at + 1:-1] if open_at >= 0 else ""
        if open_at > 0 and inner[:1].isdigit() and " " not in inner:
            version = inner
            rest = rest[:open_at].rstrip()
    cut = rest.find(" (from ")
    if cut >= 0:
        rest = rest[:cut]
    return m.group("spec"), rest.strip() or None, version


def wheel_request(url: str) -> Optional[str]:
    """".../torch-2.5.1%2Bcu121-cp310-cp310-linux_x86_64.whl (780.4 MB)" -> "torch==2.5.1+cu121"."""
    filename = unquote(url.split("#")[0].rstrip("/").rsplit("/", 1)[-1])
    if not filename.endswith(".whl"):
        return None
    m = _WHEEL.match(filename)
    if not m:
        return None
    return f"{m.group('name').replace('_', '-')}=={m.group('version')}"


def _keep(norm: str) -> bool:
    return wanted(norm)


def parse(lines: Sequence[str]) -> PipLog:
    """Facts from pip's transcript; never raises."""
    log = PipLog()
    state: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
    removed: set = set()

    def request(spec: str) -> None:
        norm = normalize(re.split(r"[\[<>=!~;\s]", spec, 1)[0])
        if _keep(norm) and spec not in log.requested:
            log.requested.append(spec)

    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        m = _COLLECTING.match(line)
        if m:
            request(m.group("spec"))
            continue
        m = _DOWNLOADING.match(line)
        if m:
            spec = wheel_request(m.group("url"))
            if spec:
                request(spec)
            continue
        already = already_satisfied(line)
        if already:
            norm = normalize(already[0])
            if _keep(norm):
                version = already[2]
                state[norm] = (version or state.get(norm, (None, None))[0], already[1])
                removed.discard(norm)
            continue
        m = _FOUND.match(line)
        if m:
            norm = normalize(m.group("name"))
            if _keep(norm) and norm not in state:
                state[norm] = (m.group("version"), None)
            continue
        m = _UNINSTALLED.match(line)
        if m:
            split = _split_item(m.group("item"))
            if split:
                norm = normalize(split[0])
                if state.get(norm, (None, None))[0] in (None, split[1]):
                    state.pop(norm, None)
                    removed.add(norm)
            continue
        m = _INSTALLED.match(line)
        if m:
            for item in m.group("items").split():
                split = _split_item(item)
                if split and _keep(normalize(split[0])):
                    state[normalize(split[0])] = (split[1], None)
                    removed.discard(normalize(split[0]))
            continue
        m = _UV_LINE.match(line)
        if m:
            norm = normalize(m.group("name"))
            if _keep(norm):
                if m.group("op") == "-":
                    if state.get(norm, (None, None))[0] in (None, m.group("version")):
                        state.pop(norm, None)
                        removed.add(norm)
                else:
                    state[norm] = (m.group("version"), None)
                    removed.discard(norm)
            continue
        m = _YOU_HAVE.search(line)
        if m:
            norm = normalize(m.group("name"))
            if _keep(norm) and norm not in removed:
                state.setdefault(norm, (m.group("version"), None))
            m = _REQUIRES.match(line)
            if m and _keep(normalize(m.group("name"))):
                state.setdefault(normalize(m.group("name")), (m.group("version"), None))
    log.installed = state
    return log


def _is_download(line: str) -> bool:
    """pip's "Downloading <wheel or URL>" (not a model hub's "Downloading model.safetensors: 40%")."""
    m = _DOWNLOADING.match(line)
    return m is not None and (m.group("url").endswith((".whl", ".tar.gz", ".zip")) or "://" in m.group("url"))


def _is_pip_line(line: str) -> bool:
    if line.lstrip().startswith(("Downloading", "Processing", "Using cached")):
        return _is_download(line)
    return bool(_OTHER.match(line) or _UV_LINE.match(line) or "but you have " in line)


def detect(lines: List[str], i: int) -> "Optional[int | Miss]":
    """End of a pip (or uv) transcript starting at ``i``, or None (a Miss: nor anywhere in the run read)."""
    if not _is_pip_line(lines[i]):
        return None
    n = len(lines)
    j = i + 1
    while j < n:
        line = lines[j]
        if _is_pip_line(line) or (line[:1] in (" ", "\t") and line.strip() and not line.lstrip().startswith(("```", "File \""))):
            j += 1
            continue
        break
    block = lines[i:j]
    if not any(_COLLECTING.match(l) or _ALREADY_HEAD.match(l) or _FOUND.match(l) or _INSTALLED.match(l)
               or _UNINSTALLED.match(l) or _UV_LINE.match(l) or _is_download(l) for l in block):
        return Miss(j)  # a later start in the run reads a part of the same lines: none of them is pip's either
    return j


# --------------------------------------------------------------------------- pip show


@dataclass
class PipShow:
    packages: Dict[str, Tuple[Optional[str], Optional[str]]] = field(default_factory=dict)


def detect_show(lines: List[str], i: int) -> Optional[int]:
    """End of ``pip show`` output starting at a ``Name:`` line, or None."""
    if not _SHOW_NAME.match(lines[i]) or i + 1 >= len(lines) or not lines[i + 1].strip().startswith("Version:"):
        return None
    j = i + 1
    while j < len(lines) and (_SHOW_KEY.match(lines[j]) or (lines[j][:1] in (" ", "\t") and lines[j].strip())):
        j += 1
    return j


def parse_show(lines: Sequence[str]) -> PipShow:
    """Every package of one or more ``pip show`` outputs; never raises."""
    show = PipShow()
    name: Optional[str] = None
    version: Optional[str] = None
    location: Optional[str] = None

    def flush() -> None:
        if name and wanted(normalize(name)) and normalize(name) not in show.packages:
            show.packages[normalize(name)] = (version, location)

    for line in lines:
        m = _SHOW_NAME.match(line)
        if m:
            flush()
            name, version, location = m.group("name"), None, None
            continue
        s = line.strip()
        if s.startswith("Version:"):
            version = s[len("Version:"):].strip() or None
        elif s.startswith("Location:"):
            location = s[len("Location:"):].strip() or None
    flush()
    return show
