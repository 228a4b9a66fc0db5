"""AMD gfx targets and the products that carry them (data/amd_gpus.toml).

rocminfo reports a gfx name (gfx90a, gfx1100, sometimes with feature suffixes such as
"gfx90a:sramecc+:xnack-"); a ROCm torch wheel ships kernels for a list of gfx names. This file lets a
report say which product a gfx name is, and lets rules compare the two by the bare name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional


@dataclass
class AmdGfx:
    name: str
    architecture: str
    kind: str
    products: List[str]
    source: str


def gfx_base(name: str) -> str:
    """'gfx90a:sramecc+:xnack-' -> 'gfx90a' (the target ID without its feature settings), lower-cased."""
    return str(name).strip().split(":")[0].lower()


class AmdGpus:
    def __init__(self, rows: List[AmdGfx], sources: Optional[Dict[str, str]] = None) -> None:
        self.rows = rows
        self.sources = dict(sources or {})
        self._by_name = {r.name: r for r in rows}

    def by_gfx(self, name: str) -> Optional[AmdGfx]:
        return self._by_name.get(gfx_base(name))

    def by_product(self, product: str) -> Optional[AmdGfx]:
        """The gfx whose product list names `product` (case-insensitive, longest product name wins)."""
        low = " ".join(str(product).lower().replace("amd ", "").split())
        best = None
        for row in self.rows:
            for p in row.products:
                pl = " ".join(p.lower().replace("amd ", "").split())
                # "AMD Instinct MI300X" names gfx942; so do "mi300x" and "Instinct MI300X" (a trailing part of it)
                if pl.endswith(" " + low):
                    pl = low
                if pl == low or (pl in low and (best is None or len(pl) > best[0])):
                    if pl == low:
                        return row
                    best = (len(pl), row)
        return best[1] if best else None


def amd_gpus_from_data(data: Dict[str, Any]) -> AmdGpus:
    rows = [AmdGfx(name=str(r["name"]), architecture=str(r.get("architecture", "")), kind=str(r.get("kind", "")),
                   products=[str(p) for p in r.get("products", [])], source=str(r.get("source", "")))
            for r in data.get("gfx", [])]
    return AmdGpus(rows, sources=dict(data.get("sources", {})))

