"""The query planner's statistics, brought up to date after a step of the night that wrote many rows.

PostgreSQL plans each query from statistics of its tables that ``ANALYZE`` gathers; autovacuum gathers them in
the background once enough rows changed, but not within the seconds between a step of the night that writes a
table and the next one that reads it. A plan made from the statistics of a table a tenth of its size (or empty)
can redo its work for every row: docs/scale.md, "The planner's statistics", measured a report query going from
under a second to minutes that way. PostgreSQL's own advice after a bulk load is to run ``ANALYZE`` (its
documentation, "Populating a Database", "Run ANALYZE Afterwards"). It reads a sample of each table (300 × the
statistics target rows, 30,000 by default), so its cost stays about the same whatever the table's size.

SQLite plans without statistics unless ``ANALYZE`` was run once, which the warehouse never does: its plans do
not change with the data, and nothing is done there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from sqlalchemy import Connection, Table, text

from revcycle.warehouse.schema import metadata

log = logging.getLogger(__name__)


def refresh_statistics(conn: Connection, tables: Iterable[Table] | None = None) -> float:
    """``ANALYZE`` ``tables`` (default: every warehouse table) on PostgreSQL; the seconds it took (0 elsewhere).

    It may run in the writer's own transaction, before its commit: ``ANALYZE`` counts the rows that transaction
    wrote as there.
    """
    if conn.dialect.name != "postgresql":
        return 0.0
    chosen = list(metadata.sorted_tables if tables is None else tables)
    if not chosen:
        return 0.0
    started = time.perf_counter()
    preparer = conn.dialect.identifier_preparer
    conn.execute(text("ANALYZE " + ", ".join(preparer.format_table(table) for table in chosen)))
    elapsed = time.perf_counter() - started
    log.info("planner statistics refreshed for %d tables in %.1f s", len(chosen), elapsed)
    return elapsed
