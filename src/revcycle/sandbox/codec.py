"""JSON for the sandbox's state: dataclasses, Decimals, dates and instants, written and read back exactly.

Money stays exact (a Decimal is written as its string), instants keep their offset, tuples come back as
tuples, so a state written and read back answers byte for byte like the state that never left memory.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> Any:
    """``value`` as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(kind: Any, data: Any) -> Any:
    """The value of type ``kind`` that ``encode`` turned into ``data``."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        candidates = [arg for arg in args if arg is not type(None)]
        return decode(candidates[0], data)
    if origin is typing.Literal:
        return data
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], item) for item in data)
        return tuple(decode(arg, item) for arg, item in zip(args, data, strict=True))
    if origin is list:
        return [decode(args[0], item) for item in data]
    if origin is dict:
        return {decode(args[0], key): decode(args[1], item) for key, item in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        values = {f.name: decode(hints[f.name], data[f.name]) for f in dataclasses.fields(kind) if f.name in data}
        return kind(**values)
    if kind is Decimal:
        return Decimal(data)
    if kind is datetime:
        return datetime.fromisoformat(data)
    if kind is date:
        return date.fromisoformat(data)
    return data


def decode_as(kind: type[T], data: Any) -> T:
    """``decode`` typed for a dataclass."""
    decoded: T = decode(kind, data)
    return decoded
