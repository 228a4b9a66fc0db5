"""Rules about the GPUs themselves: kernels in the torch build, MIG, and health."""

from __future__ import annotations

from typing import Iterator, List, Tuple

from ..install.compat import CUBIN, PTX, arch_range, arch_support, sm_name
from ..findings import Finding
from ..i18n import N_, Message, join, joined
from ..versions import capability, dotted
from .base import RuleContext, Texts, finding

#: clock-event reasons that mean the GPU is being slowed, not merely idle or app-capped
_THROTTLE = {
    "hw_slowdown": N_("hardware slowdown"),
    "hw_thermal_slowdown": N_("hardware thermal slowdown"),
    "sw_thermal_slowdown": N_("software thermal slowdown"),
    "hw_power_brake_slowdown": N_("power-brake slowdown (external power signal)"),
}
#: memory used by others above which a fresh job may not fit (fraction of total)
_BUSY_MEMORY_FRACTION = 0.10


def _arch_list(ctx: RuleContext) -> Tuple[List[str], str]:
    """The build's arch list: from the live torch, else the release data for its variant.

    The release data holds the PyPI/download.pytorch.org wheels' lists; a conda package of the same version was built
    with another list, so for a conda-owned torch the list stays unknown. Without a local tag ("+cu118") the variant
    is the one whose CUDA is torch's (the PyPI default when that matches).
    """
    t = ctx.snap.torch
    if t.arch_list:
        return list(t.arch_list), "torch.cuda.get_arch_list()"
    if (t.installer or "").lower() == "conda":
        return [], ""
    release = ctx.knowledge.torch_release(t.version or t.dist_version)
    variant = None
    if release and t.version and "+" in t.version:
        variant = release.variant(t.version.split("+", 1)[1])
    elif release:
        want = dotted(t.cuda, 2)
        matching = [v for v in release.variants if v.cuda and (want is None or dotted(v.cuda, 2) == want)]
        variant = next((v for v in matching if v.pypi_default), None)
        if variant is None and want is not None and matching:
            variant = matching[0]
    if variant and variant.arch_list:
        return list(variant.arch_list), Message(N_("envcheck's release data for torch {build}"),
                                                build=f"{release.version} {variant.tag}")
    return [], ""


def _gpu_capabilities(ctx: RuleContext) -> List[Tuple[int, str, str]]:
    """(index, name, compute capability) of each GPU: nvidia-smi's, else torch's devices."""
    pairs = [(g.index, g.name, g.compute_capability) for g in ctx.snap.gpus or [] if g.compute_capability]
    return pairs or [(d.index, d.name, d.capability) for d in ctx.snap.torch.devices if d.capability]


def _same_major(cc: str) -> str:
    """The cubins a GPU of ``cc`` runs: "8.6" -> "sm_80..sm_86", "9.0" -> "sm_90"."""
    cap = capability(cc)
    if cap is None:
        return sm_name(cc)
    major, minor = cap
    return f"sm_{major}0" if minor == 0 else f"sm_{major}0..sm_{major}{minor}"


def _below_cuda_floor(ctx: RuleContext) -> Iterator[Finding]:
    """The build's arch list is unknown: a GPU older than its CUDA major's oldest arch has no kernel in any build."""
    t = ctx.snap.torch
    floor = ctx.knowledge.cuda_arch_floor(t.cuda)
    if floor is None or capability(floor.oldest_arch) is None:
        return
    major = floor.cuda_major
    for index, name, cc in _gpu_capabilities(ctx):
        have = capability(cc)
        if have is None or have >= capability(floor.oldest_arch):
            continue
        fields = dict(index=index, name=name, cc=cc, sm=sm_name(cc), cuda=t.cuda, major=major,
                      floor=floor.oldest_arch)
        if t.version:
            detail = Message(N_("GPU {index} ({name}) is compute capability {cc} ({sm}); torch {version} is built with "
                                "CUDA {cuda}, and CUDA {major} builds no code for GPUs below {floor}, so the GPU is "
                                "too old for this build (its exact arch list is not known here; this holds for every "
                                "CUDA {major} build)."), version=t.version, **fields)
        else:
            detail = Message(N_("GPU {index} ({name}) is compute capability {cc} ({sm}); this torch is built with "
                                "CUDA {cuda}, and CUDA {major} builds no code for GPUs below {floor}, so the GPU is "
                                "too old for this build (its exact arch list is not known here; this holds for every "
                                "CUDA {major} build)."), **fields)
        yield finding("gpu-arch-unsupported",
                      Message(N_("GPU {index} ({name}, {sm}) is not supported by this torch build"), index=index,
                              name=name, sm=sm_name(cc)),
                      detail + Message(N_(" Expect 'no kernel image is available for execution on the device'.")),
                      ctx.install_fix(), gpu=index, compute_capability=cc, cuda_floor=floor.oldest_arch,
                      floor_source=floor.source)


def gpu_arch_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    if not ctx.torch_is_cuda:
        return
    arch_list, source = _arch_list(ctx)
    if not arch_list:
        yield from _below_cuda_floor(ctx)
        return
    for index, name, cc in _gpu_capabilities(ctx):
        reach = arch_support(arch_list, cc)
        if reach == CUBIN:
            continue
        sms = [a for a in arch_list if a.startswith("sm_")]
        newest = max((int(a[3:].rstrip("af")) for a in sms), default=0)
        too_new = int(sm_name(cc)[3:]) > newest
        template = (N_("GPU {index} ({name}) is compute capability {cc} ({sm}); torch {version} carries kernels for "
                       "{arch} (from {source}). Same-major rule: a cubin for {same_major} would run; none is there, so "
                       "the GPU is too new for this build.") if too_new else
                    N_("GPU {index} ({name}) is compute capability {cc} ({sm}); torch {version} carries kernels for "
                       "{arch} (from {source}). Same-major rule: a cubin for {same_major} would run; none is there, so "
                       "the GPU is too old for this build."))
        detail = Message(template, index=index, name=name, cc=cc, sm=sm_name(cc), version=ctx.snap.torch.version,
                         arch=arch_range(arch_list), source=source, same_major=_same_major(cc))
        if reach == PTX:
            yield finding("gpu-arch-unsupported", Message(N_("GPU {index} ({sm}) runs this torch only through PTX JIT"), index=index, sm=sm_name(cc)),
                          detail + Message(N_(" PTX is JIT-compiled at start-up: slow first run, and it fails under "
                                     "minor-version compatibility.")), ctx.install_fix(), severity="warning",
                          gpu=index, compute_capability=cc, arch_list=arch_list)
        else:
            yield finding("gpu-arch-unsupported",
                          Message(N_("GPU {index} ({name}, {sm}) is not supported by this torch build"), index=index, name=name, sm=sm_name(cc)),
                          detail + Message(N_(" Expect 'no kernel image is available for execution on the device'.")),
                          ctx.install_fix(), gpu=index, compute_capability=cc, arch_list=arch_list)


def mig_enabled(ctx: RuleContext) -> Iterator[Finding]:
    for g in ctx.snap.gpus:
        if (g.mig_mode or "").lower() == "enabled":
            yield finding(
                "mig-enabled", Message(N_("MIG is enabled on GPU {index} ({name})"), index=g.index, name=g.name),
                Message(N_("{count} MIG instance(s). CUDA applications see MIG slices (by MIG UUID), not the whole GPU; "
                  "a process uses one slice."), count=g.mig_devices),
                ["nvidia-smi -L   # " + Message(N_("lists MIG-<uuid> devices; use {variable}"), variable="CUDA_VISIBLE_DEVICES=MIG-<uuid>"),
                 Message(N_("To use the whole GPU: {command} (then reset the GPU or reboot)"), command=f"sudo nvidia-smi -i {g.index} -mig 0")],
                gpu=g.index)


def gpu_health(ctx: RuleContext) -> Iterator[Finding]:
    for g in ctx.snap.gpus:
        errors = Texts()
        warnings = Texts()
        notes = Texts()  # facts worth a line, not a warning
        fixes: List[str] = []
        if g.ecc_uncorrected_volatile:
            errors.add(N_("{count} uncorrected ECC error(s) since the last driver load"),
                       count=g.ecc_uncorrected_volatile)
            fixes.append(Message(N_("Drain the GPU, then reset it: {command}; if errors return, RMA it"), command=f"sudo nvidia-smi -r -i {g.index}"))
        if g.remapped_rows_failure:
            errors.add(N_("row remapping failed (the memory has no spare rows left)"))
            fixes.append(Message(N_("The GPU needs service (RMA)")))
        if g.remapped_rows_pending or g.retired_pages_pending:
            warnings.add(N_("memory row remap / page retirement pending until the GPU is reset"))
            fixes.append(Message(N_("Reset the GPU when idle: {command} (or reboot)"), command=f"sudo nvidia-smi -r -i {g.index}"))
        throttles = [_THROTTLE[r] for r in g.clock_event_reasons if r in _THROTTLE]
        if throttles:
            warnings.add(N_("clocks slowed by {reasons}"),
                         reasons=join(Message(N_(", ")), [Message(reason) for reason in throttles]))
            fixes.append(Message(N_("Check cooling and power: {command}"), command="nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER"))
        if g.power_limit_w and g.power_limit_default_w and g.power_limit_w < 0.9 * g.power_limit_default_w:
            warnings.add(N_("power limit {limit} W is below the default {default} W"),
                         limit=f"{g.power_limit_w:.0f}", default=f"{g.power_limit_default_w:.0f}")
            fixes.append(f"sudo nvidia-smi -i {g.index} -pl {g.power_limit_default_w:.0f}")
        if g.pcie_width_current and g.pcie_width_max and g.pcie_width_current < g.pcie_width_max:
            warnings.add(N_("PCIe link x{width} (max x{max}): a degraded slot or riser"),
                         width=g.pcie_width_current, max=g.pcie_width_max)
            fixes.append(Message(N_("Reseat the card / check the slot; compare with: {command}"), command="nvidia-smi -q -d PCIE"))
        idle = "gpu_idle" in g.clock_event_reasons
        if (g.pcie_gen_current and g.pcie_gen_max and g.pcie_gen_current < g.pcie_gen_max and not idle
                and g.processes):
            warnings.add(N_("PCIe gen {gen} under load (max gen {max})"), gen=g.pcie_gen_current, max=g.pcie_gen_max)
        others = [p for p in g.processes if p.used_memory_mib]
        if g.memory_total_mib and g.memory_used_mib and g.memory_used_mib > _BUSY_MEMORY_FRACTION * g.memory_total_mib:
            who = ", ".join(f"{p.name or '?'} (pid {p.pid}, {p.used_memory_mib} MiB)" for p in others[:4])
            if who:
                warnings.add(N_("{used} of {total} MiB already in use by {processes}"),
                             used=g.memory_used_mib, total=g.memory_total_mib, processes=who)
            elif ctx.snap.meta.origin == "analyze":  # a pasted table, taken while who knows what ran: a fact
                notes.add(N_("{used} of {total} MiB already in use"), used=g.memory_used_mib,
                          total=g.memory_total_mib)
            else:
                warnings.add(N_("{used} of {total} MiB already in use"), used=g.memory_used_mib,
                             total=g.memory_total_mib)
            fixes.append(f"nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv -i {g.index}")
        if not errors and not warnings and not notes:
            continue
        problems = errors.english + warnings.english + notes.english
        shown = errors + warnings + notes
        yield finding("gpu-health", Message(N_("GPU {index} ({name}): {problem}"), index=g.index, name=g.name, problem=shown[0]),
                      Message(N_("{text}."), text=joined(shown)), fixes,
                      severity="error" if errors else "warning" if warnings else "info", gpu=g.index,
                      problems=problems)


RULES = [gpu_arch_unsupported, mig_enabled, gpu_health]
