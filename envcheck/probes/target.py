"""The target interpreter: its Python environment, packages and torch, seen from inside it.

envcheck never imports torch itself: the user's interpreter runs ``target_script.py`` (standard
library only) once in ``static`` mode (fast, no torch import: metadata, version.py, sys.path) and,
unless ``--fast``, once in ``live`` mode (imports torch, initialises CUDA, reads /proc/self/maps).
Whatever the target does (crash, hang, print junk, not be Python at all) ends as facts plus a
:class:`ProbeIssue`, never as an exception here.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..i18n import N_, Message
from ..runner import CommandResult, Started, signal_name, start, which
from ..snapshot import Cudnn, CudnnCopy, Extension, LoadedLibrary, Package, ProbeIssue, Python, Torch, TorchDevice, build_of
from ..versions import build_tag, cuda_from_hundreds, cuda_from_tag, cudnn_from_int, dotted, local_tag, major_minor, nccl_from_int
from . import ProbeContext, issue_from, marker_json

SCRIPT_PATH = Path(__file__).resolve().parent / "target_script.py"
MARKER = "@@ENVCHECK-TARGET-JSON@@"
STAGE = "@@ENVCHECK-STAGE@@ "
#: the live probe imports torch and initialises CUDA: seconds on a healthy box, more on a cold disk
LIVE_MIN_TIMEOUT_S = 30.0
#: the default limit for importing torch (``--torch-timeout``), apart from each command's ``--timeout``: a cold
#: import from a network filesystem takes tens of seconds to minutes (22 s in a container,
#: github.com/openvinotoolkit/stable-diffusion-webui/issues/88; "minutes instead of seconds" uncached,
#: github.com/gpu-mode/kernelbot/pull/2; page faults over Lustre, github.com/Garden-AI/rootstock/issues/167)
TORCH_TIMEOUT_S = 120.0
STATIC_PROBE = "target"
LIVE_PROBE = "torch-live"
#: the stage a target that printed no progress marker at all was in: its own start-up, before our first line
STARTUP = "startup"
#: where the script was, by its last progress marker, as error texts say it
_STAGE_WORDS = {
    STARTUP: "while the interpreter was starting, before it ran the first line of envcheck's script "
             "(sitecustomize, a .pth file, a slow filesystem on sys.path)",
    "started": "while envcheck's script looked for packages on sys.path",
    "import": "during import torch",
    "imported": "after import torch, while reading its build (cuDNN, NCCL versions)",
    "cuda-available": "during torch.cuda.is_available()",
    "cuda-devices": "while reading CUDA device properties",
    "cuda-tensor": "while creating the first CUDA tensor",
    "xpu": "during torch.xpu.is_available()",
    "maps": "while reading /proc/self/maps",
    "done": "while writing its answer",
}


class TargetNotFound(Exception):
    """The interpreter to examine does not exist or cannot be run (``message``: why, worded when shown)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- choosing the target


def _env_python(prefix: str) -> str:
    if os.name == "nt":
        return os.path.join(prefix, "python.exe")
    return os.path.join(prefix, "bin", "python")


def _venv_python(prefix: str) -> str:
    if os.name == "nt":
        return os.path.join(prefix, "Scripts", "python.exe")
    return os.path.join(prefix, "bin", "python")


def _runnable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _path_rank(env: Mapping[str, str], exe: str) -> int:
    """Position of ``exe``'s directory on PATH (large when absent): who the shell would run first."""
    entries = [os.path.normcase(os.path.abspath(p)) for p in env.get("PATH", "").split(os.pathsep) if p]
    want = os.path.normcase(os.path.abspath(os.path.dirname(exe)))
    return entries.index(want) if want in entries else len(entries) + 1


def _explicit(python: str, env: Mapping[str, str]) -> str:
    path = os.path.abspath(os.path.expanduser(python))
    if not os.path.exists(path) and os.sep not in python and "/" not in python:
        found = which(python, env)  # a bare name ("python3.10") means the one on PATH
        if found:
            return found
    if os.path.isdir(path):
        tries = [_env_python(path), _venv_python(path), os.path.join(path, "bin", "python3")]
        for candidate in tries:
            if _runnable(candidate):
                return candidate
        raise TargetNotFound(Message(N_("{option}: a directory without a Python interpreter (looked for {paths})"),
                                     option=f"--python {python}", paths=", ".join(tries)))
    if not os.path.exists(path):
        raise TargetNotFound(Message(N_("{option}: no such file"), option=f"--python {python}"))
    if not _runnable(path):
        raise TargetNotFound(Message(N_("{option}: not an executable file"), option=f"--python {python}"))
    return path


def resolve_target(python: Optional[str], env: Mapping[str, str]) -> Tuple[str, str]:
    """(interpreter path, how it was chosen); raises TargetNotFound when there is none.

    Order: --python (a file, an env prefix directory, or a bare name looked up on PATH); the
    active conda env; the active virtualenv; python3, then python, on PATH. When both a conda env
    and a virtualenv are active, the one whose bin directory comes first on PATH wins (a venv
    activated on top of conda's auto-activated base is the common case).
    """
    if python:
        return _explicit(python, env), "--python"
    candidates: List[Tuple[str, str]] = []
    if env.get("CONDA_PREFIX"):
        candidates.append((_env_python(env["CONDA_PREFIX"]), "CONDA_PREFIX"))
    if env.get("VIRTUAL_ENV"):
        candidates.append((_venv_python(env["VIRTUAL_ENV"]), "VIRTUAL_ENV"))
    candidates = [c for c in candidates if _runnable(c[0])]
    if len(candidates) == 2 and _path_rank(env, candidates[1][0]) < _path_rank(env, candidates[0][0]):
        candidates.reverse()
    if candidates:
        return candidates[0]
    for name in ("python3", "python"):
        found = which(name, env)
        if found:
            return found, "PATH"
    raise TargetNotFound(Message(N_("no Python interpreter found: no --python, no active conda env or virtualenv, "
                                    "and neither python3 nor python on PATH")))


# --------------------------------------------------------------------------- running the script


def context_for(python: Optional[str], timeout: float, fast: bool = False) -> ProbeContext:
    """The probe context for a run: this environment, and the target interpreter resolved.

    Raises :class:`TargetNotFound` when ``--python`` names nothing runnable.
    """
    env = dict(os.environ)
    path, chosen_by = resolve_target(python, env)
    return ProbeContext(env=env, timeout=timeout, python=path, python_chosen_by=chosen_by, fast=fast)


def script_source() -> str:
    return SCRIPT_PATH.read_text(encoding="utf-8")


def _stage(stderr: str) -> Optional[str]:
    stages = [line[len(STAGE):].strip() for line in stderr.splitlines() if line.startswith(STAGE)]
    return stages[-1] if stages else None


def reached(result: CommandResult) -> str:
    """The last stage the script reported; :data:`STARTUP` when it reported none (it never ran our first line)."""
    return _stage(result.stderr) or STARTUP


def answered(stdout: str) -> bool:
    """Whether ``stdout`` already holds the script's whole answer: the marker, then one complete JSON line.

    The runner reads the output as it comes and asks this, so an answer counts the moment it is out, even
    when the interpreter then hangs on its way out or a daemon it started keeps the pipe open.
    """
    at = stdout.rfind(MARKER)
    if at < 0:
        return False
    head, newline, tail = stdout[at + len(MARKER):].partition("\n")
    if head.strip():
        text, complete = head, bool(newline)
    else:
        text, newline, _ = tail.partition("\n")
        complete = bool(newline)
    if not complete:
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _clean_stderr(stderr: str, lines: int = 15) -> str:
    kept = [line for line in stderr.splitlines() if not line.startswith(STAGE) and line.strip()]
    return "\n".join(kept[-lines:])


def _payload(result: CommandResult) -> Optional[Dict[str, Any]]:
    """The JSON object after the last marker line, or None."""
    return marker_json(result.stdout, MARKER)


def _diagnose(result: CommandResult, probe: str, payload: Optional[Dict[str, Any]]) -> Tuple[str, str, ProbeIssue]:
    """(error, error_kind, issue) for a run that gave no usable answer."""
    stage = reached(result)
    where = _STAGE_WORDS.get(stage, "")
    detail = _clean_stderr(result.stderr)
    if result.timed_out:
        error = f"no answer within {result.duration_s:.1f} s" + (f" ({where})" if where else "")
        issue = issue_from(probe, result, "timeout")
        issue.stage = stage
        return error, "timeout", issue
    if result.signal:
        error = f"killed by {signal_name(result.signal)}" + (f" {where}" if where else "")
        if detail:
            error += "\n" + detail
        issue = issue_from(probe, result, "crashed")
        issue.stage = stage
        return error, "signal", issue
    if payload is None:
        if result.not_executable:
            return result.describe(), "probe", issue_from(probe, result, "not-executable")
        if result.not_found or result.error:
            return result.describe(), "probe", issue_from(probe, result)
        error = f"{result.describe()}: the interpreter gave no envcheck answer"
        tail = (detail or result.stdout.strip())[-600:]
        if tail:
            error += "\n" + tail
        return error, "probe", issue_from(probe, result, "garbage")
    error = f"the envcheck probe script failed in the target: {_str(payload.get('error')) or '?'}"
    return error, "probe", ProbeIssue(probe=probe, kind="error", message=error, duration_s=round(result.duration_s, 3))


class _Answer:
    """What one run of the script gave: its JSON, or why there is none, and the issues to report."""

    def __init__(self, payload: Optional[Dict[str, Any]], error: Optional[str] = None,
                 error_kind: Optional[str] = None, issues: Optional[List[ProbeIssue]] = None) -> None:
        self.payload = payload
        self.error = error
        self.error_kind = error_kind
        self.issues = issues or []


def live_timeout(timeout: float) -> float:
    """Importing torch takes seconds: the live probe gets at least 30 s, or 3x a short --timeout."""
    return max(timeout, LIVE_MIN_TIMEOUT_S) if timeout >= 10 else timeout * 3


def script_argv(python: str, mode: str) -> List[str]:
    """The command that runs the probe script in the target interpreter."""
    return [python, "-c", script_source(), mode]


def start_script(ctx: ProbeContext, mode: str, timeout: float) -> Started:
    """Start the probe script now ("static" or "live"); hand it to probe_static/probe_live later.

    The live probe takes as long as ``import torch``: started before envcheck's own imports, it
    overlaps them.
    """
    python_path, _, _ = _target(ctx)
    if python_path is None:
        raise TargetNotFound(Message(N_("no target interpreter")))
    return start(script_argv(python_path, mode), timeout=timeout, env=ctx.env, answered=answered)


def _collected(started: Optional[Started], python_path: str, mode: str) -> Optional[CommandResult]:
    """The early-started run's result, if it is the same command."""
    if started is None or started.argv != script_argv(python_path, mode):
        return None
    return started.result()


def _ask(ctx: ProbeContext, python: str, mode: str, timeout: float, probe: str,
         result: Optional[CommandResult] = None) -> _Answer:
    """Run the script in ``mode``; a complete answer counts even when the process misbehaved after it."""
    if result is None:
        result = ctx.run(script_argv(python, mode), timeout=timeout, answered=answered)
    payload = _payload(result)
    shown = _shown_command(python, mode)
    if payload is None or not payload.get("ok", False):
        error, kind, issue = _diagnose(result, probe, payload)
        issue.command = shown
        return _Answer(None, error, kind, [issue])
    issues: List[ProbeIssue] = []
    notes = _strs(payload.get("errors")) or []
    if notes:
        issues.append(ProbeIssue(probe=probe, kind="error", message="; ".join(notes)[:2000], command=shown))
    if result.lingered or result.timed_out:
        # answered, then hung on the way out (atexit handlers, driver threads) or left a daemon holding the pipe:
        # the answer counts and nothing hangs that the report is about; the fact is kept, no finding says it
        issue = issue_from(probe, result, "did-not-exit")
        issue.message = "after answering: " + result.describe()
        issue.command, issue.stage = shown, reached(result)
        issues.append(issue)
    elif not result.ok:  # answered, then crashed on the way out
        issue = issue_from(probe, result, "crashed" if result.signal else "error")
        issue.message = "after answering: " + result.describe()
        issue.command = shown
        issues.append(issue)
    return _Answer(payload, issues=issues)


def _shown_command(python: str, mode: str) -> List[str]:
    """The command as issues show it: the script's source would drown the report."""
    return [python, "-c", "<envcheck target_script.py>", mode]


def _target(ctx: ProbeContext) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(python, chosen_by, error) for this context."""
    if ctx.python:
        return ctx.python, ctx.python_chosen_by, None
    try:
        path, chosen_by = resolve_target(None, ctx.env)
    except TargetNotFound as exc:
        return None, None, str(exc)
    return path, chosen_by, None


# --------------------------------------------------------------------------- reading the answer


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value != "" else None


def _bool(value: Any) -> Optional[bool]:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> Optional[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 4)
    return None


def _strs(value: Any) -> Optional[List[str]]:
    if not isinstance(value, list):
        return None
    return [v for v in value if isinstance(v, str)]


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def normalize_name(name: str) -> str:
    """PEP 503 project name normalisation: "Nvidia_CUDNN.cu12" -> "nvidia-cudnn-cu12"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _three(text: Optional[str]) -> Optional[str]:
    nums = dotted(text)
    if not nums:
        return None
    nums = (nums + (0, 0))[:3] if len(nums) < 3 else nums[:3]
    return ".".join(str(n) for n in nums)


def cudnn_version_from_int(value: Any) -> Optional[str]:
    """torch.backends.cudnn.version(): 91900 -> "9.19.0" (cuDNN 9 scheme), 8902 -> "8.9.2", 7605 -> "7.6.5"."""
    return cudnn_from_int(_int(value))


def nccl_version_str(value: Any) -> Optional[str]:
    """torch.cuda.nccl.version(): (2, 28, 9) -> "2.28.9"; older ints 21803 -> "2.18.3", 2708 -> "2.7.8"."""
    if isinstance(value, list) and value and all(_int(v) is not None for v in value):
        return ".".join(str(v) for v in value)
    return nccl_from_int(_int(value))


def _packages(raw: Dict[str, Any], version_files: Dict[str, Any]) -> Dict[str, Package]:
    out: Dict[str, Package] = {}
    for key, item in raw.items():
        item = _dict(item)
        name = _str(item.get("name")) or key
        norm = normalize_name(name)
        vfile = _dict(version_files.get(norm))
        out[norm] = Package(name=name, version=_str(item.get("version")), location=_str(item.get("location")),
                            installer=_str(item.get("installer")),
                            build_version=_str(vfile.get("__version__")), cuda=_str(vfile.get("cuda")))
    return out


def _python(data: Dict[str, Any], chosen_by: Optional[str], packages: Dict[str, Package]) -> Python:
    raw = _dict(data.get("python"))
    return Python(
        executable=_str(raw.get("executable")), version=_str(raw.get("version")),
        implementation=_str(raw.get("implementation")), chosen_by=chosen_by,
        prefix=_str(raw.get("prefix")), base_prefix=_str(raw.get("base_prefix")),
        is_venv=_bool(raw.get("is_venv")), conda_env=_str(raw.get("conda_env")),
        conda_prefix=_str(raw.get("conda_prefix")), user_site=_str(raw.get("user_site")),
        user_site_enabled=_bool(raw.get("user_site_enabled")),
        user_site_shadowing=_strs(raw.get("user_site_shadowing")) or [],
        sys_path=_strs(raw.get("sys_path")) or [], packages=packages,
    )


def _installer(pkg: Optional[Package], python: Python) -> Optional[str]:
    if pkg is None:
        return None
    if pkg.installer:
        return pkg.installer
    prefix = python.conda_prefix
    if prefix and pkg.location and os.path.abspath(pkg.location).startswith(os.path.abspath(prefix) + os.sep):
        return "conda"
    return None


def _static_torch(data: Dict[str, Any], python: Python) -> Torch:
    vfile = _dict(_dict(data.get("version_files")).get("torch"))
    copies = _strs(data.get("torch_copies")) or []
    dist = python.packages.get("torch")
    version, cuda, hip = _str(vfile.get("__version__")), _str(vfile.get("cuda")), _str(vfile.get("hip"))
    return Torch(
        version=version, dist_version=dist.version if dist else None, cuda=cuda, hip=hip,
        build=build_of(version, cuda, hip), git_version=_str(vfile.get("git_version")),
        debug=_bool(vfile.get("debug")),
        location=os.path.join(copies[0], "torch") if copies else None,
        installer=_installer(dist, python), copies=copies,
    )


def _bundled_cudnn(data: Dict[str, Any], torch_cuda: Optional[str]) -> Optional[CudnnCopy]:
    """The nvidia-cudnn-cuXX wheel; with several, the one matching torch's CUDA major."""
    items = [_dict(c) for c in data.get("cudnn") or [] if isinstance(c, dict)]
    if not items:
        return None
    major = dotted(torch_cuda)
    chosen = items[0]
    if major:
        for item in items:
            if (_str(item.get("dist")) or "").endswith(f"-cu{major[0]}"):
                chosen = item
                break
    return CudnnCopy(version=_three(_str(chosen.get("version"))), path=_str(chosen.get("lib_dir")), source="pip")


def _requirement_on_torch(lines: List[str]) -> Optional[str]:
    """The specifier of the first Requires-Dist on torch itself ("==2.5.1"), extras and markers left out."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in lines:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if normalize_name(req.name) == "torch" and str(req.specifier):
            return str(req.specifier)
    return None


def _wheel_tag(wheel: Optional[str]) -> Optional[str]:
    """The local tag of a wheel file name's version field (flash_attn-2.8.3+cu12torch2.8...-cp311-...whl)."""
    parts = (wheel or "").split("-")
    return local_tag(parts[1]) if len(parts) > 2 else None


def _extensions(raw: Any) -> List[Extension]:
    """The static probe's extension inventory: the torch/CUDA each was built for from its version's local tag,
    else from the wheel file it was installed from."""
    out: List[Extension] = []
    for item in raw if isinstance(raw, list) else []:
        item = _dict(item)
        name = _str(item.get("name"))
        if not name:
            continue
        build = _dict(item.get("build"))
        out.append(extension_of(name, _str(item.get("version")), _strs(item.get("requires")) or [],
                                _str(item.get("wheel")), _str(item.get("location")), _str(build.get("torch")),
                                build.get("cuda")))
    return out


def extension_of(name: str, version: Optional[str], requires: Sequence[str] = (), wheel: Optional[str] = None,
                 location: Optional[str] = None, build_torch: Optional[str] = None,
                 build_cuda: Any = None) -> Extension:
    """An extension as its metadata records it: the torch/CUDA it was built for from its build-info file (the
    torch it was compiled against, and that torch's CUDA), else its version's local tag, else the wheel file it
    was installed from; its pin on torch from its Requires-Dist lines. analyze builds one from a pasted pip
    list's row (no Requires-Dist there: the pin stays unknown)."""
    if build_torch and major_minor(build_torch):
        built_torch = major_minor(build_torch)
        built_cuda = cuda_from_tag(local_tag(build_torch)) or (cuda_from_hundreds(build_cuda) if isinstance(build_cuda, int) else major_minor(build_cuda) if isinstance(build_cuda, str) else None)
        return Extension(name=normalize_name(name), version=version, built_torch=built_torch, built_cuda=built_cuda,
                         requires_torch=_requirement_on_torch(list(requires)), tag_source="build-info",
                         location=location)
    tag, source = local_tag(version), "version"
    if not tag:
        tag, source = _wheel_tag(wheel), "wheel"
    built_torch, built_cuda = build_tag(tag)
    return Extension(name=normalize_name(name), version=version, built_torch=built_torch, built_cuda=built_cuda,
                     requires_torch=_requirement_on_torch(list(requires)),
                     tag_source=source if (built_torch or built_cuda) else None, location=location)


def probe_static(ctx: ProbeContext, started: Optional[Started] = None) -> Tuple[Python, Torch, Cudnn, List[ProbeIssue]]:
    """Facts from the target without importing torch: Python, packages, torch's version.py, cuDNN wheel."""
    python_path, chosen_by, missing = _target(ctx)
    if python_path is None:
        error = missing or "no target interpreter"
        issue = ProbeIssue(probe=STATIC_PROBE, kind="not-found", message=error)
        return Python(error=error), Torch(error=error, error_kind="probe"), Cudnn(), [issue]
    answer = _ask(ctx, python_path, "static", ctx.timeout, STATIC_PROBE, _collected(started, python_path, "static"))
    payload = answer.payload
    if payload is None:
        python = Python(executable=python_path, chosen_by=chosen_by, error=answer.error)
        return python, Torch(error=answer.error, error_kind=answer.error_kind), Cudnn(), answer.issues
    issues = answer.issues
    version_files = {normalize_name(k): v for k, v in _dict(payload.get("version_files")).items()}
    packages = _packages(_dict(payload.get("packages")), version_files)
    python = _python(payload, chosen_by, packages)
    if python.executable is None:
        python.executable = python_path
    if not isinstance(payload.get("python"), dict):
        python.error = "; ".join(_strs(payload.get("errors")) or []) or "the target did not describe itself"
    torch = _static_torch(payload, python)
    torch.extensions = _extensions(payload.get("extensions"))
    return python, torch, Cudnn(bundled=_bundled_cudnn(payload, torch.cuda)), issues


# --------------------------------------------------------------------------- live


def _library(raw: Dict[str, Any]) -> Optional[LoadedLibrary]:
    path = _str(raw.get("path"))
    if path is None:
        return None
    from_file = _str(raw.get("file_version"))
    from_dist = _three(_str(raw.get("dist_version")))
    if from_file and len(dotted(from_file) or ()) >= 3:
        version = from_file
    else:
        version = from_dist or from_file
    return LoadedLibrary(name=_str(raw.get("name")) or os.path.basename(path), path=path, version=version)


def _cudnn_source(lib: LoadedLibrary, owned_by_wheel: bool, conda_prefix: Optional[str]) -> Optional[str]:
    if owned_by_wheel:
        return "pip"
    if conda_prefix and lib.path.startswith(conda_prefix.rstrip("/") + "/"):
        return "conda"
    if "/cuda" in lib.path:
        return "toolkit"
    return "ldconfig"


def _devices(raw: Any) -> List[TorchDevice]:
    out = []
    for item in raw if isinstance(raw, list) else []:
        item = _dict(item)
        major, minor = _int(item.get("major")), _int(item.get("minor"))
        memory = _int(item.get("total_memory"))
        out.append(TorchDevice(
            index=_int(item.get("index")) or 0, name=_str(item.get("name")),
            capability=f"{major}.{minor}" if major is not None and minor is not None else None,
            memory_total_mib=memory // (1024 * 1024) if memory is not None else None,
            multi_processor_count=_int(item.get("multi_processor_count")),
        ))
    return out


def probe_live(
    ctx: ProbeContext, timeout: Optional[float] = None, conda_prefix: Optional[str] = None,
    started: Optional[Started] = None,
) -> Tuple[Torch, Cudnn, List[ProbeIssue]]:
    """Import torch in the target: what it reports, whether CUDA works, which libraries it loaded.

    ``timeout`` defaults to max(ctx.timeout, 30 s): importing torch alone takes seconds.
    ``conda_prefix`` (the target's, from the static probe) only labels where cuDNN came from.
    ``started``: the same probe already launched by :func:`start_script`, collected here.
    """
    python_path, _, missing = _target(ctx)
    if python_path is None:
        error = missing or "no target interpreter"
        return Torch(error=error, error_kind="probe"), Cudnn(), [ProbeIssue(probe=LIVE_PROBE, kind="not-found", message=error)]
    limit = timeout if timeout is not None else max(ctx.timeout, LIVE_MIN_TIMEOUT_S)
    answer = _ask(ctx, python_path, "live", limit, LIVE_PROBE, _collected(started, python_path, "live"))
    payload = answer.payload
    if payload is None:
        return Torch(error=answer.error, error_kind=answer.error_kind), Cudnn(), answer.issues
    raw = _dict(payload.get("torch"))
    issues = answer.issues
    torch = Torch(live=True, error=_str(raw.get("error")), error_kind=_str(raw.get("error_kind")))
    if raw.get("installed") is False:
        return torch, Cudnn(), issues
    file = _str(raw.get("file"))
    torch.version = _str(raw.get("version"))
    torch.cuda, torch.hip = _str(raw.get("cuda")), _str(raw.get("hip"))
    torch.build = build_of(torch.version, torch.cuda, torch.hip)
    torch.git_version, torch.debug = _str(raw.get("git_version")), _bool(raw.get("debug"))
    torch.cudnn = cudnn_version_from_int(raw.get("cudnn"))
    torch.nccl = nccl_version_str(raw.get("nccl"))
    torch.arch_list = _strs(raw.get("arch_list"))
    torch.cuda_available = _bool(raw.get("cuda_available"))
    torch.cuda_warning = _str(raw.get("cuda_warning"))
    torch.xpu_available = _bool(raw.get("xpu_available"))
    torch.mps_built, torch.mps_available = _bool(raw.get("mps_built")), _bool(raw.get("mps_available"))
    torch.mac_version, torch.machine = _str(raw.get("mac_version")), _str(raw.get("machine"))
    torch.translated = _bool(raw.get("translated"))
    torch.device_count = _int(raw.get("device_count"))
    if torch.device_count is None and torch.cuda_available is False:
        torch.device_count = 0
    torch.devices = _devices(raw.get("devices"))
    torch.location = os.path.dirname(file) if file else None
    torch.import_s = _float(raw.get("import_s"))
    torch.cuda_init_s = _float(raw.get("cuda_init_s"))
    cudnn = Cudnn(torch_reported=torch.cudnn)
    for item in payload.get("libraries") or []:
        lib = _library(_dict(item))
        if lib is None:
            continue
        torch.loaded_libraries.append(lib)
        if lib.name == "libcudnn" and cudnn.loaded is None:
            owned = _str(_dict(item).get("dist")) is not None
            cudnn.loaded = CudnnCopy(version=lib.version, path=lib.path,
                                     source=_cudnn_source(lib, owned, conda_prefix))
    return torch, cudnn, issues


def merge_torch(static: Torch, live: Optional[Torch]) -> Torch:
    """One Torch from both probes: live facts win where known; static fills the rest.

    A live probe that ran (``live.live``) also decides ``error``: torch imported (or failed to) for
    real, so a static probe failure no longer describes torch. A live probe that did not run leaves
    its own error when it has one.
    """
    merged = copy.deepcopy(static)
    if live is None:
        return merged
    for f in fields(Torch):
        if f.name in ("error", "error_kind", "live"):
            continue
        value = getattr(live, f.name)
        if value is None:
            continue
        if isinstance(value, list) and not value and f.name not in ("arch_list",):
            continue
        setattr(merged, f.name, value)
    merged.live = live.live
    if live.live or live.error:
        merged.error, merged.error_kind = live.error, live.error_kind
    return merged
