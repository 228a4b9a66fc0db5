"""Chinese for the command line itself (issue 8): --help of every command, click's usage errors,
envcheck's own usage problems, the policy's verdicts, and the interrupted / internal-error lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from builders import h100
from test_i18n import ZH, assert_chinese, english_runs, envcheck

from envcheck.cli.wording import CLICK_MESSAGES, _known, error_message, usage_error_text
from envcheck.i18n import english


@pytest.fixture(scope="module")
def h100_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "h100.json"
    path.write_text(json.dumps(h100().to_dict()), encoding="utf-8")
    return path


def _commands():
    import typer

    from envcheck.cli.app import app

    root = typer.main.get_command(app)
    out = [()]
    for name, cmd in root.commands.items():
        out.append((name,))
        for sub in getattr(cmd, "commands", {}):
            out.append((name, sub))
    return out


COMMANDS = _commands()


def test_every_command_is_listed():
    names = {c[0] for c in COMMANDS if c}
    assert {"doctor", "install-cmd", "smoke", "analyze", "fleet", "diff", "mirrors"} <= names
    assert ("mirrors", "use") in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "envcheck")
def test_help_in_chinese(command, capsys, monkeypatch):
    """In this process (``envcheck --help`` in a subprocess is tested once below): 30 interpreter starts saved."""
    from test_i18n_analyze import run_cli

    code, out, err = run_cli(capsys, monkeypatch, *command, "--help", "--lang", "zh")
    assert code in (0, None), err
    assert "显示本帮助并退出。" in out
    assert "选项" in out and "Options" not in out
    # option names, metavars, defaults ("[default: 10.0]") and the usage line stay as they are
    assert_chinese(out, f"{' '.join(command)} --help")
    code, out, err = run_cli(capsys, monkeypatch, *command, "--help")
    assert "Show this message and exit." in out and "显示" not in out


def test_help_in_chinese_from_a_new_process():
    zh = envcheck("doctor", "--help", "--lang", "zh")
    assert zh.returncode == 0 and "显示本帮助并退出。" in zh.stdout and "Options" not in zh.stdout, zh.stderr


def test_root_help_lists_commands_in_chinese():
    zh = envcheck("--help", env_extra={"LANG": "zh_CN.UTF-8"})
    assert "命令" in zh.stdout and "doctor" in zh.stdout and "这台 PyTorch/CUDA 机器是否正常" in zh.stdout


@pytest.mark.parametrize("args", [("--lang", "zh"), ("--lang=zh",)])
def test_lang_alone_gives_the_overview_as_plain_envcheck_does(args):
    zh = envcheck(*args)
    assert zh.returncode == 0 and "╭─ 命令" in zh.stdout and not zh.stderr
    plain = envcheck()
    assert "╭─ Commands" in plain.stdout and plain.returncode == 3 and not plain.stderr


@pytest.mark.parametrize("args, chinese", [
    (("doctor", "--bogus"), "没有这个选项：--bogus"),
    (("doctor", "--timeout", "0"), "'--timeout' 的值无效：0.0 不在范围 x>=0.1 内。"),
    (("doctor", "--timeout", "abc"), "'--timeout' 的值无效：'abc' 不是有效的 float range。"),
    (("smoke", "--device", "x"), "'--device' 的值无效：'x' 不是有效的 int。"),
    (("mirrors", "use"), "缺少参数 'NAME'。"),
    (("frobnicate",), "没有命令 'frobnicate'。"),
    (("doctor", "extra"), "多出了参数（extra）"),
    (("doctor", "--python"), "选项 '--python' 需要一个值。"),
])
def test_click_usage_errors_in_chinese(args, chinese, capsys, monkeypatch):
    from test_i18n_analyze import run_cli

    zh_code, _out, zh_err = run_cli(capsys, monkeypatch, *args, "--lang", "zh")
    assert zh_code == 3
    assert chinese in zh_err, zh_err
    assert_chinese(zh_err, " ".join(args))
    en_code, _out, en_err = run_cli(capsys, monkeypatch, *args)
    assert en_code == 3 and "Error: " in en_err
    # the usage line and the hint come with it whenever click knows the command (not for a bad option value)
    assert zh_err.startswith("用法：envcheck") == en_err.startswith("Usage: envcheck")
    assert ("查看帮助" in zh_err) == ("for help." in en_err)
    assert args[0] == "doctor" and args[1] == "--python" or zh_err.startswith("用法：envcheck")


def test_a_click_usage_error_from_a_new_process():
    zh = envcheck("doctor", "--bogus", "--lang", "zh")
    assert zh.returncode == 3 and "没有这个选项：--bogus" in zh.stderr and zh.stderr.startswith("用法：envcheck")


def test_every_click_template_is_recognised_and_round_trips():
    for template in CLICK_MESSAGES:
        fields = {name: f"'x{i}'" for i, name in enumerate(re.findall(r"\{(\w+)\}", template))}
        text = template.format(**fields)
        assert _known(text) == (template, fields)
        assert ZH(template) != template, f"no Chinese for {template!r}"


def test_an_unknown_click_message_is_quoted_not_lost():
    class Odd(Exception):
        message = "Something click says that envcheck has never seen."

        def format_message(self):
            return self.message

    assert error_message(Odd(), english) == Odd.message
    assert error_message(Odd(), ZH) == f"“{Odd.message}”"
    assert usage_error_text(Odd(), ZH) == f"错误：“{Odd.message}”"


@pytest.mark.parametrize("args, chinese", [
    (("doctor", "--json", "--markdown"), "--json 和 --markdown 只能选一个"),
    (("smoke", "--json", "--markdown"), "--json 和 --markdown 只能选一个"),
    (("doctor", "--python", "/nonexistent/python3"), "--python /nonexistent/python3：文件不存在"),
    (("smoke", "--python", "/nonexistent/python3"), "--python /nonexistent/python3：文件不存在"),
    (("doctor", "--from", "/nonexistent.json"), "无法读取 /nonexistent.json："),
    (("doctor", "--from", "/etc/hostname"), "/etc/hostname 不是 envcheck 快照："),
    (("install-cmd", "--from", "/nonexistent.json"), "无法读取 /nonexistent.json："),
    (("doctor", "--require", "gpus>=x"), "'x' 不是整数（'gpus>=x'，来自 --require）"),
    (("doctor", "--require", "warp-drive"), "要求 'warp-drive' 未知"),
    (("doctor", "--require", "no-finding=nope"), "未知的发现代码 'nope'"),
    (("doctor", "--policy", "/nonexistent.toml"), "策略文件 /nonexistent.toml 不存在"),
])
def test_envcheck_usage_problems_in_chinese(args, chinese):
    zh = envcheck(*args, "--lang", "zh")
    assert zh.returncode == 3, zh.stderr
    assert chinese in zh.stderr, zh.stderr
    assert_chinese(zh.stderr, " ".join(args), literals=["No such file or directory", "Expecting value: line 1 column 1"])


def test_an_unknown_lang_is_refused_in_the_locale_language():
    zh = envcheck("--lang", "xx", "doctor", env_extra={"LANG": "zh_CN.UTF-8"})
    assert zh.returncode == 3 and "--lang 'xx'：请从 en, zh 中选择" in zh.stderr
    en = envcheck("--lang", "xx", "doctor")
    assert en.returncode == 3 and "--lang 'xx': choose one of en, zh" in en.stderr


REQUIRE = ["gpus>=8", "driver>=600", "torch", "gpu-memory>=100GiB", "no-warnings", "smoke-bf16>=500", "cuda",
           "no-finding=cudnn-system-differs", "compute-capability>=9.0", "python>=3.13", "cudnn>=9"]


def test_policy_verdicts_in_chinese(h100_file):
    args = [a for r in REQUIRE for a in ("--require", r)]
    zh = envcheck("doctor", "--from", str(h100_file), "--markdown", "--lang", "zh", *args)
    assert zh.returncode == 4, zh.stderr
    assert "### 策略：11 项中有 6 项未满足" in zh.stdout
    assert "| `gpus>=8` | **未满足** | 1 块 GPU（nvidia-smi），要求 >=8 |" in zh.stdout
    assert "envcheck：要求未满足：driver>=600：驱动 580.159.04，要求 >=600" in zh.stderr
    assert_chinese(zh.stdout, "doctor --markdown --require (zh)")
    assert_chinese(zh.stderr, "policy lines (zh)")
    en = envcheck("doctor", "--from", str(h100_file), "--markdown", *args)
    assert "### Policy: 6 of 11 not met" in en.stdout
    assert "envcheck: requirement NOT MET: driver>=600: driver 580.159.04, needs >=600" in en.stderr


def test_policy_json_stays_english_under_chinese(h100_file):
    args = [a for r in REQUIRE for a in ("--require", r)]
    zh = json.loads(envcheck("doctor", "--from", str(h100_file), "--json", "--lang", "zh", *args).stdout)
    en = json.loads(envcheck("doctor", "--from", str(h100_file), "--json", *args).stdout)
    assert zh["policy"] == en["policy"]
    reasons = {r["expr"]: r["reason"] for r in en["policy"]["requirements"]}
    assert reasons["gpus>=8"] == "1 GPU(s) (nvidia-smi), needs >=8"
    assert reasons["smoke-bf16>=500"].startswith("unknown: the smoke test cannot run here")


def test_policy_reasons_of_every_kind_in_chinese():
    """Each way a requirement can end (met, unmet, unknown, smoke outcomes) reads as Chinese."""
    from envcheck.preflight.policy import evaluate, parse_requirements
    from envcheck.smoke.host import build_report
    from envcheck.knowledge import Knowledge

    reqs = parse_requirements(REQUIRE + ["torch-cuda>=13", "driver-cuda>=12", "no-errors", "gpus>=1",
                                         "smoke-fp16>=500", "smoke-fp32>=1"])
    snaps = [h100()]
    bare = h100()
    bare.gpus, bare.driver.status, bare.driver.version, bare.driver.cuda_version = [], "not-found", None, None
    bare.torch.version, bare.torch.cuda, bare.torch.cuda_available = "2.13.0+cpu", None, False
    bare.torch.build = "cpu"
    bare.torch.devices, bare.torch.device_count = [], 0
    snaps.append(bare)
    gone = h100()
    gone.torch.version = gone.torch.dist_version = gone.torch.location = None
    snaps.append(gone)
    raw = {"ok": True, "skip": None, "torch": "2.11.0+cu130", "devices": [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "init_s": 0.1, "alloc_ok": True,
         "matmul": {"bf16": {"n": 8192, "iters": 20, "ms": 28.0, "max_rel_error": 1e-3, "finite": True},
                    "fp16": {"n": 8192, "iters": 20, "ms": 80.0, "max_rel_error": 0.5, "finite": True}}},
        {"index": 1, "name": "NVIDIA H100 80GB HBM3", "error": "CUDA error: an illegal memory access"}]}
    smoke = build_report(raw, Knowledge())
    seen = 0
    for snap in snaps:
        for runner in (lambda: smoke, None):
            result = evaluate(reqs, snap, [], runner)
            for r in result.results:
                text = r.reason.text(ZH)
                assert_chinese(text, f"{r.requirement.expr}: {text}",
                               literals=["CUDA error: an illegal memory access"])
                assert r.reason.isascii() and r.reason == r.reason.text(), "the JSON reason is the English wording"
                seen += 1
    assert seen == 3 * 2 * len(reqs)
    smoke_unknown = next(r for r in evaluate(reqs, bare, [], None).results if r.requirement.expr == "smoke-bf16>=500")
    assert english_runs(smoke_unknown.reason), "the check must see English"


def test_interrupted_in_chinese():
    """Ctrl-C while analyze waits for a paste: one line in the reader's language, exit 130, no traceback."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update({"PYTHONPATH": str(root), "LANG": "zh_CN.UTF-8"})
    # SIGINT as a terminal's job has it (a run started in the background inherits it ignored)
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "analyze"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(root),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)  # well past start-up: it is blocked reading stdin
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip().endswith("envcheck：已中断") and "Traceback" not in err


def test_an_output_that_cannot_show_chinese_gets_english_and_a_note(h100_file):
    """A console in ASCII or Latin-1 (PYTHONIOENCODING, an old Windows code page) cannot print the Chinese
    report: English instead, one line saying why, and the diagnosis' own exit code, not an encoding crash."""
    for encoding, shown in (("ascii", "ascii"), ("latin-1", "iso8859-1")):
        proc = envcheck("doctor", "--lang", "zh", "--from", str(h100_file), env_extra={"PYTHONIOENCODING": encoding})
        assert proc.returncode == 0, proc.stderr
        assert "System cuDNN 9.14.0 differs" in proc.stdout
        assert f"encoding ({shown}) cannot show --lang zh: reporting in English" in proc.stderr
        bad = envcheck("doctor", "--bogus", "--lang", "zh", env_extra={"PYTHONIOENCODING": encoding})
        assert bad.returncode == 3 and "No such option: --bogus" in bad.stderr
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONIOENCODING="gbk", NO_COLOR="1")
    gbk = subprocess.run([sys.executable, "-m", "envcheck", "doctor", "--lang", "zh", "--from", str(h100_file)],
                         capture_output=True, env=env, cwd=str(root), timeout=120)
    # GBK (a Chinese Windows console) can show it: Chinese, no note
    assert "系统 cuDNN 9.14.0".encode("gbk") in gbk.stdout and not gbk.stderr
