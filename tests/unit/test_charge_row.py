"""``ChargeRow``: a row over a shared layout reads, compares and serialises like the dict it replaces.

The stored ``charge.row_json`` must not change: revisions compare it with the new row's, so the expected text
here is ``json.dumps(dict(row), sort_keys=True)`` computed by the standard library from a plain dict.
"""

from __future__ import annotations

import json
import pickle

import pytest

from connectors.ehr.intake import SOURCE_KEY
from revcycle.charge_export import COLUMN_NAMES
from revcycle.charge_row import RowLayout, row_json

NAMES = (*COLUMN_NAMES, SOURCE_KEY)
BASE = len(COLUMN_NAMES)


def _values(seed: int) -> tuple[str, ...]:
    # awkward text on purpose: quotes, backslashes, control characters, non-ASCII, a lone surrogate, empties
    odd = ['O"Brien', "a\\b", "tab\there", "line\nbreak", "Zoë Ångström", "\u2028", "\ud800", "", " ", "99213"]
    return tuple(odd[(seed + index) % len(odd)] + (str(index) if index % 3 else "") for index in range(len(NAMES)))


@pytest.mark.parametrize("seed", range(10))
def test_to_json_is_the_standard_librarys_sorted_keys_text(seed: int) -> None:
    layout = RowLayout(COLUMN_NAMES, (SOURCE_KEY,))
    values = _values(seed)
    plain = dict(zip(NAMES, values, strict=True))
    row = layout.row(values[:BASE], values[BASE:])
    assert row.to_json() == json.dumps(plain, sort_keys=True)
    assert row_json(row) == row_json(plain) == json.dumps(plain, sort_keys=True)
    assert json.loads(row.to_json()) == plain


def test_a_layout_in_another_order_writes_the_same_text() -> None:
    values = _values(3)
    forward = RowLayout(COLUMN_NAMES, (SOURCE_KEY,)).row(values[:BASE], values[BASE:])
    backward = RowLayout(tuple(reversed(NAMES))).row(tuple(reversed(values)))
    assert forward.to_json() == backward.to_json()
    assert forward == backward


def test_the_row_reads_like_its_dict() -> None:
    values = _values(1)
    plain = dict(zip(NAMES, values, strict=True))
    shared = values[:BASE]
    row = RowLayout(COLUMN_NAMES, (SOURCE_KEY,)).row(shared, values[BASE:])
    assert row == plain and plain == row
    assert row["patient_last_name"] == plain["patient_last_name"] and row[SOURCE_KEY] == plain[SOURCE_KEY]
    assert row.get(SOURCE_KEY) == plain[SOURCE_KEY]
    assert row["charge_id"] == plain["charge_id"]
    assert row.get("charge_id") == plain["charge_id"]
    assert row.get("not_a_column") is None and row.get("not_a_column", "") == ""
    assert "charge_id" in row and "not_a_column" not in row
    assert list(row) == list(NAMES) and len(row) == len(NAMES)
    assert row.as_dict() == plain == dict(row)
    with pytest.raises(KeyError):
        row["not_a_column"]
    assert pickle.loads(pickle.dumps(row)) == plain


def test_repr_shows_no_value() -> None:
    row = RowLayout(("patient_last_name", "charge_id")).row(("DOE", "C1"))
    assert "DOE" not in repr(row) and "C1" not in repr(row)


def test_layouts_refuse_a_repeated_name_and_a_wrong_number_of_values() -> None:
    with pytest.raises(ValueError, match="once"):
        RowLayout(("a", "b", "a"))
    with pytest.raises(ValueError, match="2 \\+ 0 values, not 3 \\+ 0"):
        RowLayout(("a", "b")).row(("1", "2", "3"))
    with pytest.raises(ValueError, match="1 \\+ 1 values, not 1 \\+ 2"):
        RowLayout(("a",), ("b",)).row(("1",), ("2", "3"))
    with pytest.raises(ValueError, match="once"):
        RowLayout(("a",), ("a",))
