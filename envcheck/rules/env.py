"""Rules about environment variables that change which GPUs and libraries torch sees."""

from __future__ import annotations

import os
from typing import Iterator, List

from ..findings import Finding
from ..i18n import N_, Message, joined
from .base import RuleContext, finding

_HIDE_ALL = ("", "-1", "nodevfiles", "none", "void")
#: libraries torch ships itself in pip installs; a copy from elsewhere means shadowing
#: torch's CUDA libraries (pip's nvidia-* wheels) that a system copy on LD_LIBRARY_PATH can stand in for
_SHADOWABLE = ("libcudnn", "libcublas", "libcudart", "libnccl", "libnvrtc", "libcusparse", "libcufft", "libnvJitLink",
               "libcusolver", "libcurand", "libcupti")


def cuda_visible_devices_invalid(ctx: RuleContext) -> Iterator[Finding]:
    raw = ctx.snap.env.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return
    gpus = ctx.snap.gpus
    setting = f"CUDA_VISIBLE_DEVICES={raw!r}"
    if raw.strip().lower() in _HIDE_ALL:
        if gpus or ctx.has_nvidia:
            yield finding("cuda-visible-devices-invalid", Message(N_("{setting} hides every GPU"), setting=setting),
                          Message(N_("CUDA sees no device, so torch.cuda.is_available() is False.")),
                          ["unset CUDA_VISIBLE_DEVICES   # " + Message(N_("or list the GPUs you want, e.g. {example}"), example="CUDA_VISIBLE_DEVICES=0,1")],
                          value=raw)
        return
    if not gpus:
        return  # nothing to check the entries against
    uuids = [g.uuid or "" for g in gpus]
    seen: List[str] = []
    bad: List[str] = []
    for position, entry in enumerate(e.strip() for e in raw.split(",")):
        valid = False
        if entry.isdigit():
            valid = int(entry) < len(gpus)
        elif entry.upper().startswith(("GPU-", "MIG-")):
            valid = entry.upper().startswith("MIG-") or any(u.lower().startswith(entry.lower()) for u in uuids)
        if not valid or entry in seen:
            bad.append(entry)
            first_bad = position
            break
        seen.append(entry)
    if not bad:
        return
    hidden_all = first_bad == 0
    detail = Message(N_("Entry {entry} is not a GPU here ({count} GPU(s): indices {indices}). CUDA stops at the first "
               "invalid entry: "), entry=repr(bad[0]), count=len(gpus), indices=f"0..{len(gpus) - 1}") + (
        Message(N_("no GPU is visible.")) if hidden_all else Message(N_("only {visible} stay visible."), visible=", ".join(seen)))
    yield finding("cuda-visible-devices-invalid", Message(N_("{setting} names a GPU that does not exist"), setting=setting),
                  detail, ["nvidia-smi -L   # " + Message(N_("valid indices and UUIDs")),
                           f"export CUDA_VISIBLE_DEVICES={','.join(str(i) for i in range(len(gpus)))}"],
                  severity="error" if hidden_all else "warning", value=raw, invalid=bad[0])


def device_order_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    gpus = ctx.snap.gpus
    names = {g.name for g in gpus}
    if len(gpus) < 2 or len(names) < 2:
        return
    if (ctx.snap.env.get("CUDA_DEVICE_ORDER") or "").upper() == "PCI_BUS_ID":
        return
    yield finding("device-order-mismatch", Message(N_("CUDA may number these mixed GPUs differently from nvidia-smi")),
                  Message(N_("GPUs {names}: CUDA's default order is fastest first, nvidia-smi's is PCI bus order, so cuda:0 "
                    "may not be nvidia-smi's GPU 0."), names=", ".join(sorted(n for n in names if n))),
                  ["export CUDA_DEVICE_ORDER=PCI_BUS_ID"])


def ld_library_path_shadowing(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    ld = ctx.snap.env.get("LD_LIBRARY_PATH") or ""
    ld_dirs = [d.rstrip("/") for d in ld.split(os.pathsep) if d]
    if not ld_dirs or not t.loaded_libraries:
        return
    torch_root = os.path.dirname(os.path.dirname(t.location or "")) if t.location else ""
    shadowed = []
    for lib in t.loaded_libraries:
        if not lib.name.startswith(_SHADOWABLE):
            continue
        lib_dir = os.path.dirname(lib.path).rstrip("/")
        if torch_root and lib.path.startswith(torch_root):
            continue
        if lib_dir in ld_dirs:
            shadowed.append(lib)
    if not shadowed:
        return
    bundled = ctx.snap.cudnn.bundled
    libraries = joined([Message(N_("{name} {version} from {path}"), name=l.name, version=l.version, path=l.path)
                        if l.version else Message(N_("{name} from {path}"), name=l.name, path=l.path) for l in shadowed])
    detail = Message(N_("torch loaded {libraries} — directories listed in LD_LIBRARY_PATH ({value}), instead of the copies "
               "installed with torch"), libraries=libraries, value=ld)
    if bundled and bundled.version:
        detail += Message(N_(" (bundled cuDNN {version})"), version=bundled.version)
    yield finding("ld-library-path-shadowing", Message(N_("LD_LIBRARY_PATH overrides torch's own CUDA libraries")),
                  Message(N_("{text}."), text=detail),
                  [Message(N_("Run without it: {command}"), command="env -u LD_LIBRARY_PATH python your_script.py"),
                   Message(N_("or drop {directories} from LD_LIBRARY_PATH where it is set (~/.bashrc, the job script, "
                              "the container's environment)"),
                           directories=", ".join(sorted({os.path.dirname(l.path) for l in shadowed})))],
                  libraries=[l.path for l in shadowed])


RULES = [cuda_visible_devices_invalid, device_order_mismatch, ld_library_path_shadowing]
