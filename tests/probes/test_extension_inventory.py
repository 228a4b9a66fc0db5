"""The static target probe inventories CUDA extensions from their distribution metadata (issue 15 req 1): a fake
site-packages of dist-info / egg-info folders, written here with the headers real wheels carry, run through the
real target script in this interpreter. Nothing is imported: the packages have no code at all."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from envcheck.probes import ProbeContext
from envcheck.probes.target import probe_static
from envcheck.snapshot import Extension

from conftest import clean_env

FLASH_WHEEL = "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp312-cp312-linux_x86_64.whl"  # flash_attn.toml


def dist(site: Path, folder: str, name: str, version: str, requires: List[str] = (),
         direct_url: Optional[str] = None) -> Path:
    meta = site / folder
    meta.mkdir(parents=True)
    headers = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    headers += [f"Requires-Dist: {r}" for r in requires]
    # a body line that looks like a header must not count: the header block ends at the first blank line
    (meta / "METADATA").write_text("\n".join(headers) + "\n\nRequires-Dist: torch==0.0.1\n", encoding="utf-8")
    if direct_url is not None:
        (meta / "direct_url.json").write_text(json.dumps({"url": direct_url, "archive_info": {}}), encoding="utf-8")
    return meta


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Extension]:
    site = tmp_path_factory.mktemp("site")
    dist(site, "torch_scatter-2.1.2+pt25cu121.dist-info", "torch_scatter", "2.1.2+pt25cu121")
    dist(site, "xformers-0.0.34.dist-info", "xformers", "0.0.34", ["torch==2.10.0", "numpy"])
    (site / "xformers").mkdir()
    # the build-info file of the real 0.0.34 wheel (manylinux_2_28_x86_64), as it is
    (site / "xformers" / "cpp_lib.json").write_text(json.dumps(
        {"version": {"cuda": 1208, "hip": None, "torch": "2.10.0+cu128", "python": "3.10.19"},
         "env": {"TORCH_CUDA_ARCH_LIST": "7.5 8.0+PTX 8.0 9.0a", "XFORMERS_PACKAGE_FROM": "wheel-v0.0.34"}}),
        encoding="utf-8")
    dist(site, "flash_attn-2.7.4.post1.dist-info", "flash_attn", "2.7.4.post1", ["torch", "einops"],
         direct_url="https://user:secret@github.com/Dao-AILab/flash-attention/releases/download/v2.7.4.post1/"
                    + FLASH_WHEEL)
    dist(site, "flash_attn_3-3.0.0b1.dist-info", "flash_attn_3", "3.0.0b1")
    dist(site, "bitsandbytes-0.45.0.dist-info", "bitsandbytes", "0.45.0",
         ["torch<3,>=2.0", "numpy>=1.17", 'torch-scatter; extra == "pyg"'])
    dist(site, "einops-0.8.0.dist-info", "einops", "0.8.0", ["torch==2.5.1"])  # not an extension: left out
    apex = site / "apex-0.1-py3.12.egg-info"  # `python setup.py install` from source leaves an egg-info folder
    apex.mkdir()
    (apex / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: apex\nVersion: 0.1\n", encoding="utf-8")
    ctx = ProbeContext(env=clean_env(PYTHONPATH=str(site), PYTHONNOUSERSITE="1"), timeout=20.0,
                       python=sys.executable, python_chosen_by="--python")
    python, torch, _, issues = probe_static(ctx)
    assert issues == [] and python.error is None
    return {e.name: e for e in torch.extensions if e.location == str(site)}


def test_every_extension_is_found_and_nothing_else(inventory):
    assert sorted(inventory) == ["apex", "bitsandbytes", "flash-attn", "flash-attn-3", "torch-scatter", "xformers"]
    assert inventory["apex"].version == "0.1" and inventory["flash-attn-3"].version == "3.0.0b1"


def test_the_local_tag_names_torch_and_cuda(inventory):
    scatter = inventory["torch-scatter"]
    assert (scatter.version, scatter.built_torch, scatter.built_cuda, scatter.tag_source) == (
        "2.1.2+pt25cu121", "2.5", "12.1", "version")
    assert scatter.requires_torch is None


def test_an_exact_torch_pin_and_a_range_are_kept_as_written(inventory):
    assert inventory["xformers"].requires_torch == "==2.10.0"
    # the torch requirement, not torch-scatter's, and not the body's pretend header
    assert inventory["bitsandbytes"].requires_torch == "<3,>=2.0"
    assert inventory["apex"].requires_torch is None


def test_a_wheel_without_its_tag_in_the_version_is_read_from_direct_url_json(inventory):
    flash = inventory["flash-attn"]
    assert (flash.version, flash.built_torch, flash.built_cuda, flash.tag_source) == (
        "2.7.4.post1", "2.6", "12", "wheel")
    assert flash.requires_torch is None  # a bare "torch" names no version


def test_the_script_reports_the_wheel_file_name_never_the_url(tmp_path):
    from envcheck.probes import target_script

    meta = dist(tmp_path, "flash_attn-2.7.4.post1.dist-info", "flash_attn", "2.7.4.post1",
                direct_url="https://user:secret@example.org/whl/" + FLASH_WHEEL + "?token=abc")
    assert target_script.wheel_file(str(meta)) == FLASH_WHEEL
    (meta / "direct_url.json").write_text('{"url": "file:///src/flash-attention", "dir_info": {}}')
    assert target_script.wheel_file(str(meta)) is None
    (meta / "direct_url.json").write_text("not json")
    assert target_script.wheel_file(str(meta)) is None


def test_xformers_build_info_names_the_torch_it_was_compiled_against(inventory):
    x = inventory["xformers"]
    assert (x.built_torch, x.built_cuda, x.tag_source) == ("2.10", "12.8", "build-info")
    assert x.requires_torch == "==2.10.0"
