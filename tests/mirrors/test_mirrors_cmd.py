"""`envcheck mirrors`: list, status, use, restore, test -- on real files in a temporary HOME.

Every CLI run is the real `python -m envcheck` process with HOME, XDG_CONFIG_HOME (and APPDATA for
the Windows layout) pointing into tmp_path. Whatever a test lets envcheck change, it restores and
checks byte for byte (modes included): nothing the user had is ever lost. `mirrors test` talks
only to HTTP servers on 127.0.0.1 (and to a closed port for "no network").
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

from envcheck.knowledge import Knowledge
from envcheck.mirrors import edit_conda, edit_pip, edit_uv, status as status_mod
from envcheck.mirrors.fileio import EditRefused
from envcheck.probes import ProbeContext
from envcheck.probes import conda as conda_probe
from envcheck.probes import pip_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
TUNA_PYPI = "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple"
TUNA_CLOUD = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"
ALIYUN_PYPI = "https://mirrors.aliyun.com/pypi/simple/"
TUNA_DEFAULTS = [
    "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
    "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r",
    "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/msys2",
]

PIP_CONF = """\
# my pip settings -- keep this comment
[global]
timeout = 60  ; slow network
extra-index-url =
    https://download.pytorch.org/whl/cu126
    https://user:s3cret@private.example.com/simple

[install]
; an old mirror in [install] beats [global]: it must change too
index_url = https://pypi.tuna.tsinghua.edu.cn/simple
trusted-host = pypi.tuna.tsinghua.edu.cn
no-cache-dir = true
"""

CONDARC = """\
# conda settings (hand written)
channels:
  - defaults
  - nvidia   # for pytorch-cuda
ssl_verify: true
custom_channels:
  # my own channel
  mychan: https://conda.example.com
  conda-forge: https://mirrors.aliyun.com/anaconda/cloud  # was aliyun
default_channels:
- https://mirrors.aliyun.com/anaconda/pkgs/main
# - https://mirrors.aliyun.com/anaconda/pkgs/free
- https://mirrors.aliyun.com/anaconda/pkgs/r
envs_dirs:
- ~/envs
unknown_future_key: {a: 1}
"""

UV_TOML = """\
# uv settings
cache-dir = "/tmp/uv-cache"

[[index]]
name = "internal"
url = "https://pkgs.example.com/simple"  # explicit only
explicit = true

[pip]
index-url = "https://pypi.org/simple"
compile-bytecode = true
"""


# --------------------------------------------------------------------------- helpers


def make_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    """A clean environment: temp HOME and XDG dirs; no PIP_*, UV_*, CONDA_*, proxies or venv."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg"),
           "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NO_COLOR": "1", "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def envcheck(env: Dict[str, str], *args: str, stdin: str = "", cwd: Optional[Path] = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "envcheck", "mirrors", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout, cwd=str(cwd or Path(env["HOME"]).parent))
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def tree(root: Path) -> Dict[str, Tuple[str, Optional[bytes], int]]:
    """Every file, folder and link under ``root``: kind, bytes, mode."""
    found: Dict[str, Tuple[str, Optional[bytes], int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path).encode(), 0)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", None, stat.S_IMODE(st.st_mode))
            else:
                found[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
    return found


def write(path: Path, text: str, newline: str = "\n", mode: Optional[int] = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline=newline) as fh:
        fh.write(text)
    if mode is not None:
        path.chmod(mode)
    return path


def restore_and_compare(env: Dict[str, str], before: Dict, root: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = envcheck(env, "restore", "--yes", *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert tree(root) == before
    return proc


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


# --------------------------------------------------------------------------- list


def test_list_json_has_every_mirror_tuna_first(tmp_path):
    env = make_env(tmp_path)
    proc = envcheck(env, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    mirrors = json.loads(proc.stdout)["mirrors"]
    names = [m["name"] for m in mirrors]
    assert names[0] == "tuna"
    assert set(names) == {"tuna", "aliyun", "ustc", "bfsu", "sjtu", "nju", "tencent", "huawei",
                          "pypi", "pytorch", "anaconda"}
    tuna = mirrors[0]
    assert tuna["pypi"] == TUNA_PYPI
    assert tuna["conda_custom_channels"]["conda-forge"] == TUNA_CLOUD
    assert tuna["notes"] and tuna["source"]
    aliyun = next(m for m in mirrors if m["name"] == "aliyun")
    assert aliyun["torch_wheels_layout"] == "find-links"


def test_list_is_one_aligned_line_per_mirror_in_a_pipe(tmp_path):
    text = envcheck(make_env(tmp_path), "list")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    header, rows, legend = lines[0], lines[1:-1], lines[-1]
    assert header.split() == ["mirror", "host", "pip", "conda", "PyTorch", "wheels"]
    assert len(rows) == 11 and "https://" not in text.stdout, "URLs, notes and sources are `mirrors show`'s"
    by_name = {row.split()[0]: row for row in rows}
    for column in ("host", "pip", "conda", "PyTorch"):  # every cell starts where its heading does
        at = header.index(column)
        assert all(row[at - 2:at] == "  " and row[at] != " " for row in rows), column
    assert by_name["tuna"].split()[1] == "tuna.tsinghua.edu.cn"
    assert "full PyPI copy" in by_name["tuna"] and by_name["tuna"].rstrip().endswith("-")
    assert "(find-links) ?" in by_name["aliyun"] and "cu128" in by_name["aliyun"]
    assert "all variants (index)" in by_name["pytorch"] and not by_name["pytorch"].endswith("?")
    assert "nvidia" in by_name["anaconda"] and "nvidia" not in by_name["tuna"]
    assert by_name["pypi"][header.index("pip"):].startswith("PyPI itself")
    assert "mirrors show NAME" in legend


def test_show_gives_the_notes_and_sources(tmp_path):
    env = make_env(tmp_path)
    proc = envcheck(env, "show", "aliyun")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("aliyun: ")
    assert "https://mirrors.aliyun.com/pytorch-wheels" in out and "find-links layout" in out
    assert "source: https://developer.aliyun.com/mirror/pytorch-wheels" in out
    aliyun = Knowledge().mirror("aliyun")
    assert " ".join(aliyun.notes.split()) in out  # the notes on one line, for grep
    for src in aliyun.source.split():
        assert f"\n  {src}\n" in out
    data = json.loads(envcheck(env, "show", "aliyun", "--json").stdout)
    assert data["name"] == "aliyun" and data["torch_wheels_layout"] == "find-links" and data["source"]

    unknown = envcheck(env, "show", "tsinghua")
    assert unknown.returncode == 3 and unknown.stdout == ""
    assert "unknown mirror 'tsinghua'" in unknown.stderr and "tuna, aliyun" in unknown.stderr
    assert "Traceback" not in unknown.stderr


# --------------------------------------------------------------------------- use / restore


def test_use_in_an_empty_home_then_restore_leaves_nothing(tmp_path, knowledge):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    before = tree(home)
    proc = envcheck(env, "use", "tuna", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "conda clean -i" in proc.stdout
    assert "does not mirror the nvidia channel" in proc.stdout

    ctx = ProbeContext(env=env)
    pip = pip_config.probe(ctx, None, knowledge)
    assert pip.index_url == TUNA_PYPI
    assert str(home / ".config" / "pip" / "pip.conf") in pip.files
    conda = conda_probe.probe(ctx, None)
    assert conda.default_channels == TUNA_DEFAULTS
    assert conda.custom_channels["conda-forge"] == TUNA_CLOUD
    assert conda.custom_channels["pytorch"] == TUNA_CLOUD
    assert [rc.show_channel_urls for rc in conda.condarc] == [True]
    uv = tomllib.loads((home / ".config" / "uv" / "uv.toml").read_text())
    assert uv["index"] == [{"url": TUNA_PYPI, "default": True}]

    status = json.loads(envcheck(env, "status", "--json").stdout)
    assert status["pip"]["index"]["mirror"] == "tuna"
    assert status["uv"]["index"]["mirror"] == "tuna"
    assert status["conda"]["mirrors"] == ["tuna"]
    assert "uv-ignores-pip-conf" not in {p["key"] for p in status["problems"]}

    # restore removes the files and every folder envcheck created, journal included
    restore_and_compare(env, before, home)
    assert before == {}


def test_use_keeps_other_keys_and_comments_and_restore_is_byte_exact(tmp_path, knowledge):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    pip_path = write(home / ".config" / "pip" / "pip.conf", PIP_CONF, mode=0o600)
    condarc = write(home / ".condarc", CONDARC, mode=0o640)
    uv_path = write(home / ".config" / "uv" / "uv.toml", UV_TOML)
    before = tree(home)

    proc = envcheck(env, "use", "tuna", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "s3cret" not in proc.stdout  # diffs hide URL credentials

    # pip: every original line is still there except the index line we had to change
    new_pip = pip_path.read_text()
    changed = {"index_url = https://pypi.tuna.tsinghua.edu.cn/simple"}
    for line in PIP_CONF.splitlines():
        if line not in changed:
            assert line in new_pip.splitlines(), line
    assert f"index_url = {TUNA_PYPI}" in new_pip  # changed in place, spelling kept
    pip = pip_config.probe(ProbeContext(env=env), None, knowledge)
    assert pip.index_url == TUNA_PYPI
    assert pip.extra_index_urls == ["https://download.pytorch.org/whl/cu126",
                                    "https://user:s3cret@private.example.com/simple"]
    assert stat.S_IMODE(pip_path.stat().st_mode) == 0o600

    # conda: the private channel, the unknown key, comments all kept; layout applied
    new_rc = condarc.read_text()
    for line in ("# conda settings (hand written)", "  - nvidia   # for pytorch-cuda", "  # my own channel",
                 "  mychan: https://conda.example.com", "# - https://mirrors.aliyun.com/anaconda/pkgs/free",
                 "unknown_future_key: {a: 1}", "ssl_verify: true", "envs_dirs:", "- ~/envs"):
        assert line in new_rc.splitlines(), line
    assert f"  conda-forge: {TUNA_CLOUD}  # was aliyun" in new_rc.splitlines()
    import yaml
    data = yaml.safe_load(new_rc)
    assert data["default_channels"] == TUNA_DEFAULTS
    assert data["custom_channels"]["mychan"] == "https://conda.example.com"
    assert data["show_channel_urls"] is True
    assert data["unknown_future_key"] == {"a": 1} and data["envs_dirs"] == ["~/envs"]
    assert stat.S_IMODE(condarc.stat().st_mode) == 0o640

    # uv: the default index appended, the explicit index and [pip] kept / updated
    uv = tomllib.loads(uv_path.read_text())
    assert uv["cache-dir"] == "/tmp/uv-cache"
    assert uv["index"][0] == {"name": "internal", "url": "https://pkgs.example.com/simple", "explicit": True}
    assert uv["index"][1] == {"url": TUNA_PYPI, "default": True}
    assert uv["pip"] == {"index-url": TUNA_PYPI, "compile-bytecode": True}
    assert '# explicit only' in uv_path.read_text()

    status = envcheck(env, "status", "--json")
    assert "private.example.com" in status.stdout and "s3cret" not in status.stdout  # redacted

    # a second `use` keeps the true original in the journal
    second = envcheck(env, "use", "aliyun", "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert pip_config.probe(ProbeContext(env=env), None, knowledge).index_url == ALIYUN_PYPI
    manifest = json.loads((home / ".config" / "envcheck" / "mirrors-backup" / "manifest.json").read_text())
    assert len(manifest["files"]) == 3

    # the user edits a file afterwards: restore says so, and still restores the original
    with open(condarc, "a") as fh:
        fh.write("auto_activate_base: false\n")
    dry = envcheck(env, "restore", "--dry-run")
    assert dry.returncode == 0 and "changed since envcheck wrote it" in dry.stdout
    assert "auto_activate_base" in condarc.read_text()
    restore_and_compare(env, before, home)


def test_dry_run_shows_the_diff_and_writes_nothing(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    write(home / ".condarc", CONDARC)
    before = tree(home)
    proc = envcheck(env, "use", "bfsu", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "--- " + str(home / ".condarc") in proc.stdout
    assert "+- https://mirrors.bfsu.edu.cn/anaconda/pkgs/main" in proc.stdout
    assert "Dry run" in proc.stdout
    assert tree(home) == before


def test_use_asks_first_and_no_answer_means_no(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    before = tree(home)
    declined = envcheck(env, "use", "ustc", "--pip", stdin="n\n")
    assert declined.returncode == 1 and "Nothing changed" in declined.stdout
    closed = envcheck(env, "use", "ustc", "--pip", stdin="")
    assert closed.returncode == 1
    assert tree(home) == before
    accepted = envcheck(env, "use", "ustc", "--pip", stdin="y\n")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "ustc" in (home / ".config" / "pip" / "pip.conf").read_text()
    assert not (home / ".condarc").exists()  # --pip only
    assert not (home / ".config" / "uv").exists()
    restore_and_compare(env, before, home)


def test_use_warns_when_a_variable_still_overrides_the_file(tmp_path):
    env = make_env(tmp_path, PIP_INDEX_URL=ALIYUN_PYPI, UV_DEFAULT_INDEX=ALIYUN_PYPI)
    home = Path(env["HOME"])
    before = tree(home)
    proc = envcheck(env, "use", "tuna", "--pip", "--uv", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pip still uses https://mirrors.aliyun.com/pypi/simple/: PIP_INDEX_URL overrides" in proc.stdout
    assert "uv still uses https://mirrors.aliyun.com/pypi/simple/: UV_DEFAULT_INDEX overrides" in proc.stdout
    restore_and_compare(env, before, home)


def test_windows_style_pip_ini_keeps_crlf_and_restores_exactly(tmp_path, knowledge):
    appdata = tmp_path / "home" / "AppData" / "Roaming"
    env = make_env(tmp_path, APPDATA=str(appdata))
    home = Path(env["HOME"])
    ini = write(appdata / "pip" / "pip.ini",
                "; pip.ini written by Notepad\n[global]\nindex_url = https://pypi.org/simple\n"
                "timeout = 30\n\n[list]\nformat = columns\n", newline="\r\n")
    before = tree(home)
    proc = envcheck(env, "use", "tuna", "--pip", "--uv", "--yes", "--platform", "win32")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = ini.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # still CRLF everywhere
    assert raw == (b"; pip.ini written by Notepad\r\n[global]\r\nindex_url = " + TUNA_PYPI.encode()
                   + b"\r\ntimeout = 30\r\n\r\n[list]\r\nformat = columns\r\n")
    ctx = ProbeContext(env=env)
    assert pip_config.probe(ctx, None, knowledge, platform="win32").index_url == TUNA_PYPI
    assert (appdata / "uv" / "uv.toml").is_file()  # %APPDATA%\uv\uv.toml
    assert not (home / ".config").exists()
    status = json.loads(envcheck(env, "status", "--json", "--platform", "win32").stdout)
    assert status["pip"]["index"]["origin"] == str(ini)
    assert status["uv"]["index"]["mirror"] == "tuna"
    restore_and_compare(env, before, home, "--platform", "win32")
    # the journal lived under %APPDATA%\envcheck and is gone with the folders it needed
    assert not (appdata / "envcheck").exists()


def test_empty_files_are_edited_and_restored_empty(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    for path in (home / ".config" / "pip" / "pip.conf", home / ".condarc", home / ".config" / "uv" / "uv.toml"):
        write(path, "")
    before = tree(home)
    proc = envcheck(env, "use", "sjtu", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (home / ".config" / "pip" / "pip.conf").read_text().startswith("[global]\n")
    assert "# conda configuration written" not in (home / ".condarc").read_text()
    restore_and_compare(env, before, home)
    assert (home / ".condarc").read_bytes() == b""


def test_unparsable_files_are_untouched_and_reported(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    bad_pip = write(home / ".config" / "pip" / "pip.conf", "index-url = https://x/simple\n[global\n")
    bad_rc = write(home / ".condarc", "channels: [defaults\nssl_verify: true\n")
    bad_uv = write(home / ".config" / "uv" / "uv.toml", "index-url = \n")
    before = tree(home)
    proc = envcheck(env, "use", "tuna", "--yes")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for path in (bad_pip, bad_rc, bad_uv):
        assert str(path) in proc.stdout
    assert proc.stdout.count("cannot change it") == 3
    assert tree(home) == before

    status = envcheck(env, "status", "--json")
    assert status.returncode == 0
    keys = {p["key"] for p in json.loads(status.stdout)["problems"]}
    assert {"pip-config-unreadable", "condarc-unreadable", "uv-config-unreadable"} <= keys
    assert tree(home) == before

    # all or none (issue 16): one bad file stops the others, and the message names it; exit 2
    bad_pip.unlink()
    bad_uv.unlink()
    before = tree(home)
    partly = envcheck(env, "use", "tuna", "--pip", "--conda", "--yes")
    assert partly.returncode == 2
    assert f"nothing changed: {bad_rc} cannot be changed" in partly.stdout
    assert tree(home) == before


def test_a_symlinked_condarc_stays_a_link(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    dotfiles = write(home / "dotfiles" / "condarc", CONDARC)
    (home / ".condarc").symlink_to(dotfiles)
    before = tree(home)
    assert envcheck(env, "use", "tuna", "--conda", "--yes").returncode == 0
    assert (home / ".condarc").is_symlink()
    assert TUNA_CLOUD in dotfiles.read_text()
    restore_and_compare(env, before, home)


def test_bad_input_is_a_usage_error_without_traceback(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    unknown = envcheck(env, "use", "nosuchmirror")
    assert unknown.returncode == 3
    assert "unknown mirror 'nosuchmirror'" in unknown.stderr and "tuna" in unknown.stderr
    no_conda = envcheck(env, "use", "huawei", "--conda")
    assert no_conda.returncode == 3 and "conda" in no_conda.stderr
    nothing = envcheck(env, "use", "pytorch")
    assert nothing.returncode == 3 and "install-cmd" in nothing.stderr
    bad_url = envcheck(env, "test", "--url", "ftp://example.com/")
    assert bad_url.returncode == 3
    assert tree(home) == {}


def test_restore_with_nothing_to_restore(tmp_path):
    env = make_env(tmp_path)
    proc = envcheck(env, "restore")
    assert proc.returncode == 0 and "Nothing to restore" in proc.stdout


def test_restore_refuses_a_manifest_it_cannot_read(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    write(home / ".config" / "envcheck" / "mirrors-backup" / "manifest.json", "{not json")
    before = tree(home)
    proc = envcheck(env, "restore", "--yes")
    assert proc.returncode == 2 and "not an envcheck backup manifest" in proc.stdout
    assert tree(home) == before


# --------------------------------------------------------------------------- status


def test_status_names_sources_mirrors_and_problems(tmp_path):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    pip_path = write(home / ".config" / "pip" / "pip.conf",
                     f"[global]\nindex-url = {TUNA_PYPI}\n"
                     "extra-index-url = https://mirrors.aliyun.com/pytorch-wheels/cu126\n")
    write(home / ".condarc", "channels:\n  - defaults\n  - pytorch\n  - mychannel\n"
                             f"default_channels:\n  - {TUNA_DEFAULTS[0]}\n"
                             f"custom_channels:\n  pytorch: {TUNA_CLOUD}\n  nvidia: {TUNA_CLOUD}\n")
    before = tree(home)
    proc = envcheck(env, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["pip"]["index"] == {"value": TUNA_PYPI, "origin": str(pip_path), "mirror": "tuna"}
    assert data["uv"]["index"]["origin"] == "uv's default (PyPI)"
    assert data["conda"]["custom_channels"]["nvidia"]["mirror"] == "tuna"
    problems = {p["key"]: p for p in data["problems"]}
    assert "nvidia" in problems["conda-mirror-lacks-channel"]["message"]
    assert "mychannel" in problems["conda-channel-abroad"]["message"]
    assert "uv-ignores-pip-conf" in problems
    assert "find-links" in problems["pip-wheel-layout"]["message"]

    env_over = dict(env, PIP_INDEX_URL=ALIYUN_PYPI)
    text = envcheck(env_over, "status")
    assert text.returncode == 0
    assert "PIP_INDEX_URL" in text.stdout and "pip-env-overrides" in text.stdout
    assert "[[index]]" not in text.stdout  # (no uv file) -- and never eaten as markup elsewhere
    assert tree(home) == before


def test_status_flags_nvidia_going_abroad_under_the_tuna_layout(tmp_path, knowledge):
    env = make_env(tmp_path)
    home = Path(env["HOME"])
    settings, _notes = edit_conda.layout(knowledge.mirror("tuna"))
    new, _old = edit_conda.edited(home / ".condarc", None, settings, "tuna")
    (home / ".condarc").write_bytes(new)
    uv_file = write(home / ".config" / "uv" / "uv.toml", f'[[index]]\nurl = "{TUNA_PYPI}"\ndefault = true\n')
    result = status_mod.collect(ProbeContext(env=env), knowledge, "linux", cwd=tmp_path)
    keys = {p.key for p in result.problems}
    assert "conda-nvidia-abroad" in keys
    assert "conda-defaults-abroad" not in keys and "conda-mirror-lacks-channel" not in keys
    assert result.uv.index.mirror == "tuna" and result.uv.index.origin.startswith(str(uv_file))
    # a channel sent through a private channel_alias is not "abroad"
    with open(home / ".condarc", "a") as fh:
        fh.write("channel_alias: https://artifactory.corp.example/conda\nchannels:\n  - defaults\n  - internal\n")
    private = status_mod.collect(ProbeContext(env=env), knowledge, "linux", cwd=tmp_path)
    assert "conda-channel-abroad" not in {p.key for p in private.problems}
    # a project uv.toml in the working folder beats the user file
    write(tmp_path / "proj" / "uv.toml", 'index-url = "https://pypi.org/simple"\n')
    nested = tmp_path / "proj" / "src"
    nested.mkdir()
    project = status_mod.collect(ProbeContext(env=env), knowledge, "linux", cwd=nested)
    assert project.uv.index.origin.startswith(str(tmp_path / "proj" / "uv.toml"))
    assert [f.scope for f in project.uv.files] == ["project", "user"]


# --------------------------------------------------------------------------- editors (in-process)


def test_conda_layout_matches_tuna_help_page(knowledge):
    settings, notes = edit_conda.layout(knowledge.mirror("tuna"))
    assert settings["default_channels"] == TUNA_DEFAULTS
    assert settings["custom_channels"]["conda-forge"] == TUNA_CLOUD
    assert settings["show_channel_urls"] is True
    assert notes == []
    assert edit_conda.channel_base("pytorch", "https://m.example/anaconda/cloud/pytorch/") == "https://m.example/anaconda/cloud"
    assert edit_conda.channel_base("pytorch", "https://m.example/pytorch-mirror") is None


def test_pip_editor_cases(tmp_path):
    path = tmp_path / "pip.conf"
    # no [global]: one is added at the end, the rest untouched
    out = edit_pip.edited(path, b"# c\n[install]\nno-cache-dir = true", TUNA_PYPI).decode()
    assert out == f"# c\n[install]\nno-cache-dir = true\n\n[global]\nindex-url = {TUNA_PYPI}\n"
    # an http index gets its host trusted, in the file's own style
    out = edit_pip.edited(path, b"[global]\n  timeout: 60\n", "http://m.example/simple").decode()
    assert out == "[global]\n  timeout: 60\n  index-url: http://m.example/simple\n  trusted-host: m.example\n"
    with pytest.raises(EditRefused):
        edit_pip.edited(path, b"[global]\nindex-url = a\nindex_url = b\n", TUNA_PYPI)
    with pytest.raises(EditRefused):
        edit_pip.edited(path, b"index-url = a\n", TUNA_PYPI)


def test_uv_editor_cases(tmp_path):
    path = tmp_path / "uv.toml"
    old = b"[[index]]\nname = 'corp'\nurl = 'https://pypi.org/simple'  # default\ndefault = true\n"
    out = edit_uv.edited(path, old, TUNA_PYPI).decode()
    assert out == f"[[index]]\nname = 'corp'\nurl = \"{TUNA_PYPI}\"  # default\ndefault = true\n"
    with pytest.raises(EditRefused):
        edit_uv.edited(path, b'index = [{url = "https://x/simple"}]\n', TUNA_PYPI)
    with pytest.raises(EditRefused):
        edit_uv.edited(path, b"not toml = = 1\n", TUNA_PYPI)


def test_conda_editor_refuses_what_it_cannot_edit_safely(tmp_path, knowledge):
    settings, _ = edit_conda.layout(knowledge.mirror("tuna"))
    path = tmp_path / ".condarc"
    for bad in (b"- a list\n", b"a: 1\na: 2\n", b"show_channel_urls: maybe\n", b"channels: [a\n"):
        with pytest.raises(EditRefused):
            edit_conda.edited(path, bad, settings)
    # a flow-style value is rewritten as a block, its trailing comment kept
    out, _ = edit_conda.edited(path, b"channels: [defaults]\ndefault_channels: [a, b]  # mine\n", settings)
    assert out.decode().splitlines()[:3] == ["channels: [defaults]", "default_channels: # mine",
                                             f"  - {TUNA_DEFAULTS[0]}"]


# --------------------------------------------------------------------------- test (network)


class _Handler(http.server.BaseHTTPRequestHandler):
    delay = 0.0
    body = b"x" * 100_000

    def _head(self) -> None:
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802
        self._head()

    def do_GET(self) -> None:  # noqa: N802
        self._head()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


class _Slow(_Handler):
    delay = 0.4


@pytest.fixture
def servers():
    started = []
    for handler in (_Handler, _Slow):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield [f"http://127.0.0.1:{s.server_address[1]}/simple/" for s in started]
    for server in started:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connection refused
    return f"http://127.0.0.1:{port}/simple/"


def test_mirrors_test_ranks_local_servers_and_reports_the_unreachable(tmp_path, servers):
    env = make_env(tmp_path)
    fast, slow = servers
    args = ["test", "--timeout", "3", "--url", f"fast={fast}", "--url", f"slow={slow}",
            "--url", f"dead={closed_port_url()}"]
    start = time.monotonic()
    proc = envcheck(env, *args, "--json")
    assert time.monotonic() - start < 10
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    by_name = {r["name"]: r for r in data["results"]}
    assert [r["name"] for r in data["results"]] == ["fast", "slow", "dead"]
    assert by_name["fast"]["rank"] == 1 and by_name["slow"]["rank"] == 2
    assert by_name["slow"]["latency_ms"] >= 400 > by_name["fast"]["latency_ms"]
    assert by_name["fast"]["bytes"] == 100_000 and by_name["fast"]["throughput_kib_s"] > 0
    assert by_name["dead"]["reachable"] is False and "refused" in by_name["dead"]["error"]
    assert data["reachable"] == 2 and data["unreachable"] == 1

    text = envcheck(env, *args)
    assert text.returncode == 0
    assert "unreachable" in text.stdout and "fastest to answer: fast" in text.stdout


def test_mirrors_test_without_any_network_exits_0_with_a_clear_message(tmp_path):
    env = make_env(tmp_path)
    args = ["test", "--timeout", "1", "--url", f"a={closed_port_url()}", "--url", f"b={closed_port_url()}"]
    proc = envcheck(env, *args)
    assert proc.returncode == 0, proc.stderr
    assert "No mirror answered" in proc.stdout and "no network" in proc.stdout
    data = json.loads(envcheck(env, *args, "--json").stdout)
    assert data["reachable"] == 0 and data["unreachable"] == 2
    assert "No mirror answered" in data["message"]
