"""pytorch_index.json (what download.pytorch.org/whl/<tag>/ serves) and amd_gpus.toml, through their loaders."""

from __future__ import annotations

import json

import pytest

from envcheck.knowledge import DATA_DIR, Knowledge
from envcheck.knowledge.amd_gpus import amd_gpus_from_data, gfx_base
from envcheck.knowledge.pytorch_index import PLATFORMS, facts_from_data

K = Knowledge()
FACTS = K.pytorch_index()
RELEASES = json.loads((DATA_DIR / "torch_releases.json").read_text(encoding="utf-8"))["releases"]

#: tags the index data has that torch_releases.json's variants lack (or the reverse), as recorded 2026-12-04:
#: torch_releases.json records one ROCm version per release and no xpu; cu129 for 2.8.0 is in both.
KNOWN_EXTRA_IN_INDEX = {"xpu", "rocm6.1", "rocm6.2.4", "rocm6.3", "rocm7.0", "rocm7.1", "rocm7.2"}


def test_cu132_index_has_no_torchaudio_for_torch_2_12_to_2_15():
    for torch in ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1", "2.15.0"):
        v = FACTS.variant(torch, "cu132")
        assert v is not None, torch
        assert "torchaudio" not in v.packages, torch
        assert FACTS.carries(torch, "cu132", "torchaudio", "linux-x86_64") is False
        assert FACTS.carries(torch, "cu132", "torchvision", "linux-x86_64") is True
    assert FACTS.variant("2.15.0", "cu132").packages == {"torch": "2.15.0", "torchvision": "0.29.2"}


def test_torchaudio_2_11_0_stays_on_the_tags_it_was_built_for():
    assert FACTS.variant("2.13.0", "cu130").packages["torchaudio"] == "2.11.0"
    assert FACTS.carries("2.13.0", "cu130", "torchaudio", "windows-x86_64") is True
    # no CUDA aarch64 torchaudio wheels
    assert FACTS.carries("2.13.0", "cu130", "torchaudio", "linux-aarch64") is False
    assert FACTS.carries("2.13.0", "cu130", "torch", "linux-aarch64") is True
    # rocm7.14 came after torchaudio's last build
    assert "torchaudio" not in FACTS.variant("2.14.0", "rocm7.14").packages
    assert FACTS.variant("2.11.0", "cu130").packages["torchaudio"] == "2.11.0"


def test_every_variant_has_a_source_derivation_and_known_platforms():
    assert len(FACTS.releases) >= 16
    for r in FACTS.releases:
        assert r.variants, r.torch
        for v in r.variants:
            assert v.source and v.derived, (r.torch, v.tag)
            assert v.packages.get("torch") == r.torch, (r.torch, v.tag)
            assert set(v.platforms) | set(v.unknown_platforms) <= set(PLATFORMS), (r.torch, v.tag)
            for pkg, plats in v.package_platforms.items():
                assert pkg in v.packages and set(plats) <= set(v.platforms), (r.torch, v.tag, pkg)


def test_every_rocm_variant_has_gfx_archs_every_other_has_none():
    amd = K.amd_gpus()
    seen = 0
    for r in FACTS.releases:
        for v in r.variants:
            if v.tag.startswith("rocm"):
                seen += 1
                assert v.gpu_archs and all(a.startswith("gfx") for a in v.gpu_archs), (r.torch, v.tag)
                assert "gfx90a" in v.gpu_archs and "gfx942" in v.gpu_archs
                assert all(amd.by_gfx(a) is not None for a in v.gpu_archs)
                assert set(v.platforms) == {"linux-x86_64"}
            else:
                assert v.gpu_archs == []
    assert seen >= 20


def test_more_than_one_rocm_version_and_xpu_per_release_from_2_5_to_2_14():
    for r in FACTS.releases:
        if r.torch == "2.15.0":
            continue
        tags = [v.tag for v in r.variants]
        assert sum(t.startswith("rocm") for t in tags) == 2, (r.torch, tags)
        assert "xpu" in tags and "cpu" in tags, r.torch
    assert [v.tag for v in FACTS.release("2.14.1").variants if v.tag.startswith("rocm")] == ["rocm7.14", "rocm7.2"]


def test_linux_aarch64_cuda_builds_exist_and_windows_arm64_is_unknown():
    assert FACTS.carries("2.10.0", "cu130", "torch", "linux-aarch64", "3.12") is True
    assert FACTS.carries("2.5.1", "cu124", "torch", "linux-aarch64") is True
    assert FACTS.carries("2.8.0", "cpu", "torch", "windows-arm64") is None
    assert FACTS.carries("2.7.0", "cu128", "torch", "macos-arm64") is False


def test_cuda_tags_agree_with_torch_releases_json():
    """Every CUDA tag of torch_releases.json is on the index for that release, and the index's CUDA tags are
    torch_releases.json's (ROCm and xpu tags it lacks are the recorded discrepancies)."""
    by_version = {r["version"]: r for r in RELEASES}
    for r in FACTS.releases:
        json_tags = {v["tag"] for v in by_version[r.torch]["variants"]}
        index_tags = {v.tag for v in r.variants}
        assert {t for t in json_tags if t.startswith("cu")} == {t for t in index_tags if t.startswith("cu")}, r.torch
        extra = {t for t in index_tags - json_tags}
        assert extra <= KNOWN_EXTRA_IN_INDEX, (r.torch, extra)
        assert not ({t for t in json_tags - index_tags if not t.startswith("cu")} - {"cpu"}), r.torch


def test_python_lists_are_minor_versions():
    assert FACTS.carries("2.9.0", "cu130", "torch", "linux-x86_64", "3.14.1") is True
    assert FACTS.carries("2.9.0", "cu130", "torch", "linux-x86_64", "3.9") is False
    assert FACTS.carries("2.10.0", "cpu", "torch", "macos-arm64", "3.13t") is True
    assert FACTS.carries("2.14.0", "cu132", "torch", "linux-x86_64", "3.15") is False  # preview only
    assert FACTS.carries("2.15.0", "cu132", "torch", "linux-x86_64", "3.15") is True


def test_loader_edge_cases():
    facts = facts_from_data({"release": [{"torch": "9.1.0", "variant": [
        {"tag": "cu999", "platforms": {"linux-x86_64": []}, "packages": {"torch": "9.1.0"},
         "derived": "test", "source": "here", "unknown_platforms": ["windows-x86_64"]}]}]})
    assert FACTS.release("2.4.1") is None and FACTS.carries("2.4.1", "cpu", "torch", "linux-x86_64") is None
    assert facts.release("9.1.0+cu999").torch == "9.1.0"
    assert facts.release("9.1") is not None  # dotted comparison: 9.1 == 9.1.0
    assert facts.variant("9.1.0", "cpu") is None
    assert facts.carries("9.1.0", "cpu", "torch", "linux-x86_64") is False
    assert facts.carries("9.1.0", "cu999", "torch", "linux-x86_64") is True
    assert facts.carries("9.1.0", "cu999", "torch", "linux-x86_64", "3.12") is None  # no Pythons recorded
    assert facts.carries("9.1.0", "cu999", "torchaudio", "linux-x86_64") is False
    assert facts.carries("9.1.0", "cu999", "torch", "windows-x86_64") is None
    assert facts_from_data({}).releases == []
    assert K.pytorch_index() is FACTS


@pytest.mark.parametrize("gfx, product", [
    ("gfx90a", "AMD Instinct MI250"), ("gfx942", "AMD Instinct MI300X"), ("gfx1100", "Radeon RX 7900 XTX"),
    ("gfx1030", "Radeon RX 6800"), ("gfx1201", "Radeon RX 9070"), ("gfx950", "AMD Instinct MI355X"),
])
def test_amd_gfx_products(gfx, product):
    amd = K.amd_gpus()
    assert product in amd.by_gfx(gfx).products
    assert amd.by_product(product).name == gfx


def test_amd_gpus_lookup_edge_cases():
    amd = K.amd_gpus()
    assert gfx_base("GFX90A:sramecc+:xnack-") == "gfx90a"
    assert amd.by_gfx("gfx90a:sramecc+:xnack-").architecture == "CDNA2"
    assert amd.by_gfx("gfx9999") is None
    assert amd.by_product("AMD Radeon RX 7900 XT").name == "gfx1100"
    assert amd.by_product("Radeon RX 9070 XT").name == "gfx1201"
    assert amd.by_product("GeForce RTX 4090") is None
    assert all(r.source for r in amd.rows) and len({r.name for r in amd.rows}) == len(amd.rows)
    assert amd_gpus_from_data({}).rows == []
