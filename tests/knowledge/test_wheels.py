"""wheels.json against the PyPI listings recorded on 2026-12-04 (tests/fixtures/index/pypi), and the companion
pairings of torch_releases.json against the same data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envcheck.knowledge import Knowledge
from envcheck.knowledge.pypi import parse_wheel_filename
from envcheck.knowledge.refresh import Companion, pair_by_table, pair_companions
from envcheck.knowledge.refresh_wheels import (PACKAGES, derive_package, dumps, platform_keys, trim_listing,
                                               wheel_pythons)
from envcheck.knowledge.wheels import PLATFORMS, WheelFacts

LISTINGS = Path(__file__).resolve().parent.parent / "fixtures" / "index" / "pypi"


def listing(package: str) -> dict:
    return json.loads((LISTINGS / f"{package}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def facts() -> WheelFacts:
    return Knowledge().wheel_facts()


@pytest.fixture(scope="module")
def shipped() -> dict:
    return json.loads((Path(Knowledge().data_dir) / "wheels.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("package", PACKAGES)
def test_recorded_listing_reproduces_wheels_json(package, shipped):
    recorded = listing(package)
    assert recorded["source"] == f"https://pypi.org/pypi/{package}/json" and recorded["recorded"] == "2026-12-04"
    assert derive_package(package, recorded) == shipped["packages"][package]


def test_wheels_json_is_written_compactly(shipped):
    path = Path(Knowledge().data_dir) / "wheels.json"
    text = path.read_text(encoding="utf-8")
    assert dumps(shipped) == text
    assert len(text) < 1_000_000
    assert shipped["generated"] == "2026-12-04"
    assert "https://pypi.org/pypi/torchcodec/json" in shipped["sources"]


def test_scope_final_releases_torch_from_1_12(facts):
    versions = [r.version for r in facts.releases("torch")]
    assert versions[0] == "2.15.0" and versions[-1] == "1.12.0" and len(versions) == 32
    assert all("rc" not in v and "dev" not in v for p in PACKAGES for v in facts.packages[p])
    assert min(r.date for r in facts.releases("torchvision")) >= "2022-01-01"


def test_torch_2_15_platforms_and_builds(facts):
    rel = facts.release("torch", "2.15")
    assert rel.date == "2026-10-28" and rel.requires_python == ">=3.11"
    assert rel.platforms["linux-x86_64"] == ["3.11", "3.12", "3.13", "3.14", "3.15"]  # cp314t/cp315t left out
    # PyPI has no Windows-on-Arm torch wheel for 2.15.0, nor any Intel Mac one
    assert facts.pythons("torch", "2.15.0", "windows-arm64") == []
    assert facts.pythons("torch", "2.15.0", "macos-x86_64") == []
    assert rel.builds == {"linux-x86_64": "cu132", "linux-aarch64": "cu132", "windows-x86_64": "cpu",
                          "macos-arm64": "cpu"}


def test_linux_aarch64_torch_is_a_cuda_build_from_2_11(facts):
    aarch64 = {r.version: r.builds.get("linux-aarch64") for r in facts.releases("torch")}
    assert aarch64["2.10.0"] == "cpu" and aarch64["2.11.0"] == "cu130" and aarch64["2.14.1"] == "cu130"
    assert {b for v, b in aarch64.items() if facts.release("torch", v).date < "2026-03-01"} == {"cpu"}
    assert facts.release("torch", "1.12.0").builds["linux-x86_64"] == "cu102"
    assert {r.builds.get("windows-x86_64") for r in facts.releases("torch")} == {"cpu"}


def test_torch_2_2_2_is_the_last_with_an_intel_mac_wheel(facts):
    with_mac = [r for r in facts.releases("torch") if r.platforms.get("macos-x86_64")]
    assert with_mac[0].version == "2.2.2"
    assert facts.pythons("torch", "2.3.0", "macos-x86_64") == []


def test_torchaudio_2_11_0_has_no_cp315_wheel_and_2_11_1_has(facts):
    for platform in PLATFORMS:
        got = facts.pythons("torchaudio", "2.11.0", platform)
        assert got is not None and "3.15" not in got
    assert facts.pythons("torchaudio", "2.11.0", "linux-x86_64") == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    rel = facts.release("torchaudio", "2.11.1")
    assert rel.torch_requirement == ">=2.11" and "3.15" in rel.platforms["linux-x86_64"]  # py3-none: 3.10+
    assert facts.release("torchaudio", "2.11.0").torch_requirement is None


def test_torch_requirements_of_companions(facts):
    assert facts.release("torchvision", "0.29.0").torch_requirement == "==2.14.0"
    assert facts.release("torchvision", "0.29.2").torch_requirement == ">=2.14.0"
    # xformers pins torch exactly from 0.0.16 to 0.0.34; 0.0.35 (py39-none wheels) says torch>=2.10, 0.0.13 >=1.12
    pins = {r.version: r.torch_requirement for r in facts.releases("xformers") if r.platforms}
    assert pins["0.0.35"] == ">=2.10" and pins["0.0.34"] == "==2.10.0" and pins["0.0.13"] == ">=1.12"
    exact = [v for v, p in pins.items() if p and p.startswith("==")]
    assert len(exact) == len(pins) - 2 and "0.0.16" in exact
    assert facts.pythons("xformers", "0.0.35", "linux-x86_64")[0] == "3.9"
    assert facts.pythons("xformers", "0.0.35", "macos-arm64") == []
    # torchao and torchcodec name no torch version, except torchao 0.3.0
    named = [(r.package, r.version, r.torch_requirement) for r in facts.releases("torchao") + facts.releases("torchcodec")
             if r.torch_requirement is not None]
    assert named == [("torchao", "0.3.0", "==2.3.1")]


def test_wheel_tags_expand_as_pip_reads_them():
    def pythons(name, requires_python=None):
        return wheel_pythons(parse_wheel_filename(name), requires_python)
    assert pythons("torch-2.15.0-cp315-cp315t-win_amd64.whl") == []
    assert pythons("torch-2.5.1-cp310-none-macosx_11_0_arm64.whl") == ["3.10"]
    assert pythons("torchao-0.18.0-cp310-abi3-manylinux_2_28_x86_64.whl") == ["3.10", "3.11", "3.12", "3.13",
                                                                               "3.14", "3.15"]
    assert pythons("torchvision-0.29.2-py3-none-win_amd64.whl", ">=3.10,!=3.14.1")[0] == "3.10"
    assert pythons("xformers-0.0.35-py39-none-win_amd64.whl", ">=3.9")[0] == "3.9"
    assert platform_keys(["any"]) == list(PLATFORMS)
    assert platform_keys(["macosx_11_0_universal2"]) == ["macos-arm64", "macos-x86_64"]
    assert platform_keys(["manylinux_2_27_aarch64", "manylinux_2_28_aarch64"]) == ["linux-aarch64"]
    assert platform_keys(["musllinux_1_2_x86_64", "win32"]) == []


def test_trim_listing_keeps_final_releases_in_scope():
    api = {"releases": {
        "2.15.0": [{"filename": "torch-2.15.0-cp311-cp311-win_amd64.whl", "upload_time": "2026-10-28T15:16:25",
                    "requires_python": ">=3.11", "yanked": False}],
        "2.16.0rc1": [{"filename": "torch-2.16.0rc1-cp311-cp311-win_amd64.whl", "upload_time": "2026-11-28T00:00:00"}],
        "1.11.0": [{"filename": "torch-1.11.0-cp39-cp39-win_amd64.whl", "upload_time": "2022-03-10T00:00:00"}]}}
    assert list(trim_listing("torch", api)) == ["2.15.0"]
    assert trim_listing("torch", api)["2.15.0"]["files"] == [
        ["torch-2.15.0-cp311-cp311-win_amd64.whl", "2026-10-28T15:16:25", ">=3.11", False]]


def test_loader_lookups(facts):
    assert facts.pythons("torch", "9.9.9", "linux-x86_64") is None
    assert facts.pythons("torch", "2.15.0", "linux-ppc64le") is None
    assert facts.release("torch", "2.15.0+cu132").version == "2.15.0"
    assert WheelFacts.platform_key("Windows", "AMD64") == "windows-x86_64"
    assert WheelFacts.platform_key("linux", "arm64") == "linux-aarch64"
    assert WheelFacts.platform_key("darwin", "arm64") == "macos-arm64"
    assert WheelFacts.platform_key("macos", "x86_64") == "macos-x86_64"
    with pytest.raises(ValueError):
        WheelFacts.platform_key("solaris", "x86_64")


# --------------------------------------------------------------------------- companion pairings


def companions(facts: WheelFacts, package: str):
    return [Companion(r.version, r.date, r.torch_requirement) for r in facts.releases(package) if r.platforms]


def test_torch_2_15_pairs_with_torchaudio_2_11_1(facts):
    torch_dates = {r.version: r.date for r in facts.releases("torch")}
    pairs = pair_companions(companions(facts, "torchaudio"), torch_dates)
    assert pairs["2.15.0"] == "2.11.1"  # uploaded the same day, torch>=2.11
    assert {v: pairs[v] for v in ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1")} == dict.fromkeys(
        ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1"), "2.11.0")
    assert pairs["2.11.0"] == "2.11.0" and pairs["2.10.0"] == "2.10.0"


def test_torch_releases_json_companions_agree(facts):
    k = Knowledge()
    rel = k.torch_release("2.15.0")
    assert rel.companions == {"torchvision": "0.29.2", "torchaudio": "2.11.1", "xformers": "0.0.35",
                              "torchao": "0.18.0", "torchcodec": "0.16.0"}
    for r in k.torch_releases():
        assert set(r.companions) == {"torchvision", "torchaudio", "xformers", "torchao", "torchcodec"}, r.version
        assert (r.companions["torchvision"], r.companions["torchaudio"]) == (r.torchvision, r.torchaudio)
    torch_dates = {r.version: r.date for r in facts.releases("torch")}
    xformers = pair_companions(companions(facts, "xformers"), torch_dates)
    for r in k.torch_releases():
        if r.version in torch_dates:
            assert r.companions["xformers"] == xformers.get(r.version), r.version
    assert k.torch_release("2.10.0").companions["xformers"] == "0.0.34"


def test_table_pairing_of_torchcodec_and_torchao(facts):
    data = json.loads((Path(Knowledge().data_dir) / "torch_releases.json").read_text(encoding="utf-8"))
    torch_dates = {r.version: r.date for r in facts.releases("torch")}
    tables = data["companion_tables"]
    codec, codec_fallback = pair_by_table(companions(facts, "torchcodec"), torch_dates, tables["torchcodec"]["rows"])
    assert codec["2.11.0"] == "0.11.0"  # the 0.11 row: torch 2.11 (uploaded the day after)
    assert codec["2.9.0"] == "0.8.0" and codec["2.9.1"] == "0.8.1" and codec["2.4.0"] == "0.0.3"
    assert codec["2.15.0"] == "0.16.0"  # the newest with a row (>=2.11); 0.17.0 has none in the README read
    assert "2.4.0" not in codec_fallback and "2.3.1" in codec_fallback
    ao, ao_fallback = pair_by_table(companions(facts, "torchao"), torch_dates, tables["torchao"]["rows"])
    assert ao["2.10.0"] == "0.16.0" and ao["2.9.1"] == "0.15.0" and ao["2.9.0"] == "0.14.1"
    assert ao["2.11.0"] == "0.17.0"  # >=2.11.0, released a week after torch 2.11.0
    assert "2.7.0" in ao_fallback and "2.7.1" not in ao_fallback
    for r in Knowledge().torch_releases():
        if r.version in torch_dates:
            assert (r.companions["torchcodec"], r.companions["torchao"]) == (codec.get(r.version), ao.get(r.version))
