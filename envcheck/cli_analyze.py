"""`envcheck analyze`: command registration (kept apart so the main CLI module stays thin)."""

from __future__ import annotations

import sys
from typing import List, Optional, Tuple

import typer

#: an input larger than this is refused: it is not a paste, and parsing it would take a while
MAX_INPUT_BYTES = 32 * 1024 * 1024


def decode(data: bytes) -> str:
    """Text of a pasted file: UTF-16 when it has a BOM (PowerShell's `>`), else UTF-8 with replacement."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def read_inputs(files: List[str]) -> List[Tuple[str, str]]:
    """(name, text) of every input: files, or stdin for "-" and when no file is given."""
    from .cli import UsageProblem

    names = files or ["-"]
    out: List[Tuple[str, str]] = []
    for name in names:
        if name == "-":
            stream = getattr(sys.stdin, "buffer", None)
            try:
                data = stream.read(MAX_INPUT_BYTES + 1) if stream is not None else \
                    sys.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8", errors="replace")
            except (OSError, ValueError) as exc:
                raise UsageProblem(f"cannot read standard input: {exc}") from exc
            label = "<stdin>"
        else:
            try:
                with open(name, "rb") as fh:
                    data = fh.read(MAX_INPUT_BYTES + 1)
            except IsADirectoryError as exc:
                raise UsageProblem(f"cannot read {name}: it is a directory") from exc
            except OSError as exc:
                raise UsageProblem(f"cannot read {name}: {exc.strerror or exc}") from exc
            label = name
        if len(data) > MAX_INPUT_BYTES:
            raise UsageProblem(f"{label} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB: "
                               "paste only the relevant output")
        out.append((label, decode(data)))
    return out


def register(app: typer.Typer) -> None:
    """Add the `analyze` command(s) to the main app."""

    @app.command()
    def analyze(
        files: Optional[List[str]] = typer.Argument(
            None, metavar="[FILE]...",
            help="Pasted outputs to read (nvidia-smi, collect_env, pip/conda lists, nvcc -V, logs); "
                 "'-' or none: standard input."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        markdown: bool = typer.Option(False, "--markdown", help="Print Markdown for a GitHub issue."),
        strict: bool = typer.Option(False, "--strict", help="Exit 1 when there are warnings (and no errors)."),
        facts: bool = typer.Option(True, "--facts/--no-facts", help="Show the facts after the findings."),
    ) -> None:
        """Diagnose from pasted text: the findings doctor would give, with the lines they rest on."""
        from .cli import UsageProblem, _stdout_console

        if as_json and markdown:
            raise UsageProblem("choose one of --json and --markdown")
        if (not files or "-" in files) and _stdin_is_terminal():
            typer.echo("envcheck analyze: reading standard input (end with Ctrl-D)", err=True)
        inputs = read_inputs(list(files or []))

        from .analyze import Input, analyze as run_analyze
        from .findings import exit_code
        from .knowledge import Knowledge
        from .render.report import Report

        result = run_analyze([Input(name, text) for name, text in inputs], Knowledge())
        report = Report(result.snapshot, result.findings)
        if as_json:
            import json

            from .render.report import report_data

            data = report_data(report)
            data["analyze"] = {"inputs": [name for name, _ in inputs], "blocks": result.blocks_summary(),
                               "notes": result.notes, "parse_s": round(result.parse_s, 4)}
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        elif markdown:
            from .render.markdown import render_markdown

            text = render_markdown(report, title="envcheck analyze")
            sys.stdout.write(text + _markdown_inputs(result))
        else:
            from .render.terminal import render_terminal

            console = _stdout_console()
            render_terminal(report, console, show_facts=facts, title="envcheck analyze")
            _terminal_inputs(console, result)
        raise typer.Exit(exit_code(result.findings, strict=strict))


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


_KIND_NAMES = {
    "smi-table": "nvidia-smi table", "smi-q": "nvidia-smi -q", "smi-xml": "nvidia-smi -q -x",
    "smi-csv": "nvidia-smi --query-gpu CSV", "nvcc": "nvcc -V", "collect-env": "collect_env",
    "pip-list": "pip list", "pip-freeze": "pip freeze", "conda-list": "conda list", "conda-info": "conda info",
    "conda-config": "conda config / .condarc",
}


def _read_lines(result) -> List[str]:
    lines = []
    for block in result.blocks_summary():
        first, last = block["lines"]
        lines.append(f"{block['input']} lines {first}-{last}: {_KIND_NAMES.get(block['kind'], block['kind'])}")
    return lines


def _terminal_inputs(console, result) -> None:
    from rich.text import Text

    read = _read_lines(result)
    console.print(Text("Read", style="bold"))
    for line in read or ["no known output recognised; only error messages were searched for"]:
        console.print(Text("  " + line))
    for note in result.notes:
        console.print(Text("  note: " + note, style="dim"))
    console.print()


def _markdown_inputs(result) -> str:
    read = _read_lines(result) or ["no known output recognised; only error messages were searched for"]
    lines = ["<details><summary>What was read</summary>", ""]
    lines += [f"- {line}" for line in read]
    lines += [f"- note: {note}" for note in result.notes]
    lines += ["", "</details>", ""]
    return "\n".join(lines)
