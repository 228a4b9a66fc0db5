"""Reading many reports: files, folders (recursively), and streams of JSON on stdin.

A file or stream may hold one JSON object, JSON lines, or pretty-printed objects one after another
(what ``srun envcheck doctor --json`` prints from many nodes). Anything that is not an envcheck
report is skipped and counted, never fatal: one broken node must not hide the other 9,999.

Every file and stream is read as every reader reads one (:mod:`envcheck.textio`: a device is refused, any BOM
or UTF-16 is decoded) and streamed a block at a time, each record parsed on its own (a record past 64 MB is
skipped), then checked against the fields the aggregate reads (:mod:`envcheck.shape`): a wrong type is a skipped
report naming the field, never a crash of the whole run.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Tuple

from ..i18n import N_, Message, message_from_data

_WS = re.compile(r"[ \t\n\r]*")
#: a file inside a folder is read when its name says JSON: x.json, x.jsonl, x.ndjson, and rpdcp's x.json.node01
_JSON_NAME = re.compile(r"json", re.I)
_SUFFIXES = re.compile(r"(\.(json|jsonl|ndjson))+$", re.I)
_KIND_SUFFIX = re.compile(r"[._-](smoke|doctor|envcheck|report)$", re.I)


@dataclass
class Record:
    """One report as read: its JSON object and where it came from."""

    data: Dict[str, Any]
    #: "reports/node01.json", "stdin", ...
    source: str
    #: position of the object in its source (0-based)
    position: int = 0
    #: the node name the source's file name suggests (used when the report carries no hostname)
    name_hint: Optional[str] = None


@dataclass
class Skipped:
    source: str
    #: why, in English (as in ``fleet --json``); a Message, worded where shown
    reason: str


def skipped(source: str, template: str, **fields: Any) -> Skipped:
    """``skipped(src, N_("no such file or folder"))``: the reason in English, and the means to translate it."""
    return Skipped(source, Message(template, **fields))


@dataclass
class LoadStats:
    read: int = 0
    skipped: List[Skipped] = field(default_factory=list)


def node_name_from_path(path: Path) -> str:
    """"reports/gpu-a01.smoke.json" -> "gpu-a01"; rpdcp's "report.json.gpu-a01" -> "gpu-a01"."""
    name = path.name
    m = re.search(r"\.json[^.]*\.(.+)$", name, re.I)
    if m:  # pdcp/rpdcp append ".HOST" to the copied file's name
        return m.group(1)
    stem = _SUFFIXES.sub("", name)
    stem = _KIND_SUFFIX.sub("", stem) or stem
    return stem or name


def title_of(finding: Dict[str, Any]) -> str:
    """A finding's title as its report recorded it: the Message rebuilt from ``messages.title``, so a reader in
    another language sees it worded without judging the snapshot again; the recorded English as it is where the
    report has no ``messages`` (an older envcheck) or they do not say that English (an edited report)."""
    from ..redact import redact_data

    english = str(finding.get("title") or "")
    messages = finding.get("messages")
    title = message_from_data(messages["title"], english) if isinstance(messages, dict) and messages.get("title") \
        is not None else None
    if not (isinstance(title, Message) and str(title) == english):
        return redact_data(english)  # another machine's words: never a credential out
    return title.mapped(redact_data)


#: why a part of a stream is skipped (the one wording, :data:`envcheck.textio.NOT_JSON`)
NOT_JSON = N_("not JSON ({error} at line {line})")


def iter_json_values(text: str) -> Iterator[Tuple[Optional[Any], Optional[str]]]:
    """Every JSON value in ``text``: (value, None), or (None, error) for a part that does not parse.

    After a bad part, reading resumes at the next line that starts with ``{`` (the start of the next
    JSON line, or of the next pretty-printed object), so one corrupt record costs one count.
    """
    for value, error in _json_values(text):
        yield value, (NOT_JSON.format(error=error[0], line=error[1]) if error is not None else None)


def _json_values(text: str) -> Iterator[Tuple[Optional[Any], Optional[Tuple[str, int]]]]:
    """:func:`iter_json_values`, with (the parser's message, line) for a part that does not parse."""
    decoder = json.JSONDecoder()
    pos, end = 0, len(text)
    while True:
        pos = _WS.match(text, pos).end()
        if pos >= end:
            return
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:  # nested a thousand deep: the parser gives up, so do we
            nxt = text.find("\n{", pos + 1)
            msg = getattr(exc, "msg", None) or "nested too deep"
            yield None, (msg, text.count("\n", 0, pos) + 1)
            if nxt < 0:
                return
            pos = nxt + 1
            continue
        yield value, None


def _files_under(folder: Path) -> List[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and _JSON_NAME.search(f):
                out.append(Path(root) / f)
    return out


#: what the aggregate reads of a report (``aggregate.snapshot_facts``, ``Aggregator.add``): checked by type, the
#: rest of a report is not read, so not checked (a full check of 10,000 reports would double fleet's time)
_SNAPSHOT_FIELDS = {"schema_version": True, "meta": ["created_at"], "system": ["hostname"],
                    "driver": ["status", "version", "kernel_module_version"],
                    "torch": ["version", "dist_version", "location", "cuda", "hip", "cudnn"], "gpus": ["name"],
                    "python": ["executable", "error"], "cudnn": {"loaded": ["version"], "torch_reported": True}}
_SHAPES: Dict[str, Any] = {}


#: what the aggregate reads of a finding, of a policy block and of a smoke report
_FINDING_FIELDS = ["code", "severity", "title", "messages"]
_SMOKE_FIELDS = {"error": True, "devices": {"index": True, "name": True, "matmul": ["dtype", "tflops", "ok", "error"]}}


def _shapes() -> Dict[str, Any]:
    if not _SHAPES:
        from ..shape import ANY, TEXT, ListOf, Nullable, Obj, finding_shape, policy_shape, report_shapes
        from ..snapshot import Snapshot
        from ..shape import shape_of

        snapshot = shape_of(Snapshot).pick(_SNAPSHOT_FIELDS)
        finding = finding_shape().pick({name: True for name in _FINDING_FIELDS})
        policy = policy_shape(finding).pick({"ok": True, "requirements": ["expr", "met"], "smoke": _SMOKE_FIELDS,
                                             "smoke_findings": True})
        _SHAPES["snapshot"] = snapshot
        _SHAPES["doctor"] = Obj({"node": ANY, "verdict": Nullable(TEXT), "findings": ListOf(finding),
                                 "snapshot": snapshot, "policy": Nullable(policy)}, required=["snapshot"])
        _SHAPES["smoke"] = report_shapes()["smoke"].pick({"schema_version": True, "smoke": _SMOKE_FIELDS,
                                                          "findings": True}).extended(findings=ListOf(finding))
    return _SHAPES


def check_record(value: Dict[str, Any], where: str) -> Optional[Skipped]:
    """None for a report the aggregate can read (or one it will skip as not a report, or of another
    schema_version, in its own words); a Skipped naming the wrong field otherwise."""
    from ..shape import kind_of
    from ..textio import InputError

    kind = kind_of(value)
    if kind is None or value.get("schema_version", 1) != 1:
        return None
    if kind == "snapshot" and not isinstance(value.get("driver"), dict):
        return None  # not a report, as the aggregate says
    shape = _shapes()[kind]
    if shape.valid(value):  # most reports: one fast pass; a wrong one is walked again to name its field
        return None
    try:
        shape.check(value, where, "")
    except InputError as exc:
        return Skipped(where, exc.reason)
    return None


class _Position:
    """Where a source is: the next object's position, and the line the next piece starts at."""

    def __init__(self) -> None:
        self.position = 0
        self.line = 1


def _records_from_text(text: str, source: str, hint: Optional[str], stats: LoadStats,
                       at: Optional[_Position] = None) -> Iterator[Record]:
    at = at if at is not None else _Position()
    for value, error in _json_values(text):
        if error is not None:
            stats.skipped.append(skipped(source, NOT_JSON, error=error[0], line=error[1] + at.line - 1))
            continue
        where = source if at.position == 0 else f"{source}#{at.position}"
        if not isinstance(value, dict):
            stats.skipped.append(skipped(f"{source}#{at.position}", N_("a JSON {type}, not a report"),
                                         type=type(value).__name__))
        else:
            bad = check_record(value, where)
            if bad is not None:
                stats.skipped.append(bad)
            else:
                stats.read += 1
                yield Record(value, source, at.position, hint)
        at.position += 1
    at.line += text.count("\n")


def _record_end(text: str, start: int = 0) -> int:
    """The end of the last complete record in ``text`` (just after the line end before a line that starts a new
    object, the previous line ending one), or -1: where a stream can be cut without cutting a report."""
    end = len(text)
    while True:
        nl = text.rfind("\n{", start, end)
        if nl < 0:
            return -1
        before = text[max(start, nl - 64):nl].rstrip(" \t\r\n")
        if before.endswith("}") or not text[start:nl].strip():
            return nl + 1
        end = nl


def _records_from_blocks(blocks: Iterable[str], source: str, hint: Optional[str],
                         stats: LoadStats) -> Iterator[Record]:
    """Records from a stream's text blocks, parsed a few records at a time (memory: one block and one record)."""
    from ..textio import MAX_BYTES

    at = _Position()
    held = ""
    dropping = False  # inside a record past MAX_BYTES: skip to the next record
    for block in blocks:
        text = held + block
        if dropping:
            cut = _record_end(text)
            if cut < 0:
                at.line += text.count("\n")
                held = ""
                continue
            at.line += text.count("\n", 0, cut)
            text, dropping = text[cut:], False
        cut = _record_end(text)
        if cut > 0:
            yield from _records_from_text(text[:cut], source, hint, stats, at)
            text = text[cut:]
        if len(text) > MAX_BYTES:
            stats.skipped.append(skipped(f"{source}#{at.position}", N_("a record larger than {size} MB"),
                                         size=MAX_BYTES // (1024 * 1024)))
            at.position += 1
            at.line += text.count("\n")
            held, dropping = "", True
            continue
        held = text
    if held and not dropping:
        yield from _records_from_text(held, source, hint, stats, at)


def _text_blocks(stream: IO[str]) -> Iterator[str]:
    while True:
        block = stream.read(1 << 20)
        if not block:
            return
        yield block


def _stdin_blocks(stream: Any) -> Iterator[str]:
    """stdin's text: its bytes decoded as a file's are (a BOM, UTF-16 from PowerShell), a device refused."""
    from ..textio import InputError, iter_blocks

    raw = getattr(stream, "buffer", None)
    if raw is None:  # a text stream (a test's StringIO): already text
        yield from _text_blocks(stream)
        return
    import stat

    try:
        mode = os.fstat(stream.fileno()).st_mode
        if stat.S_ISCHR(mode) and not stream.isatty():
            raise InputError(Message(N_("cannot read: {reason}"),
                                     reason=Message(N_("not a regular file (a device or a socket)"))), "stdin")
    except (OSError, ValueError, AttributeError):
        pass
    yield from iter_blocks(raw, "stdin")


def _file_blocks(path: Path) -> Iterator[str]:
    from ..textio import iter_blocks, open_stream

    with open_stream(path, str(path)) as fh:
        yield from iter_blocks(fh, str(path))


def _read_source(blocks: Iterator[str], source: str, hint: Optional[str], stats: LoadStats) -> Iterator[Record]:
    from ..textio import InputError

    try:
        yield from _records_from_blocks(blocks, source, hint, stats)
    except InputError as exc:  # cannot be read, a device, a line past 64 MB: this source ends here, the rest go on
        stats.skipped.append(Skipped(source, exc.reason))


def load_records(sources: Iterable[str], stdin: Optional[IO[str]] = None,
                 stats: Optional[LoadStats] = None) -> Iterator[Record]:
    """Every JSON object in the sources ("-" is stdin); unreadable parts land in ``stats.skipped``."""
    stats = stats if stats is not None else LoadStats()
    for src in sources:
        if src == "-":
            stream = stdin if stdin is not None else sys.stdin
            yield from _read_source(_stdin_blocks(stream), "stdin", None, stats)
            continue
        path = Path(src).expanduser()
        if path.is_dir():
            files = _files_under(path)
            if not files:
                stats.skipped.append(skipped(str(path), N_("no *.json files in this folder")))
        elif path.exists() or path.is_symlink():
            files = [path]
        else:
            stats.skipped.append(skipped(str(path), N_("no such file or folder")))
            continue
        for f in files:  # one at a time: only the aggregate's per-node facts stay in memory
            yield from _read_source(_file_blocks(f), str(f), node_name_from_path(f), stats)
