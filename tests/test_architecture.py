"""The layers of docs/architecture.md, checked on the source: who may import whom, where typer and
gettext may appear, and that the package's import graph has no loop.

Every import is read from the AST (module level and inside functions alike), so a lazy import is held
to the same rule. A failure names the module, the line and the import that breaks the rule.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "envcheck"

#: the ground floor every layer shares: it imports nothing above itself
GROUND = {"envcheck", "envcheck.runner", "envcheck.versions", "envcheck.snapshot", "envcheck.findings",
          "envcheck.serde", "envcheck.redact", "envcheck.fileio", "envcheck.i18n"}
#: the layers (a module belongs to the first prefix it starts with)
LAYERS = ["knowledge", "probes", "rules", "render", "analyze", "install", "smoke", "preflight", "fleet",
          "mirrors", "cli", "i18n", "mcp_server"]
#: what each layer must never import (besides the rules that hold for everyone)
FORBIDDEN = {
    "knowledge": {"probes", "rules", "render", "analyze", "install", "smoke", "preflight", "fleet", "mirrors", "cli"},
    "probes": {"rules", "render", "cli", "analyze", "install", "smoke", "preflight", "fleet", "mirrors"},
    "rules": {"probes", "render", "cli", "analyze", "smoke", "preflight", "fleet", "mirrors"},
    "render": {"probes", "cli", "analyze", "install", "smoke", "preflight", "fleet", "mirrors"},
    "install": {"probes", "cli", "rules", "analyze", "smoke", "preflight", "fleet", "mirrors"},
    "analyze": {"cli", "render", "install", "smoke", "preflight", "fleet", "mirrors"},
    "smoke": {"cli", "analyze", "install", "preflight", "fleet", "mirrors"},
    "preflight": {"cli", "analyze", "install", "fleet", "mirrors"},
    "fleet": {"probes", "cli", "analyze", "install", "smoke", "preflight", "mirrors"},
    "mirrors": {"cli", "rules", "render", "analyze", "install", "smoke", "preflight", "fleet"},
    # the MCP server: the tools' command lines and the code catalogue; the command line itself is handed in by cli
    "mcp_server": {"knowledge", "probes", "render", "analyze", "install", "smoke", "preflight", "fleet", "mirrors",
                   "cli"},
}
#: the one module that imports the optional MCP SDK (torch-envcheck[mcp]); `envcheck mcp` imports it lazily
MCP_SDK = {"envcheck.mcp_server.server"}
#: the tools that read the whole package (the catalogue extractor) sit above the ground floor
TOOLS = {"envcheck.i18n.catalog", "envcheck.i18n.compile"}
#: scripts run inside the *target* interpreter (handed over as text): the only code that imports torch, and
#: only inside their functions, so that importing them for their helpers never imports torch
IN_TARGET = {"envcheck.probes.target_script", "envcheck.smoke.script"}


def modules() -> Dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports_of(name: str, top_level_only: bool = False) -> Iterator[Tuple[str, int]]:
    """(absolute module imported, line) for every import in module ``name``; ``from x import y`` yields
    ``x.y`` when that is a module, else ``x``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rsplit(".", 1)[0]
    for node in (tree.body if top_level_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in MODULES else base), node.lineno


def layer_of(name: str) -> str:
    if name == "envcheck.__main__":
        return "cli"
    if name in GROUND:
        return "ground"
    if name in TOOLS:
        return "tools"
    rest = name.split(".")[1] if "." in name else ""
    return rest if rest in LAYERS else "ground"


def _internal(target: str) -> str:
    """The envcheck module an import names (a name inside a module counts as that module)."""
    while target and target not in MODULES:
        target = target.rsplit(".", 1)[0] if "." in target else ""
    return target


def violations() -> List[str]:
    found = []
    for name in MODULES:
        layer = layer_of(name)
        top_level = set(imports_of(name, top_level_only=True))
        for target, line in imports_of(name):
            where = f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {target}"
            top = target.split(".")[0]
            if top == "torch" and (name not in IN_TARGET or (target, line) in top_level):
                found.append(f"{where}: nothing in envcheck imports torch (probe it in the target interpreter)")
            if top in ("typer", "click") and layer != "cli":
                found.append(f"{where}: only envcheck.cli may import {top}")
            if top in ("mcp", "mcp_types") and name not in MCP_SDK:
                found.append(f"{where}: only envcheck.mcp_server.server imports the MCP SDK (an optional extra)")
            if (target == "envcheck.mcp_server.server" or target.startswith("envcheck.mcp_server.server.")) \
                    and (target, line) in top_level and name not in MCP_SDK:
                found.append(f"{where}: import the MCP server inside `envcheck mcp`, never at module level")
            if not target.startswith("envcheck"):
                continue
            inner = _internal(target)
            target_layer = layer_of(inner) if inner else "ground"
            if layer == "ground" and target_layer != "ground":
                found.append(f"{where}: the ground floor imports nothing above it ({target_layer})")
            if target_layer in FORBIDDEN.get(layer, ()):
                found.append(f"{where}: {layer} must not import {target_layer}")
            if target_layer == "tools" and layer != "tools":
                found.append(f"{where}: only the tools import the catalogue tools")
            if layer == "cli" and inner == "envcheck.cli.app" and name not in ("envcheck.cli.entry",):
                found.append(f"{where}: a command module never imports the root (envcheck.cli.app)")
    return found


def test_every_import_keeps_to_its_layer():
    assert violations() == []


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package's sources copied to tmp_path, and PACKAGE/MODULES pointed at the copy, so that a canary
    module is planted there and never in the real tree, which tests on other xdist workers read meanwhile."""
    copy = tmp_path / "envcheck"
    shutil.copytree(PACKAGE, copy, ignore=lambda folder, names: [n for n in names if n == "__pycache__" or (
        not n.endswith(".py") and not (Path(folder) / n).is_dir())])
    monkeypatch.setitem(globals(), "PACKAGE", copy)
    monkeypatch.setitem(globals(), "MODULES", modules())
    return copy


def test_the_rule_catches_a_wrong_import(tmp_path, monkeypatch, package_copy):
    """The checker itself fails on a probe that imports the rules (a test that could never fail is no test)."""
    bad = PACKAGE / "probes" / "_architecture_canary.py"
    bad.write_text("from ..rules import evaluate\nimport typer\n", encoding="utf-8")
    try:
        MODULES["envcheck.probes._architecture_canary"] = bad
        found = violations()
    finally:
        bad.unlink()
        MODULES.pop("envcheck.probes._architecture_canary", None)
    assert any("_architecture_canary.py:1 imports envcheck.rules: probes must not import rules" in v for v in found)
    assert any("only envcheck.cli may import typer" in v for v in found)


def _graph() -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _line in imports_of(name):
            inner = _internal(target)
            if inner and inner != name and not name.startswith(inner + "."):  # a package's own parent: not a loop
                graph[name].add(inner)
    return graph


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    out: List[List[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_loop_anywhere_in_the_package():
    """Lazy imports included: a loop hidden inside a function is still a loop of responsibilities."""
    assert _cycles(_graph()) == []


#: modules that word sentences for a reader: the only ones that may call gettext or take a gettext function
def is_renderer(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return (name.startswith(("envcheck.render", "envcheck.cli", "envcheck.i18n"))
            or leaf == "render" or leaf.startswith("render_"))


def gettext_uses(name: str) -> Iterator[Tuple[int, str]]:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
                if arg.arg == "_" or "Gettext" in annotation:
                    yield node.lineno, f"{getattr(node, 'name', 'lambda')}() takes a gettext function ({arg.arg})"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
            yield node.lineno, "calls _()"
        elif isinstance(node, ast.Attribute) and node.attr in ("gettext", "gettext_for", "translator"):
            yield node.lineno, f"uses {node.attr}"


def test_only_renderers_speak_a_language():
    """Probes, rules, the resolver, the planners, policies, analyze and fleet produce Messages (id + fields);
    only renderers word them (issue 12: the language chosen at the edge)."""
    found = [f"{MODULES[name].relative_to(PACKAGE.parent)}:{line}: {what}"
             for name in MODULES if not is_renderer(name) and name not in TOOLS
             for line, what in gettext_uses(name)]
    assert found == []


def test_the_gettext_check_catches_a_rule_that_words_its_own_text(package_copy):
    canary = PACKAGE / "rules" / "_gettext_canary.py"
    canary.write_text("def rule(ctx, _: Gettext = english):\n    return _('a')\n", encoding="utf-8")
    try:
        MODULES["envcheck.rules._gettext_canary"] = canary
        uses = list(gettext_uses("envcheck.rules._gettext_canary"))
    finally:
        canary.unlink()
        MODULES.pop("envcheck.rules._gettext_canary", None)
    assert uses == [(1, "rule() takes a gettext function (_)"), (2, "calls _()")]
    assert not is_renderer("envcheck.rules._gettext_canary") and is_renderer("envcheck.install.render")
