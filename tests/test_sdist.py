"""The sdist holds everything its tests read (issue 17 req 9): build it with the project's own backend,
unpack it, check that every tracked file of the package, its data, tests and docs is inside, and run the
tests that read repository files from the unpacked tree."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

#: one xdist worker runs the whole module, so its module-scoped fixtures (a real run each) run once
pytestmark = pytest.mark.xdist_group("sdist")
ROOT = Path(__file__).resolve().parents[1]
#: what the tests and the package read at run time
SHIPPED = ("envcheck/", "mirrors/", "tests/", "docs/", "README.md", "LICENSE", "pyproject.toml", ".ci/")


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("sdist")
    proc = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (archive,) = out.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(out)
    (tree,) = [p for p in out.iterdir() if p.is_dir()]
    return tree


def _tracked() -> list:
    proc = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip("not a git checkout")
    return [line for line in proc.stdout.splitlines() if line.startswith(SHIPPED)]


def test_every_tracked_file_the_tests_read_is_in_the_sdist(unpacked):
    missing = [path for path in _tracked() if not (unpacked / path).exists()]
    assert not missing, missing[:20]


def test_the_tests_that_read_repository_files_pass_from_the_sdist(unpacked):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(unpacked)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "tests/test_schema.py", "tests/test_fixtures.py", "tests/test_readme.py", "-k",
                           "not slow"],
                          cwd=unpacked, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert str(unpacked) in subprocess.run([sys.executable, "-c", "import envcheck; print(envcheck.__file__)"],
                                           cwd=unpacked, env=env, capture_output=True, text=True).stdout
