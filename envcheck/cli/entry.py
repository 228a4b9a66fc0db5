"""The console-script entry point: starts the target probes first, then hands over to the CLI.

`doctor`'s wall time is dominated by importing torch in the target interpreter. Starting that
probe here, before envcheck imports typer, rich and its rules, lets those imports overlap it. The
early start is only an optimisation: any doubt (odd arguments, a target that does not resolve) and
the CLI runs the probe itself, as it always would.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, List, Optional


def _option(argv: List[str], name: str) -> Optional[str]:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def early_probes(argv: List[str]) -> Dict[str, object]:
    """Target probes started now for a run that will need them: {"static": ..., "live": ...}."""
    if not argv or argv[0] not in ("doctor", "install-cmd"):
        return {}
    if any(a in ("-h", "--help") or a.startswith("--from") for a in argv):
        return {}
    python = _option(argv, "--python")
    if argv[0] == "doctor":  # doctor's options also come from the environment (ENVCHECK_*): the same values here
        python = python or os.environ.get("ENVCHECK_PYTHON") or None
    if argv[0] == "install-cmd" and python and os.sep not in python and not os.path.exists(python):
        python = None  # --python 3.10 is a version for install-cmd, not an interpreter
    try:
        timeout = float(_option(argv, "--timeout") or (os.environ.get("ENVCHECK_TIMEOUT") if argv[0] == "doctor"
                                                        else None) or 10.0)
        from ..probes import target

        torch_timeout = float(_option(argv, "--torch-timeout") or os.environ.get("ENVCHECK_TORCH_TIMEOUT")
                              or target.TORCH_TIMEOUT_S)

        ctx = target.context_for(python, timeout)
        from ..runner import CHILDREN

        CHILDREN.install()  # before the first child: a SIGTERM now still ends the early probes (exit 128 + signal)
        early = {"static": target.start_script(ctx, "static", timeout)}
        if argv[0] == "doctor" and "--fast" not in argv:
            early["live"] = target.start_script(ctx, "live", torch_timeout)
        return early
    except Exception:  # never let the optimisation decide the outcome
        return {}


def _command_args(args: List[str]) -> List[str]:
    """``args`` from the command name on (a leading global ``--lang X`` skipped)."""
    while args and args[0].startswith("--lang"):
        args = args[2:] if args[0] == "--lang" else args[1:]
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    early = early_probes(_command_args(args))
    from .app import main as cli_main

    cli_main(args, early=early)
