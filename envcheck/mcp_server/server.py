"""The MCP server itself (the official ``mcp`` SDK, 2.x, over stdio): five read-only tools whose answer is
the JSON text the command line prints with ``--json``, byte for byte, plus the same object as structured
content and the command's exit code in ``_meta``.

Imported only by ``envcheck mcp``, never by ``import envcheck`` or any other command: the SDK (and the
pydantic it brings) is the optional extra ``torch-envcheck[mcp]``.
"""

from __future__ import annotations

import json
import threading
from typing import List, Optional

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from .. import __version__
from .tools import CliRunner, ToolInputError, analyze_args, doctor_args, explain_data, install_cmd_args, smoke_args

#: every tool only reads: it changes nothing on the machine and may be called again at will
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

INSTRUCTIONS = ("envcheck diagnoses PyTorch/CUDA environments. Use doctor for this machine's report, analyze for "
                "text a user pasted (nvidia-smi, collect_env, pip/conda lists, error logs), install_cmd for the "
                "pip/uv/conda commands that install a matching torch, smoke for a GPU matmul test, and explain "
                "for what a finding code means. Every answer is the JSON of the envcheck command line's --json; "
                "no tool changes anything.")


def _answer(run, args: List[str], stdin: Optional[str] = None) -> CallToolResult:
    """Run the command line; its JSON as the answer, or its reason as the tool's error."""
    done = run(args, stdin)
    try:
        data = json.loads(done.stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ToolError(done.error or f"envcheck {args[0]} printed no JSON report (exit {done.code})")
    return CallToolResult(content=[TextContent(type="text", text=done.stdout)], structured_content=data,
                          _meta={"envcheck/exit_code": done.code})


def _checked(build, *args, **kwargs) -> List[str]:
    try:
        return build(*args, **kwargs)
    except ToolInputError as exc:
        raise ToolError(str(exc)) from exc


def build_server(run: CliRunner) -> MCPServer:
    """The server with its five tools; ``run`` is the command line (``cli/mcp.py`` hands it in). Runs are one
    at a time: each captures the process's standard output."""
    lock = threading.Lock()

    def one_at_a_time(args: List[str], stdin: Optional[str] = None):
        with lock:
            return run(args, stdin)

    server = MCPServer(name="envcheck", title="envcheck", version=__version__, instructions=INSTRUCTIONS,
                       log_level="WARNING")  # stderr is the host's log: a refused call is the client's news, not ours

    @server.tool(name="doctor", annotations=READ_ONLY, structured_output=False)
    def doctor(python: Optional[str] = None, fast: bool = False, timeout: Optional[float] = None) -> CallToolResult:
        """Inspect this machine (driver, GPUs, CUDA toolkits, cuDNN, torch and its packages, pip, conda) and
        return `envcheck doctor --json`: the snapshot, the findings (code, severity, title, detail, fix) and
        the verdict. python: judge this interpreter or env prefix instead of the active one; fast: skip the
        live check that imports torch; timeout: per-command timeout in seconds (default 10)."""
        return _answer(one_at_a_time, _checked(doctor_args, python, fast, timeout))

    @server.tool(name="analyze", annotations=READ_ONLY, structured_output=False)
    def analyze(text: str) -> CallToolResult:
        """Diagnose from pasted text (nvidia-smi, python -m torch.utils.collect_env, pip list / conda list,
        nvcc -V, error logs and tracebacks) and return `envcheck analyze --json`: the findings doctor would
        give, with the lines they rest on. When nothing is recognised the answer has "verdict": null and a
        hint of what to paste."""
        if not text.strip():
            raise ToolError("text: paste the output or error to analyze")
        return _answer(one_at_a_time, analyze_args(), text)

    @server.tool(name="install-cmd", annotations=READ_ONLY, structured_output=False)
    def install_cmd(os: Optional[str] = None, arch: Optional[str] = None, python: Optional[str] = None,
                    driver: Optional[str] = None, no_gpu: bool = False, gpu: Optional[List[str]] = None,
                    compute_capability: Optional[List[str]] = None, cuda: Optional[str] = None,
                    torch: Optional[str] = None, manager: Optional[List[str]] = None, mirror: Optional[str] = None,
                    with_packages: Optional[List[str]] = None, keep_torch: Optional[bool] = None,
                    timeout: Optional[float] = None) -> CallToolResult:
        """The pip / uv / conda commands that install a torch matching this machine, or the constraints given,
        as `envcheck install-cmd --json` (the plan: pins, indexes, commands and why). Arguments are the
        command's flags: os (linux|windows|macos), arch (x86_64, aarch64), python (X.Y, or an interpreter
        to probe), driver (e.g. 535.104.05), no_gpu, gpu (names, e.g. "RTX 4090"), compute_capability (X.Y),
        cuda (X.Y or cpu), torch (keep this version), manager (pip|uv|conda), mirror (tuna, aliyun, ...),
        with_packages (the --with flag: torchaudio, xformers, torchao, torchcodec, no-torchvision),
        keep_torch (keep / replace an installed torch). Facts not given are probed on this machine. Nothing
        is installed: the commands are returned, not run."""
        return _answer(one_at_a_time, _checked(
            install_cmd_args, os=os, arch=arch, python=python, driver=driver, no_gpu=no_gpu, gpu=gpu,
            compute_capability=compute_capability, cuda=cuda, torch=torch, manager=manager, mirror=mirror,
            with_packages=with_packages, keep_torch=keep_torch, timeout=timeout))

    @server.tool(name="smoke", annotations=READ_ONLY, structured_output=False)
    def smoke(python: Optional[str] = None, device: Optional[List[int]] = None, no_multi: bool = False,
              timeout: Optional[float] = None) -> CallToolResult:
        """Run a matmul (fp32/tf32/fp16/bf16) and bandwidth test on every GPU with the target's torch, held
        against the GPU's expected rate, and return `envcheck smoke --json`. python: the interpreter whose
        torch runs it; device: only these CUDA devices; no_multi: skip the peer-access and NCCL test;
        timeout: limit for the whole test in seconds (default 120). Without a GPU it says so (smoke-skipped)."""
        return _answer(one_at_a_time, _checked(smoke_args, python, device, no_multi, timeout))

    @server.tool(name="explain", annotations=READ_ONLY, structured_output=False)
    def explain(code: str) -> CallToolResult:
        """What a finding code (e.g. driver-too-old, torch-cpu-only) means: its entry in envcheck's catalogue
        of finding codes (code, usual severity, section, summary). Codes are stable; doctor, analyze and smoke
        report them."""
        try:
            data = explain_data(code)
        except ToolInputError as exc:
            raise ToolError(str(exc)) from exc
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, indent=2) + "\n")],
                              structured_content=data)

    return server


def serve(run: CliRunner) -> None:
    """Serve over stdio until the client closes the connection."""
    build_server(run).run("stdio")
