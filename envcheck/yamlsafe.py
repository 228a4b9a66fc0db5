"""The one way envcheck reads YAML it did not write: safe tags only, its size, its depth and its aliases bounded.

A YAML alias (``*name``) stands for a whole earlier node, so nine lines of aliases can stand for a
billion values ("billion laughs"): PyYAML builds them as shared objects, but anything that then walks
the result (``str()``, a JSON dump, a merge) expands them. A 448-byte ``.condarc`` of that kind held
``doctor`` 85 s past its deadline at 3 GB. Here the document's node graph is measured before anything
is built from it: a document that would expand past :data:`MAX_NODES` values, refers to itself, nests
deeper than the parser's stack allows or is longer than :data:`MAX_BYTES` is refused with a
:class:`YamlRefused` that says why. Real configuration files (``.condarc``: tens of values) are far
below every limit, aliases included.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .i18n import N_, Message

#: a .condarc is a few hundred bytes; past this a file is not one
MAX_BYTES = 1 << 20
#: values a document may stand for once its aliases are expanded (a .condarc holds tens)
MAX_NODES = 100_000
_CYCLE = N_("a YAML whose alias (*name) stands for the value that contains it (it would never end)")


class YamlRefused(ValueError):
    """A YAML text envcheck will not build; ``reason`` (a Message, worded where shown) says why, worded to
    follow "The file is" ("a YAML \"billion laughs\": ...")."""

    def __init__(self, reason: Message) -> None:
        self.reason = reason
        super().__init__(str(reason))


def expanded_size(node: Any, limit: int = MAX_NODES) -> Tuple[int, int]:
    """(values once every alias is expanded, distinct nodes) of a composed PyYAML node graph; the first stops
    counting just past ``limit``. Linear in the distinct nodes (an aliased node is measured once); iterative, so
    depth costs no stack. Raises :class:`YamlRefused` for a node that contains itself."""
    sizes: Dict[int, int] = {}
    on_path: Dict[int, bool] = {}
    stack: List[Tuple[Any, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        children = _children(current)
        if done:
            total = 1
            for child in children:
                total = min(total + sizes[id(child)], limit + 1)
            sizes[key] = total
            on_path.pop(key, None)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlRefused(Message(_CYCLE))
        on_path[key] = True
        stack.append((current, True))
        for child in children:
            if id(child) in on_path and id(child) not in sizes:
                raise YamlRefused(Message(_CYCLE))
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(node)], len(sizes)


def _children(node: Any) -> List[Any]:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []  # a scalar
    out: List[Any] = []
    for item in value:
        if isinstance(item, tuple):  # a mapping's (key, value)
            out.extend(item)
        else:
            out.append(item)
    return out


def check_size(text: str, max_bytes: int = MAX_BYTES) -> None:
    """Refuse a text longer than ``max_bytes`` (counted as UTF-8)."""
    size = len(text.encode("utf-8", errors="replace")) if len(text) * 4 > max_bytes else len(text)
    if size > max_bytes:
        raise YamlRefused(Message(N_("{size} bytes long, more than the {limit} bytes envcheck reads of a "
                                     "configuration file"), size=size, limit=max_bytes))


def bounded_loader(base: Optional[type] = None, max_nodes: int = MAX_NODES) -> type:
    """A subclass of ``base`` (PyYAML's SafeLoader by default) that measures each document before building it."""
    import yaml

    parent = base if base is not None else yaml.SafeLoader

    class BoundedLoader(parent):  # type: ignore[misc, valid-type]
        def construct_document(self, node):  # type: ignore[no-untyped-def]
            expanded, distinct = expanded_size(node, max_nodes)
            if expanded > max_nodes:
                if expanded > distinct:
                    raise YamlRefused(Message(N_("a YAML \"billion laughs\": its aliases (*name) stand for more "
                                                 "than {limit} values; envcheck did not expand them"),
                                              limit=max_nodes))
                raise YamlRefused(Message(N_("a YAML of more than {limit} values, more than a configuration "
                                             "file holds"), limit=max_nodes))
            return super().construct_document(node)

    return BoundedLoader


_LOADERS: Dict[Tuple[Optional[type], int], type] = {}


def safe_load(text: str, base: Optional[type] = None, max_nodes: int = MAX_NODES,
              max_bytes: int = MAX_BYTES) -> Any:
    """``yaml.safe_load`` with the limits above. Raises :class:`YamlRefused` past a limit and ``yaml.YAMLError``
    for text that is not YAML, as ``yaml.safe_load`` does."""
    import yaml

    check_size(text, max_bytes)
    key = (base, max_nodes)
    if key not in _LOADERS:
        _LOADERS[key] = bounded_loader(base, max_nodes)
    try:
        return yaml.load(text, Loader=_LOADERS[key])
    except RecursionError:  # PyYAML's parser and composer recurse once per nesting level
        raise YamlRefused(Message(N_("nested deeper than envcheck reads (a list or mapping inside another, "
                                     "thousands of times)"))) from None
