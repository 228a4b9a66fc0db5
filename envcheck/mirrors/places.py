"""The places `envcheck mirrors use` edits: the user config file of pip, conda and uv on this OS.

One function names them, so `use` (what to change), `restore` (what it may touch: a manifest that
names any other path is not obeyed) and the temp-file sweep agree on the same short list.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, List

from ..probes import ProbeContext


def config_paths(ctx: ProbeContext, platform: str = sys.platform) -> Dict[str, Path]:
    """tool -> the user config file envcheck edits for it."""
    from . import edit_conda, edit_pip, edit_uv

    return {"pip": edit_pip.user_config_path(ctx, platform),
            "conda": edit_conda.user_condarc_path(ctx.home_dir()),
            "uv": edit_uv.user_config_path(ctx, platform)}


def key(path: Path) -> str:
    """The journal's spelling of a path: absolute, ``~`` expanded, links not followed."""
    return os.path.abspath(os.path.expanduser(str(path)))


def folders_to_sweep(paths: List[Path]) -> Dict[Path, List[str]]:
    """folder -> file names whose leftover temporary files may lie there: each path's folder and,
    for a symlink, its target's folder."""
    out: Dict[Path, List[str]] = {}
    for path in paths:
        spots = [Path(key(path))]
        if os.path.islink(path):
            spots.append(Path(os.path.realpath(path)))
        for spot in spots:
            names = out.setdefault(spot.parent, [])
            if spot.name not in names:
                names.append(spot.name)
    return out
