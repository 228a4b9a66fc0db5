"""flash_attn.toml: the wheels flash-attn's release workflow publishes (publish.yml at each tag)."""

import pytest

from envcheck.knowledge import Knowledge, load_toml
from envcheck.knowledge.flash_attn import FlashAttnFacts


@pytest.fixture(scope="module")
def fa() -> FlashAttnFacts:
    return Knowledge().flash_attn()


def test_names_seen_published_are_what_the_data_produces(fa):
    # wheels seen in public install scripts (the file's header); each is one of its release's jobs
    seen = {
        "2.8.3": "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl",
        "2.7.4.post1": "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp312-cp312-linux_x86_64.whl",
        "2.5.8": "flash_attn-2.5.8+cu122torch2.3cxx11abiFALSE-cp310-cp310-linux_x86_64.whl",
    }
    for version, name in seen.items():
        assert name in {w.filename for w in fa.wheels(fa.release(version))}, name


def test_wheel_for_picks_the_newest_release(fa):
    w = fa.wheel_for("2.8", "12.8", "3.12", "linux-64")
    assert w.version == "2.8.3.post1"
    assert w.filename == "flash_attn-2.8.3.post1+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"
    assert w.url == ("https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3.post1/"
                     "flash_attn-2.8.3.post1+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl")
    assert w.release_url == "https://github.com/Dao-AILab/flash-attention/releases/tag/v2.8.3.post1"
    assert w.cuda_built == "12.9.1" and w.torch_built == "2.8.0" and w.cxx11_abi


def test_abi_follows_torch_unless_given(fa):
    # PyPI's torch 2.6 (cu124) has the old ABI, 2.7+ the C++11 ABI; the cu126 build of 2.6 already had it
    assert not fa.wheel_for("2.6", "12.4", "3.11", "linux_x86_64").cxx11_abi
    assert fa.wheel_for("2.6", "12.6", "3.11", "linux_x86_64").cxx11_abi
    assert fa.wheel_for("2.7", "cu128", "cp311", "linux-64").cxx11_abi
    assert "cxx11abiTRUE" in fa.wheel_for("2.5", "12.4", "3.10", "linux-64", cxx11_abi=True).filename


def test_cuda_11_and_old_torch_come_from_older_releases(fa):
    # CUDA 11 wheels stop with 2.7.3 (2.7.4 builds only 12.4.1); up to 2.6.3 the tag holds major and minor
    assert fa.wheel_for("2.3", "11.8", "3.10", "linux-64").filename == \
        "flash_attn-2.7.3+cu11torch2.3cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"
    assert fa.wheel_for("1.13", "11.7", "3.10", "linux-64").filename == \
        "flash_attn-2.5.9.post1+cu118torch1.13cxx11abiFALSE-cp310-cp310-linux_x86_64.whl"


def test_no_wheel(fa):
    assert fa.wheel_for("2.9", "12.8", "3.12", "linux-64") is None  # no recorded release builds torch 2.9+
    assert fa.wheel_for("2.15", "13.2", "3.13", "linux-64") is None
    assert fa.wheel_for("2.4", "12.4", "3.13", "linux-64") is None  # excluded in every matrix
    assert fa.wheel_for("2.8", "12.8", "3.12", "win-64") is None  # Linux x86_64 only
    assert fa.wheel_for("2.8", "12.8", "3.12", "linux-aarch64") is None
    assert fa.wheel_for("2.8", "13.0", "3.12", "linux-64") is None  # no CUDA 13 wheels
    assert fa.wheel_for("banana", "12.8", "3.12", "linux-64") is None


def test_nightly_built_wheels_only_on_request(fa):
    # torch 2.6 wheels of 2.7.1 were built against 2.6.0.dev20241010; 2.7.4 is the first against 2.6.0
    assert fa.wheel_for("2.6", "12.4", "3.12", "linux-64").torch_built == "2.6.0"
    dev = [r.version for r in fa.releases if any(t.startswith("2.6.0.dev") for t in r.torch)]
    assert "2.7.1" in dev
    w = fa.release("2.7.1")
    assert w.wheel_cuda == "major" and fa.release("2.6.3").wheel_cuda == "major_minor"


def test_every_release_has_a_source_and_the_url_pattern():
    data = load_toml(Knowledge().data_dir / "flash_attn.toml")
    assert data["recorded"] == "2026-12-04" and data["source"] and data["torch_abi"]["source"]
    assert data["release_url"] == "https://github.com/Dao-AILab/flash-attention/releases/tag/v{version}"
    versions = [r["version"] for r in data["release"]]
    assert len(versions) == 37 and versions[-1] == "2.5.0" and versions[0] == "2.8.3.post1"
    for r in data["release"]:
        assert r["source"] == f"https://github.com/Dao-AILab/flash-attention/blob/{r['tag']}/.github/workflows/publish.yml"
        assert r["tag"] == "v" + r["version"] and len(r["commit"]) == 40 and r["platform"] == "linux_x86_64"
