"""conda_forge.toml: the pytorch builds conda-forge made (read from conda-forge/pytorch-cpu-feedstock)."""

import pytest

from envcheck.knowledge import Knowledge, load_toml
from envcheck.knowledge.conda_forge import CondaForgeFacts

PLATFORMS = {"linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"}


@pytest.fixture(scope="module")
def cf() -> CondaForgeFacts:
    return Knowledge().conda_forge()


def test_newest_recorded_version_and_its_builds(cf):
    newest = cf.builds()[0]
    assert newest.version == "2.13.0" and newest.date == "2026-07-25"
    assert newest.platforms["linux-64"] == ["cpu", "12.9", "13.0"]
    assert newest.platforms["win-64"] == ["cpu", "12.8", "13.0"]
    assert newest.platforms["osx-arm64"] == ["cpu"]
    assert newest.python == ["3.10", "3.11", "3.12", "3.13", "3.14"]


def test_builds_are_newest_first_and_skip_versions_conda_forge_never_built(cf):
    versions = [b.version for b in cf.builds()]
    assert versions[:6] == ["2.13.0", "2.12.1", "2.12.0", "2.11.0", "2.10.0", "2.9.1"]
    for never in ("2.9.0", "2.2.1", "2.2.0", "2.0.1", "1.4.0", "2.14.0", "2.15.0"):
        assert cf.build(never) is None, never
    assert versions[-1] == "1.6.0"


def test_cuda_versions_are_what_the_builds_were_made_with(cf):
    # PyPI's CUDA is not conda-forge's: 2.8.0 is cu128 on PyPI, conda-forge built 12.9 (Linux) and 12.8 (Windows)
    assert cf.cuda_versions("2.8.0", "linux-64") == ["12.9"]
    assert cf.cuda_versions("2.8.0", "win-64") == ["12.8"]
    # 2.7.1 was built with 12.6, then rebuilt with 12.9 by the cuda129 migration
    assert cf.cuda_versions("2.7.1", "linux-64") == ["12.6", "12.9"]
    assert cf.cuda_versions("2.5.1", "linux-64") == ["11.8", "12.0", "12.6"]
    assert cf.cuda_versions("2.13.0", "osx-arm64") == []
    assert cf.cuda_versions("9.9.9", "linux-64") == []


def test_cuda_builds_conda_forge_never_made(cf):
    # no conda-forge pytorch was ever built with CUDA 12.4 or 12.1 (PyPI and the pytorch channel had them)
    for cuda in ("12.4", "12.1", "12.8"):
        assert cf.newest_with(cuda, "linux-64") is None, cuda
    # the newest CUDA 11.8 build is 2.5.1; nothing after it
    assert cf.newest_with("11.8", "linux-64").version == "2.5.1"
    assert "11.8" not in cf.cuda_versions("2.6.0", "linux-64")
    # 12.6 builds stop at 2.7.1 on Linux and at 2.7.0 on Windows
    assert cf.newest_with("12.6", "linux-64").version == "2.7.1"
    assert cf.newest_with("12.6", "win-64").version == "2.7.0"


def test_newest_with_major_cpu_any_and_python(cf):
    assert cf.newest_with("12", "linux-64").version == "2.13.0"
    assert cf.newest_with("13.0", "linux-aarch64", "3.14").version == "2.13.0"
    assert cf.newest_with("cpu", "osx-64", "3.12").version == "2.13.0"
    assert cf.newest_with("12.9", "linux-64", "3.9").version == "2.7.1"  # 3.9 was dropped at 2.8.0
    assert cf.newest_with(None, "osx-arm64", "3.7") is None  # osx-arm64 never had 3.7
    assert cf.newest_with(None, "osx-64", "3.7").version == "1.12.1"
    assert cf.newest_with("12.9", "cygwin", None) is None
    assert cf.newest_with("banana", "linux-64", None) is None


def test_windows_starts_at_2_5_1(cf):
    with_windows = [b.version for b in cf.builds() if "win-64" in b.platforms]
    assert with_windows[-1] == "2.5.1"
    assert "win-64" not in cf.build("1.8.0").platforms  # configured then, but the Windows CI failed
    assert "feedstock#32" in cf.build("1.8.0").note


def test_build_lookup_edge_cases(cf):
    assert cf.build("2.5.1+cu124").version == "2.5.1"
    assert cf.build(None) is None and cf.build("not a version") is None


def test_every_record_has_a_source_date_and_valid_platforms():
    data = load_toml(Knowledge().data_dir / "conda_forge.toml")
    assert data["recorded"] == "2026-12-04" and "pytorch-cpu-feedstock" in data["source"]
    assert data["packages"]["gpu_metapackage"] == "pytorch-gpu" and data["packages"]["source"]
    for row in data["build"]:
        assert row["source"].startswith("https://github.com/conda-forge/pytorch-cpu-feedstock/commit/"), row
        assert len(row["commits"]) == 2 and all(len(c) == 40 for c in row["commits"])
        assert row["date"] and set(row["platforms"]) <= PLATFORMS, row["version"]
        assert row["source"].endswith(row["commits"][0])
    for row in data["left_out"]:
        assert row["source"] and row["reason"]
