"""Every reader of a file from elsewhere (issue 16): bounded, decoded as analyze decodes, depth-limited, checked
field by field; bad input is a usage problem (exit 3) naming the file and the field, never a traceback.

The reports are the recorded machines' (tests/builders.py), judged by envcheck's own rules and saved as
``doctor --json`` writes them; the property tests mutate them within a fixed budget (bench/fuzz_readers.py runs
the long version)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import cpu_box, h100
from envcheck.cli.app import main
from envcheck.cli.common import UsageProblem, read_report
from envcheck.fleet import load
from envcheck.fleet.diff import NotComparable, load_side
from envcheck.knowledge import Knowledge, KnowledgeError, MirrorFileError, mirrors_dir, read_mirror_file
from envcheck.preflight.policy import PolicyError, load_policy_file
from envcheck.render.report import Report, report_data
from envcheck.rules import evaluate
from envcheck.shape import check_report
from envcheck.textio import InputError, decode, json_too_deep, read_bytes, too_deep

KNOWLEDGE = Knowledge()
H100_REPORT = json.loads(json.dumps(report_data(Report(h100(), evaluate(h100(), KNOWLEDGE)))))
CPU_REPORT = json.loads(json.dumps(report_data(Report(cpu_box(), evaluate(cpu_box(), KNOWLEDGE)))))


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return done.value.code


def write(path: Path, data, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.write_bytes(bom + json.dumps(data, indent=2).encode(encoding))
    return path


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("encoding,bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                          ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""),
                                          ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"")])
def test_reports_in_every_encoding_a_shell_writes_are_read(tmp_path, encoding, bom):
    path = write(tmp_path / "r.json", H100_REPORT, encoding, bom)
    snap, findings = read_report(path)
    assert snap.gpus[0].name == "NVIDIA H100 80GB HBM3" and findings
    assert load_side(path).snapshot["driver"]["version"] == "580.159.04"
    fleet = load([str(path)])
    assert [n.name for n in fleet.nodes] and not fleet.skipped


def test_powershell_redirect_of_doctor_json_is_read_by_doctor_from(tmp_path, capsys):
    path = tmp_path / "ps.json"  # PowerShell 5's `envcheck doctor --json > ps.json`: UTF-16 LE with a BOM, CRLF
    path.write_bytes(b"\xff\xfe" + json.dumps(H100_REPORT, indent=2).replace("\n", "\r\n").encode("utf-16-le"))
    code = run("doctor", "--from", str(path), "--json")
    assert code in (0, 1, 2) and json.loads(capsys.readouterr().out)["snapshot"]["driver"]["version"] == "580.159.04"


def test_decode_replaces_what_does_not_decode():
    assert decode(b"\xef\xbb\xbf{}") == "{}" and decode(b"a\xffb") == "a\ufffdb"


# --------------------------------------------------------------------------- limits


def test_nesting_a_thousand_deep_is_refused_not_a_recursion_error(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text('{"snapshot": ' + "[" * 1000 + "]" * 1000 + "}")
    assert json_too_deep(deep.read_text()) and run("doctor", "--from", str(deep)) == 3
    assert "nested deeper than 64 levels" in capsys.readouterr().err
    with pytest.raises(NotComparable, match="deep.json: nested deeper"):
        load_side(deep)
    fleet = load([str(deep), str(write(tmp_path / "ok.json", CPU_REPORT))])
    assert len(fleet.nodes) == 1 and len(fleet.skipped) == 1  # the deep one skipped, the good one read
    toml = tmp_path / "deep.toml"
    toml.write_text("require = " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(PolicyError, match="nested deeper"):
        load_policy_file(toml)
    assert run("doctor", "--from", str(write(tmp_path / "r.json", CPU_REPORT)), "--policy", str(toml)) == 3


def test_depth_from_the_text_agrees_with_the_parsed_data():
    for text in ['[[["]]]]"]]]', '{"a": {"b": [1, {"c": "\\\\"}]}}', '["\\"[[[", [[]]]', "[" * 64 + "]" * 64]:
        value = json.loads(text)
        for limit in range(1, 8):
            assert json_too_deep(text, limit) == too_deep(value, limit), (text, limit)
    assert json_too_deep("[" * 65 + "]" * 65) and not json_too_deep("[" * 64 + "]" * 64)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_devices_are_refused_at_once(tmp_path, capsys):
    start = time.monotonic()
    assert run("doctor", "--from", "/dev/zero") == 3
    assert "/dev/zero" in capsys.readouterr().err
    fleet_code = run("fleet", "/dev/zero", str(write(tmp_path / "ok.json", CPU_REPORT)), "--json")
    out = capsys.readouterr()
    assert fleet_code == 0 and "not a regular file" in out.err
    with pytest.raises(NotComparable):
        load_side(Path("/dev/zero"))
    assert time.monotonic() - start < 10


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_with_no_writer_does_not_block(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(UsageProblem, match="not JSON"):  # read as empty at once
        read_report(fifo)


def test_size_limit(tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(InputError, match="larger than"):
        read_bytes(big, limit=1024)


# --------------------------------------------------------------------------- fields by type


@pytest.mark.parametrize("change,field", [
    (lambda r: r["snapshot"]["gpus"][0].__setitem__("memory_total_mib", "abc"), "snapshot.gpus[0].memory_total_mib"),
    (lambda r: r["snapshot"].__setitem__("driver", "580"), "snapshot.driver"),
    (lambda r: r["snapshot"]["torch"].__setitem__("arch_list", "sm_90"), "snapshot.torch.arch_list"),
    (lambda r: r["snapshot"]["python"]["packages"]["torch"].__setitem__("version", 2.11),
     'snapshot.python.packages.torch.version'),
    (lambda r: r["findings"][0].__setitem__("severity", "fatal"), "findings[0].severity"),
    (lambda r: r["findings"].append(7), "findings[1]"),
    (lambda r: r["snapshot"]["meta"].__setitem__("duration_s", float("nan")), "snapshot.meta.duration_s"),
    (lambda r: r["snapshot"]["system"].__setitem__("cpu_count", True), "snapshot.system.cpu_count"),
])
def test_a_wrong_type_is_refused_naming_the_file_and_the_field(tmp_path, capsys, change, field):
    report = json.loads(json.dumps(H100_REPORT))
    report["findings"] = report["findings"][:1]
    change(report)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert run("doctor", "--from", str(path)) == 3
    err = capsys.readouterr().err
    assert f"report.json is not an envcheck snapshot: {field}: expected" in err and "Traceback" not in err
    with pytest.raises(NotComparable, match=f"report.json: {field.replace('[', '.').replace(']', '.')}"):
        load_side(path)
    assert run("install-cmd", "--from", str(path)) == 3


def test_the_brief_example_wording():
    report = json.loads(json.dumps(H100_REPORT["snapshot"]))
    report["gpus"][0]["memory_total_mib"] = "abc"
    with pytest.raises(InputError) as err:
        check_report(report, "report.json")
    assert str(err.value) == 'report.json: gpus[0].memory_total_mib: expected a whole number, got "abc"'


def test_fleet_skips_a_bad_report_names_it_and_goes_on(tmp_path, capsys):
    folder = tmp_path / "reports"
    folder.mkdir()
    for i, report in enumerate([H100_REPORT, CPU_REPORT, H100_REPORT]):
        data = json.loads(json.dumps(report))
        data["snapshot"]["system"]["hostname"] = f"node{i}"
        write(folder / f"node{i}.json", data)
    bad = json.loads(json.dumps(H100_REPORT))
    bad["snapshot"]["gpus"] = 8
    write(folder / "node9.json", bad)
    (folder / "node8.json").write_bytes(b"\xff\xfe" + json.dumps(CPU_REPORT).encode("utf-16-le"))
    assert run("fleet", str(folder), "--json") == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert "node9.json" in out.err and "snapshot.gpus: expected a list, got 8" in out.err
    assert sorted(n["name"] for n in data["nodes"]) == ["node0", "node1", "node2", "node8"] or len(data["nodes"]) == 4


def test_fleet_streams_json_lines_with_a_corrupt_line(tmp_path):
    lines = [json.dumps(dict(H100_REPORT, node=f"n{i}")) for i in range(5)]
    lines[2] = lines[2][: len(lines[2]) // 2]
    path = tmp_path / "all.jsonl"
    path.write_text("\n".join(lines) + "\n")
    fleet = load([str(path)])
    assert sorted(n.name for n in fleet.nodes) == ["n0", "n1", "n3", "n4"] and len(fleet.skipped) == 1


def test_policy_and_mirror_files(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_bytes(b"\xff\xfe" + 'require = ["driver>=535"]\n'.encode("utf-16-le"))
    assert load_policy_file(policy) == ["driver>=535"]
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy_file(Path("/dev/zero") if os.path.exists("/dev/zero") else tmp_path)
    good = next(iter(sorted(mirrors_dir().glob("*.toml"))))
    assert read_mirror_file(good)["name"]
    bad = tmp_path / "m.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace("title = ", "title = 5 #", 1))
    with pytest.raises(MirrorFileError, match="m.toml: title: expected text, got 5"):
        read_mirror_file(bad)
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "x.toml").write_text('name = "x"\ntitle = "X"\nhostz = []\n')
    with pytest.raises(KnowledgeError, match="x.toml: hostz: not a mirror file field"):
        Knowledge(mirror_dir=tmp_path / "own").mirrors()


# --------------------------------------------------------------------------- properties (fixed budget)

_SEEDS = [json.dumps(H100_REPORT), json.dumps(CPU_REPORT["snapshot"]), json.dumps(CPU_REPORT, indent=2)]


@st.composite
def mutated(draw):
    """A recorded report cut, spliced, re-encoded or with one value replaced."""
    text = draw(st.sampled_from(_SEEDS))
    how = draw(st.sampled_from(["cut", "splice", "value", "encode"]))
    if how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["[", "]", "{", "}", '"', ",", "null", "1e999", "\\", "\ufeff"])) + text[at:]
    elif how == "value":
        data = json.loads(text)
        node = data
        for _ in range(draw(st.integers(1, 5))):
            if isinstance(node, dict) and node:
                key = draw(st.sampled_from(sorted(node)))
                if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
                    node[key] = draw(st.sampled_from([None, 0, -1, 1.5, "x", True, [], {}, [1], {"a": 1}]))
                    break
                node = node[key]
            elif isinstance(node, list) and node:
                node = node[draw(st.integers(0, len(node) - 1))]
        text = json.dumps(data)
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-16", "utf-8-sig", "utf-32"])))
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_readers_return_a_result_or_their_own_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_bytes(data)
    try:
        read_report(path)
    except UsageProblem:
        pass
    try:
        load_side(path)
    except NotComparable:
        pass
    fleet = load([str(path)])  # never raises: a bad report is a skipped one
    assert len(fleet.nodes) <= 1 and all(s.reason for s in fleet.skipped)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=200))
def test_policy_reader_returns_a_list_or_a_policy_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("policy") / "p.toml"
    path.write_text('require = ["driver>=535"]\n' + text, encoding="utf-8", errors="surrogatepass")
    try:
        assert isinstance(load_policy_file(path), list)
    except PolicyError:
        pass
