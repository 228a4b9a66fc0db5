"""conda: where it is installed, whether the shell can reach it, every .condarc it reads, and the
conda packages behind torch in the target environment.

conda itself is never run (``conda info`` takes seconds): the version comes from the root
prefix's ``conda-meta/conda-<version>-<build>.json``, packages from the target's ``conda-meta``.

The .condarc search path is conda's ``SEARCH_PATH`` (``conda/base/constants.py``), lowest
precedence first; a ``condarc.d/`` folder contributes its ``*.yml``/``*.yaml`` files in sorted
order. Merging follows ``conda/common/configuration.py``: sequence keys (``channels``,
``default_channels``) are concatenated with the files *later* in the search path *first*, then
de-duplicated keeping the first occurrence; map keys (``custom_channels``) merge key by key with
later files winning; scalars (``channel_priority``) are last-wins. The ``#!final``/``#!top``
markers are YAML comments that ``yaml.safe_load`` drops, so they are not honoured here.

Paths envcheck names itself (``/etc/conda``, ``/opt/conda``) are looked up under ``ctx.root``;
paths from the environment (``$CONDARC``, ``$CONDA_PREFIX``) and the home folder are used as given.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple


from ..i18n import N_, Message, joined
from ..redact import redact_url
from ..snapshot import Conda, CondaPackage, CondaRc
from . import ProbeContext, read_text

#: conda packages that decide which torch build an environment has
TORCH_PACKAGES = (
    "pytorch", "pytorch-nightly", "pytorch-cuda", "pytorch-mutex", "cpuonly", "cudatoolkit", "cuda-version",
    "cuda-toolkit", "cuda-nvcc", "cudnn", "pytorch-gpu", "pytorch-cpu", "torchvision",
    "torchaudio", "libtorch", "nccl",
)
#: where installers put conda when the user never ran ``conda init`` (relative to home / absolute)
HOME_INSTALL_DIRS = ("miniconda3", "anaconda3", "miniforge3", "mambaforge")
SYSTEM_INSTALL_DIRS = ("/opt/conda", "/opt/miniconda3", "/opt/anaconda3", "/root/miniconda3")
_EXECUTABLES = ("conda", "mamba", "micromamba")
_MAX_META_BYTES = 64 << 20  # a pytorch conda-meta record lists every file: several MB


def probe(ctx: ProbeContext, target_prefix: Optional[str]) -> Conda:
    """Facts about conda as this shell and this machine have it; nothing is run."""
    conda = Conda()
    conda.executable, conda.found_via = find_executable(ctx)
    if conda.found_via is not None:
        conda.initialized = conda.found_via in ("CONDA_EXE", "PATH")
    conda.root_prefix = _root_prefix(ctx, conda.executable)
    if conda.root_prefix:
        conda.version = conda_version(Path(conda.root_prefix))
    conda.active_env = ctx.env.get("CONDA_DEFAULT_ENV") or None
    conda.active_prefix = ctx.env.get("CONDA_PREFIX") or None
    conda.condarc = [parse_condarc(str(p), text)
                     for p, text in _read_all(condarc_paths(ctx, conda.root_prefix))]
    _merge_into(conda, conda.condarc)
    if target_prefix:
        conda.packages = conda_packages(Path(target_prefix))
    return conda


# --------------------------------------------------------------------------- the executable


def find_executable(ctx: ProbeContext) -> Tuple[Optional[str], Optional[str]]:
    """(path, found_via): $CONDA_EXE, then conda/mamba/micromamba on PATH, then install dirs."""
    conda_exe = ctx.env.get("CONDA_EXE")
    if conda_exe and _is_file(Path(conda_exe)):
        return conda_exe, "CONDA_EXE"
    for name in _EXECUTABLES:
        found = ctx.which(name)
        if found:
            return found, "PATH"
    for root in install_dirs(ctx):
        for candidate in _executables_in(root):
            if _is_file(candidate):
                return str(candidate), "install-dir"
    return None, None


def install_dirs(ctx: ProbeContext) -> List[Path]:
    """The usual conda install roots, home ones first, without duplicates."""
    home = ctx.home_dir()
    roots = [home / d for d in HOME_INSTALL_DIRS] + [ctx.path(d) for d in SYSTEM_INSTALL_DIRS]
    return _unique(roots)


def _executables_in(root: Path) -> List[Path]:
    if sys.platform.startswith("win"):
        return [root / "Scripts" / "conda.exe", root / "condabin" / "conda.bat"]
    return [root / "bin" / "conda", root / "condabin" / "conda"]


def _root_prefix(ctx: ProbeContext, executable: Optional[str]) -> Optional[str]:
    """The base install: two levels above bin/conda; micromamba says it in MAMBA_ROOT_PREFIX."""
    if executable is None:
        return None
    exe = Path(executable)
    if exe.name.startswith("micromamba"):
        return ctx.env.get("MAMBA_ROOT_PREFIX") or None
    root = exe.parent.parent
    return str(root) if _is_dir(root / "conda-meta") else None


def conda_version(root: Path) -> Optional[str]:
    """conda's version from ``<root>/conda-meta/conda-<version>-<build>.json``."""
    for path, name, version, _build in _meta_files(root):
        if name == "conda":
            record = _load_json(path)
            found = record.get("version") if isinstance(record, dict) else None
            return str(found) if found else version
    return None


# --------------------------------------------------------------------------- .condarc


def condarc_paths(ctx: ProbeContext, root_prefix: Optional[str],
                  platform: str = sys.platform) -> List[Path]:
    """conda's search path, lowest precedence first; folders stand for their *.yml/*.yaml files."""
    env = ctx.env
    home = ctx.home_dir()
    if platform.startswith("win"):
        system = [ctx.path("C:/ProgramData/conda")]
    else:
        system = [ctx.path("/etc/conda"), ctx.path("/var/lib/conda")]
    bases: List[Optional[Path]] = list(system)
    bases.append(Path(env["CONDA_ROOT"]) if env.get("CONDA_ROOT") else
                 (Path(root_prefix) if root_prefix else None))
    xdg = env.get("XDG_CONFIG_HOME")
    bases.append(Path(xdg) / "conda" if xdg else None)
    bases += [home / ".config" / "conda", home / ".conda"]
    paths: List[Path] = []
    for base in bases:
        if base is not None:
            paths += [base / ".condarc", base / "condarc", base / "condarc.d"]
    paths.append(home / ".condarc")
    if env.get("CONDA_PREFIX"):
        prefix = Path(env["CONDA_PREFIX"])
        paths += [prefix / ".condarc", prefix / "condarc", prefix / "condarc.d"]
    if env.get("CONDARC"):
        paths.append(Path(env["CONDARC"]))
    return _unique(paths)


def parse_condarc(path: str, text: str) -> CondaRc:
    """One .condarc's channel settings; a broken file is recorded (ok False), never raised."""
    import yaml  # 11 ms to import: only when a .condarc exists

    from ..yamlsafe import YamlRefused, safe_load

    rc = CondaRc(path=path)
    try:
        data = safe_load(text)  # yaml.safe_load with its size, depth and alias expansion bounded
    except YamlRefused as exc:  # an alias bomb, a file too big or too deep: said, never built
        rc.ok = False
        rc.load_failed = True
        rc.error = exc.reason
        return rc
    except yaml.YAMLError as exc:
        rc.ok = False
        rc.load_failed = True
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        rc.error_line = mark.line + 1 if mark is not None and isinstance(getattr(mark, "line", None), int) else None
        # PyYAML quotes the line it met (a channel URL with its token): credentials hidden
        rc.error = Message(N_("not valid YAML: {reason}"), reason=redact_url(" ".join(str(exc).split())))
        return rc
    if data is None:
        return rc
    if not isinstance(data, dict):
        rc.ok = False
        rc.load_failed = True
        rc.error = Message(N_("not a mapping of settings (a YAML {type})"), type=type(data).__name__)
        return rc
    problems: List[Message] = []
    rc.channels = _string_list(data, "channels", problems)
    rc.default_channels = _string_list(data, "default_channels", problems)
    rc.custom_channels = _string_map(data, "custom_channels", problems)
    rc.channel_alias = _scalar(data, "channel_alias", problems)
    rc.channel_priority = _scalar(data, "channel_priority", problems)
    show = data.get("show_channel_urls")
    if isinstance(show, bool):
        rc.show_channel_urls = show
    elif show is not None:
        problems.append(Message(N_("{key} should be true or false, not {value}"), key="show_channel_urls",
                                value=redact_url(repr(show))))
    if problems:
        rc.ok = False
        rc.error = joined(problems)
    return rc


def _read_all(paths: Iterable[Path]) -> List[Tuple[Path, str]]:
    found: List[Tuple[Path, str]] = []
    for path in paths:
        if _is_dir(path):
            try:
                children = sorted(path.iterdir())
            except OSError:
                continue
            for child in children:
                if child.suffix in (".yml", ".yaml") and _is_file(child):
                    found += _read_one(child)
        elif _is_file(path):
            found += _read_one(path)
    return found


def _read_one(path: Path) -> List[Tuple[Path, str]]:
    from ..yamlsafe import MAX_BYTES

    text = read_text(path, MAX_BYTES + 1, whole=False)  # one byte past the limit: parse_condarc refuses a longer file
    return [(path, text)] if text is not None else []


def _string_list(data: Dict[str, Any], key: str, problems: List[Message]) -> Optional[List[str]]:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    problems.append(Message(N_("{key} should be a list, not {type}"), key=key, type=type(value).__name__))
    return None


def _string_map(data: Dict[str, Any], key: str, problems: List[Message]) -> Optional[Dict[str, str]]:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    problems.append(Message(N_("{key} should be a mapping, not {type}"), key=key, type=type(value).__name__))
    return None


def _scalar(data: Dict[str, Any], key: str, problems: List[Message]) -> Optional[str]:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        problems.append(Message(N_("{key} should be a single value, not {type}"), key=key,
                                type=type(value).__name__))
        return None
    if isinstance(value, bool):  # YAML reads `channel_priority: false` as a boolean
        return "true" if value else "false"
    return str(value)


def _merge_into(conda: Conda, files: List[CondaRc]) -> None:
    """conda's merge: sequences later-file-first and de-duplicated, maps by key, scalars last-wins."""
    for rc in reversed(files):
        for channel in rc.channels or []:
            if channel not in conda.channels:
                conda.channels.append(channel)
        for channel in rc.default_channels or []:
            if channel not in conda.default_channels:
                conda.default_channels.append(channel)
    for rc in files:
        conda.custom_channels.update(rc.custom_channels or {})
        if rc.channel_priority is not None:
            conda.channel_priority = rc.channel_priority


# --------------------------------------------------------------------------- packages


def conda_packages(prefix: Path) -> Dict[str, CondaPackage]:
    """The torch-related packages recorded in ``<prefix>/conda-meta``, by name."""
    found: Dict[str, CondaPackage] = {}
    for path, name, version, build in _meta_files(prefix):
        if name not in TORCH_PACKAGES:
            continue
        record = _load_json(path)
        record = record if isinstance(record, dict) else {}
        found[name] = CondaPackage(
            name=name,
            version=_str_or(record.get("version"), version),
            build=_str_or(record.get("build"), build),
            channel=_str_or(record.get("channel"), None),
        )
    return found


def _meta_files(prefix: Path) -> List[Tuple[Path, str, str, str]]:
    """(path, name, version, build) of each ``conda-meta/<name>-<version>-<build>.json``."""
    meta = prefix / "conda-meta"
    try:
        names = sorted(os.listdir(meta))
    except OSError:
        return []
    files = []
    for filename in names:
        if not filename.endswith(".json"):
            continue
        parts = filename[: -len(".json")].rsplit("-", 2)
        if len(parts) == 3:
            files.append((meta / filename, parts[0], parts[1], parts[2]))
    return files


def _load_json(path: Path) -> Any:
    text = read_text(path, limit=_MAX_META_BYTES)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _str_or(value: Any, fallback: Optional[str]) -> Optional[str]:
    return str(value) if value not in (None, "") else fallback


def _is_file(path: Path) -> bool:
    """Path.is_file that answers False for a folder we may not enter (/root as a normal user)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _unique(paths: Iterable[Path]) -> List[Path]:
    seen, out = set(), []
    for path in paths:
        key = os.path.normpath(os.path.expanduser(str(path)))
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out
