"""doctor's `conda-mirror-missing-channel` (issue 15 req 4): the .condarc files, read by the conda probe from a
temporary home, checked against the mirror data (mirrors/*.toml: the channels each mirror carries). TUNA and USTC
state their channel lists on their own help pages; neither carries nvidia, USTC no pytorch."""

from __future__ import annotations

from pathlib import Path

from builders import cpu_box
from envcheck.knowledge import Knowledge
from envcheck.probes import ProbeContext
from envcheck.probes import conda as conda_probe
from envcheck.rules import evaluate

K = Knowledge()

# TUNA's recommended ~/.condarc (its Anaconda help page) with the nvidia line users add from pytorch.org's command
TUNA_WITH_NVIDIA = """\
channels:
  - nvidia
  - defaults
show_channel_urls: true
default_channels:
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r
custom_channels:
  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud
  pytorch: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud
  nvidia: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud
"""


def doctor(tmp_path: Path, condarc: str, name: str = ".condarc"):
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / name).write_text(condarc, encoding="utf-8")
    env = {"PATH": str(tmp_path / "emptybin"), "HOME": str(home)}
    ctx = ProbeContext(env=env, home=str(home), root=str(tmp_path / "root"))
    snap = cpu_box()
    snap.conda = conda_probe.probe(ctx, None)
    return snap, [f for f in evaluate(snap, K) if f.code == "conda-mirror-missing-channel"], str(home / name)


def test_nvidia_sent_to_tuna_by_custom_channels_names_the_file_channel_and_mirror(tmp_path):
    _snap, found, path = doctor(tmp_path, TUNA_WITH_NVIDIA)
    assert len(found) == 1
    f = found[0]
    assert f.severity.value == "error"  # TUNA states its channel list on its own page
    assert (f.facts["channel"], f.facts["mirror"], f.facts["file"]) == ("nvidia", "tuna", path)
    assert f.facts["url"] == "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/nvidia"
    assert path in str(f.title) and "nvidia" in str(f.title) and "tuna" in str(f.title)
    fixes = [str(x) for x in f.fix]
    assert fixes[0].startswith(f"conda config --file {path} --set custom_channels.nvidia https://conda.anaconda.org")
    assert any("https://conda.anaconda.org/nvidia" in x for x in fixes)  # the official URL, from anaconda.toml
    assert any("No mirror envcheck knows carries nvidia" in x for x in fixes)


def test_pytorch_on_ustc_through_channel_alias_and_a_mirror_that_has_it(tmp_path):
    text = ("channel_alias: https://mirrors.ustc.edu.cn/anaconda/cloud\n"
            "channels:\n  - pytorch\n  - conda-forge\n  - defaults\n")
    _snap, found, path = doctor(tmp_path, text)
    assert [(f.facts["channel"], f.facts["mirror"], f.facts["setting"]) for f in found] == [
        ("pytorch", "ustc", "channel_alias")]  # conda-forge: USTC carries it
    fixes = " ".join(str(x) for x in found[0].fix)
    assert "tuna" in fixes and "bfsu" in fixes and "sjtu" in fixes  # verified mirrors that carry pytorch
    assert "ustc" not in fixes.split("(see")[0].split(": ")[-1]


def test_a_channel_url_in_channels_on_a_mirror_that_lacks_it(tmp_path):
    text = "channels:\n  - https://mirrors.ustc.edu.cn/anaconda/cloud/pytorch/\n  - defaults\n"
    _snap, found, path = doctor(tmp_path, text, name=".condarc")
    assert len(found) == 1 and found[0].facts["setting"] == "channels"
    assert str(found[0].fix[0]).startswith(
        f"conda config --file {path} --remove channels https://mirrors.ustc.edu.cn/anaconda/cloud/pytorch/")


def test_the_mirrors_own_recommended_condarc_is_clean(tmp_path):
    text = TUNA_WITH_NVIDIA.replace("  nvidia: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n", "")
    snap, found, _path = doctor(tmp_path, text)
    assert snap.conda.custom_channels  # the probe did read the file
    assert found == []


def test_official_and_unknown_hosts_are_never_judged(tmp_path):
    text = ("channel_alias: https://conda.example.internal\n"
            "channels:\n  - nvidia\n  - https://conda.anaconda.org/nvidia\n"
            "custom_channels:\n  pytorch: https://conda.anaconda.org\n")
    _snap, found, _path = doctor(tmp_path, text)
    assert found == []


def test_an_unverified_mirror_list_gives_a_warning(tmp_path):
    unverified = [m for m in K.mirrors() if m.conda_channels and not m.conda_verified and "nvidia" not in m.conda_channels]
    assert unverified, "the mirror data has no unverified conda list"
    m = unverified[0]
    text = (f"channels:\n  - nvidia\ncustom_channels:\n"
            f"  nvidia: {m.conda_channels[sorted(m.conda_channels)[0]].rsplit('/', 1)[0]}\n")
    _snap, found, _path = doctor(tmp_path, text)
    assert [(f.facts["mirror"], f.severity.value) for f in found] == [(m.name, "warning")]


def test_a_custom_channel_no_channel_uses_is_not_judged(tmp_path):
    """The mirrors' help snippets list custom channels nobody asks for (TUNA's msys2): conda never looks there."""
    text = TUNA_WITH_NVIDIA.replace("  - nvidia\n", "", 1)
    _snap, found, _path = doctor(tmp_path, text)
    assert found == []
