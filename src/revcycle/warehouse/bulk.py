"""Bulk, idempotent inserts at driver speed: executemany on SQLite, COPY into a staging table on PostgreSQL.

Both paths end in ``INSERT ... ON CONFLICT DO NOTHING``, so loading rows that are already there changes
nothing. They run on the caller's connection, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, text

Row = tuple[Any, ...]


def _quote(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def lock_for_writing(conn: Connection, table: Table) -> None:
    """Make sure this transaction holds the write lock (SQLite) before ids are reserved.

    SQLite begins a write transaction lazily at the first write; a no-op UPDATE takes the lock now, so
    the ``max(id)`` read by ``reserve_ids`` cannot race another writer.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"UPDATE {_quote(conn, table.name)} SET id = id WHERE 0"))


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys of ``table`` (its ``id`` column), reserved for this transaction."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count},
        )
        return sorted(int(r[0]) for r in rows)
    lock_for_writing(conn, table)
    start = int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {_quote(conn, table.name)}")).scalar_one())
    return list(range(start + 1, start + 1 + count))


def insert_ignoring_duplicates(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order); a row that violates a unique key is skipped."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_insert(conn, table, columns, rows)
        return
    names = ", ".join(_quote(conn, c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {_quote(conn, table.name)} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()


def _copy_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
    target = _quote(conn, table.name)
    stage = _quote(conn, f"stage_{table.name}")
    names = ", ".join(_quote(conn, c) for c in columns)
    cursor: Any = conn.connection.cursor()
    try:
        # A temporary table lives in this session only; ON COMMIT DROP leaves nothing behind. It holds just
        # the loaded columns, without constraints or defaults (no sequence number is spent on staging).
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS SELECT {names} FROM {target} WITH NO DATA"
        )
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING")
        cursor.execute(f"TRUNCATE {stage}")
    finally:
        cursor.close()
