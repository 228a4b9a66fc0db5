"""``nvidia-smi -L``, pasted: one ``GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-...)`` line per GPU, and
``MIG 3g.20gb Device 0: (UUID: MIG-...)`` lines under a GPU for each of its MIG instances."""

from __future__ import annotations

import re
from typing import List, Optional, Sequence

from .gates import Gate
from ..snapshot import Gpu

_GPU = re.compile(r"^\s*GPU (?P<index>\d+): (?P<name>.+?) \(UUID: (?P<uuid>GPU-[0-9a-fA-F\-]+)\)\s*$")
_MIG = re.compile(r"^\s+MIG \S+\s+Device\s+\d+: \(UUID: MIG-")
#: what a line where a listing starts always holds: the cheap test :mod:`.detect` runs first
GATE = Gate(start=r"GPU \d")


def detect(lines: List[str], i: int) -> Optional[int]:
    """End of ``nvidia-smi -L`` output starting at ``i``, or None."""
    if not _GPU.match(lines[i]):
        return None
    j = i + 1
    while j < len(lines) and (_GPU.match(lines[j]) or _MIG.match(lines[j])):
        j += 1
    return j


def parse(lines: Sequence[str]) -> List[Gpu]:
    """The GPUs listed (with their MIG instance counts); never raises."""
    gpus: List[Gpu] = []
    for line in lines:
        m = _GPU.match(line)
        if m:
            gpus.append(Gpu(index=int(m.group("index")), name=m.group("name").strip(), uuid=m.group("uuid")))
        elif _MIG.match(line) and gpus:
            gpus[-1].mig_devices += 1
            gpus[-1].mig_mode = "Enabled"
    return gpus
