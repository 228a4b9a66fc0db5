"""`envcheck diff A B`: a working and a broken machine side by side, only what differs.

Both sides are doctor reports (``doctor --json``) or saved snapshots (``doctor --save``); a report's
findings are taken as recorded (their titles worded from the report's own ``messages`` where shown), a bare
snapshot's are worked out with the rules. The facts are flattened to dotted keys (lists of
GPUs, libraries, toolkits and packages keyed by index, name or path, so reordering is no
difference), noise that always differs between two runs (timings, temperatures, UUIDs, free memory,
host names) is left out, and what remains is ordered by how often it explains a broken machine:
driver, GPUs, the torch build, the cuDNN torch loads, the libraries it loads, CUDA toolkits,
packages, environment variables, then the rest. Loading and comparing only: the views are in
:mod:`.render_diff`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..i18n import N_, Message
from ..redact import redact_data, redact_url
from .load import title_of

#: (key prefix, section), most telling first; the first prefix a key starts with decides its rank
SECTIONS: List[Tuple[str, str]] = [
    ("driver.", "driver"),
    ("gpus", "gpus"),
    ("torch.devices", "gpus"),
    ("torch.loaded_libraries", "loaded libraries"),
    ("torch.", "torch build"),
    ("cudnn.", "cudnn"),
    ("cuda_toolkits", "toolkits"),
    ("python.packages", "packages"),
    ("conda.packages", "packages"),
    ("env.", "env"),
]
SECTION_ORDER = ["driver", "gpus", "torch build", "cudnn", "loaded libraries", "toolkits", "packages", "env", "other"]
#: within "torch build", these keys come first (the build itself), in this order
_TORCH_FIRST = ["torch.version", "torch.cuda", "torch.arch_list", "torch.cuda_available", "torch.error",
                "torch.error_kind", "torch.hip", "torch.cudnn", "torch.nccl", "torch.git_version"]

#: keys that differ between any two runs and explain nothing
_NOISE = re.compile(
    r"^(meta\..*|system\.(hostname|ram_available_mib|disk_free_mib|disk_path)|torch\.(import_s|cuda_init_s)"
    r"|gpus\[.*\]\.(uuid|memory_used_mib|temperature_c|power_draw_w|sm_clock_mhz|processes\[.*)"
    r"|probe_issues\[.*\]\.duration_s|schema_version)$")

#: how items of a list of objects are keyed (so order does not matter): list path -> field
_LIST_KEYS = {
    "gpus": "index", "torch.devices": "index", "torch.loaded_libraries": "name", "cuda_toolkits": "path",
    "cudnn.system": "path", "cudnn.conda": "path", "driver.pci_devices": "address", "system.compilers": "name",
    "conda.condarc": "path", "probe_issues": "probe", "pip.settings": "key",
}


@dataclass
class FactDiff:
    key: str
    section: str
    a: Any
    b: Any
    #: "value": one fact; "item": a whole object (a GPU, a package, a cuDNN copy) only one side has
    kind: str = "value"


@dataclass
class Side:
    label: str
    snapshot: Dict[str, Any]
    findings: List[Dict[str, Any]]
    verdict: Optional[str] = None
    #: True when the findings were worked out here (the file was a bare snapshot)
    evaluated: bool = False


@dataclass
class DiffResult:
    a: Side
    b: Side
    facts: List[FactDiff] = field(default_factory=list)
    only_a: List[Dict[str, Any]] = field(default_factory=list)
    only_b: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.facts or self.only_a or self.only_b)


# --------------------------------------------------------------------------- loading


class NotComparable(ValueError):
    """A file ``diff`` cannot compare: ``message`` says why (worded where shown), ``str()`` is the English."""

    def __init__(self, message: Message) -> None:
        self.message = message
        super().__init__(str(message))


class NotAReport(NotComparable):
    """The file is JSON, but neither a doctor report nor a snapshot."""


def side_from_data(data: Any, label: str, knowledge: Any = None) -> Side:
    """A side from a doctor report or a bare snapshot (ValueError when it is neither).

    A report's findings are taken as recorded, their titles Messages from the report's own ``messages``;
    a bare snapshot has none, so it is judged here."""
    from ..snapshot import Snapshot

    if not isinstance(data, dict) or not (isinstance(data.get("snapshot"), dict) or isinstance(data.get("driver"), dict)):
        raise NotAReport(Message(N_("neither a doctor report nor a snapshot (a smoke report cannot be compared)")))
    snap = Snapshot.from_dict(data)  # ValueError on a wrong shape or schema version
    from ..redact import redact_env

    snap_data = redact_data(snap.to_dict())  # every key present, whatever version wrote the file
    snap_data["env"] = {k: redact_env(k, v) if isinstance(v, str) else v for k, v in (snap_data.get("env") or {}).items()}
    if isinstance(data, dict) and isinstance(data.get("findings"), list) and isinstance(data.get("snapshot"), dict):
        findings = [recorded_finding(f) for f in data["findings"] if isinstance(f, dict)]
        return Side(_label(snap_data, label), snap_data, findings, data.get("verdict"))
    from ..knowledge import Knowledge
    from ..render.report import Report, report_data
    from ..rules import evaluate

    report = report_data(Report(snap, evaluate(snap, knowledge or Knowledge())))
    findings = [recorded_finding(f) for f in report["findings"]]
    return Side(_label(snap_data, label), snap_data, findings, report["verdict"], evaluated=True)


def recorded_finding(f: Dict[str, Any]) -> Dict[str, Any]:
    """A finding of a side as its report recorded it, credentials hidden, its title a Message where the report
    carries ``messages`` (see :func:`.load.title_of`): shown in the reader's language without judging again."""
    out = redact_data({k: v for k, v in f.items() if k != "messages"})
    if isinstance(f.get("title"), str):
        out["title"] = _redacted_title(title_of(f))
    return out


def _redacted_title(title: str) -> str:
    english = redact_url(str(title))
    if isinstance(title, Message):
        hidden = title.mapped(redact_url)
        if str(hidden) == english:
            return hidden
    return english


def load_side(path: Path, knowledge: Any = None) -> Side:
    """NotComparable (with the path, and why) when the file cannot be read or is not a report or snapshot.

    The file is read as every reader reads one (:mod:`envcheck.textio`: bounded, any BOM or UTF-16, depth-limited)
    and checked field by field (:mod:`envcheck.shape`), so a wrong type anywhere names the file and the field."""
    from ..shape import check_report
    from ..textio import InputError, read_json

    source = str(path)
    try:
        data = read_json(path, source=source)
        if isinstance(data, dict) and "smoke" in data and "snapshot" not in data:
            raise NotAReport(Message(N_("neither a doctor report nor a snapshot (a smoke report cannot be compared)")))
        check_report(data, source, kinds=("doctor", "snapshot"))
    except InputError as exc:
        raise NotComparable(exc.message) from exc
    except NotAReport as exc:
        raise NotComparable(Message(N_("{path} is not an envcheck report or snapshot: {reason}"), path=source,
                                    reason=exc.message)) from exc
    try:
        return side_from_data(data, Path(path).name, knowledge)
    except NotAReport as exc:
        raise NotComparable(Message(N_("{path} is not an envcheck report or snapshot: {reason}"), path=source,
                                    reason=exc.message)) from exc
    except (ValueError, TypeError) as exc:  # the snapshot reader's own words: quoted as they are
        raise NotComparable(Message(N_("{path} is not an envcheck report or snapshot: {error}"), path=source,
                                    error=str(exc))) from exc


def _label(snap: Dict[str, Any], fallback: str) -> str:
    host = (snap.get("system") or {}).get("hostname")
    return f"{fallback} ({host})" if host else fallback


# --------------------------------------------------------------------------- flattening


#: what stands for a whole item when only one side has it (a GPU by its name, a package by its version)
_SUMMARY_FIELDS = ("name", "full_version", "version", "path", "value", "kind")


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def _summary(item: Dict[str, Any]) -> str:
    parts = [str(item[f]) for f in _SUMMARY_FIELDS if item.get(f) not in (None, "", [], {})]
    if not parts:
        parts = [f"{k}={v}" for k, v in item.items() if isinstance(v, (str, int, float)) and v not in ("",)][:3]
    return " ".join(dict.fromkeys(parts[:2])) or "present"


def flatten(data: Any, prefix: str = "", out: Optional[Dict[str, Any]] = None,
            groups: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Nested snapshot data -> {"driver.version": "580.159.04", "gpus[0].name": ..., "env.CUDA_HOME": ...}.

    ``groups`` (when given) receives every nested object's path with a one-line summary, so an item
    only one side has (a second GPU, a package) shows as one line, not one per field.
    """
    out = {} if out is None else out
    if isinstance(data, dict):
        if groups is not None and ("." in prefix or "[" in prefix):
            groups[prefix] = _summary(data)
        for k, v in data.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out, groups)
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        key_field = _LIST_KEYS.get(prefix)
        seen: Dict[str, int] = {}
        for i, item in enumerate(data):
            ident = item.get(key_field) if key_field else None
            ident = str(ident) if ident not in (None, "") else str(i)
            if ident in seen:  # two items with one key: keep both apart
                seen[ident] += 1
                ident = f"{ident}#{seen[ident]}"
            else:
                seen[ident] = 0
            flatten(item, f"{prefix}[{ident}]", out, groups)
    elif isinstance(data, list) and not data:
        out[prefix] = ""
    else:
        out[prefix] = _scalar(data)
    return out


def _under(key: str, group: str) -> bool:
    return key == group or key.startswith(group + ".") or key.startswith(group + "[")


def _group_of(key: str, groups: Dict[str, None]) -> Optional[str]:
    """The outermost of ``groups`` that ``key`` is under (see :func:`_under`), or None. Looks up the key's own
    prefixes (each ends before a "." or "["), so the cost is the key's length, not the number of groups: a side
    with 20,000 items the other lacks once took minutes."""
    for i, char in enumerate(key):
        if char in ".[" and key[:i] in groups:
            return key[:i]
    return key if key in groups else None


def section_of(key: str) -> str:
    for prefix, section in SECTIONS:
        if key.startswith(prefix):
            return section
    return "other"


def _order(key: str, position: int) -> Tuple[int, int, int]:
    section = section_of(key)
    first = _TORCH_FIRST.index(key) if key in _TORCH_FIRST else len(_TORCH_FIRST)
    return SECTION_ORDER.index(section), first, position


def diff_facts(a: Dict[str, Any], b: Dict[str, Any]) -> List[FactDiff]:
    ga: Dict[str, str] = {}
    gb: Dict[str, str] = {}
    fa, fb = flatten(a, groups=ga), flatten(b, groups=gb)
    lone = sorted((p for p in set(ga) ^ set(gb) if not _NOISE.match(p + ".x")), key=len)
    outer: Dict[str, None] = {}
    for p in lone:  # keep the outermost: a missing GPU is one line, not one per nested object
        if _group_of(p, outer) is None:
            outer[p] = None
    keys = list(fa) + [k for k in fb if k not in fa]
    out = []
    emitted = set()
    for pos, key in enumerate(keys):
        group = _group_of(key, outer)
        if group is not None:
            if group not in emitted:
                emitted.add(group)
                out.append((_order(group, pos), FactDiff(group, section_of(group), ga.get(group), gb.get(group), "item")))
            continue
        if _NOISE.match(key):
            continue
        va, vb = fa.get(key), fb.get(key)
        if _blank(va) and _blank(vb):
            continue
        if va != vb:
            out.append((_order(key, pos), FactDiff(key, section_of(key), va, vb)))
    out.sort(key=lambda item: item[0])
    return [d for _order_key, d in out]


def _blank(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def diff_sides(a: Side, b: Side) -> DiffResult:
    result = DiffResult(a, b, diff_facts(a.snapshot, b.snapshot))
    codes_a = {f.get("code") for f in a.findings}
    codes_b = {f.get("code") for f in b.findings}
    result.only_a = [f for f in a.findings if f.get("code") not in codes_b]
    result.only_b = [f for f in b.findings if f.get("code") not in codes_a]
    return result


def diff_files(path_a: Path, path_b: Path, knowledge: Any = None) -> DiffResult:
    """NotComparable (see :func:`load_side`) when a file cannot be compared."""
    return diff_sides(load_side(path_a, knowledge), load_side(path_b, knowledge))


# --------------------------------------------------------------------------- JSON


def finding_brief(f: Dict[str, Any]) -> Dict[str, Any]:
    """What diff shows of a finding: its code, severity and title (a Message where the report carried one)."""
    sev = f.get("severity")
    return {"code": f.get("code"), "severity": getattr(sev, "value", sev), "title": f.get("title")}


def diff_data(result: DiffResult) -> Dict[str, Any]:
    """The `diff --json` object (English texts)."""
    return redact_data({
        "schema_version": 1,
        "a": {"label": result.a.label, "verdict": result.a.verdict},
        "b": {"label": result.b.label, "verdict": result.b.verdict},
        "same": result.same,
        "facts": [{"key": d.key, "section": d.section, "kind": d.kind, "a": d.a, "b": d.b} for d in result.facts],
        "findings": {"only_a": [finding_brief(f) for f in result.only_a],
                     "only_b": [finding_brief(f) for f in result.only_b]},
    })
