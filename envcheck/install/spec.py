"""What one install is made of: exact pins and the index each pin comes from.

A plan's commands, requirements file, uv project table and pip config are all written from one
:class:`InstallSpec`, so they cannot disagree. Where the pins come from more than one index, each
is pinned with its local tag (``torch==2.15.0+cu130``) so that no index can hand over another build
of the same version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

#: pip's built-in default index
PYPI_SIMPLE = "https://pypi.org/simple"
#: find-links: a plain folder of wheels (``-f``); index: a PEP 503 simple index (``--index-url``)
INDEX, FIND_LINKS = "index", "find-links"


@dataclass(frozen=True)
class Source:
    """An index (or a folder of wheels) and how pip reaches it."""

    url: str
    layout: str = INDEX
    #: the name a uv project gives it ("pytorch-cu130")
    name: str = "pypi"

    @property
    def is_pypi(self) -> bool:
        return self.url.rstrip("/") == PYPI_SIMPLE


@dataclass
class Pin:
    name: str
    version: str
    source: Source
    #: the build's local tag ("cu130"), written when indexes are mixed
    local: Optional[str] = None


@dataclass
class InstallSpec:
    """Pins and where each comes from; the base index serves everything else (dependencies)."""

    pins: List[Pin]
    #: what serves the dependencies (nvidia-*, numpy, ...): the first index pip searches
    base: Source
    #: a named mirror this spec goes through, or None
    mirror: Optional[str] = None
    extra: List[Source] = field(default_factory=list)

    def sources(self) -> List[Source]:
        """Every index this spec uses, the base first, each once."""
        out: List[Source] = [self.base]
        for s in [p.source for p in self.pins] + self.extra:
            if s not in out:
                out.append(s)
        return out

    def mixed(self) -> bool:
        return len(self.sources()) > 1

    def requirement(self, pin: Pin) -> str:
        """``torch==2.15.0`` or, with indexes mixed and a local tag known, ``torch==2.15.0+cu130``."""
        if pin.local and self.mixed():
            return f"{pin.name}=={pin.version}+{pin.local}"
        return f"{pin.name}=={pin.version}"

    def by_source(self) -> Dict[Source, List[str]]:
        """Which pinned packages each index serves."""
        out: Dict[Source, List[str]] = {}
        for pin in self.pins:
            out.setdefault(pin.source, []).append(pin.name)
        return out


def index_flags(spec: InstallSpec) -> List[str]:
    """The flags that point pip or uv at the spec's indexes: ``-f`` per folder, the base as
    ``--index-url`` (left out when it is PyPI itself), every other index as ``--extra-index-url``.

    pip merges all indexes and the pins decide; uv tries the extra indexes first and takes a package
    from the first index that has it, so the torch index (an extra one) serves the pinned builds.
    """
    flags: List[str] = []
    for folder in [s for s in spec.sources() if s.layout == FIND_LINKS]:
        flags += ["-f", folder.url]
    indexes = [s for s in spec.sources() if s.layout == INDEX]
    if spec.base in indexes and not spec.base.is_pypi:
        flags += ["--index-url", spec.base.url]
    for extra in [s for s in indexes if s != spec.base]:
        flags += ["--extra-index-url", extra.url]
    return flags


def needs_best_match(spec: InstallSpec) -> bool:
    """True when some pins come from the base and others from an extra index: uv would look for
    every pin on the extra index first and stop there, so it must compare all indexes."""
    from_base = any(p.source == spec.base for p in spec.pins)
    from_extra = any(p.source != spec.base and p.source.layout == INDEX for p in spec.pins)
    return from_base and from_extra


def pip_line(spec: InstallSpec, installer: str = "pip install") -> str:
    """The one command line: ``pip install torch==... --index-url ...``."""
    parts = [installer] + [spec.requirement(p) for p in spec.pins] + index_flags(spec)
    if installer.startswith("uv") and needs_best_match(spec):
        parts += ["--index-strategy", "unsafe-best-match"]
    return " ".join(parts)


def requirements_txt(spec: InstallSpec, header: List[str]) -> str:
    """A requirements file with its index lines (``pip install -r``)."""
    lines = [f"# {h}" for h in header]
    flags = index_flags(spec)
    for i in range(0, len(flags), 2):
        lines.append(f"{flags[i]} {flags[i + 1]}")
    lines += [spec.requirement(p) for p in spec.pins]
    return "\n".join(lines) + "\n"


def pip_conf(spec: InstallSpec, header: List[str]) -> str:
    """A pip.conf (pip.ini on Windows) that points pip at the spec's indexes; the pins to install follow as a comment."""
    import configparser
    import io

    flags = index_flags(spec)
    section: Dict[str, str] = {}
    extras: List[str] = []
    links: List[str] = []
    for i in range(0, len(flags), 2):
        if flags[i] == "--index-url":
            section["index-url"] = flags[i + 1]
        elif flags[i] == "--extra-index-url":
            extras.append(flags[i + 1])
        else:
            links.append(flags[i + 1])
    if extras:
        section["extra-index-url"] = "\n" + "\n".join(extras) if len(extras) > 1 else extras[0]
    if links:
        section["find-links"] = "\n" + "\n".join(links) if len(links) > 1 else links[0]
    parser = configparser.ConfigParser(interpolation=None)
    parser["global"] = section
    buf = io.StringIO()
    parser.write(buf)
    text = "\n".join(f"# {h}" for h in header)
    pins = " ".join(spec.requirement(p) for p in spec.pins)
    return f"{text}\n# then: pip install {pins}\n{buf.getvalue().rstrip()}\n"


def uv_project(spec: InstallSpec, header: List[str]) -> str:
    """The pyproject.toml tables uv's PyTorch guide uses: pins in ``dependencies``, each non-PyPI index
    ``explicit = true`` in ``[[tool.uv.index]]`` and the packages bound to it in ``[tool.uv.sources]``."""
    import tomlkit

    doc = tomlkit.document()
    for h in header:
        doc.add(tomlkit.comment(h))
    project = tomlkit.table()
    deps = tomlkit.array()
    for pin in spec.pins:
        deps.append(f"{pin.name}=={pin.version}")
    deps.multiline(True)
    project["dependencies"] = deps
    doc["project"] = project
    named = [s for s in spec.sources() if not s.is_pypi]
    if named:
        tool = tomlkit.table(is_super_table=True)
        uv = tomlkit.table(is_super_table=True)
        indexes = tomlkit.aot()
        for s in named:
            entry = tomlkit.table()
            entry["name"] = s.name
            entry["url"] = s.url
            if s.layout == FIND_LINKS:
                entry["format"] = "flat"
            # a mirror of PyPI serves everything: the default index; a torch index only what is bound to it
            if s == spec.base:
                entry["default"] = True
            else:
                entry["explicit"] = True
            indexes.append(entry)
        uv["index"] = indexes
        bound = {name: src for src, names in spec.by_source().items() for name in names
                 if not src.is_pypi and src != spec.base}
        if bound:
            sources = tomlkit.table()
            for name, src in bound.items():
                inline = tomlkit.inline_table()
                inline["index"] = src.name
                sources[name] = inline
            uv["sources"] = sources
        tool["uv"] = uv
        doc["tool"] = tool
    return tomlkit.dumps(doc)
