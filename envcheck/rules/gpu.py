"""Rules about the GPUs themselves: kernels in the torch build, MIG, and health."""

from __future__ import annotations

from typing import Iterator, List, Tuple

from ..compat import CUBIN, NONE, PTX, arch_range, arch_support, sm_name
from ..findings import Finding
from .base import RuleContext, finding

#: clock-event reasons that mean the GPU is being slowed, not merely idle or app-capped
_THROTTLE = {
    "hw_slowdown": "hardware slowdown",
    "hw_thermal_slowdown": "hardware thermal slowdown",
    "sw_thermal_slowdown": "software thermal slowdown",
    "hw_power_brake_slowdown": "power-brake slowdown (external power signal)",
}
#: memory used by others above which a fresh job may not fit (fraction of total)
_BUSY_MEMORY_FRACTION = 0.10


def _arch_list(ctx: RuleContext) -> Tuple[List[str], str]:
    """The build's arch list: from the live torch, else the release data for its variant."""
    t = ctx.snap.torch
    if t.arch_list:
        return list(t.arch_list), "torch.cuda.get_arch_list()"
    release = ctx.knowledge.torch_release(t.version or t.dist_version)
    tag = None
    if t.version and "+" in t.version:
        tag = t.version.split("+", 1)[1]
    elif release:
        tag = next((v.tag for v in release.variants if v.pypi_default), None)
    variant = release.variant(tag) if release and tag else None
    if variant and variant.arch_list:
        return list(variant.arch_list), f"envcheck's release data for torch {release.version} {variant.tag}"
    return [], ""


def gpu_arch_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    if not ctx.torch_is_cuda:
        return
    arch_list, source = _arch_list(ctx)
    if not arch_list:
        return
    gpus = ctx.snap.gpus or []
    pairs = [(g.index, g.name, g.compute_capability) for g in gpus if g.compute_capability]
    if not pairs:
        pairs = [(d.index, d.name, d.capability) for d in ctx.snap.torch.devices if d.capability]
    for index, name, cc in pairs:
        reach = arch_support(arch_list, cc)
        if reach == CUBIN:
            continue
        sms = [a for a in arch_list if a.startswith("sm_")]
        newest = max((int(a[3:].rstrip("af")) for a in sms), default=0)
        too_new = int(sm_name(cc)[3:]) > newest
        kind = "too new" if too_new else "too old"
        detail = (f"GPU {index} ({name}) is compute capability {cc} ({sm_name(cc)}); torch {ctx.snap.torch.version} "
                  f"carries kernels for {arch_range(arch_list)} (from {source}). Same-major rule: a cubin for "
                  f"sm_X0..sm_X{cc.split('.')[-1]} would run; none is there, so the GPU is {kind} for this build.")
        if reach == PTX:
            yield finding("gpu-arch-unsupported", f"GPU {index} ({sm_name(cc)}) runs this torch only through PTX JIT",
                          detail + " PTX is JIT-compiled at start-up: slow first run, and it fails under "
                          "minor-version compatibility.", ctx.install_fix(), severity="warning",
                          gpu=index, compute_capability=cc, arch_list=arch_list)
        else:
            yield finding("gpu-arch-unsupported", f"GPU {index} ({name}, {sm_name(cc)}) is not supported by this torch build",
                          detail + " Expect 'no kernel image is available for execution on the device'.",
                          ctx.install_fix(), gpu=index, compute_capability=cc, arch_list=arch_list)


def mig_enabled(ctx: RuleContext) -> Iterator[Finding]:
    for g in ctx.snap.gpus:
        if (g.mig_mode or "").lower() == "enabled":
            yield finding(
                "mig-enabled", f"MIG is enabled on GPU {g.index} ({g.name})",
                f"{g.mig_devices} MIG instance(s). CUDA applications see MIG slices (by MIG UUID), not the whole GPU; "
                "a process uses one slice.",
                ["nvidia-smi -L   # lists MIG-<uuid> devices; use CUDA_VISIBLE_DEVICES=MIG-<uuid>",
                 f"To use the whole GPU: sudo nvidia-smi -i {g.index} -mig 0 (then reset the GPU or reboot)"],
                gpu=g.index)


def gpu_health(ctx: RuleContext) -> Iterator[Finding]:
    for g in ctx.snap.gpus:
        errors: List[str] = []
        warnings: List[str] = []
        fixes: List[str] = []
        if g.ecc_uncorrected_volatile:
            errors.append(f"{g.ecc_uncorrected_volatile} uncorrected ECC error(s) since the last driver load")
            fixes.append(f"Drain the GPU, then reset it: sudo nvidia-smi -r -i {g.index}; if errors return, RMA it")
        if g.remapped_rows_failure:
            errors.append("row remapping failed (the memory has no spare rows left)")
            fixes.append("The GPU needs service (RMA)")
        if g.remapped_rows_pending or g.retired_pages_pending:
            warnings.append("memory row remap / page retirement pending until the GPU is reset")
            fixes.append(f"Reset the GPU when idle: sudo nvidia-smi -r -i {g.index} (or reboot)")
        throttles = [_THROTTLE[r] for r in g.clock_event_reasons if r in _THROTTLE]
        if throttles:
            warnings.append("clocks slowed by " + ", ".join(throttles))
            fixes.append("Check cooling and power: nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER")
        if g.power_limit_w and g.power_limit_default_w and g.power_limit_w < 0.9 * g.power_limit_default_w:
            warnings.append(f"power limit {g.power_limit_w:.0f} W is below the default {g.power_limit_default_w:.0f} W")
            fixes.append(f"sudo nvidia-smi -i {g.index} -pl {g.power_limit_default_w:.0f}")
        if g.pcie_width_current and g.pcie_width_max and g.pcie_width_current < g.pcie_width_max:
            warnings.append(f"PCIe link x{g.pcie_width_current} (max x{g.pcie_width_max}): a degraded slot or riser")
            fixes.append("Reseat the card / check the slot; compare with: nvidia-smi -q -d PCIE")
        idle = "gpu_idle" in g.clock_event_reasons
        if (g.pcie_gen_current and g.pcie_gen_max and g.pcie_gen_current < g.pcie_gen_max and not idle
                and g.processes):
            warnings.append(f"PCIe gen {g.pcie_gen_current} under load (max gen {g.pcie_gen_max})")
        others = [p for p in g.processes if p.used_memory_mib]
        if g.memory_total_mib and g.memory_used_mib and g.memory_used_mib > _BUSY_MEMORY_FRACTION * g.memory_total_mib:
            who = ", ".join(f"{p.name or '?'} (pid {p.pid}, {p.used_memory_mib} MiB)" for p in others[:4])
            warnings.append(f"{g.memory_used_mib} of {g.memory_total_mib} MiB already in use"
                            + (f" by {who}" if who else ""))
            fixes.append(f"nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv -i {g.index}")
        if not errors and not warnings:
            continue
        problems = errors + warnings
        yield finding("gpu-health", f"GPU {g.index} ({g.name}): " + problems[0],
                      "; ".join(problems) + ".", fixes, severity="error" if errors else "warning",
                      gpu=g.index, problems=problems)


RULES = [gpu_arch_unsupported, mig_enabled, gpu_health]
