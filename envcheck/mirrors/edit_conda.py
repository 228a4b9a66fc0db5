"""Point conda at a mirror: the mirror's recommended layout in ~/.condarc, by a minimal text edit.

The layout (TUNA's help page, and the same shape for every mirror in ``mirrors/``)::

    show_channel_urls: true
    default_channels: [<mirror>/pkgs/main, <mirror>/pkgs/r, <mirror>/pkgs/msys2]
    custom_channels: {conda-forge: <mirror>/cloud, pytorch: <mirror>/cloud, ...}

``custom_channels`` maps a channel *name* to the *base* URL conda appends ``/<name>`` to, so each
base is the mirror's per-channel URL with its trailing ``/<name>`` dropped. ``channels`` is not
touched (conda's ``defaults`` then means the mirrored ``default_channels``); entries of
``custom_channels`` for channels the mirror does not host (a private channel) are kept.

Why a text edit and not ruamel.yaml: ruamel round-trips comments, but re-indents sequences and
mappings across the *whole* file to one style and re-flows long lines, so "every other byte stays"
would not hold, and it would be a new dependency. The edit is confined to whole top-level blocks:
a block is a ``key:`` line at column 0 plus the indented (or ``- ``) lines under it. The three keys
above are replaced or appended; comment lines inside a replaced block, and a comment after its
``key:``, are kept; every other line keeps its bytes. The result is then loaded with PyYAML and
must equal the old settings with exactly these three keys changed -- otherwise (flow-style
documents, anchors, several documents, tabs...) the file is left alone and the reason reported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..i18n import N_, Message
from ..knowledge import Mirror
from ..probes.conda import parse_condarc
from .fileio import Edit, EditRefused, decode, newline_of, read_bytes


#: a top-level mapping key at column 0: plain or quoted, then ":" and a space or the line's end
_TOP_KEY = re.compile(r"""^(?P<key>[A-Za-z_][A-Za-z0-9_.-]*|"[^"\\]*"|'[^']*')[ \t]*:(?=[ \t]|$)(?P<rest>.*)$""")
#: the value part of a key line that holds only a comment (or nothing)
_ONLY_COMMENT = re.compile(r"^[ \t]*(#.*)?$")
#: a one-line flow value (``[a, b]``, ``{a: b}``) or plain scalar followed by a comment we keep
_VALUE_COMMENT = re.compile(r"""^[ \t]*(?:\[[^\]#'"]*\]|\{[^}#'"]*\}|[^\s#'"\[{][^#'"]*?)[ \t]+(?P<comment>#.*)$""")
#: plain YAML scalars that need no quotes (URLs and channel names); anything else is JSON-quoted
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/:@%+~]*$")
_YAML_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}

KEYS = ("show_channel_urls", "default_channels", "custom_channels")


def user_condarc_path(home: Path) -> Path:
    """The file ``conda config --set`` writes by default: ``~/.condarc``."""
    return home / ".condarc"


def layout(mirror: Mirror) -> Tuple[Dict[str, Any], List[Message]]:
    """The settings a mirror recommends, and notes (worded where shown) about what it cannot cover."""
    notes: List[Message] = []
    custom: Dict[str, str] = {}
    for name, url in mirror.conda_channels.items():
        base = channel_base(name, url)
        if base is None:
            notes.append(Message(N_("{mirror}'s {channel} channel URL {url} does not end in {suffix}: not written to "
                                    "{key}"), mirror=mirror.name, channel=name, url=url, suffix="/" + name,
                                 key="custom_channels"))
            continue
        custom[name] = base
    settings: Dict[str, Any] = {"show_channel_urls": True}
    if mirror.conda_default_channels:
        settings["default_channels"] = list(mirror.conda_default_channels)
    else:
        notes.append(Message(N_("{mirror} has no mirror of conda's default channels (pkgs/main...): {key} left as "
                                "it is"), mirror=mirror.name, key="default_channels"))
    if custom:
        settings["custom_channels"] = custom
    return settings, notes


def channel_base(name: str, url: str) -> Optional[str]:
    """``https://m/anaconda/cloud/conda-forge`` -> ``https://m/anaconda/cloud`` for conda-forge."""
    trimmed = url.rstrip("/")
    suffix = "/" + name
    if trimmed.endswith(suffix) and len(trimmed) > len(suffix):
        return trimmed[: -len(suffix)]
    return None


def plan(path: Path, mirror: Mirror) -> Edit:
    """The edit of ``path`` (a .condarc) to the mirror's layout; refused (error set) when unsafe."""
    try:
        before = read_bytes(path)
    except EditRefused as exc:
        return Edit("conda", path, None, error=exc.message)
    edit = Edit("conda", path, before)
    settings, notes = layout(mirror)
    edit.notes.extend(notes)
    if "default_channels" not in settings and "custom_channels" not in settings:
        edit.error = Message(N_("{mirror} mirrors no conda channel envcheck knows of"), mirror=mirror.name)
        return edit
    try:
        edit.after, data = edited(path, before, settings, mirror.name)
    except EditRefused as exc:
        edit.error = exc.message
        return edit
    edit.notes.extend(_channel_notes(data, mirror))
    return edit


def edited(path: Path, before: Optional[bytes], settings: Dict[str, Any],
           mirror_name: str = "") -> Tuple[bytes, Dict[str, Any]]:
    """The new bytes of a .condarc with ``settings`` applied, and the old settings (a dict)."""
    text = decode(path, before) if before else ""
    data = _load(path, text)
    wanted = dict(settings)
    if "custom_channels" in wanted and isinstance(data.get("custom_channels"), dict):
        merged = {str(k): v for k, v in data["custom_channels"].items()}
        merged.update(wanted["custom_channels"])
        wanted["custom_channels"] = merged
    if before is None:
        text = f"# conda configuration written by `envcheck mirrors use {mirror_name}`".rstrip() + "\n"
    new_text = _edit_text(text, wanted, data)
    expected = dict(data)
    expected.update(wanted)
    try:
        check = _load(path, new_text)
    except EditRefused:
        check = None
    if check != expected:
        raise EditRefused(Message(N_("{path}: envcheck could not edit it without touching other settings; left "
                                     "unchanged (edit {keys} by hand)"), path=path,
                                  keys="default_channels / custom_channels"))
    return new_text.encode("utf-8"), data


def _load(path: Path, text: str) -> Dict[str, Any]:
    """The settings of a .condarc; EditRefused for one conda could not read either."""
    import yaml

    rc = parse_condarc(str(path), text)  # the conda probe's own judgement of the file
    if not rc.ok:
        raise EditRefused(Message(N_("{path}: {problem}; left unchanged"), path=path,
                                  problem=rc.error or ""))
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise EditRefused(Message(N_("{path}: {reason}; left unchanged"), path=path,
                                  reason=" ".join(str(exc).split()))) from exc
    return data if isinstance(data, dict) else {}


def _unique_key_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that refuses a key given twice (conda's own loader refuses it too)."""

        def construct_mapping(self, node, deep=False):  # type: ignore[override]
            seen = set()
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader


class _LazyLoader:
    """Builds the PyYAML loader class on first use (PyYAML is imported only when needed)."""

    _cls = None

    def __call__(self, stream):
        if _LazyLoader._cls is None:
            _LazyLoader._cls = _unique_key_loader()
        return _LazyLoader._cls(stream)


_UniqueKeyLoader = _LazyLoader()


# --------------------------------------------------------------------------- the text edit


def _blocks(lines: List[str]) -> Dict[str, Tuple[int, int]]:
    """Top-level key -> (first line, end line) of its block; trailing comments stay outside."""
    blocks: Dict[str, Tuple[int, int]] = {}
    current: Optional[str] = None
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if body[0] in " \t" or body == "-" or body.startswith("- "):
            if current is not None:
                blocks[current] = (blocks[current][0], i + 1)
            continue
        match = _TOP_KEY.match(body)
        if match is None:
            current = None  # "---", a flow mapping...: validation will refuse if it matters
            continue
        current = _unquote(match.group("key"))
        if current in blocks:
            current = None  # a repeated key: the loader refuses the file before we get here
            continue
        blocks[current] = (i, i + 1)
    return blocks


def _edit_text(text: str, wanted: Dict[str, Any], data: Optional[Dict[str, Any]] = None) -> str:
    nl = newline_of(text) if text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    blocks = _blocks(lines)
    out = list(lines)
    # replace from the bottom up so earlier indexes stay valid
    for key in sorted((k for k in wanted if k in blocks), key=lambda k: blocks[k][0], reverse=True):
        start, end = blocks[key]
        first = lines[start].rstrip("\r\n")
        rest = _TOP_KEY.match(first).group("rest")  # type: ignore[union-attr]
        block_style = bool(_ONLY_COMMENT.match(rest))
        in_place = None
        if block_style and isinstance(wanted[key], list):
            in_place = _list_in_place(lines[start + 1:end], wanted[key], nl)
        elif block_style and isinstance(wanted[key], dict):
            old = (data or {}).get(key)
            in_place = _map_in_place(lines[start + 1:end], wanted[key], old if isinstance(old, dict) else {}, nl)
        if in_place is not None:
            out[start + 1:end] = in_place
            continue
        comment = rest.strip() if block_style and rest.strip() else ""
        trailing = _VALUE_COMMENT.match(rest) if not block_style else None
        if trailing:
            comment = trailing.group("comment")
        kept = [line for line in lines[start + 1:end] if line.strip().startswith("#")]
        out[start:end] = [line + nl for line in _render(key, wanted[key], comment)] + kept
    missing = [k for k in KEYS if k in wanted and k not in blocks]
    for key in missing:
        out.extend(line + nl for line in _render(key, wanted[key]))
    return "".join(out)


_ITEM = re.compile(r"^(?P<indent>[ \t]*)-[ \t]+(?P<value>[^#\s](?:[^#]*[^#\s])?)(?P<tail>[ \t]+#.*)?$")
_ENTRY = re.compile(r"""^(?P<indent>[ \t]+)(?P<key>[A-Za-z0-9_][A-Za-z0-9_.\-]*|"[^"\\]*"|'[^']*')[ \t]*:"""
                    r"""[ \t]+(?P<value>[^#\s](?:[^#]*[^#\s])?)(?P<tail>[ \t]+#.*)?$""")


def _list_in_place(body: List[str], items: List[str], nl: str) -> Optional[List[str]]:
    """A block list's lines with its items replaced in place (comments stay where they are)."""
    rows = [i for i, line in enumerate(body) if line.strip() and not line.strip().startswith("#")]
    matches = [_ITEM.match(body[i].rstrip("\r\n")) for i in rows]
    if not rows or not all(matches):
        return None
    indent = matches[0].group("indent")  # type: ignore[union-attr]
    new = list(body)
    for n, i in enumerate(rows):
        if n < len(items):
            m = matches[n]
            value = items[n]
            same = m.group("value") == _scalar(value)  # type: ignore[union-attr]
            new[i] = body[i] if same else f"{m.group('indent')}- {_scalar(value)}{m.group('tail') or ''}" + \
                body[i][len(body[i].rstrip("\r\n")):]  # type: ignore[union-attr]
        else:
            new[i] = None  # type: ignore[call-overload]
    last = rows[-1]
    extra = [f"{indent}- {_scalar(v)}{nl}" for v in items[len(rows):]]
    result: List[str] = []
    for i, line in enumerate(new):
        if line is not None:
            result.append(line)
        if i == last:
            result.extend(extra)
    return result


def _map_in_place(body: List[str], wanted: Dict[str, Any], old: Dict[str, Any], nl: str) -> Optional[List[str]]:
    """A block mapping's lines with changed values replaced and new keys added after the last entry."""
    rows = [i for i, line in enumerate(body) if line.strip() and not line.strip().startswith("#")]
    matches = [_ENTRY.match(body[i].rstrip("\r\n")) for i in rows]
    if not rows or not all(matches):
        return None
    indent = matches[0].group("indent")  # type: ignore[union-attr]
    new = list(body)
    seen = set()
    for i, m in zip(rows, matches):
        key = _unquote(m.group("key"))  # type: ignore[union-attr]
        seen.add(key)
        if key in wanted and str(old.get(key)) != str(wanted[key]):
            ending = body[i][len(body[i].rstrip("\r\n")):]
            new[i] = f"{m.group('indent')}{m.group('key')}: {_scalar(wanted[key])}{m.group('tail') or ''}{ending}"  # type: ignore[union-attr]
    extra = [f"{indent}{_scalar(k)}: {_scalar(v)}{nl}" for k, v in wanted.items() if k not in seen]
    last = rows[-1]
    return new[:last + 1] + extra + new[last + 1:]


def _render(key: str, value: Any, comment: str = "") -> List[str]:
    after = f" {comment}" if comment else ""
    if isinstance(value, bool):
        return [f"{key}: {'true' if value else 'false'}{after}"]
    if isinstance(value, list):
        return [f"{key}:{after}"] + [f"  - {_scalar(v)}" for v in value]
    if isinstance(value, dict):
        return [f"{key}:{after}"] + [f"  {_scalar(k)}: {_scalar(v)}" for k, v in value.items()]
    return [f"{key}: {_scalar(value)}{after}"]


def _scalar(value: Any) -> str:
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_SPECIAL and not _looks_numeric(text) \
            and ": " not in text and " #" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace("_", ""))
        return True
    except ValueError:
        return False


def _unquote(key: str) -> str:
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
        return key[1:-1]
    return key


# --------------------------------------------------------------------------- advice


def _channel_notes(data: Dict[str, Any], mirror: Mirror) -> List[Message]:
    notes: List[Message] = []
    if "nvidia" not in mirror.conda_channels:
        notes.append(Message(N_("{mirror} does not mirror the nvidia channel: {option} (pytorch-cuda, cuda-* packages) "
                                "still downloads from {host}."), mirror=mirror.name, option="`-c nvidia`",
                             host="conda.anaconda.org"))
    channels = data.get("channels")
    if isinstance(channels, list):
        foreign = sorted({str(c) for c in channels if "://" in str(c)
                          and not any(h in str(c).lower() for h in mirror.hosts)})
        if foreign:
            notes.append(Message(N_("{key} also lists URLs envcheck leaves alone: {urls}"), key="channels",
                                 urls=", ".join(foreign)))
        hosted = set(mirror.conda_channels) | {"defaults", "nvidia"}
        unmirrored = sorted({str(c) for c in channels if "://" not in str(c) and str(c) not in hosted})
        if unmirrored:
            notes.append(Message(N_("{key} lists {channels}, which {mirror} does not mirror (as far as envcheck "
                                    "knows): those still download from {host}."), key="channels",
                                 channels=", ".join(unmirrored), mirror=mirror.name, host="conda.anaconda.org"))
    notes.append(Message(N_("Run {command} so conda forgets the channel index it cached from the old URLs."),
                         command="`conda clean -i`"))
    return notes
