"""Shared session fixtures: real virtual environments, built once per test session.

Building them is the slow part of the suite (a torch wheel is ~190 MB), so every fixture here is
session-scoped and skips, with the reason, when the machine cannot build it. Under pytest-xdist (the default
run is ``-n 2``) each worker is its own session, so the venvs are built once for the whole run: the first
worker builds them under a file lock in the run's shared temp folder, the others wait and reuse them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

try:
    import fcntl  # POSIX: the lock that lets xdist workers share one build
except ImportError:  # pragma: no cover - Windows: each worker builds its own
    fcntl = None  # type: ignore[assignment]

#: the test folders mirror the package (tests/rules/ for envcheck/rules/, ...); their modules share helpers by
#: name (``from test_i18n import ZH``), so every folder is importable whatever order pytest collects them in
_TESTS = Path(__file__).resolve().parent
for _folder in sorted(p for p in _TESTS.iterdir() if p.is_dir() and p.name.isidentifier() and p.name != "fixtures"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

#: the most xdist workers the default run starts: the suite is ~2,400 tests, most of them start a subprocess;
#: past a few workers the start-up of each (and the shared venv builds) outweighs the gain
MAX_WORKERS = 4


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Run in parallel by default (issue 17 req 13: the suite in under 4 minutes on 2 cores): as if ``-n auto
    --dist loadgroup`` were given, unless the command line says how (``-n0`` or ``-p no:xdist`` run serially),
    pytest-xdist is not installed, or the run is a worker, ``--pdb`` or ``--collect-only``. Set here rather than
    in addopts, where ``-n`` is an unknown option to a pytest without xdist."""
    if not config.pluginmanager.hasplugin("xdist") or os.environ.get("PYTEST_XDIST_WORKER") is not None:
        return
    if config.getoption("numprocesses", None) is not None or config.getoption("usepdb", False):
        return
    if config.getoption("collectonly", False) or config.getoption("tx", None):
        return
    config.option.numprocesses = "auto"
    if config.getoption("dist", "no") == "no":
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)  # an xdist hook: no error where xdist is absent
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per usable core, at least 2 and at most MAX_WORKERS (a 64-core box would
    otherwise start 64 interpreters for a few minutes of tests); PYTEST_XDIST_AUTO_NUM_WORKERS still wins."""
    wanted = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "")
    if wanted.isdigit():
        return int(wanted)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(2, min(cores, MAX_WORKERS))


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


def shared_build(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """``build(target)`` once per test run, whatever the number of xdist workers (the pytest-xdist docs'
    pattern: the workers' base temp folders share a parent). A skip is remembered, so every worker skips
    with the same reason instead of retrying; a half-done build (an error) is redone by the next worker."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None or fcntl is None:
        target = tmp_path_factory.mktemp("venvs") / name
        build(target)
        return target
    root = tmp_path_factory.getbasetemp().parent / "shared-venvs"
    root.mkdir(exist_ok=True)
    target, ready, skipped = root / name, root / (name + ".ready"), root / (name + ".skip")
    with open(root / (name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if skipped.exists():
                pytest.skip(skipped.read_text(encoding="utf-8"))
            if not ready.exists():
                if target.exists():
                    shutil.rmtree(target)
                try:
                    build(target)
                except pytest.skip.Exception as exc:
                    skipped.write_text(str(exc.msg), encoding="utf-8")
                    raise
                ready.write_text("", encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


@pytest.fixture(scope="session")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python3 -m venv` with nothing installed (pip only): a target without torch."""
    return shared_build(tmp_path_factory, "bare", lambda venv: _create_venv(sys.executable, venv))


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

    def build(venv: Path) -> None:
        _create_venv(python, venv)
        proc = subprocess.run(
            [str(venv_python(venv)), "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q",
             TORCH_PIN, "typing_extensions"],
            capture_output=True, text=True, timeout=600,
        )
        if proc.returncode != 0:
            pytest.skip(f"pip install {TORCH_PIN} failed (no local wheel / no registry?): {proc.stderr.strip()[-500:]}")

    return shared_build(tmp_path_factory, "torch-cpu", build)
