"""Pre-flight policies: `doctor --require EXPR` and `--policy FILE`, judged against a snapshot.

A requirement is a short expression (``torch>=2.3``, ``cuda``, ``gpus>=8``, ``gpu-memory>=70GiB``,
``driver>=535``, ``compute-capability>=8.0``, ``no-warnings``, ``smoke-bf16>=500``,
``no-finding=CODE``). :func:`parse_requirements` turns expressions (and a TOML file's
``require = [...]``) into :class:`Requirement` objects, raising :class:`PolicyError` (a ``ValueError``
carrying a Message) for a bad one; :func:`evaluate` holds them against a snapshot and its findings without probing
anything itself (the smoke test runs only through the callable it is given, and only when a
``smoke-*`` requirement exists). A fact that is unknown never passes: the requirement is reported
``unknown`` and counts as not met. Every sentence is a Message, worded by ``preflight/render.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..findings import Finding, Severity
from ..i18n import N_, Message, joined
from ..snapshot import Snapshot
from ..versions import dotted, parse_version

#: what each requirement name takes: a flag (no operator), a version, a count, a size, a rate, a code
KINDS: Dict[str, str] = {
    "torch": "pep440",            # torch's version, as pip compares it (bare `torch`: torch is installed)
    "cuda": "flag-or-dotted",     # torch sees CUDA (and, with an operator, torch's CUDA build version)
    "torch-cuda": "dotted",       # torch.version.cuda
    "driver": "dotted",           # NVIDIA driver version
    "driver-cuda": "dotted",      # the newest CUDA the driver runs
    "cudnn": "dotted",            # the cuDNN torch loads (or reports)
    "python": "dotted",           # the target interpreter
    "compute-capability": "dotted",  # every GPU
    "gpus": "count",              # number of GPUs nvidia-smi (else torch) sees
    "gpu-memory": "size",         # every GPU's total memory
    "no-warnings": "flag",        # no error or warning finding
    "no-errors": "flag",          # no error finding
    "no-finding": "code",         # this finding code is absent
}
SMOKE_DTYPES = ("fp32", "tf32", "fp16", "bf16")
for _dtype in SMOKE_DTYPES:
    KINDS[f"smoke-{_dtype}"] = "rate"  # TFLOP/s every GPU reaches in `envcheck smoke`

_OPS = {
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
_EXPR = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(?:(>=|<=|==|!=|>|<|=)\s*([^\s<>=!].*?))?\s*$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|[KMGT])?$", re.I)
_SIZE_MIB = {"k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0 ** 2}
_DECIMAL_MIB = {"k": 1e3 / 2 ** 20, "m": 1e6 / 2 ** 20, "g": 1e9 / 2 ** 20, "t": 1e12 / 2 ** 20}

EXAMPLES = ("torch>=2.3, cuda, gpus>=8, gpu-memory>=70GiB, driver>=535, compute-capability>=8.0, no-warnings, "
            "smoke-bf16>=500, no-finding=gpu-health")

MET, UNMET, UNKNOWN = "met", "unmet", "unknown"


@dataclass
class Requirement:
    #: the expression as written, normalised ("driver >= 535" -> "driver>=535")
    expr: str
    name: str
    op: Optional[str] = None
    value: Optional[str] = None
    #: where it came from: "--require" or the policy file's path
    origin: str = "--require"
    #: the parsed threshold: a tuple (dotted), int (count), MiB (size), TFLOP/s (rate), code, or None
    threshold: Any = None


@dataclass
class RequirementResult:
    requirement: Requirement
    #: met | unmet | unknown (an unknown fact never passes)
    status: str
    #: what was found (English; a Message, so it can be shown translated): "driver 580.159.04",
    #: "unknown: no NVIDIA driver found"
    reason: str
    #: the fact compared, as JSON-ready data (None when unknown)
    have: Any = None

    @property
    def met(self) -> bool:
        return self.status == MET


@dataclass
class PolicyResult:
    results: List[RequirementResult] = field(default_factory=list)
    #: the smoke test's report when a smoke-* requirement ran it, else None
    smoke: Any = None
    #: the smoke test's own findings (smoke-slow, smoke-wrong-result, ...) when it ran
    smoke_findings: List[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.met for r in self.results)

    @property
    def unmet(self) -> List[RequirementResult]:
        return [r for r in self.results if not r.met]


# --------------------------------------------------------------------------- parsing


class PolicyError(ValueError):
    """A requirement or policy file that cannot be used; ``message`` says why (worded where shown),
    ``str()`` is the English."""

    def __init__(self, message: Message) -> None:
        self.message = message
        super().__init__(str(message))


def parse_requirement(text: str, origin: str = "--require") -> Requirement:
    """One expression; PolicyError with the reason and the accepted forms when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise PolicyError(Message(N_("empty requirement (from {origin}); examples: {examples}"),
                                  origin=origin, examples=EXAMPLES))
    m = _EXPR.match(text)
    if not m:
        raise PolicyError(Message(N_("cannot parse requirement {text} (from {origin}); examples: {examples}"),
                                  text=repr(text), origin=origin, examples=EXAMPLES))
    name, op, value = m.group(1).lower().replace("_", "-"), m.group(2), m.group(3)
    kind = KINDS.get(name)
    if kind is None:
        raise PolicyError(Message(N_("unknown requirement {name} in {text} (from {origin}); known: {known}"),
                                  name=repr(name), text=repr(text), origin=origin, known=", ".join(sorted(KINDS))))

    def bad(msgid: str, **fields: Any) -> PolicyError:
        where = Message(N_("in {text} (from {origin})"), text=repr(text), origin=origin)
        return PolicyError(Message(msgid, where=where, **fields))

    if kind == "flag":
        if op is not None:
            raise bad(N_("{name} takes no operator or value {where}"), name=name)
        return Requirement(name, name, origin=origin)
    if kind == "code":
        from ..rules.codes import CODES

        if op not in ("=", "==") or not value:
            raise bad(N_("write {form} {where}"), form="no-finding=CODE")
        code = value.strip().lower()
        if code not in CODES:
            raise bad(N_("unknown finding code {value} {where}; see the findings table in docs/reference.md"), value=repr(value))
        return Requirement(f"no-finding={code}", name, "=", code, origin, code)
    if op is None:
        if kind in ("flag-or-dotted", "pep440"):  # bare `cuda`, bare `torch`
            return Requirement(name, name, origin=origin)
        raise bad(N_("{name} needs an operator and a value, e.g. {example} {where}"), name=name,
                  example=f"{name}>={_example(kind)}")
    op = "==" if op == "=" else op
    value = value.strip()
    threshold: Any
    if kind == "pep440":
        if parse_version(value) is None or not re.match(r"^\d", value):
            raise bad(N_("{value} is not a version {where}"), value=repr(value))
        threshold = value
    elif kind in ("dotted", "flag-or-dotted"):
        threshold = dotted(value) if re.fullmatch(r"\d+(\.\d+)*", value) else None
        if threshold is None:
            raise bad(N_("{value} is not a dotted version (like 535 or 8.0) {where}"), value=repr(value))
    elif kind == "count":
        if not value.isdigit():
            raise bad(N_("{value} is not a whole number {where}"), value=repr(value))
        threshold = int(value)
    elif kind == "size":
        threshold = parse_size_mib(value)
        if threshold is None:
            raise bad(N_("{value} is not a size (like 70GiB, 40GB, 81559MiB) {where}"), value=repr(value))
    else:  # rate
        try:
            threshold = float(value)
        except ValueError:
            raise bad(N_("{value} is not a number of TFLOP/s {where}"), value=repr(value)) from None
        if threshold < 0:
            raise bad(N_("{value} is negative {where}"), value=repr(value))
    return Requirement(f"{name}{op}{value}", name, op, value, origin, threshold)


def _example(kind: str) -> str:
    return {"count": "8", "size": "70GiB", "rate": "500", "dotted": "535"}.get(kind, "1")


def parse_size_mib(text: str) -> Optional[float]:
    """"70GiB" -> 71680.0 MiB; "40GB" -> decimal gigabytes; a bare number is GiB."""
    m = _SIZE.match(text.strip())
    if not m:
        return None
    number, unit = float(m.group(1)), (m.group(2) or "GiB")
    letter = unit[0].lower()
    if "i" in unit.lower() or len(unit) == 1:
        return number * _SIZE_MIB[letter]
    return number * _DECIMAL_MIB[letter]


def load_policy_file(path: Path) -> List[str]:
    """The ``require = [...]`` list of a TOML policy file; PolicyError when it cannot be used."""
    from ..knowledge import read_toml
    from ..textio import InputError

    path = Path(path).expanduser()
    if not path.exists():
        raise PolicyError(Message(N_("policy file {path} does not exist"), path=str(path)))
    try:
        data = read_toml(path)  # bounded, any BOM / UTF-16, depth-limited (envcheck.textio)
    except InputError as exc:
        raise PolicyError(Message(N_("cannot read policy file {path}: {reason}"), path=str(path),
                                  reason=exc.message)) from exc
    require = data.get("require")
    if require is None:
        raise PolicyError(Message(N_("policy file {path} has no {form} list"), path=str(path),
                                  form="`require = [...]`"))
    if not isinstance(require, list) or not all(isinstance(r, str) for r in require):
        raise PolicyError(Message(N_("policy file {path}: {key} must be a list of strings, e.g. {example}"),
                                  path=str(path), key="`require`", example='`require = ["torch>=2.3"]`'))
    return list(require)


def parse_requirements(exprs: List[str], policy_file: Optional[Path] = None) -> List[Requirement]:
    """The policy file's requirements, then the --require ones, each once; PolicyError for a bad one."""
    out: List[Requirement] = []
    seen = set()
    sources: List[Tuple[str, str]] = []
    if policy_file is not None:
        sources += [(e, str(policy_file)) for e in load_policy_file(policy_file)]
    sources += [(e, "--require") for e in exprs or []]
    for expr, origin in sources:
        req = parse_requirement(expr, origin)
        if req.expr not in seen:
            seen.add(req.expr)
            out.append(req)
    return out


def smoke_dtypes(requirements: List[Requirement]) -> List[str]:
    """The dtypes the smoke-* requirements need measured (empty: smoke need not run)."""
    return [d for d in SMOKE_DTYPES if any(r.name == f"smoke-{d}" for r in requirements)]


# --------------------------------------------------------------------------- evaluation


def _compare(have: Any, op: str, need: Any) -> bool:
    if isinstance(have, tuple) and isinstance(need, tuple):
        width = max(len(have), len(need))
        have, need = have + (0,) * (width - len(have)), need + (0,) * (width - len(need))
    return _OPS[op](have, need)


def _result(req: Requirement, ok: bool, reason: Message, have: Any = None) -> RequirementResult:
    return RequirementResult(req, MET if ok else UNMET, reason, have)


def _unknown(req: Requirement, why: Message) -> RequirementResult:
    return RequirementResult(req, UNKNOWN, Message(N_("unknown: {why}"), why=why), None)


def _needs(req: Requirement, found: Message) -> Message:
    return Message(N_("{found}, needs {requirement}"), found=found, requirement=f"{req.op}{req.value}")


def _found(req: Requirement, ok: bool, found: Message) -> Message:
    return found if ok else _needs(req, found)


def _torch_installed(snap: Snapshot) -> bool:
    t = snap.torch
    return bool(t.version or t.dist_version or t.location)


def _torch_absent_known(snap: Snapshot) -> bool:
    """No torch, and the target interpreter was examined (so absent, not unknown)."""
    return not _torch_installed(snap) and bool(snap.python.executable) and not snap.python.error


def _dotted_req(req: Requirement, label: Message, have: Optional[str], why_unknown: Message) -> RequirementResult:
    nums = dotted(have)
    if nums is None:
        return _unknown(req, why_unknown)
    ok = _compare(nums, req.op, req.threshold)
    return _result(req, ok, _found(req, ok, Message(N_("{what} {version}"), what=label, version=have)), have)


def _no_driver_why(snap: Snapshot) -> Message:
    d = snap.driver
    if d.status == "not-found":
        return Message(N_("no NVIDIA driver found"))
    if d.status and d.status != "ok":
        if d.status_message:
            return Message(N_("driver status {status} ({detail})"), status=d.status, detail=d.status_message)
        return Message(N_("driver status {status}"), status=d.status)
    return Message(N_("driver version not known"))


def _gpu_caps(snap: Snapshot) -> List[Tuple[int, str, Optional[str]]]:
    if snap.gpus:
        out = []
        by_index = {d.index: d for d in snap.torch.devices}
        for g in snap.gpus:
            cc = g.compute_capability or (by_index[g.index].capability if g.index in by_index else None)
            out.append((g.index, g.name or f"GPU {g.index}", cc))
        return out
    return [(d.index, d.name or f"GPU {d.index}", d.capability) for d in snap.torch.devices]


def _gpu_memories(snap: Snapshot) -> List[Tuple[int, str, Optional[int]]]:
    if snap.gpus:
        return [(g.index, g.name or f"GPU {g.index}", g.memory_total_mib) for g in snap.gpus]
    return [(d.index, d.name or f"GPU {d.index}", d.memory_total_mib) for d in snap.torch.devices]


def _gpu_count(snap: Snapshot) -> Tuple[Optional[int], Message]:
    """How many GPUs, and who says so (a Message naming the source, or why the count is unknown)."""
    if snap.gpus:
        return len(snap.gpus), Message("nvidia-smi")
    if snap.driver.status in ("not-found", "no-devices"):
        return 0, Message(N_("driver status {status}"), status=snap.driver.status)
    if snap.torch.device_count is not None:
        return snap.torch.device_count, Message("torch")
    if snap.driver.status == "ok":
        return 0, Message("nvidia-smi")
    return None, _no_driver_why(snap)


def _mib_text(mib: float) -> str:
    return f"{mib / 1024:.1f} GiB"


def _more(items: List[Message], limit: int = 4) -> Message:
    """The first ``limit`` items, and how many more there are."""
    if len(items) <= limit:
        return joined(items)
    return Message(N_("{items} (+{count} more)"), items=items[:limit], count=len(items) - limit)


def _each_gpu(req: Requirement, items, fmt: Callable[[Any], str], convert: Callable[[Any], Any],
              snap: Snapshot, what: Message) -> RequirementResult:
    """Every GPU must satisfy the requirement; unknown when a GPU's value is unknown."""
    if not items:
        count, why = _gpu_count(snap)
        if count is None:
            return _unknown(req, why)
        return _result(req, False, Message(N_("no GPU ({why})"), why=why), [])
    failing: List[Message] = []
    unknown: List[str] = []
    values = []
    for index, name, value in items:
        conv = convert(value) if value is not None else None
        if conv is None:
            unknown.append(f"GPU {index}")
            continue
        values.append(value)
        if not _compare(conv, req.op, req.threshold):
            failing.append(Message(N_("GPU {index} ({name}) {value}"), index=index, name=name, value=fmt(value)))
    if failing:
        return _result(req, False, _needs(req, _more(failing)), values)
    if unknown:
        return _unknown(req, Message(N_("{what} of {gpus} not known"), what=what, gpus=", ".join(unknown)))
    shown = sorted({fmt(v) for v in values})
    return _result(req, True, Message(N_("{count} GPU(s): {values}"), count=len(values), values=", ".join(shown)),
                   values)


def _findings_req(req: Requirement, findings: List[Finding]) -> RequirementResult:
    if req.name == "no-finding":
        hits = [f for f in findings if f.code == req.threshold]
        if hits:
            return _result(req, False, Message(N_("{code}: {title}"), code=req.threshold, title=hits[0].title),
                           [f.title for f in hits])
        return _result(req, True, Message(N_("no {code} finding"), code=req.threshold), [])
    levels = (Severity.ERROR,) if req.name == "no-errors" else (Severity.ERROR, Severity.WARNING)
    bad = [f for f in findings if f.severity in levels]
    if bad:
        codes = sorted({f.code for f in bad})
        template = N_("{count} error(s): {codes}") if req.name == "no-errors" else \
            N_("{count} error(s)/warning(s): {codes}")
        return _result(req, False, Message(template, count=len(bad), codes=", ".join(codes)), codes)
    return _result(req, True, Message(N_("none")), [])


def _smoke_req(req: Requirement, smoke: Any, smoke_error: Optional[Message]) -> RequirementResult:
    dtype = req.name.split("-", 1)[1]
    if smoke is None:
        return _unknown(req, smoke_error or Message(N_("the smoke test did not run")))
    if smoke.skipped:
        return _unknown(req, Message(N_("smoke test skipped: {reason}"), reason=smoke.skipped))
    if smoke.error:
        return _result(req, False, Message(N_("smoke test failed: {error}"), error=_one_line(smoke.error)))
    if not smoke.devices:
        return _unknown(req, Message(N_("the smoke test measured no GPU")))
    failing: List[Message] = []
    rates = []
    for dev in smoke.devices:
        label = f"GPU {dev.index}" + (f" ({dev.name})" if dev.name else "")
        r = next((m for m in dev.matmul if m.dtype == dtype), None)
        if dev.error:
            failing.append(Message(N_("{gpu} failed: {error}"), gpu=label, error=_one_line(dev.error)))
        elif r is None or (r.tflops is None and not r.error):
            failing.append(Message(N_("{gpu}: {dtype} not measured"), gpu=label, dtype=dtype))
        elif r.error:
            failing.append(Message(N_("{gpu}: {dtype} failed: {error}"), gpu=label, dtype=dtype,
                                   error=_one_line(r.error)))
        elif r.ok is False:
            failing.append(Message(N_("{gpu}: wrong {dtype} results"), gpu=label, dtype=dtype))
        else:
            rates.append(r.tflops)
            if not _compare(r.tflops, req.op, req.threshold):
                failing.append(Message(N_("{gpu} {rate} TFLOP/s"), gpu=label, rate=f"{r.tflops:.0f}"))
    if failing:
        return _result(req, False, _needs(req, _more(failing)), rates)
    rate = f"{min(rates):.0f}"
    if len(rates) > 1:
        found = Message(N_("{dtype} {rate} TFLOP/s (slowest of {count} GPUs)"), dtype=dtype, rate=rate,
                        count=len(rates))
    else:
        found = Message(N_("{dtype} {rate} TFLOP/s"), dtype=dtype, rate=rate)
    return _result(req, True, found, rates)


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _evaluate_one(req: Requirement, snap: Snapshot, findings: List[Finding]) -> RequirementResult:
    t = snap.torch
    name = req.name
    not_installed = Message(N_("torch is not installed"))
    if name == "torch":
        have = t.version or t.dist_version
        if not have:
            if _torch_absent_known(snap):
                return _result(req, False, not_installed)
            return _unknown(req, Message(N_("torch's version is not known")))
        found = Message(N_("{what} {version}"), what="torch", version=have)
        if req.op is None:
            return _result(req, True, found, have)
        ok = _torch_matches(have, req.op, req.threshold)
        if ok is None:
            return _unknown(req, Message(N_("cannot compare torch {version}"), version=repr(have)))
        return _result(req, ok, _found(req, ok, found), have)
    if name in ("cuda", "torch-cuda"):
        if not _torch_installed(snap):
            if _torch_absent_known(snap):
                return _result(req, False, not_installed)
            return _unknown(req, Message(N_("torch is not known")))
        if name == "cuda":
            if t.error and t.cuda_available is None:
                return _result(req, False, Message(N_("torch fails ({kind}): {error}"), kind=t.error_kind or "error",
                                                   error=_one_line(t.error)))
            if t.cuda_available is None:
                return _unknown(req, Message(N_("torch was not imported (--fast or a saved static snapshot)")))
            if not t.cuda_available:
                if not t.cuda and not t.hip:
                    why = Message(N_("a CPU-only build"))
                elif t.cuda_warning:
                    why = Message(N_("{warning}"), warning=_one_line(t.cuda_warning))
                else:
                    why = Message(N_("no usable GPU"))
                return _result(req, False, Message(N_("{call} is False: {why}"), call="torch.cuda.is_available()",
                                                   why=why), False)
            if req.op is None:
                if t.device_count:
                    found = Message(N_("torch {version} sees {count} GPU(s)"), version=t.version or "",
                                    count=t.device_count)
                else:
                    found = Message(N_("torch {version} sees the GPU(s)"), version=t.version or "")
                return _result(req, True, found, True)
        if not t.cuda:
            if t.hip:
                return _result(req, False, Message(N_("torch is a ROCm build ({version})"), version=t.hip))
            return _result(req, False, Message(N_("torch is a CPU-only build")))
        return _dotted_req(req, Message("torch CUDA"), t.cuda, Message(N_("torch's CUDA version is not known")))
    if name == "driver":
        return _dotted_req(req, Message(N_("driver")), snap.driver.version or snap.driver.kernel_module_version,
                           _no_driver_why(snap))
    if name == "driver-cuda":
        return _dotted_req(req, Message(N_("driver CUDA")), snap.driver.cuda_version, _no_driver_why(snap))
    if name == "cudnn":
        c = snap.cudnn
        have = (c.loaded.version if c.loaded else None) or c.torch_reported or t.cudnn
        if not have and _torch_absent_known(snap):
            return _unknown(req, Message(N_("torch is not installed, so no cuDNN is loaded")))
        return _dotted_req(req, Message("cuDNN"), have,
                           Message(N_("the cuDNN torch loads is not known (run without --fast)")))
    if name == "python":
        return _dotted_req(req, Message("Python"), snap.python.version,
                           Message(N_("the target interpreter's version is not known")))
    if name == "gpus":
        count, source = _gpu_count(snap)
        if count is None:
            return _unknown(req, source)
        ok = _compare(count, req.op, req.threshold)
        found = Message(N_("{count} GPU(s) ({source})"), count=count, source=source)
        return _result(req, ok, _found(req, ok, found), count)
    if name == "compute-capability":
        return _each_gpu(req, _gpu_caps(snap), str, dotted, snap, Message(N_("compute capability")))
    if name == "gpu-memory":
        return _each_gpu(req, _gpu_memories(snap), _mib_text, float, snap, Message(N_("memory")))
    if name in ("no-warnings", "no-errors", "no-finding"):
        return _findings_req(req, findings)
    raise ValueError(f"no evaluator for {name}")  # pragma: no cover - KINDS and this function agree


def _torch_matches(have: str, op: str, threshold: str) -> Optional[bool]:
    """PEP 440 comparison; a local tag in the threshold ("2.11.0+cu130") compares the local tag too."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    v = parse_version(have)
    if v is None:
        return None
    if "+" in threshold and op in ("==", "!="):
        same = v == parse_version(threshold)
        return same if op == "==" else not same
    try:
        return SpecifierSet(f"{op}{threshold}").contains(v.public, prereleases=True)
    except InvalidSpecifier:
        return None


def evaluate(requirements: List[Requirement], snapshot: Snapshot, findings: List[Finding],
             run_smoke: Optional[Callable[[], Any]] = None) -> PolicyResult:
    """Judge each requirement; ``run_smoke`` (returning a SmokeReport) is called once, only when needed.

    When the smoke test runs, its own findings (``smoke.judge``) join the findings that
    ``no-warnings``, ``no-errors`` and ``no-finding`` look at.
    """
    result = PolicyResult()
    smoke_error: Optional[Message] = None
    all_findings = list(findings)
    if any(r.name.startswith("smoke-") for r in requirements):
        if run_smoke is None:
            smoke_error = Message(N_("the smoke test cannot run here (a saved snapshot is judged, not this machine)"))
        else:
            try:
                result.smoke = run_smoke()
            except Exception as exc:  # the smoke runner must never sink the report
                smoke_error = Message(N_("the smoke test could not start: {error}"),
                                      error=f"{type(exc).__name__}: {exc}")
            if result.smoke is not None:
                from ..smoke.host import judge

                result.smoke_findings = judge(result.smoke, snapshot.gpus)
                all_findings += result.smoke_findings
    for req in requirements:
        if req.name.startswith("smoke-"):
            result.results.append(_smoke_req(req, result.smoke, smoke_error))
        else:
            result.results.append(_evaluate_one(req, snapshot, all_findings))
    return result


# --------------------------------------------------------------------------- output


def policy_data(result: PolicyResult) -> Dict[str, Any]:
    """The ``policy`` block of ``doctor --json``: reasons are Messages (their English in JSON); the smoke
    test's findings carry ``messages`` as doctor's findings do."""
    from ..render.report import finding_data
    from ..serde import to_data

    return {
        "ok": result.ok,
        "requirements": [{
            "expr": r.requirement.expr, "name": r.requirement.name, "op": r.requirement.op,
            "value": r.requirement.value, "origin": r.requirement.origin, "status": r.status, "met": r.met,
            "reason": r.reason, "have": r.have,
        } for r in result.results],
        "smoke": to_data(result.smoke) if result.smoke is not None else None,
        "smoke_findings": [finding_data(f) for f in result.smoke_findings],
    }


def smoke_runner(requirements: List[Requirement], python: Optional[str], gpus: List[Any], knowledge: Any,
                 timeout: float = 120.0) -> Optional[Callable[[], Any]]:
    """A callable that runs `envcheck smoke` for the dtypes the requirements name (None: none needed).

    Only those dtypes run, on every GPU, with no bandwidth or multi-GPU test: the least work that
    answers the requirement.
    """
    dtypes = smoke_dtypes(requirements)
    if not dtypes:
        return None

    def run() -> Any:
        from ..probes.target import context_for
        from ..smoke.host import build_report, make_config, parse_output, run_script

        ctx = context_for(python, min(timeout, 10.0), fast=True)
        config = make_config(gpus, knowledge, None, False)
        config["bandwidth_mib"] = 0
        for plan in config["plan"].values():
            plan["iters"] = {d: n for d, n in plan["iters"].items() if d in dtypes}
        return build_report(parse_output(run_script(ctx, config, timeout)), knowledge)

    return run
