"""`envcheck analyze`: command registration (kept apart so the main CLI module stays thin)."""

from __future__ import annotations

import errno
import sys
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import typer

from .common import err, out
from ..findings import ExitCode
from ..i18n import N_, Gettext, Message, english, text_in

if TYPE_CHECKING:
    from ..analyze import Input

#: an input is read whole up to this; a longer one (a training log of days) is read as its first HEAD_BYTES and its
#: last MAX_INPUT_BYTES - HEAD_BYTES (where the crash is), the middle counted and said, never held in memory
MAX_INPUT_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 16 * 1024 * 1024


#: the operating system's reasons for a failed read, as envcheck says them in another language
#: (English keeps the system's own wording, ``strerror``)
_OS_REASONS = {errno.ENOENT: N_("No such file or directory"), errno.EACCES: N_("Permission denied"),
               errno.EPERM: N_("Operation not permitted"), errno.ENOTDIR: N_("Not a directory"),
               errno.EIO: N_("Input/output error")}


def _reason(exc: OSError, _: Gettext) -> str:
    """Why reading failed: the system's message, or its translation when there is one."""
    said = str(exc.strerror or exc)
    message = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    translated = _(message) if message else message
    return translated if message and translated != message else said


def read_inputs(files: List[str], _: Gettext = english) -> Tuple[List["Input"], List[Message]]:
    """Every input (files, or stdin for "-" and when no file is given) and a note for each one read in part."""
    from .common import UsageProblem
    from ..analyze import Input
    from ..textio import read_excerpt

    names = files or ["-"]
    inputs: List[Input] = []
    notes: List[Message] = []
    for name in names:
        if name == "-":
            label = "<stdin>"
            stream = getattr(sys.stdin, "buffer", None)
            read = stream.read if stream is not None else \
                (lambda size: sys.stdin.read(size).encode("utf-8", errors="replace"))
            try:
                excerpt = read_excerpt(read, MAX_INPUT_BYTES, HEAD_BYTES)
            except (OSError, ValueError) as exc:
                raise UsageProblem(_("cannot read standard input: {reason}").format(
                    reason=_reason(exc, _) if isinstance(exc, OSError) else exc)) from exc
        else:
            label = name
            try:
                with open(name, "rb") as fh:
                    excerpt = read_excerpt(fh.read, MAX_INPUT_BYTES, HEAD_BYTES)
            except IsADirectoryError as exc:
                raise UsageProblem(_("cannot read {path}: it is a directory").format(path=name)) from exc
            except OSError as exc:
                raise UsageProblem(_("cannot read {path}: {reason}").format(path=name, reason=_reason(exc, _))) from exc
        inputs.append(Input(label, excerpt.head))
        if excerpt.tail:
            inputs.append(Input(label, excerpt.tail, first_line=excerpt.tail_line))
            notes.append(Message(N_("{input}: too long to read whole, read as its first {head} MiB and its last {tail} "
                                    "MiB; lines {first}-{last} ({skipped} MiB) between them were skipped"),
                                 input=label, head=_mib(HEAD_BYTES), tail=_mib(MAX_INPUT_BYTES - HEAD_BYTES),
                                 first=excerpt.tail_line - excerpt.skipped_lines + 1, last=excerpt.tail_line,
                                 skipped=_mib(excerpt.skipped_bytes)))
    return inputs, notes


def _mib(size: int) -> str:
    return f"{size / 2 ** 20:.1f}".rstrip("0").rstrip(".")


def register(app: typer.Typer) -> None:
    """Add the `analyze` command(s) to the main app."""

    @app.command()
    def analyze(
        ctx: typer.Context,
        files: Optional[List[str]] = typer.Argument(
            None, metavar="[FILE]...",
            help=N_("Pasted outputs to read (nvidia-smi, collect_env, pip/conda lists, nvcc -V, logs); "
                 "'-' or none: standard input.")),
        as_json: bool = typer.Option(False, "--json", help=N_("Print the report as JSON.")),
        jsonl: bool = typer.Option(False, "--jsonl", help=N_("Print the report as JSON on one line, written at once "
                                                            "(many nodes can append to one file).")),
        markdown: bool = typer.Option(False, "--markdown", help=N_("Print Markdown for a GitHub issue.")),
        strict: bool = typer.Option(False, "--strict", help=N_("Exit 1 when there are warnings (and no errors).")),
        facts: bool = typer.Option(True, "--facts/--no-facts", help=N_("Show the facts after the findings.")),
    ) -> None:
        """Diagnose from pasted text: the findings doctor would give, with the lines they rest on."""
        from .common import gettext_of as _gettext, stdout_console as _stdout_console

        _ = _gettext(ctx)  # messages on stderr: in the chosen language, --json or not
        from .common import one_form
        one_form(("--json", as_json), ("--jsonl", jsonl), ("--markdown", markdown))
        as_json, jsonl = as_json or jsonl, jsonl  # --jsonl: the same report, on one line
        if (not files or "-" in files) and _stdin_is_terminal():
            err(_("envcheck analyze: reading standard input (end with Ctrl-D)"))
        inputs, read_notes = read_inputs(list(files or []), _)
        report_gettext = _gettext(ctx, as_json)  # the report's language: JSON is English

        from ..analyze import analyze as run_analyze
        from ..findings import exit_code
        from ..knowledge import Knowledge
        from ..render.report import Report

        result = run_analyze(inputs, Knowledge())
        result.notes[:0] = read_notes
        report = Report(result.snapshot, result.findings)
        if not result.recognised:
            _nothing_recognised(inputs, result, as_json, markdown, _gettext(ctx))
            raise typer.Exit(ExitCode.NOTHING_RECOGNISED)
        if as_json:
            import json

            from ..render.report import report_data

            data = report_data(report)
            from ..redact import redact_data

            data["analyze"] = {"inputs": _names(inputs), "blocks": result.blocks_summary(),
                               "notes": redact_data([str(n) for n in result.notes]), "parse_s": round(result.parse_s, 4)}
            if jsonl:
                from .common import write_line
                write_line(json.dumps(data, separators=(",", ":"), ensure_ascii=True))
            else:
                sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        elif markdown:
            from ..render.markdown import render_markdown

            text = render_markdown(report, title="envcheck analyze", _=report_gettext)
            out(text + _markdown_inputs(result, report_gettext))
        else:
            from ..render.terminal import render_terminal

            console = _stdout_console()
            render_terminal(report, console, show_facts=facts, title="envcheck analyze",
                            _=report_gettext)
            _terminal_inputs(console, result, report_gettext)
        raise typer.Exit(exit_code(result.findings, strict=strict))


#: what to paste when nothing was recognised
_WHAT_TO_PASTE = N_("Paste the output of `python -m torch.utils.collect_env` and of `nvidia-smi`, or the whole "
                    "error with its traceback (`envcheck analyze log.txt`, or pipe it in).")


def _describe(name: str, text: str) -> Message:
    """What one input was, in a few words: empty, binary, or how many lines."""
    if not text.strip():
        return Message(N_("{name}: empty"), name=name)
    controls = sum(1 for c in text[:4096] if c == "\ufffd" or (ord(c) < 32 and c not in "\t\r\n\f"))
    if controls > len(text[:4096]) // 10:
        return Message(N_("{name}: binary data, not text"), name=name)
    return Message(N_("{name}: {lines} line(s), no known output or error message in them"), name=name,
                   lines=len(text.splitlines()))


def _names(inputs) -> List[str]:
    """Each input's name once (a file read in part is two inputs, its head and its tail)."""
    return list(dict.fromkeys(item.name for item in inputs))


def _nothing_recognised(inputs, result, as_json: bool, markdown: bool, _: Gettext) -> None:
    """No verdict: say what was read and what to paste (never "sound", which nothing here supports)."""
    read = [_describe(item.name, item.text) for item in inputs if not item.first_line]
    if as_json:
        import json

        data = {"verdict": None, "analyze": {"recognised": False, "inputs": _names(inputs),
                                             "read": [str(m) for m in read], "hint": str(Message(_WHAT_TO_PASTE))}}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    head = _("envcheck analyze: nothing recognised, no verdict")
    lines = [text_in(m, _) for m in read] + [_(_WHAT_TO_PASTE)]
    if markdown:
        out("### " + head + "\n\n" + "".join(f"- {line}\n" for line in lines))
    else:
        out(head + "\n" + "".join(f"  {line}\n" for line in lines))


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


#: what each block kind is, as the "Read" section names it (commands stay as they are; the two
#: descriptions are translated where shown)
_KIND_NAMES = {
    "smi-table": N_("nvidia-smi table"), "smi-q": "nvidia-smi -q", "smi-xml": "nvidia-smi -q -x",
    "smi-csv": N_("nvidia-smi --query-gpu CSV"), "nvcc": "nvcc -V", "collect-env": "collect_env",
    "pip-list": "pip list", "pip-freeze": "pip freeze", "conda-list": "conda list", "conda-info": "conda info",
    "conda-config": "conda config / .condarc",
    "env-report": N_("environment report (vllm, sglang, transformers, accelerate, ds_report)"),
    "conda-plan": N_("conda transaction plan"), "pip-log": N_("pip / uv transcript"), "pip-show": "pip show",
    "smi-list": "nvidia-smi -L", "ldd": "ldd", "env-vars": N_("environment variables"),
    "torch-print": N_("printed torch facts"), "install-cmd": N_("install command"), "facts": N_("facts stated in the text"),
}
_PROSE_KINDS = ("smi-table", "smi-csv", "env-report", "conda-plan", "pip-log", "env-vars", "torch-print", "install-cmd",
                "facts")
_NOTHING_READ = N_("no known output recognised; only error messages were searched for")


def _kind_name(kind: str, _: Gettext) -> str:
    name = _KIND_NAMES.get(kind, kind)
    return _(name) if kind in _PROSE_KINDS else name


#: blocks of one kind in one input listed one by one up to this many; more are one line (a long log repeats them)
_LISTED = 3


def _read_lines(result, _: Gettext = english) -> List[str]:
    blocks = result.blocks_summary()
    counts: Dict[Tuple[str, str], List[Tuple[int, int]]] = {}
    for block in blocks:
        counts.setdefault((block["input"], block["kind"]), []).append(tuple(block["lines"]))
    lines = []
    for block in blocks:
        key = (block["input"], block["kind"])
        spans = counts[key]
        kind = _kind_name(block["kind"], _)
        if len(spans) <= _LISTED:
            first, last = block["lines"]
            lines.append(_("{input} lines {first}-{last}: {kind}").format(
                input=block["input"], first=first, last=last, kind=kind))
        elif tuple(block["lines"]) == spans[0]:  # the first of many: one line for all of them
            lines.append(_("{input}: {kind} {count} times, lines {first}-{last}").format(
                input=block["input"], kind=kind, count=len(spans), first=spans[0][0], last=spans[-1][1]))
    return lines


def _note_lines(result, _: Gettext) -> List[str]:
    from ..i18n import text_in

    from ..redact import redact_data

    return [_("note: {note}").format(note=redact_data(text_in(note, _))) for note in result.notes]


def _terminal_inputs(console, result, _: Gettext = english) -> None:
    from rich.text import Text

    read = _read_lines(result, _)
    console.print(Text(_("Read"), style="bold"))
    for line in read or [_(_NOTHING_READ)]:
        console.print(Text("  " + line))
    for line in _note_lines(result, _):
        console.print(Text("  " + line, style="dim"))
    console.print()


def _markdown_inputs(result, _: Gettext = english) -> str:
    read = _read_lines(result, _) or [_(_NOTHING_READ)]
    lines = ["<details><summary>" + _("What was read") + "</summary>", ""]
    lines += [f"- {line}" for line in read]
    lines += [f"- {line}" for line in _note_lines(result, _)]
    lines += ["", "</details>", ""]
    return "\n".join(lines)
