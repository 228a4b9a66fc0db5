"""install-cmd: table-driven scenarios over the real release data, the seed commands, and properties."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from envcheck.install.compat import CUBIN, FULL, MINOR_COMPAT, arch_support, driver_support
from envcheck.install.plan import make_plan
from envcheck.knowledge import Knowledge
from envcheck.install.resolve import NoFit, Target, resolve
from envcheck.versions import dotted, in_specifier, parse_version

ROOT = Path(__file__).resolve().parents[2]
K = Knowledge()


def pick(**kw):
    return resolve(Target(**kw), K)


# --------------------------------------------------------------------------- the seed commands


def test_seed_pip_command():
    choice = pick(torch="2.0.0", cuda="11.8", driver="535.104.05", capabilities=["8.6"], python="3.10",
                  companions=("torchvision", "torchaudio"))
    plan = make_plan(choice, "linux", ["pip"], None)
    assert plan.commands[0].command == ("pip install torch==2.0.0 torchvision==0.15.1 torchaudio==2.0.1 "
                                        "--index-url https://download.pytorch.org/whl/cu118")


def test_seed_conda_command():
    choice = pick(torch="1.13.1", cuda="11.6", driver="535.104.05", capabilities=["8.6"], python="3.9",
                  companions=("torchvision", "torchaudio"))
    plan = make_plan(choice, "linux", ["conda"], None)
    assert plan.commands[0].command == ("conda install pytorch==1.13.1 torchvision==0.14.1 torchaudio==0.13.1 "
                                        "pytorch-cuda=11.6 -c pytorch -c nvidia")


def test_pytorch_cuda_11_2_never_existed():
    with pytest.raises(NoFit) as exc:
        pick(cuda="11.2", driver="535.104.05", capabilities=["8.6"], python="3.9")
    text = " ".join(exc.value.reasons)
    assert "never published a cu112 build" in text and "nearest real choice" in text
    assert "cu113" in text or "cu111" in text or "cu102" in text


# --------------------------------------------------------------------------- scenarios


SCENARIOS = [
    # (description, target kwargs, check)
    ("H100 on driver 580 gets a CUDA 13 or 12.x build with sm_90",
     dict(driver="580.159.04", driver_cuda="13.0", capabilities=["9.0"], python="3.12"),
     lambda c: c.variant.cuda and arch_support(c.variant.arch_list, "9.0") == CUBIN),
    ("RTX 5090 (sm_120) needs torch >= 2.7 with cu128+",
     dict(driver="570.133.07", capabilities=["12.0"], python="3.11"),
     lambda c: parse_version(c.release.version) >= parse_version("2.7") and dotted(c.variant.cuda) >= (12, 8)),
    ("GTX 1080 (sm_61) on driver 535 gets a build that still has sm_6x kernels",
     dict(driver="535.104.05", capabilities=["6.1"], python="3.10"),
     lambda c: arch_support(c.variant.arch_list, "6.1") == CUBIN),
    ("driver 470 (CUDA 11.4) gets a cu11x build",
     dict(driver="470.82.01", capabilities=["7.5"], python="3.9"),
     lambda c: dotted(c.variant.cuda)[0] == 11),
    ("driver 535 / CUDA 12.2 with cu12x builds: minor compat or a build <= 12.2",
     dict(driver="535.104.05", driver_cuda="12.2", capabilities=["8.0"], python="3.11"),
     lambda c: dotted(c.variant.cuda)[0] == 12),
    ("no GPU gets the CPU build", dict(no_gpu=True, python="3.11"), lambda c: c.variant.tag == "cpu"),
    ("macOS gets the CPU build", dict(os="macos", python="3.12"), lambda c: c.variant.tag == "cpu"),
    ("Windows with an RTX 3060", dict(os="windows", driver="560.94", capabilities=["8.6"], python="3.11"),
     lambda c: "windows" in c.variant.os and c.variant.cuda is not None),
    ("keep torch 2.1.2 and pair the rest", dict(torch="2.1.2", driver="535.104.05", capabilities=["8.6"], python="3.10"),
     lambda c: c.release.version == "2.1.2" and c.release.torchvision == "0.16.2"),
    ("ask for cpu on a GPU box", dict(cuda="cpu", driver="580.159.04", capabilities=["9.0"], python="3.12"),
     lambda c: c.variant.tag == "cpu"),
    ("ask for cu118", dict(cuda="11.8", driver="580.159.04", capabilities=["8.0"], python="3.10"),
     lambda c: c.variant.tag == "cu118"),
    ("Python 3.8 stops at the last release that had 3.8 wheels", dict(no_gpu=True, python="3.8"),
     lambda c: in_specifier("3.8.0", c.release.python) is not False
     and parse_version(c.release.version) < parse_version("2.5")),
    ("Python 3.9 on a V100", dict(driver="535.104.05", capabilities=["7.0"], python="3.9"),
     lambda c: arch_support(c.variant.arch_list, "7.0") == CUBIN),
    ("two different GPUs both need kernels", dict(driver="570.133.07", capabilities=["8.6", "12.0"], python="3.11"),
     lambda c: all(arch_support(c.variant.arch_list, x) == CUBIN for x in ("8.6", "12.0"))),
    ("A100 on driver 525 (CUDA 12.0)", dict(driver="525.85.12", capabilities=["8.0"], python="3.10"),
     lambda c: c.variant.cuda is not None),
    ("T4 on driver 450 (CUDA 11.0) can run only cu11x under minor compat",
     dict(driver="450.80.02", capabilities=["7.5"], python="3.8"),
     lambda c: dotted(c.variant.cuda)[0] == 11),
    ("L4 (sm_89) runs sm_80/86 cubins", dict(driver="550.54.15", capabilities=["8.9"], python="3.11"),
     lambda c: arch_support(c.variant.arch_list, "8.9") == CUBIN),
    ("B200 (sm_100) needs a cu128+ build", dict(driver="570.133.07", capabilities=["10.0"], python="3.12"),
     lambda c: dotted(c.variant.cuda) >= (12, 8)),
    ("keep torch 2.0.0 on a GPU box with a new driver", dict(torch="2.0.0", driver="550.54.15", capabilities=["8.6"],
                                                            python="3.10"),
     lambda c: c.variant.tag in ("cu117", "cu118")),
    ("driver unknown but GPU given", dict(capabilities=["8.6"], python="3.11"),
     lambda c: c.variant.cuda is not None and any("driver unknown" in r for r in c.reasons)),
    ("Python 3.13 on an H100", dict(driver="580.159.04", capabilities=["9.0"], python="3.13"),
     lambda c: in_specifier("3.13.0", c.release.python) is not False),
    ("keep torch 1.12.1", dict(torch="1.12.1", driver="515.65.01", capabilities=["8.6"], python="3.9"),
     lambda c: c.release.torchvision == "0.13.1" and c.release.torchaudio == "0.12.1"),
    ("Windows without GPU", dict(os="windows", no_gpu=True, python="3.11"), lambda c: c.variant.tag == "cpu"),
    ("RTX 4090 on driver 580", dict(driver="580.65.06", capabilities=["8.9"], python="3.12"),
     lambda c: c.variant.cuda is not None),
    ("Python 3.15 on an H100", dict(driver="580.159.04", capabilities=["9.0"], python="3.15"),
     lambda c: in_specifier("3.15.0", c.release.python) is not False),
    ("Python 3.14 without GPU", dict(no_gpu=True, python="3.14"), lambda c: c.variant.tag == "cpu"),
    ("Windows with an RTX 5090", dict(os="windows", driver="576.02", capabilities=["12.0"], python="3.12"),
     lambda c: "windows" in c.variant.os and arch_support(c.variant.arch_list, "12.0") == CUBIN),
    ("H20 (sm_90) on driver 550", dict(driver="550.127.05", capabilities=["9.0"], python="3.11"),
     lambda c: dotted(c.variant.cuda)[0] == 12),
]


@pytest.mark.parametrize("description, kwargs, check", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenarios(description, kwargs, check):
    choice = pick(**kwargs)
    assert check(choice), (description, choice.release.version, choice.variant.tag, choice.reasons)
    assert choice.reasons and choice.reasons[0].startswith("torch ")


@pytest.mark.parametrize("kwargs, needle", [
    (dict(capabilities=["12.0"], python="3.8", driver="570.133.07"), "the oldest Python with wheels is 3.9"),
    (dict(torch="1.12.1", capabilities=["12.0"], python="3.9", driver="570.133.07"), "sm_120"),
    (dict(torch="0.4.1", python="3.9"), "not a release envcheck knows"),
])
def test_no_fit_says_why(kwargs, needle):
    with pytest.raises(NoFit) as exc:
        pick(**kwargs)
    assert any(needle in r for r in exc.value.reasons), exc.value.reasons


def test_minor_compat_is_said_and_the_strict_alternative_named():
    choice = pick(driver="535.104.05", capabilities=["9.0"], python="3.12", torch=None)
    support = driver_support(choice.variant.cuda, "535.104.05", None, K)
    assert support.status in (FULL, MINOR_COMPAT)
    if support.status == MINOR_COMPAT:
        assert choice.minor_compat and any("minor-version" in r for r in choice.reasons)
    else:
        assert any("minor-version compatibility" in a for a in choice.alternatives) or not choice.minor_compat


# --------------------------------------------------------------------------- mirrors


def test_tuna_for_pypi_default_build_uses_the_pypi_mirror():
    choice = pick(driver="580.159.04", driver_cuda="13.0", capabilities=["9.0"], python="3.12")
    plan = make_plan(choice, "linux", ["pip"], K.mirror("tuna"))
    first = plan.commands[0]
    if choice.variant.pypi_default:
        assert first.mirror == "tuna" and "-i https://mirrors.tuna.tsinghua.edu.cn/" in first.command
        assert "download.pytorch.org" not in first.command


def test_tuna_never_invents_a_torch_wheel_url():
    choice = pick(torch="2.0.0", cuda="11.8", driver="535.104.05", capabilities=["8.6"], python="3.10")
    plan = make_plan(choice, "linux", ["pip", "uv", "conda"], K.mirror("tuna"))
    for c in plan.commands:
        if "tuna" in c.command:
            assert "/pypi/" in c.command or "/anaconda/" in c.command, c.command
        if c.manager in ("pip", "uv"):
            assert "download.pytorch.org/whl/cu118" in c.command
    assert any("has no copy of the cu118 build: torch comes from the official index" in w for w in plan.warnings)


def test_find_links_mirror_uses_f_and_local_pins():
    mirror = next((m for m in K.mirrors() if m.torch_wheels_layout == "find-links"), None)
    if mirror is None:
        pytest.skip("no find-links wheel mirror in the data")
    choice = pick(torch="2.6.0", cuda="12.6", driver="560.35.03", capabilities=["8.6"], python="3.11")
    cmd = make_plan(choice, "linux", ["pip"], mirror).commands[0].command
    assert " -f " in cmd and "torch==2.6.0+cu126" in cmd and mirror.torch_wheels.rstrip("/") + "/cu126" in cmd


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    driver=st.sampled_from([None, "450.80.02", "470.82.01", "525.60.13", "535.104.05", "550.54.15", "560.35.03",
                            "570.133.07", "580.65.06"]),
    caps=st.lists(st.sampled_from(["6.1", "7.0", "7.5", "8.0", "8.6", "8.9", "9.0", "10.0", "12.0"]), max_size=2),
    python=st.sampled_from(["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]),
    os_name=st.sampled_from(["linux", "windows"]),
)
def test_every_choice_exists_and_meets_its_constraints(driver, caps, python, os_name):
    target = Target(os=os_name, driver=driver, capabilities=caps, python=python, no_gpu=not caps and driver is None)
    try:
        choice = resolve(target, K)
    except NoFit as exc:
        assert exc.reasons
        return
    rel, var = choice.release, choice.variant
    assert K.torch_release(rel.version) is rel and rel.variant(var.tag) is var
    assert os_name in var.os
    assert in_specifier(f"{python}.0", rel.python) is not False
    if var.python:
        assert python in var.python
    if var.cuda and var.arch_list:
        for cc in caps:
            assert arch_support(var.arch_list, cc) == CUBIN
    if var.cuda and driver:
        assert driver_support(var.cuda, driver, None, K, os_name).status in (FULL, MINOR_COMPAT)
    assert rel.torchvision and rel.torchaudio


def test_every_release_has_pairs_and_sane_variants():
    for rel in K.torch_releases():
        # torch 1.0.x: torchvision 0.2.x is pure Python (no paired build); torchaudio's first release came with 1.2.0
        assert rel.torchvision or parse_version(rel.version) < parse_version("1.1.0"), rel.version
        assert rel.torchaudio or parse_version(rel.version) < parse_version("1.2.0"), rel.version
        for v in rel.variants:
            assert v.tag == "cpu" or v.tag.startswith(("cu", "rocm")), v.tag
            if v.tag.startswith("cu"):
                assert v.cuda and f"cu{v.cuda.replace('.', '')}" == v.tag


# --------------------------------------------------------------------------- the command


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "envcheck", "install-cmd", *args], capture_output=True, text=True,
                          env=env, timeout=60, cwd=str(ROOT))


def test_cli_json_for_another_machine():
    proc = run_cli("--json", "--os", "linux", "--python", "3.10", "--driver", "535.104.05", "--gpu", "RTX 3090",
                   "--torch", "2.0.0", "--cuda", "11.8", "--manager", "pip")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert data["torch"] == "2.0.0" and data["torchvision"] == "0.15.1" and data["variant"] == "cu118"
    assert data["commands"][0]["command"].endswith("--index-url https://download.pytorch.org/whl/cu118")
    assert data["reasons"]


def test_cli_no_fit_exits_1_with_reasons():
    proc = run_cli("--json", "--cuda", "11.2", "--gpu", "RTX 3090", "--driver", "535.104.05", "--python", "3.9")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["error"] and any("cu112" in r for r in data["reasons"])


def test_cli_this_machine_and_bad_flags():
    proc = run_cli()
    assert proc.returncode == 0 and "torch " in proc.stdout and "pip install torch==" in proc.stdout
    for bad in (["--os", "beos"], ["--gpu", "Voodoo 5"], ["--mirror", "nowhere"], ["--manager", "brew"]):
        proc = run_cli(*bad)
        assert proc.returncode == 3 and "Traceback" not in proc.stderr, bad
