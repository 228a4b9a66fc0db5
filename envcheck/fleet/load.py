"""Reading many reports: files, folders (recursively), and streams of JSON on stdin.

A file or stream may hold one JSON object, JSON lines, or pretty-printed objects one after another
(what ``srun envcheck doctor --json`` prints from many nodes). Anything that is not an envcheck
report is skipped and counted, never fatal: one broken node must not hide the other 9,999.
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


#: why a part of a stream is skipped
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
        except ValueError as exc:
            nxt = text.find("\n{", pos + 1)
            yield None, (exc.msg, text.count("\n", 0, pos) + 1)
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


def _records_from_text(text: str, source: str, hint: Optional[str], stats: LoadStats) -> Iterator[Record]:
    position = 0
    for value, error in _json_values(text):
        if error is not None:
            stats.skipped.append(skipped(source, NOT_JSON, error=error[0], line=error[1]))
            continue
        if not isinstance(value, dict):
            stats.skipped.append(skipped(f"{source}#{position}", N_("a JSON {type}, not a report"),
                                         type=type(value).__name__))
        else:
            stats.read += 1
            yield Record(value, source, position, hint)
        position += 1


def load_records(sources: Iterable[str], stdin: Optional[IO[str]] = None,
                 stats: Optional[LoadStats] = None) -> Iterator[Record]:
    """Every JSON object in the sources ("-" is stdin); unreadable parts land in ``stats.skipped``."""
    stats = stats if stats is not None else LoadStats()
    for src in sources:
        if src == "-":
            stream = stdin if stdin is not None else sys.stdin
            yield from _records_from_text(stream.read(), "stdin", None, stats)
            continue
        path = Path(src).expanduser()
        if path.is_dir():
            files = _files_under(path)
            if not files:
                stats.skipped.append(skipped(str(path), N_("no *.json files in this folder")))
        elif path.exists():
            files = [path]
        else:
            stats.skipped.append(skipped(str(path), N_("no such file or folder")))
            continue
        for f in files:
            try:
                with open(f, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError as exc:
                stats.skipped.append(skipped(str(f), N_("cannot read: {reason}"), reason=exc.strerror or str(exc)))
                continue
            yield from _records_from_text(text, str(f), node_name_from_path(f), stats)
