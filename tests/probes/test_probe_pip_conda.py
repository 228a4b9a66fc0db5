"""pip configuration and conda probes, on real files in temporary HOME / root trees.

The pip scenarios are checked against pip itself: the same files and environment are handed to
this interpreter's pip (``create_command("install").parse_args([])``), whose answer is the truth.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from envcheck.knowledge import Knowledge
from envcheck.probes import ProbeContext
from envcheck.probes import conda as conda_probe
from envcheck.probes import pip_config
from envcheck.runner import run

TUNA = "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple"
ALIYUN = "https://mirrors.aliyun.com/pypi/simple/"
USTC = "https://mirrors.ustc.edu.cn/pypi/simple"

# The recommended ~/.condarc of TUNA's Anaconda help page (mirrorz-help contents/anaconda.mdx,
# rendered for mirrors.tuna.tsinghua.edu.cn/anaconda over https).
TUNA_CONDARC = """\
channels:
  - defaults
show_channel_urls: true
default_channels:
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/msys2
custom_channels:
  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud
  pytorch: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud
"""

# Asks this interpreter's pip what `pip install` would use; prints JSON, or the error pip raises.
PIP_ORACLE = """\
import json
try:
    from pip._internal.commands import create_command
except ImportError as exc:
    print(json.dumps({"unavailable": str(exc)})); raise SystemExit(0)
try:
    opts, _ = create_command("install").parse_args([])
except BaseException as exc:
    print(json.dumps({"error": type(exc).__name__ + ": " + str(exc)})); raise SystemExit(0)
print(json.dumps({"index_url": opts.index_url, "extra": opts.extra_index_urls,
                  "find_links": opts.find_links}))
"""


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


def write(path: Path, text: str, newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline=newline) as fh:
        fh.write(text)
    return path


def base_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    """A clean environment: temp HOME and XDG dirs, no PIP_* from the machine running the tests."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
           "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
    env.update(extra)
    return env


def real_pip(env: Dict[str, str]) -> dict:
    result = run([sys.executable, "-c", PIP_ORACLE], timeout=60, env=env)
    assert result.ok, result.output
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    if "unavailable" in answer:
        pytest.skip(f"this pip has no create_command: {answer['unavailable']}")
    return answer


def probe_pip(env: Dict[str, str], knowledge: Knowledge, prefix: Optional[str] = sys.prefix,
              **kw) -> "pip_config.PipConfig":
    ctx = ProbeContext(env=env, home=env.get("HOME"), root=kw.pop("root", "/"))
    return pip_config.probe(ctx, prefix, knowledge, **kw)


def assert_same_as_pip(config, answer: dict) -> None:
    assert "error" not in answer, answer
    assert config.index_url == answer["index_url"]
    assert config.extra_index_urls == answer["extra"]
    assert config.find_links == answer["find_links"]


# --------------------------------------------------------------------------- pip: this machine


def _pip_config_list(env: Dict[str, str]) -> Dict[str, str]:
    result = run([sys.executable, "-m", "pip", "config", "list"], timeout=60, env=env)
    assert result.ok, result.output
    listed = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            listed[key] = value.strip().strip("'\"")
    return listed


def test_probe_agrees_with_pip_config_list_on_this_machine(knowledge):
    """Whatever pip files and PIP_* variables this machine has, the probe reads them as pip does."""
    env = dict(os.environ)
    listed = _pip_config_list(env)
    config = probe_pip(env, knowledge)

    # pip's own rule for `pip install`: [global], then [install], then the environment; last wins.
    want_index, want_extra, want_links = None, [], []
    for section in ("global", "install", ":env:"):
        for key, value in listed.items():
            sect, _, name = key.partition(".")
            if sect != section or not value:
                continue
            if name in ("index-url", "pypi-url"):
                want_index = value
            elif name == "extra-index-url":
                want_extra = value.split()
            elif name == "find-links":
                want_links = value.split()
    assert config.index_url == (want_index or pip_config.DEFAULT_INDEX_URL)
    assert config.extra_index_urls == want_extra
    assert config.find_links == want_links

    # every key pip lists is among the probe's settings, with the value of the winning source
    for key, value in listed.items():
        ours = [s for s in config.settings if s.key == key]
        assert ours, f"{key} listed by pip but not found by the probe"
        winner = ours[-1].origin
        assert [s.value for s in ours if s.origin == winner] == (value.split() or [value])
    assert config.errors == []


def test_probe_agrees_with_pip_itself_on_this_machine(knowledge):
    config = probe_pip(dict(os.environ), knowledge)
    assert_same_as_pip(config, real_pip(dict(os.environ)))


# --------------------------------------------------------------------------- pip: tricky files


def test_sections_files_and_comments_resolve_like_pip(tmp_path, knowledge):
    home = tmp_path / "home"
    # legacy user file: an [install] find-links beats any [global] find-links, whatever the file
    write(home / ".pip" / "pip.conf", "[global]\nextra-index-url = https://legacy.example/simple\n"
                                      "[install]\nfind-links = /srv/wheels\n")
    write(home / ".config" / "pip" / "pip.conf", f"""\
# a full-line comment
; another one
[global]
index-url = {TUNA}
extra-index-url =
    {USTC}
    https://user:s3cret@private.example.com/simple
find-links = /ignored/because/install/wins
timeout = 60

[install]
index-url = {ALIYUN}  # pip keeps an inline comment as part of the value
""")
    env = base_env(tmp_path)
    config = probe_pip(env, knowledge)
    assert_same_as_pip(config, real_pip(env))

    assert config.index_url == f"{ALIYUN}  # pip keeps an inline comment as part of the value"
    assert config.extra_index_urls == [USTC, "https://user:s3cret@private.example.com/simple"]
    assert config.find_links == ["/srv/wheels"]
    legacy, new = str(home / ".pip" / "pip.conf"), str(home / ".config" / "pip" / "pip.conf")
    assert config.files[-2:] == [legacy, new]
    by_key = {(s.key, s.value): s for s in config.settings}
    assert by_key[("global.index-url", TUNA)].mirror == "tuna"
    assert by_key[("global.index-url", TUNA)].origin == new
    assert by_key[("global.extra-index-url", USTC)].mirror == "ustc"
    # credentials are left as they are: redaction is the renderer's job
    assert ("global.extra-index-url", "https://user:s3cret@private.example.com/simple") in by_key
    assert by_key[("install.find-links", "/srv/wheels")].origin == legacy


def test_environment_variables_override_files(tmp_path, knowledge):
    write(tmp_path / "xdg" / "pip" / "pip.conf", f"[global]\nindex-url = {TUNA}\nfind-links = /a\n")
    env = base_env(tmp_path, PIP_INDEX_URL=ALIYUN,
                   PIP_EXTRA_INDEX_URL=f"{USTC} https://download.pytorch.org/whl/cu126",
                   PIP_FIND_LINKS="https://mirrors.aliyun.com/pytorch-wheels/cu126/")
    config = probe_pip(env, knowledge)
    assert_same_as_pip(config, real_pip(env))
    assert config.index_url == ALIYUN
    assert config.extra_index_urls == [USTC, "https://download.pytorch.org/whl/cu126"]
    env_settings = [s for s in config.settings if s.origin.startswith("PIP_")]
    assert [(s.key, s.mirror) for s in env_settings] == [
        (":env:.extra-index-url", "ustc"), (":env:.extra-index-url", "pytorch"),
        (":env:.find-links", "aliyun"), (":env:.index-url", "aliyun")]


def test_empty_value_in_a_later_file_hides_an_earlier_one(tmp_path, knowledge):
    write(tmp_path / "xdg" / "pip" / "pip.conf", f"[global]\nindex-url = {TUNA}\n")
    write(tmp_path / "home" / ".config" / "pip" / "pip.conf", "[global]\nindex-url =\n")
    env = base_env(tmp_path)
    config = probe_pip(env, knowledge)
    assert_same_as_pip(config, real_pip(env))
    assert config.index_url == pip_config.DEFAULT_INDEX_URL


def test_existing_pip_config_file_replaces_the_user_files(tmp_path, knowledge):
    write(tmp_path / "home" / ".config" / "pip" / "pip.conf", f"[global]\nindex-url = {TUNA}\n")
    chosen = write(tmp_path / "chosen.conf", f"[global]\nextra-index-url = {USTC}\n")
    env = base_env(tmp_path, PIP_CONFIG_FILE=str(chosen))
    config = probe_pip(env, knowledge)
    assert_same_as_pip(config, real_pip(env))
    assert config.index_url == pip_config.DEFAULT_INDEX_URL
    assert config.files[-1] == str(chosen)
    assert str(tmp_path / "home" / ".config" / "pip" / "pip.conf") not in config.files


def test_pip_config_file_devnull_disables_every_file(tmp_path, knowledge):
    write(tmp_path / "xdg" / "pip" / "pip.conf", f"[global]\nindex-url = {TUNA}\n")
    env = base_env(tmp_path, PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS="/w")
    config = probe_pip(env, knowledge)
    assert_same_as_pip(config, real_pip(env))
    assert config.files == [] and config.find_links == ["/w"]


@pytest.mark.parametrize("text, fragment", [
    ("[global]\nindex-url = a\n[global]\ntimeout = 1\n", "section 'global' already exists"),
    ("[global]\nindex-url = a\nindex-url = b\n", "option 'index-url' in section 'global' already exists"),
    ("index-url = https://no-section.example/simple\n", "no section headers"),
])
def test_unparsable_file_is_recorded_and_pip_refuses_it(tmp_path, knowledge, text, fragment):
    write(tmp_path / "xdg" / "pip" / "pip.conf", f"[global]\nextra-index-url = {USTC}\n")
    broken = write(tmp_path / "home" / ".config" / "pip" / "pip.conf", text)
    env = base_env(tmp_path)
    config = probe_pip(env, knowledge)
    assert len(config.errors) == 1
    assert config.errors[0].startswith(str(broken)) and fragment in config.errors[0]
    assert config.extra_index_urls == [USTC]  # the other files still count
    assert str(broken) in config.files
    assert "error" in real_pip(env)  # pip itself will not run with this file


def test_non_utf8_and_empty_files(tmp_path, knowledge):
    bad = tmp_path / "xdg" / "pip" / "pip.conf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"[global]\nindex-url = http://caf\xe9.example/simple\n")
    empty = write(tmp_path / "home" / ".config" / "pip" / "pip.conf", "")
    config = probe_pip(base_env(tmp_path), knowledge, prefix=None)
    assert any(e.startswith(str(bad)) and "UTF-8" in e for e in config.errors)
    assert str(empty) in config.files
    assert [s for s in config.settings if s.origin == str(empty)] == []


def test_system_files_are_read_under_root_in_pip_order(tmp_path, knowledge):
    root = tmp_path / "root"
    write(root / "etc" / "xdg" / "pip" / "pip.conf", f"[global]\nindex-url = {TUNA}\n")
    write(root / "etc" / "pip.conf", f"[global]\nindex-url = {ALIYUN}\n")
    site = write(tmp_path / "venv" / "pip.conf", f"[global]\nindex-url = {USTC}\n")
    env = {"HOME": str(tmp_path / "home")}
    config = probe_pip(env, knowledge, prefix=str(tmp_path / "venv"), root=str(root))
    assert config.files == [str(root / "etc/xdg/pip/pip.conf"), str(root / "etc/pip.conf"), str(site)]
    assert config.index_url == USTC  # the site file beats the global ones
    no_site = probe_pip(env, knowledge, prefix=None, root=str(root))
    assert no_site.index_url == ALIYUN  # /etc/pip.conf is read after /etc/xdg/pip/pip.conf


def test_windows_pip_ini_with_crlf(tmp_path, knowledge):
    appdata, programdata = tmp_path / "AppData" / "Roaming", tmp_path / "ProgramData"
    write(programdata / "pip" / "pip.ini", f"[global]\r\nindex-url = {TUNA}\r\n", newline="")
    user = write(appdata / "pip" / "pip.ini",
                 f"[global]\r\nextra-index-url = {USTC}\r\n    {ALIYUN}\r\n"
                 "trusted-host = mirrors.aliyun.com\r\n", newline="")
    write(tmp_path / "home" / ".config" / "pip" / "pip.conf", "[global]\nindex-url = ignored\n")
    env = {"HOME": str(tmp_path / "home"), "APPDATA": str(appdata), "PROGRAMDATA": str(programdata)}
    ctx = ProbeContext(env=env, home=env["HOME"])
    files = pip_config.config_files(ctx, str(tmp_path / "venv"), platform="win32")
    assert [(k, str(p)) for k, p in files] == [
        ("global", str(programdata / "pip" / "pip.ini")),
        ("user", str(tmp_path / "home" / "pip" / "pip.ini")),
        ("user", str(user)),
        ("site", str(tmp_path / "venv" / "pip.ini")),
    ]
    config = pip_config.probe(ctx, str(tmp_path / "venv"), knowledge, platform="win32")
    assert config.errors == []
    assert config.index_url == TUNA
    assert config.extra_index_urls == [USTC, ALIYUN]  # no stray "\r" from CRLF
    hosts = [s for s in config.settings if s.key == "global.trusted-host"]
    assert [(s.value, s.mirror) for s in hosts] == [("mirrors.aliyun.com", "aliyun")]


# --------------------------------------------------------------------------- conda: finding it


def make_conda_root(root: Path, version: str = "24.9.2") -> Path:
    script = write(root / "bin" / "conda", "#!/bin/sh\necho conda " + version + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    write(root / "conda-meta" / f"conda-{version}-py312h06a4308_0.json",
          json.dumps({"name": "conda", "version": version, "build": "py312h06a4308_0"}))
    write(root / "conda-meta" / "conda-libmamba-solver-24.9.0-pyhd3eb1b0_0.json",
          json.dumps({"name": "conda-libmamba-solver", "version": "24.9.0"}))
    return root


def conda_ctx(tmp_path: Path, **env: str) -> ProbeContext:
    full = {"PATH": str(tmp_path / "emptybin"), "HOME": str(tmp_path / "home")}
    full.update(env)
    return ProbeContext(env=full, home=full["HOME"], root=str(tmp_path / "root"))


def test_conda_in_an_install_dir_but_not_on_path_is_not_initialized(tmp_path):
    root = make_conda_root(tmp_path / "home" / "miniconda3")
    conda = conda_probe.probe(conda_ctx(tmp_path), None)
    assert conda.executable == str(root / "bin" / "conda")
    assert conda.found_via == "install-dir"
    assert conda.initialized is False
    assert conda.root_prefix == str(root)
    assert conda.version == "24.9.2"


def test_conda_in_a_system_install_dir_under_root(tmp_path):
    root = make_conda_root(tmp_path / "root" / "opt" / "conda", "24.11.3")
    conda = conda_probe.probe(conda_ctx(tmp_path), None)
    assert (conda.found_via, conda.root_prefix, conda.version) == ("install-dir", str(root), "24.11.3")


def test_conda_on_path_and_conda_exe(tmp_path):
    root = make_conda_root(tmp_path / "home" / "miniforge3")
    on_path = conda_probe.probe(conda_ctx(tmp_path, PATH=str(root / "bin")), None)
    assert (on_path.found_via, on_path.initialized, on_path.version) == ("PATH", True, "24.9.2")
    via_exe = conda_probe.probe(conda_ctx(tmp_path, CONDA_EXE=str(root / "bin" / "conda")), None)
    assert (via_exe.found_via, via_exe.initialized) == ("CONDA_EXE", True)
    assert via_exe.root_prefix == str(root)


def test_micromamba_on_path_takes_its_root_from_mamba_root_prefix(tmp_path):
    exe = write(tmp_path / "home" / ".local" / "bin" / "micromamba", "#!/bin/sh\n")
    exe.chmod(0o755)
    mamba_root = tmp_path / "home" / "micromamba"
    ctx = conda_ctx(tmp_path, PATH=str(exe.parent), MAMBA_ROOT_PREFIX=str(mamba_root))
    conda = conda_probe.probe(ctx, None)
    assert (conda.executable, conda.found_via) == (str(exe), "PATH")
    assert conda.root_prefix == str(mamba_root)
    assert conda.version is None  # micromamba has no conda-meta/conda-*.json


def test_no_conda_anywhere(tmp_path):
    conda = conda_probe.probe(conda_ctx(tmp_path), None)
    assert (conda.executable, conda.found_via, conda.initialized, conda.version) == (None,) * 4
    assert conda.condarc == [] and conda.channels == [] and conda.packages == {}


# --------------------------------------------------------------------------- conda: .condarc


def test_parse_tuna_recommended_condarc():
    rc = conda_probe.parse_condarc("/h/.condarc", TUNA_CONDARC)
    assert rc.ok and rc.error is None
    assert rc.channels == ["defaults"]
    assert rc.show_channel_urls is True
    assert rc.default_channels == [
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/msys2",
    ]
    assert rc.custom_channels == {"conda-forge": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud",
                                  "pytorch": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"}
    assert rc.channel_alias is None and rc.channel_priority is None


@pytest.mark.parametrize("text, error", [
    ("channels: [defaults\n", "not valid YAML"),
    ("- defaults\n- conda-forge\n", "not a mapping"),
    ("just a string\n", "not a mapping"),
])
def test_parse_broken_condarc(text, error):
    rc = conda_probe.parse_condarc("/x/.condarc", text)
    assert rc.ok is False and error in rc.error
    assert rc.channels is None


def test_parse_condarc_with_wrong_types_keeps_the_good_keys():
    rc = conda_probe.parse_condarc("/x/.condarc", "channels: conda-forge\nchannel_priority: false\n"
                                                  "channel_alias: https://mirror.example\n")
    assert rc.ok is False and "channels should be a list" in rc.error
    assert rc.channels is None
    assert rc.channel_priority == "false" and rc.channel_alias == "https://mirror.example"


def test_parse_empty_and_comment_only_condarc():
    for text in ("", "# nothing here\n"):
        rc = conda_probe.parse_condarc("/x/.condarc", text)
        assert rc.ok and rc.channels is None and rc.custom_channels is None


def test_every_condarc_in_conda_order_and_merged_like_conda(tmp_path):
    home, root = tmp_path / "home", tmp_path / "root"
    conda_root = make_conda_root(home / "miniconda3")
    files = [
        write(root / "etc" / "conda" / ".condarc",
              "channels: [conda-forge, defaults]\nchannel_priority: flexible\n"
              "custom_channels: {bioconda: https://sys.example/cloud}\n"),
        write(conda_root / ".condarc", "channels: [nvidia]\n"),
        write(home / ".config" / "conda" / ".condarc", "channels: [oops\n"),
        write(home / ".conda" / "condarc.d" / "10-extra.yml", "channels: [pytorch]\n"),
        write(home / ".conda" / "condarc.d" / "20-more.yaml", "default_channels: [https://a.example/main]\n"),
        write(home / ".condarc", TUNA_CONDARC),
        write(tmp_path / "env" / ".condarc", "- a list, not settings\n"),
        write(tmp_path / "custom.yml", "channels: [conda-forge]\nchannel_priority: strict\n"
                                       "custom_channels: {pytorch: https://last.example/cloud}\n"),
    ]
    write(home / ".conda" / "condarc.d" / "notes.txt", "channels: [ignored]\n")
    ctx = conda_ctx(tmp_path, CONDA_PREFIX=str(tmp_path / "env"), CONDA_DEFAULT_ENV="env",
                    CONDARC=str(tmp_path / "custom.yml"))
    conda = conda_probe.probe(ctx, None)

    assert [rc.path for rc in conda.condarc] == [str(f) for f in files]
    assert [rc.ok for rc in conda.condarc] == [True, True, False, True, True, True, False, True]
    # sequences: files later in the search path come first, duplicates dropped
    assert conda.channels == ["conda-forge", "defaults", "pytorch", "nvidia"]
    assert conda.default_channels == [
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/msys2",
        "https://a.example/main",
    ]
    # maps merge key by key, the later file winning; scalars: the last one set
    assert conda.custom_channels == {"bioconda": "https://sys.example/cloud",
                                     "conda-forge": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud",
                                     "pytorch": "https://last.example/cloud"}
    assert conda.channel_priority == "strict"
    assert (conda.active_env, conda.active_prefix) == ("env", str(tmp_path / "env"))


# --------------------------------------------------------------------------- conda: packages


def meta(prefix: Path, name: str, version: str, build: str, channel: str, **extra) -> None:
    record = {"name": name, "version": version, "build": build, "build_number": 0,
              "channel": channel, "subdir": "linux-64",
              "url": f"{channel}/{name}-{version}-{build}.tar.bz2", **extra}
    write(prefix / "conda-meta" / f"{name}-{version}-{build}.json", json.dumps(record))


PYTORCH_CH = "https://conda.anaconda.org/pytorch/linux-64"
NVIDIA_CH = "https://conda.anaconda.org/nvidia/linux-64"


def test_cuda_pytorch_environment_packages(tmp_path):
    env = tmp_path / "envs" / "torch"
    meta(env, "pytorch", "2.5.1", "py3.11_cuda12.4_cudnn9.1.0_0", PYTORCH_CH,
         files=[f"lib/python3.11/site-packages/torch/f{i}.py" for i in range(2000)])
    meta(env, "pytorch-cuda", "12.4", "hc786d27_7", PYTORCH_CH)
    meta(env, "pytorch-mutex", "1.0", "cuda", PYTORCH_CH)
    meta(env, "torchvision", "0.20.1", "py311_cu124", PYTORCH_CH)
    meta(env, "cuda-nvcc", "12.4.131", "0", NVIDIA_CH)
    meta(env, "numpy", "2.1.3", "py311h08b1b3b_0", "https://repo.anaconda.com/pkgs/main/linux-64")
    packages = conda_probe.probe(conda_ctx(tmp_path), str(env)).packages
    assert set(packages) == {"pytorch", "pytorch-cuda", "pytorch-mutex", "torchvision", "cuda-nvcc"}
    torch = packages["pytorch"]
    assert (torch.version, torch.build, torch.channel) == (
        "2.5.1", "py3.11_cuda12.4_cudnn9.1.0_0", PYTORCH_CH)
    assert (packages["pytorch-cuda"].version, packages["pytorch-mutex"].build) == ("12.4", "cuda")
    assert packages["cuda-nvcc"].channel == NVIDIA_CH


def test_cpuonly_environment_and_an_unreadable_record(tmp_path):
    env = tmp_path / "envs" / "cpu"
    meta(env, "pytorch", "2.5.1", "py3.12_cpu_0", PYTORCH_CH)
    meta(env, "pytorch-mutex", "1.0", "cpu", PYTORCH_CH)
    meta(env, "cpuonly", "2.0", "0", PYTORCH_CH)
    write(env / "conda-meta" / "torchaudio-2.5.1-py312_cpu.json", "{ truncated")
    write(env / "conda-meta" / "history", "==> 2024-11-01 <==\n")
    packages = conda_probe.probe(conda_ctx(tmp_path), str(env)).packages
    assert packages["pytorch"].build == "py3.12_cpu_0"
    assert packages["pytorch-mutex"].build == "cpu"
    assert packages["cpuonly"].version == "2.0"
    audio = packages["torchaudio"]  # a broken record still tells its name, version and build
    assert (audio.version, audio.build, audio.channel) == ("2.5.1", "py312_cpu", None)
