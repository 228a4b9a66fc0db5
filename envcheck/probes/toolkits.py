"""CUDA toolkits (nvcc) on the machine: where each one is, its version, and which one is in charge.

A machine often holds several toolkits (a system /usr/local/cuda-X, a conda cuda-nvcc, pip's
nvidia-cuda-nvcc wheel), and the one a plain ``nvcc`` runs is not always the one
``torch.utils.cpp_extension`` builds with. This probe lists every toolkit once (deduplicated by the
real path of its nvcc), marks the active one and the one torch extensions would use, and reads each
version from ``version.json`` / ``version.txt`` or, failing those, from ``nvcc -V``.
"""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..runner import CommandResult, run_parallel, which
from ..snapshot import CudaToolkit, ProbeIssue
from ..versions import dotted, major_minor
from . import ProbeContext, issue_from, read_text

PROBE = "toolkits"
IS_WINDOWS = os.name == "nt"
#: torch.utils.cpp_extension globs exactly this on Windows
WINDOWS_TORCH_GLOB = "C:/Program Files/NVIDIA GPU Computing Toolkit/CUDA/v*.*"

_RELEASE = re.compile(r"\brelease\s+(\d+(?:\.\d+)+)(?:\s*,\s*V(\d+(?:\.\d+)+))?")
_VERSION_TXT = re.compile(r"CUDA Version\s+(\d+(?:\.\d+)+)")


@dataclass
class _Candidate:
    root: str
    nvcc: Optional[str]
    source: str


def _dotted_str(text: Optional[str]) -> Optional[str]:
    nums = dotted(text)
    return ".".join(str(n) for n in nums) if nums else None


def parse_nvcc_version(text: str) -> Tuple[Optional[str], Optional[str]]:
    """``nvcc -V`` output -> ("13.0", "13.0.88"); (None, None) when it names no release."""
    match = _RELEASE.search(text or "")
    if not match:
        return None, None
    return major_minor(match.group(1)), _dotted_str(match.group(2))


def parse_version_json(text: Optional[str]) -> Optional[str]:
    """A toolkit's version.json (CUDA >= 11.1) -> "12.4.1", or None when unreadable."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    cuda = data.get("cuda") if isinstance(data, dict) else None
    version = cuda.get("version") if isinstance(cuda, dict) else None
    return _dotted_str(version) if isinstance(version, str) else None


def parse_version_txt(text: Optional[str]) -> Optional[str]:
    """A toolkit's version.txt (CUDA <= 11.0), "CUDA Version 10.2.89" -> "10.2.89"."""
    match = _VERSION_TXT.search(text or "")
    return _dotted_str(match.group(1)) if match else None


def interpreter_prefix(python: Optional[str]) -> Optional[str]:
    """The environment prefix of an interpreter path, without running it (venv/bin/python -> venv)."""
    if not python:
        return None
    parent = os.path.dirname(os.path.abspath(python))
    if os.path.basename(parent).lower() in ("bin", "scripts"):
        return os.path.dirname(parent)
    return parent


def conda_prefixes(ctx: ProbeContext) -> List[str]:
    """$CONDA_PREFIX, and the target interpreter's prefix when it is a conda environment."""
    out: List[str] = []
    active = ctx.env.get("CONDA_PREFIX")
    if active:
        out.append(active)
    prefix = interpreter_prefix(ctx.python)
    if prefix and os.path.isdir(os.path.join(prefix, "conda-meta")) and prefix not in out:
        out.append(prefix)
    return out


def _nvcc_in(root: str) -> Optional[str]:
    for name in ("nvcc.exe", "nvcc") if IS_WINDOWS else ("nvcc",):
        path = os.path.join(root, "bin", name)
        if os.path.isfile(path):
            return path
    return None


def _path_dirs(ctx: ProbeContext) -> List[str]:
    seen: List[str] = []
    for entry in ctx.env.get("PATH", os.defpath).split(os.pathsep):
        if entry and entry not in seen:
            seen.append(entry)
    return seen


def _glob(pattern_base: str, tail: str) -> List[str]:
    """Sorted glob of ``tail`` under a literal base (a fake root may hold glob characters)."""
    return sorted(glob.glob(os.path.join(glob.escape(pattern_base), tail)))


def _site_packages(prefix: str) -> List[str]:
    dirs = _glob(prefix, os.path.join("lib", "python3*", "site-packages"))
    dirs += _glob(prefix, os.path.join("lib64", "python3*", "site-packages"))
    dirs += _glob(prefix, os.path.join("Lib", "site-packages"))
    return dirs


def _candidates(ctx: ProbeContext) -> List[_Candidate]:
    """Every place an nvcc may live, in the order sources are reported (first sighting wins)."""
    out: List[_Candidate] = []
    for directory in _path_dirs(ctx):
        exe = which("nvcc", {"PATH": directory})
        if exe:
            out.append(_Candidate(os.path.dirname(os.path.dirname(exe)), exe, "PATH"))
    for var in ("CUDA_HOME", "CUDA_PATH"):
        root = ctx.env.get(var)
        if root:  # kept even without nvcc: torch extensions would still use it
            out.append(_Candidate(root, _nvcc_in(root), var))
    fixed = [(str(ctx.path("/usr/local/cuda")), "/usr/local/cuda")]
    fixed += [(root, "glob") for root in _glob(str(ctx.path("/usr/local")), "cuda-*")]
    fixed.append((str(ctx.path("/opt/cuda")), "glob"))
    for prefix in conda_prefixes(ctx):
        fixed.append((os.path.join(prefix, "Library") if IS_WINDOWS else prefix, "conda"))
    for root, source in fixed:
        nvcc = _nvcc_in(root)
        if nvcc:
            out.append(_Candidate(root, nvcc, source))
    env_prefix = interpreter_prefix(ctx.python)
    if env_prefix:
        for site in _site_packages(env_prefix):
            for exe in _glob(site, os.path.join("nvidia", "*", "bin", "nvcc*")):
                if os.path.basename(exe) in ("nvcc", "nvcc.exe") and os.path.isfile(exe):
                    out.append(_Candidate(os.path.dirname(os.path.dirname(exe)), exe, "pip"))
    if IS_WINDOWS:
        base = ctx.env.get("ProgramFiles") or ctx.env.get("PROGRAMFILES") or r"C:\Program Files"
        for root in _glob(os.path.join(base, "NVIDIA GPU Computing Toolkit", "CUDA"), "v*"):
            nvcc = _nvcc_in(root)
            if nvcc:
                out.append(_Candidate(root, nvcc, "windows"))
    return out


def _same_path(a: Optional[str], b: Optional[str]) -> bool:
    if not a or not b:
        return False
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _key(c: _Candidate) -> Tuple[str, str]:
    if c.nvcc:
        return "nvcc", os.path.normcase(os.path.realpath(c.nvcc))
    return "root", os.path.normcase(os.path.realpath(c.root))


def _cuda_home_guess(ctx: ProbeContext) -> Tuple[Optional[str], Optional[str]]:
    """torch.utils.cpp_extension._find_cuda_home() against ctx.env, with the source of its answer."""
    home = ctx.env.get("CUDA_HOME") or ctx.env.get("CUDA_PATH")
    if home is not None:
        source = "CUDA_HOME" if ctx.env.get("CUDA_HOME") else "CUDA_PATH"
        return (home or None), source
    nvcc = ctx.which("nvcc")
    if nvcc:
        return os.path.dirname(os.path.dirname(nvcc)), "PATH"
    if IS_WINDOWS:
        homes = sorted(glob.glob(WINDOWS_TORCH_GLOB))
        home, source = (homes[0] if homes else ""), "windows"
    else:
        home, source = str(ctx.path("/usr/local/cuda")), "/usr/local/cuda"
    if not home or not os.path.exists(home):
        return None, None
    return home, source


def cpp_extension_cuda_home(ctx: ProbeContext) -> Optional[str]:
    """The toolkit root torch.utils.cpp_extension would build with (CUDA_HOME, CUDA_PATH, nvcc, default)."""
    return _cuda_home_guess(ctx)[0]


def find_toolkits(ctx: ProbeContext) -> List[CudaToolkit]:
    """Every toolkit once, with source, active and used_by_torch_extensions set; versions not read yet."""
    found: Dict[Tuple[str, str], CudaToolkit] = {}
    for cand in _candidates(ctx):
        key = _key(cand)
        if key not in found:
            found[key] = CudaToolkit(path=cand.root, nvcc=cand.nvcc, source=cand.source)
    toolkits = list(found.values())

    active = ctx.which("nvcc")
    for tk in toolkits:
        tk.active = _same_path(tk.nvcc, active)

    home, source = _cuda_home_guess(ctx)
    if home:
        match = next((tk for tk in toolkits if _same_path(tk.path, home)), None)
        if match is None:
            match = CudaToolkit(path=home, nvcc=_nvcc_in(home), source=source)
            toolkits.append(match)
        match.used_by_torch_extensions = True
    return toolkits


def _version_from_files(root: str) -> Optional[str]:
    version = parse_version_json(read_text(Path(root, "version.json")))
    if version is None:
        version = parse_version_txt(read_text(Path(root, "version.txt")))
    return version


def _apply_nvcc(tk: CudaToolkit, result: Optional[CommandResult], issues: List[ProbeIssue]) -> None:
    if result is None:
        tk.error = "nvcc -V: no answer"
        issues.append(ProbeIssue(probe=PROBE, kind="timeout", message=tk.error, command=[str(tk.nvcc), "-V"]))
        return
    version, full = parse_nvcc_version(result.output)
    if result.ok and version:
        tk.version, tk.full_version = version, full
        return
    if result.ok:
        first = (result.output.strip().splitlines() or [""])[0][:160]
        tk.error = f"unrecognised `nvcc -V` output: {first!r}"
        issues.append(issue_from(PROBE, result, kind="garbage"))
        return
    tk.error = result.describe()
    tk.version, tk.full_version = version, full
    issues.append(issue_from(PROBE, result))


def probe(ctx: ProbeContext) -> Tuple[List[CudaToolkit], List[ProbeIssue]]:
    """All CUDA toolkits with versions; a broken nvcc becomes ``error`` and a ProbeIssue."""
    toolkits = find_toolkits(ctx)
    issues: List[ProbeIssue] = []
    to_run: Dict[str, CudaToolkit] = {}
    for i, tk in enumerate(toolkits):
        full = _version_from_files(tk.path) if tk.path else None
        if full:
            tk.version, tk.full_version = major_minor(full), full
        elif tk.nvcc:
            to_run[str(i)] = tk
        elif tk.path and not os.path.isdir(tk.path):
            tk.error = f"{tk.path} does not exist"
        else:
            tk.error = f"no nvcc in {os.path.join(tk.path or '', 'bin')}"
    if to_run:
        tasks = {key: (lambda nvcc=tk.nvcc: ctx.run([str(nvcc), "-V"])) for key, tk in to_run.items()}
        results, _errors = run_parallel(tasks, ctx.timeout + 2.0)
        for key, tk in to_run.items():
            _apply_nvcc(tk, results.get(key), issues)
    return toolkits, issues
