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


# --------------------------------------------------------------------------- what each mirror serves for PyTorch

from urllib.parse import urlparse  # noqa: E402

import re  # noqa: E402

from envcheck.knowledge import KnowledgeError  # noqa: E402

BY_NAME = {m.name: m for m in Knowledge().mirrors()}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: where a mirror's own help is published: its site, or the repository its help pages are built from
OWN_HELP = {
    "tuna": ("mirrors.tuna.tsinghua.edu.cn/help/", "github.com/tuna/", "github.com/mirrorz-org/mirrorz-docs/"),
    "bfsu": ("mirrors.bfsu.edu.cn/help/", "github.com/tuna/mirror-web/", "github.com/mirrorz-org/mirrorz-docs/"),
    "sjtu": ("mirror.sjtu.edu.cn/docs/", "github.com/sjtug/", "github.com/mirrorz-org/mirrorz-docs/"),
    "ustc": ("mirrors.ustc.edu.cn/help/", "github.com/ustclug/mirrorhelp/"),
    "nju": ("github.com/njulug/mirrorhelp/",),
}


def _lines(text: str) -> List[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _on_hosts(url: str, hosts: List[str]) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in hosts)


def test_every_mirror_says_when_it_was_checked():
    for m in BY_NAME.values():
        assert DATE.match(m.verified), (m.name, m.verified)


def test_every_data_url_host_is_one_of_the_mirror_hosts():
    # a real host match, not a substring ("tuna.tsinghua.edu.cn" matches mirrors.tuna..., not evil-tuna.example)
    for m in BY_NAME.values():
        for url in data_urls(m):
            assert _on_hosts(url, m.hosts), (m.name, url)


def test_every_torch_wheel_mirror_has_layout_variants_and_a_help_page_source():
    with_wheels = {n for n, m in BY_NAME.items() if m.torch_wheels}
    assert with_wheels == {"aliyun", "nju", "sjtu", "pytorch"}
    for name in with_wheels:
        m = BY_NAME[name]
        assert m.torch_wheels_layout in ("index", "find-links"), name
        assert m.torch_wheels_variants == "all" or m.torch_wheels_variants, name
        sources = _lines(m.torch_wheels_source)
        assert sources and all(s.startswith(("https://", "http://")) for s in sources), name
    # the cited help page is the mirror's own: on its host, or its help repository
    assert _on_hosts(_lines(BY_NAME["sjtu"].torch_wheels_source)[0], ["mirror.sjtu.edu.cn"])
    assert "https://developer.aliyun.com/mirror/pytorch-wheels" in _lines(BY_NAME["aliyun"].torch_wheels_source)
    assert _on_hosts(_lines(BY_NAME["nju"].torch_wheels_source)[0], BY_NAME["nju"].hosts)


def test_mirrors_without_torch_wheels_say_nothing_about_them():
    for m in BY_NAME.values():
        if not m.torch_wheels:
            assert m.torch_wheels_variants == [] and m.torch_wheels_mirrors_deps is None, m.name
            assert not m.torch_wheels_verified, m.name
            assert m.carries_variant("cu126") is False, m.name


def test_verified_facts_cite_the_mirrors_own_help():
    for name, prefixes in OWN_HELP.items():
        m = BY_NAME[name]
        for fact, flag, source in (("pypi", m.pypi_verified, m.pypi_source),
                                   ("conda", m.conda_verified, m.conda_source)):
            if flag:
                assert any(s.split("://", 1)[-1].startswith(prefixes) for s in _lines(source)), (name, fact)
    # facts nobody could read on the mirror's own page stay marked unverified
    for name in ("aliyun", "huawei", "tencent"):
        assert not BY_NAME[name].pypi_verified, name
    for name in ("aliyun", "nju", "sjtu"):
        assert not BY_NAME[name].torch_wheels_verified, name
    assert BY_NAME["pytorch"].torch_wheels_verified


def test_sjtu_uses_the_host_its_help_pages_give():
    sjtu = BY_NAME["sjtu"]
    assert sjtu.hosts[0] == "mirror.sjtu.edu.cn"
    assert sjtu.pypi == "https://mirror.sjtu.edu.cn/pypi/web/simple"
    for url in data_urls(sjtu):
        assert urlparse(url).hostname == "mirror.sjtu.edu.cn", url
    # the pre-2021 host still identifies an old config, but envcheck never writes it
    assert Knowledge().recognise_mirror("https://mirrors.sjtug.sjtu.edu.cn/pypi/web/simple") == "sjtu"


def test_sjtu_pytorch_wheels_and_conda_pytorch_channel():
    sjtu = BY_NAME["sjtu"]
    # help page: "replace https://download.pytorch.org/whl with https://mirror.sjtu.edu.cn/pytorch-wheels"
    assert (sjtu.torch_wheels, sjtu.torch_wheels_layout) == ("https://mirror.sjtu.edu.cn/pytorch-wheels", "index")
    assert sjtu.torch_wheels_variants == "all" and sjtu.carries_variant("cu126") is True
    assert sjtu.torch_wheels_verified is False  # no SJTUG page shows the per-variant --index-url form
    assert sjtu.torch_wheels_mirrors_deps is None
    assert "torch_stable.html" in sjtu.notes and "#421" in sjtu.notes
    assert sjtu.conda_channels["pytorch"] == "https://mirror.sjtu.edu.cn/anaconda/cloud/pytorch"
    assert {"conda-forge", "bioconda", "menpo"} <= set(sjtu.conda_channels) and "nvidia" not in sjtu.conda_channels
    assert sjtu.conda_default_channels[0] == "https://mirror.sjtu.edu.cn/anaconda/pkgs/main"
    assert sjtu.pypi_full is True and sjtu.conda_verified is True


def test_tuna_serves_pypis_torch_in_full_and_points_to_the_wheel_mirrors():
    tuna = BY_NAME["tuna"]
    assert tuna.pypi_full is True and tuna.pypi_verified
    assert tuna.torch_wheels is None and tuna.carries_variant("cu126") is False
    for other in ("NJU", "Aliyun", "SJTU"):
        assert other in tuna.notes
    # TUNA's own third-party list has no cloud/msys2 and no nvidia
    assert set(tuna.conda_channels) == {"conda-forge", "pytorch", "bioconda", "menpo", "simpleitk"}
    assert "msys2" not in BY_NAME["bfsu"].conda_channels


def test_aliyun_and_nju_wheel_facts():
    aliyun, nju = BY_NAME["aliyun"], BY_NAME["nju"]
    assert (aliyun.torch_wheels, aliyun.torch_wheels_layout) == ("https://mirrors.aliyun.com/pytorch-wheels",
                                                                 "find-links")
    assert (nju.torch_wheels, nju.torch_wheels_layout) == ("https://mirrors.nju.edu.cn/pytorch/whl", "index")
    for m in (aliyun, nju):
        assert {"cpu", "cu118", "cu126", "cu128"} <= set(m.torch_wheels_variants), m.name
        assert m.torch_wheels_mirrors_deps is None, m.name  # not stated by any page of theirs
        # an unverified list is what was seen, not all there is: a tag it lacks is unknown, not absent
        assert m.carries_variant("cu999") is None, m.name
    assert nju.pypi_verified and nju.pypi_full is None


def test_ustc_mirrors_only_the_channels_its_help_lists():
    ustc = BY_NAME["ustc"]
    assert set(ustc.conda_channels) == {"conda-forge", "bioconda"}  # pytorch redirects to TUNA, not synced
    assert ustc.pypi == "https://mirrors.ustc.edu.cn/pypi/simple" and ustc.pypi_full is True


def test_pytorch_index_serves_every_variant_with_its_dependencies():
    pt = BY_NAME["pytorch"]
    assert pt.torch_wheels_variants == "all" and pt.torch_wheels_mirrors_deps is True
    assert pt.carries_variant("cu130") is True
    assert BY_NAME["pypi"].pypi_full is True


def test_a_verified_variant_list_is_complete():
    m = dataclasses.replace(BY_NAME["nju"], torch_wheels_verified=True)
    assert m.carries_variant("cu126") is True and m.carries_variant("cu999") is False


def test_bad_variants_are_a_knowledge_error(tmp_path):
    text = (mirrors_dir() / "nju.toml").read_text(encoding="utf-8")
    (tmp_path / "nju.toml").write_text(text.replace('torch_wheels_variants = ["cpu"', 'torch_wheels_variants = [1'),
                                       encoding="utf-8")
    with pytest.raises(KnowledgeError, match="torch_wheels_variants"):
        Knowledge(mirror_dir=tmp_path).mirrors()
    (tmp_path / "nju.toml").write_text(text.replace('torch_wheels_variants = ["cpu", "cu118", "cu121", "cu124", '
                                                    '"cu126", "cu128", "cu130"]', 'torch_wheels_variants = "most"'),
                                       encoding="utf-8")
    with pytest.raises(KnowledgeError, match="torch_wheels_variants"):
        Knowledge(mirror_dir=tmp_path).mirrors()
