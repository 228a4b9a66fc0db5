"""The console-script entry point: starts the slowest probe first, then hands over to the CLI.

`doctor`'s wall time is dominated by importing torch in the target interpreter. Starting that
probe here, before envcheck imports typer, rich and its rules, lets those imports overlap it. The
early start is only an optimisation: any doubt (odd arguments, a target that does not resolve) and
the CLI runs the probe itself, as it always would.
"""

from __future__ import annotations

import sys
from typing import List, Optional


def _option(argv: List[str], name: str) -> Optional[str]:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def early_live_probe(argv: List[str]):
    """The live torch probe, started now, when ``argv`` is a plain `doctor` run that will need it."""
    if not argv or argv[0] != "doctor":
        return None
    if any(a in ("--fast", "-h", "--help") or a.startswith("--from") for a in argv):
        return None
    try:
        timeout = float(_option(argv, "--timeout") or 10.0)
        from .probes import target

        ctx = target.context_for(_option(argv, "--python"), timeout)
        return target.start_live(ctx, target.live_timeout(timeout))
    except Exception:  # never let the optimisation decide the outcome
        return None


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    live = early_live_probe(args)
    from .cli import main as cli_main

    cli_main(args, live=live)
