"""What torch printed about itself: ``torch.__version__``, ``torch.version.cuda``, ``torch.cuda.is_available()``.

Every common layout is read: the REPL (``>>> torch.__version__`` then ``'2.1.0+cu121'``, a tuple of
several values), IPython (``In [2]:`` / ``Out[2]:``), ``python -c "import torch; print(...)"`` followed by
its output (one print of several values, or several prints), and ``print(...)`` lines of a script
followed by what they printed. The printed values are matched to the expressions by position: an
output that does not fit the print (another number of values, a line that is not a value) gives no
fact. Warnings torch prints between the command and its output are skipped.

The facts are what the *imported* torch says (``torch.version`` in the snapshot), the strongest
evidence there is. Everything here is linear in the input: lines are split by hand, the only
regular expressions have no nested repetition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .gates import Gate

#: a version torch prints: 2.1.0, 2.1.0+cu121, 2.6.0a0+ecf3bae40a, 1.0.0.dev20181008, 0.4.1.post2
VERSION = r"\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc)\d+|\.post\d+|\.dev\d+)*(?:\+[\w.]+)?"
_VERSION = re.compile(VERSION)
_CUDA = re.compile(r"\d+\.\d+(?:\.\d+)?")
_REPL = re.compile(r"^\s*(?:>>>|\.\.\.)(?: |$)")
_IPY_IN = re.compile(r"^\s*In \[\d+\]:\s?")
_IPY_OUT = re.compile(r"^\s*Out\[\d+\]:\s?")
#: python -c (python, python3, python3.11, py, python.exe, "uv run python", ...)
_PY_C = re.compile(r"(?:^|[\s>$#%:\\/(])(?:python[\d.]*(?:\.exe)?|py)\s+(?:-[A-Za-z]+\s+)*-c\s*(?=[\"'])")
_SHELL_PROMPT = re.compile(r"^\s*(?:\([^)]{0,80}\)\s*)?(?:[\w.@\-]+(?::[^\s$#]*)?)?[$#%]\s|^\s*PS [^>]{0,200}>|"
                           r"^\s*[A-Za-z]:\\[^>]{0,200}>")
_WARNING = re.compile(r"Warning\b|warnings\.warn\(|^\s*warn\(")
#: words people put between a command and its output ("return", "Output:", "结果：")
_FILLER = re.compile(r"^\s*(?:returns?|returned|output|outputs|result|results|prints?|gives?|out|结果|输出|返回)\s*[:：]?\s*$",
                     re.I)
#: the expressions read, whitespace removed
_INTEREST = re.compile(r"torch(?:vision|audio)?\s*\.\s*(?:__version__|version\s*\.|cuda\s*\.|backends\s*\.|__file__)")
#: longest output line matched against a print (longer lines are not torch's values)
_MAX_OUTPUT = 600
#: lines looked at after the command for its output (warnings included)
_LOOKAHEAD = 12


@dataclass
class TorchFacts:
    """What a paste says torch reported; None stays unknown."""

    version: Optional[str] = None
    cuda: Optional[str] = None
    #: torch.version.cuda printed None: a CPU (or ROCm) build
    cuda_none: bool = False
    hip: Optional[str] = None
    available: Optional[bool] = None
    device_count: Optional[int] = None
    cudnn: Optional[str] = None
    arch_list: Optional[List[str]] = None
    #: torch.__file__'s directory
    location: Optional[str] = None
    #: (index, name, capability) of devices torch named
    devices: List[Tuple[int, Optional[str], Optional[str]]] = field(default_factory=list)
    #: torchvision / torchaudio versions printed
    packages: Dict[str, str] = field(default_factory=dict)
    driver_version: Optional[str] = None
    driver_cuda: Optional[str] = None
    nvcc: Optional[str] = None
    #: the toolkit an extension builder says it compiles with (DeepSpeed's "Installed CUDA version")
    extension_nvcc: Optional[str] = None
    #: CUDA a companion says it was built with ("torchaudio has CUDA version 11.7"), by package name
    companion_cuda: Dict[str, str] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.version or self.cuda or self.cuda_none or self.hip or self.available is not None
                    or self.device_count is not None or self.cudnn or self.arch_list or self.location
                    or self.devices or self.packages or self.driver_version or self.driver_cuda or self.nvcc
                    or self.extension_nvcc or self.companion_cuda)

    def absorb(self, other: "TorchFacts") -> None:
        """Fill what is still unknown from ``other``."""
        for name in ("version", "cuda", "hip", "available", "device_count", "cudnn", "arch_list", "location",
                     "driver_version", "driver_cuda", "nvcc", "extension_nvcc"):
            if getattr(self, name) is None and getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))
        self.cuda_none = self.cuda_none or (other.cuda_none and self.cuda is None)
        for device in other.devices:
            if not any(d[0] == device[0] for d in self.devices):
                self.devices.append(device)
        for name, version in other.packages.items():
            self.packages.setdefault(name, version)
        for name, cuda in other.companion_cuda.items():
            self.companion_cuda.setdefault(name, cuda)


# --------------------------------------------------------------------------- code


def _split_top(text: str, separators: str) -> List[str]:
    """``text`` split at ``separators`` outside quotes and brackets (one pass)."""
    parts: List[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in separators and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


#: an expression (spaces removed) -> the fact its printed value is
_EXPR_KINDS = {
    "torch.__version__": "version", "torch.version.__version__": "version", "torch.version.cuda": "cuda",
    "torch.version.hip": "hip", "torch.cuda.is_available()": "available", "torch.cuda.device_count()": "device_count",
    "torch.backends.cudnn.version()": "cudnn", "torch.cuda.get_arch_list()": "arch_list", "torch.__file__": "file",
    "torchvision.__version__": "torchvision", "torchaudio.__version__": "torchaudio",
}


def _expr_kind(expr: str) -> Optional[Tuple[str, int]]:
    """(what an expression asks torch for, the device index) or None for an expression not read."""
    e = "".join(expr.split())
    if e in _EXPR_KINDS:
        return _EXPR_KINDS[e], 0
    for prefix, kind in (("torch.cuda.get_device_name(", "device_name"),
                         ("torch.cuda.get_device_capability(", "capability")):
        if e.startswith(prefix) and e.endswith(")"):
            arg = e[len(prefix):-1]
            if arg in ("", "0", "device=0"):
                return kind, 0
            if arg.isdigit():
                return kind, int(arg)
            if arg.startswith("'cuda:") or arg.startswith('"cuda:'):
                digits = arg[6:-1]
                return (kind, int(digits)) if digits.isdigit() else None
    return None


def _literal(arg: str) -> Optional[str]:
    """The text of a plain string literal argument, or None."""
    a = arg.strip()
    if len(a) >= 2 and a[0] == a[-1] and a[0] in "'\"":
        return a[1:-1]
    return None


#: one piece of what a print writes: ("lit", text) or ("expr", kind, index)
Piece = Tuple


def _fstring(arg: str) -> Optional[List[Piece]]:
    """The pieces of an f-string (f"torch {torch.__version__}"), or None when not one."""
    a = arg.strip()
    if len(a) < 3 or a[0] not in "fF" or a[1] not in "'\"" or a[-1] != a[1]:
        return None
    body = a[2:-1]
    pieces: List[Piece] = []
    i = 0
    text = []
    while i < len(body):
        ch = body[i]
        if ch == "{":
            close = body.find("}", i)
            if close < 0:
                return None
            if text:
                pieces.append(("lit", "".join(text)))
                text = []
            inner = body[i + 1:close].split("!")[0].split(":")[0]
            kind = _expr_kind(inner)
            pieces.append(("expr", kind[0], kind[1]) if kind else ("any",))
            i = close + 1
            continue
        text.append(ch)
        i += 1
    if text:
        pieces.append(("lit", "".join(text)))
    return pieces


def print_pieces(statement: str) -> Optional[List[Piece]]:
    """What ``print(a, b, ...)`` writes, as pieces; None for another statement or one that cannot be read."""
    s = statement.strip()
    if not s.startswith("print(") or not s.endswith(")"):
        return None
    args = [a for a in _split_top(s[6:-1], ",") if a.strip()]
    pieces: List[Piece] = []
    for position, arg in enumerate(args):
        if "=" in arg and _literal(arg) is None and "==" not in arg and not arg.strip().startswith(("f'", 'f"')):
            head = arg.split("=", 1)[0].strip()
            if head.isidentifier():
                return None  # sep= / end= / file=: the output layout is not the default
        if position:
            pieces.append(("lit", " "))
        text = _literal(arg)
        if text is not None:
            pieces.append(("lit", text))
            continue
        f = _fstring(arg)
        if f is not None:
            pieces.extend(f)
            continue
        kind = _expr_kind(arg)
        pieces.append(("expr", kind[0], kind[1]) if kind else ("any",))
    return pieces


def _pieces_regex(pieces: List[Piece]) -> Optional["re.Pattern[str]"]:
    """A pattern for the output line, one group per expression; None when nothing in it is read."""
    parts: List[str] = []
    exprs = [p for p in pieces if p[0] == "expr"]
    if not exprs:
        return None
    alone = len(pieces) == 1
    for piece in pieces:
        if piece[0] == "lit":
            words = piece[1].split()
            literal = r"\s+".join(re.escape(w) for w in words)
            if piece[1][:1].isspace() and parts:
                literal = r"\s+" + literal if literal else r"\s+"
            if piece[1][-1:].isspace() and words:
                literal += r"\s+"
            parts.append(literal)
        elif piece[0] == "expr" and piece[1] in ("device_name", "file") and alone:
            parts.append(r"(.+)")
        elif piece[0] == "expr" and piece[1] in ("arch_list", "capability"):
            parts.append(r"([\[(][^\])]*[\])])")
        elif piece[0] == "expr":
            parts.append(r"(\S+)")
        else:
            parts.append(r"\S+")
    try:
        return re.compile(r"\s*" + "".join(parts) + r"\s*")
    except re.error:
        return None


# --------------------------------------------------------------------------- values


def _unquote(text: str) -> str:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    return t


def apply_value(facts: TorchFacts, kind: str, index: int, raw: str) -> bool:
    """Read one printed value into ``facts``; False when it is not a value of that kind."""
    value = _unquote(raw)
    if kind == "version":
        if _VERSION.fullmatch(value):
            facts.version = facts.version or value
            return True
        return False
    if kind in ("torchvision", "torchaudio"):
        if _VERSION.fullmatch(value):
            facts.packages.setdefault(kind, value)
            return True
        return False
    if kind == "cuda":
        if value == "None":
            facts.cuda_none = facts.cuda is None
            return True
        if _CUDA.fullmatch(value):
            facts.cuda = facts.cuda or ".".join(value.split(".")[:2])
            return True
        return False
    if kind == "hip":
        if value == "None":
            return True
        if re.fullmatch(r"\d+\.\d+[\w.\-]*", value):
            facts.hip = facts.hip or value
            return True
        return False
    if kind == "available":
        if value in ("True", "False"):
            if facts.available is None:
                facts.available = value == "True"
            return True
        return False
    if kind == "device_count":
        if value.isdigit():
            if facts.device_count is None:
                facts.device_count = int(value)
            return True
        return False
    if kind == "cudnn":
        if value.isdigit() and len(value) in (4, 5):
            from ..versions import cudnn_from_int
            facts.cudnn = facts.cudnn or cudnn_from_int(int(value))
            return True
        return value == "None"
    if kind == "arch_list":
        found = re.findall(r"(?:sm|compute)_\d+[a-z]?", value)
        if found and value.startswith("["):
            facts.arch_list = facts.arch_list or found
            return True
        return False
    if kind == "file":
        path = value.replace("\\\\", "\\")
        for tail in ("/__init__.py", "\\__init__.py"):
            if path.endswith(tail):
                facts.location = facts.location or path[:-len(tail)]
                return True
        return False
    if kind == "device_name":
        name = value.strip()
        if name and len(name) < 120 and not name.startswith(("Traceback", "RuntimeError", "AssertionError")):
            _device(facts, index, name=name)
            return True
        return False
    if kind == "capability":
        m = re.fullmatch(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)", value)
        if m:
            _device(facts, index, capability=f"{m.group(1)}.{m.group(2)}")
            return True
        return False
    return False


def _device(facts: TorchFacts, index: int, name: Optional[str] = None, capability: Optional[str] = None) -> None:
    for position, (i, n, c) in enumerate(facts.devices):
        if i == index:
            facts.devices[position] = (i, n or name, c or capability)
            return
    facts.devices.append((index, name, capability))


def _match_print(facts: TorchFacts, pieces: List[Piece], output: str) -> bool:
    if len(output) > _MAX_OUTPUT:
        return False
    pattern = _pieces_regex(pieces)
    if pattern is None:
        return False
    m = pattern.fullmatch(output)
    if m is None:
        return False
    trial = TorchFacts()
    exprs = [p for p in pieces if p[0] == "expr"]
    if len(exprs) != len(m.groups()):
        return False
    for piece, value in zip(exprs, m.groups()):
        if not apply_value(trial, piece[1], piece[2], value):
            return False
    facts.absorb(trial)
    return True


def _match_repr(facts: TorchFacts, exprs: List[Tuple[str, int]], output: str) -> bool:
    """A REPL's echo of ``a`` ('2.1.0') or ``a, b`` (('2.1.0', '12.1'))."""
    text = output.strip()
    if len(text) > _MAX_OUTPUT:
        return False
    if len(exprs) == 1:
        values = [text]
    else:
        if not (text.startswith("(") and text.endswith(")")):
            return False
        values = [v for v in _split_top(text[1:-1], ",") if v.strip()]
        if len(values) != len(exprs):
            return False
    trial = TorchFacts()
    for (kind, index), value in zip(exprs, values):
        raw = value.strip()
        if kind in ("device_name", "file") and not (len(raw) >= 2 and raw[0] in "'\"" and raw[-1] == raw[0]):
            return False
        if not apply_value(trial, kind, index, raw):
            return False
    facts.absorb(trial)
    return True


# --------------------------------------------------------------------------- lines


def _python_c_code(line: str) -> Optional[str]:
    m = _PY_C.search(line)
    if not m:
        return None
    rest = line[m.end():]
    quote = rest[0]
    close = rest.rfind(quote)
    return rest[1:close] if close > 0 else rest[1:]


def _is_prompt(line: str) -> bool:
    return bool(_REPL.match(line) or _IPY_IN.match(line) or _SHELL_PROMPT.match(line) or _PY_C.search(line))


def _statements(code: str) -> List[str]:
    return [s.strip() for s in _split_top(code, ";\n") if s.strip()]


@dataclass
class _Job:
    """One thing whose output is expected: a print (pieces) or a REPL echo (expressions)."""

    pieces: Optional[List[Piece]] = None
    exprs: Optional[List[Tuple[str, int]]] = None


def _jobs(code: str, repl: bool) -> List[_Job]:
    jobs: List[_Job] = []
    for statement in _statements(code):
        if statement.startswith(("import ", "from ")):
            continue
        pieces = print_pieces(statement)
        if pieces is not None:
            jobs.append(_Job(pieces=pieces))
            continue
        if repl and "=" not in statement.replace("==", "") and not statement.endswith(":"):
            kinds = [_expr_kind(part) for part in _split_top(statement, ",") if part.strip()]
            if kinds and all(kinds):
                jobs.append(_Job(exprs=[k for k in kinds if k]))
                continue
        if _INTEREST.search(statement):
            jobs.append(_Job())  # prints something we do not read: its output line is skipped
    return jobs


def _run_jobs(facts: TorchFacts, jobs: List[_Job], lines: Sequence[str], start: int, stop_at_prompt: bool) -> int:
    """Match each job to the next output line from ``start``; the index after the last line used."""
    j = start
    n = len(lines)
    limit = min(n, start + _LOOKAHEAD + len(jobs))
    last = start
    for job in jobs:
        while j < limit:
            line = lines[j]
            if not line.strip() or line.lstrip().startswith(("```", "~~~")):
                return last
            if stop_at_prompt and _is_prompt(line):
                return last
            if _WARNING.search(line):
                j += 1
                if j < limit and lines[j][:1].isspace() and not _WARNING.search(lines[j]):
                    j += 1  # the source line a warning quotes
                continue
            if _FILLER.match(line):
                j += 1
                continue
            break
        if j >= limit:
            return last
        output = _IPY_OUT.sub("", lines[j], count=1).strip().strip("`").strip()
        if job.pieces is not None:
            _match_print(facts, job.pieces, output)
        elif job.exprs is not None:
            _match_repr(facts, job.exprs, output)
        j += 1
        last = j
    return last


def _bare_expressions(text: str) -> Optional[List[Tuple[str, int]]]:
    """The expressions of a line that is nothing but torch expressions ("torch.cuda.is_available()")."""
    if not text or "=" in text.replace("==", "") or text.startswith(("print(", "import ", "from ")):
        return None
    kinds = [_expr_kind(part) for part in _split_top(text, ",") if part.strip()]
    if kinds and all(kinds):
        return [k for k in kinds if k]
    return None


def parse_at(lines: Sequence[str], i: int) -> Tuple[TorchFacts, int]:
    """The facts printed by the command on line ``i`` and the index after its output (``i`` when none)."""
    facts = TorchFacts()
    line = lines[i]
    if not _INTEREST.search(line):
        return facts, i
    repl = _REPL.match(line) or _IPY_IN.match(line)
    if repl:
        code = line[repl.end():]
        end = _run_jobs(facts, _jobs(code, True), lines, i + 1, True)
        return facts, end
    code = _python_c_code(line)
    if code is not None:
        end = _run_jobs(facts, _jobs(code, False), lines, i + 1, True)
        return facts, end
    stripped = line.strip().strip("`").strip()
    bare = _bare_expressions(stripped)
    if bare:
        # a notebook cell or a REPL pasted without its prompt: the expression alone, then its value
        end = _run_jobs(facts, [_Job(exprs=bare)], lines, i + 1, True)
        return facts, end
    if stripped.startswith("print("):
        # a run of print lines of a script (or a notebook cell), then what they printed
        jobs: List[_Job] = []
        j = i
        while j < len(lines) and j < i + 20:
            s = lines[j].strip()
            if s.startswith("print("):
                jobs.extend(_jobs(s, False) or [_Job()])
            elif not s.startswith(("import ", "from ")):
                break
            j += 1
        if not jobs or all(job.pieces is None for job in jobs):
            return facts, i
        k = j
        while k < len(lines) and k < j + 3 and not lines[k].strip():
            k += 1
        end = _run_jobs(facts, jobs, lines, k, True)
        return facts, end
    return facts, i


#: what a line where a torch-print block starts always holds: the cheap test :mod:`.detect` runs first
GATE = Gate(words=("torch",))


def detect(lines: List[str], i: int) -> Optional[int]:
    """End of a torch-print block starting at ``i`` (the command and its output), or None."""
    if "torch" not in lines[i]:
        return None
    facts, end = parse_at(lines, i)
    if facts.empty() or end <= i:
        return None
    return end


def parse(lines: Sequence[str]) -> TorchFacts:
    """Every torch fact printed in ``lines`` (a torch-print block); never raises."""
    facts = TorchFacts()
    i = 0
    while i < len(lines):
        found, end = parse_at(lines, i)
        facts.absorb(found)
        i = max(end, i + 1)
    return facts
