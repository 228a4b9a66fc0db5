"""Rules about faults the live machine reports: Xid events, the NVSwitch fabric, GPU containers and WSL's libcuda.

The codes are the ones ``envcheck analyze`` raises from pasted text (error_signatures.toml); where the same fault is
read from the machine, the finding's title and detail are that signature's text (already translated), filled with
the live facts, so both paths say the same thing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from ..findings import Finding, looks_like_command
from ..i18n import N_, DataText, Message, Sentences, Template
from ..knowledge import load_toml
from ..snapshot import XidRecord
from .base import RuleContext, finding

_COMMENT = re.compile(r"\s{2,}#\s+")
#: fabric states that mean the fabric manager has not (yet) set the GPU up
FABRIC_NOT_UP = ("Not Started", "In Progress")
#: values of Status that are not an error
_FABRIC_FINE = ("Success", "N/A", None)


@lru_cache(maxsize=4)
def _signatures(path: str) -> Dict[str, Dict[str, Any]]:
    return {str(s.get("id")): s for s in load_toml(Path(path)).get("signature", []) if isinstance(s, dict)}


def _signature(ctx: RuleContext, sid: str) -> Dict[str, Any]:
    try:
        return _signatures(str(Path(ctx.knowledge.data_dir) / "error_signatures.toml")).get(sid, {})
    except Exception:  # the catalogue missing or broken: the rule still speaks, in its own words
        return {}


def _step(text: str) -> str:
    """A catalogue fix step worded where shown: prose whole, a command as it is with its comment translated."""
    match = _COMMENT.search(text)
    if match:
        return Template([text[:match.start()] + match.group(0), DataText(text[match.end():])])
    return text if looks_like_command(text) else DataText(text)


def _from_signature(ctx: RuleContext, sid: str, **fields: Any) -> Optional[Dict[str, Any]]:
    sig = _signature(ctx, sid)
    if not sig.get("title"):
        return None
    return {"title": Template([DataText(str(sig["title"]))], **fields),
            "detail": Template([DataText(str(sig.get("detail", "")))], **fields),
            "fix": [_step(str(s)) for s in sig.get("fix", [])]}


# --------------------------------------------------------------------------- Xid events


def _grouped(records: List[XidRecord]) -> Dict[int, List[XidRecord]]:
    groups: Dict[int, List[XidRecord]] = {}
    for record in records:
        groups.setdefault(record.xid, []).append(record)
    return groups


def _pcis(records: List[XidRecord]) -> str:
    seen: List[str] = []
    for r in records:
        if r.pci and r.pci not in seen:
            seen.append(r.pci)
    return ", ".join(seen) or "?"


def _seen(ctx: RuleContext, records: List[XidRecord]) -> Message:
    last = next((r.time for r in reversed(records) if r.time), None)
    source = ctx.snap.kernel_log.source or "dmesg"
    if last:
        return Message(N_("Seen {count} time(s) in this boot's kernel log ({source}), the last at {time}."),
                       count=len(records), source=source, time=last)
    return Message(N_("Seen {count} time(s) in this boot's kernel log ({source})."), count=len(records), source=source)


def xid_events(ctx: RuleContext) -> Iterator[Finding]:
    """Xid lines of this boot's kernel log: gpu-fallen-off-bus for 79, gpu-xid for the others (one finding per Xid
    number). A consequence of an earlier error (Xid 45) is left out beside the error that caused it."""
    log = ctx.snap.kernel_log
    groups = _grouped(log.xids)
    events = {xid: ctx.knowledge.xid_event(xid) for xid in groups}
    others = [x for x, e in events.items() if not (e and e.cause == "consequence")]
    for xid, records in groups.items():
        event = events[xid]
        if event and event.cause == "consequence" and others:
            continue
        pci = _pcis(records)
        lines = [f"{r.time + ' ' if r.time else ''}Xid {r.xid} ({r.pci}): {r.text}".strip() for r in records[-5:]]
        if xid == 79:
            text = _from_signature(ctx, "xid-79-fallen-off-the-bus", pci=pci)
            code = "gpu-fallen-off-bus"
        else:
            text = _from_signature(ctx, "xid-event", pci=pci, xid=xid,
                                   xid_meaning=DataText(event.meaning) if event else None,
                                   xid_action=event.action if event and event.action else None)
            code = "gpu-xid"
        if text is None:
            text = {"title": Message(N_("The NVIDIA driver logged Xid {xid} for the GPU at {pci}"), xid=xid, pci=pci),
                    "detail": "", "fix": []}
        detail = Sentences([text["detail"], _seen(ctx, records)]) if text["detail"] else _seen(ctx, records)
        yield finding(code, text["title"], detail, text["fix"], xid=xid, pci=pci, count=len(records),
                      source=log.source, meaning=event.meaning if event else None, lines=lines)


# --------------------------------------------------------------------------- the NVSwitch fabric


def fabric_manager(ctx: RuleContext) -> Iterator[Finding]:
    """An NVSwitch system whose GPUs' fabric is not set up (Not Started / In Progress, or Completed with an error),
    or whose fabric manager service is inactive or failed while no GPU reports a completed fabric."""
    fab = ctx.snap.fabric
    if not fab.nvswitch_evidence:
        return
    not_up = [g for g in fab.gpus if g.state in FABRIC_NOT_UP]
    failed = [g for g in fab.gpus if g.state == "Completed" and g.status not in _FABRIC_FINE]
    completed = [g for g in fab.gpus if g.state == "Completed" and g.status == "Success"]
    service_down = fab.service in ("inactive", "failed")
    if not (not_up or failed or (service_down and not completed)):
        return
    problems: List[Message] = []
    if service_down:
        problems.append(Message(N_("systemctl says the nvidia-fabricmanager service is {state}."), state=fab.service))
    for group in (not_up, failed):
        if group:
            g = group[0]
            problems.append(Message(N_("nvidia-smi -q shows the fabric of {count} GPU(s) as State \"{state}\", "
                                       "Status \"{status}\" (first: {bus_id})."), count=len(group), state=g.state,
                                    status=g.status or "N/A", bus_id=g.bus_id or "?"))
    text = _from_signature(ctx, "cuda-system-not-yet-initialized")
    title = (Message(N_("The NVSwitch fabric is not set up: the NVIDIA fabric manager is not running (CUDA error 802)"))
             if not failed or not_up or service_down else
             Message(N_("The NVSwitch fabric came up with an error: {status}"), status=failed[0].status))
    fix = text["fix"] if text else ["systemctl status nvidia-fabricmanager", "sudo systemctl enable --now nvidia-fabricmanager"]
    yield finding("fabric-manager-not-running", title, Sentences([*problems, text["detail"]] if text else problems),
                  fix, service=fab.service, evidence=fab.nvswitch_evidence,
                  states=[f"{g.bus_id or '?'}: {g.state} / {g.status}" for g in fab.gpus])


# --------------------------------------------------------------------------- containers


def _gpu_expected(ctx: RuleContext) -> bool:
    """Something in this container expects an NVIDIA GPU: the host's GPU on the PCI bus or its kernel module,
    NVIDIA_VISIBLE_DEVICES (set by NVIDIA's CUDA images), or a CUDA build of torch."""
    d = ctx.snap.driver
    return bool(d.pci_devices or d.kernel_module_version or ctx.snap.env.get("NVIDIA_VISIBLE_DEVICES")
                or ctx.torch_is_cuda)


def container_gpu(ctx: RuleContext) -> Iterator[Finding]:
    """Inside a container that expects a GPU but has no /dev/nvidia*: it was started without the GPU. On a host with
    a working NVIDIA driver and docker but no NVIDIA Container Toolkit: `docker run --gpus` will fail."""
    rt, system = ctx.snap.container_runtime, ctx.snap.system
    if system.container and rt.dev_scanned and not rt.dev_nodes and _gpu_expected(ctx):
        yield finding("container-toolkit-missing",
                      Message(N_("This {container} container was started without the GPU (no /dev/nvidia*)"),
                              container=system.container),
                      Message(N_("The container has no NVIDIA device node, so no CUDA program inside it can reach a "
                                 "GPU, whatever its image holds. The GPU is passed through when the container starts, "
                                 "by the NVIDIA Container Toolkit on the host.")),
                      ["docker run --gpus all ...   # " + Message(N_("or, with CDI: {option}"),
                                                                  option="--device nvidia.com/gpu=all"),
                       Message(N_("Kubernetes: request the GPU in the pod ({resource}) and run the NVIDIA device plugin"),
                               resource="resources.limits: nvidia.com/gpu: 1"),
                       "nvidia-smi   # " + Message(N_("inside the new container: it must list the GPU"))],
                      container=system.container)
        return
    if system.container or not rt.docker or rt.toolkit or "nvidia" in (rt.daemon_runtimes or []):
        return
    if ctx.snap.driver.status != "ok":
        return
    text = _from_signature(ctx, "docker-no-gpu-device-driver")
    if text is None:
        return
    yield finding("container-toolkit-missing",
                  Message(N_("docker is installed but the NVIDIA Container Toolkit is not: containers cannot get the GPU")),
                  Message(N_("{docker} is here, but none of {programs} is on PATH and /etc/docker/daemon.json names no "
                             "nvidia runtime: `docker run --gpus all` fails with 'could not select device driver'."),
                          docker=rt.docker, programs="nvidia-ctk, nvidia-container-runtime-hook, nvidia-container-cli"),
                  text["fix"], severity="warning", docker=rt.docker, daemon_runtimes=rt.daemon_runtimes)


# --------------------------------------------------------------------------- WSL


def wsl_libcuda(ctx: RuleContext) -> Iterator[Finding]:
    """On WSL2: no libcuda from the Windows driver, a Linux libcuda installed inside WSL that shadows it, or a loader
    cache without libcuda.so (programs that open libcuda.so fail)."""
    w = ctx.snap.wsl_cuda
    if not w.wsl_lib and not w.linux_libcuda:
        return
    fix_shadow = [Message(N_("Remove the Linux NVIDIA driver from WSL (e.g. {command}): the Windows driver provides "
                             "libcuda; update that one if needed"), command="sudo apt purge 'nvidia-driver-*' 'libnvidia-compute-*'"),
                  "sudo ldconfig; ldconfig -p | grep libcuda   # " + Message(N_("libcuda.so.1 must point into /usr/lib/wsl/lib"))]
    first = None
    if w.ldconfig is not None:
        first = next((e.partition(" => ")[2] for e in w.ldconfig if e.startswith("libcuda.so.1 ")), None)
    if w.linux_libcuda and (first is None or not first.startswith("/usr/lib/wsl/")):
        yield finding("wsl-libcuda",
                      Message(N_("WSL: a Linux NVIDIA driver's libcuda shadows the Windows driver's")),
                      Message(N_("On WSL2 libcuda comes from the Windows driver, in /usr/lib/wsl/lib. This WSL also "
                                 "holds {files}, a Linux driver's copy, which cannot drive the GPU through WSL and is "
                                 "found first: CUDA fails to initialise."), files=", ".join(w.linux_libcuda[:4])),
                      fix_shadow, files=w.linux_libcuda, loader=first)
        return
    if w.wsl_lib and not any(n.startswith("libcuda.so.1") for n in w.stub_files):
        yield finding("wsl-libcuda",
                      Message(N_("WSL: no libcuda in /usr/lib/wsl/lib (the Windows NVIDIA driver provides it)")),
                      Message(N_("/usr/lib/wsl/lib holds no libcuda.so.1: the Windows NVIDIA driver is missing, too old "
                                 "for WSL2 GPU support, or this distribution runs under WSL 1.")),
                      [Message(N_("Install or update the NVIDIA driver on Windows (not inside WSL), then restart WSL: {command}"),
                               command="wsl --shutdown"),
                       "wsl -l -v   # " + Message(N_("in Windows: the distribution must run under WSL 2"))],
                      files=w.stub_files)
        return
    ld_path = ctx.snap.env.get("LD_LIBRARY_PATH", "")
    if (w.ldconfig is not None and "libcuda.so" in w.stub_files
            and not any(e.startswith("libcuda.so ") for e in w.ldconfig) and "/usr/lib/wsl/lib" not in ld_path):
        text = _from_signature(ctx, "wsl-ldconfig-libcuda-so-missing")
        if text:
            yield finding("wsl-libcuda", text["title"], text["detail"], text["fix"], severity="warning",
                          ldconfig=w.ldconfig)


RULES = [xid_events, fabric_manager, container_gpu, wsl_libcuda]
