"""Regenerate ``data/wheels.json``: which CPython minors each torch-family release has wheels for, per platform.

    python -m envcheck.knowledge.refresh_wheels [--out PATH] [--record DIR] [--from DIR] [--timeout S] [--workers N]

install-cmd must know, before it prints ``pip install torchaudio==X``, that X has a wheel for the
target's Python and platform, and which build (CUDA or CPU) PyPI serves there. PyPI proves this
itself, so it is derived, never curated: the JSON API (https://pypi.org/pypi/<name>/json) lists the
files of every release; the Linux x86_64 wheel's METADATA (PEP 658 ``.metadata`` file, or the wheel's
own ``*.dist-info/METADATA`` by HTTP range reads) names its torch requirement; for torch, each
platform's wheel's ``torch/version.py`` (range reads, ~1 MB a wheel) names its build.

The work is two steps so that a test can replay it: :func:`record` fetches a *listing* (the files per
release as the JSON API lists them, and what was read from the wheels), and :func:`derive_package`, a
pure function, turns a listing into facts. ``--record DIR`` saves the listings (the test fixtures);
``--from DIR`` derives from saved listings without the network.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import re
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from . import DATA_DIR
from .pypi import (IndexFile, IndexUnavailable, RemoteZip, WheelName, fetch, parse_metadata,
                   parse_wheel_filename, project_files, wheel_metadata)
from .refresh import (LINUX_X86_64, cuda_from_pins, cuda_from_version_py, cuda_tag, is_final, pins,
                      torch_requirement)

PACKAGES = ("torch", "torchvision", "torchaudio", "xformers", "torchao", "torchcodec")
PLATFORMS = ("linux-x86_64", "linux-aarch64", "windows-x86_64", "windows-arm64", "macos-arm64", "macos-x86_64")
#: the CPython minors an abi3 or py3 wheel is expanded to (those its Requires-Python admits)
MINORS = tuple(f"3.{m}" for m in range(8, 16))
JSON_API = "https://pypi.org/pypi/{name}/json"
DEFAULT_OUT = DATA_DIR / "wheels.json"
TORCH_SINCE = "1.12"
#: companions: final releases first uploaded on or after this day (the era of torch 1.12)
COMPANIONS_SINCE = "2022-01-01"
METADATA_SOURCE = ("wheel METADATA: the PEP 658 <wheel url>.metadata file, else the wheel's *.dist-info/METADATA "
                   "read by HTTP range requests; torch/version.py of each platform's torch wheel the same way")
#: Requires-Dist markers are evaluated for each platform's wheel
_ENV = {
    "linux-x86_64": LINUX_X86_64,
    "linux-aarch64": dict(LINUX_X86_64, platform_machine="aarch64"),
    "windows-x86_64": {"platform_system": "Windows", "platform_machine": "AMD64", "sys_platform": "win32",
                       "os_name": "nt", "implementation_name": "cpython", "platform_python_implementation": "CPython"},
    "windows-arm64": {"platform_system": "Windows", "platform_machine": "ARM64", "sys_platform": "win32",
                      "os_name": "nt", "implementation_name": "cpython", "platform_python_implementation": "CPython"},
    "macos-arm64": {"platform_system": "Darwin", "platform_machine": "arm64", "sys_platform": "darwin",
                    "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython"},
    "macos-x86_64": {"platform_system": "Darwin", "platform_machine": "x86_64", "sys_platform": "darwin",
                     "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython"},
}
_BUILD_TAG = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(?:\.\d+)+)$")
_MACOS = re.compile(r"^macosx_\d+_\d+_(.+)$")
#: Requires-Dist lines a listing keeps: the ones the derivation reads (torch, and the CUDA runtime pins)
_KEPT_REQUIREMENT = re.compile(r"^(torch|nvidia-[A-Za-z0-9_.-]+|cuda-[A-Za-z0-9_.-]+)\b", re.I)

Log = Callable[[str], None]
Listing = Dict[str, object]


# --------------------------------------------------------------------------- pure: tags


def platform_keys(platform_tags: Iterable[str]) -> List[str]:
    """A wheel's platform tags -> the platform keys it installs on ("any" -> all of them); musllinux and
    32-bit tags map to none."""
    keys = set()
    for tag in platform_tags:
        if tag == "any":
            return list(PLATFORMS)
        if tag.startswith(("manylinux", "linux_")):
            if tag.endswith("x86_64"):
                keys.add("linux-x86_64")
            elif tag.endswith("aarch64"):
                keys.add("linux-aarch64")
        elif tag == "win_amd64":
            keys.add("windows-x86_64")
        elif tag == "win_arm64":
            keys.add("windows-arm64")
        else:
            m = _MACOS.match(tag)
            if m:
                arch = m.group(1)
                if arch in ("arm64", "universal2"):
                    keys.add("macos-arm64")
                if arch in ("x86_64", "intel", "universal2", "universal"):
                    keys.add("macos-x86_64")
    return [k for k in PLATFORMS if k in keys]


def _minor_key(minor: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in minor.split("."))


def _admitted(minor: str, requires_python: Optional[str]) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(Version(minor), prereleases=True)
    except InvalidSpecifier:
        return True


def wheel_pythons(wheel: WheelName, requires_python: Optional[str]) -> List[str]:
    """The CPython minors a wheel installs on: "cp312-cp312" -> ["3.12"]; free-threaded ("cp313t") -> [];
    "cp310-abi3" / "py3-none" / "py39-none" -> every minor of MINORS from that one on that Requires-Python admits."""
    if wheel.abi.endswith("t"):
        return []
    found = set()
    for tag in wheel.python:
        cp = re.fullmatch(r"cp(\d)(\d+)", tag)
        py = re.fullmatch(r"py(\d)(\d*)", tag)
        if cp and wheel.abi != "abi3":
            found.add(f"{cp.group(1)}.{cp.group(2)}")
            continue
        if cp:
            low = (int(cp.group(1)), int(cp.group(2)))
        elif py and py.group(1) == "3":
            low = (3, int(py.group(2) or 0))
        else:
            continue
        found.update(m for m in MINORS if _minor_key(m) >= low and _admitted(m, requires_python))
    return sorted(found, key=_minor_key)


# --------------------------------------------------------------------------- pure: one release


def _files(rel: dict) -> List[Tuple[str, str, Optional[str], bool]]:
    return [(f[0], f[1], f[2], bool(f[3]) if len(f) > 3 else False) for f in rel.get("files", [])]


def release_requires_python(rel: dict) -> Optional[str]:
    """The Requires-Python most of a release's wheels carry (PyPI lists it per file); None when none does."""
    values = Counter(rp for name, _, rp, _ in sorted(_files(rel)) if rp and name.endswith(".whl"))
    return values.most_common(1)[0][0] if values else None


def pick_wheels(files: Sequence[Tuple[str, str, Optional[str], bool]], platforms: Sequence[str]) -> Dict[str, str]:
    """Per platform key, the regular wheel for the oldest Python it serves (where the most pins apply)."""
    best: Dict[str, Tuple[Tuple[int, ...], str]] = {}
    for name, _, _, yanked in files:
        wheel = parse_wheel_filename(name)
        if wheel is None or yanked or wheel.abi.endswith("t"):
            continue
        keys = platform_keys(wheel.platform)
        for tag in wheel.python:
            m = re.fullmatch(r"(?:cp|py)(\d)(\d*)", tag)
            if not m:
                continue
            order = (int(m.group(1)), int(m.group(2) or 0), 0 if "any" not in wheel.platform else 1)
            for key in keys:
                if key in platforms and (key not in best or (order, name) < best[key]):
                    best[key] = (order, name)
    return {k: best[k][1] for k in platforms if k in best}


def wanted_reads(package: str, rel: dict) -> Dict[str, str]:
    """The wheels whose contents the derivation needs: for torch one per platform (its build), for the others
    the Linux x86_64 wheel (its torch requirement), else the first platform's."""
    files = _files(rel)
    if package == "torch":
        return pick_wheels(files, PLATFORMS)
    picked = pick_wheels(files, PLATFORMS)
    for key in PLATFORMS:
        if key in picked:
            return {key: picked[key]}
    return {}


def build_of(read: dict, platform: str) -> Optional[str]:
    """The build a torch wheel is ("cu132", "cpu"): torch/version.py's local tag or ``cuda``, else the CUDA
    runtime pins that apply on its platform, else "cpu"; None when nothing was read."""
    version_py = read.get("version_py")
    if isinstance(version_py, dict):
        local = str(version_py.get("version") or "").partition("+")[2]
        if _BUILD_TAG.match(local):
            return local
        return cuda_tag(version_py.get("cuda")) or "cpu"
    if "requires_dist" not in read:
        return None
    python = re.search(r"-cp(\d)(\d+)-", str(read.get("file", "")))
    env = dict(_ENV[platform])
    if python:
        env.update(python_version=f"{python.group(1)}.{python.group(2)}",
                   python_full_version=f"{python.group(1)}.{python.group(2)}.0")
    return cuda_tag(cuda_from_pins(pins(read["requires_dist"], env))) or "cpu"


def derive_release(package: str, rel: dict) -> dict:
    """One release's facts from its listing entry: date, requires_python, torch, platforms (and builds for torch)."""
    files = _files(rel)
    requires_python = release_requires_python(rel)
    platforms: Dict[str, set] = {}
    for name, _, _, yanked in files:
        wheel = parse_wheel_filename(name)
        if wheel is None or yanked:
            continue
        minors = wheel_pythons(wheel, requires_python)
        if not minors:
            continue
        for key in platform_keys(wheel.platform):
            platforms.setdefault(key, set()).update(minors)
    reads: Dict[str, dict] = dict(rel.get("reads") or {})  # type: ignore[arg-type]
    requirement = None
    if package != "torch":
        for key in PLATFORMS:
            if key in reads and "requires_dist" in reads[key]:
                requirement = torch_requirement(reads[key]["requires_dist"]) or None
                break
    # the first upload of a wheel (as refresh dates torch releases); of any file where the release has no wheel
    times = (sorted(t for name, t, _, _ in files if t and name.endswith(".whl"))
             or sorted(t for _, t, _, _ in files if t))
    row: dict = {
        "date": times[0][:10] if times else None,
        "requires_python": requires_python,
        "torch": requirement,
        "platforms": {k: sorted(platforms[k], key=_minor_key) for k in PLATFORMS if k in platforms},
    }
    if package == "torch":
        builds = {k: build_of(reads[k], k) for k in PLATFORMS if k in reads and k in platforms}
        row["builds"] = {k: v for k, v in builds.items() if v}
    return row


def derive_package(package: str, listing: Listing) -> Dict[str, dict]:
    """A recorded listing -> {version: facts}, newest first."""
    releases: Dict[str, dict] = listing.get("releases") or {}  # type: ignore[assignment]
    return {v: derive_release(package, releases[v]) for v in sorted(releases, key=Version, reverse=True)}


def trim_listing(package: str, api: dict, torch_since: str = TORCH_SINCE,
                 companions_since: str = COMPANIONS_SINCE) -> Dict[str, dict]:
    """The JSON API answer -> {version: {"files": [[filename, upload time, requires_python, yanked], ...]}} for
    the final releases in scope (torch >= torch_since; the others first uploaded on or after companions_since)."""
    out: Dict[str, dict] = {}
    for version, files in (api.get("releases") or {}).items():
        if not files or not is_final(version):
            continue
        if package == "torch":
            if Version(version) < Version(torch_since):
                continue
        elif min(str(f.get("upload_time") or "9999") for f in files)[:10] < companions_since:
            continue
        rows = sorted([f["filename"], str(f.get("upload_time") or "")[:19], f.get("requires_python") or None,
                       bool(f.get("yanked"))] for f in files)
        out[str(Version(version))] = {"files": rows}
    return out


# --------------------------------------------------------------------------- network


def read_wheel(file: IndexFile, with_version_py: bool, timeout: float) -> dict:
    """What the derivation reads from one wheel: its torch/CUDA Requires-Dist lines (and torch/version.py)."""
    remote = RemoteZip(file.url, timeout)
    if file.has_metadata is True or not with_version_py:
        text = wheel_metadata(file, timeout)
    else:  # the zip directory is read anyway for version.py: take METADATA from it too
        names = [n for n in remote.members() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        text = remote.read(names[0]).decode("utf-8", "replace") if names else wheel_metadata(file, timeout)
    meta = parse_metadata(text)
    read: dict = {"file": file.filename,
                  "requires_dist": [r for r in meta.requires_dist if _KEPT_REQUIREMENT.match(r)]}
    if with_version_py:
        body = remote.read("torch/version.py").decode("utf-8", "replace")
        m = re.search(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", body, re.M)
        read["version_py"] = {"version": m.group(1) if m else None, "cuda": cuda_from_version_py(body)}
    return read


def record(package: str, timeout: float, workers: int, log: Log) -> Listing:
    """Fetch ``package``'s listing: the JSON API's files per release in scope, and the wheels' reads."""
    url = JSON_API.format(name=package)
    try:
        api = json.loads(fetch(url, timeout, {"Accept": "application/json"}))
    except ValueError as exc:
        raise IndexUnavailable(f"{url}: not JSON ({exc})") from exc
    releases = trim_listing(package, api)
    by_name = {f.filename: f for f in project_files(package, timeout)}  # absolute URLs and PEP 658 flags
    jobs = [(v, key, name) for v, rel in releases.items() for key, name in wanted_reads(package, rel).items()]

    def one(job: Tuple[str, str, str]) -> Tuple[str, str, Optional[dict]]:
        version, key, name = job
        file = by_name.get(name)
        if file is None:
            log(f"{package} {version}: {name} is not in the simple index")
            return version, key, None
        try:
            return version, key, read_wheel(file, package == "torch", timeout)
        except IndexUnavailable as exc:
            log(f"{package} {version}: {exc}")
            return version, key, None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for version, key, read in pool.map(one, jobs):
            if read is not None:
                releases[version].setdefault("reads", {})[key] = read
    for rel in releases.values():
        if "reads" in rel:
            rel["reads"] = {k: rel["reads"][k] for k in PLATFORMS if k in rel["reads"]}
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    ordered = {v: releases[v] for v in sorted(releases, key=Version, reverse=True)}
    return {"recorded": today, "source": url, "metadata_source": METADATA_SOURCE, "package": package,
            "releases": ordered}


def cross_check(package: str, listing: Listing, log: Log) -> None:
    """Say where torch/version.py and the CUDA pins disagree about a build (a sign of a misread wheel)."""
    if package != "torch":
        return
    for version, rel in (listing.get("releases") or {}).items():  # type: ignore[union-attr]
        for key, read in (rel.get("reads") or {}).items():
            by_pins = build_of({k: v for k, v in read.items() if k != "version_py"}, key)
            by_file = build_of(read, key)
            if by_pins != by_file and by_pins != "cpu":
                log(f"torch {version} {key}: version.py says {by_file}, the pins say {by_pins}")


# --------------------------------------------------------------------------- output


def build(listings: Dict[str, Listing], generated: str) -> dict:
    """The wheels.json document from the listings."""
    return {
        "generated": generated,
        "sources": [JSON_API.format(name=p) for p in PACKAGES if p in listings] + [METADATA_SOURCE],
        "scope": f"final releases: torch >= {TORCH_SINCE}; the others first uploaded on or after {COMPANIONS_SINCE}",
        "packages": {p: derive_package(p, listings[p]) for p in PACKAGES if p in listings},
    }


def dumps(data: dict) -> str:
    """Compact, reviewable JSON: one line per release."""
    lines = ["{"]
    head = [k for k in data if k != "packages"]
    for k in head:
        lines.append(f"  {json.dumps(k)}: {json.dumps(data[k], ensure_ascii=False)},")
    lines.append('  "packages": {')
    packages = list(data["packages"].items())
    for i, (name, releases) in enumerate(packages):
        lines.append(f"    {json.dumps(name)}: {{")
        items = list(releases.items())
        for j, (version, row) in enumerate(items):
            comma = "," if j < len(items) - 1 else ""
            lines.append(f"      {json.dumps(version)}: {json.dumps(row, ensure_ascii=False)}{comma}")
        lines.append("    }" + ("," if i < len(packages) - 1 else ""))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dumps_listing(listing: Listing) -> str:
    """A recorded listing: one line per file, for reviewable fixture diffs."""
    text = json.dumps(listing, indent=1, ensure_ascii=False)
    return re.sub(r'\[\n\s+("[^"\n]*\.(?:whl|tar\.gz|zip)"),\n\s+("[^"\n]*"),\n\s+("[^"\n]*"|null),\n\s+(true|false)\n\s+\]',
                  r"[\1, \2, \3, \4]", text) + "\n"


def run(out: Path, record_dir: Optional[Path], from_dir: Optional[Path], timeout: float, workers: int,
        log: Log) -> dict:
    """Fetch (or load) the listings, derive, write ``out`` (and the listings to ``record_dir``)."""
    listings: Dict[str, Listing] = {}
    for package in PACKAGES:
        if from_dir is not None:
            path = from_dir / f"{package}.json"
            listings[package] = json.loads(path.read_text(encoding="utf-8"))
        else:
            started = time.monotonic()
            listings[package] = record(package, timeout, workers, log)
            log(f"{package}: {len(listings[package]['releases'])} releases in {time.monotonic() - started:.1f} s")
        cross_check(package, listings[package], log)
        if record_dir is not None and from_dir is None:
            record_dir.mkdir(parents=True, exist_ok=True)
            (record_dir / f"{package}.json").write_text(dumps_listing(listings[package]), encoding="utf-8")
    generated = min(str(listings[p].get("recorded")) for p in listings)
    data = build(listings, generated)
    out.write_text(dumps(data), encoding="utf-8")
    return data


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: exit 0 when the file was written, 2 when PyPI could not be read."""
    parser = argparse.ArgumentParser(prog="python -m envcheck.knowledge.refresh_wheels",
                                     description="Regenerate wheels.json (per-platform wheels of torch, torchvision, "
                                                 "torchaudio, xformers, torchao, torchcodec) from PyPI.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="file to write (default: %(default)s)")
    parser.add_argument("--record", type=Path, help="also save each package's listing here (the test fixtures: "
                                                    "tests/fixtures/index/pypi)")
    parser.add_argument("--from", dest="from_dir", type=Path, help="derive from listings saved with --record, "
                                                                   "without the network")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=8, help="parallel requests (default: %(default)s)")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    started = time.monotonic()
    try:
        data = run(args.out, args.record, args.from_dir, args.timeout, args.workers, log)
    except IndexUnavailable as exc:
        log(f"refresh_wheels: PyPI could not be read: {exc}")
        return 2
    counts = ", ".join(f"{p} {len(r)}" for p, r in data["packages"].items())
    log(f"wrote {args.out} ({counts} releases) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
