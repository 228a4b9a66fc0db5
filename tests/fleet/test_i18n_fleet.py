"""Chinese output of `envcheck fleet` and `envcheck diff` (issue 8): no English sentence left under --lang zh,
JSON unchanged, usage errors in Chinese, wide-character tables aligned.

The inputs are the real `doctor --json` reports of the recorded machines (tests/builders.py: the H100 box and
the CPU box) as tests/fleet/test_fleet.py and tests/fleet/test_diff.py build them. Finding titles inside the reports are
shown in Chinese from the message each report records beside its English (``messages``), never by judging the
snapshot again; a report without them (an older envcheck) has its titles quoted (“...”) as recorded, which the
heuristic leaves alone.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from test_diff import broken, report, working
from test_fleet import doctor_report, fleet_of, smoke_report
from test_i18n import ZH, assert_chinese, english_runs, envcheck, zh_console
from builders import cpu_box
from envcheck.fleet.render import render_html, render_markdown, render_terminal

WIDE = {"COLUMNS": "400"}  # no line wraps inside a quoted title


def _fleet_reports():
    reports = []
    for i in range(8):
        reports.append((f"gpu-{i:02d}.json", doctor_report(host=f"gpu-{i:02d}")))
        reports.append((f"gpu-{i:02d}.smoke.json", smoke_report([790.0 + i % 3] if i != 4 else [410.0])))
    reports.append(("gpu-old.json", doctor_report(host="gpu-old", driver__version="535.54.03",
                                                  driver__kernel_module_version="535.54.03")))
    reports.append(("cpu.json", doctor_report(cpu_box(), host="cpu-01")))
    with_policy = doctor_report(host="p1")
    with_policy["policy"] = {"ok": False, "requirements": [{"expr": "smoke-bf16>=500", "met": False}],
                             "smoke": smoke_report([791.0, 350.0])["smoke"], "smoke_findings": []}
    reports.append(("p1.json", with_policy))
    reports.append(("old/gpu-00.json", doctor_report(host="gpu-00", created="2025-05-01T10:00:00+00:00")))
    return reports


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fleet")
    for name, data in _fleet_reports():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(data, indent=2), encoding="utf-8")
    (folder / "broken.json").write_text("not json at all\n", encoding="utf-8")
    return folder


def _page_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


# --------------------------------------------------------------------------- fleet


def test_fleet_terminal_in_chinese(fleet_dir):
    zh = envcheck("fleet", str(fleet_dir), "--lang", "zh", env_extra=WIDE)
    assert zh.returncode == 0, zh.stderr
    for text in ("11 个节点", "分布", "NVIDIA 驱动", "与多数节点不同的节点", "多数为 580.159.04", "冒烟测试离群值",
                 "按节点数排列的发现", "策略：0 个节点满足，1 个不满足", "1 份重复（保留最新的）", "cudnn-system-differs"):
        assert text in zh.stdout, text
    assert_chinese(zh.stdout, "fleet --lang zh")
    assert "跳过了 1 份无法读取的报告" in zh.stderr and "不是 JSON（第 1 行" in zh.stderr
    assert_chinese(zh.stderr, "fleet --lang zh (stderr)")
    en = envcheck("fleet", str(fleet_dir), env_extra=WIDE)
    assert en.returncode == 0 and "11 node(s)" in en.stdout and "Nodes that differ from the majority" in en.stdout
    assert english_runs(en.stdout), "the check must see English"


def test_fleet_markdown_in_chinese(fleet_dir):
    zh = envcheck("fleet", str(fleet_dir), "--markdown", "--limit", "1", "--lang", "zh")
    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.startswith("## envcheck fleet")
    for text in ("### NVIDIA 驱动", "| 值 | 节点数 | 占比 |", "### 与多数节点不同的节点", "……另有", "### 已跳过（1）",
                 "| 代码 | 严重程度 | 节点数 | 示例 |", "| `cudnn-system-differs` | 提示 |"):
        assert text in zh.stdout, text
    assert_chinese(zh.stdout, "fleet --markdown --lang zh")
    en = envcheck("fleet", str(fleet_dir), "--markdown", "--limit", "1")
    assert "### Nodes that differ from the majority" in en.stdout and english_runs(en.stdout)


def test_fleet_html_page_in_chinese(fleet_dir, tmp_path):
    page = tmp_path / "fleet.html"
    proc = envcheck("fleet", str(fleet_dir), "--html", str(page), "--lang", "zh", env_extra=WIDE)
    assert proc.returncode == 0, proc.stderr
    assert f"已写入 {page}" in proc.stderr
    text = page.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in text
    for words in ("分布", "多数：580.159.04", "冒烟测试离群值（", "稳健 z 值", "中位数", "按节点数排列的发现（", "涉及节点"):
        assert words in text, words
    assert_chinese(_page_text(text), "fleet --html --lang zh")
    english = tmp_path / "en.html"
    envcheck("fleet", str(fleet_dir), "--html", str(english))
    assert '<html lang="en">' in english.read_text(encoding="utf-8")
    assert english_runs(_page_text(english.read_text(encoding="utf-8"))), "the check must see English"


def test_fleet_chart_of_many_values_in_chinese():
    reports = [doctor_report(host=f"n{i}", driver__version=f"5{i:02d}.10.01") for i in range(14)]
    page = render_html(fleet_of(reports), _=ZH)
    assert "其他（2 个值）" in page and '<html lang="zh-CN">' in page
    assert_chinese(_page_text(page), "fleet html, many values")
    assert "other (2 values)" in render_html(fleet_of(reports))


def test_fleet_json_stays_english(fleet_dir):
    en = envcheck("fleet", str(fleet_dir), "--json")
    zh = envcheck("fleet", str(fleet_dir), "--json", "--lang", "zh", env_extra={"LANG": "zh_CN.UTF-8"})
    assert en.returncode == zh.returncode == 0
    assert json.loads(zh.stdout) == json.loads(en.stdout)
    data = json.loads(zh.stdout)
    assert data["distributions"]["driver"]["label"] == "NVIDIA driver"
    assert data["skipped"][0]["reason"].startswith("not JSON (Expecting value at line 1)")
    assert "skipped 1 unreadable report(s)" in en.stderr and "跳过了 1 份" in zh.stderr  # stderr: the reader's


def test_fleet_usage_errors_in_chinese(tmp_path):
    both = envcheck("fleet", str(tmp_path), "--json", "--markdown", "--lang", "zh")
    assert both.returncode == 3 and "--json 和 --markdown 只能选一个" in both.stderr
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "a.json").write_text("[1, 2]\n", encoding="utf-8")
    (garbage / "b.json").write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    nothing = envcheck("fleet", str(garbage), str(tmp_path / "missing"), "--lang", "zh")
    assert nothing.returncode == 3, nothing.stderr
    assert "未能从" in nothing.stderr and "没有这个文件或文件夹" in nothing.stderr and "不是报告" in nothing.stderr
    for proc in (both, nothing):
        assert_chinese(proc.stderr, "fleet usage error --lang zh")
    english = envcheck("fleet", str(garbage), "--json")
    assert english.returncode == 3 and "no envcheck report could be read from" in english.stderr


def test_fleet_tables_stay_aligned_with_chinese():
    reports = [doctor_report(host=f"节点-{i}") for i in range(6)]
    reports.append(doctor_report(host="gpu-old", driver__version="535.54.03",
                                 driver__kernel_module_version="535.54.03"))
    reports.append(doctor_report(cpu_box(), host="cpu"))
    for width in (1000, 90):  # natural widths, and a narrow console where cells wrap
        console = zh_console(width)
        render_terminal(fleet_of(reports), console, _=ZH)
        tables, current = [], []
        for line in console.export_text().splitlines():
            if line[:1] in "┏┃┡│├└":
                current.append(line)
            elif current:
                tables.append(current)
                current = []
        if current:
            tables.append(current)
        assert len(tables) >= 3
        assert any(cell_len(line) != len(line) for table in tables for line in table), "cells with Chinese"
        for table in tables:
            assert len({cell_len(line) for line in table}) == 1, "\n".join(table)


def test_fleet_renderers_in_process_in_chinese():
    reports = [doctor_report(host=f"gpu-{i}") for i in range(3)] + [doctor_report(cpu_box(), host="cpu")]
    fleet = fleet_of(reports)
    console = zh_console()
    render_terminal(fleet, console, _=ZH)
    assert_chinese(console.export_text(), "fleet terminal")
    chinese = render_markdown(fleet, _=ZH)
    assert "这些报告中没有冒烟测试结果。" in chinese
    assert_chinese(chinese, "fleet markdown")
    english = render_markdown(fleet)
    assert "| value | nodes | share |" in english and "No smoke results in these reports." in english


# --------------------------------------------------------------------------- diff


@pytest.fixture(scope="module")
def diff_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diff")
    good, bad, snap = folder / "good.json", folder / "bad.json", folder / "good-snap.json"
    good.write_text(json.dumps(report(working()), indent=2), encoding="utf-8")
    bad.write_text(json.dumps(report(broken()), indent=2), encoding="utf-8")
    snap.write_text(working().to_json(), encoding="utf-8")
    return good, bad, snap


@pytest.mark.parametrize("form", [(), ("--markdown",)])
def test_diff_in_chinese(diff_files, form):
    good, bad, _snap = diff_files
    zh = envcheck("diff", str(good), str(bad), "--lang", "zh", *form, env_extra=WIDE)
    assert zh.returncode == 1, zh.stderr
    for text in ("驱动", "torch 构建", "环境变量", "有故障", "只在 B 中", "driver-too-old", "driver.version"):
        assert text in zh.stdout, text
    assert_chinese(zh.stdout, f"diff {' '.join(form)} --lang zh")
    en = envcheck("diff", str(good), str(bad), *form, env_extra=WIDE)
    assert en.returncode == 1 and english_runs(en.stdout), "the check must see English"


@pytest.mark.parametrize("form", [(), ("--markdown",)])
def test_diff_without_differences_in_chinese(diff_files, form):
    good, _bad, snap = diff_files
    zh = envcheck("diff", str(good), str(snap), "--lang", "zh", *form)
    assert zh.returncode == 0, zh.stderr
    assert "各项信息和发现都没有差异。" in zh.stdout
    assert_chinese(zh.stdout, "diff (same) --lang zh")


def test_diff_json_stays_english(diff_files):
    good, bad, _snap = diff_files
    en = envcheck("diff", str(good), str(bad), "--json")
    zh = envcheck("diff", str(good), str(bad), "--json", "--lang", "zh", env_extra={"LANG": "zh_CN.UTF-8"})
    assert en.returncode == zh.returncode == 1
    assert zh.stdout == en.stdout
    assert json.loads(zh.stdout)["facts"][0]["section"] == "driver"


def test_diff_usage_errors_in_chinese(diff_files, tmp_path):
    good, bad, _snap = diff_files
    both = envcheck("diff", str(good), str(bad), "--json", "--markdown", "--lang", "zh")
    assert both.returncode == 3 and "--json 和 --markdown 只能选一个" in both.stderr
    smoke = tmp_path / "smoke.json"
    smoke.write_text(json.dumps({"schema_version": 1, "smoke": {}, "findings": []}), encoding="utf-8")
    junk = tmp_path / "junk.json"
    junk.write_text("not json", encoding="utf-8")
    future = tmp_path / "future.json"
    future.write_text(json.dumps(dict(report(working())["snapshot"], schema_version=99)), encoding="utf-8")
    expected = {tmp_path / "missing.json": "无法读取", smoke: "既不是 doctor 报告也不是快照", junk: "不是 JSON",
                future: "不是 envcheck 报告或快照", tmp_path: "无法读取"}
    for other, words in expected.items():
        proc = envcheck("diff", str(good), str(other), "--lang", "zh")
        assert proc.returncode == 3, proc.stderr
        assert str(other) in proc.stderr and words in proc.stderr, proc.stderr
        assert_chinese(proc.stderr, f"diff usage error ({other.name}) --lang zh")
    for proc in (both, envcheck("diff", str(good), str(junk), "--json", "--lang", "zh")):
        assert proc.returncode == 3
        assert_chinese(proc.stderr, "diff usage error --json --lang zh")
    english = envcheck("diff", str(good), str(junk))
    assert english.returncode == 3 and "is not JSON" in english.stderr


# --------------------------------------------------------------------------- recorded titles, worded from the reports


def _without_messages(data):
    """A report as an envcheck older than the ``messages`` key wrote it."""
    if isinstance(data, dict):
        return {k: _without_messages(v) for k, v in data.items() if k != "messages"}
    if isinstance(data, list):
        return [_without_messages(v) for v in data]
    return data


def test_recorded_titles_are_worded_in_chinese_from_the_reports_messages(diff_files, tmp_path):
    """A title is shown in Chinese from the message its report recorded beside the English; a title its messages
    do not say (an edited report, another version's wording) stays quoted as recorded."""
    good, bad, _snap = diff_files
    data = json.loads(bad.read_text(encoding="utf-8"))
    assert data["findings"], "the broken side must record findings"
    first = data["findings"][0]
    first["title"] = "Worded by some other envcheck version"
    edited = tmp_path / "bad-edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    zh = envcheck("diff", str(good), str(edited), "--lang", "zh", env_extra=WIDE)
    assert "“Worded by some other envcheck version”" in zh.stdout
    for f in data["findings"][1:]:
        assert f["title"] not in zh.stdout, f"recorded English title left: {f['title']}"
    # every other title is the Chinese the rules write for that snapshot, and the Chinese of the report's message
    from envcheck.i18n import message_from_data, text_in
    from envcheck.knowledge import Knowledge
    from envcheck.rules import evaluate
    from envcheck.snapshot import Snapshot

    snap = Snapshot.from_dict(data["snapshot"])
    chinese = {f.title: text_in(f.title, ZH) for f in evaluate(snap, Knowledge())}
    for f in data["findings"][1:]:
        assert f["title"] in chinese, f["title"]
        assert chinese[f["title"]] != f["title"] and chinese[f["title"]] in zh.stdout
        assert text_in(message_from_data(f["messages"]["title"]), ZH) == chinese[f["title"]]
    assert_chinese(zh.stdout, "diff with reworded titles", ["Worded by some other envcheck version"])
    assert json.loads(envcheck("diff", str(good), str(edited), "--json", "--lang", "zh").stdout)["findings"] == \
        json.loads(envcheck("diff", str(good), str(edited), "--json").stdout)["findings"], "JSON stays English"


def test_diff_words_titles_without_judging_the_report_again(diff_files, tmp_path):
    """The broken report's findings on the working machine's snapshot: judging that snapshot again gives none of
    them, yet their titles are in Chinese, from the report's own messages."""
    good, bad, _snap = diff_files
    data = json.loads(bad.read_text(encoding="utf-8"))
    data["snapshot"] = json.loads(good.read_text(encoding="utf-8"))["snapshot"]
    moved = tmp_path / "bad-findings-on-good.json"
    moved.write_text(json.dumps(data), encoding="utf-8")
    zh = envcheck("diff", str(good), str(moved), "--lang", "zh", env_extra=WIDE)
    assert zh.returncode == 1, zh.stderr
    from envcheck.i18n import message_from_data, text_in

    good_codes = {f["code"] for f in json.loads(good.read_text(encoding="utf-8"))["findings"]}
    only_b = [f for f in data["findings"] if f["code"] not in good_codes]
    assert only_b, "the broken report must have findings the working one has not"
    for f in only_b:
        worded = text_in(message_from_data(f["messages"]["title"]), ZH)
        assert worded != f["title"] and worded in zh.stdout, f["title"]
        assert f["title"] not in zh.stdout
    assert_chinese(zh.stdout, "diff, findings the snapshot would not give")


def test_diff_quotes_the_titles_of_an_older_report(diff_files, tmp_path):
    """A report without ``messages`` (an older envcheck) cannot be worded: its titles are shown as recorded, quoted."""
    good, bad, _snap = diff_files
    data = _without_messages(json.loads(bad.read_text(encoding="utf-8")))
    old = tmp_path / "bad-old.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    zh = envcheck("diff", str(good), str(old), "--lang", "zh", env_extra=WIDE)
    assert zh.returncode == 1, zh.stderr
    good_codes = {f["code"] for f in json.loads(good.read_text(encoding="utf-8"))["findings"]}
    titles = [f["title"] for f in data["findings"] if f["code"] not in good_codes]
    assert titles
    for title in titles:
        assert f"“{title}”" in zh.stdout, title
    assert_chinese(zh.stdout, "diff, an older report", titles)
    assert json.loads(envcheck("diff", str(good), str(old), "--json").stdout)["findings"] == \
        json.loads(envcheck("diff", str(good), str(bad), "--json").stdout)["findings"], "JSON: the same English"


def test_fleet_finding_titles_worded_in_chinese(fleet_dir):
    zh = envcheck("fleet", str(fleet_dir), "--lang", "zh", env_extra=WIDE)
    assert "系统 cuDNN 9.14.0 与 torch 使用的 9.19.0 不同" in zh.stdout
    assert "System cuDNN 9.14.0 differs" not in zh.stdout
    en = envcheck("fleet", str(fleet_dir), env_extra=WIDE)
    assert "System cuDNN 9.14.0 differs from the 9.19.0 torch uses" in en.stdout


def test_fleet_words_titles_without_judging_the_reports_again():
    """A node's report whose snapshot (the CPU box) would not give its findings (the H100's): the titles are in
    Chinese all the same, from the report's own messages; an older report's titles are quoted as recorded."""
    from envcheck.i18n import message_from_data, text_in

    report = doctor_report(host="gpu-00")
    report["snapshot"] = doctor_report(cpu_box(), host="gpu-00")["snapshot"]
    titled = [f for f in report["findings"] if f["code"] == "cudnn-system-differs"]
    assert titled, "the H100 report records the cuDNN finding"
    chinese = render_markdown(fleet_of([report]), _=ZH)
    worded = text_in(message_from_data(titled[0]["messages"]["title"]), ZH)
    assert worded == "系统 cuDNN 9.14.0 与 torch 使用的 9.19.0 不同" and worded in chinese
    assert titled[0]["title"] not in chinese
    assert_chinese(chinese, "fleet markdown, findings the snapshot would not give")
    old = render_markdown(fleet_of([_without_messages(report)]), _=ZH)
    assert f"“{titled[0]['title']}”" in old
    assert render_markdown(fleet_of([_without_messages(report)])) == render_markdown(fleet_of([report]))
