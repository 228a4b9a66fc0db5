"""Chinese output of `envcheck mirrors` (issue 8): the notes, refusals, backup and restore messages and the
`mirrors test` results speak Chinese under --lang zh, with the same exit codes and the same (English) JSON.

The situations are those of tests/mirrors/test_mirrors_cmd.py -- files envcheck cannot parse or will not edit,
folders and huge files where a config file should be, writes that fail, a damaged backup journal,
restore conflicts, and `mirrors test` against HTTP servers on 127.0.0.1 -- each run once in English and
once in Chinese. A tool's own words (a parser's message, an OS error) stay as the tool said them, in
quotes “...”; everything envcheck says around them is Chinese.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from envcheck.i18n import english, text_in
from envcheck.knowledge import Knowledge
from envcheck.mirrors import backup, edit_conda, edit_pip, edit_uv, fileio, nettest
from envcheck.mirrors.fileio import EditRefused
from test_i18n import ZH, _home_env, assert_chinese, english_runs, envcheck

K = Knowledge()
TUNA_PYPI = "https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple"
WIDE = {"COLUMNS": "240"}  # table cells wide enough that a quoted tool message is never split


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def both(env: Dict[str, str], *args: str, stdin: str = "") -> Tuple[str, str]:
    """Run `envcheck mirrors ARGS` in English and in Chinese: same exit code, no English sentence in Chinese.

    Returns (English output, Chinese output), stdout and stderr together.
    """
    en, zh, _code = both_code(env, *args)
    return en, zh


def both_code(env: Dict[str, str], *args: str) -> Tuple[str, str, int]:
    """:func:`both`, and the exit code both runs gave."""
    en = envcheck("mirrors", *args, env_extra=dict(env, **WIDE))
    zh = envcheck("mirrors", *args, "--lang", "zh", env_extra=dict(env, **WIDE))
    assert en.returncode == zh.returncode, (en.stdout + en.stderr, zh.stdout + zh.stderr)
    zh_text = zh.stdout + zh.stderr
    assert_chinese(zh_text, f"mirrors {' '.join(args)} --lang zh")
    return en.stdout + en.stderr, zh_text, en.returncode


def rc(env: Dict[str, str], *args: str) -> int:
    return envcheck("mirrors", *args, env_extra=dict(env, **WIDE)).returncode


# --------------------------------------------------------------------------- refusals to edit


def test_unparsable_files_are_refused_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    home = Path(env["HOME"])
    write(home / ".config" / "pip" / "pip.conf", "index-url = https://x/simple\n[global\n")
    write(home / ".condarc", "channels: [defaults\nssl_verify: true\n")
    write(home / ".config" / "uv" / "uv.toml", "index-url = \n")
    en, zh, code = both_code(env, "use", "tuna", "--yes")
    assert code == 2
    assert "cannot be parsed as pip reads it" in en and "not valid YAML" in en and "not valid TOML" in en
    assert zh.count("无法修改") == 3 and zh.count("保持原样") == 3
    assert "无法按 pip 的方式解析（“File contains no section headers." in zh
    assert "不是有效的 YAML：“while parsing a flow sequence" in zh
    assert "不是有效的 TOML（“" in zh
    # the same files in `mirrors status`: the problems name them in Chinese too
    en, zh = both(env, "status")
    for key in ("pip-config-unreadable", "condarc-unreadable", "uv-config-unreadable"):
        assert key in en and key in zh
    assert "修好之前 pip 会拒绝运行" in zh


def test_conda_settings_of_the_wrong_kind_are_named_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    home = Path(env["HOME"])
    write(home / ".condarc", "channels: defaults\nshow_channel_urls: maybe\ncustom_channels: [a]\n"
                             "channel_alias: [x]\n")
    en, zh = both(env, "use", "tuna", "--conda", "--dry-run")
    assert "channels should be a list, not str" in en
    assert "channels 应为列表，而不是 str；custom_channels 应为映射，而不是 list；channel_alias 应为单个值" in zh
    assert "show_channel_urls 应为 true 或 false，而不是 'maybe'；保持原样" in zh
    en, zh = both(env, "status")
    assert "condarc-unreadable" in zh and "channels 应为列表" in zh
    write(home / ".condarc", "- a list\n")
    en, zh = both(env, "use", "tuna", "--conda", "--dry-run")
    assert "不是设置项的映射（而是 YAML list）" in zh
    write(home / ".condarc", "a: 1\na: 2\n")
    en, zh = both(env, "use", "tuna", "--conda", "--dry-run")
    assert "is given twice" in en and "“the key 'a' is given twice" in zh


@pytest.mark.parametrize("name, data, english_text, chinese_text", [
    ("duplicate", "[global]\nindex-url = a\nindex_url = b\n", "sets index-url twice under different spellings",
     "[global] 以不同写法设置了两次 index-url"),
    ("not-utf8", b"[global]\nx = \xff\n", "contains bytes that are not UTF-8", "含有非 UTF-8 字节"),
    ("folder", None, "is a folder, not a file", "是目录，不是文件"),
    ("huge", "[global]\n" + "# x\n" * 300_000, "is larger than 1 MiB", "大于 1 MiB：不是 envcheck 会编辑的配置文件"),
])
def test_pip_conf_refusals_in_chinese(tmp_path, name, data, english_text, chinese_text):
    env = _home_env(tmp_path)
    path = Path(env["HOME"]) / ".config" / "pip" / "pip.conf"
    if data is None:
        path.mkdir(parents=True)
    else:
        write(path, data)
    en, zh, code = both_code(env, "use", "tuna", "--pip", "--dry-run")
    assert code == 2
    assert english_text in en and chinese_text in zh


@pytest.mark.parametrize("data, english_text, chinese_text", [
    ('index = [{url = "https://x/simple"}]\n', "is written inline", "`index` 是内联写法；保持原样（请手动添加默认索引）"),
    ('index = "x"\n', "is not a list of tables", "`index` 不是由表组成的列表"),
    ('index = [{url = "https://x/simple", default = true}]\n', "is not on a line of its own",
     "要修改的 url 不是单独的一行（内联表或多行值）"),
    ('[[index]]\nurl = """\nhttps://x/simple"""\ndefault = true\n', "is not on a line of its own", "不是单独的一行"),
])
def test_uv_toml_refusals_in_chinese(tmp_path, data, english_text, chinese_text):
    env = _home_env(tmp_path)
    write(Path(env["HOME"]) / ".config" / "uv" / "uv.toml", data)
    en, zh = both(env, "use", "tuna", "--uv", "--dry-run")
    assert english_text in en and chinese_text in zh


def test_an_unreadable_config_folder_in_chinese(tmp_path):
    """XDG_CONFIG_HOME is a file: pip.conf, uv.toml and the backup journal cannot be read under it."""
    env = _home_env(tmp_path)
    write(Path(env["XDG_CONFIG_HOME"]), "not a folder\n")
    en, zh = both(env, "use", "tuna", "--pip", "--uv", "--dry-run")
    assert en.count("cannot be read: Not a directory") == 2
    assert zh.count("：“Not a directory”") == 2 and "无法读取" in zh
    en, zh, code = both_code(env, "restore", "--yes")
    assert code == 2
    assert "envcheck: cannot read" in en and "envcheck: 无法读取" in zh


def test_conda_notes_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    write(Path(env["HOME"]) / ".condarc",
          "channels:\n  - defaults\n  - mychannel\n  - https://conda.example.com/private\n")
    en, zh = both(env, "use", "tuna", "--conda", "--dry-run")
    assert "channels also lists URLs envcheck leaves alone" in en
    for text in ("tuna 没有镜像 nvidia 频道：`-c nvidia`（pytorch-cuda、cuda-* 包）仍从 conda.anaconda.org 下载。",
                 "channels 中还有 envcheck 不会改动的 URL：https://conda.example.com/private",
                 "channels 中列出的 mychannel 没有 tuna 的镜像（据 envcheck 所知）",
                 "请运行 `conda clean -i`"):
        assert text in zh, text


#: a folder nobody can create, not even root: a link into it reads as a missing file, and writing through it fails
UNWRITABLE = Path("/proc/1/envcheck-no-such-folder")
needs_proc = pytest.mark.skipif(not Path("/proc/1").is_dir(), reason="needs Linux /proc for a write that fails")


@needs_proc
def test_a_write_that_fails_is_reported_in_chinese(tmp_path):
    """~/.condarc is a link to a file in a folder that cannot be created: the OS's own words, quoted."""
    env = _home_env(tmp_path)
    (Path(env["HOME"]) / ".condarc").symlink_to(UNWRITABLE / "condarc")
    en, zh, code = both_code(env, "use", "tuna", "--conda", "--yes")
    assert code == 2
    assert "conda: not changed: " in en
    assert "conda：未修改：" in zh and re.search(r"condarc：“[^”]+”", zh)


def test_declining_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    zh = envcheck("mirrors", "use", "ustc", "--pip", "--lang", "zh", env_extra=env)
    assert zh.returncode == 1
    assert "应用这处修改？" in zh.stdout and "没有回答" in zh.stderr
    assert_chinese(zh.stdout + zh.stderr, "mirrors use (no answer) --lang zh")


# --------------------------------------------------------------------------- backups and restore


def _journal(env: Dict[str, str]) -> Tuple[Path, dict]:
    folder = Path(env["XDG_CONFIG_HOME"]) / "envcheck" / "mirrors-backup"
    return folder, json.loads((folder / "manifest.json").read_text())


def test_restore_conflicts_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    home = Path(env["HOME"])
    write(home / ".config" / "pip" / "pip.conf", "[global]\ntimeout = 5\n")
    write(home / ".condarc", "ssl_verify: true\n")
    en, zh = both(env, "use", "tuna", "--pip", "--conda", "--dry-run")
    assert "试运行：没有写入任何文件。" in zh
    assert envcheck("mirrors", "use", "tuna", "--pip", "--conda", "--yes", "--lang", "zh",
                    env_extra=env).returncode == 0
    folder, manifest = _journal(env)
    (folder / manifest["files"][0]["backup"]).unlink()  # the pip original lost
    conda_copy = folder / manifest["files"][1]["backup"]
    conda_copy.unlink()
    conda_copy.mkdir()  # the conda original unreadable
    with open(home / ".condarc", "a") as fh:
        fh.write("auto_activate_base: false\n")
    en, zh, code = both_code(env, "restore", "--dry-run")
    assert code == 2
    assert "is missing from" in en and "cannot be read" in en
    assert "中缺少 " in zh and "的原文件备份" in zh and "的原文件备份无法读取：" in zh and "是目录，不是文件" in zh
    en, zh, code = both_code(env, "restore", "--yes")
    assert code == 2
    assert zh.count("未还原：") == 2 and "备份仍保留在" in zh
    assert (folder / "manifest.json").is_file(), "the journal stays when something could not be restored"


@needs_proc
def test_restore_that_cannot_write_or_read_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    home = Path(env["HOME"])
    write(home / ".condarc", "ssl_verify: true\n")
    assert rc(env, "use", "tuna", "--conda", "--pip", "--yes") == 0
    # the .condarc now a link into a folder that cannot be created: putting the original back fails
    (home / ".condarc").unlink()
    (home / ".condarc").symlink_to(UNWRITABLE / "condarc")
    # the pip.conf envcheck created is now a folder: it cannot be read
    pip_conf = home / ".config" / "pip" / "pip.conf"
    pip_conf.unlink()
    pip_conf.mkdir()
    en, zh, code = both_code(env, "restore", "--yes")
    assert code == 2
    assert "put back the original" in en and "is a folder, not a file" in en
    assert "放回原文件" in zh and re.search(r"未还原：\S+condarc：“[^”]+”", zh) and "是目录，不是文件" in zh
    assert "注意：envcheck 写入后它又被改动过" in zh


@pytest.mark.parametrize("manifest, english_text, chinese_text", [
    ("{not json", "is not an envcheck backup manifest (Expecting", "不是 envcheck 的备份清单（“Expecting"),
    ('{"schema": 7}', "(unknown schema 7)", "（未知的清单格式版本 7）"),
    ('{"schema": 1, "files": [{"bogus": 1}]}', "unexpected keyword argument", "不是 envcheck 的备份清单（“"),
    (None, "cannot read", "无法读取"),
])
def test_a_damaged_journal_in_chinese(tmp_path, manifest, english_text, chinese_text):
    env = _home_env(tmp_path)
    path = Path(env["XDG_CONFIG_HOME"]) / "envcheck" / "mirrors-backup" / "manifest.json"
    if manifest is None:
        path.mkdir(parents=True)
    else:
        write(path, manifest)
    for args in (("restore", "--yes"), ("use", "tuna", "--pip", "--yes")):
        en, zh, code = both_code(env, *args)
        assert code == 2
        assert english_text in en and chinese_text in zh
        assert "保持原样，未还原任何文件" in zh or "是目录，不是文件" in zh
    assert not (Path(env["XDG_CONFIG_HOME"]) / "pip").exists(), "nothing is changed without a journal"


# --------------------------------------------------------------------------- mirrors test


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> bool:
        if self.path.startswith("/slow/"):
            time.sleep(1.0)
        if self.command == "GET" and self.path.startswith("/drop/"):
            self.close_connection = True
            return False  # no response at all
        status = 404 if self.command == "GET" and self.path.startswith("/gone/") else 200
        self.send_response(status)
        self.send_header("Content-Length", "5")
        self.end_headers()
        return status == 200

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer()

    def do_GET(self) -> None:  # noqa: N802
        if self._answer():
            self.wfile.write(b"hello")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/"


def _comparable(data: dict) -> dict:
    """A `mirrors test --json` answer without what differs from run to run (timings, order of equals)."""
    data = json.loads(json.dumps(data))
    data["message"] = re.sub(r"fastest to answer: .*", "", data["message"])
    for r in data["results"]:
        for key in ("latency_ms", "download_s", "throughput_kib_s", "rank"):
            r[key] = r[key] is not None
    data["results"].sort(key=lambda r: r["name"])
    return data


def test_mirrors_test_results_in_chinese(tmp_path, server):
    env = _home_env(tmp_path)
    args = ["test", "--timeout", "0.5", "--url", f"tuna={server}/ok/", "--url", f"gone={server}/gone/",
            "--url", f"drop={server}/drop/", "--url", f"slow={server}/slow/", "--url", f"dead={closed_port_url()}"]
    en, zh = both(env, *args)
    assert "mirrors answered" in en and "download: HTTP 404" in en and "connection refused" in en
    assert "个镜像中有 " in zh and "个响应；响应最快的是" in zh
    assert "下载：HTTP 404" in zh and "连接被拒绝" in zh and "0.5 秒内没有响应" in zh
    assert "下载：“" in zh  # the connection dropped: http.client's own words, quoted
    en, zh = both(env, "test", "--timeout", "2", "--url", f"tuna={server}/ok/")  # a known mirror is fastest
    assert "switches to it" in en and "1 个镜像中有 1 个响应；响应最快的是 tuna（" in zh
    assert "`envcheck mirrors use tuna` 可切换到它。" in zh
    en_json = envcheck("mirrors", *args, "--json", env_extra=env)
    zh_json = envcheck("mirrors", *args, "--json", "--lang", "zh", env_extra=dict(env, LANG="zh_CN.UTF-8"))
    assert en_json.returncode == zh_json.returncode == 0
    assert _comparable(json.loads(zh_json.stdout)) == _comparable(json.loads(en_json.stdout)), "JSON stays English"
    assert "problem" not in json.loads(en_json.stdout)["results"][0]


def test_mirrors_test_without_network_and_a_bad_url_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    en, zh = both(env, "test", "--timeout", "1", "--url", f"a={closed_port_url()}", "--url",
                  "b=http://envcheck-no-such-host.invalid/")
    assert "No mirror answered" in en
    assert "没有镜像响应（超时 1 秒）：本机似乎无法访问网络" in zh and "请设置 https_proxy" in zh
    assert "无法解析主机名（“" in zh or "秒内没有响应" in zh
    en, zh, code = both_code(env, "test", "--url", "ftp://example.com/")
    assert code == 3
    assert "give NAME=URL" in en and "--url 'ftp://example.com/'：请给出 NAME=URL" in zh


def test_status_json_stays_english_with_broken_files(tmp_path):
    env = _home_env(tmp_path)
    home = Path(env["HOME"])
    write(home / ".config" / "pip" / "pip.conf", b"[global]\nx = \xff\n")
    write(home / ".condarc", "channels: defaults\n")
    write(home / ".config" / "uv" / "uv.toml", "index-url = \n")
    en = envcheck("mirrors", "status", "--json", env_extra=env)
    zh = envcheck("mirrors", "status", "--json", "--lang", "zh", env_extra=dict(env, LANG="zh_CN.UTF-8"))
    assert en.stdout == zh.stdout
    data = json.loads(en.stdout)
    assert all(set(f) == {"path", "scope", "ok", "error"} for t in ("pip", "conda", "uv") for f in data[t]["files"])
    assert {p["key"] for p in data["problems"]} >= {"pip-config-unreadable", "condarc-unreadable",
                                                    "uv-config-unreadable"}
    assert all(p["message"].isascii() for p in data["problems"])


# --------------------------------------------------------------------------- the messages themselves (in-process)


def _refusal(fn, *args) -> EditRefused:
    with pytest.raises(EditRefused) as info:
        fn(*args)
    return info.value


def _check(exc: fileio.Refusal, english_text: str, sees_english: bool = True) -> None:
    assert english_text in str(exc) and str(exc) == exc.message.text(english)
    assert bool(english_runs(str(exc))) == sees_english, "the check must see the English"
    assert_chinese(exc.message.text(ZH), str(exc))


def test_editor_refusals_carry_their_message(tmp_path):
    pip, uv, rc_path = tmp_path / "pip.conf", tmp_path / "uv.toml", tmp_path / ".condarc"
    _check(_refusal(edit_pip.edited, pip, b"index-url = a\n", TUNA_PYPI), "cannot be parsed as pip reads it")
    _check(_refusal(edit_pip._parse, pip, "index-url = a\n", True), "the edited file of")
    _check(_refusal(edit_uv.edited, uv, b"not toml = = 1\n", TUNA_PYPI), "not valid TOML")
    settings, _notes = edit_conda.layout(K.mirror("tuna"))
    for bad, english_text in ((b"- a list\n", "not a mapping"), (b"a: 1\na: 2\n", "is given twice"),
                              (b"channels: [a\n", "not valid YAML"), (b"show_channel_urls: maybe\n", "true or false")):
        _check(_refusal(edit_conda.edited, rc_path, bad, settings), english_text)
    _check(_refusal(fileio.read_bytes, write(tmp_path / "file", "x") / "pip.conf"), "cannot be read")
    _check(_refusal(fileio.decode, pip, b"\xff"), "not UTF-8")
    with pytest.raises(nettest.BadTarget) as bad_url:
        nettest.parse_target("nope")
    _check(bad_url.value, "give NAME=URL", sees_english=False)  # too few words in a row for the heuristic
    assert "请给出 NAME=URL" in bad_url.value.message.text(ZH)


def test_the_conda_probe_words_each_problem_of_a_condarc():
    from envcheck.probes.conda import parse_condarc

    rc = parse_condarc("/x/.condarc", "channels: conda-forge\nchannel_alias: [a, b]\n")
    assert rc.error == "channels should be a list, not str; channel_alias should be a single value, not list"
    assert "应为列表" in rc.error.text(ZH) and "；" in rc.error.text(ZH)
    assert parse_condarc("/x/.condarc", "- a\n- b\n").error.text(ZH).startswith("不是")


def test_layout_notes_of_a_mirror_with_gaps_in_chinese():
    tuna = K.mirror("tuna")
    odd = dataclasses.replace(tuna, conda_default_channels=[],
                              conda_channels={"pytorch": "https://m.example/pytorch-mirror",
                                              "conda-forge": "https://m.example/cloud/conda-forge"})
    settings, notes = edit_conda.layout(odd)
    assert "default_channels" not in settings and settings["custom_channels"] == {
        "conda-forge": "https://m.example/cloud"}
    assert len(notes) == 2
    assert "does not end in /pytorch" in notes[0].text() and "has no mirror of conda's default" in notes[1].text()
    for note in notes:
        assert_chinese(note.text(ZH), note.text())
    none = dataclasses.replace(tuna, conda_default_channels=[], conda_channels={"x": "https://m.example/elsewhere"})
    edit = edit_conda.plan(Path("/nonexistent/.condarc"), none)
    assert edit.error is not None and "mirrors no conda channel" in edit.error.text()
    assert_chinese(edit.error.text(ZH), edit.error.text())


def test_journal_errors_carry_their_message(tmp_path):
    folder = tmp_path / "journal"
    write(folder / "manifest.json", '{"schema": 2}')
    with pytest.raises(backup.JournalError) as info:
        backup.Journal.load(folder)
    _check(info.value, "unknown schema 2")


def test_nettest_problems_in_chinese(monkeypatch):
    def stuck(target, timeout, result=None):
        result.reachable = True
        time.sleep(3)
        return result

    monkeypatch.setattr(nettest, "measure", stuck)
    [late] = nettest.run_all([nettest.Target("a", "http://127.0.0.1:9/", "http://127.0.0.1:9/")], 0.1)
    assert late.error == "download did not finish within 1.2 s"
    assert text_in(late.reason, ZH) == "下载未在 1.2 秒内完成"

    def broken(target, timeout, result=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(nettest, "measure", broken)
    [crashed] = nettest.run_all([nettest.Target("b", "http://127.0.0.1:9/", "http://127.0.0.1:9/")], 0.1)
    assert crashed.error == "RuntimeError: boom" and text_in(crashed.reason, ZH) == "“RuntimeError: boom”"
    assert nettest.summary([], 1.0, ()).text(ZH) == "没有可测试的镜像"


def test_every_mirrors_message_has_a_chinese_translation():
    """Every message id of envcheck/mirrors is translated (the catalogue test, narrowed to these modules so
    that messages other work has in flight do not hide a gap here)."""
    from envcheck.i18n.catalog import source_messages

    mine = [m.msgid for m in source_messages()[0] if any(loc.startswith("envcheck/mirrors/") for loc in m.locations)]
    mine.append("no answer: nothing changed (pass --yes to apply without asking)")  # cli/mirrors.py
    assert len(mine) > 100
    untranslated: List[str] = [msgid for msgid in mine if ZH(msgid) == msgid and msgid.strip(" ;") and
                               english_runs(msgid.replace("{", " ").replace("}", " "))]
    assert not untranslated, untranslated
