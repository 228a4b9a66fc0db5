"""Which messages the catalogue must hold: every literal passed to ``_()`` / ``N_()`` in the package,
the docstrings of the CLI's commands (their ``--help`` text),
and the human-readable text of the data files that envcheck prints (mirror titles and notes,
known-defect descriptions and fixes, the titles, details and fix steps of the error signatures
``envcheck analyze`` reports, NVIDIA's Xid meanings).

Standard library only (``ast``), so the tests and ``python -m envcheck.i18n.compile --update`` share
one extractor. Message ids are the English text; see :mod:`envcheck.i18n`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from . import one_line

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ROOT_DIR = PACKAGE_DIR.parent
#: call names whose first argument is a message id
KEYWORDS = ("_", "N_")


@dataclass
class Message:
    msgid: str
    #: where it is used: "envcheck/rules/driver.py", "mirrors/tuna.toml"
    locations: List[str] = field(default_factory=list)


@dataclass
class Problem:
    """A call that cannot be extracted: an f-string or a computed string passed to ``_()``."""

    location: str
    line: int
    text: str


def _is_keyword_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in KEYWORDS
    return isinstance(func, ast.Attribute) and func.attr == "_"


def _is_command(node: ast.AST) -> bool:
    """A function decorated ``@app.command(...)`` / ``@app.callback(...)``: typer shows its docstring as help."""
    return isinstance(node, ast.FunctionDef) and any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("command", "callback")
        for d in node.decorator_list)


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT_DIR).as_posix()
    except ValueError:
        return path.as_posix()


def source_messages(package_dir: Path = PACKAGE_DIR) -> Tuple[List[Message], List[Problem]]:
    """Literal message ids in the package's Python files, in file and line order."""
    found: Dict[str, Message] = {}
    problems: List[Problem] = []
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = _relative(path)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            problems.append(Problem(rel, exc.lineno or 0, f"cannot parse: {exc.msg}"))
            continue
        nodes = sorted((n for n in ast.walk(tree) if (isinstance(n, ast.Call) and _is_keyword_call(n) and n.args)
                        or _is_command(n)), key=lambda n: (n.lineno, n.col_offset))
        for node in nodes:
            if not isinstance(node, ast.Call):  # a command's docstring is its --help text
                text = ast.get_docstring(node, clean=True)
                if text:
                    msg = found.setdefault(text, Message(text))
                    if rel not in msg.locations:
                        msg.locations.append(rel)
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                msg = found.setdefault(arg.value, Message(arg.value))
                if rel not in msg.locations:
                    msg.locations.append(rel)
            elif isinstance(arg, (ast.JoinedStr, ast.BinOp)):
                problems.append(Problem(rel, node.lineno, "an f-string or a sum of strings passed to _(): give the "
                                        "template to _() and fill its {fields} with .format() after translating"))
    return list(found.values()), problems


def data_messages(knowledge=None) -> List[Message]:
    """The printed text of the data files: mirror titles and notes, known defects and their fixes, and the
    findings of the error-signature catalogue (titles, details, fix steps: prose whole, of a command only
    its comment and ``<placeholders>``)."""
    from ..analyze.signatures import CATALOGUE, load_catalogue, printed_messages
    from ..knowledge import DATA_DIR, Knowledge

    knowledge = knowledge or Knowledge()
    found: Dict[str, Message] = {}

    def add(text: Optional[str], where: str) -> None:
        text = one_line(text or "")
        if text:
            msg = found.setdefault(text, Message(text))
            if where not in msg.locations:
                msg.locations.append(where)

    mirror_dir = knowledge.mirror_dir
    for m in sorted(knowledge.mirrors(), key=lambda m: m.name):
        where = _relative(Path(mirror_dir) / f"{m.name}.toml")
        add(m.title, where)
        add(m.notes, where)
    for entry in knowledge.known_bad():
        where = _relative(Path(DATA_DIR) / "known_bad.toml")
        add(entry.defect, where)
        add(entry.fix, where)
    where = _relative(CATALOGUE)
    for text in printed_messages(load_catalogue(CATALOGUE)):
        add(text, where)
    where = _relative(Path(DATA_DIR) / "xid.toml")
    for event in knowledge.xid_events():  # NVIDIA's name for each Xid, shown in the gpu-xid finding's title
        add(event.meaning, where)
    return list(found.values())


def all_messages(knowledge=None) -> Tuple[List[Message], List[Problem]]:
    """Source messages first, then data messages not already among them."""
    messages, problems = source_messages()
    seen = {m.msgid: m for m in messages}
    for m in data_messages(knowledge):
        if m.msgid in seen:
            seen[m.msgid].locations.extend(loc for loc in m.locations if loc not in seen[m.msgid].locations)
        else:
            messages.append(m)
            seen[m.msgid] = m
    return messages, problems


def iter_msgids(knowledge=None) -> Iterator[str]:
    for m in all_messages(knowledge)[0]:
        yield m.msgid
