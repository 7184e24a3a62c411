"""A charge row as the intake records it: a tuple of values whose column names are shared by all rows of a layout.

Every row of an export has the same columns. A dict per row holds its own hash table of them: about 3.4 KB for
the contract's 103 columns and the row's source, some 3.4 GB for a million-line night before a claim is built. A
``ChargeRow`` points at its ``RowLayout`` and holds the reader's own tuple of the contract's values (shared, not
copied) and a small tuple of what the intake adds (the row's source): about 150 bytes a row beside the reader's,
measured in ``tests/unit/test_intake_memory.py``.

``to_json`` writes the text the warehouse keeps (``charge.row_json``): exactly what
``json.dumps(dict(row), sort_keys=True)`` writes, from key prefixes encoded once per layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import TypeVar, overload

T = TypeVar("T")


class RowLayout:
    """The column names of a kind of row, their positions, and the sorted-keys JSON plan built from them once."""

    __slots__ = ("_json_order", "_json_prefixes", "base", "names", "positions")

    def __init__(self, names: Sequence[str], extra: Sequence[str] = ()) -> None:
        """A layout of ``names`` then ``extra`` (each name once): a row holds the values of ``names`` in one
        tuple, which may be the reader's own, and those of ``extra`` in a second."""
        self.base = len(names)
        self.names = (*names, *extra)
        self.positions = {name: index for index, name in enumerate(self.names)}
        if len(self.positions) != len(self.names):
            raise ValueError("a row layout names each column once")
        order = sorted(range(len(self.names)), key=self.names.__getitem__)  # json's sort_keys: by the key string
        self._json_order = tuple(order)
        self._json_prefixes = tuple(encode_basestring_ascii(self.names[index]) + ": " for index in order)

    def row(self, values: Sequence[str], extra: Sequence[str] = ()) -> ChargeRow:
        """A row of this layout: ``values`` for its names, ``extra`` for its extra names (in order)."""
        values, extra = tuple(values), tuple(extra)
        if len(values) != self.base or len(extra) != len(self.names) - self.base:
            raise ValueError(
                f"a row of this layout has {self.base} + {len(self.names) - self.base} values, "
                f"not {len(values)} + {len(extra)}"
            )
        return ChargeRow(self, values, extra)

    def json_of(self, values: tuple[str, ...]) -> str:
        """``values`` as a JSON object with sorted keys, as ``json.dumps(..., sort_keys=True)`` writes it."""
        encoded = map(encode_basestring_ascii, map(values.__getitem__, self._json_order))
        return "{" + ", ".join(map(str.__add__, self._json_prefixes, encoded)) + "}"


class ChargeRow(Mapping[str, str]):
    """A read-only mapping of a layout's columns to one row's values; equal to a dict with the same items.

    Its ``repr`` names the layout's size only: a row holds PHI, and a repr can end up in a log or a traceback.
    """

    __slots__ = ("_extra", "_layout", "_values")

    def __init__(self, layout: RowLayout, values: tuple[str, ...], extra: tuple[str, ...] = ()) -> None:
        """A row of ``layout``; ``RowLayout.row`` checks the number of values."""
        self._layout = layout
        self._values = values
        self._extra = extra

    def __getitem__(self, key: str) -> str:
        index = self._layout.positions[key]
        base = self._layout.base
        return self._values[index] if index < base else self._extra[index - base]

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, default: str | T, /) -> str | T: ...

    def get(self, key: str, default: object = None, /) -> object:
        """The value of column ``key``, or ``default`` when the layout has no such column."""
        index = self._layout.positions.get(key)
        if index is None:
            return default
        base = self._layout.base
        return self._values[index] if index < base else self._extra[index - base]

    def __contains__(self, key: object) -> bool:
        return key in self._layout.positions

    def __iter__(self) -> Iterator[str]:
        return iter(self._layout.names)

    def __len__(self) -> int:
        return len(self._layout.names)

    def __repr__(self) -> str:
        return f"ChargeRow({len(self._layout.names)} columns)"

    def as_dict(self) -> dict[str, str]:
        """The row as a plain dict."""
        return dict(zip(self._layout.names, self._values + self._extra, strict=True))

    def to_json(self) -> str:
        """The row as ``json.dumps(dict(row), sort_keys=True)`` writes it (the stored ``row_json``)."""
        return self._layout.json_of(self._values + self._extra)


def row_json(row: Mapping[str, str]) -> str:
    """The stored JSON text of any charge row: sorted keys, json's default separators and escaping."""
    if isinstance(row, ChargeRow):
        return row.to_json()
    return json.dumps(dict(row), sort_keys=True)
