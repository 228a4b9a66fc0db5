"""Regenerate ``data/torch_releases.json`` from the package index's own metadata.

    python -m envcheck.knowledge.refresh [--out PATH] [--since 1.12] [--timeout S] [--workers N] [--no-wheel-contents]

What PyPI itself proves is derived here; what only download.pytorch.org or the build scripts know is
curated in the file and kept (merge, never clobber):

derived from PyPI
    release list (final versions >= --since), ``date`` (first upload), ``python`` (the CPython
    tags of the wheels), ``triton`` (the Linux wheel's pin), ``torchvision`` / ``torchaudio`` (the
    newest companion release whose wheel pins ``torch==<version>``, see :func:`pair_companions` for
    companions without an exact pin), and for the build ``pip install
    torch`` gets on Linux x86_64: its tag and CUDA (``torch/version.py`` in the wheel, else the
    ``nvidia-cuda-runtime-cuXX`` / ``cuda-toolkit`` pins), cuDNN (the ``nvidia-cudnn-cuXX`` pin),
    Python list, and ``arch_list`` (the arch flags compiled into ``torch/lib/libtorch_python.so``).
derived from download.pytorch.org, when it answers
    which variant tags exist per release and on which OS.
curated (kept from the current file)
    the other variants, their OS lists, arch lists and cuDNN versions.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from . import DATA_DIR
from .pypi import (IndexFile, IndexUnavailable, RemoteZip, fetch, parse_metadata, parse_wheel_filename,
                   project_files, wheel_metadata)

PYTORCH_WHEEL_INDEX = "https://download.pytorch.org/whl/torch/"
PYPI_PROJECT = "https://pypi.org/project/{name}/"
DEFAULT_OUT = DATA_DIR / "torch_releases.json"
#: Requires-Dist markers are evaluated for the build `pip install torch` gets on Linux x86_64
LINUX_X86_64 = {"platform_system": "Linux", "platform_machine": "x86_64", "sys_platform": "linux",
                "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython"}
_ARCH_RUN = re.compile(rb"(?:sm|compute)_\d+[af]?(?: (?:sm|compute)_\d+[af]?)+")
_VERSION_PY_CUDA = re.compile(r"""^cuda(?:\s*:\s*[^=]+)?\s*=\s*['"]([0-9.]+)['"]""", re.M)
_TAG = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(?:\.\d+)+)$")

Log = Callable[[str], None]


# --------------------------------------------------------------------------- pure parsing


def is_final(version: str) -> bool:
    """True for a final release ("2.5.1"), False for rc/dev/alpha builds and junk."""
    try:
        v = Version(version)
    except InvalidVersion:
        return False
    return not (v.is_prerelease or v.is_devrelease) and not v.local


def python_minors(files: Iterable[IndexFile]) -> List[str]:
    """CPython minors with a regular (not free-threaded) wheel: "cp310-cp310" -> "3.10"."""
    found: Set[Tuple[int, int]] = set()
    for f in files:
        wheel = f.wheel
        if wheel is None or wheel.abi.endswith("t"):
            continue
        for tag in wheel.python:
            m = re.fullmatch(r"cp(\d)(\d+)", tag)
            if m:
                found.add((int(m.group(1)), int(m.group(2))))
    return [f"{a}.{b}" for a, b in sorted(found)]


def python_spec(minors: Sequence[str]) -> Optional[str]:
    """["3.10", ..., "3.14"] -> ">=3.10,<3.15"; a CPython 3 minor inside the range without a wheel is excluded
    (["2.7", "3.5", "3.6"] -> ">=2.7,<3.7,!=3.0.*,...,!=3.4.*"), so the range says no more than the tags do."""
    if not minors:
        return None
    nums = sorted(tuple(int(p) for p in m.split(".")) for m in minors)
    low, high = nums[0], nums[-1]
    spec = f">={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}"
    if high[0] == 3:
        first = low[1] if low[0] == 3 else 0
        spec += "".join(f",!=3.{m}.*" for m in range(first, high[1] + 1) if (3, m) not in nums)
    return spec


def first_upload(files: Iterable[IndexFile]) -> Optional[str]:
    """The date ("2026-03-23") of the earliest upload among ``files``."""
    times = sorted(f.upload_time for f in files if f.upload_time)
    return times[0][:10] if times else None


def linux_x86_64_wheel(files: Sequence[IndexFile]) -> Optional[IndexFile]:
    """A regular manylinux x86_64 wheel for the oldest CPython it supports (where the most pins apply)."""
    best: Optional[Tuple[Tuple[int, int], IndexFile]] = None
    for f in files:
        wheel = f.wheel
        if wheel is None or f.yanked or wheel.abi.endswith("t"):
            continue
        if not any(p.startswith(("manylinux", "linux")) and p.endswith("x86_64") for p in wheel.platform):
            continue
        for tag in wheel.python:
            m = re.fullmatch(r"cp(\d)(\d+)|py(\d)(\d*)", tag)
            if m:
                key = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(3)), int(m.group(4) or 0))
                if best is None or key < best[0]:
                    best = (key, f)
    return best[1] if best else None


def pins(requires_dist: Iterable[str], environment: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Requirements that apply on Linux x86_64 (extras excluded): name -> specifier ("==12.4.127")."""
    env = dict(LINUX_X86_64, **(environment or {}))
    env.setdefault("extra", "")
    found: Dict[str, str] = {}
    for line in requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None:
            try:
                if not req.marker.evaluate(env):
                    continue
            except (InvalidMarker, KeyError, ValueError):
                continue
        if len(req.specifier):
            found[req.name.lower().replace("_", "-")] = str(req.specifier)
    return found


def exact(spec: Optional[str]) -> Optional[str]:
    """"==12.4.127" -> "12.4.127"; None for ranges and wildcards."""
    if not spec:
        return None
    m = re.fullmatch(r"===?\s*([^,*\s]+)", spec.strip())
    return m.group(1) if m else None


def _major_minor(version: str) -> Optional[str]:
    m = re.match(r"(\d+)\.(\d+)", version)
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else None


def cuda_from_pins(found: Dict[str, str]) -> Optional[str]:
    """The CUDA a wheel was built for, from its NVIDIA runtime pins: "cuda-toolkit==13.0.2" -> "13.0"."""
    if exact(found.get("cuda-toolkit")):
        return _major_minor(exact(found["cuda-toolkit"]) or "")
    for name, spec in sorted(found.items()):
        if re.fullmatch(r"nvidia-cuda-runtime(-cu\d+)?", name) and exact(spec):
            return _major_minor(exact(spec) or "")
    return None


def cudnn_from_pins(found: Dict[str, str]) -> Optional[str]:
    """"nvidia-cudnn-cu12==9.1.0.70" -> "9.1.0"."""
    for name, spec in sorted(found.items()):
        version = exact(spec)
        if re.fullmatch(r"nvidia-cudnn(-cu\d+)?", name) and version:
            return ".".join(version.split(".")[:3])
    return None


def triton_from_pins(found: Dict[str, str]) -> Optional[str]:
    """The triton (or pytorch-triton) release a torch wheel pins: "3.6.0", or the range ("~=3.9.0")."""
    for name in ("triton", "pytorch-triton"):
        if name in found:
            return exact(found[name]) or found[name]
    return None


def cuda_from_version_py(text: str) -> Optional[str]:
    """torch/version.py's ``cuda = '12.4'`` -> "12.4"; None for CPU builds."""
    m = _VERSION_PY_CUDA.search(text)
    return _major_minor(m.group(1)) if m else None


def arch_list_from_binary(blob: bytes) -> List[str]:
    """The compiled-in CUDA arch flags ("sm_50 sm_60 ... sm_90"), i.e. torch.cuda.get_arch_list()."""
    runs = [m.group(0) for m in _ARCH_RUN.finditer(blob)]
    if not runs:
        return []
    return max(runs, key=len).decode("ascii").split()


def cuda_tag(cuda: Optional[str]) -> Optional[str]:
    """"13.0" -> "cu130", the tag of the PyTorch wheel index for that CUDA."""
    if not cuda:
        return None
    major, minor = cuda.split(".")[:2]
    return f"cu{major}{minor}"


def torch_requirement(requires_dist: Iterable[str]) -> Optional[str]:
    """The specifier a companion wheel puts on torch ("==2.0.0", ">=2.14.0", "" for any); None without one."""
    for line in requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.name.lower() == "torch" and (req.marker is None or "extra" not in str(req.marker)):
            return str(req.specifier)
    return None


@dataclass(frozen=True)
class Companion:
    """A torchvision/torchaudio release: its version, first upload date and torch requirement."""

    version: str
    date: Optional[str]
    torch_spec: Optional[str]


def pair_companions(companions: Iterable[Companion], torch_dates: Dict[str, Optional[str]]) -> Dict[str, str]:
    """torch version -> companion version.

    The newest companion that pins ``torch==<version>`` wins. Without such a pin (torchvision 0.29.1+
    pins ``torch>=2.14.0``; torchaudio 2.11.0 names no torch at all and "supports torch>=2.11",
    pytorch/audio#4212), the newest companion without an exact pin that was released by the day after
    the torch release and whose requirement, if any, admits it.
    """
    companions = list(companions)
    pairs: Dict[str, str] = {}
    for torch_version, torch_date in torch_dates.items():
        want = Version(torch_version)
        exact_hits = [c for c in companions if exact(c.torch_spec) and _public(exact(c.torch_spec)) == want]
        if exact_hits:
            pairs[torch_version] = max(exact_hits, key=lambda c: Version(c.version)).version
            continue
        if not torch_date:
            continue
        latest = (_dt.date.fromisoformat(torch_date) + _dt.timedelta(days=1)).isoformat()
        open_ended = [c for c in companions if c.date and c.date <= latest
                      and not exact(c.torch_spec) and _admits(c.torch_spec, want)]
        if open_ended:
            pairs[torch_version] = max(open_ended, key=lambda c: Version(c.version)).version
    return pairs


#: the companions torch_releases.json pairs with each torch release, in its ``companions`` object
COMPANIONS = ("torchvision", "torchaudio", "xformers", "torchao", "torchcodec")
#: companions whose wheels name no torch: paired by their project's published table (``companion_tables``)
TABLE_COMPANIONS = ("torchao", "torchcodec")


def _table_row(rows: Dict[str, Sequence[str]], version: str) -> Optional[Sequence[str]]:
    """The table row of a companion version: the row named by the version itself ("0.14.1") or, failing
    that, by its release series ("0.16" for 0.16.0 and 0.16.1); None when the table has none."""
    v = Version(version)
    best: Optional[Tuple[int, Sequence[str]]] = None
    for key, specs in rows.items():
        k = Version(key)
        n = len(k.release)
        if k == v or (n < len(v.release) and v.release[:n] == k.release):
            if best is None or n > best[0]:
                best = (n, specs)
    return best[1] if best else None


def pair_by_table(companions: Iterable[Companion], torch_dates: Dict[str, Optional[str]],
                  rows: Dict[str, Sequence[str]]) -> Tuple[Dict[str, str], List[str]]:
    """torch version -> companion version for a companion that pins no torch, by its published table.

    ``rows`` maps a companion version or series to the torch specifiers it supports (any one admits).
    Among the companion releases whose row admits the torch release: the newest uploaded by the day after
    it, else the earliest uploaded later. Where no row admits it, the upload-date rule of
    :func:`pair_companions`. Returns the pairs and the torch versions that fell back to that rule.
    """
    companions = list(companions)
    pairs: Dict[str, str] = {}
    fallback: List[str] = []
    for torch_version, torch_date in torch_dates.items():
        want = Version(torch_version)
        admitted = [c for c in companions
                    if any(_admits(spec, want) for spec in (_table_row(rows, c.version) or []))]
        if not admitted:
            fallback.append(torch_version)
            pairs.update(pair_companions([Companion(c.version, c.date, None) for c in companions],
                                         {torch_version: torch_date}))
            continue
        latest = ((_dt.date.fromisoformat(torch_date) + _dt.timedelta(days=1)).isoformat()
                  if torch_date else None)
        by_then = [c for c in admitted if latest and c.date and c.date <= latest]
        if by_then:
            pairs[torch_version] = max(by_then, key=lambda c: Version(c.version)).version
        else:
            pairs[torch_version] = min(admitted, key=lambda c: (c.date or "9999", Version(c.version))).version
    return pairs, sorted(fallback, key=Version, reverse=True)


def _public(text: Optional[str]) -> Optional[Version]:
    try:
        return Version(Version(text or "").public)
    except InvalidVersion:
        return None


def _admits(spec: Optional[str], version: Version) -> bool:
    if not spec:
        return True
    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except InvalidSpecifier:
        return False


class _Anchors(HTMLParser):
    """Collects the wheel file names (anchor texts) of a PEP 503 page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: List[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip().endswith(".whl"):
            self.names.append(data.strip())


def parse_wheel_index(html: str) -> Dict[str, Dict[str, Set[str]]]:
    """A PEP 503 page of torch wheels -> {version: {variant tag: {os, ...}}}."""
    parser = _Anchors()
    parser.feed(html)
    found: Dict[str, Dict[str, Set[str]]] = {}
    for name in parser.names:
        wheel = parse_wheel_filename(name.split("/")[-1])
        if wheel is None or "+" not in wheel.version:
            continue
        public, tag = wheel.version.split("+", 1)
        if not _TAG.match(tag):
            continue
        platforms = " ".join(wheel.platform)
        os_name = ("windows" if "win" in platforms else "macos" if "macosx" in platforms
                   else "linux" if "linux" in platforms else None)
        if os_name:
            found.setdefault(public, {}).setdefault(tag, set()).add(os_name)
    return found


# --------------------------------------------------------------------------- fetching


@dataclass
class Derived:
    """What PyPI proves about one torch release."""

    version: str
    date: Optional[str] = None
    python: Optional[str] = None
    python_list: List[str] = field(default_factory=list)
    triton: Optional[str] = None
    default_tag: Optional[str] = None
    default_cuda: Optional[str] = None
    default_cudnn: Optional[str] = None
    default_arch_list: List[str] = field(default_factory=list)
    cpu_os: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)


def group_versions(files: Iterable[IndexFile], since: str) -> Dict[str, List[IndexFile]]:
    """Wheels of final releases >= ``since``, by version."""
    floor = Version(since)
    grouped: Dict[str, List[IndexFile]] = {}
    for f in files:
        wheel = f.wheel
        if wheel is None or not is_final(wheel.version) or Version(wheel.version) < floor:
            continue
        grouped.setdefault(str(Version(wheel.version)), []).append(f)
    return grouped


def derive_release(version: str, files: List[IndexFile], timeout: float, read_wheels: bool) -> Derived:
    """Everything PyPI's files for one torch version say, fetching the Linux wheel's metadata."""
    d = Derived(version=version, date=first_upload(files))
    d.python_list = python_minors(files)
    d.python = python_spec(d.python_list)
    platforms = {p for f in files if f.wheel for p in f.wheel.platform}
    d.cpu_os = sorted({"windows" for p in platforms if p.startswith("win")}
                      | {"macos" for p in platforms if p.startswith("macosx")})
    wheel = linux_x86_64_wheel(files)
    if wheel is None:
        d.problems.append(f"torch {version}: no Linux x86_64 wheel on PyPI")
        return d
    try:
        meta = parse_metadata(wheel_metadata(wheel, timeout))
    except IndexUnavailable as exc:
        d.problems.append(f"torch {version}: metadata unreadable: {exc}")
        return d
    python = next((m for m in (re.fullmatch(r"cp(\d)(\d+)", t) for t in wheel.wheel.python) if m), None)
    env = {"python_version": f"{python.group(1)}.{python.group(2)}",
           "python_full_version": f"{python.group(1)}.{python.group(2)}.0"} if python else {}
    found = pins(meta.requires_dist, env)
    d.triton = triton_from_pins(found)
    d.default_cudnn = cudnn_from_pins(found)
    d.default_cuda = cuda_from_pins(found)
    if read_wheels:
        remote = RemoteZip(wheel.url, timeout)
        try:
            version_py = remote.read("torch/version.py").decode("utf-8", "replace")
            d.default_cuda = cuda_from_version_py(version_py) or d.default_cuda
            if d.default_cuda:
                d.default_arch_list = arch_list_from_binary(remote.read("torch/lib/libtorch_python.so"))
        except IndexUnavailable as exc:
            d.problems.append(f"torch {version}: wheel contents unreadable: {exc}")
    d.default_tag = cuda_tag(d.default_cuda) if d.default_cuda else None
    return d


def companion_releases(project: str, timeout: float, not_before: Optional[str], workers: int,
                       log: Log) -> List[Companion]:
    """Every final ``project`` release uploaded on or after ``not_before``, with its torch requirement."""
    files = project_files(project, timeout)
    by_version: Dict[str, List[IndexFile]] = {}
    for f in files:
        wheel = f.wheel
        if wheel is None or not is_final(wheel.version):
            continue
        by_version.setdefault(str(Version(wheel.version)), []).append(f)
    wanted = {v: fs for v, fs in by_version.items() if not not_before or (first_upload(fs) or "") >= not_before}

    def one(item: Tuple[str, List[IndexFile]]) -> Optional[Companion]:
        version, fs = item
        pick = linux_x86_64_wheel(fs) or next((f for f in fs if not f.yanked), None)
        if pick is None:
            return None
        try:
            spec = torch_requirement(parse_metadata(wheel_metadata(pick, timeout)).requires_dist)
        except IndexUnavailable as exc:
            log(f"{project} {version}: {exc}")
            return None
        return Companion(version, first_upload(fs), spec)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [c for c in pool.map(one, sorted(wanted.items())) if c is not None]


def wheel_index_variants(timeout: float, log: Log) -> Optional[Dict[str, Dict[str, Set[str]]]]:
    """Variant tags per release from download.pytorch.org, or None (said in the log) when unreachable."""
    try:
        html = fetch(PYTORCH_WHEEL_INDEX, timeout).decode("utf-8", "replace")
    except IndexUnavailable as exc:
        log(f"PyTorch wheel index unreachable, keeping the curated variants: {exc}")
        return None
    return parse_wheel_index(html)


# --------------------------------------------------------------------------- merging


def _variant_order(v: dict) -> Tuple[int, Tuple[int, ...]]:
    tag = v.get("tag", "")
    nums = tuple(int(n) for n in re.findall(r"\d+", tag))
    kind = 0 if tag.startswith("cu") else 1 if tag.startswith("rocm") else 2
    return kind, tuple(-n for n in nums)


def merge_companions(row: dict, paired: Dict[str, Optional[str]]) -> Dict[str, Optional[str]]:
    """A release's ``companions``: the derived pairing where there is one, else what the row already says
    (its curated ``companions`` or ``torchvision`` / ``torchaudio`` fields), else null."""
    old = dict(row.get("companions") or {})
    out: Dict[str, Optional[str]] = {}
    for name in COMPANIONS:
        value = paired.get(name)
        if value is None:
            value = old.get(name, row.get(name))
        out[name] = value
    return out


def merge_release(existing: Optional[dict], d: Derived, vision: Optional[str], audio: Optional[str],
                  index_variants: Optional[Dict[str, Set[str]]],
                  companions: Optional[Dict[str, Optional[str]]] = None) -> dict:
    """One release row: PyPI-derived fields replace, curated fields stay, new variants are added."""
    row = dict(existing or {})
    row["version"] = d.version
    paired = dict(companions or {})
    paired.setdefault("torchvision", vision)
    paired.setdefault("torchaudio", audio)
    row["companions"] = merge_companions(row, paired)
    vision, audio = row["companions"]["torchvision"], row["companions"]["torchaudio"]
    for key, value in (("torchvision", vision), ("torchaudio", audio), ("python", d.python),
                       ("date", d.date), ("triton", d.triton)):
        if value is not None:
            row[key] = value
        else:
            row.setdefault(key, None)
    variants = [dict(v) for v in row.get("variants", [])]
    by_tag = {v["tag"]: v for v in variants}
    if d.default_tag:
        for v in variants:
            v["pypi_default"] = v["tag"] == d.default_tag
        target = by_tag.get(d.default_tag)
        if target is None:
            target = {"tag": d.default_tag, "cuda": d.default_cuda, "os": ["linux"], "arch_list": [],
                      "cudnn": None, "pypi_default": True, "python": []}
            variants.append(target)
            by_tag[d.default_tag] = target
        target["cuda"] = d.default_cuda
        if "linux" not in target.setdefault("os", []):
            target["os"].append("linux")
        if d.default_cudnn:
            target["cudnn"] = d.default_cudnn
        if d.default_arch_list:
            target["arch_list"] = d.default_arch_list
        if d.python_list:
            target["python"] = d.python_list
    if d.cpu_os:
        cpu = by_tag.get("cpu")
        if cpu is None:
            cpu = {"tag": "cpu", "cuda": None, "os": [], "arch_list": [], "cudnn": None,
                   "pypi_default": False, "python": []}
            variants.append(cpu)
            by_tag["cpu"] = cpu
        cpu["os"] = sorted(set(cpu.get("os", [])) | set(d.cpu_os), key=["linux", "windows", "macos"].index)
    for tag, systems in sorted((index_variants or {}).items()):
        v = by_tag.get(tag)
        if v is None:
            v = {"tag": tag, "cuda": _cuda_of_tag(tag), "os": [], "arch_list": [], "cudnn": None,
                 "pypi_default": False, "python": []}
            variants.append(v)
            by_tag[tag] = v
        v["os"] = sorted(set(v.get("os", [])) | systems, key=["linux", "windows", "macos"].index)
    row["variants"] = sorted(variants, key=_variant_order)
    ordered = {k: row.get(k) for k in ("version", "torchvision", "torchaudio", "python", "date", "triton")}
    ordered["variants"] = row["variants"]
    ordered["companions"] = row["companions"]
    ordered.update({k: v for k, v in row.items() if k not in ordered})
    return ordered


def _cuda_of_tag(tag: str) -> Optional[str]:
    m = re.fullmatch(r"cu(\d+)(\d)", tag)
    return f"{int(m.group(1))}.{m.group(2)}" if m else None


def _curated_row(row: dict) -> dict:
    """A release refresh did not derive, kept whole, with ``companions`` (after ``variants``) made from its own
    fields."""
    out = {k: v for k, v in row.items() if k != "companions"}
    companions = merge_companions(row, {})
    keys = list(out)
    at = keys.index("variants") + 1 if "variants" in keys else len(keys)
    return {**{k: out[k] for k in keys[:at]}, "companions": companions, **{k: out[k] for k in keys[at:]}}


def merge(existing: dict, derived: Dict[str, Derived], vision: Dict[str, str], audio: Dict[str, str],
          index: Optional[Dict[str, Dict[str, Set[str]]]], today: str,
          companions: Optional[Dict[str, Dict[str, str]]] = None) -> dict:
    """The whole file: every derived release merged over its curated row, curated-only rows kept.

    ``companions`` maps a companion name to its pairing (torch version -> companion version); the
    torchvision/torchaudio pairs may come in it or in ``vision`` / ``audio``."""
    old = {r["version"]: r for r in existing.get("releases", []) if isinstance(r, dict) and "version" in r}
    pairs = {name: dict((companions or {}).get(name) or {}) for name in COMPANIONS}
    pairs["torchvision"] = {**vision, **pairs["torchvision"]}
    pairs["torchaudio"] = {**audio, **pairs["torchaudio"]}
    releases = []
    for version in sorted(set(old) | set(derived), key=Version, reverse=True):
        if version in derived:
            releases.append(merge_release(old.get(version), derived[version], pairs["torchvision"].get(version),
                                          pairs["torchaudio"].get(version), (index or {}).get(version),
                                          {name: pairs[name].get(version) for name in COMPANIONS}))
        else:
            releases.append(_curated_row(old[version]))
    out = {k: v for k, v in existing.items() if k != "releases"}
    out["generated"] = today
    sources = list(existing.get("sources", []))
    for url in [PYPI_PROJECT.format(name="torch")] + [PYPI_PROJECT.format(name=n) for n in COMPANIONS]:
        if not any(str(s).startswith(url) for s in sources):
            sources.append(url)
    out["sources"] = sources
    out["releases"] = releases
    return out


def dumps(data: dict) -> str:
    """JSON with one field per line and short lists (tags, arch lists) on one line, for reviewable diffs."""
    text = json.dumps(data, indent=2, ensure_ascii=False)

    def inline(match: "re.Match[str]") -> str:
        items = [s.strip().rstrip(",") for s in match.group(2).strip().split("\n")]
        joined = "[" + ", ".join(items) + "]"
        return match.group(1) + joined if len(joined) <= 100 else match.group(0)

    pattern = r'(: |^\s*)\[\n((?:[ \t]*(?:"[^"\n]*"|-?\d[\d.]*|null|true|false),?\n)+)[ \t]*\]'
    return re.sub(pattern, inline, text, flags=re.M) + "\n"


# --------------------------------------------------------------------------- command line


def run(out: Path, since: str, timeout: float, read_wheels: bool, workers: int, log: Log) -> dict:
    """Fetch, derive, merge and write; returns the written data."""
    existing: dict = {}
    if out.exists():
        try:
            existing = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SystemExit(f"refresh: {out} is not valid JSON ({exc}); fix or remove it first")
    files = project_files("torch", timeout)
    grouped = group_versions(files, since)
    log(f"torch: {len(grouped)} final releases >= {since} on PyPI")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        derived = {d.version: d for d in pool.map(
            lambda item: derive_release(item[0], item[1], timeout, read_wheels), sorted(grouped.items()))}
    for d in derived.values():
        for problem in d.problems:
            log(problem)
    dates = sorted(d.date for d in derived.values() if d.date)
    not_before = None
    if dates:
        not_before = (_dt.date.fromisoformat(dates[0]) - _dt.timedelta(days=30)).isoformat()
    torch_dates = {v: d.date for v, d in derived.items()}
    tables = existing.get("companion_tables") or {}
    pairs: Dict[str, Dict[str, str]] = {}
    fallbacks: Dict[str, List[str]] = {}
    for name in COMPANIONS:
        found = companion_releases(name, timeout, not_before, workers, log)
        rows = (tables.get(name) or {}).get("rows")
        if name in TABLE_COMPANIONS and rows:
            pairs[name], fallbacks[name] = pair_by_table(found, torch_dates, rows)
        else:
            if name in TABLE_COMPANIONS:
                log(f"{name}: no companion_tables.{name}.rows in {out}: paired by upload date only")
            pairs[name] = pair_companions(found, torch_dates)
    index = wheel_index_variants(timeout, log)
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    data = merge(existing, derived, pairs["torchvision"], pairs["torchaudio"], index, today, pairs)
    if fallbacks:
        data["companion_fallback"] = {
            name: ("torch releases no table row admits, paired by the upload-date rule: "
                   + (", ".join(versions) if versions else "none"))
            for name, versions in fallbacks.items()}
    out.write_text(dumps(data), encoding="utf-8")
    return data


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: exit 0 when the file was written, 2 when PyPI could not be read."""
    parser = argparse.ArgumentParser(prog="python -m envcheck.knowledge.refresh",
                                     description="Regenerate torch_releases.json from PyPI's own metadata, "
                                                 "keeping the curated fields.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="file to merge into and write (default: %(default)s)")
    parser.add_argument("--since", default="1.12", help="oldest torch release to cover (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=8, help="parallel requests (default: %(default)s)")
    parser.add_argument("--no-wheel-contents", action="store_true",
                        help="skip the range reads of torch/version.py and libtorch_python.so (CUDA then comes "
                             "from the pins only and arch lists are not re-derived)")
    args = parser.parse_args(argv)
    try:
        Version(args.since)
    except InvalidVersion:
        parser.error(f"--since {args.since!r} is not a version")
    started = time.monotonic()

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    try:
        data = run(args.out, args.since, args.timeout, not args.no_wheel_contents, args.workers, log)
    except IndexUnavailable as exc:
        log(f"refresh: PyPI could not be read: {exc}")
        return 2
    log(f"wrote {args.out}: {len(data['releases'])} releases in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
