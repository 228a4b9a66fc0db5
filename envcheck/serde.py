"""Dataclasses to plain JSON data and back, so snapshots and reports round-trip.

Loading is forgiving on purpose: unknown keys are ignored (a newer envcheck's snapshot still
loads) and missing keys take the field's default (an older or partial snapshot, such as one built
from pasted text, stays unknown rather than wrong).
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Any, Dict, Type, TypeVar, Union

T = TypeVar("T")


def to_data(obj: Any) -> Any:
    """Dataclass (or list/dict of them) to JSON-ready data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    if hasattr(obj, "value") and type(obj).__module__ != "builtins" and not isinstance(obj, (str, int, float, bool)):
        return obj.value  # Enum
    return obj


def _hints(cls: type) -> Dict[str, Any]:
    module = sys.modules.get(cls.__module__)
    return typing.get_type_hints(cls, vars(module) if module else None)


def from_data(cls: Type[T], data: Any) -> T:
    """Build ``cls`` from data made by :func:`to_data`; raises ValueError on a wrong shape."""
    return _convert(cls, data)


def _convert(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _convert(inner[0], data)
        return data
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object for {tp.__name__}, got {type(data).__name__}")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data and f.init:
                kwargs[f.name] = _convert(hints[f.name], data[f.name])
        return tp(**kwargs)
    if origin in (list, typing.List):
        if not isinstance(data, list):
            raise ValueError(f"expected a list, got {type(data).__name__}")
        return [_convert(args[0], v) for v in data] if args else list(data)
    if origin in (dict, typing.Dict):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        return {k: _convert(args[1], v) for k, v in data.items()} if args else dict(data)
    if isinstance(tp, type) and hasattr(tp, "__members__"):  # Enum
        return tp(data)
    if tp is float and isinstance(data, int):
        return float(data)
    return data
