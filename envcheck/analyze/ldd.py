"""``ldd`` output, pasted: which copy of each CUDA library the dynamic loader resolves.

``ldd /path/to/libcusparse.so.12`` prints ``libnvJitLink.so.12 => /usr/local/cuda-12.1/lib64/...``:
the library the loader would use, found through LD_LIBRARY_PATH, the RUNPATH or the ldconfig cache.
The CUDA-family libraries (``libcu*``, ``libnv*``, ``libnccl``, ``libcudnn*``, torch's own) become
loaded-library facts, the library ``ldd`` was asked about among them; ``=> not found`` lines are kept
as names. A path through ``site-packages/torch/lib`` also says where torch is installed.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from .gates import Gate

#: (every pattern takes whole tokens, then the code checks for ".so": no backtracking inside a token)
_ROW_RE = re.compile(r"^\s+(?P<name>\S+)\s+=>\s+(?P<path>/\S+|not found)(?:\s+\(0x[0-9a-fA-F]+\))?\s*$")
_BARE_RE = re.compile(r"^\s+(?P<path>\S+)\s+\(0x[0-9a-fA-F]+\)\s*$")
_COMMAND_RE = re.compile(r"(?:^|[\s$#>])ldd\s+(?:-\w+\s+)*(?P<target>\S+)\s*$")
_HEADER_RE = re.compile(r"^(?P<target>/\S+):\s*$")


class _SoPattern:
    """A pattern whose named token must be a shared library ("libx.so", "libx.so.12")."""

    def __init__(self, pattern: "re.Pattern[str]", group: str, search: bool = False) -> None:
        self.pattern, self.group, self.search_mode = pattern, group, search

    def _ok(self, m: "Optional[re.Match[str]]") -> "Optional[re.Match[str]]":
        return m if m is not None and ".so" in m.group(self.group) else None

    def match(self, line: str) -> "Optional[re.Match[str]]":
        return self._ok(self.pattern.match(line))

    def search(self, line: str) -> "Optional[re.Match[str]]":
        return self._ok(self.pattern.search(line))


_ROW = _SoPattern(_ROW_RE, "name")
_BARE = _SoPattern(_BARE_RE, "path")
_COMMAND = _SoPattern(_COMMAND_RE, "target")
_HEADER = _SoPattern(_HEADER_RE, "target")
#: what a line where ldd's output starts always holds (its command, header and rows all name a ".so"): the cheap
#: test :mod:`.detect` runs first
GATE = Gate(words=(".so",))
_CUDA_FAMILY = re.compile(r"^lib(?:cu|nv|nccl|cudnn|torch|c10|caffe2|cupti|curand|cusolver|cusparse|cufft|cublas)",
                          re.I)


@dataclass
class Ldd:
    #: the library ldd was asked about
    target: Optional[str] = None
    #: (stem, path, version from the file name) of each CUDA-family library resolved
    resolved: List[Tuple[str, str, Optional[str]]] = field(default_factory=list)
    #: names of libraries the loader could not find
    missing: List[str] = field(default_factory=list)
    #: site-packages/torch, when a path goes through it
    torch_location: Optional[str] = None


def stem_and_version(base: str) -> Tuple[str, Optional[str]]:
    """"libnvJitLink.so.12" -> ("libnvJitLink", "12"); "libcudart-d0da41ae.so.11.0" -> ("libcudart", "11.0")."""
    stem, _, rest = base.partition(".so")
    head, sep, tail = stem.rpartition("-")
    if sep and len(tail) == 8 and all(c in "0123456789abcdef" for c in tail):
        stem = head
    parts = []
    for part in rest.lstrip(".").split("."):
        if not part.isdigit():
            break
        parts.append(part)
    return stem, (".".join(parts) or None)


def _torch_location(path: str) -> Optional[str]:
    norm = posixpath.normpath(path)
    for marker in ("/site-packages/torch/", "/dist-packages/torch/"):
        cut = path.find(marker)
        if cut >= 0:
            return path[:cut + len(marker) - 1]
    for marker in ("/site-packages/", "/dist-packages/"):
        cut = norm.find(marker)
        if cut >= 0 and norm[cut + len(marker):].startswith("torch/"):
            return norm[:cut + len(marker)] + "torch"
    return None


def _is_row(line: str) -> bool:
    return bool(_ROW.match(line) or _BARE.match(line))


def detect(lines: List[str], i: int) -> Optional[int]:
    """End of ldd output starting at ``i`` (its command or first row), or None."""
    line = lines[i]
    start_rows = i
    if _COMMAND.search(line) or _HEADER.match(line):
        start_rows = i + 1
    elif not _is_row(line):
        return None
    j = start_rows
    while j < len(lines) and _is_row(lines[j]):
        j += 1
    rows = lines[start_rows:j]
    if len(rows) < 2 or not any(_ROW.match(r) for r in rows):
        return None
    return j


def parse(lines: Sequence[str]) -> Ldd:
    """The CUDA-family libraries an ldd output resolves; never raises."""
    out = Ldd()
    for line in lines:
        m = _COMMAND.search(line) or _HEADER.match(line)
        if m and out.target is None and not _ROW.match(line):
            out.target = m.group("target")
            continue
        m = _ROW.match(line)
        if m:
            name, path = m.group("name"), m.group("path")
            if path == "not found":
                if name not in out.missing:
                    out.missing.append(name)
                continue
            stem, version = stem_and_version(posixpath.basename(path))
            if _CUDA_FAMILY.match(stem):
                out.resolved.append((stem, path, version))
            out.torch_location = out.torch_location or _torch_location(path)
    if out.target and out.target.startswith("/"):
        base = posixpath.basename(out.target)
        stem, version = stem_and_version(base)
        if _CUDA_FAMILY.match(stem) and not any(r[1] == out.target for r in out.resolved):
            out.resolved.insert(0, (stem, posixpath.normpath(out.target), version))
        out.torch_location = out.torch_location or _torch_location(out.target)
    return out
