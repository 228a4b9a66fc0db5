"""Chinese output of `envcheck analyze` (issue 8): every paste of the corpus, and the real H100 and CPU
machine outputs, read under --lang zh leave no English sentence but what the paste itself says (the
evidence lines, quoted verbatim), with the same codes, severities and exit codes as in English; JSON
stays English; the usage errors are Chinese on stderr with exit 3.

The CLI runs in-process (``envcheck.cli.app.main``) for the whole corpus, so the check stays quick, and
as a subprocess for the locale, stdin and usage-error paths.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from rich.cells import cell_len
from rich.console import Console

from builders import CPU, H100
from envcheck.analyze import Input, analyze, signature_findings
from envcheck.analyze import smi_table
from envcheck.i18n import text_in
from envcheck.i18n import text_in as translated
from envcheck.analyze.signatures import Hit, load_catalogue, printed_messages, step_messages
from envcheck.i18n import data_text
from envcheck.knowledge import Knowledge
from envcheck.render.markdown import render_markdown
from envcheck.render.report import Report
from envcheck.render.terminal import render_terminal
from test_i18n import ZH, assert_chinese, english_runs, envcheck, read_catalogue

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "analyze"
#: the real machines' outputs (the same files as ../shared/fixtures/, see its README)
MACHINES = sorted([*H100.iterdir(), *CPU.iterdir()])
PASTES = sorted(CORPUS.glob("*.txt")) + MACHINES
K = Knowledge()


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


# --------------------------------------------------------------------------- running the CLI in-process


def run_cli(capsys, monkeypatch, *args: str) -> Tuple[int, str, str]:
    """``envcheck ARGS`` in this process: (exit code, stdout, stderr), a console 1000 cells wide (so no
    quoted evidence line is wrapped) and no colour."""
    from envcheck.cli.app import main

    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return exit_.value.code, out, err


def _stable(data: Dict[str, Any]) -> Dict[str, Any]:
    """A report's JSON without what differs from run to run (times)."""
    data = json.loads(json.dumps(data))
    data["snapshot"]["meta"].pop("created_at", None)
    data["snapshot"]["meta"].pop("duration_s", None)
    data["analyze"].pop("parse_s", None)
    return data


def _literals(data: Dict[str, Any]) -> List[str]:
    """What the report quotes from the paste, verbatim: evidence lines and the tools' own messages."""
    out: List[str] = []
    for f in data["findings"]:
        for item in [f["facts"].get("evidence"), *f["facts"].get("evidence_more", [])]:
            if item:
                out.append(item["text"])
    snap = data["snapshot"]
    out += [snap["torch"].get("error") or "", snap["torch"].get("cuda_warning") or "",
            snap["driver"].get("status_message") or "", snap["driver"].get("other_status_message") or ""]
    # longest first, so a line that contains another is removed whole
    return sorted({t for t in out if t}, key=len, reverse=True)


def _finding_lines(text: str) -> List[str]:
    """The codes of the terminal report's finding lines, in order."""
    return re.findall(r"^[✗!i] \S+\s+\[([a-z0-9-]+)\]", text, flags=re.M)


# --------------------------------------------------------------------------- every paste


@pytest.mark.parametrize("paste", PASTES, ids=_id)
def test_every_paste_in_chinese(paste, capsys, monkeypatch):
    name = str(paste)
    en_json_code, en_json, _ = run_cli(capsys, monkeypatch, "analyze", "--json", name)
    zh_json_code, zh_json, _ = run_cli(capsys, monkeypatch, "analyze", "--json", "--lang", "zh", name)
    en_data, zh_data = json.loads(en_json), json.loads(zh_json)
    assert zh_json_code == en_json_code
    if en_data["analyze"].get("recognised") is False:  # nothing known in it: no verdict, in either language
        assert zh_data == en_data and en_json_code == 5
        zh_code, zh_text, _ = run_cli(capsys, monkeypatch, "analyze", "--lang", "zh", name)
        assert zh_code == 5 and zh_text.startswith("envcheck analyze：没有识别出任何内容")
        assert_chinese(zh_text, f"analyze --lang zh {paste.name}", [name])
        return
    assert _stable(zh_data) == _stable(en_data), "--json must be the same, English, whatever the language"
    literals = _literals(en_data)

    en_code, en_text, _ = run_cli(capsys, monkeypatch, "analyze", name)
    zh_code, zh_text, _ = run_cli(capsys, monkeypatch, "analyze", "--lang", "zh", name)
    assert zh_code == en_code == en_json_code
    assert _finding_lines(zh_text) == _finding_lines(en_text) == [f["code"] for f in en_data["findings"]]
    assert [line[0] for line in zh_text.splitlines() if re.match(r"^[✗!i] ", line)] == \
        [line[0] for line in en_text.splitlines() if re.match(r"^[✗!i] ", line)], "the same severities"
    assert "已读取" in zh_text and "\nRead\n" in en_text
    assert_chinese(zh_text, f"analyze --lang zh {paste.name}", literals)
    if en_data["findings"]:
        assert english_runs(en_text, literals), "the check must see the English report's sentences"

    md_code, zh_md, _ = run_cli(capsys, monkeypatch, "analyze", "--markdown", "--lang", "zh", name)
    assert md_code == en_code
    assert [f"`{f['code']}`" for f in en_data["findings"]] == re.findall(r"^- \S+ \*\*[^*]+\*\* (`[a-z0-9-]+`)",
                                                                            zh_md, flags=re.M)
    assert "<summary>已读取的内容</summary>" in zh_md
    assert_chinese(zh_md, f"analyze --markdown --lang zh {paste.name}", literals)


# the multi-input cases of tests/analyze/test_analyze.py: notes, a rule and a message agreeing, macOS, pairs
COMBINATIONS = [
    [H100 / n for n in ("nvidia-smi.txt", "nvidia-smi-q.txt", "nvidia-smi-q-x.xml", "nvidia-smi-query.txt",
                        "nvcc-V.txt", "collect_env.txt", "pip-list.txt")],
    [H100 / "nvidia-smi.txt", H100 / "pip-list.txt"],  # torch-cpu-only not reported: a note
    [CORPUS / "log-sm80-a100-with-smi-450.txt", CORPUS / "freeform-header-nvcc-torch-version.txt"],
    [CORPUS / "log-torch-not-compiled-cuda.txt", CORPUS / "ce-2.2.2-macos-email-wrapped.txt"],
    [CORPUS / "smi-510-a100-mig-enabled.txt", CORPUS / "smi-mig-devices-table.txt"],
    [CORPUS / "log-smi-no-comm-with-nvcc.txt", CORPUS / "smi-570-l4.txt", CORPUS / "nvcc-11.0.txt"],  # two notes
]


@pytest.mark.parametrize("paths", COMBINATIONS, ids=lambda ps: "+".join(p.stem for p in ps))
def test_several_inputs_in_chinese(paths, capsys, monkeypatch):
    names = [str(p) for p in paths]
    en_data = json.loads(run_cli(capsys, monkeypatch, "analyze", "--json", *names)[1])
    literals = _literals(en_data)
    en_code, en_text, _ = run_cli(capsys, monkeypatch, "analyze", *names)
    zh_code, zh_text, _ = run_cli(capsys, monkeypatch, "analyze", "--lang", "zh", *names)
    assert zh_code == en_code and _finding_lines(zh_text) == _finding_lines(en_text)
    assert_chinese(zh_text, "analyze --lang zh " + " ".join(p.name for p in paths), literals)
    zh_md = run_cli(capsys, monkeypatch, "analyze", "--markdown", "--lang", "zh", *names)[1]
    assert_chinese(zh_md, "analyze --markdown --lang zh " + " ".join(p.name for p in paths), literals)
    notes = en_data["analyze"]["notes"]
    assert all(note in en_text for note in notes)
    assert not any(note in zh_text for note in notes if english_runs(note)), "notes are translated"


def worded(f, _):
    """The finding with its texts worded in ``_``'s language (as a renderer shows them)."""
    import dataclasses

    return dataclasses.replace(f, title=text_in(f.title, _), detail=text_in(f.detail, _),
                               fix=[text_in(s, _) for s in f.fix])


def test_the_notes_speak_chinese():
    cases = [
        [Input("smi.txt", (CORPUS / "smi-545-wsl-err-cuda.txt").read_text(encoding="utf-8"))],
        [Input("smi.txt", (H100 / "nvidia-smi.txt").read_text()), Input("pip.txt", (H100 / "pip-list.txt").read_text())],
        [Input("a.txt", (CORPUS / "nvcc-11.0.txt").read_text()), Input("b.txt", (H100 / "nvcc-V.txt").read_text())],
        [Input("a.txt", (H100 / "nvidia-smi.txt").read_text()),
         Input("b.txt", (CORPUS / "log-nvml-mismatch.txt").read_text())],
    ]
    seen = set()
    for inputs in cases:
        result = analyze(inputs, K)
        assert result.notes, [i.name for i in inputs]
        for note in result.notes:
            seen.add(note.msgid)
            shown = translated(note, ZH)
            assert shown != note
            assert_chinese(shown, "a note", [note.fields.get("text", "")])
    assert len(seen) >= 5, seen


def test_a_parser_bug_note_in_chinese(monkeypatch):
    def boom(lines):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(smi_table, "parse", boom)
    result = analyze([Input("smi.txt", (CORPUS / "smi-570-l4.txt").read_text())], K)
    [note] = [n for n in result.notes if "could not read this smi-table block" in n]
    shown = translated(note, ZH)
    assert "无法读取这个 smi-table 块" in shown and "RuntimeError: parser bug" in shown
    assert_chinese(shown, "parser-bug note")


# --------------------------------------------------------------------------- the signature catalogue


def test_every_signature_finding_speaks_chinese():
    """Also the signatures no paste of the corpus matches: title, detail and fix steps, placeholders kept."""
    have = {m.id: m.string for m in read_catalogue() if m.id}
    for text in printed_messages(load_catalogue()):
        assert have.get(text), f"no translation for {text!r}"
    for sig in load_catalogue():
        if not sig.code:
            continue
        values = {name: "X1" for name in re.findall(r"\{(\w+)\}", sig.title + sig.detail + " ".join(sig.fix))}
        hit = Hit(sig, "paste.txt", 0, "the pasted line", values)
        [en] = signature_findings([hit])
        [zh] = [worded(f, ZH) for f in signature_findings([hit])]
        assert (zh.code, zh.severity, zh.facts, zh.section) == (en.code, en.severity, en.facts, en.section)
        assert zh.title != en.title and zh.detail != en.detail and len(zh.fix) == len(en.fix)
        for text in [zh.title, zh.detail, *zh.fix]:
            assert "X1" in text or "{" not in text, text
            assert_chinese(text, f"{sig.id}", ["the pasted line"])
        assert '“the pasted line”' in zh.detail and zh.detail.count("证据：paste.txt 第 1 行") == 1
        for en_step, zh_step in zip(en.fix, zh.fix):
            if not step_messages(en_step):  # a bare command stays exactly as it is
                assert zh_step == en_step


def test_commands_in_fix_steps_stay_as_they_are():
    [sig] = [s for s in load_catalogue() if s.id == "nccl-error"]
    step = next(s for s in sig.fix if s.startswith("export "))
    shown = data_text(ZH, step)  # the whole step is not a message: only its parts are
    assert shown == step
    [finding] = [worded(f, ZH) for f in signature_findings([Hit(sig, "x", 0, "NCCL error", {"reason": "internal error"})])]
    zh_step = next(s for s in finding.fix if s.startswith("export "))
    assert zh_step.startswith("export NCCL_SOCKET_IFNAME=<各节点共用的网卡>   # ")
    assert finding.title == "NCCL 失败：“internal error”"


def test_see_the_log_is_translated_in_the_title_not_in_the_facts():
    text = "UnsatisfiableError: The following specifications were found to be incompatible with each other:\n"
    result = analyze([Input("conda.txt", text)], K)
    [finding] = [worded(f, ZH) for f in result.findings]
    assert finding.facts["packages"] == "see the log"
    assert finding.title == "conda 无法求解这次安装（见日志）"


# --------------------------------------------------------------------------- rendering


def test_evidence_wraps_and_aligns_in_a_narrow_console():
    """A normal console width: details wrap at the width in cells, facts tables stay aligned."""
    result = analyze([Input(p.name, p.read_text()) for p in (H100 / "nvidia-smi.txt", H100 / "collect_env.txt")],
                     K)
    console = Console(file=io.StringIO(), width=100, color_system=None, record=True)
    render_terminal(Report(result.snapshot, result.findings), console, title="envcheck analyze", _=ZH)
    lines = console.export_text().splitlines()
    assert lines[0].startswith("envcheck analyze: ")
    detail = [line for line in lines if line.startswith("    ") and not line.startswith("      ")]
    assert detail and all(cell_len(line) <= 100 for line in detail)
    start = next(i for i, line in enumerate(lines) if line.strip() == "驱动与 GPU")
    block = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        block.append(line)
    assert len(block) >= 3 and len({cell_len(line) for line in block}) == 1, block


def test_markdown_keeps_commands_pasteable():
    text = (CORPUS / "log-libcudnn8-missing.txt").read_text()
    result = analyze([Input("log.txt", text)], K)
    md = render_markdown(Report(result.snapshot, result.findings), title="envcheck analyze", _=ZH)
    fence = md.split("```sh\n", 1)[1].split("```", 1)[0]
    for line in filter(None, (line.strip() for line in fence.splitlines())):
        assert line.startswith(("#", "pip ", "env ", "python ")), line


# --------------------------------------------------------------------------- the CLI as a process


def test_the_locale_chooses_chinese_and_json_stays_english():
    paste = str(CORPUS / "log-libcurand-missing.txt")
    by_locale = envcheck("analyze", paste, env_extra={"LANG": "zh_CN.UTF-8"})
    assert by_locale.returncode == 2, by_locale.stderr
    assert "无法加载 torch 需要的 CUDA 库 (libcurand.so.10)" in by_locale.stdout and "已读取" in by_locale.stdout
    english = envcheck("analyze", paste, "--lang", "en", env_extra={"LANG": "zh_CN.UTF-8"})
    assert "A CUDA library torch needs cannot be loaded (libcurand.so.10)" in english.stdout
    data = json.loads(envcheck("analyze", "--json", paste, env_extra={"LANG": "zh_CN.UTF-8"}).stdout)
    assert data["findings"][0]["title"] == "A CUDA library torch needs cannot be loaded (libcurand.so.10)"
    assert "Evidence: " in data["findings"][0]["detail"]


def test_stdin_in_chinese():
    import os
    import subprocess
    import sys

    from test_i18n import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update({"PYTHONPATH": str(ROOT), "COLUMNS": "120", "NO_COLOR": "1", "LANG": "C.UTF-8"})
    proc = subprocess.run([sys.executable, "-m", "envcheck", "analyze", "--lang", "zh", "-"], capture_output=True,
                          text=True, env=env, cwd=str(ROOT), timeout=120,
                          input=(CORPUS / "log-oom-2.x.txt").read_text(encoding="utf-8"))
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr  # an out-of-memory is a warning
    assert "CUDA 的 GPU 显存不足（申请 55.57 GiB）" in proc.stdout and "<stdin>" in proc.stdout


@pytest.mark.parametrize("case", ["json-markdown", "directory", "missing"])
def test_usage_errors_in_chinese(case, tmp_path):
    if case == "json-markdown":
        args, expected = ["--json", "--markdown", str(CORPUS / "log-oom-2.x.txt")], "只能选一个"
    elif case == "directory":
        args, expected = [str(tmp_path)], "它是一个目录"
    else:
        args, expected = [str(tmp_path / "missing.txt")], "文件或目录不存在"
    for form in ([], ["--json"]):
        proc = envcheck("analyze", "--lang", "zh", *form, *args)
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert proc.stdout == ""
        assert expected in proc.stderr, proc.stderr
        assert_chinese(proc.stderr, f"analyze {case}")
    english = envcheck("analyze", *args)
    assert english.returncode == 3 and english.stderr.isascii(), english.stderr
