"""``nvcc -V`` / ``nvcc --version``, pasted: the toolkit on PATH (never the driver)."""

from __future__ import annotations

from typing import Optional

from ..probes.toolkits import parse_nvcc_version
from ..snapshot import CudaToolkit


def parse(text: str) -> Optional[CudaToolkit]:
    """The toolkit an ``nvcc -V`` output names, or None; the pasted nvcc is taken as the one on PATH."""
    try:
        version, full = parse_nvcc_version(text or "")
    except (TypeError, ValueError):
        return None
    if version is None:
        return None
    return CudaToolkit(version=version, full_version=full, source="nvcc -V", active=True)
