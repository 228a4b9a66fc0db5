"""`envcheck mcp` (issue 17, requirement 11): driven end to end by the MCP SDK's own client over stdio, its
answers held against the command line's own `--json`; the tools' command lines; and the command without the
optional SDK (a clear line, exit 3, no traceback; nothing else ever imports the SDK)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.mcp_server.tools import ALLOWED_OPTIONS, ToolInputError, analyze_args, doctor_args, explain_data, \
    install_cmd_args, options_of, smoke_args
from envcheck.rules.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
#: a real public paste (tests/fixtures/analyze/README.md): torch's "driver too old" warning beside nvidia-smi 470
PASTE = (ROOT / "tests" / "fixtures" / "analyze" / "log-driver-too-old-11040-smi-470.txt").read_text(encoding="utf-8")
#: install-cmd's flags as the test passes them to the tool and to the command line
INSTALL = {"os": "linux", "arch": "x86_64", "python": "3.12", "driver": "550.54.14", "gpu": ["RTX 4090"],
           "with_packages": ["torchaudio"], "mirror": "tuna"}
INSTALL_FLAGS = ["--os", "linux", "--arch", "x86_64", "--python", "3.12", "--driver", "550.54.14", "--gpu", "RTX 4090",
                 "--with", "torchaudio", "--mirror", "tuna"]
TOOLS = {"doctor", "analyze", "install-cmd", "smoke", "explain"}
#: a password in the server's environment: no answer may carry it (doctor shows the proxy redacted)
SECRET = "mcp-secret-5f1c9e"


def _env(home: Path) -> dict:
    """The same environment for the server and for the command line it is compared with: an empty HOME (so a
    file written anywhere under it shows), this checkout first on the path, no GPU settings."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "PYTHONPATH": str(ROOT),
            "LANG": "C.UTF-8", "NO_COLOR": "1", "HTTPS_PROXY": f"http://proxyuser:{SECRET}@proxy.example:3128"}


def _cli(args, env: dict, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envcheck", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


# --- the tools' command lines (no SDK needed) ---------------------------------------------------------------------

def test_install_cmd_arguments_become_its_flags_each_value_one_token():
    args = install_cmd_args(os="linux", gpu=["RTX 4090", "A100"], with_packages=["torchaudio"], keep_torch=False,
                            no_gpu=False, cuda="12.6")
    assert args == ["install-cmd", "--os=linux", "--gpu=RTX 4090", "--gpu=A100", "--cuda=12.6", "--with=torchaudio",
                    "--replace-torch", "--json"]
    # a value that looks like an option stays the value of its own flag (click then refuses it as an OS)
    assert install_cmd_args(os="--from=/etc/passwd") == ["install-cmd", "--os=--from=/etc/passwd", "--json"]
    with pytest.raises(ToolInputError, match="--driver"):
        install_cmd_args(driver="550\n--save=x")


def test_no_tool_can_reach_an_option_that_writes_or_reads_a_file():
    every = [doctor_args("/usr/bin/python3", True, 5), analyze_args(), smoke_args("python3", [0, 1], True, 30),
             install_cmd_args(os="linux", arch="aarch64", python="3.11", driver="535", no_gpu=True, gpu=["x"],
                              compute_capability=["8.0"], cuda="cpu", torch="2.14.1", manager=["uv"], mirror="tuna",
                              with_packages=["xformers"], keep_torch=True, timeout=3)]
    for args in every:
        assert args[-1] == "--json"
        assert set(options_of(args)) <= ALLOWED_OPTIONS[args[0]], args
        assert not {"--save", "--from", "--format", "--policy", "--require"} & set(options_of(args))
    assert doctor_args(fast=True) == ["doctor", "--fast", "--json"]


def test_explain_is_the_catalogue_entry_and_suggests_near_codes():
    assert explain_data("Driver-Too-Old") == {"code": "driver-too-old", "severity": CODES["driver-too-old"].severity,
                                              "section": "driver", "summary": CODES["driver-too-old"].summary}
    with pytest.raises(ToolInputError, match="did you mean driver-too-old"):
        explain_data("driver-to-old")


# --- without the SDK ------------------------------------------------------------------------------------------------

#: runs `envcheck mcp` with the SDK made unimportable, as on a machine without the extra
_NO_SDK = """
import sys
class NoSDK:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in ("mcp", "mcp_types"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoSDK)
sys.argv = ["envcheck", "mcp"]
from envcheck.cli.entry import main
main()
"""


def test_without_the_extra_envcheck_mcp_says_what_to_install(tmp_path):
    done = subprocess.run([sys.executable, "-c", _NO_SDK], capture_output=True, text=True, env=_env(tmp_path),
                          timeout=60)
    assert done.returncode == 3
    assert done.stderr == ("envcheck: envcheck mcp needs the MCP SDK (Python 3.10 or newer): pip install "
                           "'torch-envcheck[mcp]'\n")
    assert done.stdout == ""


def test_an_sdk_of_the_wrong_major_version_is_named_not_a_traceback(tmp_path):
    fake = tmp_path / "old" / "mcp"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('"""mcp 1.x: no mcp.server.mcpserver"""\n', encoding="utf-8")
    env = _env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(fake.parent), str(ROOT)])
    done = _cli(["mcp"], env)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "envcheck mcp needs mcp 2.0 or newer" in done.stderr and "pip install -U 'torch-envcheck[mcp]'" in done.stderr


def test_nothing_but_envcheck_mcp_imports_the_sdk(tmp_path):
    code = ("import sys, envcheck, envcheck.cli.app, envcheck.cli.mcp, envcheck.mcp_server.tools\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types', 'pydantic')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- end to end, with the SDK's own client --------------------------------------------------------------------------

def _serve_and_call(home: Path, cwd: Path) -> dict:
    """Start `envcheck mcp` as an MCP host would (stdio_client + ClientSession), list the tools and call them."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "envcheck", "mcp"], env=_env(home), cwd=cwd)
    out: dict = {}

    async def session() -> None:
        with anyio.fail_after(60):
            async with stdio_client(params) as (read, write):
                async with ClientSession(read, write) as client:
                    out["init"] = await client.initialize()
                    out["tools"] = (await client.list_tools()).tools
                    out["install"] = await client.call_tool("install-cmd", INSTALL)
                    out["analyze"] = await client.call_tool("analyze", {"text": PASTE})
                    out["doctor"] = await client.call_tool("doctor", {"fast": True})
                    out["explain"] = await client.call_tool("explain", {"code": "torch-cpu-only"})
                    out["unknown"] = await client.call_tool("explain", {"code": "driver-to-old"})
                    out["refused"] = await client.call_tool("install-cmd", {"os": "--from=/etc/passwd"})
                    out["nothing"] = await client.call_tool("analyze", {"text": "hello\nworld\n"})

    anyio.run(session)
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    pytest.importorskip("mcp.server.mcpserver", reason="the MCP SDK (torch-envcheck[mcp], mcp>=2) is not installed")
    home, cwd = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("cwd")
    return _serve_and_call(home, cwd), home, cwd


def _json(result) -> dict:
    assert not result.is_error, result.content
    (content,) = result.content
    data = json.loads(content.text)
    assert result.structured_content == data  # the same object, structured, for clients that read that
    return data


def test_the_server_lists_five_read_only_tools(served):
    out, _home, _cwd = served
    assert out["init"].server_info.name == "envcheck"
    tools = {tool.name: tool for tool in out["tools"]}
    assert set(tools) == TOOLS
    assert all(tool.annotations.read_only_hint and not tool.annotations.destructive_hint for tool in tools.values())
    assert {"os", "arch", "python", "driver", "gpu", "cuda", "torch", "mirror", "with_packages"} <= \
        set(tools["install-cmd"].input_schema["properties"])
    assert tools["analyze"].input_schema["required"] == ["text"]


def test_install_cmd_answers_exactly_what_the_command_line_prints(served, tmp_path):
    out, _home, _cwd = served
    cli = _cli(["install-cmd", *INSTALL_FLAGS, "--json"], _env(tmp_path))  # another empty HOME, the same facts
    assert cli.returncode == 0, cli.stderr
    assert out["install"].content[0].text == cli.stdout  # byte for byte
    plan = _json(out["install"])
    assert plan["torch"] and plan["packages"]["torchaudio"] and any("tuna" in c["command"] for c in plan["commands"])
    assert out["install"].meta == {"envcheck/exit_code": 0}


def test_analyze_answers_the_report_the_command_line_gives_for_the_same_paste(served, tmp_path):
    out, _home, _cwd = served
    cli = _cli(["analyze", "--json"], _env(tmp_path), stdin=PASTE)
    assert cli.returncode == 2, cli.stderr  # an error found: exit 2, and still an answer, not a tool error
    mine, theirs = _json(out["analyze"]), json.loads(cli.stdout)
    for report in (mine, theirs):  # when it ran and how long it took: the only differences
        report["analyze"].pop("parse_s"), report["snapshot"]["meta"].pop("created_at")
        report["snapshot"]["meta"].pop("duration_s")
    assert mine == theirs
    assert "driver-too-old" in {f["code"] for f in mine["findings"]} and mine["verdict"] == "broken"
    assert out["analyze"].meta == {"envcheck/exit_code": 2}


def test_doctor_answers_a_report_that_validates_against_the_schema(served):
    import jsonschema

    out, _home, _cwd = served
    report = _json(out["doctor"])
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["verdict"] in ("sound", "degraded", "broken") and report["snapshot"]["meta"]["fast"] is True


def test_explain_and_the_refusals(served):
    out, _home, _cwd = served
    assert _json(out["explain"]) == explain_data("torch-cpu-only")
    assert out["unknown"].is_error and "did you mean driver-too-old" in out["unknown"].content[0].text
    # a usage problem is the tool's error, in the command line's words; nothing ran with --from
    assert out["refused"].is_error and "--os '--from=/etc/passwd': choose linux, windows or macos" in \
        out["refused"].content[0].text
    nothing = _json(out["nothing"])  # nothing recognised: the command line's own "no verdict" answer
    assert nothing["verdict"] is None and nothing["analyze"]["recognised"] is False


def test_no_answer_carries_a_secret_from_the_environment(served):
    out, _home, _cwd = served
    assert _json(out["doctor"])["snapshot"]["env"]["HTTPS_PROXY"] == "http://***@proxy.example:3128"  # seen
    for name, result in out.items():
        if name not in ("init", "tools"):
            assert SECRET not in json.dumps(result.model_dump(mode="json")), name


def test_no_tool_wrote_a_file(served):
    _out, home, cwd = served
    assert list(home.iterdir()) == [] and list(cwd.iterdir()) == []
