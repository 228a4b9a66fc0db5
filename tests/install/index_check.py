"""An offline resolver over the recorded index facts: does every pin of a printed command exist on the
index the command names, for the platform and Python it was printed for?

PyPI pins are checked against the wheel listings recorded from PyPI's JSON API
(tests/fixtures/index/pypi/<package>.json); download.pytorch.org pins against the recorded PyTorch
index facts (knowledge/data/pytorch_index.json); a mirror's URL stands for what it mirrors.
"""

from __future__ import annotations

import json
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from envcheck.knowledge import Knowledge

PYPI_LISTINGS = Path(__file__).resolve().parents[1] / "fixtures" / "index" / "pypi"
PYTORCH = "https://download.pytorch.org/whl"
_PLATFORM_TAGS = {
    "linux-x86_64": re.compile(r"(manylinux\w*_x86_64|linux_x86_64)$"),
    "linux-aarch64": re.compile(r"(manylinux\w*_aarch64|linux_aarch64)$"),
    "windows-x86_64": re.compile(r"win_amd64$"),
    "windows-arm64": re.compile(r"win_arm64$"),
    "macos-arm64": re.compile(r"macosx_\d+_\d+_(arm64|universal2)$"),
    "macos-x86_64": re.compile(r"macosx_\d+_\d+_(x86_64|intel|universal2)$"),
}


@lru_cache(maxsize=None)
def pypi_files(package: str) -> Dict[str, List[str]]:
    """version -> wheel filenames, as PyPI listed them the day they were recorded."""
    path = PYPI_LISTINGS / f"{package}.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {v: [f[0] for f in rel["files"]] for v, rel in data["releases"].items()}


def wheel_fits(filename: str, platform: str, python: Optional[str]) -> bool:
    """Would pip install this wheel on ``platform`` with CPython ``python``?"""
    parts = filename[:-4].split("-")
    if len(parts) < 5:
        return False
    py_tags, abi, plat = parts[-3].split("."), parts[-2], parts[-1]
    if plat != "any" and not any(_PLATFORM_TAGS[platform].search(p) for p in plat.split(".")):
        return False
    if python is None:
        return True
    major, minor = (int(x) for x in python.split("."))
    for tag in py_tags:
        m = re.fullmatch(r"cp(\d)(\d+)", tag)
        if m and abi == "abi3" and (int(m.group(1)), int(m.group(2))) <= (major, minor):
            return True
        if m and (int(m.group(1)), int(m.group(2))) == (major, minor) and not abi.endswith("t"):
            return True
        if tag in ("py3", f"py{major}") and abi == "none":
            return True
        m = re.fullmatch(r"py(\d)(\d+)", tag)
        if m and abi == "none" and (int(m.group(1)), int(m.group(2))) <= (major, minor):
            return True  # pip accepts py39-none-<platform> on every later CPython 3
    return False


def parse_command(command: str) -> Tuple[List[Tuple[str, str, Optional[str]]], List[str], List[str]]:
    """(pins as (name, version, local), indexes in order (the default first), find-links folders)."""
    words = shlex.split(command)
    pins, indexes, folders = [], [], []
    default = None
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("--index-url", "-i"):
            default = words[i + 1]
            i += 2
            continue
        if w == "--extra-index-url":
            indexes.append(words[i + 1])
            i += 2
            continue
        if w in ("-f", "--find-links"):
            folders.append(words[i + 1])
            i += 2
            continue
        if w == "--index-strategy":
            i += 2
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.]*)(?:\+([A-Za-z0-9.]+))?", w)
        if m:
            pins.append((m.group(1), m.group(2), m.group(3)))
        i += 1
    return pins, [default or "https://pypi.org/simple"] + indexes, folders


def _upstream(url: str, knowledge: Knowledge) -> Tuple[str, Optional[str]]:
    """("pypi", None) or ("pytorch", tag) for an index URL, mirrors mapped to what they mirror."""
    url = url.rstrip("/")
    if url.startswith(PYTORCH):
        return "pytorch", url.rsplit("/", 1)[-1]
    for mirror in knowledge.mirrors():
        if mirror.pypi and url == mirror.pypi.rstrip("/"):
            return "pypi", None
        if mirror.torch_wheels and url.startswith(mirror.torch_wheels.rstrip("/")):
            tag = url.rsplit("/", 1)[-1]
            return ("pytorch", tag) if mirror.carries_variant(tag) is not False else ("missing", tag)
    return ("pypi", None) if url == "https://pypi.org/simple" else ("unknown", None)


def problems(command: str, platform: str, python: Optional[str], knowledge: Knowledge,
             torch_version: str) -> List[str]:
    """What in ``command`` no recorded index carries; [] when every pin is found somewhere it names."""
    pins, indexes, folders = parse_command(command)
    sources = [_upstream(u, knowledge) for u in indexes + folders]
    out = []
    facts = knowledge.pytorch_index()
    for name, version, local in pins:
        found = False
        for kind, tag in sources:
            if kind == "pypi" and local is None:
                files = pypi_files(name).get(version)
                if files is None and not pypi_files(name):
                    found = True  # that package's listing is not recorded
                elif files and any(wheel_fits(f, platform, python) for f in files):
                    found = True
            elif kind == "pytorch" and (local is None or local == tag):
                carried = facts.carries(torch_version, tag, name, platform, python)
                variant = facts.variant(torch_version, tag)
                if carried is None or (carried and variant is not None and variant.packages.get(name) == version):
                    found = True
        if not found:
            out.append(f"{name}=={version}{'+' + local if local else ''} on none of {indexes + folders} "
                       f"for {platform} Python {python}")
    return out
