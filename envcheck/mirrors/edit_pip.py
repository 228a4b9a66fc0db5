"""Point pip at a mirror by a minimal, line-based edit of the user's pip.conf / pip.ini.

Why not configparser's writer, or a round-trip INI library: ``RawConfigParser.write`` drops every
comment and re-spaces every key, and the round-trip INI libraries (configupdater, iniparse) would be
a new dependency for the two keys we touch. So the file is edited as text and the result is checked
with the very parser pip uses (:class:`configparser.RawConfigParser`, pip's names normalised the
way pip does): every section and key must read back exactly as before except the ones we set. If
that check fails the file is left alone and the reason reported -- never a silent damage.

What changes, and nothing else:

* ``index-url`` in ``[global]`` (added after the section's last key, or a ``[global]`` section is
  added at the end of the file). A key pip reads as index-url in the same file -- spelled
  ``index_url`` or ``pypi-url``, or sitting in ``[install]``/``[download]``/... where it would beat
  ``[global]`` -- gets the new URL in place, keeping its spelling, separator and indentation.
* ``trusted-host`` in ``[global]`` only for a plain ``http://`` index (pip refuses http hosts it does
  not trust); every known mirror is https, so usually it is not touched.

The line ending (LF or Windows CRLF) of the file is kept for the lines written. The file is the
user file pip's own ``pip config --user set`` writes: ``$XDG_CONFIG_HOME/pip/pip.conf`` (default
``~/.config/pip/pip.conf``) on Linux, ``~/Library/Application Support/pip/pip.conf`` on macOS when
that folder exists, ``%APPDATA%\\pip\\pip.ini`` on Windows -- found by the pip probe's own rules.
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ..i18n import N_, Message
from ..probes import ProbeContext
from ..probes.pip_config import INDEX_KEYS, _normalize_name, _user_dir
from .fileio import Edit, EditRefused, decode, newline_of, plan_edit


#: configparser's section header (matched against the stripped line, as configparser does)
_SECTION = re.compile(r"\[(?P<header>.+)\]")
#: configparser's option line: the name runs to the first "=" or ":"
_OPTION = re.compile(r"(?P<indent>[ \t]*)(?P<name>[^=:\s][^=:]*?)(?P<sep>[ \t]*[=:][ \t]*)(?P<value>.*)$")
_COMMENT_PREFIXES = ("#", ";")


def user_config_path(ctx: ProbeContext, platform: str = sys.platform) -> Path:
    """The user's own pip config file, as ``pip config --user`` picks it on this OS."""
    basename = "pip.ini" if platform.startswith("win") else "pip.conf"
    return _user_dir(ctx, platform) / basename


def plan(path: Path, index_url: str, mirror_name: str = "") -> Edit:
    """The edit that makes ``path`` set ``index_url``; refused (error set) when unsafe."""
    return plan_edit("pip", path, lambda before: edited(path, before, index_url, mirror_name))


def edited(path: Path, before: Optional[bytes], index_url: str, mirror_name: str = "") -> bytes:
    """The new bytes of a pip config file that sets ``index_url``."""
    if not before:
        header = f"# pip configuration written by `envcheck mirrors use {mirror_name}`".rstrip() + "\n"
        prefix = before.decode("utf-8") if before is not None else header
        text = prefix + "[global]\nindex-url = " + index_url + "\n"
        if _needs_trust(index_url):
            text += "trusted-host = " + _host(index_url) + "\n"
        return text.encode("utf-8")
    text = decode(path, before)
    original = _parse(path, text)
    new_text = _edit_text(text, index_url, original.get("global", {}).get("trusted-host"))
    check = _parse(path, new_text, edited_copy=True)
    expected = _expected(original, index_url, text)
    if check != expected:
        raise EditRefused(Message(N_("{path}: envcheck could not edit it without touching other settings; left "
                                     "unchanged (set {key} by hand)"), path=path, key="index-url"))
    return new_text.encode("utf-8")


# --------------------------------------------------------------------------- parsing


def _parse(path: Path, text: str, edited_copy: bool = False) -> Dict[str, Dict[str, str]]:
    """section -> {normalised key: value}, exactly as pip's RawConfigParser reads the text.

    ``edited_copy``: the text is envcheck's edit of ``path``, not the file itself (said so in a refusal).
    """
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        why = (N_("the edited file of {path} cannot be parsed as pip reads it ({reason}); left unchanged")
               if edited_copy else N_("{path} cannot be parsed as pip reads it ({reason}); left unchanged"))
        raise EditRefused(Message(why, path=path, reason=" ".join(str(exc).split()))) from exc
    found: Dict[str, Dict[str, str]] = {}
    for section in parser.sections():
        keys: Dict[str, str] = {}
        for name, value in parser.items(section):
            norm = _normalize_name(name)
            if norm in keys:
                raise EditRefused(Message(N_("{path}: {section} sets {key} twice under different spellings; left "
                                             "unchanged"), path=path, section=f"[{section}]", key=norm))
            keys[norm] = value
        found[section] = keys
    return found


def _expected(original: Dict[str, Dict[str, str]], index_url: str, text: str) -> Dict[str, Dict[str, str]]:
    expected = {section: dict(keys) for section, keys in original.items()}
    for keys in expected.values():
        for key in INDEX_KEYS:
            if key in keys:
                keys[key] = index_url
    glob = expected.setdefault("global", {})
    if not any(k in glob for k in INDEX_KEYS):
        glob["index-url"] = index_url
    if _needs_trust(index_url):
        hosts = glob.get("trusted-host", "").split()
        if _host(index_url) not in hosts:
            glob["trusted-host"] = _joined_hosts(glob.get("trusted-host"), _host(index_url))
    return expected


# --------------------------------------------------------------------------- the text edit


class _Line:
    """One physical line: its text without the ending, and the ending."""

    __slots__ = ("text", "end")

    def __init__(self, text: str, end: str) -> None:
        self.text, self.end = text, end


def _split(text: str) -> List[_Line]:
    lines = []
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        lines.append(_Line(body, raw[len(body):]))
    return lines


def _scan(lines: List[_Line]) -> Tuple[Dict[str, Tuple[int, int]], List[Tuple[str, str, int, int, re.Match]]]:
    """Sections (name -> header index, index after its last key) and options.

    Options are (section, normalised name, first line, end line, match); continuation lines (more
    indented than the key, possibly after blank or comment lines) belong to the option before.
    """
    sections: Dict[str, Tuple[int, int]] = {}
    options: List[Tuple[str, str, int, int, re.Match]] = []
    current: Optional[str] = None
    i = 0
    while i < len(lines):
        stripped = lines[i].text.strip()
        if not stripped or stripped.startswith(_COMMENT_PREFIXES):
            i += 1
            continue
        header = _SECTION.match(stripped)
        if header:
            current = header.group("header")
            sections.setdefault(current, (i, i + 1))
            i += 1
            continue
        match = _OPTION.match(lines[i].text)
        if match is None or current is None:
            i += 1
            continue
        indent = len(match.group("indent"))
        end = i + 1
        j = i + 1
        while j < len(lines):
            body = lines[j].text
            s = body.strip()
            if not s or s.startswith(_COMMENT_PREFIXES):
                j += 1
                continue
            if len(body) - len(body.lstrip()) > indent:
                end = j + 1
                j += 1
                continue
            break
        options.append((current, _normalize_name(match.group("name").strip()), i, end, match))
        start_header, _ = sections[current]
        sections[current] = (start_header, end)
        i = end
    return sections, options


def _edit_text(text: str, index_url: str, trusted_now: Optional[str] = None) -> str:
    nl = newline_of(text)
    lines = _split(text)
    if lines and not lines[-1].end:
        lines[-1].end = nl
    sections, options = _scan(lines)
    replace: Dict[int, Tuple[int, str]] = {}  # first line -> (end line, new text)
    for section, name, start, end, match in options:
        if name in INDEX_KEYS:
            replace[start] = (end, _option_text(match, index_url))
    glob_has_index = any(sec == "global" and name in INDEX_KEYS for sec, name, *_ in options)
    inserts: Dict[int, List[str]] = {}  # insert before this line index
    appended: List[str] = []
    new_global: List[str] = []
    if not glob_has_index:
        new_global.append(_new_option(options, "index-url", index_url))
    if _needs_trust(index_url):
        trusted = [(start, end, match) for sec, name, start, end, match in options
                   if sec == "global" and name == "trusted-host"]
        if trusted:
            start, end, match = trusted[-1]
            if _host(index_url) not in (trusted_now or "").split():
                replace[start] = (end, _option_text(match, _joined_hosts(trusted_now, _host(index_url))))
        else:
            new_global.append(_new_option(options, "trusted-host", _host(index_url)))
    if new_global:
        if "global" in sections:
            inserts.setdefault(sections["global"][1], []).extend(new_global)
        else:
            appended = ["[global]"] + new_global
    out: List[str] = []
    i = 0
    while i <= len(lines):
        for extra in inserts.get(i, []):
            out.append(extra + nl)
        if i == len(lines):
            break
        if i in replace:
            end, new = replace[i]
            out.append(new + (lines[i].end or nl))
            # keep comment and blank lines that sat among the old value's continuation lines
            out.extend(line.text + line.end for line in lines[i + 1:end] if _is_comment_or_blank(line.text))
            i = end
            continue
        out.append(lines[i].text + lines[i].end)
        i += 1
    if appended:
        if out and out[-1].strip():
            out.append(nl)
        out.extend(line + nl for line in appended)
    return "".join(out)


def _is_comment_or_blank(text: str) -> bool:
    s = text.strip()
    return not s or s.startswith(_COMMENT_PREFIXES)


def _option_text(match: re.Match, value: str) -> str:
    return f"{match.group('indent')}{match.group('name')}{match.group('sep')}{value}"


def _new_option(options: List[Tuple[str, str, int, int, re.Match]], name: str, value: str) -> str:
    """A new key line in the file's own style (indentation and separator of its first key)."""
    for sec, _n, _s, _e, match in options:
        if sec == "global":
            return f"{match.group('indent')}{name}{match.group('sep')}{value}"
    if options:
        match = options[0][4]
        return f"{match.group('indent')}{name}{match.group('sep')}{value}"
    return f"{name} = {value}"


def _needs_trust(url: str) -> bool:
    return urlsplit(url).scheme.lower() == "http"


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _joined_hosts(existing: Optional[str], host: str) -> str:
    hosts = (existing or "").split()
    return " ".join(hosts + [host]) if hosts else host
