"""install-cmd beyond a shell line (requirements, uv project, pip.conf), companions asked for with
--with, and keeping the torch that is installed."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys

import pytest

from envcheck.install.keep import choose_keeping
from envcheck.install.plan import make_plan
from envcheck.install.request import InstallRequest, InvalidRequest, companions
from envcheck.install.resolve import NoFit, Target
from envcheck.install.spec import pip_conf, requirements_txt, uv_project
from envcheck.knowledge import Knowledge, parse_toml
from envcheck.snapshot import Snapshot
from conftest import TORCH_PIN, clean_env, venv_python

K = Knowledge()
H100 = dict(driver="580.95.05", capabilities=["9.0"], python="3.12")


def _plan(mirror=None, **kw):
    from envcheck.install.mirror_choice import choose

    target = Target(**{**H100, **kw})
    choice, _ = choose(target, K, K.mirror(mirror) if mirror else None)
    return make_plan(choice, target.os, ["pip", "uv"], K.mirror(mirror) if mirror else None, knowledge=K,
                     python=target.python), target


def test_requirements_file_has_the_index_lines_and_the_pins_of_the_pip_line():
    plan, _ = _plan(cuda="13.0")
    text = requirements_txt(plan.spec, ["header"])
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    pip_words = plan.commands[0].command.split()[2:]
    flags = [w for line in lines if line.startswith("-") for w in line.split()]
    pins = [line for line in lines if not line.startswith("-")]
    assert sorted(flags + pins) == sorted(pip_words)
    assert any("download.pytorch.org/whl/cu130" in line for line in lines)


def test_uv_project_is_toml_in_uvs_guide_form():
    plan, _ = _plan(cuda="13.0")
    data = parse_toml(uv_project(plan.spec, ["header"]))
    indexes = data["tool"]["uv"]["index"]
    torch_index = next(i for i in indexes if "download.pytorch.org" in i["url"])
    assert torch_index["explicit"] is True
    assert data["tool"]["uv"]["sources"]["torch"] == {"index": torch_index["name"]}
    assert "torch==2.15.0" in data["project"]["dependencies"]


def test_uv_project_through_a_pypi_mirror_makes_it_the_default_index():
    plan, _ = _plan(mirror="tuna")
    data = parse_toml(uv_project(plan.spec, []))
    assert [i.get("default") for i in data["tool"]["uv"]["index"]] == [True]
    assert "sources" not in data["tool"]["uv"]


def test_pip_conf_is_ini_pip_reads():
    plan, _ = _plan(cuda="13.0", companions=("torchvision", "torchaudio"))
    parser = configparser.ConfigParser()
    parser.read_string(pip_conf(plan.spec, ["header"]))
    urls = " ".join(parser["global"].values())
    assert "download.pytorch.org/whl/cu130" in urls


def test_the_cli_writes_each_format(tmp_path):
    base = [sys.executable, "-m", "envcheck", "install-cmd", "--os", "linux", "--python", "3.12", "--driver",
            "580.95.05", "--compute-capability", "9.0", "--cuda", "13.0"]
    out = subprocess.run(base + ["--format", "uv-project"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert parse_toml(out.stdout)["tool"]["uv"]["index"]
    bad = subprocess.run(base + ["--format", "yaml"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 3 and "--format 'yaml'" in bad.stderr and "Traceback" not in bad.stderr


def test_torchaudio_is_opt_in_and_with_validates():
    assert companions(InstallRequest()) == ("torchvision",)
    assert companions(InstallRequest(with_packages=["torchaudio,xformers"])) == ("torchvision", "torchaudio", "xformers")
    assert companions(InstallRequest(with_packages=["no-torchvision"])) == ()
    with pytest.raises(InvalidRequest):
        companions(InstallRequest(with_packages=["tensorflow"]))


def test_flash_attn_gets_a_pointer_never_a_pin():
    plan, _ = _plan(torch="2.8", companions=("torchvision", "flash-attn"))
    assert "flash" not in plan.commands[0].command
    assert any("flash-attn" in str(a) and "releases/download" in str(a) for a in plan.alternatives)


def test_one_line_per_manager_through_tuna():
    plan, _ = _plan(mirror="tuna")
    assert [c.manager for c in plan.commands] == ["pip", "uv"]
    assert all(c.mirror == "tuna" for c in plan.commands)


def _snap(version: str, cuda) -> Snapshot:
    snap = Snapshot()
    snap.torch.version, snap.torch.dist_version, snap.torch.cuda = version, version.split("+")[0], cuda
    snap.torch.build = "cuda" if cuda else "cpu"
    return snap


def test_keep_torch_pairs_the_rest_to_an_installed_torch_that_fits():
    choice, notes = choose_keeping(Target(**H100), K, None, _snap("2.11.0+cu130", "13.0"), None)
    assert (choice.release.version, choice.variant.tag) == ("2.11.0", "cu130")
    assert "keeps the installed torch 2.11.0 cu130" in str(notes[0])
    replaced, _ = choose_keeping(Target(**H100), K, None, _snap("2.11.0+cu130", "13.0"), False)
    assert replaced.release.version == K.torch_releases()[0].version


def test_an_installed_torch_that_does_not_fit_is_replaced_and_said():
    # a cu132 build on a driver that runs CUDA 12.x only
    target = Target(driver="550.54.15", capabilities=["8.6"], python="3.12")
    choice, notes = choose_keeping(target, K, None, _snap("2.15.0+cu132", "13.2"), None)
    assert choice.variant.tag != "cu132"
    assert "does not fit this machine" in str(notes[0])
    with pytest.raises(NoFit):
        choose_keeping(target, K, None, _snap("2.15.0+cu132", "13.2"), True)


def test_keep_is_the_default_on_a_real_torch_venv(torch_venv):
    """install-cmd on a venv that has the registry's CPU torch pairs to it instead of replacing it."""
    out = subprocess.run([sys.executable, "-m", "envcheck", "install-cmd", "--python", str(venv_python(torch_venv)),
                          "--json", "--manager", "pip"], capture_output=True, text=True, timeout=120,
                         env=clean_env())
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["torch"] == TORCH_PIN.split("==")[1]
    assert any("keeps the installed torch" in a for a in data["alternatives"])


def test_the_printed_cpu_pins_install_and_import(torch_venv):
    """CI installs what the command names: the CPU torch the registry carries, pinned exactly as printed."""
    out = subprocess.run([sys.executable, "-m", "envcheck", "install-cmd", "--os", "linux", "--python", "3.11",
                          "--no-gpu", "--torch", TORCH_PIN.split("==")[1], "--with", "no-torchvision", "--json",
                          "--manager", "pip"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    command = json.loads(out.stdout)["commands"][0]["command"]
    pins = [w for w in command.split() if "==" in w]
    assert pins == [TORCH_PIN]
    check = subprocess.run([str(venv_python(torch_venv)), "-m", "pip", "install", "--dry-run", "--no-deps", "-q",
                            *pins], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr
    imported = subprocess.run([str(venv_python(torch_venv)), "-c", "import torch; print(torch.__version__)"],
                              capture_output=True, text=True, timeout=120, env=clean_env())
    assert imported.stdout.startswith(TORCH_PIN.split("==")[1]), imported.stderr


def test_all_adds_every_mirrors_line_once_and_only_where_it_carries_the_build():
    from envcheck.install.mirror_choice import choose

    target = Target(**H100, cuda="13.0")
    choice, _ = choose(target, K, None)
    plan = make_plan(choice, "linux", ["pip"], None, knowledge=K, every_mirror=True)
    mirrors = [c.mirror for c in plan.commands]
    assert mirrors[0] is None and len(mirrors) == len(set(mirrors)) > 5
    for c in plan.commands[1:]:
        m = K.mirror(c.mirror)
        if m.torch_wheels and m.carries_variant("cu130") is not True:
            assert m.torch_wheels not in c.command, c.command
