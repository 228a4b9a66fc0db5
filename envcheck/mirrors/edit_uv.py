"""Point uv at a mirror: its default index in the user's uv.toml, by a minimal text edit.

uv reads no pip.conf and no PIP_INDEX_URL (docs.astral.sh/uv/pip/compatibility); its own default
index comes from, highest first: ``--default-index``/``--index-url``, ``UV_DEFAULT_INDEX`` (or the
deprecated ``UV_INDEX_URL``), then the merged config files -- the project's ``uv.toml`` or
``pyproject.toml [tool.uv]`` (cwd or nearest parent), the user's ``uv.toml``, the system's
(docs.astral.sh/uv/concepts/configuration-files). In a file the default index is an
``[[index]]`` entry with ``default = true`` (the pip-style top-level ``index-url`` still works);
``[pip] index-url`` applies to ``uv pip`` commands only, and beats the others there.

The user file is ``$XDG_CONFIG_HOME/uv/uv.toml`` (default ``~/.config/uv/uv.toml``) on Linux and
macOS, ``%APPDATA%\\uv\\uv.toml`` on Windows (docs.astral.sh/uv/reference/storage).

The edit, and nothing else: the ``url`` of an existing ``[[index]]`` with ``default = true``, an
existing top-level ``index-url``, and an existing ``[pip] index-url`` get the mirror's URL in
place (quotes style and trailing comment kept); when the file has no default index at all, an
``[[index]] url = ... default = true`` table is appended at the end. Why a text edit: tomllib only
reads, and tomlkit (which round-trips) would be a new dependency for one key. The result is read
back with tomllib and must equal the old settings with exactly those values changed, otherwise
the file is left alone and the reason reported.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..i18n import N_, Message
from ..probes import ProbeContext
from .fileio import Edit, EditRefused, decode, newline_of, plan_edit


_TABLE = re.compile(r"^[ \t]*\[(?P<array>\[)?[ \t]*(?P<name>[^\[\]]+?)[ \t]*\]\]?[ \t]*(#.*)?$")
_KEY_VALUE = re.compile(r"""^(?P<lead>[ \t]*(?P<key>[A-Za-z0-9_-]+|"[^"]*")[ \t]*=[ \t]*)"""
                        r"""(?P<value>"(?:[^"\\\n]|\\.)*"|'[^'\n]*')(?P<tail>[ \t]*(#.*)?)$""")


def user_config_path(ctx: ProbeContext, platform: str = sys.platform) -> Path:
    """The user-level uv.toml on this OS."""
    if platform.startswith("win"):
        appdata = ctx.env.get("APPDATA")
        base = Path(appdata) if appdata else ctx.home_dir() / "AppData" / "Roaming"
        return base / "uv" / "uv.toml"
    xdg = ctx.env.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg) if xdg else ctx.home_dir() / ".config") / "uv" / "uv.toml"


def load_toml_text(path: Path, text: str) -> Dict[str, Any]:
    """A uv.toml's settings; EditRefused for a file uv could not read either."""
    from ..knowledge import parse_toml

    try:
        return parse_toml(text)
    except ValueError as exc:
        raise EditRefused(Message(N_("{path}: not valid TOML ({reason}); left unchanged"), path=path,
                                  reason=str(exc))) from exc


def plan(path: Path, index_url: str, mirror_name: str = "") -> Edit:
    """The edit that makes ``path`` set ``index_url``; refused (error set) when unsafe."""
    return plan_edit("uv", path, lambda before: edited(path, before, index_url, mirror_name))


def edited(path: Path, before: Optional[bytes], index_url: str, mirror_name: str = "") -> bytes:
    text = decode(path, before) if before else ""
    data = load_toml_text(path, text)
    if before is None:
        text = f"# uv configuration written by `envcheck mirrors use {mirror_name}`".rstrip() + "\n"
    new_text, expected = _edit(path, text, data, index_url)
    check = None
    try:
        check = load_toml_text(path, new_text)
    except EditRefused:
        pass
    if check != expected:
        raise EditRefused(Message(N_("{path}: envcheck could not edit it without touching other settings; left "
                                     "unchanged (set the default {key} by hand)"), path=path, key="[[index]]"))
    return new_text.encode("utf-8")


def _edit(path: Path, text: str, data: Dict[str, Any], url: str) -> Tuple[str, Dict[str, Any]]:
    expected = copy.deepcopy(data)
    nl = newline_of(text) if text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    indexes = data.get("index")
    if indexes is not None and not isinstance(indexes, list):
        raise EditRefused(Message(N_("{path}: {key} is not a list of tables; left unchanged"), path=path,
                                  key="`index`"))
    defaults = [i for i, entry in enumerate(indexes or []) if isinstance(entry, dict) and entry.get("default") is True]
    pip_table = data.get("pip") if isinstance(data.get("pip"), dict) else {}
    targets: List[Tuple[Optional[str], int, str]] = []  # (table, occurrence of [[index]], key)
    for i in defaults:
        targets.append(("[[index]]", i, "url"))
        expected["index"][i]["url"] = url
    if "index-url" in data:
        targets.append((None, 0, "index-url"))
        expected["index-url"] = url
    if "index-url" in pip_table:
        targets.append(("pip", 0, "index-url"))
        expected["pip"]["index-url"] = url
    out = list(lines)
    for table, occurrence, key in targets:
        row = _find_key(lines, table, occurrence, key)
        if row is None:
            raise EditRefused(Message(N_("{path}: the {key} to change is not on a line of its own (inline table or "
                                         "multi-line value); left unchanged"), path=path, key=key))
        match = _KEY_VALUE.match(lines[row].rstrip("\r\n"))
        assert match is not None
        ending = lines[row][len(lines[row].rstrip("\r\n")):]
        out[row] = f"{match.group('lead')}{json.dumps(url)}{match.group('tail')}{ending}"
    if not defaults and "index-url" not in data:
        if indexes is not None and not _has_array_header(lines):
            raise EditRefused(Message(N_("{path}: {key} is written inline; left unchanged (add the default index by "
                                         "hand)"), path=path, key="`index`"))
        if out and out[-1].strip() and not out[-1].lstrip().startswith("#"):
            out.append(nl)
        out.extend(line + nl for line in ("[[index]]", f"url = {json.dumps(url)}", "default = true"))
        expected.setdefault("index", []).append({"url": url, "default": True})
    return "".join(out), expected


def _find_key(lines: List[str], table: Optional[str], occurrence: int, key: str) -> Optional[int]:
    """The line of ``key`` in the top level (table None), in ``[pip]``, or in the n-th ``[[index]]``."""
    current: Optional[str] = None
    seen_index = -1
    for row, line in enumerate(lines):
        body = line.rstrip("\r\n")
        header = _TABLE.match(body)
        if header and not _KEY_VALUE.match(body):
            name = header.group("name").strip()
            if header.group("array"):
                current = "[[" + name + "]]"
                if name == "index":
                    seen_index += 1
            else:
                current = name
            continue
        match = _KEY_VALUE.match(body)
        if match is None or match.group("key").strip('"') != key:
            continue
        if table is None and current is None:
            return row
        if table == "pip" and current == "pip":
            return row
        if table == "[[index]]" and current == "[[index]]" and seen_index == occurrence:
            return row
    return None


def _has_array_header(lines: List[str]) -> bool:
    return any(re.match(r"^[ \t]*\[\[[ \t]*index[ \t]*\]\]", line) for line in lines)


def effective_index(data: Dict[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """(default index, which key set it) of one uv config table; (None, None) when it sets none."""
    for entry in data.get("index") or []:
        if isinstance(entry, dict) and entry.get("default") is True and entry.get("url"):
            return str(entry["url"]), "[[index]] default = true"
    if data.get("index-url"):
        return str(data["index-url"]), "index-url"
    return None, None
