"""pip's configuration as pip itself would load it, with the file each setting came from.

Mirrors pip's own loader (``pip/_internal/configuration.py`` and ``cli/parser.py``, pip 23-25):

* Files, lowest precedence first: global (each ``$XDG_CONFIG_DIRS/pip/pip.conf``, default
  ``/etc/xdg``, then ``/etc/pip.conf``; macOS ``/Library/Application Support/pip``; Windows
  ``C:\\ProgramData\\pip\\pip.ini``), user (legacy ``~/.pip/pip.conf`` then
  ``$XDG_CONFIG_HOME/pip/pip.conf``; macOS ``~/Library/Application Support/pip`` when that folder
  exists; Windows ``%APPDATA%\\pip\\pip.ini``), site (``<prefix>/pip.conf``), then
  ``$PIP_CONFIG_FILE``. An existing ``$PIP_CONFIG_FILE`` makes pip skip the user files;
  ``PIP_CONFIG_FILE=os.devnull`` skips every file. ``PIP_*`` variables override all files.
* Keys merge as ``section.key`` across files (a later file replaces a key, an empty value then
  hides it). For ``pip install`` the sections apply in the order ``[global]``, ``[install]``,
  environment: a ``[install]`` key in *any* file beats a ``[global]`` key in any file.
* ``extra-index-url``, ``find-links`` and ``trusted-host`` are split on whitespace, and the last
  value set wins whole: pip does not merge them across files or sections.

Files are parsed with :class:`configparser.RawConfigParser` like pip does, so an inline ``#``
comment stays part of a value exactly as pip sees it. Paths envcheck names itself (``/etc/...``)
are looked up under ``ctx.root``; paths taken from the environment are used as given.
"""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..i18n import N_, Message, quoted
from ..knowledge import Knowledge
from ..redact import MASK, is_secret_name, redact_url
from ..snapshot import BrokenConfigFile, PipConfig, PipSetting
from . import ProbeContext

#: what ``pip install`` uses when nothing is configured (pip's ``PyPI.simple_url``)
DEFAULT_INDEX_URL = "https://pypi.org/simple"
#: pip's "append" options that a config value fills as a whitespace-separated list
LIST_KEYS = ("extra-index-url", "find-links", "trusted-host")
#: option names pip maps onto ``--index-url`` (``--pypi-url`` is its old alias)
INDEX_KEYS = ("index-url", "pypi-url")
#: PIP_* variables pip itself ignores, plus the one that names a file rather than an option
_ENV_IGNORED = ("version", "help", "config-file")
#: how pip orders its sources, lowest precedence first
_OVERRIDE_ORDER = ("global", "user", "site", "env", "env-var")
_MAX_FILE_BYTES = 1 << 20


def probe(ctx: ProbeContext, target_prefix: Optional[str], knowledge: Knowledge,
          platform: str = sys.platform) -> PipConfig:
    """Every pip setting in precedence order, and what ``pip install`` resolves from them.

    ``platform`` (a ``sys.platform`` value) picks the file locations; tests pass "win32"/"darwin".
    """
    config = PipConfig()
    layers: Dict[str, Dict[str, Tuple[str, str]]] = {kind: {} for kind in _OVERRIDE_ORDER}
    for kind, path in config_files(ctx, target_prefix, platform):
        parsed = _read_config(path)
        if parsed is None:
            continue
        config.files.append(str(path))
        items, error, broken = parsed
        if error:
            config.errors.append(Message(N_("{path}: {problem}"), path=str(path), problem=error))
        if broken is not None:
            config.broken.append(broken)
        for key, value in items:
            layers[kind][key] = (value, str(path))
            config.settings.extend(_settings(key, value, str(path), knowledge))
    for name, key, value in _env_settings(ctx.env):
        layers["env-var"][key] = (value, name)
        config.settings.extend(_settings(key, value, name, knowledge))
    index_url, extra, find_links = resolve_install_options(_merge(layers))
    config.index_url = index_url or DEFAULT_INDEX_URL
    config.extra_index_urls = extra
    config.find_links = find_links
    return config


def config_files(ctx: ProbeContext, target_prefix: Optional[str],
                 platform: str = sys.platform) -> List[Tuple[str, Path]]:
    """(kind, path) of every file pip would try, lowest precedence first; existence not checked."""
    windows = platform.startswith("win")
    basename = "pip.ini" if windows else "pip.conf"
    env_file = ctx.env.get("PIP_CONFIG_FILE")
    if env_file is not None and env_file == (os.devnull if not windows else "nul"):
        return []
    files: List[Tuple[str, Path]] = [("global", d / basename) for d in _global_dirs(ctx, platform)]
    if not (env_file and _exists(Path(env_file))):
        files.append(("user", ctx.home_dir() / ("pip" if windows else ".pip") / basename))
        files.append(("user", _user_dir(ctx, platform) / basename))
    if target_prefix:
        files.append(("site", Path(target_prefix) / basename))
    if env_file:
        files.append(("env", Path(env_file)))
    return files


def resolve_install_options(merged: Dict[str, Tuple[str, str]]) -> Tuple[Optional[str], List[str], List[str]]:
    """index-url, extra-index-urls and find-links as ``pip install`` reads them from merged keys.

    ``merged`` maps ``section.key`` to (value, origin) in pip's insertion order. Sections apply in
    the order global, install, environment; empty values are skipped; the last value wins whole.
    """
    index_url: Optional[str] = None
    extra: List[str] = []
    find_links: List[str] = []
    for section in ("global", "install", ":env:"):
        for full_key, (value, _origin) in merged.items():
            sect, _, key = full_key.partition(".")
            if sect != section or not value:
                continue
            if key in INDEX_KEYS:
                index_url = value
            elif key == "extra-index-url":
                extra = value.split()
            elif key == "find-links":
                find_links = value.split()
    return index_url, extra, find_links


# --------------------------------------------------------------------------- file locations


def _global_dirs(ctx: ProbeContext, platform: str) -> List[Path]:
    if platform.startswith("win"):
        program_data = ctx.env.get("PROGRAMDATA") or ctx.env.get("ALLUSERSPROFILE")
        return [Path(program_data) / "pip" if program_data else ctx.path("C:/ProgramData") / "pip"]
    if platform == "darwin":
        return [ctx.path("/Library/Application Support/pip")]
    xdg_dirs = ctx.env.get("XDG_CONFIG_DIRS", "")
    if xdg_dirs.strip():
        dirs = [Path(os.path.expanduser(d)) / "pip" for d in xdg_dirs.split(os.pathsep) if d]
    else:
        dirs = [ctx.path("/etc/xdg") / "pip"]
    return dirs + [ctx.path("/etc")]


def _user_dir(ctx: ProbeContext, platform: str) -> Path:
    home = ctx.home_dir()
    if platform.startswith("win"):
        appdata = ctx.env.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / "pip"
    if platform == "darwin":
        app_support = home / "Library" / "Application Support" / "pip"
        try:
            use_app_support = app_support.is_dir()
        except OSError:
            use_app_support = False
        return app_support if use_app_support else home / ".config" / "pip"
    xdg_home = ctx.env.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg_home) if xdg_home else home / ".config") / "pip"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


# --------------------------------------------------------------------------- reading


_ConfigRead = Tuple[List[Tuple[str, str]], Optional[Message], Optional[BrokenConfigFile]]


def _read_config(path: Path) -> Optional[_ConfigRead]:
    """Normalised (``section.key``, value) pairs of one file, an error and the broken-file fact; None when absent.

    An unparsable file is returned with no items and the reason: pip refuses to run
    ("Configuration file could not be loaded") until it is fixed. An unreadable one pip skips
    silently (configparser's ``read`` ignores an OSError), so its settings do not apply.
    """
    if not _exists(path):
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_FILE_BYTES)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return [], Message(N_("cannot be read ({reason})"), reason=reason), BrokenConfigFile(
            path=str(path), reason=Message(N_("cannot be read ({reason})"), reason=reason), refused=False)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return [], Message(N_("contains bytes that are not UTF-8")), BrokenConfigFile(
            path=str(path), line=line, reason=Message(N_("contains bytes that are not UTF-8")))
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        # configparser's own words, which quote the line it met: credentials hidden
        reason = quoted(redact_url(" ".join(str(exc).split())))
        return [], reason, BrokenConfigFile(path=str(path), line=_error_line(exc), reason=reason)
    items = []
    for section in parser.sections():
        for name, value in parser.items(section):
            items.append((f"{section}.{_normalize_name(name)}", value))
    return items, None, None


def _error_line(exc: configparser.Error) -> Optional[int]:
    """The 1-based line configparser names: ``lineno`` (duplicates, no section header) or its first parsing error."""
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    for entry in getattr(exc, "errors", None) or []:
        if isinstance(entry, tuple) and entry and isinstance(entry[0], int):
            return entry[0]
    return None


def _env_settings(env: Dict[str, str]) -> List[Tuple[str, str, str]]:
    """(variable, ``:env:.key``, value) for every PIP_* variable pip turns into an option."""
    found = []
    for name in sorted(env):
        if not name.startswith("PIP_"):
            continue
        key = _normalize_name(name[4:])
        if key in _ENV_IGNORED:
            continue
        found.append((name, f":env:.{key}", env[name]))
    return found


def _normalize_name(name: str) -> str:
    """pip's key normalisation: lower case, dashes, no leading ``--``."""
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def _settings(key: str, value: str, origin: str, knowledge: Knowledge) -> List[PipSetting]:
    """One PipSetting per value; list options are split the way pip splits them.

    A secret-named option (``PIP_ACCESS_TOKEN``, a plugin's ``password``) is kept masked: which options are
    set is a fact, their value is not envcheck's to show. URL credentials are hidden where shown.
    """
    option = key.partition(".")[2]
    if is_secret_name(option):
        return [PipSetting(key=key, value=MASK, origin=origin, mirror=None)]
    values = value.split() if option in LIST_KEYS and value.strip() else [value]
    return [PipSetting(key=key, value=v, origin=origin, mirror=knowledge.recognise_mirror(v))
            for v in values]


def _merge(layers: Dict[str, Dict[str, Tuple[str, str]]]) -> Dict[str, Tuple[str, str]]:
    merged: Dict[str, Tuple[str, str]] = {}
    for kind in _OVERRIDE_ORDER:
        merged.update(layers[kind])
    return merged
