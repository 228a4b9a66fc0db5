"""The facts of a snapshot as labelled rows per section, shared by the terminal and Markdown views."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..snapshot import Snapshot

Row = Tuple[str, str]
Section = Tuple[str, List[Row]]

UNKNOWN = "unknown"


def _v(value: object, unit: str = "") -> str:
    if value is None or value == "" or value == []:
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = f"{value:.1f}"
    return f"{value}{unit}"


def _mib(mib: Optional[int]) -> str:
    if mib is None:
        return UNKNOWN
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib} MiB"


def sections(snap: Snapshot) -> List[Section]:
    out: List[Section] = []
    d = snap.driver
    rows: List[Row] = [
        ("driver", f"{_v(d.version)} (status: {_v(d.status)})"),
        ("driver's max CUDA", _v(d.cuda_version)),
        ("kernel module", _v(d.kernel_module_version) + (f" ({d.kernel_module_kind})" if d.kernel_module_kind else "")),
        ("nvidia-smi", _v(d.smi_path) + (f" (+{len(d.smi_candidates) - 1} more)" if len(d.smi_candidates) > 1 else "")),
    ]
    if d.pci_devices and not snap.gpus:
        rows.append(("NVIDIA PCI devices", ", ".join(f"{p.address} ({p.driver or 'no driver'})" for p in d.pci_devices)))
    for g in snap.gpus:
        health = []
        if g.mig_mode:
            health.append(f"MIG {g.mig_mode}")
        if g.pcie_gen_current:
            health.append(f"PCIe gen{g.pcie_gen_current}/{_v(g.pcie_gen_max)} x{_v(g.pcie_width_current)}/{_v(g.pcie_width_max)}")
        if g.temperature_c is not None:
            health.append(f"{g.temperature_c:.0f} C")
        if g.power_draw_w is not None:
            health.append(f"{g.power_draw_w:.0f}/{_v(g.power_limit_w)} W")
        rows.append((f"GPU {g.index}", f"{_v(g.name)}, cc {_v(g.compute_capability)}, "
                     f"{_mib(g.memory_used_mib)} / {_mib(g.memory_total_mib)} used" + (", " + ", ".join(health) if health else "")))
    out.append(("Driver and GPUs", rows))

    t = snap.torch
    installed = t.version or t.dist_version
    absent = not installed and not t.error and snap.python.executable
    rows = [
        ("torch", "not installed" if absent else _v(installed) + (f" at {t.location}" if t.location else "")),
        ("built for CUDA", _v(t.cuda) if t.cuda else (f"none (ROCm {t.hip})" if t.hip else
                                                       "none (CPU build)" if t.version else UNKNOWN)),
        ("installer", _v(t.installer)),
    ]
    if t.live:
        rows += [
            ("CUDA available", _v(t.cuda_available)),
            ("arch list", " ".join(t.arch_list or []) or "(none)"),
            ("devices", "; ".join(f"{x.index}: {x.name} (cc {x.capability})" for x in t.devices) or "(none)"),
            ("cuDNN / NCCL", f"{_v(t.cudnn)} / {_v(t.nccl)}"),
            ("import time", _v(t.import_s, " s")),
        ]
    else:
        rows.append(("live check", "skipped (--fast)" if snap.meta.fast else "not run"))
    if t.error:
        rows.append(("error", t.error.strip().splitlines()[-1][:200]))
    for name in ("torchvision", "torchaudio", "triton"):
        pkg = snap.python.packages.get(name)
        if pkg:
            rows.append((name, _v(pkg.build_version or pkg.version)))
    out.append(("PyTorch", rows))

    rows = []
    for k in snap.cuda_toolkits:
        marks = [m for m, on in (("on PATH", k.active), ("used for extensions", k.used_by_torch_extensions)) if on]
        rows.append((f"nvcc {_v(k.version)}", f"{_v(k.nvcc or k.path)} [{k.source}]" + (f" ({', '.join(marks)})" if marks else "")
                     + (f" error: {k.error}" if k.error else "")))
    c = snap.cudnn
    if c.loaded:
        rows.append(("cuDNN loaded", f"{_v(c.loaded.version)} from {_v(c.loaded.path)}"))
    if c.bundled:
        rows.append(("cuDNN bundled", f"{_v(c.bundled.version)} ({_v(c.bundled.path)})"))
    for copy in c.system:
        rows.append(("cuDNN system", f"{_v(copy.version)} at {_v(copy.path)} [{copy.source}]"))
    out.append(("CUDA toolkits and cuDNN", rows or [("nvcc", "none found")]))

    p = snap.python
    rows = [
        ("python", f"{_v(p.version)} at {_v(p.executable)} (chosen by {_v(p.chosen_by)})"),
        ("environment", p.conda_env and f"conda: {p.conda_env}" or ("venv" if p.is_venv else "system / base")),
        ("pip index", _v(snap.pip.index_url)),
    ]
    if snap.pip.extra_index_urls:
        rows.append(("pip extra index", " ".join(snap.pip.extra_index_urls)))
    mirrors = sorted({s.mirror for s in snap.pip.settings if s.mirror})
    if mirrors:
        rows.append(("pip mirrors", ", ".join(mirrors)))
    if snap.conda.executable:
        rows.append(("conda", f"{snap.conda.executable} ({_v(snap.conda.version)})"))
        if snap.conda.channels:
            rows.append(("conda channels", ", ".join(snap.conda.channels)))
    out.append(("Python, pip and conda", rows))

    s = snap.system
    rows = [
        ("OS", f"{_v(s.distro or s.os)} ({_v(s.machine)}), kernel {_v(s.kernel)}, glibc {_v(s.glibc)}"),
        ("CPU / RAM", f"{_v(s.cpu_model)} x{_v(s.cpu_count)} / {_mib(s.ram_total_mib)}"),
        ("container", _v(s.container) if s.container else ("WSL" if s.wsl else "none detected")),
        ("/dev/shm", _mib(s.shm_total_mib)),
        ("compilers", ", ".join(f"{x.name} {_v(x.version)}" for x in s.compilers) or "none"),
        ("ninja", _v(s.ninja)),
    ]
    for key in ("CUDA_VISIBLE_DEVICES", "CUDA_HOME", "LD_LIBRARY_PATH"):
        if key in snap.env:
            rows.append((key, snap.env[key] or '""'))
    out.append(("System", rows))
    return out
