"""Rules about cuDNN: missing, and which copy torch really loads versus what sits on the system."""

from __future__ import annotations

import re
from typing import Iterator, Optional

from ..findings import Finding
from ..i18n import N_, Message
from ..versions import dotted
from .base import RuleContext, finding

_MISSING = re.compile(r"(libcudnn[\w.]*\.so[\w.]*|cudnn\w*\.dll)[^\n]*?(cannot open shared object file|could not be found|"
                      r"not found|Could not load library)", re.IGNORECASE)


def _torch_cudnn(ctx: RuleContext) -> Optional[str]:
    c = ctx.snap.cudnn
    if c.loaded and c.loaded.version:
        return c.loaded.version
    if c.torch_reported:
        return c.torch_reported
    return c.bundled.version if c.bundled and c.bundled.version else None


def cudnn_missing(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    m = _MISSING.search(t.error or "") or _MISSING.search(t.cuda_warning or "")
    if m:
        yield finding("cudnn-missing", Message(N_("torch cannot load cuDNN ({library})"), library=m.group(1)),
                      Message(N_("{error}. pip builds of torch bring cuDNN as the nvidia-cudnn-cuXX wheel; it is missing, "
                        "broken, or a conda/system copy of another major version is found first."), error=m.group(0).strip()),
                      ["pip list | grep -i cudnn   # " + Message(N_("is nvidia-cudnn-cu1X there, of the version torch pins?")),
                       "pip install --force-reinstall --no-deps nvidia-cudnn-cu12  # "
                       + Message(N_("or -cu13, matching torch's CUDA major")),
                       "env -u LD_LIBRARY_PATH python -c 'import torch'   # " + Message(N_("rule out a shadowing copy"))],
                      library=m.group(1))
        return
    if t.live and t.cuda and t.error is None and t.cuda_available and t.cudnn is None and t.version:
        yield finding("cudnn-missing", Message(N_("torch reports no cuDNN")),
                      Message(N_("torch.backends.cudnn.version() is None in a CUDA build: convolutions will fail or be slow.")),
                      ["pip install --force-reinstall torch " + Message(N_("(same version and index)"))],
                      severity="warning")


def cudnn_system_differs(ctx: RuleContext) -> Iterator[Finding]:
    used = _torch_cudnn(ctx)
    if not used:
        return
    used3 = dotted(used, 3)
    others = sorted({c.version for c in ctx.snap.cudnn.system if c.version and dotted(c.version, 3) != used3},
                    key=lambda v: dotted(v, 3))
    if not others:
        return
    loaded = ctx.snap.cudnn.loaded
    where = loaded.path if loaded and loaded.path else Message(N_("its own wheel"))
    paths = sorted({c.path for c in ctx.snap.cudnn.system if c.version in others and c.path})
    yield finding("cudnn-system-differs", Message(N_("System cuDNN {system} differs from the {used} torch uses"), system=", ".join(others), used=used),
                  Message(N_("torch uses cuDNN {used} ({where}); the system also has {system} at {paths}. Harmless while torch "
                    "loads its own copy; tools that report the system copy (collect_env's 'Probably one of the "
                    "following') name the wrong one, and LD_LIBRARY_PATH or LD_PRELOAD can make torch load "
                    "it."), used=used, where=where, system=", ".join(others), paths="; ".join(paths[:3])),
                  [], used=used, system=others)


RULES = [cudnn_missing, cudnn_system_differs]
