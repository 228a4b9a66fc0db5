"""A detector's "no" that covers a whole run of lines, so that detection stays linear in the paste."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Miss:
    """A detector's "no block here, nor at any line before ``until``".

    A detector that reads a run of lines and then finds the run is no block of its kind (a Markdown
    table is not an nvidia-smi table) knows that a start further inside the run reads a part of the same
    run, which fails the same test. Saying so lets :func:`envcheck.analyze.detect.detect` skip that detector until the run's
    end: one read per run instead of one per line (an 8,000-row Markdown table took 30 s).
    """

    until: int
