"""Bulk inserts at driver speed: many rows per INSERT on SQLite, COPY on PostgreSQL, in the caller's transaction.

``insert_once`` claims a natural key (the idempotency point of a load); ``insert_new_rows`` writes the rows
that hang below a freshly claimed key straight into their table; ``insert_ignoring_duplicates`` goes through
a staging table and ``ON CONFLICT DO NOTHING`` for rows that may already be there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Date, DateTime, Integer, Table, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from revcycle.warehouse.schema import TRIGGER_CHECKED, metadata

Row = tuple[Any, ...]

# Sorting and the transition tables of the reference triggers spill to disk beyond work_mem (4 MB by default).
BULK_WORK_MEM = "64MB"
# SQLite takes many rows in one INSERT statement: one start, step and reset per statement instead of per row,
# a third less CPU for the same rows measured alone (docs/scale.md, "Ninth pass"). SQLite before 3.32 binds at
# most 999 parameters to a statement, so a statement holds at most that many values.
SQLITE_ROWS_PER_STATEMENT = 50
SQLITE_MAX_PARAMETERS = 999


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
    """``count`` fresh primary keys of ``table`` (its ``id`` column), reserved for this transaction.

    PostgreSQL draws them from the table's sequence. SQLite hands out the ids above ``max(id)`` under the
    write lock, so they must be inserted before the next reservation on the same table.
    """
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return _draw_from_sequence(conn, table, count)
    lock_for_writing(conn, table)
    start = int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {_quote(conn, table.name)}")).scalar_one())
    return list(range(start + 1, start + 1 + count))


def _draw_from_sequence(conn: Connection, table: Table, count: int) -> list[int]:
    # The sequence is resolved once (per row it costs a catalog lookup), and the values drawn come back as
    # their bounds, not as rows: one run of consecutive values unless another session drew meanwhile.
    sequence = conn.execute(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}).scalar_one()
    drawn = "(SELECT nextval(CAST(:sequence AS regclass)) AS v FROM generate_series(1, :n)) AS drawn"
    parameters = {"sequence": sequence, "n": count}
    low, high = conn.execute(text(f"SELECT min(v), max(v) FROM {drawn}"), parameters).one()
    if int(high) - int(low) + 1 == count:
        return list(range(int(low), int(high) + 1))
    # Interleaved with another session: these values stay unused (a gap); draw again keeping every run.
    bulk_memory(conn)
    runs = conn.execute(
        text(
            "SELECT min(v), max(v) FROM (SELECT v, v - row_number() OVER (ORDER BY v) AS run "
            f"FROM {drawn}) AS ordered GROUP BY run ORDER BY 1"
        ),
        parameters,
    )
    return [value for run_low, run_high in runs for value in range(int(run_low), int(run_high) + 1)]


def bulk_memory(conn: Connection) -> None:
    """Give this transaction's sorts and triggers room for a bulk write (PostgreSQL only)."""
    conn.execute(text(f"SET LOCAL work_mem = '{BULK_WORK_MEM}'"))


def insert_ignoring_duplicates(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order); a row that violates a unique key is skipped."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_insert(conn, table, columns, rows)
        return
    names = ", ".join(_quote(conn, c) for c in columns)
    cursor = conn.connection.cursor()
    try:
        head = f"INSERT INTO {_quote(conn, table.name)} ({names})"
        sqlite_insert_rows(cursor, head, len(columns), rows, " ON CONFLICT DO NOTHING")
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


def insert_once(conn: Connection, table: Table, values: Mapping[str, Any], key: Sequence[str]) -> int | None:
    """Insert one row unless a row with the same ``key`` columns exists; the new row's id, or None.

    On PostgreSQL a concurrent transaction holding the same key makes this wait for its outcome: None once
    it commits, so two loaders of the same payment never both post it.
    """
    build = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = build(table).values(dict(values)).on_conflict_do_nothing(index_elements=list(key)).returning(table.c.id)
    found = conn.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def insert_new_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) that cannot exist yet: a duplicate key is an error.

    For rows whose ids were just reserved and whose parent was just claimed by ``insert_once``: no conflict
    handling, so PostgreSQL takes them with a binary COPY straight into ``table``.
    """
    if not rows:
        return
    cursor: Any = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            bulk_memory(conn)
            with cursor.copy(copy_statement(conn, table, columns)) as copy:
                copy.set_types(copy_types(table, columns))
                for row in rows:
                    copy.write_row(row)
        else:
            names = ", ".join(_quote(conn, c) for c in columns)
            sqlite_insert_rows(cursor, f"INSERT INTO {_quote(conn, table.name)} ({names})", len(columns), rows)
    finally:
        cursor.close()


def copy_statement(conn: Connection, table: Table, columns: Sequence[str]) -> str:
    """The binary ``COPY ... FROM STDIN`` of ``columns`` of ``table`` (PostgreSQL)."""
    names = ", ".join(_quote(conn, c) for c in columns)
    return f"COPY {_quote(conn, table.name)} ({names}) FROM STDIN (FORMAT BINARY)"


def copy_types(table: Table, columns: Sequence[str]) -> list[str]:
    """The PostgreSQL type names of ``columns`` of ``table``, as a binary COPY needs them."""
    return [_copy_type(table, c) for c in columns]


def sqlite_insert_rows(cursor: Any, head: str, width: int, rows: Sequence[Row], tail: str = "") -> None:
    """Run ``head VALUES (...), (...) tail`` on a SQLite ``cursor`` over ``rows`` of ``width`` values each.

    Up to ``SQLITE_ROWS_PER_STATEMENT`` rows go in one statement, never more than ``SQLITE_MAX_PARAMETERS``
    values; the rows left over go one per statement. ``head`` is ``INSERT INTO table (columns)``.
    """
    one_row = "(" + ", ".join("?" * width) + ")"
    per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, SQLITE_MAX_PARAMETERS // width))
    whole = len(rows) - len(rows) % per_statement
    if whole:
        statement = f"{head} VALUES {', '.join([one_row] * per_statement)}{tail}"
        chunks = range(0, whole, per_statement)
        cursor.executemany(statement, (list(chain.from_iterable(rows[i : i + per_statement])) for i in chunks))
    if whole < len(rows):
        cursor.executemany(f"{head} VALUES {one_row}{tail}", rows[whole:])


def _copy_type(table: Table, column: str) -> str:
    kind = table.c[column].type
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, Date):
        return "date"
    return "text"  # VARCHAR and TEXT share the text binary format


def reference_violations(conn: Connection) -> dict[str, int]:
    """Rows of the posting tables whose reference names no parent row, by ``table.column`` (empty: none).

    The PostgreSQL triggers of migration 0003 refuse such rows as they are written; this counts them over
    whole tables, as an audit (and on SQLite, where the declared foreign keys do the refusing).
    """
    found: dict[str, int] = {}
    for table in metadata.sorted_tables:
        for constraint in table.foreign_key_constraints:
            if not constraint.info.get(TRIGGER_CHECKED):
                continue
            (element,) = constraint.elements
            child = element.parent
            parent = element.column
            orphans = (
                select(func.count())
                .select_from(table)
                .where(
                    child.is_not(None),
                    ~select(parent).where(parent == child).exists(),
                )
            )
            count = int(conn.execute(orphans).scalar_one())
            if count:
                found[f"{table.name}.{child.name}"] = count
    return found
