"""The mirrors/ data files: each loads into envcheck.knowledge.Mirror and says only sourced things."""

from __future__ import annotations

import dataclasses
from typing import List

import pytest

from envcheck.knowledge import Knowledge, Mirror, load_toml, mirrors_dir

FILES = sorted(mirrors_dir().glob("*.toml"))
EXPECTED = {"tuna", "aliyun", "ustc", "bfsu", "sjtu", "nju", "tencent", "huawei",
            "pypi", "pytorch", "anaconda"}
FIELDS = {f.name for f in dataclasses.fields(Mirror)}


@pytest.fixture(scope="module")
def mirrors() -> List[Mirror]:
    return Knowledge().mirrors()


def data_urls(m: Mirror) -> List[str]:
    urls = [u for u in (m.pypi, m.torch_wheels) if u]
    return urls + list(m.conda_channels.values()) + list(m.conda_default_channels)


def test_every_file_loads_with_exactly_the_mirror_fields(mirrors):
    assert {p.stem for p in FILES} == EXPECTED
    for path in FILES:
        data = load_toml(path)
        assert set(data) <= FIELDS, f"{path.name}: unknown fields {set(data) - FIELDS}"
        assert {"name", "title", "hosts", "official", "source"} <= set(data), path.name
        Mirror(**data)
    assert len(mirrors) == len(FILES)


def test_names_are_unique_and_match_the_file_name():
    names = [load_toml(p)["name"] for p in FILES]
    assert names == [p.stem for p in FILES]
    assert len(set(names)) == len(names)


def test_tuna_first_and_official_last(mirrors):
    assert mirrors[0].name == "tuna"
    flags = [m.official for m in mirrors]
    assert flags == sorted(flags)  # every unofficial mirror before every official one
    assert {m.name for m in mirrors if m.official} == {"pypi", "pytorch", "anaconda"}


def test_every_data_url_is_https_and_on_its_own_hosts(mirrors):
    for m in mirrors:
        assert data_urls(m), m.name
        for url in data_urls(m):
            assert url.startswith("https://"), (m.name, url)
            assert any(h in url.lower() for h in m.hosts), (m.name, url)


def test_hosts_are_lower_case_host_names(mirrors):
    for m in mirrors:
        assert m.hosts, m.name
        for host in m.hosts:
            assert host == host.lower() and "/" not in host and " " not in host, (m.name, host)


def test_every_mirror_cites_sources(mirrors):
    for m in mirrors:
        lines = [line for line in m.source.splitlines() if line.strip()]
        assert lines, m.name
        assert all(line.startswith(("https://", "http://")) for line in lines), (m.name, lines)


def test_tuna_has_no_torch_wheels_and_no_nvidia_channel(mirrors):
    tuna = next(m for m in mirrors if m.name == "tuna")
    assert tuna.torch_wheels is None and tuna.torch_wheels_layout is None
    assert "nvidia" not in tuna.conda_channels
    assert {"conda-forge", "pytorch"} <= set(tuna.conda_channels)
    assert tuna.conda_default_channels[0].endswith("/anaconda/pkgs/main")


def test_torch_wheel_layouts(mirrors):
    for m in mirrors:
        assert m.torch_wheels_layout in (None, "index", "find-links"), m.name
        assert (m.torch_wheels is None) == (m.torch_wheels_layout is None), m.name
    by_name = {m.name: m for m in mirrors}
    assert by_name["aliyun"].torch_wheels_layout == "find-links"
    assert (by_name["pytorch"].torch_wheels, by_name["pytorch"].torch_wheels_layout) == (
        "https://download.pytorch.org/whl", "index")
    assert by_name["pypi"].pypi == "https://pypi.org/simple"
    assert by_name["anaconda"].conda_channels["nvidia"] == "https://conda.anaconda.org/nvidia"


def _representative(m: Mirror) -> str:
    return m.pypi or m.torch_wheels or next(iter(m.conda_channels.values()))


def test_recognise_mirror_for_each_mirror(mirrors):
    knowledge = Knowledge()
    for m in mirrors:
        url = _representative(m)
        assert knowledge.recognise_mirror(url) == m.name, url
        assert knowledge.recognise_mirror(url.replace("https://", "http://", 1)) == m.name
        assert knowledge.recognise_mirror(url.rstrip("/") + "/torch/") == m.name
        assert knowledge.recognise_mirror(url.upper()) == m.name
        for other in data_urls(m):
            assert knowledge.recognise_mirror(other) == m.name, other


def test_recognise_mirror_unknown_and_empty():
    knowledge = Knowledge()
    assert knowledge.recognise_mirror("https://devpi.corp.example/root/pypi/+simple/") is None
    assert knowledge.recognise_mirror("") is None
    assert knowledge.recognise_mirror(None) is None
    assert knowledge.recognise_mirror("https://pypi.tuna.tsinghua.edu.cn/simple") == "tuna"
