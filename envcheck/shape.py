"""Checking a report or snapshot from elsewhere against the shape envcheck's readers rely on, naming the field.

``docs/report.schema.json`` is the contract; jsonschema is not a dependency, so this is the small part of it the
code reads: every snapshot field's type (derived from the dataclasses, so it cannot drift from them), the
report's findings, policy block and smoke reports. A wrong type anywhere is an :class:`~envcheck.textio.InputError`
such as ``report.json: snapshot.gpus[0].memory_total_mib: expected a whole number, got "abc"``; unknown keys are
ignored (a newer envcheck may add some) and a missing key takes its default, as :mod:`envcheck.serde` loads it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import typing
from enum import Enum
from typing import Any, Dict, Iterable, Optional, Tuple, Union

from .i18n import N_, Message
from .textio import InputError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return "[…]"
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, float) or math.isfinite(value) \
        else repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


#: where a value sits: "" for the whole file, else (the parent's place, a key or an index), spelt out only for an
#: error (building "snapshot.gpus[0].name" for every value checked would cost more than the checks)
Where = Any


def where_text(where: Where) -> str:
    keys = []
    while where:
        where, key = where
        keys.append(key)
    text = ""
    for key in reversed(keys):
        text = _child(text, key)
    return text


def _wrong(source: str, where: Where, expected: Message, value: Any) -> InputError:
    at = where_text(where)
    return InputError(Message(N_("{field}: expected {expected}, got {got}"), field=at or "(top)",
                              expected=expected, got=_got(value)), source, at)


def _child(where: str, key: Union[str, int]) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    if _IDENT.match(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key, ensure_ascii=False)}]"


class Shape:
    """What one JSON value must be; :meth:`check` raises InputError naming ``where`` when it is not."""

    expected: Message = Message(N_("anything"))
    nullable = False

    def check(self, value: Any, source: str, where: Where) -> None:
        if not self.accepts(value):
            raise _wrong(source, where, self.expected, value)

    def accepts(self, value: Any) -> bool:
        return True

    def valid(self, value: Any) -> bool:
        """Whether :meth:`check` would pass ``value``, as fast as Python allows (no place kept): many reports are
        tested this way, and only a failing one is walked again by :meth:`check` to name its field."""
        return self.tester()(value)

    def tester(self) -> Any:
        """:meth:`valid` as one function of the value, the tests of the parts compiled into it once."""
        test = self.__dict__.get("_test")
        if test is None:
            test = self._test = self._compile()
        return test

    def _compile(self) -> Any:
        return self.accepts


class Scalar(Shape):
    def __init__(self, expected: Message, test) -> None:
        self.expected = expected
        self.accepts = test  # type: ignore[assignment]


ANY = Shape()
TEXT = Scalar(Message(N_("text")), lambda v: isinstance(v, str))
INTEGER = Scalar(Message(N_("a whole number")), lambda v: isinstance(v, int) and not isinstance(v, bool))
NUMBER = Scalar(Message(N_("a number")), lambda v: (isinstance(v, int) and not isinstance(v, bool))
                or (isinstance(v, float) and math.isfinite(v)))
BOOLEAN = Scalar(Message(N_("true or false")), lambda v: isinstance(v, bool))


class Choice(Shape):
    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)
        self.expected = Message(N_("one of {choices}"), choices=", ".join(json.dumps(v) for v in self.values))

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values


class Nullable(Shape):
    nullable = True

    def __init__(self, inner: Shape) -> None:
        self.inner = inner
        self.expected = inner.expected

    def _compile(self) -> Any:
        inner = self.inner.tester()
        return lambda v: v is None or inner(v)

    def check(self, value: Any, source: str, where: Where) -> None:
        if value is not None:
            self.inner.check(value, source, where)


class Either(Shape):
    def __init__(self, *options: Shape) -> None:
        self.options = options
        self.expected = Message(N_("{first} or {second}"), first=options[0].expected, second=options[1].expected)

    def check(self, value: Any, source: str, where: Where) -> None:
        for option in self.options:
            try:
                option.check(value, source, where)
                return
            except InputError:
                continue
        raise _wrong(source, where, self.expected, value)

    def _compile(self) -> Any:
        options = [o.tester() for o in self.options]
        return lambda v: any(test(v) for test in options)


class ListOf(Shape):
    expected = Message(N_("a list"))

    def __init__(self, item: Shape) -> None:
        self.item = item

    def check(self, value: Any, source: str, where: Where) -> None:
        if not isinstance(value, list):
            raise _wrong(source, where, self.expected, value)
        if self.item is not ANY:
            for i, v in enumerate(value):
                self.item.check(v, source, (where, i))

    def _compile(self) -> Any:
        if self.item is ANY:
            return lambda v: isinstance(v, list)
        item = self.item.tester()
        return lambda v: isinstance(v, list) and all(map(item, v))


class MapOf(Shape):
    expected = Message(N_("an object"))

    def __init__(self, item: Shape) -> None:
        self.item = item

    def check(self, value: Any, source: str, where: Where) -> None:
        if not isinstance(value, dict):
            raise _wrong(source, where, self.expected, value)
        if self.item is not ANY:
            for k, v in value.items():
                self.item.check(v, source, (where, k))

    def _compile(self) -> Any:
        if self.item is ANY:
            return lambda v: isinstance(v, dict)
        item = self.item.tester()
        return lambda v: isinstance(v, dict) and all(map(item, v.values()))


class Obj(Shape):
    """An object with known fields (others ignored); ``required`` fields must be present."""

    expected = Message(N_("an object"))

    def __init__(self, fields: Dict[str, Shape], required: Iterable[str] = ()) -> None:
        self.fields = fields
        self.required = tuple(required)
        self._checked = [(name, shape) for name, shape in fields.items() if shape is not ANY]

    def check(self, value: Any, source: str, where: Where) -> None:
        if not isinstance(value, dict):
            raise _wrong(source, where, self.expected, value)
        for name in self.required:
            if name not in value:
                at = where_text((where, name))
                raise InputError(Message(N_("{field}: missing"), field=at), source, at)
        for name, shape in self._checked:
            if name in value:
                item = value[name]
                if item is None and shape.nullable:
                    continue
                shape.check(item, source, (where, name))

    def _compile(self) -> Any:
        required = self.required
        checked = [(name, shape.tester(), shape.nullable) for name, shape in self._checked]

        def test(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            for name in required:
                if name not in value:
                    return False
            for name, valid, nullable in checked:
                if name in value:
                    item = value[name]
                    if not ((item is None and nullable) or valid(item)):
                        return False
            return True
        return test

    def extended(self, **fields: Shape) -> "Obj":
        return Obj(dict(self.fields, **fields), self.required)

    def pick(self, wanted: Dict[str, Any]) -> "Obj":
        """Only the fields a reader uses (a cheaper check over many reports): ``{"driver": ["version"],
        "gpus": ["name"], "meta": True}``: True keeps a field's whole shape, a list or dict picks inside it (an
        object, a list of objects, or either nullable)."""
        fields = {name: _picked(self.fields[name], sub) for name, sub in wanted.items()}
        return Obj(fields, [r for r in self.required if r in fields])


def _picked(shape: Shape, sub: Any) -> Shape:
    if sub is True:
        return shape
    wanted = sub if isinstance(sub, dict) else {name: True for name in sub}
    if isinstance(shape, Nullable):
        return Nullable(_picked(shape.inner, wanted))
    if isinstance(shape, ListOf):
        return ListOf(_picked(shape.item, wanted))
    if isinstance(shape, Obj):
        return shape.pick(wanted)
    raise TypeError(f"cannot pick fields of {type(shape).__name__}")


# --------------------------------------------------------------------------- from the dataclasses

_CACHE: Dict[type, Obj] = {}


def shape_of(cls: type) -> Obj:
    """The shape of a dataclass as :func:`envcheck.serde.from_data` reads it: each field's type; a field without a
    default is required; null only where the field is Optional."""
    if cls not in _CACHE:
        module = sys.modules.get(cls.__module__)
        hints = typing.get_type_hints(cls, vars(module) if module else None)
        fields = {f.name: _shape_of_type(hints[f.name]) for f in dataclasses.fields(cls) if f.init}
        required = [f.name for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]  # type: ignore[misc]
        _CACHE[cls] = Obj(fields, required)
    return _CACHE[cls]


def _shape_of_type(tp: Any) -> Shape:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union:
        inner = [a for a in args if a is not type(None)]
        shape = _shape_of_type(inner[0]) if len(inner) == 1 else Either(*(_shape_of_type(a) for a in inner))
        return Nullable(shape) if len(inner) < len(args) else shape
    if origin in (list, typing.List):
        return ListOf(_shape_of_type(args[0]) if args else ANY)
    if origin in (dict, typing.Dict):
        return MapOf(_shape_of_type(args[1]) if args else ANY)
    if dataclasses.is_dataclass(tp):
        return shape_of(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return Choice(m.value for m in tp)
    return {str: TEXT, int: INTEGER, float: NUMBER, bool: BOOLEAN}.get(tp, ANY)


# --------------------------------------------------------------------------- the report (docs/report.schema.json)


def _n(shape: Shape) -> Shape:
    return Nullable(shape)


def _finding() -> Obj:
    from .findings import Finding

    return shape_of(Finding).extended(messages=ANY)


def _snapshot() -> Obj:
    from .snapshot import Snapshot

    return shape_of(Snapshot)


_DTYPE = Obj({"dtype": TEXT, "tflops": _n(NUMBER), "peak_tflops": _n(NUMBER), "ratio": _n(NUMBER),
              "max_rel_error": _n(NUMBER), "ok": _n(BOOLEAN), "error": _n(TEXT), "n": _n(INTEGER),
              "iters": _n(INTEGER), "band_tflops": _n(NUMBER), "band_low": _n(NUMBER), "band_high": _n(NUMBER),
              "band_copies": _n(INTEGER), "band_sizes": _n(TEXT), "basis": _n(TEXT), "slow_below": _n(NUMBER)})
_DEVICE = Obj({"index": INTEGER, "name": _n(TEXT), "capability": _n(TEXT), "init_s": _n(NUMBER),
               "alloc_ok": _n(BOOLEAN), "matmul": ListOf(_DTYPE), "h2d_gbps": _n(NUMBER), "d2h_gbps": _n(NUMBER),
               "d2d_gbps": _n(NUMBER), "error": _n(TEXT)}, required=["index"])
#: $defs/smoke_report
SMOKE = Obj({"skipped": _n(TEXT), "torch": _n(TEXT), "import_s": _n(NUMBER), "total_s": _n(NUMBER),
             "devices": ListOf(_DEVICE), "peer_access": MapOf(ANY), "allreduce_busbw_gbps": _n(NUMBER),
             "error": _n(TEXT), "allreduce_bytes": _n(INTEGER), "allreduce_band_gbps": _n(NUMBER),
             "allreduce_band_low": _n(NUMBER), "allreduce_band_high": _n(NUMBER), "allreduce_fabric": _n(TEXT),
             "allreduce_fabric_basis": _n(TEXT), "allreduce_slow_below": _n(NUMBER)})
_REQUIREMENT = Obj({"expr": TEXT, "name": TEXT, "op": _n(TEXT), "value": _n(TEXT), "origin": TEXT, "status": TEXT,
                    "met": BOOLEAN, "reason": TEXT, "have": ANY}, required=["expr"])
_SHAPES: Dict[str, Obj] = {}


def policy_shape(finding: Optional[Shape] = None) -> Obj:
    """$defs/policy: the block ``doctor --require/--policy --json`` adds."""
    return Obj({"ok": BOOLEAN, "requirements": ListOf(_REQUIREMENT), "smoke": _n(SMOKE),
                "smoke_findings": ListOf(finding or finding_shape())})


def finding_shape() -> Obj:
    """$defs/finding, with its ``messages`` (read by :func:`envcheck.i18n.message_from_data`, which takes anything)."""
    if "finding" not in _SHAPES:
        _SHAPES["finding"] = _finding()
    return _SHAPES["finding"]


def report_shapes() -> Dict[str, Obj]:
    """{"doctor": a doctor --json report, "smoke": smoke --json, "snapshot": a doctor --save snapshot}."""
    if "doctor" not in _SHAPES:
        finding, snapshot = finding_shape(), _snapshot()
        policy = policy_shape(finding)
        _SHAPES["snapshot"] = snapshot
        _SHAPES["doctor"] = Obj({"schema_version": ANY, "verdict": _n(TEXT), "summary": _n(MapOf(ANY)),
                                 "findings": ListOf(finding), "snapshot": snapshot, "policy": _n(policy)},
                                required=["snapshot"])
        _SHAPES["smoke"] = Obj({"schema_version": ANY, "smoke": SMOKE, "findings": ListOf(finding)},
                               required=["smoke"])
    return _SHAPES


def kind_of(data: Any) -> Optional[str]:
    """"doctor" (has a ``snapshot``), "smoke" (has a ``smoke``), "snapshot" (has a ``driver``), or None."""
    if not isinstance(data, dict):
        return None
    if "snapshot" in data:
        return "doctor"
    if "smoke" in data:
        return "smoke"
    if "driver" in data or "schema_version" in data:
        return "snapshot"
    return None


def check_report(data: Any, source: str, kinds: Tuple[str, ...] = ("doctor", "snapshot", "smoke")) -> str:
    """The kind of a report (see :func:`kind_of`) after checking it has that kind's shape; InputError naming the file
    and the field otherwise, or when its kind is not one of ``kinds``."""
    kind = kind_of(data)
    if kind is None or kind not in kinds:
        if not isinstance(data, dict):
            raise _wrong(source, "", Message(N_("an object")), data)
        raise InputError(Message(N_("not an envcheck {kinds}"), kinds=" / ".join(_KIND_WORDS[k] for k in kinds)),
                         source)
    report_shapes()[kind].check(data, source, "")
    return kind


_KIND_WORDS = {"doctor": "doctor --json report", "snapshot": "doctor --save snapshot", "smoke": "smoke --json report"}
