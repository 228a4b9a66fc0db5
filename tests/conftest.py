"""Shared session fixtures: real virtual environments, built once per test session.

Building them is the slow part of the suite (a torch wheel is ~190 MB), so every fixture here is
session-scoped and skips, with the reason, when the machine cannot build it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

#: the test folders mirror the package (tests/rules/ for envcheck/rules/, ...); their modules share helpers by
#: name (``from test_i18n import ZH``), so every folder is importable whatever order pytest collects them in
_TESTS = Path(__file__).resolve().parent
for _folder in sorted(p for p in _TESTS.iterdir() if p.is_dir() and p.name.isidentifier() and p.name != "fixtures"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

#: the CPU torch wheel the torch venv installs (pip's find-links on the dev box holds it)
TORCH_PIN = "torch==2.13.0"
TORCH_PYTHON = "3.11"


def find_python(minor: str) -> Optional[str]:
    """An interpreter for ``minor`` ("3.8"): python3.8 on PATH, else a pyenv install, else None."""
    if "%d.%d" % sys.version_info[:2] == minor:
        return sys.executable
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for version_dir in sorted(glob.glob(os.path.join(root, "versions", minor + ".*"))):
        for name in ("python3", "python"):
            candidate = os.path.join(version_dir, "bin", name)
            if os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which("python" + minor)
    if found and "shims" not in Path(found).parts:  # a pyenv shim may name a version it lacks
        return found
    return None


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def clean_env(**extra: str) -> Dict[str, str]:
    """A minimal environment for running a target: no VIRTUAL_ENV/PYTHONPATH leaking in from pytest."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")}
    env.update(extra)
    return env


def _create_venv(python: str, target: Path, *args: str) -> None:
    proc = subprocess.run([python, "-m", "venv", *args, str(target)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"cannot create a venv with {python}: {proc.stderr.strip()[-500:]}")


@pytest.fixture(scope="session")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python3 -m venv` with nothing installed (pip only): a target without torch."""
    venv = tmp_path_factory.mktemp("venvs") / "bare"
    _create_venv(sys.executable, venv)
    return venv


@pytest.fixture(scope="session")
def torch_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain venv with the real CPU torch 2.13.0 (cp311 wheel).

    Installed with --no-deps plus typing_extensions, the only dependency `import torch` needs
    (sympy, networkx, jinja2, fsspec, filelock are imported lazily by the compiler stack), which
    keeps the build to ~15 s from a local wheel.
    """
    python = find_python(TORCH_PYTHON)
    if python is None:
        pytest.skip(f"no Python {TORCH_PYTHON} to build the torch venv (the CPU wheel is cp311)")
    venv = tmp_path_factory.mktemp("venvs") / "torch-cpu"
    _create_venv(python, venv)
    proc = subprocess.run(
        [str(venv_python(venv)), "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q",
         TORCH_PIN, "typing_extensions"],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        pytest.skip(f"pip install {TORCH_PIN} failed (no local wheel / no registry?): {proc.stderr.strip()[-500:]}")
    return venv
