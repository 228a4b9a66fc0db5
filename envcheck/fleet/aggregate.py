"""Aggregating many nodes' reports: distributions, nodes off the majority, smoke outliers, findings.

Works on the plain JSON of each report (no dataclasses, no rules) so 10,000 reports take seconds:
each record is boiled down to a small :class:`Node` as it is read and then dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..i18n import N_
from ..redact import redact_data
from .load import LoadStats, Record, Skipped, skipped, title_of

#: the facts whose distribution is shown, in order, with their labels (English, as in --json; translated where shown)
FACTS: List[Tuple[str, str]] = [
    ("driver", N_("NVIDIA driver")),
    ("torch", "torch"),
    ("cuda", N_("CUDA (torch build)")),
    ("gpu_model", N_("GPU model")),
    ("gpu_count", N_("GPUs per node")),
    ("cudnn", N_("cuDNN (loaded)")),
]
FACT_LABELS = dict(FACTS)
#: |robust z| above this marks a GPU's smoke rate as an outlier within its model (Iglewicz & Hoaglin)
Z_LIMIT = 3.5
#: fewer GPUs of one model than this and no outlier is called (the median and MAD mean little)
MIN_GROUP = 5
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
NONE, UNKNOWN = "none", "unknown"


@dataclass
class GpuRate:
    node: str
    gpu: int
    model: str
    dtype: str
    tflops: float
    z: Optional[float] = None


@dataclass
class Node:
    name: str
    sources: List[str] = field(default_factory=list)
    has_doctor: bool = False
    has_smoke: bool = False
    #: ok | degraded | broken, from the doctor report
    verdict: Optional[str] = None
    created_at: Optional[str] = None
    facts: Dict[str, str] = field(default_factory=dict)
    #: code -> (severity, title), from the doctor report (and its policy block's smoke findings); a title is a
    #: Message where the report carries ``messages`` (worded where shown), else the recorded English
    doctor_findings: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    #: code -> (severity, title), from a smoke report
    smoke_findings: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    #: True/False when the report carried a policy block
    policy_ok: Optional[bool] = None
    unmet: List[str] = field(default_factory=list)
    #: smoke rates from a smoke report, else from the doctor report's policy block
    rates: List[GpuRate] = field(default_factory=list)
    policy_rates: List[GpuRate] = field(default_factory=list)
    smoke_error: Optional[str] = None

    @property
    def findings(self) -> Dict[str, Tuple[str, str]]:
        out = dict(self.doctor_findings)
        for code, (sev, title) in self.smoke_findings.items():
            if code not in out or _SEVERITY_RANK.get(sev, 3) < _SEVERITY_RANK.get(out[code][0], 3):
                out[code] = (sev, title)
        return out

    @property
    def gpu_rates(self) -> List[GpuRate]:
        return self.rates if self.has_smoke else self.policy_rates


@dataclass
class Distribution:
    fact: str
    label: str
    #: (value, nodes), most common first
    values: List[Tuple[str, int]]
    majority: Optional[str]


@dataclass
class Difference:
    fact: str
    value: str
    majority: str


@dataclass
class FindingStat:
    code: str
    severity: str
    nodes: List[str]
    #: a Message from the report's own ``messages`` (worded where shown), or the English an older report recorded
    title: str


@dataclass
class SmokeGroup:
    model: str
    dtype: str
    gpus: int
    median: float
    mad: float
    low: float
    high: float


@dataclass
class Fleet:
    nodes: List[Node]
    skipped: List[Skipped]
    duplicates: int
    distributions: List[Distribution]
    differing: List[Tuple[str, List[Difference]]]
    outliers: List[GpuRate]
    groups: List[SmokeGroup]
    findings: List[FindingStat]

    @property
    def doctor_nodes(self) -> List[Node]:
        return [n for n in self.nodes if n.has_doctor]

    def verdicts(self) -> Dict[str, int]:
        c = Counter(n.verdict or UNKNOWN for n in self.doctor_nodes)
        return {k: c.get(k, 0) for k in ("ok", "degraded", "broken", UNKNOWN) if c.get(k, 0) or k != UNKNOWN}

    def policy(self) -> Dict[str, int]:
        ok = sum(1 for n in self.nodes if n.policy_ok is True)
        bad = sum(1 for n in self.nodes if n.policy_ok is False)
        return {"met": ok, "not_met": bad}


# --------------------------------------------------------------------------- one report -> facts


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def snapshot_facts(snap: Dict[str, Any]) -> Dict[str, str]:
    """The distribution facts of one snapshot (plain JSON), "none" when known absent, "unknown" else."""
    driver = snap.get("driver") or {}
    torch = snap.get("torch") or {}
    gpus = snap.get("gpus") or []
    status = driver.get("status")
    driver_known = status in ("ok", "not-found", "no-devices")
    torch_v = torch.get("version") or torch.get("dist_version")
    py = snap.get("python") or {}
    torch_absent = not torch_v and not torch.get("location") and bool(py.get("executable")) and not py.get("error")

    facts = {"driver": driver.get("version") or driver.get("kernel_module_version")
             or (NONE if status == "not-found" else UNKNOWN)}
    facts["torch"] = torch_v or (NONE if torch_absent else UNKNOWN)
    if torch_v:
        facts["cuda"] = torch.get("cuda") or (f"rocm {torch['hip']}" if torch.get("hip") else "cpu")
    else:
        facts["cuda"] = NONE if torch_absent else UNKNOWN
    names = sorted({str(g.get("name") or UNKNOWN) for g in gpus if isinstance(g, dict)})
    if names:
        facts["gpu_model"] = " + ".join(names)
        facts["gpu_count"] = str(len(gpus))
    else:
        facts["gpu_model"] = NONE if driver_known else UNKNOWN
        facts["gpu_count"] = "0" if driver_known else UNKNOWN
    cudnn = snap.get("cudnn") or {}
    loaded = _get(cudnn, "loaded", "version") or cudnn.get("torch_reported") or torch.get("cudnn")
    facts["cudnn"] = loaded or (NONE if torch_absent or facts["cuda"] == "cpu" else UNKNOWN)
    return facts


def _smoke_rates(smoke: Dict[str, Any]) -> Tuple[List[Tuple[int, str, str, float]], Optional[str]]:
    if not isinstance(smoke, dict):
        return [], None
    if smoke.get("error"):
        return [], redact_data(str(smoke["error"]))
    out = []
    for dev in smoke.get("devices") or []:
        if not isinstance(dev, dict):
            continue
        model = str(dev.get("name") or UNKNOWN)
        for m in dev.get("matmul") or []:
            rate = m.get("tflops") if isinstance(m, dict) else None
            if isinstance(rate, (int, float)) and rate > 0 and m.get("ok") is not False and not m.get("error"):
                out.append((int(dev.get("index") or 0), model, str(m.get("dtype")), float(rate)))
    return out, None


def _add_findings(into: Dict[str, Tuple[str, str]], findings: Any, titles: Dict[str, Any]) -> None:
    """``titles``: the titles already read, by what gives them (most nodes report the same findings)."""
    for f in findings or []:
        if isinstance(f, dict) and f.get("code"):
            code, sev = str(f["code"]), str(f.get("severity") or "info")
            old = into.get(code)
            if old is None or _SEVERITY_RANK.get(sev, 3) < _SEVERITY_RANK.get(old[0], 3):
                messages = f.get("messages")
                key = repr((f.get("title"), messages.get("title") if isinstance(messages, dict) else None))
                title = titles.get(key)
                if title is None:
                    title = titles[key] = title_of(f)
                into[code] = (sev, title)


@dataclass
class Digest:
    """All the aggregate takes from one report, read from it alone (so worker processes can read many at once)."""

    #: classify's answer, and the report's schema_version
    kind: Optional[str]
    version: Any = 1
    #: the name the report gives its node ("node"), and its snapshot's hostname
    node: Optional[str] = None
    hostname: Optional[str] = None
    created: Any = None
    facts: Dict[str, str] = field(default_factory=dict)
    verdict: Optional[str] = None
    findings: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    policy_ok: Optional[bool] = None
    unmet: List[str] = field(default_factory=list)
    #: (gpu, model, dtype, TFLOP/s) of the smoke report, or of the doctor report's policy block
    rates: List[Tuple[int, str, str, float]] = field(default_factory=list)
    smoke_error: Optional[str] = None


def digest(data: Dict[str, Any], titles: Optional[Dict[str, Any]] = None) -> Digest:
    """What the aggregate takes from one report (``titles``: see :func:`_add_findings`)."""
    titles = titles if titles is not None else {}
    kind = classify(data)
    if kind is None:
        return Digest(None)
    version = data.get("schema_version", 1)
    if version != 1:
        return Digest(kind, version)
    snap = data["snapshot"] if kind == "doctor" else data if kind == "snapshot" else None
    node = data.get("node") if isinstance(data.get("node"), str) else None
    out = Digest(kind, version, node, _get(snap, "system", "hostname") if snap else None)
    if snap is None:
        out.rates, out.smoke_error = _smoke_rates(data["smoke"])
        _add_findings(out.findings, data.get("findings"), titles)
        return out
    out.created = _get(snap, "meta", "created_at")
    out.facts = snapshot_facts(snap)
    out.verdict = data.get("verdict") if kind == "doctor" else None
    _add_findings(out.findings, data.get("findings"), titles)
    policy = data.get("policy")
    if isinstance(policy, dict):
        out.policy_ok = bool(policy.get("ok"))
        out.unmet = [redact_data(str(r.get("expr"))) for r in policy.get("requirements") or []
                     if isinstance(r, dict) and not r.get("met")]
        _add_findings(out.findings, policy.get("smoke_findings"), titles)
        if isinstance(policy.get("smoke"), dict):
            out.rates, out.smoke_error = _smoke_rates(policy["smoke"])
    return out


def classify(data: Dict[str, Any]) -> Optional[str]:
    """"doctor" (a doctor --json report or a bare snapshot), "smoke", or None (not an envcheck report)."""
    if isinstance(data.get("snapshot"), dict):
        return "doctor"
    if isinstance(data.get("smoke"), dict):
        return "smoke"
    if isinstance(data.get("driver"), dict) and "schema_version" in data:
        return "snapshot"
    return None


# --------------------------------------------------------------------------- many reports


class Aggregator:
    """Feed it records one at a time (``add``), then ``result()``."""

    def __init__(self) -> None:
        self.nodes: Dict[str, Node] = {}
        self.skipped: List[Skipped] = []
        self.duplicates = 0
        self._last_doctor: Dict[str, str] = {}
        self._titles: Dict[str, Any] = {}

    def _name(self, rec: Record, kind: str, report: "Digest") -> str:
        name = report.node or report.hostname
        if not name and kind == "smoke":  # a smoke report follows its node's doctor report in one stream
            name = self._last_doctor.get(rec.source)
        if not name:
            if rec.name_hint:
                name = rec.name_hint if rec.position == 0 else f"{rec.name_hint}#{rec.position}"
            else:
                name = f"{rec.source}#{rec.position}"
        return str(name)

    def add(self, rec: Record) -> None:
        self.add_digest(rec, digest(rec.data, self._titles))

    def add_digest(self, rec: Record, report: "Digest") -> None:
        where = rec.source if rec.position == 0 else f"{rec.source}#{rec.position}"
        kind = report.kind
        if kind is None:
            self.skipped.append(skipped(where, N_("not an envcheck doctor or smoke report")))
            return
        if report.version != 1:
            self.skipped.append(skipped(where, N_("schema_version {version} is not supported"),
                                        version=repr(report.version)))
            return
        name = self._name(rec, kind, report)
        node = self.nodes.get(name)
        if node is None:
            node = self.nodes[name] = Node(name)
        node.sources.append(where)
        rates = [GpuRate(name, *rate) for rate in report.rates]
        if kind != "smoke":
            created = report.created
            if node.has_doctor:
                self.duplicates += 1
                if created and node.created_at and str(created) < str(node.created_at):
                    return  # an older report of a node already seen: keep the newer one
            node.has_doctor = True
            node.created_at = created
            node.facts = report.facts
            node.verdict = report.verdict
            node.doctor_findings, node.policy_ok, node.unmet = report.findings, report.policy_ok, report.unmet
            node.policy_rates = rates
            node.smoke_error = node.smoke_error or report.smoke_error
            self._last_doctor[rec.source] = name
        else:
            if node.has_smoke:
                self.duplicates += 1
            node.has_smoke = True
            node.rates, node.smoke_error = rates, report.smoke_error
            node.smoke_findings = report.findings

    def result(self) -> "Fleet":
        nodes = sorted(self.nodes.values(), key=lambda n: n.name)
        return build(nodes, self.skipped, self.duplicates)


def build(nodes: List[Node], skipped: List[Skipped], duplicates: int = 0) -> Fleet:
    doctor = [n for n in nodes if n.has_doctor]
    distributions = []
    for fact, label in FACTS:
        counts = Counter(n.facts.get(fact, UNKNOWN) for n in doctor)
        values = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        distributions.append(Distribution(fact, label, values, values[0][0] if values else None))
    majority = {d.fact: d.majority for d in distributions}
    differing = []
    for n in doctor:
        diffs = [Difference(f, n.facts.get(f, UNKNOWN), majority[f]) for f, _label in FACTS
                 if majority[f] is not None and n.facts.get(f, UNKNOWN) != majority[f]]
        if diffs:
            differing.append((n.name, diffs))
    differing.sort(key=lambda item: (-len(item[1]), item[0]))
    outliers, groups = smoke_outliers([r for n in nodes for r in n.gpu_rates])
    return Fleet(nodes, skipped, duplicates, distributions, differing, outliers, groups, rank_findings(nodes))


def median(values: List[float]) -> float:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def robust_z(values: List[float]) -> List[float]:
    """Iglewicz-Hoaglin modified z-scores, 0.6745 (x - median) / MAD.

    When more than half the values are equal (MAD = 0) the mean absolute deviation stands in
    (z = (x - median) / (1.253314 MeanAD)); when every value is equal, all scores are 0.
    """
    if not values:
        return []
    med = median(values)
    dev = [abs(v - med) for v in values]
    mad = median(dev)
    if mad > 0:
        return [0.6745 * (v - med) / mad for v in values]
    mean_ad = sum(dev) / len(dev)
    if mean_ad > 0:
        return [(v - med) / (1.253314 * mean_ad) for v in values]
    return [0.0 for _value in values]


def smoke_outliers(rates: List[GpuRate], limit: float = Z_LIMIT,
                   min_group: int = MIN_GROUP) -> Tuple[List[GpuRate], List[SmokeGroup]]:
    """GPUs whose smoke rate is an outlier among GPUs of the same model and dtype (|robust z| > limit)."""
    by_group: Dict[Tuple[str, str], List[GpuRate]] = {}
    for r in rates:
        by_group.setdefault((r.model, r.dtype), []).append(r)
    outliers, groups = [], []
    for (model, dtype), members in sorted(by_group.items()):
        values = [r.tflops for r in members]
        med = median(values)
        mad = median([abs(v - med) for v in values])
        groups.append(SmokeGroup(model, dtype, len(values), med, mad, min(values), max(values)))
        if len(members) < min_group:
            continue
        for r, z in zip(members, robust_z(values)):
            r.z = z
            if abs(z) > limit:
                outliers.append(r)
    outliers.sort(key=lambda r: (r.z if r.z is not None else 0.0, r.node, r.gpu))
    return outliers, groups


def rank_findings(nodes: List[Node]) -> List[FindingStat]:
    stats: Dict[str, FindingStat] = {}
    for n in nodes:
        for code, (sev, title) in n.findings.items():
            st = stats.get(code)
            if st is None:
                st = stats[code] = FindingStat(code, sev, [], title)
            elif _SEVERITY_RANK.get(sev, 3) < _SEVERITY_RANK.get(st.severity, 3):
                st.severity, st.title = sev, title
            st.nodes.append(n.name)
    return sorted(stats.values(), key=lambda s: (-len(s.nodes), _SEVERITY_RANK.get(s.severity, 3), s.code))


def aggregate(records: Iterable[Record], stats: Optional[LoadStats] = None) -> Fleet:
    """The fleet view of every record (and of the load's skipped parts, when ``stats`` is given)."""
    import gc

    agg = Aggregator()
    # tens of thousands of parsed objects come and go: the cyclic collector would rescan the kept
    # nodes again and again (a third of the time at 10,000 reports) and there are no cycles to find
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rec in records:
            agg.add(rec)
        if stats is not None:
            agg.skipped = stats.skipped + agg.skipped
        return agg.result()
    finally:
        if was_enabled:
            gc.enable()
