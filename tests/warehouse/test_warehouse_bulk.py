"""The bulk 835 path: rows straight into their tables, remittance-level idempotency, and reference integrity.

On SQLite the posting tables keep declared foreign keys; on PostgreSQL migration 0003 checks them with
statement-level triggers. Either way a row naming no parent, or a parent deleted under its rows, is refused.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, delete, func, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from warehouse_data import add_claim, cas, clp, ingest, remittance, write_remittances

from revcycle import remittance_rows
from revcycle.warehouse.bulk import insert_new_rows, insert_once, reference_violations, reserve_ids
from revcycle.warehouse.schema import (
    adjustment,
    remark,
    remittance_claim,
    remittance_service,
    remittance_suspense,
    source_file,
)
from revcycle.warehouse.schema import (
    remittance as remittance_table,
)
from revcycle.x12.write835 import Adjustment, ServicePayment

SERVED = date(2026, 5, 20)
REFUSED = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)


def _line(code: str, charge: str, paid: str, *adjustments: Adjustment, remarks: tuple[str, ...] = ()) -> ServicePayment:
    return ServicePayment(
        procedure_code=code,
        charge=Decimal(charge),
        paid=Decimal(paid),
        units=Decimal("2"),
        service_date=SERVED,
        modifiers=("25",),
        adjustments=adjustments,
        remark_codes=remarks,
    )


def _835(control_number: int, trace: str) -> bytes:
    # C1: two lines (100.00 paid 80.00 with CO-45 20.00 and remark N130; 50.00 paid 50.00);
    # UNSENT: one line, a claim we never sent (suspense).
    return write_remittances(
        control_number,
        remittance(
            trace,
            date(2026, 6, 5),
            (
                clp(
                    "C1",
                    "1",
                    "150",
                    "130",
                    services=(
                        _line("99214", "100", "80", cas("CO", "45", "20"), remarks=("N130",)),
                        _line("93000", "50", "50"),
                    ),
                ),
                clp("UNSENT", "1", "40", "40", services=(_line("99212", "40", "40"),)),
            ),
        ),
    )


@pytest.fixture
def loaded(warehouse: Engine) -> Iterator[Engine]:
    """A warehouse holding claim C1 and one 835 posted against it."""
    with warehouse.begin() as conn:
        add_claim(conn, "C1", "P1", [("99214", "100"), ("93000", "50")], SERVED, date(2026, 5, 21))
    summary = ingest(warehouse, _835(3001, "TRACE9"), "835_bulk.x12")
    assert summary is not None and summary.rows == 2 and summary.unmatched == 1
    yield warehouse


def _count(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_posting_rows_arrive_whole_with_their_references_intact(loaded: Engine) -> None:
    with loaded.connect() as conn:
        lines = conn.execute(
            select(
                remittance_claim.c.claim_key,
                remittance_claim.c.matched,
                remittance_service.c.sequence,
                remittance_service.c.procedure_code,
                remittance_service.c.modifiers,
                remittance_service.c.charge_cents,
                remittance_service.c.paid_cents,
                remittance_service.c.units,
            )
            .join(remittance_claim, remittance_claim.c.id == remittance_service.c.remittance_claim_id)
            .order_by(remittance_claim.c.sequence, remittance_service.c.sequence)
        ).all()
        assert [tuple(line) for line in lines] == [
            ("C1", True, 1, "99214", "25", 10000, 8000, "2"),
            ("C1", True, 2, "93000", "25", 5000, 5000, "2"),
            ("UNSENT", False, 1, "99212", "25", 4000, 4000, "2"),
        ]
        adjustments = conn.execute(
            select(
                adjustment.c.group_code,
                adjustment.c.reason_code,
                adjustment.c.amount_cents,
                remittance_service.c.sequence,
            ).join(remittance_service, remittance_service.c.id == adjustment.c.remittance_service_id)
        ).all()
        assert [tuple(a) for a in adjustments] == [("CO", "45", 2000, 1)]
        assert conn.execute(select(remark.c.code)).scalars().all() == ["N130"]
        assert _count(conn, remittance_suspense) == 1
        assert reference_violations(conn) == {}
        if loaded.dialect.name == "postgresql":  # the refusals below come from the 0003 triggers there
            assert inspect(conn).get_foreign_keys("remittance_service") == []


def test_a_row_naming_no_parent_is_refused(loaded: Engine) -> None:
    with loaded.connect() as conn:
        claim_id = conn.execute(select(func.max(remittance_claim.c.id))).scalar_one()
        service_id = conn.execute(select(func.max(remittance_service.c.id))).scalar_one()
    missing = claim_id + 1000
    service_row = (service_id + 1, missing, 1, "HC", "99213", "", 100, 100, "1")
    with pytest.raises(REFUSED), loaded.begin() as conn:  # the bulk path (COPY on PostgreSQL)
        insert_new_rows(
            conn,
            remittance_service,
            remittance_rows.SERVICE_COLUMNS,
            [service_row],
        )
    with pytest.raises(REFUSED), loaded.begin() as conn:  # an ordinary INSERT
        conn.execute(
            insert(adjustment).values(
                remittance_claim_id=claim_id,
                remittance_service_id=service_id + 1000,
                sequence=99,
                group_code="CO",
                reason_code="45",
                amount_cents=1,
            )
        )
    with pytest.raises(REFUSED), loaded.begin() as conn:  # an UPDATE re-pointing a row
        conn.execute(update(remark).values(remittance_claim_id=missing))
    with loaded.connect() as conn:
        assert _count(conn, remittance_service) == 3 and _count(conn, adjustment) == 1
        assert reference_violations(conn) == {}


def test_a_referenced_parent_cannot_be_deleted_or_rekeyed(loaded: Engine) -> None:
    with pytest.raises(REFUSED), loaded.begin() as conn:
        conn.execute(delete(remittance_service).where(remittance_service.c.sequence == 1))  # adjustment, remark
    with pytest.raises(REFUSED), loaded.begin() as conn:
        conn.execute(update(remittance_table).values(id=remittance_table.c.id + 1000))
    if loaded.dialect.name == "postgresql":
        with pytest.raises(REFUSED), loaded.begin() as conn:
            conn.execute(text("TRUNCATE remittance_service"))
    # A line nothing references goes, and children deleted before their parent leave no orphan.
    with loaded.begin() as conn:
        conn.execute(delete(remittance_service).where(remittance_service.c.procedure_code == "93000"))
        conn.execute(delete(remittance_suspense))
        for table in (adjustment, remark, remittance_service, remittance_claim, remittance_table):
            conn.execute(delete(table))
    with loaded.connect() as conn:
        assert _count(conn, remittance_claim) == 0
        assert reference_violations(conn) == {}


def test_the_audit_counts_an_orphan_planted_behind_the_checks(loaded: Engine) -> None:
    with loaded.connect() as conn:
        claim_id = conn.execute(select(func.max(remittance_claim.c.id))).scalar_one()
        if loaded.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE remark DISABLE TRIGGER ref_remark_remittance_claim_id_insert"))
        else:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        conn.execute(insert(remark).values(remittance_claim_id=claim_id + 7, sequence=1, code="MA01"))
        conn.commit()
    with loaded.connect() as conn:
        assert reference_violations(conn) == {"remark.remittance_claim_id": 1}


def test_insert_once_claims_a_payment_once(warehouse: Engine) -> None:
    values = {"source_file_id": None, "trace_number": "T1", "payer_identifier": "1123456789"}
    with warehouse.begin() as conn:
        file_id = conn.execute(
            text(
                "INSERT INTO source_file (kind, name, sha256, size, origin, status, received_at, problem_count) "
                "VALUES ('835', 'a.x12', :sha, 1, 'manual', 'received', CURRENT_TIMESTAMP, 0) RETURNING id"
            ),
            {"sha": "b" * 64},
        ).scalar_one()
        row = values | {"source_file_id": file_id, "payment_cents": 100, "balance_problem_count": 0}
        first = insert_once(conn, remittance_table, row, remittance_rows.REMITTANCE_KEY)
        again = insert_once(conn, remittance_table, row | {"payment_cents": 999}, remittance_rows.REMITTANCE_KEY)
        other = insert_once(conn, remittance_table, row | {"trace_number": "T2"}, remittance_rows.REMITTANCE_KEY)
        assert isinstance(first, int) and again is None and isinstance(other, int) and other != first
        amounts = conn.execute(select(remittance_table.c.payment_cents).order_by(remittance_table.c.id)).scalars()
        assert list(amounts) == [100, 100]


def test_a_payment_posted_before_is_not_posted_again_by_its_trace_claim_alone(loaded: Engine) -> None:
    # The loader has no early trace check: claiming the trace number (insert_once) is the one test, so a
    # payment another loader committed a moment ago is skipped as surely as one posted last week.
    with loaded.connect() as conn:
        before = [_count(conn, t) for t in (remittance_table, remittance_claim, remittance_service, adjustment)]
    again = ingest(loaded, _835(3002, "TRACE9"), "835_bulk_again.x12")
    assert again is not None and again.rows == 0 and again.events == 0 and again.unmatched == 0
    with loaded.connect() as conn:
        after = [_count(conn, t) for t in (remittance_table, remittance_claim, remittance_service, adjustment)]
    assert after == before == [1, 2, 3, 1]


def test_reserved_ids_are_fresh_even_when_the_sequence_is_not_drawn_in_one_run(warehouse: Engine) -> None:
    postgres = warehouse.dialect.name == "postgresql"
    with warehouse.begin() as conn:
        if postgres:
            # Values 2 apart, as when another session draws between ours: the bounds no longer prove the
            # values, so the runs are read one by one.
            sequence = conn.execute(text("SELECT pg_get_serial_sequence('source_file', 'id')")).scalar_one()
            conn.execute(text(f"ALTER SEQUENCE {sequence} INCREMENT BY 2"))
        first = reserve_ids(conn, source_file, 4)
        # SQLite reserves above max(id): the ids are used before the next reservation, as the loader does.
        insert_new_rows(conn, source_file, SOURCE_FILE_COLUMNS, [_source_file_row(i) for i in first])
        second = reserve_ids(conn, source_file, 3)
        insert_new_rows(conn, source_file, SOURCE_FILE_COLUMNS, [_source_file_row(i) for i in second])
        stored = conn.execute(select(source_file.c.id).order_by(source_file.c.id)).scalars().all()
    assert len(set(first + second)) == 7 and min(second) > max(first)
    assert stored == first + second
    assert all(b - a == (2 if postgres else 1) for a, b in itertools.pairwise(first))


SOURCE_FILE_COLUMNS = ("id", "kind", "name", "sha256", "size", "origin", "status", "received_at", "problem_count")


def _source_file_row(file_id: int) -> tuple[Any, ...]:
    return (
        file_id,
        "835",
        f"{file_id}.x12",
        f"{file_id:064d}",
        1,
        "manual",
        "received",
        datetime(2026, 6, 1, tzinfo=UTC),
        0,
    )
