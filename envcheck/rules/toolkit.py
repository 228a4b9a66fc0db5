"""Rules about CUDA toolkits (nvcc) and building CUDA extensions against torch."""

from __future__ import annotations

from typing import Iterator, List, Optional

from ..findings import Finding
from ..i18n import N_, Headline, Message, join, joined
from ..snapshot import CudaToolkit
from ..versions import at_least, dotted, major_minor
from .base import RuleContext, Texts, finding


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
    where = kit.nvcc or kit.path
    if where:
        detail = Message(N_("torch.utils.cpp_extension would build with nvcc {version} at {path} (found via {source}); torch "
                   "was built with CUDA {cuda}. "), version=kit.version, path=where, source=kit.source, cuda=t.cuda)
    else:  # a pasted `nvcc -V` says which version, not where
        detail = Message(N_("torch.utils.cpp_extension would build with nvcc {version} (found via {source}); torch was built "
                   "with CUDA {cuda}. "), version=kit.version, source=kit.source, cuda=t.cuda)
    detail += (Message(N_("Different major versions: building an extension stops with 'The detected CUDA version "
                 "({version}) mismatches the version that was used to compile PyTorch ({cuda})'."), version=kit.full_version or kit.version, cuda=t.cuda)
               if major else Message(N_("Same major, different minor: cpp_extension only warns, and builds usually work.")))
    same = [k for k in ctx.snap.cuda_toolkits if k.version and dotted(k.version, 2) == want]
    fix: List[str] = []
    if same:
        fix.append(f"export CUDA_HOME={same[0].path}   # " + Message(N_("a matching toolkit is already installed")))
    else:
        fix.append(Message(N_("Install CUDA toolkit {cuda} (e.g. {command} or NVIDIA's runfile into {path}) and export "
                     "CUDA_HOME to it"), cuda=t.cuda, command=f"conda install -c nvidia cuda-nvcc={t.cuda}", path=f"/usr/local/cuda-{t.cuda}"))
    fix.append(Message(N_("or install the torch build that matches this nvcc: {command}"), command="envcheck install-cmd --cuda " + (kit.version or "")))
    yield finding("nvcc-torch-mismatch", Message(N_("nvcc {version} vs torch's CUDA {cuda}"), version=kit.version, cuda=t.cuda), detail, fix,
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
                "nvcc-newer-than-driver", Message(N_("nvcc {version} is newer than the driver's CUDA {cuda}"), version=kit.version, cuda=d.cuda_version),
                (Message(N_("{path} builds for CUDA {version}; the driver {driver} runs CUDA up to {cuda}. "),
                         path=kit.nvcc or kit.path or "nvcc", version=kit.version, driver=d.version, cuda=d.cuda_version)
                 if d.version else
                 Message(N_("{path} builds for CUDA {version}; the driver runs CUDA up to {cuda}. "),
                         path=kit.nvcc or kit.path or "nvcc", version=kit.version, cuda=d.cuda_version))
                + (Message(N_("Same major: SASS runs under minor-version compatibility, PTX does not "
                     "('the provided PTX was compiled with an unsupported toolchain')."))
                   if same_major else Message(N_("Programs it builds fail to start on this driver."))),
                [Message(N_("Upgrade the driver to one supporting CUDA {version}, or use a toolkit <= {cuda}"), version=kit.version, cuda=d.cuda_version)],
                nvcc=kit.version, driver_cuda=d.cuda_version)
            return


def multiple_cuda_toolkits(ctx: RuleContext) -> Iterator[Finding]:
    versions = sorted({major_minor(k.version) for k in ctx.snap.cuda_toolkits if k.version}, key=lambda v: dotted(v))
    if len(versions) < 2:
        return
    def marks(k) -> str:
        return join(", ", [k.source] + [Message(m) for m, on in (
            (N_("on PATH"), k.active), (N_("used for extensions"), k.used_by_torch_extensions)) if on])

    listing = joined((
        Message(N_("{version} at {path} ({marks})"), version=k.version, path=k.path, marks=marks(k)) if k.path
        else Message(N_("{version} ({marks})"), version=k.version, marks=marks(k))
        for k in ctx.snap.cuda_toolkits if k.version))
    active = next((k for k in ctx.snap.cuda_toolkits if k.active), None)
    ext = next((k for k in ctx.snap.cuda_toolkits if k.used_by_torch_extensions), None)
    split = active and ext and active.version != ext.version
    detail = Message(N_("CUDA toolkits {versions}: {listing}."), versions=", ".join(versions), listing=listing)
    if split:
        detail += Message(N_(" `nvcc` on PATH is {active} but extensions would build with {ext}."), active=active.version, ext=ext.version)
    yield finding("multiple-cuda-toolkits", Message(N_("{count} CUDA toolkit versions installed"), count=len(versions)),
                  detail,
                  [Message(N_("Pick one explicitly: {command}"), command="export CUDA_HOME=/usr/local/cuda-X.Y PATH=/usr/local/cuda-X.Y/bin:$PATH")],
                  severity="warning" if split else "info", versions=versions)


def build_toolchain(ctx: RuleContext) -> Iterator[Finding]:
    t = ctx.snap.torch
    if not t.cuda:
        return
    kit = extension_toolkit(ctx)
    problems = Texts()
    severe = False
    fix: List[str] = []
    if kit is None and ctx.snap.cuda_toolkits == [] and ctx.snap.meta.origin == "doctor":
        problems.add(N_("no nvcc found: CUDA extensions (pip install of packages with CUDA code) cannot build"))
        fix.append(Message(N_("Install the CUDA {cuda} toolkit ({command}, or NVIDIA's installer)"), cuda=t.cuda, command=f"conda install -c nvidia cuda-nvcc={t.cuda}"))
    gcc = next((c for c in ctx.snap.system.compilers if c.name in ("gcc", "g++") and c.version), None)
    if kit is not None and gcc is not None:
        rng = ctx.knowledge.host_compiler_range(kit.version)
        major = dotted(gcc.version)[0] if dotted(gcc.version) else None
        if rng and major is not None:
            if rng.gcc_max is not None and major > rng.gcc_max:
                severe = True
                problems.add(N_("gcc {gcc} is newer than nvcc {nvcc} accepts (gcc <= {max})"),
                             gcc=gcc.version, nvcc=kit.version, max=rng.gcc_max)
                fix.append(Message(N_("Install {package} and export {variables}"), package=f"gcc-{rng.gcc_max}", variables=f"CC=gcc-{rng.gcc_max} CXX=g++-{rng.gcc_max} NVCC_CCBIN=g++-{rng.gcc_max}"))
            elif rng.gcc_min is not None and major < rng.gcc_min:
                severe = True
                problems.add(N_("gcc {gcc} is older than nvcc {nvcc} accepts (gcc >= {min})"),
                             gcc=gcc.version, nvcc=kit.version, min=rng.gcc_min)
                fix.append(Message(N_("Install a gcc >= {min}"), min=rng.gcc_min))
    if ctx.snap.meta.origin == "doctor" and ctx.snap.system.compilers == [] and ctx.os_name == "linux" \
            and ctx.snap.system.os is not None:
        severe = True
        problems.add(N_("no host C++ compiler (gcc/g++/clang) found"))
        fix.append("sudo apt install build-essential   # " + Message(N_("or your distro's gcc/g++")))
    if ctx.snap.system.ninja is None and ctx.snap.meta.origin == "doctor" and ctx.snap.system.os is not None:
        problems.add(N_("ninja is missing: torch.utils.cpp_extension falls back to slow distutils builds, "
                        "and load()/JIT extensions fail"))
        fix.append("pip install ninja")
    if problems:
        title = (Message(N_("Building CUDA extensions would fail")) if severe else
                 Message(N_("CUDA extension builds: {problem}"), problem=Headline(problems[0])))
        yield finding("build-toolchain", title, Message(N_("{text}."), text=joined(problems)), fix,
                      severity="warning" if severe or kit is None else "info", problems=problems.english)


RULES = [nvcc_torch_mismatch, nvcc_newer_than_driver, multiple_cuda_toolkits, build_toolchain]
