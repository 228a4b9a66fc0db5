"""The facts of a snapshot as labelled rows per section, shared by the terminal and Markdown views."""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..i18n import N_, Gettext, english
from ..snapshot import Snapshot

Row = Tuple[str, str]
Section = Tuple[str, List[Row]]

UNKNOWN = N_("unknown")
#: a section of a pasted report whose facts were not in the paste (analyze: unknown is not absent)
NOT_PASTED = N_("not in the paste")


def _v(value: object, unit: str = "", _: Gettext = english) -> str:
    if value is None or value == "" or value == []:
        return _(UNKNOWN)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        value = f"{value:.1f}"
    return f"{value}{unit}"


def _mib(mib: Optional[int], _: Gettext = english) -> str:
    if mib is None:
        return _(UNKNOWN)
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib} MiB"


def sections(snap: Snapshot, _: Gettext = english) -> List[Section]:
    """Section titles, row labels and the words in values in ``_``'s language; the facts themselves as recorded.

    A snapshot built from pasted text (``analyze``) knows only what was pasted: a row whose fact is unknown
    is left out, nothing is said to be absent ("none found", "none detected") for lack of a paste, and a
    section with nothing known says so once.
    """
    partial = snap.meta.origin == "analyze"

    def v(value: object, unit: str = "") -> str:
        return _v(value, unit, _)

    def mib(value: Optional[int]) -> str:
        return _mib(value, _)

    out: List[Section] = []
    unknown: List[Row] = []  # rows whose fact is unknown: left out of a pasted report

    def row(label: str, value: str, fact: object = True) -> Row:
        made = (label, value)
        if fact in (None, "", [], {}, False):
            unknown.append(made)
        return made

    def section(title: str, rows: List[Row]) -> None:
        if partial:
            rows = [r for r in rows if not any(r is u for u in unknown)] or [("", _(NOT_PASTED))]
        out.append((title, rows))

    d = snap.driver
    rows: List[Row] = [
        row(_("driver"), _("{version} (status: {status})").format(version=v(d.version), status=v(d.status)),
            d.version or d.status),
        row(_("driver's max CUDA"), v(d.cuda_version), d.cuda_version),
        row(_("kernel module"), v(d.kernel_module_version)
            + (f" ({d.kernel_module_kind})" if d.kernel_module_kind else ""), d.kernel_module_version),
        row("nvidia-smi", v(d.smi_path) + (_(" (+{count} more)").format(count=len(d.smi_candidates) - 1)
                                           if len(d.smi_candidates) > 1 else ""), d.smi_path),
    ]
    if d.pci_devices and not snap.gpus:
        rows.append((_("NVIDIA PCI devices"), ", ".join(f"{p.address} ({p.driver or _('no driver')})"
                                                      for p in d.pci_devices)))
    for g in snap.gpus:
        health = []
        if g.mig_mode:
            health.append(f"MIG {g.mig_mode}")
        if g.pcie_gen_current:
            health.append(f"PCIe gen{g.pcie_gen_current}/{v(g.pcie_gen_max)} x{v(g.pcie_width_current)}/{v(g.pcie_width_max)}")
        if g.temperature_c is not None:
            health.append(f"{g.temperature_c:.0f} C")
        if g.power_draw_w is not None:
            health.append(f"{g.power_draw_w:.0f}/{v(g.power_limit_w)} W")
        rows.append((f"GPU {g.index}", _("{name}, cc {cc}, {used} / {total} used").format(
            name=v(g.name), cc=v(g.compute_capability), used=mib(g.memory_used_mib), total=mib(g.memory_total_mib))
            + (_(", ") + _(", ").join(health) if health else "")))
    section(_("Driver and GPUs"), rows)

    t = snap.torch
    installed = t.version or t.dist_version
    absent = not installed and not t.error and snap.python.executable
    rows = [
        row("torch", _("not installed") if absent else
            (_("{version} at {path}").format(version=v(installed), path=t.location) if t.location else v(installed)),
            absent or installed),
        row(_("built for CUDA"), v(t.cuda) if t.cuda else (_("none (ROCm {version})").format(version=t.hip) if t.hip
                                                           else _("none (CPU build)") if t.build == "cpu"
                                                           else _(UNKNOWN)), t.cuda or t.hip or t.build),
        row(_("installer"), v(t.installer), t.installer),
    ]
    if t.live:
        rows += [
            (_("CUDA available"), v(t.cuda_available)),
            (_("arch list"), " ".join(t.arch_list or []) or _("(none)")),
            (_("devices"), "; ".join(f"{x.index}: {x.name} (cc {x.capability})" for x in t.devices) or _("(none)")),
            ("cuDNN / NCCL", f"{v(t.cudnn)} / {v(t.nccl)}"),
            (_("import time"), v(t.import_s, " s")),
        ]
    elif not partial:
        rows.append((_("live check"), _("skipped (--fast)") if snap.meta.fast else _("not run")))
    if t.error:
        rows.append((_("error"), t.error.strip().splitlines()[-1][:200]))
    for name in ("torchvision", "torchaudio", "triton"):
        pkg = snap.python.packages.get(name)
        if pkg:
            rows.append((name, v(pkg.build_version or pkg.version)))
    section("PyTorch", rows)

    rows = []
    for k in snap.cuda_toolkits:
        marks = [_(m) for m, on in ((N_("on PATH"), k.active), (N_("used for extensions"), k.used_by_torch_extensions))
                 if on]
        where = f"{v(k.nvcc or k.path)} [{k.source}]"
        if marks:
            where += _(" ({marks})").format(marks=_(", ").join(marks))
        rows.append((f"nvcc {v(k.version)}", where + (_(" error: {error}").format(error=k.error) if k.error else "")))
    c = snap.cudnn
    if c.loaded:
        rows.append((_("cuDNN loaded"), _("{version} from {path}").format(version=v(c.loaded.version),
                                                                          path=v(c.loaded.path))))
    if c.bundled:
        rows.append((_("cuDNN bundled"), f"{v(c.bundled.version)} ({v(c.bundled.path)})"))
    for copy in c.system:
        rows.append((_("cuDNN system"), _("{version} at {path}").format(version=v(copy.version), path=v(copy.path))
                     + f" [{copy.source}]"))
    section(_("CUDA toolkits and cuDNN"), rows or [row("nvcc", _("none found"), not partial)])

    p = snap.python
    rows = [
        row("python", _("{version} at {path} (chosen by {chosen_by})").format(
            version=v(p.version), path=v(p.executable), chosen_by=v(p.chosen_by)) if p.executable
            else v(p.version), p.executable or p.version),  # a pasted report may name the version only
        row(_("environment"), p.conda_env and f"conda: {p.conda_env}" or ("venv" if p.is_venv else _("system / base")),
            p.conda_env or p.is_venv or not partial),
        row(_("pip index"), v(snap.pip.index_url), snap.pip.index_url),
    ]
    if snap.pip.extra_index_urls:
        rows.append((_("pip extra index"), " ".join(snap.pip.extra_index_urls)))
    mirrors = sorted({s.mirror for s in snap.pip.settings if s.mirror})
    if mirrors:
        rows.append((_("pip mirrors"), ", ".join(mirrors)))
    if snap.conda.executable:
        rows.append(("conda", f"{snap.conda.executable} ({v(snap.conda.version)})"))
        if snap.conda.channels:
            rows.append((_("conda channels"), ", ".join(snap.conda.channels)))
    section(_("Python, pip and conda"), rows)

    s = snap.system
    rows = [
        row(_("OS"), _("{os} ({machine}), kernel {kernel}, glibc {glibc}").format(
            os=v(s.distro or s.os), machine=v(s.machine), kernel=v(s.kernel), glibc=v(s.glibc))
            if any((s.distro, s.os, s.machine, s.kernel, s.glibc)) else v(None),
            any((s.distro, s.os, s.machine, s.kernel, s.glibc))),
        row("CPU / RAM", f"{v(s.cpu_model)} x{v(s.cpu_count)} / {mib(s.ram_total_mib)}"
            if any((s.cpu_model, s.cpu_count, s.ram_total_mib)) else v(None),
            any((s.cpu_model, s.cpu_count, s.ram_total_mib))),
        row(_("container"), v(s.container) if s.container else ("WSL" if s.wsl else _("none detected")),
            s.container or s.wsl or not partial),
        row("/dev/shm", mib(s.shm_total_mib), s.shm_total_mib),
        row(_("compilers"), ", ".join(f"{x.name} {v(x.version)}" for x in s.compilers) or _("none"),
            s.compilers or not partial),
        row("ninja", v(s.ninja), s.ninja),
    ]
    for key in ("CUDA_VISIBLE_DEVICES", "CUDA_HOME", "LD_LIBRARY_PATH"):
        if key in snap.env:
            rows.append((key, snap.env[key] or '""'))
    section(_("System"), rows)
    return out
