"""New rows written while the loader reads on (issue 15): ``NewRows`` on PostgreSQL and on SQLite.

On PostgreSQL the COPYs of a batch run on a worker thread; every statement the caller runs on the connection
first waits for them, and their error is raised there. On SQLite the rows are inserted at once. Expected
counts and sums are worked out by hand beside each assertion.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, event, func, select
from warehouse_databases import empty_warehouse_url

from revcycle.warehouse import background_copy
from revcycle.warehouse.background_copy import NewRows
from revcycle.warehouse.db import create_warehouse_engine

_metadata = MetaData()
probe = Table(
    "probe_rows",
    _metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("code", String(8), nullable=False),
    Column("amount_cents", BigInteger),
)
COLUMNS = ("id", "code", "amount_cents")
# ids 1..1000, code "C<id>", amount 10 × id: the sum is 10 × 1000 × 1001 / 2 = 5,005,000.
ROWS = [(n, f"C{n}", 10 * n) for n in range(1, 1001)]
ROWS_SUM = 5_005_000


@contextmanager
def _probe_engine(dialect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An empty database holding the probe table, through the warehouse's own engine settings."""
    with empty_warehouse_url(dialect, tmp_path_factory) as url:
        made = create_warehouse_engine(url)
        _metadata.create_all(made)
        try:
            yield made
        finally:
            made.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The probe database on each dialect."""
    with _probe_engine(request.param, tmp_path_factory) as made:
        yield made


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The probe database on PostgreSQL only, for what only its background writes do."""
    with _probe_engine("postgresql", tmp_path_factory) as made:
        yield made


def _count_and_sum(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        count, total = conn.execute(select(func.count(), func.coalesce(func.sum(probe.c.amount_cents), 0))).one()
    return int(count), int(total)


def test_rows_sent_in_two_batches_are_all_there_when_the_next_statement_runs(engine: Engine) -> None:
    with engine.begin() as conn, NewRows(conn) as new_rows:
        new_rows.add(probe, COLUMNS, ROWS[:600])
        new_rows.send()
        # The next statement sees the first batch: 600 rows, 10 × 600 × 601 / 2 = 1,803,000.
        assert conn.execute(select(func.count(), func.sum(probe.c.amount_cents))).one() == (600, 1_803_000)
        new_rows.add(probe, COLUMNS, ROWS[600:])
        new_rows.send()
    assert _count_and_sum(engine) == (1000, ROWS_SUM)


def test_a_savepoint_rolled_back_takes_back_the_rows_sent_inside_it(engine: Engine) -> None:
    with engine.begin() as conn, NewRows(conn) as new_rows:
        taken_back = conn.begin_nested()
        new_rows.add(probe, COLUMNS, ROWS[:500])
        new_rows.send()
        taken_back.rollback()
        kept = conn.begin_nested()
        new_rows.add(probe, COLUMNS, ROWS[500:])
        new_rows.send()
        kept.commit()
    # Only ids 501..1000 stay: 500 rows, 10 × (501 + 1000) × 500 / 2 = 3,752,500.
    assert _count_and_sum(engine) == (500, 3_752_500)


def test_on_sqlite_rows_are_inserted_as_they_are_added(tmp_path_factory: pytest.TempPathFactory) -> None:
    with _probe_engine("sqlite", tmp_path_factory) as made, made.begin() as conn, NewRows(conn) as new_rows:
        new_rows.add(probe, COLUMNS, ROWS[:3])
        # Before any send: ids 1..3, 10 + 20 + 30 = 60.
        assert conn.execute(select(func.count(), func.sum(probe.c.amount_cents))).one() == (3, 60)


def test_a_failed_copy_is_raised_by_the_next_statement_as_the_copy_s_own_error(postgres: Engine) -> None:
    with postgres.begin() as conn:
        conn.execute(probe.insert().values(id=7, code="OLD", amount_cents=1))
    with pytest.raises(psycopg.errors.UniqueViolation) as raised, postgres.begin() as conn, NewRows(conn) as new_rows:
        new_rows.add(probe, COLUMNS, ROWS[:10])  # id 7 is taken: the COPY fails in the worker
        new_rows.send()  # returns at once: the COPY runs in the background
        conn.execute(select(1))
    # The COPY's own error (the driver's, as a COPY run in the caller's thread raised it), not "current
    # transaction is aborted" from a statement that ran after the COPY failed; a note says where it came from.
    assert "probe_rows_pkey" in str(raised.value)
    assert any("COPY of new rows sent in the background" in note for note in raised.value.__notes__)
    assert _count_and_sum(postgres) == (1, 1)


def test_the_callers_own_error_wins_over_a_copy_that_failed_too(postgres: Engine) -> None:
    with postgres.begin() as conn:
        conn.execute(probe.insert().values(id=7, code="OLD", amount_cents=1))
    with pytest.raises(ValueError, match="the reader failed"), postgres.begin() as conn, NewRows(conn) as new_rows:
        new_rows.add(probe, COLUMNS, ROWS[:10])
        new_rows.send()
        raise ValueError("the reader failed")
    assert _count_and_sum(postgres) == (1, 1)


def test_the_wait_is_unhooked_and_the_switch_interval_restored_on_leaving(postgres: Engine) -> None:
    before = sys.getswitchinterval()
    with postgres.begin() as conn:
        outer = NewRows(conn)
        with outer:
            assert event.contains(conn, "before_cursor_execute", outer._wait_before_statement)
            assert sys.getswitchinterval() == min(before, background_copy.HANDOVER_SWITCH_INTERVAL)
            with NewRows(conn):  # a second loader at once: the interval stays short until the last one leaves
                pass
            assert sys.getswitchinterval() == min(before, background_copy.HANDOVER_SWITCH_INTERVAL)
        assert not event.contains(conn, "before_cursor_execute", outer._wait_before_statement)
    assert sys.getswitchinterval() == before
