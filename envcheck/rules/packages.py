"""Rules about the packages around torch: pairing, duplicates, shadowing, known defects."""

from __future__ import annotations

from typing import Iterator, Optional

from ..install.commands import PYTORCH_INDEX
from ..findings import Finding
from ..i18n import N_, Headline, Message, data_message
from ..snapshot import Package
from ..versions import cuda_from_tag, in_specifier, local_tag, major_minor, parse_version, public_version
from .base import RuleContext, finding


def _companion(ctx: RuleContext, name: str) -> Iterator[Finding]:
    t = ctx.snap.torch
    pkg: Optional[Package] = ctx.snap.python.packages.get(name)
    torch_version = t.version or t.dist_version
    if pkg is None or not pkg.version or not torch_version:
        return
    release = ctx.knowledge.torch_release(torch_version)
    expected = getattr(release, name, None) if release else None
    code = f"{name}-mismatch"
    have_public = public_version(pkg.build_version or pkg.version)
    torch_tag = local_tag(t.version)
    pkg_tag = local_tag(pkg.build_version or pkg.version)
    index = f" --index-url {PYTORCH_INDEX}/{torch_tag}" if torch_tag else ""
    fix_cmd = f"pip install {name}=={expected}{index}" if expected else None
    if expected and parse_version(have_public) != parse_version(expected):
        torch_public = public_version(torch_version)
        yield finding(code, Message(N_("{name} {have} does not match torch {torch} (needs {expected})"), name=name, have=have_public, torch=torch_public, expected=expected),
                      Message(N_("torch {torch} is paired with {name} {expected}; {name} {have} was built against another "
                        "torch. Expect errors such as 'operator torchvision::nms does not exist' or undefined "
                        "symbols."), torch=torch_public, name=name, expected=expected, have=have_public),
                      [fix_cmd] if fix_cmd else [], have=have_public, expected=expected)
        return
    pkg_cuda, torch_cuda = pkg.cuda or cuda_from_tag(pkg_tag), t.cuda
    mismatch_tag = torch_tag and pkg_tag and torch_tag != pkg_tag
    # a companion's tag against torch's CUDA even when torch shows no tag (a +cu92 torchvision beside CUDA 10.0)
    mismatch_cuda = bool(pkg_cuda and torch_cuda and major_minor(pkg_cuda) != major_minor(torch_cuda))
    cpu_beside_cuda = pkg_tag == "cpu" and bool(torch_cuda) and not torch_tag
    if mismatch_tag or mismatch_cuda or cpu_beside_cuda:
        yield finding(code, Message(N_("{name} is a {build} build, torch a {torch_build} build"), name=name, build=pkg_tag or "CUDA " + str(pkg_cuda), torch_build=torch_tag or "CUDA " + str(torch_cuda)),
                      Message(N_("{name} {version} and torch {torch} come from different indexes; their compiled operators "
                        "will not load together."), name=name, version=pkg.build_version or pkg.version, torch=t.version),
                      [fix_cmd or f"pip install --force-reinstall {name}{index}"],
                      have=pkg.build_version or pkg.version, torch=t.version)


def torchvision_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    yield from _companion(ctx, "torchvision")


def torchaudio_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    yield from _companion(ctx, "torchaudio")


#: a companion as conda names it (pip names torch "torch")
_CONDA_NAMES = {"torch": ("pytorch", "torch"), "torchvision": ("torchvision",), "torchaudio": ("torchaudio",)}


def duplicate_torch(ctx: RuleContext) -> Iterator[Finding]:
    copies = ctx.snap.torch.copies
    if len(copies) > 1:
        yield finding("duplicate-torch", Message(N_("{count} copies of torch are importable"), count=len(copies)),
                      Message(N_("In sys.path order: {copies}. Python imports the first ({first}); the others confuse pip and "
                        "tools that read metadata."), copies="; ".join(copies), first=copies[0]),
                      [Message(N_("Remove the copies you do not want, e.g. {command} (repeat until none is left), then install "
                         "once; check PYTHONPATH and ~/.local."), command="pip uninstall torch")],
                      copies=copies)
        return
    yield from _disagreeing_installs(ctx)


def _disagreeing_installs(ctx: RuleContext) -> Iterator[Finding]:
    """Two installs told apart by facts that disagree: the imported torch is not the installed one, or conda and
    pip hold different versions of one package (a conda row from the pypi channel is the pip copy, not a second)."""
    t = ctx.snap.torch
    if t.version and t.dist_version and _public(t.version) != _public(t.dist_version):
        yield finding("duplicate-torch",
                      Message(N_("The torch that is imported ({imported}) is not the one installed ({installed})"),
                              imported=t.version, installed=t.dist_version),
                      Message(N_("torch.__version__ is {imported} while the package metadata says {installed}: a second "
                                 "copy comes first on sys.path (PYTHONPATH, ~/.local, a build folder), or a broken "
                                 "upgrade left two."), imported=t.version, installed=t.dist_version),
                      [Message(N_("Remove the copies you do not want, e.g. {command} (repeat until none is left), then "
                                  "install once; check PYTHONPATH and ~/.local."), command="pip uninstall torch")],
                      imported=t.version, installed=t.dist_version)
        return
    for name, versions in ctx.snap.python.listed_twice.items():
        if len(versions) > 1:
            yield finding("duplicate-torch",
                          Message(N_("{name} is listed twice: {versions}"), name=name, versions=", ".join(versions)),
                          Message(N_("One listing shows {name} {versions}: pip lists one row per installed copy (two "
                                     ".dist-info folders), so two installs sit in one environment and which one is "
                                     "imported depends on the file layout."), name=name,
                                  versions=" and ".join(versions)),
                          [f"pip uninstall -y {name}   # " + Message(N_("repeat until pip finds none, then install "
                                                                         "once")),
                           Message(N_("Install the pair with one manager only: {command}"),
                                   command="envcheck install-cmd")],
                          package=name, versions=versions)
            return
    conda = ctx.snap.conda.packages
    stable, nightly = conda.get("pytorch"), conda.get("pytorch-nightly")
    if stable is not None and nightly is not None and stable.version and nightly.version:  # two names, one torch
        yield finding("duplicate-torch",
                      Message(N_("torch is installed twice by conda: pytorch {stable} and pytorch-nightly {nightly}"),
                              stable=stable.version, nightly=nightly.version),
                      Message(N_("conda treats pytorch and pytorch-nightly as two packages, but both install the same "
                                 "torch files: one overwrites the other, and removing either breaks both.")),
                      ["conda remove pytorch pytorch-nightly   # " + Message(N_("then install the one you want")),
                       Message(N_("or start from a fresh env: {command}"), command="conda create -n torch-env ...")],
                      package="torch", conda=[stable.version, nightly.version])
        return
    for name, conda_names in _CONDA_NAMES.items():
        pip_version = (ctx.snap.python.packages.get(name).version if name in ctx.snap.python.packages else None) \
            or (t.dist_version if name == "torch" else None)
        conda_pkg = next((ctx.snap.conda.packages[n] for n in conda_names if n in ctx.snap.conda.packages), None)
        if not pip_version or conda_pkg is None or not conda_pkg.version or (conda_pkg.channel or "") == "pypi":
            continue
        if _public(pip_version) != _public(conda_pkg.version):
            yield finding("duplicate-torch",
                          Message(N_("{name} is installed twice: {pip} by pip and {conda} by conda"), name=name,
                                  pip=pip_version, conda=conda_pkg.version),
                          Message(N_("pip sees {name} {pip}, conda's own record says {conda}: the two package managers "
                                     "installed separate copies into one environment, and which one is imported "
                                     "depends on the file layout."), name=name, pip=pip_version,
                                  conda=conda_pkg.version),
                          [f"pip uninstall -y {name}   # " + Message(N_("then, if it is still listed, {command}"),
                                                                     command=f"conda remove {conda_pkg.name}"),
                           Message(N_("Install the pair with one manager only: {command}"),
                                   command="envcheck install-cmd")],
                          package=name, pip=pip_version, conda=conda_pkg.version)


def _public(version: str) -> object:
    """A version without its local tag, for comparing ("2.1.0+cu121" is "2.1.0"); the text when it is no version."""
    return parse_version(public_version(version)) or version


def user_site_shadowing(ctx: RuleContext) -> Iterator[Finding]:
    py = ctx.snap.python
    if not py.user_site_shadowing or py.user_site_enabled is False:
        return
    names = py.user_site_shadowing
    yield finding("user-site-shadowing", Message(N_("{count} package(s) in the user site override the environment's"), count=len(names)),
                  Message(N_("{user_site} holds {names}, which also exist in {prefix}; the user-site copy is imported "
                    "first."), user_site=py.user_site, names=", ".join(names[:10]), prefix=py.prefix),
                  [f"pip uninstall --user {' '.join(names[:10])}   # "
                   + Message(N_("outside the environment, with the same python")),
                   Message(N_("or {command}"), command="export PYTHONNOUSERSITE=1")], packages=names)


def _matches(spec: str, version: Optional[str]) -> bool:
    return bool(in_specifier(version, spec))


def known_bad_version(ctx: RuleContext) -> Iterator[Finding]:
    try:
        entries = ctx.knowledge.known_bad()
    except Exception:
        return
    installed = {name: pkg.version for name, pkg in ctx.snap.python.packages.items()}
    if ctx.snap.torch.dist_version or ctx.snap.torch.version:
        installed.setdefault("torch", ctx.snap.torch.dist_version or ctx.snap.torch.version)
    capabilities = {g.compute_capability for g in ctx.snap.gpus if g.compute_capability} | \
        {d.capability for d in ctx.snap.torch.devices if d.capability}
    for entry in entries:
        version = ctx.snap.driver.version if entry.kind == "driver" else installed.get(entry.name)
        if entry.gpus and not capabilities & set(entry.gpus):
            continue  # documented on other GPUs, or no GPU known: nothing to say
        if version and _matches(entry.spec, version):
            defect = data_message(entry.defect)
            yield finding("known-bad-version", f"{entry.name} {version}: " + Headline(defect, "sentence"),
                          Message(N_("{defect} (recorded {date}; source: {source})"), defect=defect, date=entry.recorded, source=entry.source), [data_message(entry.fix)],
                          severity=entry.severity, name=entry.name, version=version, source=entry.source)



RULES = [torchvision_mismatch, torchaudio_mismatch, duplicate_torch, user_site_shadowing, known_bad_version]
