"""SQLite bulk inserts put many rows in one statement, within SQLite's oldest limit on bound parameters.

``insert_new_rows`` and ``insert_ignoring_duplicates`` write up to 50 rows per INSERT on SQLite, and never
more than 999 parameters in one statement (the limit of SQLite before 3.32). Each row arrives once, in order,
with its values as given; a duplicate is refused or skipped as the function promises.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError

from revcycle.warehouse.bulk import insert_ignoring_duplicates, insert_new_rows
from revcycle.warehouse.db import create_warehouse_engine

_metadata = MetaData()
# Three columns: 50 rows a statement (150 parameters).
narrow = Table(
    "probe_narrow",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(8), nullable=False),
    Column("amount", Integer),
    UniqueConstraint("code", name="uq_probe_narrow_code"),
)
# Thirty-one columns: 50 rows would bind 1,550 parameters, so a statement holds 999 // 31 = 32 rows (992).
WIDE_VALUES = 30
wide = Table(
    "probe_wide",
    _metadata,
    Column("id", Integer, primary_key=True),
    *(Column(f"v{i}", Integer, nullable=False) for i in range(WIDE_VALUES)),
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file holding the two probe tables, through the warehouse's own engine settings."""
    made = create_warehouse_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    _metadata.create_all(made)
    try:
        yield made
    finally:
        made.dispose()


def _driver(conn: Connection) -> sqlite3.Connection:
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def _traced_inserts(conn: Connection, table: str) -> list[str]:
    """Record every execution of an INSERT into ``table`` on the SQLite connection under ``conn``."""
    seen: list[str] = []

    def trace(statement: str) -> None:
        if statement.startswith(f"INSERT INTO {table}"):
            seen.append(statement)

    _driver(conn).set_trace_callback(trace)
    return seen


@pytest.mark.parametrize(
    ("count", "executions"),
    [
        # 50 rows a statement: whole statements, then the rest one row each.
        (1, 1),  # 0 whole + 1
        (49, 49),  # 0 whole + 49
        (50, 1),  # 1 whole + 0
        (51, 2),  # 1 whole + 1
        (137, 39),  # 2 whole (100 rows) + 37
    ],
)
def test_narrow_rows_go_fifty_to_a_statement_and_arrive_in_order(engine: Engine, count: int, executions: int) -> None:
    rows = [(i, f"C{i:05d}", i * 7 if i % 3 else None) for i in range(1, count + 1)]
    with engine.begin() as conn:
        seen = _traced_inserts(conn, "probe_narrow")
        insert_new_rows(conn, narrow, ("id", "code", "amount"), rows)
        _driver(conn).set_trace_callback(None)
    assert len(seen) == executions
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(narrow).order_by(narrow.c.id))]
    assert stored == rows


def test_wide_rows_stay_within_999_parameters_a_statement(engine: Engine) -> None:
    rows = [(i, *(i * 100 + v for v in range(WIDE_VALUES))) for i in range(1, 138)]
    with engine.begin() as conn:
        raw = _driver(conn)
        # The limit of SQLite before 3.32: a statement binding more parameters fails to prepare.
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        seen = _traced_inserts(conn, "probe_wide")
        insert_new_rows(conn, wide, [c.name for c in wide.columns], rows)
        raw.set_trace_callback(None)
    # 32 rows a statement: 137 = 4 x 32 + 9, so 4 statements of 32 rows and 9 of one.
    assert len(seen) == 4 + 9
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(wide).order_by(wide.c.id))]
    assert stored == rows


def test_a_duplicate_inside_a_statement_is_refused_by_insert_new_rows(engine: Engine) -> None:
    rows = [(i, f"C{i}", i) for i in range(1, 61)]
    rows[30] = (31, "C5", 31)  # the same code as row 5, inside the first statement of fifty
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)), engine.begin() as conn:
        insert_new_rows(conn, narrow, ("id", "code", "amount"), rows)
    with engine.connect() as conn:
        assert conn.execute(select(narrow.c.id)).all() == []


def test_duplicates_are_skipped_row_by_row_and_the_first_copy_kept(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_ignoring_duplicates(conn, narrow, ("id", "code", "amount"), [(1, "C1", 10)])
    # 120 rows: two statements of fifty and twenty single rows. Codes C1..C40 come twice (rows 1-40 and
    # 41-80); C1 is also already stored, with id 1 and amount 10.
    rows = [(100 + i, f"C{(i - 1) % 40 + 1}" if i <= 80 else f"D{i}", i) for i in range(1, 121)]
    with engine.begin() as conn:
        insert_ignoring_duplicates(conn, narrow, ("id", "code", "amount"), rows)
    with engine.connect() as conn:
        stored = {code: (row_id, amount) for row_id, code, amount in conn.execute(select(narrow))}
    # Kept: the stored C1; C2..C40 from rows 2-40 (ids 102-140, amounts 2-40); D81..D120 (ids 181-220).
    expected = {"C1": (1, 10)}
    expected |= {f"C{i}": (100 + i, i) for i in range(2, 41)}
    expected |= {f"D{i}": (100 + i, i) for i in range(81, 121)}
    assert stored == expected
