"""``pip list`` (with or without its header) and ``pip freeze``, pasted.

Only the packages envcheck judges are kept (torch, torchvision, torchaudio, triton, xformers,
numpy, ninja, nvidia-*, cuda-*), under their PEP 503 names, as the doctor's probe keeps them.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence
from urllib.parse import unquote

from ..probes.target_script import normalize, wanted
from ..snapshot import Package

_ROW = re.compile(r"^\s*(?P<name>[A-Za-z0-9][\w.\-]*)\s+(?P<version>\d[^\s]*)(?:\s+(?P<location>\S.*))?$")
_FREEZE = re.compile(r"^\s*(?P<name>[A-Za-z0-9][\w.\-]*)(?:\[[^\]]*\])?\s*===?\s*(?P<version>[\w.+!*\-]+)")
_AT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][\w.\-]*)(?:\[[^\]]*\])?\s+@\s+(?P<url>\S+)")
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-")


#: packages whose second row in one listing means a second install (pip shows one row per dist-info it finds)
TWICE_WATCHED = ("torch", "torchvision", "torchaudio")


def _keep(packages: Dict[str, Package], name: str, version: Optional[str], location: Optional[str] = None,
          installer: Optional[str] = "pip", twice: Optional[Dict[str, List[str]]] = None) -> None:
    norm = normalize(name)
    if not wanted(norm):
        return
    if norm in packages:
        first = packages[norm].version
        if twice is not None and norm in TWICE_WATCHED and version and first and version != first:
            seen = twice.setdefault(norm, [first])
            if version not in seen:
                seen.append(version)
        return
    packages[norm] = Package(name=name, version=version, location=location, installer=installer)


def parse_list(lines: Sequence[str], twice: Optional[Dict[str, List[str]]] = None) -> Dict[str, Package]:
    """Rows of ``pip list``; the header and its rule are skipped; never raises. ``twice`` collects the versions of a
    watched package listed more than once."""
    packages: Dict[str, Package] = {}
    for line in lines:
        if line.strip().startswith("-") or re.match(r"^\s*Package\s+Version", line):
            continue
        m = _ROW.match(line.rstrip())
        if m:
            location = m.group("location")
            if location and not location.startswith(("/", "\\", "~")) and not re.match(r"^[A-Za-z]:\\", location):
                location = None
            _keep(packages, m.group("name"), m.group("version"), location, twice=twice)
    return packages


def version_from_url(name: str, url: str) -> Optional[str]:
    """"torch @ https://.../torch-2.0.1%2Bcu118-cp310-...whl" -> "2.0.1+cu118"."""
    filename = unquote(url.rstrip("/").rsplit("/", 1)[-1])
    m = _WHEEL.match(filename)
    if m and normalize(m.group("name")) == normalize(name):
        return m.group("version")
    return None


def parse_freeze(lines: Sequence[str]) -> Dict[str, Package]:
    """``name==version`` and ``name @ url`` lines; never raises."""
    packages: Dict[str, Package] = {}
    for line in lines:
        m = _FREEZE.match(line)
        if m:
            _keep(packages, m.group("name"), m.group("version"))
            continue
        m = _AT.match(line)
        if m:
            _keep(packages, m.group("name"), version_from_url(m.group("name"), m.group("url")))
    return packages
