"""The error-signature catalogue (``knowledge/data/error_signatures.toml``): load it, search texts.

Each entry is data: a regular expression for one known message, the finding code it implies, the
facts it carries (named groups, and values derived from them by a few named transforms) and the
snapshot facts it sets. This module only loads and matches; :mod:`.merge` applies the facts and
:mod:`.findings` turns matches into findings with evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Pattern, Sequence, Tuple

from ..findings import Severity, looks_like_command
from ..i18n import N_, DataText, Message, Template, one_line
from ..knowledge import DATA_DIR, Knowledge, KnowledgeError, load_toml
from ..rules.codes import CODES, Code
from ..versions import capability, capability_str, cuda_from_int, major_minor
from .textscan import line_of as _line_of
from .textscan import line_starts

CATALOGUE = DATA_DIR / "error_signatures.toml"

#: codes analyze needs that envcheck/rules/codes.py does not list yet (proposed to the lead)
#: codes analyze needs beyond the catalogue (none: all are in envcheck/rules/codes.py)
PROPOSED_CODES: Dict[str, Code] = {}

#: snapshot facts a signature may set (see merge.apply_hit)
SETTABLE = {
    "driver.cuda_version", "driver.nvml_version", "driver.status", "torch.cuda", "torch.cuda_warning",
    "torch.arch_list",
    "torch.version", "torch.nccl", "torch.build", "gpu.compute_capability", "gpu.name", "toolkit.version",
}

_SM = re.compile(r"(?:sm|compute)_\d+[a-z]?")
_GPU_PREFIX = re.compile(r"^.*?(?:UserWarning|Warning|warn\(|Found GPU\d+)\s*:?\s*", re.I)
_CONDA_PACKAGE = re.compile(r"Package (\S+) conflicts for", re.I)
_CONDA_SPEC = re.compile(r"^[ \t]*(?:-[ \t]*)?([A-Za-z][\w.-]*)[ \t]*(?:[=<>!~]|->|\[)", re.M)
#: what the conda transform gives when no package name can be read (a value shown in a title; the
#: finding's facts keep it in English, the title shows it translated)
SEE_THE_LOG = N_("see the log")
#: derived values that are words, not facts copied from the paste: translated where shown
_WORD_VALUES = (SEE_THE_LOG,)


def code_info(code: str) -> Optional[Code]:
    """The catalogue entry of a finding code: the rules' catalogue first, then the proposed codes."""
    return CODES.get(code) or PROPOSED_CODES.get(code)


# --------------------------------------------------------------------------- transforms


def _cuda_from_int(value: str) -> Optional[str]:
    """cudaDriverGetVersion's integer: "11040" -> "11.4", "9010" -> "9.1", "12050" -> "12.5"."""
    try:
        return cuda_from_int(int(value))
    except (TypeError, ValueError):
        return None


def _cc_from_sm(value: str) -> Optional[str]:
    """"86" -> "8.6", "120" -> "12.0"."""
    return capability_str(capability(f"sm_{value}")) if value else None


def _arch_list(value: str) -> Optional[List[str]]:
    found = _SM.findall(value or "")
    return found or None


def _library(value: str) -> Optional[str]:
    """A readable library name: "/x/torchvision/_C.so" -> "torchvision/_C.so", "/x/libtorch_cuda.so" -> "libtorch_cuda.so"."""
    if not value:
        return None
    parts = [p for p in re.split(r"[\\/]", value) if p]
    if not parts:
        return None
    if parts[-1].startswith("_") and len(parts) > 1:
        return "/".join(parts[-2:])
    return parts[-1]


def _gpu_name(value: str) -> Optional[str]:
    text = _GPU_PREFIX.sub("", (value or "").strip()).strip(" :")
    return text[:120] or None


def _conda_packages(value: str) -> str:
    names = _CONDA_PACKAGE.findall(value or "")
    if not names:
        names = [n for n in _CONDA_SPEC.findall(value or "") if n.lower() not in ("package", "output", "requested")]
    unique: List[str] = []
    for name in names:
        if name not in unique:
            unique.append(name)
    return ", ".join(unique[:6]) or SEE_THE_LOG


def _first(value: str) -> Optional[str]:
    return value or None


# knowledge lookups (issue 15): a value the data knows, None (shown as "?") where it does not
def _cuda_for_arch(value: str) -> Optional[str]:
    """"compute_89" -> "11.8": the first CUDA toolkit that compiles for the architecture (cuda_arch_floors.toml)."""
    return Knowledge().cuda_first_for_arch(value)


def _xid_meaning(value: str) -> Optional[str]:
    """"94" -> "Contained ECC error": NVIDIA's name for the Xid (xid.toml)."""
    event = Knowledge().xid_event(value)
    return DataText(event.meaning) if event else None  # data text: translated where shown (the catalogue holds it)


def _xid_action(value: str) -> Optional[str]:
    """"94" -> "RESTART_APP": NVIDIA's immediate action for the Xid (xid.toml)."""
    event = Knowledge().xid_event(value)
    return event.action if event and event.action else None


def _torch_pythons(value: str) -> Optional[str]:
    """"2.1.0+cu121" -> ">=3.8,<3.12": the Pythons torch_releases.json records wheels of that release for."""
    release = Knowledge().torch_release(value)
    return release.python if release and release.python else None


def _conda_pytorch_last(_value: str) -> Optional[str]:
    """The last torch the pytorch conda channel published (conda.toml), whatever the group holds."""
    return Knowledge().conda_facts().pytorch_channel_last or None


def _last_item(value: str) -> Optional[str]:
    """"2.0.0, 2.0.1, 2.4.1" -> "2.4.1": the last entry of a comma-separated list (pip's "from versions")."""
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items[-1] if items else None


TRANSFORMS: Dict[str, Callable[[str], Any]] = {
    "cuda_from_int": _cuda_from_int,
    "cc_from_sm": _cc_from_sm,
    "arch_list": _arch_list,
    "library": _library,
    "gpu_name": _gpu_name,
    "major_minor": major_minor,
    "conda_packages": _conda_packages,
    "first": _first,
    "cuda_for_arch": _cuda_for_arch,
    "xid_meaning": _xid_meaning,
    "xid_action": _xid_action,
    "torch_pythons": _torch_pythons,
    "conda_pytorch_last": _conda_pytorch_last,
    "last_item": _last_item,
}


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Signature:
    id: str
    regex: Pattern[str]
    hint: Optional[str] = None
    #: None for entries that only carry facts
    code: Optional[str] = None
    severity: str = "error"
    section: str = "envcheck"
    title: str = ""
    detail: str = ""
    fix: Tuple[str, ...] = ()
    facts: Tuple[str, ...] = ()
    #: name -> (transform, (group, alternative group, ...))
    derive: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = ()
    sets: Tuple[Tuple[str, str], ...] = ()
    source: str = ""


@dataclass
class Hit:
    """One match of a signature in one input."""

    signature: Signature
    input: str
    #: 0-based line of the match's start in its input
    line: int
    #: that line, as pasted (stripped, shortened)
    text: str
    #: named groups and derived values
    values: Dict[str, Any] = field(default_factory=dict)
    #: character offset of the match in the input (for ordering)
    offset: int = 0


def _entry(raw: Dict[str, Any], where: str) -> Signature:
    def need(key: str) -> Any:
        if key not in raw:
            raise KnowledgeError(f"{where}: missing '{key}'")
        return raw[key]

    sid = str(need("id"))
    flags = re.M
    if "i" in str(raw.get("flags", "")):
        flags |= re.I
    try:
        regex = re.compile(str(need("regex")), flags)
    except re.error as exc:
        raise KnowledgeError(f"{where} ({sid}): bad regex: {exc}") from exc
    code = raw.get("code")
    severity = str(raw.get("severity", "error"))
    if code is not None:
        if code_info(code) is None:
            raise KnowledgeError(f"{where} ({sid}): unknown finding code {code!r}")
        try:
            Severity(severity)
        except ValueError as exc:
            raise KnowledgeError(f"{where} ({sid}): bad severity {severity!r}") from exc
        for key in ("title", "source"):
            need(key)
    derive = []
    for name, spec in dict(raw.get("derive", {})).items():
        transform, _, groups = str(spec).partition(":")
        if transform not in TRANSFORMS:
            raise KnowledgeError(f"{where} ({sid}): unknown transform {transform!r}")
        derive.append((str(name), transform, tuple(g for g in groups.split("|") if g)))
    sets = []
    for key, value in dict(raw.get("sets", {})).items():
        if key not in SETTABLE:
            raise KnowledgeError(f"{where} ({sid}): cannot set {key!r}")
        sets.append((str(key), str(value)))
    info = code_info(code) if code else None
    hint = raw.get("hint")
    return Signature(
        id=sid, regex=regex, hint=str(hint).lower() if hint else None, code=code, severity=severity,
        section=str(raw.get("section") or (info.section if info else "envcheck")),
        title=str(raw.get("title", "")), detail=str(raw.get("detail", "")),
        fix=tuple(str(f) for f in raw.get("fix", [])), facts=tuple(str(f) for f in raw.get("facts", [])),
        derive=tuple(derive), sets=tuple(sets), source=str(raw.get("source", "")),
    )


_CACHE: Dict[str, List[Signature]] = {}


def load_catalogue(path: Path = CATALOGUE) -> List[Signature]:
    """The signatures in file order (loaded once per path); KnowledgeError when the file is bad."""
    key = str(path)
    if key not in _CACHE:
        data = load_toml(path)
        entries = data.get("signature", [])
        if not isinstance(entries, list):
            raise KnowledgeError(f"{path}: 'signature' must be a list of tables")
        signatures = [_entry(raw, f"{path.name} entry {i + 1}") for i, raw in enumerate(entries)]
        ids = [s.id for s in signatures]
        if len(set(ids)) != len(ids):
            raise KnowledgeError(f"{path}: duplicate signature ids")
        _CACHE[key] = signatures
    return _CACHE[key]


# --------------------------------------------------------------------------- matching


def _values(signature: Signature, match: "re.Match[str]") -> Dict[str, Any]:
    values: Dict[str, Any] = {k: v for k, v in match.groupdict().items() if v is not None}
    for name, transform, groups in signature.derive:
        source = next((values[g] for g in groups if values.get(g)), None)
        if source is None:
            continue
        try:
            derived = TRANSFORMS[transform](str(source))
        except Exception:  # a transform must never sink the analysis
            derived = None
        if derived is not None:
            values[name] = derived
        elif name in values and name in groups:
            values.pop(name)
    return values


#: characters of a matched line read for its evidence (which keeps 300 of them, spaces squeezed)
EVIDENCE_SCAN = 2000


#: lines searched on either side of a line holding a signature's hint: a message spans fewer (the catalogue's
#: longest spans about 40); tests/analyze/test_signature_windows.py checks that no match is lost on the corpus
HINT_REACH = 200


def hint_windows(lowered: str, hint: str, starts: Sequence[int]) -> List[Tuple[int, int]]:
    """(start, end) offsets of the runs of lines within HINT_REACH lines of a line holding ``hint``, merged; a
    match of a signature holds its hint, so it lies in one of them."""
    spans: List[Tuple[int, int]] = []  # (first line, last line) of each window
    last_line = len(starts) - 1

    def end_of(line: int) -> int:
        return starts[line + 1] - 1 if line < last_line else len(lowered)

    found = lowered.find(hint)
    while found >= 0:
        center = _line_of(starts, found)
        first, last = max(0, center - HINT_REACH), min(last_line, center + HINT_REACH)
        if spans and first <= spans[-1][1] + 1:  # touches the window before: one window
            first = spans.pop()[0]
        while last < last_line:  # the last occurrence inside the window widens it
            later = lowered.rfind(hint, starts[center + 1], end_of(last))
            if later < 0:
                break
            center = _line_of(starts, later)
            last = min(last_line, center + HINT_REACH)
        spans.append((first, last))
        found = lowered.find(hint, end_of(last)) if last < last_line else -1
    return [(starts[first], end_of(last)) for first, last in spans]


def scan(text: str, input_name: str, signatures: Sequence[Signature], raw_lines: Optional[Sequence[str]] = None,
         limit_per_signature: int = 50) -> List[Hit]:
    """Every match of every signature in ``text``, in text order.

    ``raw_lines`` (the input as pasted, one entry per line of ``text``) gives the evidence text;
    without it the line of ``text`` is used. A signature with a hint is searched only near the lines that
    hold it (a 50 MB log costs a find, not a regex pass, for each).
    """
    lowered = text.lower()
    same_offsets = len(lowered) == len(text)  # lower-casing a rare letter can change a length
    starts = line_starts(text)
    hits: List[Hit] = []
    for signature in signatures:
        if signature.hint and signature.hint not in lowered:
            continue
        windows = hint_windows(lowered, signature.hint, starts) if signature.hint and same_offsets \
            else [(0, len(text))]
        count = 0
        for window_start, window_end in windows:
            for match in signature.regex.finditer(text, window_start, window_end):
                offset = match.start()
                # a match that begins with a line break belongs to the line after it
                while offset < match.end() and text[offset] in "\r\n":
                    offset += 1
                line = _line_of(starts, offset)
                if raw_lines is not None and 0 <= line < len(raw_lines):
                    shown = raw_lines[line]
                else:
                    end = text.find("\n", starts[line])
                    shown = text[starts[line]: end if end >= 0 else len(text)]
                shown = " ".join(shown[:EVIDENCE_SCAN].split())  # the head only: a hit costs no pass over a long line
                hits.append(Hit(signature, input_name, line, shown[:300], _values(signature, match), offset))
                count += 1
                if count >= limit_per_signature:
                    break
            if count >= limit_per_signature:
                break
    hits.sort(key=lambda h: h.offset)
    return hits


def fill(pieces: List[str], values: Dict[str, Any]) -> Template:
    """A signature's text (its pieces worded where shown) with {name} placeholders filled from the paste;
    unknown names become "?". Only envcheck's own words among the values (:data:`SEE_THE_LOG`) are
    translated, never what was read from the paste."""
    fields = {k: (" ".join(v) if isinstance(v, (list, tuple)) else Message(v) if v in _WORD_VALUES else v)
              for k, v in values.items()}
    return Template(list(pieces), **fields)


# --------------------------------------------------------------------------- the printed text, translated

#: "command   # comment": two or more spaces, then the comment
_COMMENT = re.compile(r"\s{2,}#\s+")
#: a placeholder inside a command: <the interface the nodes share>
_PLACEHOLDER = re.compile(r"<([A-Za-z][^<>]*)>")


def _split_step(step: str) -> Optional[Tuple[str, str, str]]:
    """(command, separator, comment) of a command step; None for a prose step."""
    match = _COMMENT.search(step)
    if match:
        return step[:match.start()], match.group(0), step[match.end():]
    if looks_like_command(step):
        return step, "", ""
    return None


def step_messages(step: str) -> List[str]:
    """The message ids of one fix step: a prose step whole; of a command, its comment and its
    ``<placeholders>`` (the command itself is never translated)."""
    parts = _split_step(step)
    if parts is None:
        return [one_line(step)]
    command, _sep, comment = parts
    return [one_line(p) for p in _PLACEHOLDER.findall(command)] + ([one_line(comment)] if comment else [])


def step_pieces(step: str) -> List[str]:
    """A fix step as pieces to word: a prose step whole; a command as it is, but for its ``<placeholders>`` and
    its comment (placeholders are filled afterwards, see :func:`fill`)."""
    parts = _split_step(step)
    if parts is None:
        return [DataText(step)]
    command, sep, comment = parts
    pieces: List[str] = []
    at = 0
    for match in _PLACEHOLDER.finditer(command):
        pieces += [command[at:match.start()], "<", DataText(match.group(1)), ">"]
        at = match.end()
    pieces.append(command[at:] + sep)
    if comment:
        pieces.append(DataText(comment))
    return [p for p in pieces if p]


def printed_messages(signatures: Sequence[Signature]) -> List[str]:
    """Every message id the catalogue's findings print: titles, details and fix steps."""
    out: List[str] = []
    for sig in signatures:
        if not sig.code:
            continue
        for text in [sig.title, sig.detail, *(m for step in sig.fix for m in step_messages(step))]:
            text = one_line(text)
            if text and text not in out:
                out.append(text)
    return out
