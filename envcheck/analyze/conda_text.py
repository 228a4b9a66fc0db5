"""``conda list`` (and ``--export``), ``conda info`` and ``conda config --show`` / ``.condarc``, pasted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..probes.conda import TORCH_PACKAGES, CondaRc, parse_condarc
from ..probes.target_script import normalize, wanted
from ..snapshot import CondaPackage, Package

_ROW = re.compile(r"^\s*(?P<name>[A-Za-z0-9_][\w.+\-]*)\s+(?P<version>\S+)(?:\s+(?P<build>\S+))?(?:\s+(?P<channel>\S+))?\s*$")
_EXPORT = re.compile(r"^\s*(?P<name>[A-Za-z0-9_][\w.+\-]*)=(?P<version>[^=\s]+)=(?P<build>[^=\s]+)\s*$")
_PREFIX = re.compile(r"packages in environment at\s+(?P<prefix>.+?):?\s*$", re.I)
_INFO_NAME = re.compile(r"[A-Za-z][\w .:\-]*")
_SUBDIR = re.compile(r"/(?:linux|win|osx|zos|emscripten|wasi)-[\w]+$|/noarch$")
_DEFAULTS = re.compile(r"^https?://repo\.(?:anaconda\.com|continuum\.io)/pkgs/(?:main|r|free|msys2|pro)$")
_ANACONDA_ORG = re.compile(r"^https?://conda\.anaconda\.org/(?P<name>[^/]+)$")
MAX_CONFIG_LINES = 2000
_VIRTUAL_CUDA = re.compile(r"__cuda=(?P<version>\d+(?:\.\d+)*)")


@dataclass
class CondaList:
    prefix: Optional[str] = None
    #: every conda-installed package of interest, by name
    packages: Dict[str, CondaPackage] = field(default_factory=dict)
    #: packages pip installed into the environment ("pypi" channel), as pip sees them
    pip_packages: Dict[str, Package] = field(default_factory=dict)


def _add_row(result: CondaList, name: str, version: str, build: Optional[str], channel: Optional[str]) -> None:
    if (channel or "").lower() == "pypi" or (build or "").startswith("pypi_"):
        norm = normalize(name)
        if wanted(norm) and norm not in result.pip_packages:
            result.pip_packages[norm] = Package(name=name, version=version, installer="pip")
        return
    if name in TORCH_PACKAGES and name not in result.packages:
        result.packages[name] = CondaPackage(name=name, version=version, build=build, channel=channel)


def parse_list(lines: Sequence[str]) -> CondaList:
    """``conda list`` rows (or ``conda list --export``); never raises."""
    result = CondaList()
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#") or "packages in environment at" in stripped:
            m = _PREFIX.search(stripped)
            if m and result.prefix is None:
                result.prefix = m.group("prefix").strip()
            continue
        m = _EXPORT.match(line) or _ROW.match(line)
        if m:
            d = m.groupdict()
            _add_row(result, d["name"], d["version"], d.get("build"), d.get("channel"))
    return result


def parse_collect_env_line(result: CondaList, rest: str) -> None:
    """One ``[conda] name version build channel`` line of collect_env."""
    m = _ROW.match(rest)
    if m and m.group("name").lower() != "could":
        _add_row(result, m.group("name"), m.group("version"), m.group("build"), m.group("channel"))


def channel_name(url: str) -> str:
    """A channel URL as conda names it: defaults' URLs -> "defaults", conda.anaconda.org/X -> "X"."""
    text = url.strip().rstrip("/")
    text = _SUBDIR.sub("", text)
    if _DEFAULTS.match(text):
        return "defaults"
    m = _ANACONDA_ORG.match(text)
    if m:
        return m.group("name")
    return text


@dataclass
class CondaInfo:
    version: Optional[str] = None
    active_env: Optional[str] = None
    active_prefix: Optional[str] = None
    root_prefix: Optional[str] = None
    channels: List[str] = field(default_factory=list)
    #: the driver's CUDA as conda detects it (virtual package __cuda)
    virtual_cuda: Optional[str] = None
    platform: Optional[str] = None


def parse_info(lines: Sequence[str]) -> CondaInfo:
    """``conda info``; never raises."""
    info = CondaInfo()
    values: Dict[str, List[str]] = {}
    key: Optional[str] = None
    for line in lines:
        if not line.strip():
            continue
        colon = line.find(" :")
        name = line[:colon].strip() if colon > 0 else ""
        if name and _INFO_NAME.fullmatch(name):
            key = name.lower()
            values.setdefault(key, []).append(line[colon + 2:].strip())
        elif key is not None:
            values[key].append(line.strip())

    def one(name: str) -> Optional[str]:
        found = [v for v in values.get(name, []) if v]
        if not found or found[0].lower() in ("none", "n/a"):
            return None
        return found[0]

    info.version = one("conda version")
    env = one("active environment")
    info.active_env = env
    info.active_prefix = one("active env location")
    base = one("base environment") or one("root environment")
    info.root_prefix = base.split("  (")[0].strip() if base else None
    for url in values.get("channel urls", []):
        if url:
            name = channel_name(url)
            if name not in info.channels:
                info.channels.append(name)
    for item in values.get("virtual packages", []):
        m = _VIRTUAL_CUDA.search(item)
        if m:
            info.virtual_cuda = m.group("version")
    info.platform = one("platform")
    return info


def parse_config(lines: Sequence[str]) -> Optional[CondaRc]:
    """``conda config --show`` output or a pasted ``.condarc`` (YAML); None when unreadable."""
    text = "\n".join(lines[:MAX_CONFIG_LINES])  # `conda config --show` is ~100 lines; YAML is slow on more
    try:
        rc = parse_condarc("(pasted)", text)
    except Exception:  # PyYAML can raise more than YAMLError on hostile input (RecursionError, ...)
        return None
    if not rc.ok and rc.channels is None and rc.custom_channels is None and rc.channel_priority is None:
        return None
    if rc.channels is not None:
        rc.channels = [channel_name(c) if c.startswith(("http://", "https://")) and _SUBDIR.search(c.rstrip("/"))
                       else c for c in rc.channels]
    return rc
