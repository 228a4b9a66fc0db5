"""`envcheck mirrors status`: which index / channels pip, conda and uv use now, from where, and problems.

pip and conda are read by doctor's own probes (:mod:`envcheck.probes.pip_config`,
:mod:`envcheck.probes.conda`), so status and doctor can never disagree; uv has no probe, so its
files are found here by uv's documented rules (see :mod:`.edit_uv`).

Problems are plain data (:class:`Problem`: a stable kebab-case ``key``, the tool, a severity and a
message) so that doctor can turn them into findings later; they are *not* in the rules catalogue.
Every sentence here is a :class:`~envcheck.i18n.Message` (its English in JSON), worded by
:mod:`.render` in the reader's language.

=============================  =====================================================================
key                            meaning
=============================  =====================================================================
pip-config-unreadable          a pip config file pip cannot parse (pip refuses to run)
pip-env-overrides              PIP_INDEX_URL hides the index-url of a config file
pip-wheel-layout               a find-links wheel folder used as an index (``--index-url``)
pip-http-untrusted             a plain-http index whose host is not in trusted-host
condarc-unreadable             a .condarc conda cannot read
conda-channel-abroad           a configured channel is not mirrored while others are
conda-nvidia-abroad            channels are mirrored but ``-c nvidia`` still goes to conda.anaconda.org
conda-defaults-abroad          custom channels are mirrored but ``defaults`` is not
conda-mirror-lacks-channel     a channel is sent to a mirror that does not host it
conda-mixed-defaults           default_channels merged from several files point at several hosts
uv-config-unreadable           a uv config file uv cannot parse
uv-ignores-pip-conf            pip uses a mirror but uv, which reads no pip.conf, still uses PyPI
uv-deprecated-variable         UV_INDEX_URL (deprecated) instead of UV_DEFAULT_INDEX
=============================  =====================================================================
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ..i18n import N_, Message, joined, quoted
from ..knowledge import Knowledge, Mirror
from ..probes import ProbeContext
from ..probes import conda as conda_probe
from ..probes import pip_config
from ..redact import redact_data
from . import edit_conda, edit_uv, edit_pip
from .fileio import EditRefused, decode, read_bytes


#: what conda uses when nothing is configured
CONDA_ALIAS = "https://conda.anaconda.org"
UV_DEFAULT = "https://pypi.org/simple"
#: the origin of a setting nobody configured (kept in English in the data; translated where shown)
DEFAULT_ORIGINS = (N_("pip's default"), N_("uv's default (PyPI)"), N_("conda's default"))


@dataclass
class Problem:
    key: str
    #: pip | conda | uv
    tool: str
    #: a Message (its English in JSON), worded where shown
    message: str
    #: warning | info
    severity: str = "warning"


@dataclass
class Setting:
    """One configured value, where it came from, and the mirror it belongs to."""

    value: str
    #: a file path, a variable name, or "<tool>'s default"
    origin: str
    mirror: Optional[str] = None


@dataclass
class ConfigFile:
    path: str
    #: pip: global | user | site | env ; uv: project | user | system | UV_CONFIG_FILE ; conda: condarc
    scope: str = ""
    ok: bool = True
    error: Optional[str] = None
    #: uv only: the refusal as worded where shown, path included (``error`` is its English without the
    #: path); pip's and conda's ``error`` is itself a Message. Not in JSON.
    problem: Any = field(default=None, repr=False, compare=False)


@dataclass
class PipStatus:
    index: Setting
    extra_index_urls: List[Setting] = field(default_factory=list)
    find_links: List[Setting] = field(default_factory=list)
    files: List[ConfigFile] = field(default_factory=list)
    #: the file `mirrors use --pip` edits
    user_file: str = ""


@dataclass
class CondaStatus:
    executable: Optional[str] = None
    files: List[ConfigFile] = field(default_factory=list)
    channels: List[Setting] = field(default_factory=list)
    default_channels: List[Setting] = field(default_factory=list)
    custom_channels: Dict[str, Setting] = field(default_factory=dict)
    channel_alias: Optional[Setting] = None
    #: every mirror the conda settings point at
    mirrors: List[str] = field(default_factory=list)
    user_file: str = ""


@dataclass
class UvStatus:
    index: Setting
    #: ``[pip] index-url``: what ``uv pip`` commands use instead, when set
    pip_index: Optional[Setting] = None
    files: List[ConfigFile] = field(default_factory=list)
    user_file: str = ""


@dataclass
class MirrorStatus:
    pip: PipStatus
    conda: CondaStatus
    uv: UvStatus
    problems: List[Problem] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        for tool in ("pip", "conda", "uv"):
            for entry in data[tool]["files"]:
                entry.pop("problem", None)  # the English ``error`` is what JSON holds
        return redact_data(data)


def collect(ctx: ProbeContext, knowledge: Knowledge, platform: str = sys.platform,
            cwd: Optional[Path] = None) -> MirrorStatus:
    """Everything status shows; reads files only, runs nothing. Problem messages are Messages."""
    pip = pip_status(ctx, knowledge, platform)
    conda = conda_status(ctx, knowledge)
    uv = uv_status(ctx, knowledge, platform, cwd or Path(os.getcwd()))
    status = MirrorStatus(pip, conda, uv)
    status.problems = pip_problems(ctx, pip, knowledge) + conda_problems(conda, knowledge) \
        + uv_problems(ctx, uv, pip)
    return status


# --------------------------------------------------------------------------- pip


def _site_prefix(ctx: ProbeContext) -> Optional[str]:
    """The active environment whose ``pip.conf`` pip reads as its site file."""
    return ctx.env.get("VIRTUAL_ENV") or ctx.env.get("CONDA_PREFIX") or None


def pip_status(ctx: ProbeContext, knowledge: Knowledge, platform: str = sys.platform) -> PipStatus:
    prefix = _site_prefix(ctx)
    config = pip_config.probe(ctx, prefix, knowledge, platform)
    origin = None
    for section in ("global", "install", ":env:"):
        for s in config.settings:
            sect, _, key = s.key.partition(".")
            if sect == section and key in pip_config.INDEX_KEYS and s.value:
                origin = s.origin
    index = Setting(config.index_url or pip_config.DEFAULT_INDEX_URL, origin or "pip's default",
                    knowledge.recognise_mirror(config.index_url))
    status = PipStatus(index=index, user_file=str(edit_pip.user_config_path(ctx, platform)))
    status.extra_index_urls = [_setting_for(config, u, ("extra-index-url",), knowledge) for u in config.extra_index_urls]
    status.find_links = [_setting_for(config, u, ("find-links",), knowledge) for u in config.find_links]
    problems = {str(e.fields["path"]): e.fields["problem"] for e in config.errors if isinstance(e, Message)}
    kinds = {str(p): kind for kind, p in pip_config.config_files(ctx, prefix, platform)}
    for path in config.files:
        problem = problems.get(path)
        status.files.append(ConfigFile(path, kinds.get(path, ""), ok=problem is None, error=problem))
    return status


def _setting_for(config, value: str, keys: Tuple[str, ...], knowledge: Knowledge) -> Setting:
    origin = ""
    for s in config.settings:
        if s.key.partition(".")[2] in keys and s.value == value:
            origin = s.origin
    return Setting(value, origin, knowledge.recognise_mirror(value))


def pip_problems(ctx: ProbeContext, pip: PipStatus, knowledge: Knowledge) -> List[Problem]:
    problems: List[Problem] = []
    for f in pip.files:
        if not f.ok:
            problems.append(Problem("pip-config-unreadable", "pip",
                                    Message(N_("{path}: {error}. pip refuses to run until it is fixed; envcheck will "
                                               "not edit it."), path=f.path, error=_problem(f))))
    env_index = ctx.env.get("PIP_INDEX_URL")
    if env_index and pip.index.origin == "PIP_INDEX_URL":
        hidden = [f.path for f in pip.files if f.ok and _file_sets_index(Path(f.path))]
        if hidden:
            problems.append(Problem("pip-env-overrides", "pip",
                                    Message(N_("{setting} overrides the index-url of {files}"),
                                            setting=f"PIP_INDEX_URL={env_index}", files=", ".join(hidden)),
                                    "info"))
    for setting in [pip.index] + pip.extra_index_urls:
        mirror = knowledge.mirror(setting.mirror) if setting.mirror else None
        if mirror and mirror.torch_wheels and mirror.torch_wheels_layout == "find-links" \
                and setting.value.startswith(mirror.torch_wheels):
            problems.append(Problem("pip-wheel-layout", "pip",
                                    Message(N_("{url} ({origin}) is a plain folder of wheels, not an index: use it "
                                               "with `pip install -f` (find-links), not as an index URL."),
                                            url=setting.value, origin=setting.origin)))
    if urlsplit(pip.index.value).scheme == "http":
        host = urlsplit(pip.index.value).hostname or ""
        trusted = ctx.env.get("PIP_TRUSTED_HOST", "").split()
        for f in pip.files:
            trusted += _file_values(Path(f.path), "trusted-host")
        if host not in trusted:
            problems.append(Problem("pip-http-untrusted", "pip",
                                    Message(N_("the index {url} is plain http and {host} is not in trusted-host: pip "
                                               "refuses it. Use its https address."), url=pip.index.value, host=host)))
    return problems


def _file_sets_index(path: Path) -> bool:
    return any(_file_values(path, k) for k in pip_config.INDEX_KEYS)


def _file_values(path: Path, key: str) -> List[str]:
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read_string(decode(path, read_bytes(path) or b""), source=str(path))
    except (configparser.Error, EditRefused):
        return []
    values: List[str] = []
    for section in parser.sections():
        for name, value in parser.items(section):
            if pip_config._normalize_name(name) == key:
                values += value.split()
    return values


# --------------------------------------------------------------------------- conda


def conda_status(ctx: ProbeContext, knowledge: Knowledge) -> CondaStatus:
    conda = conda_probe.probe(ctx, None)
    status = CondaStatus(executable=conda.executable,
                         user_file=str(edit_conda.user_condarc_path(ctx.home_dir())))
    status.files = [ConfigFile(rc.path, "condarc", rc.ok, rc.error) for rc in conda.condarc]
    # sequences: later files first (conda's merge); the first file listing a value is its origin
    for attr in ("channels", "default_channels"):
        origins: Dict[str, str] = {}
        for rc in reversed(conda.condarc):
            for value in getattr(rc, attr) or []:
                origins.setdefault(value, rc.path)
        merged = getattr(conda, attr)
        setattr(status, attr, [Setting(v, origins.get(v, ""), knowledge.recognise_mirror(v)) for v in merged])
    for rc in conda.condarc:
        for name, base in (rc.custom_channels or {}).items():
            status.custom_channels[name] = Setting(base, rc.path, knowledge.recognise_mirror(base))
        if rc.channel_alias:
            status.channel_alias = Setting(rc.channel_alias, rc.path, knowledge.recognise_mirror(rc.channel_alias))
    found: List[str] = []
    for s in status.default_channels + list(status.custom_channels.values()) + status.channels \
            + ([status.channel_alias] if status.channel_alias else []):
        if s.mirror and s.mirror not in found:
            found.append(s.mirror)
    status.mirrors = found
    return status


def resolve_channel(conda: CondaStatus, name: str) -> Tuple[str, Optional[str], Message]:
    """(URL, mirror, how) that a channel name resolves to under these settings (``how`` worded where shown)."""
    if name in conda.custom_channels:
        base = conda.custom_channels[name]
        return base.value.rstrip("/") + "/" + name, base.mirror, _where("custom_channels", base.origin)
    alias = conda.channel_alias.value if conda.channel_alias else CONDA_ALIAS
    how = (_where("channel_alias", conda.channel_alias.origin)
           if conda.channel_alias else Message(N_("conda's default channel_alias")))
    return alias.rstrip("/") + "/" + name, conda.channel_alias.mirror if conda.channel_alias else "anaconda", how


def _where(key: str, origin: str) -> Message:
    """Which setting of which file: "custom_channels in ~/.condarc"."""
    return Message(N_("{key} in {origin}"), key=key, origin=origin)


def conda_problems(conda: CondaStatus, knowledge: Knowledge) -> List[Problem]:
    problems: List[Problem] = []
    for f in conda.files:
        if not f.ok:
            problems.append(Problem("condarc-unreadable", "conda", Message(
                N_("{path}: {problem}"), path=f.path, problem=_problem(f))))
    mirrors = {m.name: m for m in knowledge.mirrors()}
    used = [mirrors[n] for n in conda.mirrors if n in mirrors and not mirrors[n].official]
    names = [s.value for s in conda.channels if "://" not in s.value and s.value != "defaults"]

    # channels sent to a mirror that does not host them
    for name, base in conda.custom_channels.items():
        problems += _lacks(mirrors.get(base.mirror or ""), name, _where("custom_channels", base.origin))
    if conda.channel_alias and conda.channel_alias.mirror:
        for name in names:
            if name not in conda.custom_channels:
                problems += _lacks(mirrors.get(conda.channel_alias.mirror), name,
                                   _where("channel_alias", conda.channel_alias.origin))
    for s in conda.channels:
        if "://" in s.value and s.mirror:
            tail = s.value.rstrip("/").rsplit("/", 1)[-1]
            if "/cloud/" in s.value:
                problems += _lacks(mirrors.get(s.mirror), tail, _where("channels", s.origin))
    if not used:
        return problems
    used_names = ", ".join(m.name for m in used)
    for name in names:
        url, mirror, how = resolve_channel(conda, name)
        if _official(mirrors, mirror):
            problems.append(Problem("conda-channel-abroad", "conda",
                                    Message(N_("channel {name} is not mirrored: it downloads from {url} ({how}) while "
                                               "other channels use {mirrors}."), name=name, url=url, how=how,
                                            mirrors=used_names)))
    if "nvidia" not in names:
        url, mirror, _how = resolve_channel(conda, "nvidia")
        if _official(mirrors, mirror):
            lacking = [Message(N_("{mirror} does not mirror the nvidia channel"), mirror=m.name) for m in used
                       if 'nvidia' not in m.conda_channels]
            why = joined(lacking) if lacking else Message(N_("it is not mirrored"))
            problems.append(Problem("conda-nvidia-abroad", "conda",
                                    Message(N_("channels are mirrored ({mirrors}) but `-c nvidia` (pytorch-cuda, "
                                               "cuda-* packages) still downloads from {url}: {why}."),
                                            mirrors=used_names, url=url, why=why), "info"))
    uses_defaults = not conda.channels or any(s.value == "defaults" for s in conda.channels)
    mirrored_defaults = [s for s in conda.default_channels if s.mirror and s.mirror in mirrors
                         and not mirrors[s.mirror].official]
    mirrored_custom = any(s.mirror and not _official(mirrors, s.mirror) for s in conda.custom_channels.values())
    if uses_defaults and not mirrored_defaults and mirrored_custom:
        problems.append(Problem("conda-defaults-abroad", "conda",
                                Message(N_("custom_channels use {mirrors} but default_channels is not mirrored: "
                                           "`defaults` (pkgs/main, pkgs/r) still downloads from repo.anaconda.com."),
                                        mirrors=used_names)))
    hosts = sorted({urlsplit(s.value).hostname or s.value for s in conda.default_channels})
    if len(hosts) > 1:
        problems.append(Problem("conda-mixed-defaults", "conda",
                                Message(N_("default_channels, merged from several .condarc files, points at {hosts}: "
                                           "conda searches all of them."), hosts=", ".join(hosts)), "info"))
    return problems


def _official(mirrors: Dict[str, Mirror], name: Optional[str]) -> bool:
    """True when a channel resolves to Anaconda's own hosts (a private channel_alias host is not)."""
    return name is not None and name in mirrors and mirrors[name].official


def _lacks(mirror: Optional[Mirror], name: str, how: Message) -> List[Problem]:
    if mirror is None or mirror.official or not mirror.conda_channels or name in mirror.conda_channels:
        return []
    known = ", ".join(sorted(mirror.conda_channels))
    return [Problem("conda-mirror-lacks-channel", "conda",
                    Message(N_("{how} sends channel {name} to {mirror}, which does not host it as far as envcheck "
                               "knows (it mirrors {known}): conda then fails to find {name}."),
                            how=how, name=name, mirror=mirror.name, known=known))]


# --------------------------------------------------------------------------- uv


def uv_config_files(ctx: ProbeContext, platform: str, cwd: Path) -> List[Tuple[str, Path]]:
    """(scope, path) of the uv config files uv reads here, highest precedence first."""
    env = ctx.env
    if env.get("UV_NO_CONFIG", "").strip().lower() in ("1", "true", "yes", "on"):
        return []
    if env.get("UV_CONFIG_FILE"):
        return [("UV_CONFIG_FILE", Path(env["UV_CONFIG_FILE"]))]
    files: List[Tuple[str, Path]] = []
    project = _project_file(cwd)
    if project is not None:
        files.append(("project", project))
    user = edit_uv.user_config_path(ctx, platform)
    if _is_file(user):
        files.append(("user", user))
    for candidate in _system_files(ctx, platform):
        if _is_file(candidate):
            files.append(("system", candidate))
            break  # uv reads only the first system file it finds
    return files


def _project_file(cwd: Path) -> Optional[Path]:
    folder = cwd
    while True:
        if _is_file(folder / "uv.toml"):
            return folder / "uv.toml"
        pyproject = folder / "pyproject.toml"
        if _is_file(pyproject):
            try:
                data = edit_uv.load_toml_text(pyproject, decode(pyproject, read_bytes(pyproject) or b""))
            except EditRefused:
                data = {}
            if isinstance(data.get("tool"), dict) and "uv" in data["tool"]:
                return pyproject
        if folder.parent == folder:
            return None
        folder = folder.parent


def _system_files(ctx: ProbeContext, platform: str) -> List[Path]:
    if platform.startswith("win"):
        program_data = ctx.env.get("PROGRAMDATA") or "C:/ProgramData"
        return [Path(program_data) / "uv" / "uv.toml"]
    dirs = [d for d in ctx.env.get("XDG_CONFIG_DIRS", "").split(os.pathsep) if d]
    paths = [Path(d) / "uv" / "uv.toml" for d in dirs] or [ctx.path("/etc/xdg") / "uv" / "uv.toml"]
    return paths + [ctx.path("/etc") / "uv" / "uv.toml"]


def uv_status(ctx: ProbeContext, knowledge: Knowledge, platform: str, cwd: Path) -> UvStatus:
    status = UvStatus(index=Setting(UV_DEFAULT, "uv's default (PyPI)", "pypi"),
                      user_file=str(edit_uv.user_config_path(ctx, platform)))
    tables: List[Tuple[str, Dict[str, Any]]] = []
    for scope, path in uv_config_files(ctx, platform, cwd):
        entry = ConfigFile(str(path), scope)
        try:
            data = edit_uv.load_toml_text(path, decode(path, read_bytes(path) or b""))
        except EditRefused as exc:
            entry.ok, entry.error = False, str(exc).replace(f"{path}: ", "", 1)
            # the refusal names the path itself, mostly as "{path}: ..."
            entry.problem = (exc.message if str(exc).startswith(f"{path}: ")
                             else Message(N_("{path}: {problem}"), path=path, problem=exc.message))
            data = {}
        if path.name == "pyproject.toml":
            data = data.get("tool", {}).get("uv", {}) if isinstance(data.get("tool"), dict) else {}
        status.files.append(entry)
        tables.append((str(path), data if isinstance(data, dict) else {}))
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        value = ctx.env.get(name, "").strip()
        if value:
            url = value.split("=", 1)[1] if "=" in value and "://" not in value.split("=", 1)[0] else value
            status.index = Setting(url, name, knowledge.recognise_mirror(url))
            break
    else:
        for origin, data in tables:
            url, key = edit_uv.effective_index(data)
            if url:
                status.index = Setting(url, f"{origin} ({key})", knowledge.recognise_mirror(url))
                break
    for origin, data in tables:
        pip_table = data.get("pip")
        if isinstance(pip_table, dict) and pip_table.get("index-url"):
            url = str(pip_table["index-url"])
            status.pip_index = Setting(url, f"{origin} ([pip] index-url)", knowledge.recognise_mirror(url))
            break
    return status


def uv_problems(ctx: ProbeContext, uv: UvStatus, pip: PipStatus) -> List[Problem]:
    problems: List[Problem] = []
    for f in uv.files:
        if not f.ok:
            problems.append(Problem("uv-config-unreadable", "uv", f.problem if isinstance(f.problem, Message)
                                    else f"{f.path}: {f.error}"))
    pip_custom = pip.index.origin != "pip's default" and pip.index.value.rstrip("/") != UV_DEFAULT
    if pip_custom and uv.index.origin.startswith("uv's default"):
        where = f" ({pip.index.mirror})" if pip.index.mirror else ""
        problems.append(Problem("uv-ignores-pip-conf", "uv",
                                Message(N_("pip uses {url} from {origin}, but uv reads no pip.conf and no "
                                           "PIP_INDEX_URL: uv still downloads from pypi.org. {command} sets uv's "
                                           "index."), url=f"{pip.index.value}{where}", origin=pip.index.origin,
                                        command=f"`envcheck mirrors use {pip.index.mirror or 'NAME'} --uv`")))
    if ctx.env.get("UV_INDEX_URL") and not ctx.env.get("UV_DEFAULT_INDEX"):
        problems.append(Problem("uv-deprecated-variable", "uv",
                                Message(N_("UV_INDEX_URL is deprecated; uv's documented variable is "
                                           "UV_DEFAULT_INDEX.")), "info"))
    return problems


def _problem(f: ConfigFile) -> Any:
    """A file's problem to word where shown: uv's refusal, else the error itself when it is a Message, else
    the English error quoted."""
    if f.problem is not None:
        return f.problem
    return f.error if isinstance(f.error, Message) else quoted(f.error or "")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False
