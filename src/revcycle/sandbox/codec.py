"""JSON for the sandbox's state: dataclasses, Decimals, dates and instants, written and read back exactly.

Money stays exact (a Decimal is written as its string), instants keep their offset, tuples come back as
tuples, so a state written and read back answers byte for byte like the state that never left memory.
Fields whose metadata says ``transient`` are not written (bookkeeping that lives in memory only).
Decoders are built once per type from its annotations, so reading a large state stays quick.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")
Decoder = Callable[[Any], Any]


def encode(value: Any) -> Any:
    """``value`` as plain JSON data."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    names = _field_names(typing.cast(Any, type(value)))
    return {name: encode(getattr(value, name)) for name in names}


@cache
def _field_names(kind: Any) -> tuple[str, ...]:
    if not dataclasses.is_dataclass(kind):
        raise TypeError(f"no JSON encoding for {kind!r}")
    return tuple(f.name for f in dataclasses.fields(kind) if not f.metadata.get("transient"))


def _same(data: Any) -> Any:
    return data


@cache
def decoder(kind: Any) -> Decoder:
    """A function turning ``encode``'s output back into a value of type ``kind``."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if kind is Any or origin is typing.Literal or kind in (str, int, float, bool):
        return _same
    if origin in (typing.Union, types.UnionType):
        inner = decoder(next(arg for arg in args if arg is not type(None)))
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = decoder(args[0])
            return lambda data: tuple(item(x) for x in data)
        items = tuple(decoder(arg) for arg in args)
        return lambda data: tuple(f(x) for f, x in zip(items, data, strict=True))
    if origin is list:
        element = decoder(args[0])
        return lambda data: [element(x) for x in data]
    if origin is dict:
        key, value = decoder(args[0]), decoder(args[1])
        return lambda data: {key(k): value(v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass_decoder(kind)
    if kind is Decimal:
        return Decimal
    if kind is datetime:
        return datetime.fromisoformat
    if kind is date:
        return date.fromisoformat
    raise TypeError(f"no JSON decoder for {kind!r}")


def _dataclass_decoder(kind: type[Any]) -> Decoder:
    hints = typing.get_type_hints(kind)
    fields = [(f.name, decoder(hints[f.name])) for f in dataclasses.fields(kind) if not f.metadata.get("transient")]

    def decode_dataclass(data: Any) -> Any:
        return kind(**{name: decode(data[name]) for name, decode in fields if name in data})

    return decode_dataclass


def decode_as(kind: type[T], data: Any) -> T:
    """The ``kind`` value that ``encode`` turned into ``data``."""
    value: T = decoder(typing.cast(Any, kind))(data)
    return value
