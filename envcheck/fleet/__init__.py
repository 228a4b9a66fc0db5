"""`envcheck fleet`: one view over many nodes' doctor and smoke reports.

Scale comes from the engines teams already run (SLURM, Kubernetes, Ansible/pdsh): each node runs
``envcheck doctor --json`` (and ``envcheck smoke --json``) and this package reads what they wrote,
from files, folders, or JSON on stdin (see ``docs/recipes/``).
"""

from __future__ import annotations

from typing import IO, Iterable, Optional

from .aggregate import Aggregator, Fleet, aggregate, robust_z, smoke_outliers, snapshot_facts
from .load import LoadStats, Record, Skipped, iter_json_values, load_records, node_name_from_path

__all__ = ["Aggregator", "Fleet", "LoadStats", "Record", "Skipped", "aggregate", "iter_json_values", "load",
           "load_records", "node_name_from_path", "robust_z", "smoke_outliers", "snapshot_facts"]


def load(sources: Iterable[str], stdin: Optional[IO[str]] = None) -> Fleet:
    """Read every source ("-" is stdin) and aggregate; unreadable parts are counted in ``fleet.skipped``."""
    stats = LoadStats()
    return aggregate(load_records(sources, stdin, stats), stats)
