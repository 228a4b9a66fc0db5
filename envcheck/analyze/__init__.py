"""``envcheck analyze``: the doctor's diagnosis from pasted text instead of a live machine.

Pipeline: each input is cleaned and split into typed blocks (:mod:`.detect`), each block goes to
its parser, everything merges into one partial snapshot (:mod:`.merge`), the error-signature
catalogue is searched in every input (:mod:`.signatures`), and then the same rules as doctor run on
the snapshot. Findings that come from a message carry its evidence (input, line, text); when a rule
already reached the same conclusion from the facts, the evidence is attached to the rule's finding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..findings import Finding, Severity, sort_findings
from ..i18n import N_, DataText, Message, Sentences
from ..knowledge import Knowledge, KnowledgeError
from ..snapshot import Snapshot
from .detect import Block, clean_lines, split_lines
from .detect import detect as detect_blocks
from .logs import find_messages
from .merge import Merger
from .signatures import Hit, Signature, code_info, fill, load_catalogue, step_pieces

#: most evidence lines kept per finding
EVIDENCE_LIMIT = 5


@dataclass
class Input:
    name: str
    text: str
    #: the 0-based line of the whole file that ``text`` starts on (the tail of a log too big to read whole)
    first_line: int = 0


@dataclass
class Parsed:
    """Everything read from the inputs, before any judgement."""

    snapshot: Snapshot
    blocks: List[Block]
    hits: List[Hit]
    merger: Merger
    parse_s: float = 0.0


@dataclass
class AnalyzeResult:
    snapshot: Snapshot
    findings: List[Finding]
    blocks: List[Block] = field(default_factory=list)
    hits: List[Hit] = field(default_factory=list)
    #: in English (as JSON shows them); :func:`envcheck.i18n.text_in` shows one in another language
    notes: List[str] = field(default_factory=list)
    parse_s: float = 0.0

    @property
    def recognised(self) -> bool:
        """Whether anything in the input was recognised: a known output, or a known error message. When not,
        there is no verdict to give (an empty finding list would wrongly read as "sound")."""
        return bool(self.findings or self.hits or any(b.kind != "log" for b in self.blocks))

    def blocks_summary(self) -> List[Dict[str, object]]:
        return [{"input": b.input, "kind": b.kind, "lines": [b.start + 1, b.end]} for b in self.blocks
                if b.kind != "log"]


def parse_inputs(inputs: Sequence[Input], knowledge: Optional[Knowledge] = None,
                 signatures: Optional[Sequence[Signature]] = None) -> Parsed:
    """Detect, parse and merge every input into one partial snapshot (no rules run)."""
    start = time.perf_counter()
    if signatures is None:
        signatures = load_catalogue()
    merger = Merger(knowledge=knowledge)
    blocks: List[Block] = []
    hits: List[Tuple[Hit, str]] = []
    for item in inputs:
        raw = split_lines(item.text)
        clean = clean_lines(raw)
        found = detect_blocks(clean, item.name)
        for block in found:
            block.start += item.first_line
            block.end += item.first_line
        blocks.extend(found)
        merger.scan_text(clean)
        for block in found:
            if block.kind == "log":
                continue
            try:
                merger.apply_block(block)
            except Exception as exc:  # a parser bug must not sink the analysis: say so and go on
                merger.notes.append(Message(N_("{input} lines {first}-{last}: could not read this {kind} block "
                                            "({error}); please report it"), input=item.name, first=block.start + 1,
                                         last=block.end, kind=block.kind, error=f"{type(exc).__name__}: {exc}"))
        for hit in find_messages(item.name, clean, raw, signatures):
            hit.line += item.first_line
            hits.append((hit, item.text))
    for hit, text in hits:
        merger.apply_hit(hit, text)
    snapshot = merger.finish()
    elapsed = time.perf_counter() - start
    snapshot.meta.duration_s = round(elapsed, 4)
    return Parsed(snapshot, blocks, [h for h, _ in hits], merger, elapsed)


def _evidence(hit: Hit) -> Dict[str, object]:
    return {"input": hit.input, "line": hit.line + 1, "text": hit.text}


def _evidence_sentence(items: List[Dict[str, object]], occurrences: int) -> Message:
    first = items[0]
    sentence = Message(N_('Evidence: {input}, line {line}: "{text}"'), input=first["input"], line=first["line"],
                       text=first["text"])
    if occurrences > 1:
        sentence += Message(N_(" (seen on {count} lines)"), count=occurrences)
    return sentence


def _join(first: str, second: str) -> str:
    """Two sentences of a detail: a space between them, none after Chinese punctuation (when shown)."""
    if not first or not second:
        return first or second
    return Sentences([first, second])


def signature_findings(hits: Sequence[Hit], catalogue_order: Optional[Dict[str, int]] = None) -> List[Finding]:
    """One finding per code implied by the matched messages, its evidence in its facts."""
    return [f for f, _sentence in _signature_findings(hits, catalogue_order)]


def _signature_findings(hits: Sequence[Hit], catalogue_order: Optional[Dict[str, int]]) -> List[Tuple[Finding, str]]:
    """(finding, its evidence sentence) per code implied by the matched messages."""
    by_code: Dict[str, List[Hit]] = {}
    for hit in hits:
        if hit.signature.code:
            by_code.setdefault(hit.signature.code, []).append(hit)
    order = catalogue_order or {}
    findings: List[Tuple[Finding, str]] = []
    for code, group in by_code.items():
        group.sort(key=lambda h: (order.get(h.signature.id, 0), h.input, h.line, h.offset))
        lead = group[0]
        sig = lead.signature
        seen = []
        for hit in group:
            key = (hit.input, hit.line)
            if key not in seen:
                seen.append(key)
        evidence = []
        for hit in sorted(group, key=lambda h: (h.input, h.line)):
            item = _evidence(hit)
            if item not in evidence:
                evidence.append(item)
        lead_item = _evidence(lead)
        evidence.remove(lead_item)
        evidence.insert(0, lead_item)
        facts: Dict[str, object] = {k: lead.values[k] for k in sig.facts if k in lead.values}
        facts["evidence"] = lead_item
        if len(evidence) > 1:
            facts["evidence_more"] = evidence[1:EVIDENCE_LIMIT]
        facts["signature"] = sig.id
        facts["source"] = sig.source
        values = lead.values
        sentence = _evidence_sentence(evidence, len(seen))
        detail = _join(fill([DataText(sig.detail)], values), sentence)
        info = code_info(code)
        findings.append((Finding(code=code, severity=Severity(sig.severity),
                                 title=fill([DataText(sig.title)], values), detail=detail,
                                 fix=[fill(step_pieces(f), values) for f in sig.fix],
                                 section=info.section if info else sig.section, facts=facts), sentence))
    return findings


def combine(rule_findings: List[Finding], sig_findings: List[Finding],
            sentences: Optional[Sequence[str]] = None) -> List[Finding]:
    """Rule findings first; a message's finding whose code a rule already raised lends it its evidence.

    ``sentences``: the evidence sentence of each message finding (from :func:`_signature_findings`);
    without them it is looked for in the detail by its English start.
    """
    out = list(rule_findings)
    for i, sf in enumerate(sig_findings):
        target = next((f for f in out if f.code == sf.code), None)
        if target is None:
            out.append(sf)
            continue
        for key in ("evidence", "evidence_more", "signature", "source"):
            if key in sf.facts and key not in target.facts:
                target.facts[key] = sf.facts[key]
        if sf.severity.rank < target.severity.rank:  # the paste shows it failing: as severe as the message says
            target.severity = sf.severity
        if sentences is not None:
            sentence = sentences[i]
        else:
            sentence = sf.detail[sf.detail.find("Evidence: "):] if "Evidence: " in sf.detail else ""
        if sentence and sentence not in target.detail:
            target.detail = _join(target.detail, sentence)
    return out


def _paired(snap: Snapshot, knowledge: Knowledge) -> Optional[Tuple[str, str]]:
    """(torch, torchvision) when both are known and are the release pair the data records."""
    from ..versions import parse_version, public_version

    t = snap.torch.version or snap.torch.dist_version
    vision = snap.python.packages.get("torchvision")
    if not t or vision is None or not vision.version:
        return None
    try:
        release = knowledge.torch_release(t)
    except (KnowledgeError, TypeError, ValueError):
        return None
    expected = getattr(release, "torchvision", None) if release else None
    if expected and parse_version(public_version(vision.version)) == parse_version(expected):
        return public_version(t) or t, public_version(vision.version) or vision.version
    return None


def judge(parsed: Parsed, knowledge: Knowledge) -> AnalyzeResult:
    """The doctor's rules on the merged snapshot, plus the findings the messages imply (worded where shown)."""
    from ..rules import evaluate

    snap = parsed.snapshot
    notes = list(parsed.merger.notes)
    rule_findings = evaluate(snap, knowledge)
    kept: List[Finding] = list(rule_findings)
    t = snap.torch
    if t.build is None and (t.version or t.dist_version) and snap.gpus:  # the rule cannot tell: say so
        notes.append(Message(N_("{code} not reported: nothing pasted says whether this torch is a CUDA build"),
                             code="torch-cpu-only"))
    try:
        order = {s.id: i for i, s in enumerate(load_catalogue())}
    except KnowledgeError:
        order = {}
    pairs = _signature_findings(parsed.hits, order)
    sig = [f for f, _sentence in pairs]
    for f in sig:
        if f.code == "torch-cpu-only" and (snap.system.os or "").lower() == "darwin":
            f.severity = Severity.INFO
            f.detail = _join(Message(N_("On macOS torch has no CUDA at all: use device 'mps' (Apple GPU) or 'cpu'.")),
                             f.detail)
            f.fix = [Message(N_("Replace .cuda() / device='cuda' with device='mps' or 'cpu'"))]
        if f.code == "torchvision-mismatch" and not any(k.code == f.code for k in kept):
            paired = _paired(snap, knowledge)
            if paired:
                f.detail = _join(Message(N_("torch {torch} and torchvision {torchvision} are a matching release pair, "
                                            "so the likelier cause is a second copy of either on sys.path or a "
                                            "CPU/CUDA build mix."), torch=paired[0], torchvision=paired[1]), f.detail)
    findings = sort_findings(combine(kept, sig, [sentence for _f, sentence in pairs]))
    return AnalyzeResult(snap, findings, parsed.blocks, parsed.hits, notes, parsed.parse_s)


def analyze(inputs: Sequence[Input], knowledge: Optional[Knowledge] = None) -> AnalyzeResult:
    """Parse and judge pasted texts: the whole of ``envcheck analyze`` without the CLI (texts worded where shown)."""
    knowledge = knowledge if knowledge is not None else Knowledge()
    return judge(parse_inputs(inputs, knowledge), knowledge)


__all__ = ["Input", "AnalyzeResult", "Parsed", "analyze", "parse_inputs", "judge", "signature_findings",
           "combine"]
