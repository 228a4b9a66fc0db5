"""Rules about CUDA toolkits (nvcc) and building CUDA extensions against torch."""

from __future__ import annotations

from typing import Iterator, List, Optional

from ..findings import Finding
from ..snapshot import CudaToolkit
from ..versions import at_least, dotted, major_minor
from .base import RuleContext, finding


def extension_toolkit(ctx: RuleContext) -> Optional[CudaToolkit]:
    """The toolkit torch.utils.cpp_extension would build with, else the one on PATH."""
    kits = [k for k in ctx.snap.cuda_toolkits if k.version]
    for k in kits:
        if k.used_by_torch_extensions:
            return k
    for k in kits:
        if k.active:
            return k
    return None


def nvcc_torch_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    kit = extension_toolkit(ctx)
    if not t.cuda or kit is None:  # a CPU torch is never "mismatched" with nvcc
        return
    have, want = dotted(kit.version, 2), dotted(t.cuda, 2)
    if have == want:
        return
    major = have[0] != want[0]
    detail = (f"torch.utils.cpp_extension would build with nvcc {kit.version} at {kit.nvcc or kit.path} "
              f"(found via {kit.source}); torch was built with CUDA {t.cuda}. ")
    detail += ("Different major versions: building an extension stops with 'The detected CUDA version "
               f"({kit.full_version or kit.version}) mismatches the version that was used to compile PyTorch ({t.cuda})'."
               if major else "Same major, different minor: cpp_extension only warns, and builds usually work.")
    same = [k for k in ctx.snap.cuda_toolkits if k.version and dotted(k.version, 2) == want]
    fix: List[str] = []
    if same:
        fix.append(f"export CUDA_HOME={same[0].path}   # a matching toolkit is already installed")
    else:
        fix.append(f"Install CUDA toolkit {t.cuda} (e.g. conda install -c nvidia cuda-nvcc={t.cuda} "
                   f"or NVIDIA's runfile into /usr/local/cuda-{t.cuda}) and export CUDA_HOME to it")
    fix.append("or install the torch build that matches this nvcc: envcheck install-cmd --cuda " + (kit.version or ""))
    yield finding("nvcc-torch-mismatch", f"nvcc {kit.version} vs torch's CUDA {t.cuda}", detail, fix,
                  severity="error" if major else "warning", nvcc=kit.version, torch_cuda=t.cuda, path=kit.path)


def nvcc_newer_than_driver(ctx: RuleContext) -> Iterator[Finding]:
    d = ctx.snap.driver
    if not d.cuda_version:
        return
    for kit in ctx.snap.cuda_toolkits:
        if not kit.version or not (kit.active or kit.used_by_torch_extensions):
            continue
        if at_least(d.cuda_version, kit.version) is False:
            same_major = dotted(kit.version)[0] == dotted(d.cuda_version)[0]
            yield finding(
                "nvcc-newer-than-driver", f"nvcc {kit.version} is newer than the driver's CUDA {d.cuda_version}",
                f"{kit.nvcc or kit.path} builds for CUDA {kit.version}; the driver {d.version} runs CUDA up to "
                f"{d.cuda_version}. " + ("Same major: SASS runs under minor-version compatibility, PTX does not "
                                          "('the provided PTX was compiled with an unsupported toolchain')."
                                          if same_major else "Programs it builds fail to start on this driver."),
                [f"Upgrade the driver to one supporting CUDA {kit.version}, or use a toolkit <= {d.cuda_version}"],
                nvcc=kit.version, driver_cuda=d.cuda_version)
            return


def multiple_cuda_toolkits(ctx: RuleContext) -> Iterator[Finding]:
    versions = sorted({major_minor(k.version) for k in ctx.snap.cuda_toolkits if k.version}, key=lambda v: dotted(v))
    if len(versions) < 2:
        return
    listing = "; ".join(f"{k.version} at {k.path} ({k.source}{', on PATH' if k.active else ''}"
                        f"{', used for extensions' if k.used_by_torch_extensions else ''})"
                        for k in ctx.snap.cuda_toolkits if k.version)
    active = next((k for k in ctx.snap.cuda_toolkits if k.active), None)
    ext = next((k for k in ctx.snap.cuda_toolkits if k.used_by_torch_extensions), None)
    split = active and ext and active.version != ext.version
    detail = f"CUDA toolkits {', '.join(versions)}: {listing}."
    if split:
        detail += f" `nvcc` on PATH is {active.version} but extensions would build with {ext.version}."
    yield finding("multiple-cuda-toolkits", f"{len(versions)} CUDA toolkit versions installed", detail,
                  ["Pick one explicitly: export CUDA_HOME=/usr/local/cuda-X.Y PATH=/usr/local/cuda-X.Y/bin:$PATH"],
                  severity="warning" if split else "info", versions=versions)


def build_toolchain(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    if not t.cuda:
        return
    kit = extension_toolkit(ctx)
    problems: List[str] = []
    fix: List[str] = []
    if kit is None and ctx.snap.cuda_toolkits == [] and ctx.snap.meta.origin == "doctor":
        problems.append("no nvcc found: CUDA extensions (pip install of packages with CUDA code) cannot build")
        fix.append(f"Install the CUDA {t.cuda} toolkit (conda install -c nvidia cuda-nvcc={t.cuda}, or NVIDIA's installer)")
    gcc = next((c for c in ctx.snap.system.compilers if c.name in ("gcc", "g++") and c.version), None)
    if kit is not None and gcc is not None:
        rng = ctx.knowledge.host_compiler_range(kit.version)
        major = dotted(gcc.version)[0] if dotted(gcc.version) else None
        if rng and major is not None:
            if rng.gcc_max is not None and major > rng.gcc_max:
                problems.append(f"gcc {gcc.version} is newer than nvcc {kit.version} accepts (gcc <= {rng.gcc_max})")
                fix.append(f"Install gcc-{rng.gcc_max} and export CC=gcc-{rng.gcc_max} CXX=g++-{rng.gcc_max} "
                           f"NVCC_CCBIN=g++-{rng.gcc_max}")
            elif rng.gcc_min is not None and major < rng.gcc_min:
                problems.append(f"gcc {gcc.version} is older than nvcc {kit.version} accepts (gcc >= {rng.gcc_min})")
                fix.append(f"Install a gcc >= {rng.gcc_min}")
    if ctx.snap.meta.origin == "doctor" and ctx.snap.system.compilers == [] and ctx.os_name == "linux" \
            and ctx.snap.system.os is not None:
        problems.append("no host C++ compiler (gcc/g++/clang) found")
        fix.append("sudo apt install build-essential   # or your distro's gcc/g++")
    if ctx.snap.system.ninja is None and ctx.snap.meta.origin == "doctor" and ctx.snap.system.os is not None:
        problems.append("ninja is missing: torch.utils.cpp_extension falls back to slow distutils builds, "
                        "and load()/JIT extensions fail")
        fix.append("pip install ninja")
    if problems:
        severe = any("newer than" in p or "older than" in p or "no host" in p for p in problems)
        yield finding("build-toolchain", "Building CUDA extensions would fail" if severe else "CUDA extension builds: "
                      + problems[0].split(":")[0], "; ".join(problems) + ".", fix,
                      severity="warning" if severe or kit is None else "info", problems=problems)


RULES = [nvcc_torch_mismatch, nvcc_newer_than_driver, multiple_cuda_toolkits, build_toolchain]
