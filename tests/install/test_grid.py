"""install-cmd's grid: every printed pip / uv line, for many machines, resolves offline against the
recorded index facts (PyPI's wheel listings, the PyTorch index data): no pin names a package, version,
Python or platform its index does not carry. One line per manager, never the same command twice."""

from __future__ import annotations

import pytest

from envcheck.install.mirror_choice import choose
from envcheck.install.plan import make_plan
from envcheck.install.resolve import NoFit, Target
from envcheck.knowledge import Knowledge
from index_check import parse_command, problems, wheel_fits

K = Knowledge()
ALL = ("pip", "uv", "conda")
TV = ("torchvision",)
TVA = ("torchvision", "torchaudio")

# (id, Target kwargs, mirror, expectation: "fit" | "nofit")
GRID = [
    ("linux-h100-580-py312", dict(driver="580.95.05", capabilities=["9.0"], python="3.12"), None, "fit"),
    ("linux-h100-580-py312-tuna", dict(driver="580.95.05", capabilities=["9.0"], python="3.12"), "tuna", "fit"),
    ("linux-h100-580-py312-aliyun", dict(driver="580.95.05", capabilities=["9.0"], python="3.12"), "aliyun", "fit"),
    ("linux-h100-580-py312-nju", dict(driver="580.95.05", capabilities=["9.0"], python="3.12"), "nju", "fit"),
    ("linux-h100-580-py312-sjtu", dict(driver="580.95.05", capabilities=["9.0"], python="3.12"), "sjtu", "fit"),
    ("linux-4090-595-py313-audio", dict(driver="595.45.04", capabilities=["8.9"], python="3.13", companions=TVA),
     None, "fit"),
    ("linux-4090-595-py315-audio", dict(driver="595.45.04", capabilities=["8.9"], python="3.15", companions=TVA),
     None, "fit"),
    ("linux-4090-595-py315-audio-tuna", dict(driver="595.45.04", capabilities=["8.9"], python="3.15",
                                              companions=TVA), "tuna", "fit"),
    ("linux-a100-535-py310", dict(driver="535.104.05", capabilities=["8.0"], python="3.10"), None, "fit"),
    ("linux-a100-535-py310-tuna", dict(driver="535.104.05", capabilities=["8.0"], python="3.10"), "tuna", "fit"),
    ("linux-a100-535-py310-aliyun", dict(driver="535.104.05", capabilities=["8.0"], python="3.10"), "aliyun", "fit"),
    ("linux-v100-525-py39", dict(driver="525.60.13", capabilities=["7.0"], python="3.9"), None, "fit"),
    ("linux-v100-525-py311-nju", dict(driver="525.60.13", capabilities=["7.0"], python="3.11"), "nju", "fit"),
    ("linux-t4-470-py39", dict(driver="470.82.01", capabilities=["7.5"], python="3.9"), None, "fit"),
    ("linux-1080-450-py38", dict(driver="450.80.02", capabilities=["6.1"], python="3.8"), None, "fit"),
    ("linux-k80-450-py37", dict(driver="450.80.02", capabilities=["3.7"], python="3.7"), None, "fit"),
    ("linux-5090-570-py312", dict(driver="570.133.07", capabilities=["12.0"], python="3.12"), None, "fit"),
    ("linux-5090-610-py314-audio", dict(driver="610.10", capabilities=["12.0"], python="3.14", companions=TVA),
     None, "fit"),
    ("linux-b200-580-py313", dict(driver="580.95.05", capabilities=["10.0"], python="3.13"), None, "fit"),
    ("linux-3090-550-py311-ustc", dict(driver="550.54.15", capabilities=["8.6"], python="3.11"), "ustc", "fit"),
    ("linux-cpu-py311", dict(no_gpu=True, python="3.11"), None, "fit"),
    ("linux-cpu-py311-tuna", dict(no_gpu=True, python="3.11"), "tuna", "fit"),
    ("linux-cpu-py315-audio", dict(no_gpu=True, python="3.15", companions=TVA), None, "fit"),
    ("linux-cpu-py39", dict(no_gpu=True, python="3.9"), None, "fit"),
    ("linux-aarch64-gh200-580-py312", dict(arch="aarch64", driver="580.95.05", capabilities=["9.0"], python="3.12"),
     None, "fit"),
    ("linux-aarch64-cpu-py312", dict(arch="aarch64", no_gpu=True, python="3.12"), None, "fit"),
    ("windows-3060-560-py311", dict(os="windows", driver="560.94", capabilities=["8.6"], python="3.11"), None, "fit"),
    ("windows-3060-596-py312-audio", dict(os="windows", driver="596.21", capabilities=["8.6"], python="3.12",
                                          companions=TVA), None, "fit"),
    ("windows-3060-596-py312-tuna", dict(os="windows", driver="596.21", capabilities=["8.6"], python="3.12"),
     "tuna", "fit"),
    ("windows-4090-581-py315", dict(os="windows", driver="581.57", capabilities=["8.9"], python="3.15"), None, "fit"),
    ("windows-cpu-py313", dict(os="windows", no_gpu=True, python="3.13"), None, "fit"),
    ("windows-1660-472-py39", dict(os="windows", driver="472.12", capabilities=["7.5"], python="3.9"), None, "fit"),
    ("windows-cpu-py311-1.13-nofit", dict(os="windows", no_gpu=True, python="3.11", torch="1.13"), None, "nofit"),
    ("windows-cpu-py310-1.13", dict(os="windows", no_gpu=True, python="3.10", torch="1.13"), None, "fit"),
    ("macos-arm64-py312", dict(os="macos", arch="arm64", python="3.12"), None, "fit"),
    ("macos-arm64-py315-audio", dict(os="macos", arch="arm64", python="3.15", companions=TVA), None, "fit"),
    ("macos-arm64-py39-tuna", dict(os="macos", arch="arm64", python="3.9"), "tuna", "fit"),
    ("macos-x86_64-py311", dict(os="macos", arch="x86_64", python="3.11"), None, "fit"),
    ("macos-x86_64-py312-aliyun", dict(os="macos", arch="x86_64", python="3.12"), "aliyun", "fit"),
    ("torch-2.14-newest-patch", dict(driver="580.95.05", capabilities=["8.6"], python="3.12", torch="2.14"), None,
     "fit"),
    ("torch-2.12-cu132-windows-audio", dict(os="windows", driver="596.21", capabilities=["8.6"], python="3.12",
                                            torch="2.12", cuda="13.2", companions=TVA), None, "nofit"),
    ("torch-2.12-windows-audio-cu130", dict(os="windows", driver="596.21", capabilities=["8.6"], python="3.12",
                                            torch="2.12", companions=TVA), None, "fit"),
    ("xformers-2.15", dict(driver="595.45.04", capabilities=["8.9"], python="3.12",
                           companions=("torchvision", "xformers")), None, "fit"),
    ("linux-mi300x-rocm-py312", dict(gfx=["gfx942"], no_gpu=True, python="3.12"), None, "fit"),
    ("linux-rx7900-rocm-py311-audio", dict(gfx=["gfx1100"], no_gpu=True, python="3.11", companions=TVA), None, "fit"),
    ("linux-xpu-py312", dict(xpu=True, no_gpu=True, python="3.12"), None, "fit"),
    ("windows-xpu-py312", dict(os="windows", xpu=True, no_gpu=True, python="3.12"), None, "fit"),
    ("linux-rocm6.3-asked", dict(cuda="rocm6.3", python="3.11"), None, "fit"),
    ("windows-arm64-nofit", dict(os="windows", arch="arm64", no_gpu=True, python="3.12"), None, "nofit"),
    ("linux-a100-470-py312-nofit", dict(driver="470.82.01", capabilities=["8.0"], python="3.12", torch="2.15"), None,
     "nofit"),
    ("linux-5090-450-impossible", dict(driver="450.80.02", capabilities=["12.0"], python="3.12"), None, "nofit"),
    ("linux-py316-nofit", dict(driver="595.45.04", capabilities=["8.9"], python="3.16"), None, "nofit"),
    ("macos-x86_64-py313-nofit", dict(os="macos", arch="x86_64", python="3.13"), None, "nofit"),
    ("windows-k80-nofit", dict(os="windows", driver="560.94", capabilities=["3.5"], python="3.12"), None, "nofit"),
]


@pytest.mark.parametrize("name, kwargs, mirror, expect", GRID, ids=[g[0] for g in GRID])
def test_every_printed_command_resolves_offline(name, kwargs, mirror, expect):
    target = Target(**kwargs)
    mirror_data = K.mirror(mirror) if mirror else None
    if expect == "nofit":
        with pytest.raises(NoFit) as exc:
            choose(target, K, mirror_data)
        assert exc.value.reasons and str(exc.value.reasons[0])
        return
    choice, _ = choose(target, K, mirror_data)
    plan = make_plan(choice, target.os, list(ALL), mirror_data, arch=target.arch, knowledge=K, python=target.python)
    lines = [c.command for c in plan.commands]
    assert len(lines) == len(set(lines)), lines
    managers = [c.manager for c in plan.commands]
    assert managers.count("pip") == 1 and managers.count("uv") == 1 and managers.count("conda") <= 1, managers
    for c in plan.commands:
        if c.manager in ("pip", "uv"):
            found = problems(c.command, target.platform, target.python, K, choice.release.version)
            assert not found, (c.command, found)
            if mirror_data and not mirror_data.official:
                assert c.mirror == mirror_data.name, c
    names = [p.name for p in choice.packages]
    assert names[0] == "torch" and set(names[1:]) == set(target.companions), names


def test_grid_is_wide_enough():
    assert len(GRID) >= 40
    platforms = {Target(**kw).platform for _, kw, _, _ in GRID}
    assert {"linux-x86_64", "linux-aarch64", "windows-x86_64", "macos-arm64", "macos-x86_64"} <= platforms
    assert {m for _, _, m, _ in GRID} >= {None, "tuna", "aliyun", "nju", "sjtu"}


def test_the_checker_catches_what_an_index_does_not_carry():
    """The offline check fails a command naming a wheel its index lacks (so the grid can fail)."""
    assert problems("pip install torch==2.15.0 torchaudio==2.11.0", "linux-x86_64", "3.15", K, "2.15.0")
    assert problems("pip install torch==2.15.0", "macos-x86_64", "3.12", K, "2.15.0")
    assert problems("pip install torch==2.15.0 torchvision==0.29.2 torchaudio==2.11.1 --index-url "
                    "https://download.pytorch.org/whl/cu132", "linux-x86_64", "3.12", K, "2.15.0") or \
        K.pytorch_index().carries("2.15.0", "cu132", "torchaudio", "linux-x86_64") is not False
    assert not problems("pip install torch==2.15.0 torchaudio==2.11.1", "linux-x86_64", "3.15", K, "2.15.0")
    assert wheel_fits("torchaudio-2.11.1-py3-none-win_amd64.whl", "windows-x86_64", "3.15")
    assert not wheel_fits("torch-2.15.0-cp313-cp313t-win_amd64.whl", "windows-x86_64", "3.13")
    assert parse_command("uv pip install torch==2.6.0+cu126 -f https://x/cu126 -i https://y") == (
        [("torch", "2.6.0", "cu126")], ["https://y"], ["https://x/cu126"])


def test_torchaudio_for_2_15_imports_beside_it():
    """torch 2.15.0 pairs with torchaudio 2.11.1 (2.11.0 fails its CUDA check against 13.2 and has no cp315)."""
    choice, _ = choose(Target(driver="595.45.04", capabilities=["8.9"], python="3.15", companions=TVA), K, None)
    versions = {p.name: p.version for p in choice.packages}
    assert versions["torch"] == "2.15.0" and versions["torchaudio"] == "2.11.1"


def test_torch_minor_means_its_newest_patch():
    choice, _ = choose(Target(driver="580.95.05", capabilities=["8.6"], python="3.12", torch="2.14"), K, None)
    assert choice.release.version == "2.14.1"


def test_intel_mac_gets_the_last_intel_wheel_and_apple_silicon_no_false_warning():
    intel, _ = choose(Target(os="macos", arch="x86_64", python="3.11"), K, None)
    assert intel.release.version == "2.2.2"
    arm, _ = choose(Target(os="macos", arch="arm64", python="3.12"), K, None)
    plan = make_plan(arm, "macos", ["pip"], None, arch="arm64", knowledge=K)
    assert arm.release.version == K.torch_releases()[0].version
    assert not any("x86_64" in str(w) for w in plan.warnings)


def test_driver_blocks_first_with_the_driver_that_would_do():
    with pytest.raises(NoFit) as exc:
        choose(Target(driver="470.82.01", capabilities=["8.0"], python="3.12", torch="2.15"), K, None)
    first = str(exc.value.reasons[0])
    assert first.startswith("upgrade the NVIDIA driver to >= ") and "then torch 2.15.0" in first
    assert "ubuntu-drivers install nvidia:" in str(exc.value.reasons[1])


def test_a_gpu_the_driver_cannot_run_is_said_impossible():
    with pytest.raises(NoFit) as exc:
        choose(Target(driver="450.80.02", capabilities=["12.0"], python="3.12"), K, None)
    assert "cannot run a sm_120 GPU at all" in str(exc.value.reasons[0])


def test_too_new_python_names_the_newest_python_with_wheels():
    with pytest.raises(NoFit) as exc:
        choose(Target(driver="595.45.04", capabilities=["8.9"], python="3.16"), K, None)
    assert "the newest Python with wheels is 3.15" in str(exc.value.reasons[0])


def test_tuna_prefers_what_it_serves_in_full_and_names_the_mirrors_that_carry_the_rest():
    target = Target(driver="580.95.05", capabilities=["9.0"], python="3.12")
    official, _ = choose(target, K, None)
    local, notes = choose(target, K, K.mirror("tuna"))
    plan = make_plan(local, "linux", ["pip", "uv"], K.mirror("tuna"), knowledge=K)
    assert all("download.pytorch.org" not in c.command for c in plan.commands)
    if (local.release.version, local.variant.tag) != (official.release.version, official.variant.tag):
        text = " ".join(str(n) for n in notes)
        assert "the official index would add torch" in text
        assert "mirrors that carry the" in text and "nju" in text


def test_uv_note_says_where_the_nvidia_libraries_come_from():
    target = Target(driver="580.95.05", capabilities=["9.0"], python="3.12", cuda="13.0")
    choice, _ = choose(target, K, None)
    plan = make_plan(choice, "linux", ["uv"], K.mirror("tuna"), knowledge=K)
    note = str(plan.commands[0].note)
    assert "nvidia-*" in note and ("download.pytorch.org" in note or "mirror" in note)


def test_windows_1_13_has_no_python_3_11_wheel():
    """The issue's case: torch 1.13 on Windows stops at Python 3.10 (Linux has cp311): said, not printed."""
    with pytest.raises(NoFit) as exc:
        choose(Target(os="windows", no_gpu=True, python="3.11", torch="1.13"), K, None)
    assert "the newest Python with wheels is 3.10" in str(exc.value.reasons[0])


def test_rocm_build_covers_every_amd_gpu_and_xpu_has_its_index():
    mi300, _ = choose(Target(gfx=["gfx942"], no_gpu=True, python="3.12"), K, None)
    assert mi300.variant.tag.startswith("rocm") and "gfx942" in mi300.variant.arch_list
    plan = make_plan(mi300, "linux", ["pip"], None, knowledge=K)
    assert f"https://download.pytorch.org/whl/{mi300.variant.tag}" in plan.commands[0].command
    xpu, _ = choose(Target(xpu=True, no_gpu=True, python="3.12"), K, None)
    assert xpu.variant.tag == "xpu"
    with pytest.raises(NoFit):
        choose(Target(gfx=["gfx9999"], no_gpu=True, python="3.12"), K, None)


def test_windows_on_arm_is_said_honestly():
    with pytest.raises(NoFit) as exc:
        choose(Target(os="windows", arch="arm64", no_gpu=True, python="3.12"), K, None)
    assert "no release wheel for Windows on ARM" in str(exc.value.reasons[0])


def test_jetson_is_pointed_at_nvidias_wheels():
    with pytest.raises(NoFit) as exc:
        choose(Target(arch="aarch64", jetson="R36 (release), REVISION: 4.3", driver="540.4.0", python="3.10"), K, None)
    assert "Jetson" in str(exc.value.reasons[0]) and "docs.nvidia.com" in str(exc.value.reasons[0])
