"""After a step of the night writes a table, PostgreSQL plans the next step's queries from its true size (issue 15).

The denials worklist joins the claims whose next action is ``work_denial`` with their standing posting and its
largest denial. On a 100,000-line night, with ``claim_action`` last analyzed when it was empty (an earlier,
smaller night, or autovacuum on a new warehouse), PostgreSQL took the denials for one row and, for each of
5,474, aggregated every adjustment again: 188 s for one report query, against well under a second with the
statistics of the table as written (docs/scale.md, "The planner's statistics"). ``refresh_statistics`` runs
``ANALYZE`` after the steps that write; these tests show the failure and the remedy on a small warehouse, and
that each writing step leaves the tables it wrote analyzed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from intake_records import record_export
from sqlalchemy import Connection, Engine, func, insert, inspect, select, text
from warehouse_data import add_claim, cas, clp, remittance, svc, write_remittances
from warehouse_databases import migrated_warehouse

from connectors.payers import registered_payers
from revcycle.next_action import Action, Decision
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.actions import ClaimDecision, record_decisions
from revcycle.warehouse.ingest import ingest_files
from revcycle.warehouse.kpi.worklists import denials_query
from revcycle.warehouse.reference import sync_adjustment_categories
from revcycle.warehouse.schema import (
    adjustment,
    charge,
    claim,
    claim_action,
    claim_line,
    remittance_claim,
    source_file,
)
from revcycle.warehouse.schema import remittance as remittance_table
from revcycle.warehouse.statistics import refresh_statistics
from revcycle.warehouse.timezone import sync_practice_timezone

DENIALS = 200
KEYS = [f"D{n:05d}" for n in range(DENIALS)]
ADJUSTMENTS_PER_CLAIM = 3
CHARGE_CENTS = 20_000  # 200.00, the charge of each claim
RECEIVED = datetime(2026, 4, 10, 14, 0, tzinfo=UTC)
DECIDED = datetime(2026, 4, 11, 3, 0, tzinfo=UTC)
AS_OF = date(2026, 4, 11)


def _claims_with_denied_postings(conn: Connection, keys: list[str]) -> None:
    """Each key: a claim of 200.00 sent, an 835 posting that paid nothing, and its adjustments (CO-50, CO-45, PR-1)."""
    (file_id,) = conn.execute(
        insert(source_file)
        .values(
            kind="835", name="era.835", sha256="0" * 64, size=1, origin="sftp", status="loaded", received_at=RECEIVED
        )
        .returning(source_file.c.id)
    ).one()
    (remittance_id,) = conn.execute(
        insert(remittance_table)
        .values(
            source_file_id=file_id,
            trace_number="EFT1",
            payer_identifier="1999999999",
            payment_cents=0,
            payment_date=RECEIVED.date(),
            balance_problem_count=0,
        )
        .returning(remittance_table.c.id)
    ).one()
    for key in keys:
        add_claim(conn, key, "P1", [("99213", "200.00")], date(2026, 3, 2), date(2026, 3, 3))
    posting_ids = conn.execute(
        insert(remittance_claim).returning(remittance_claim.c.id, sort_by_parameter_order=True),
        [
            {
                "remittance_id": remittance_id,
                "sequence": n,
                "claim_key": key,
                "status_code": "4",
                "charge_cents": CHARGE_CENTS,
                "paid_cents": 0,
                "patient_responsibility_cents": 0,
                "matched": True,
            }
            for n, key in enumerate(keys, start=1)
        ],
    ).scalars()
    conn.execute(
        insert(adjustment),
        [
            {
                "remittance_claim_id": posting_id,
                "group_code": group,
                "reason_code": reason,
                "amount_cents": cents,
                "sequence": sequence,
            }
            for posting_id in posting_ids
            for sequence, (group, reason, cents) in enumerate(
                (("CO", "50", 15_000), ("CO", "45", 4_000), ("PR", "1", 1_000)), start=1
            )
        ],
    )


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A PostgreSQL warehouse of denied postings, analyzed before the night decided them (as autovacuum left it)."""
    with migrated_warehouse("postgresql", tmp_path_factory) as engine:
        with engine.begin() as conn:
            sync_practice_timezone(conn, "America/New_York")
            sync_adjustment_categories(conn)
            _claims_with_denied_postings(conn, KEYS)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))  # no decisions yet: claim_action is empty in the statistics
        yield engine


def _work_denial(key: str) -> ClaimDecision:
    return ClaimDecision(key, Decision(Action.WORK_DENIAL, "CO-50 on the standing 835", "test"))


def _rows_handled(plan: dict[str, Any]) -> int:
    """The rows every node of an EXPLAIN ANALYZE plan produced, over all its loops."""
    own = int(plan.get("Actual Rows", 0)) * int(plan.get("Actual Loops", 1))
    return own + sum(_rows_handled(child) for child in plan.get("Plans", []))


def test_the_denials_worklist_is_planned_from_the_decisions_the_night_wrote(postgres: Engine) -> None:
    with postgres.begin() as conn:
        assert record_decisions(conn, map(_work_denial, KEYS), DECIDED) == DENIALS
    with postgres.connect() as conn:
        query = denials_query(AS_OF)
        assert len(conn.execute(query).all()) == DENIALS
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        (explained,) = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar_one()
    # 200 claims, postings and decisions and 600 adjustments. Planned from the true counts, the nodes handled
    # 167,426 rows (PostgreSQL 15; still a nested loop of the standing postings with their aggregated amounts,
    # 200 x 200, at this size). Planned from an empty claim_action (record_decisions without its refresh:
    # checked) they aggregate the adjustments again for every denial: 32,167,818 rows here, and 188 s for this
    # query alone on a 100,000-line night.
    assert _rows_handled(explained["Plan"]) < 500_000


def test_a_refresh_in_the_writers_transaction_counts_the_rows_it_wrote(postgres: Engine) -> None:
    with postgres.connect() as conn:
        before = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'claim_action'::regclass")).scalar()
    assert before == 0  # analyzed while empty
    with postgres.begin() as conn:
        conn.execute(
            insert(claim_action),
            [
                {
                    "claim_key": key,
                    "action": "work_denial",
                    "kind": "person",
                    "reason": "denied",
                    "source": "test",
                    "decided_at": DECIDED,
                }
                for key in KEYS
            ],
        )
        assert refresh_statistics(conn) > 0  # every warehouse table, before the commit
    with postgres.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT relname, reltuples FROM pg_class WHERE oid IN "
                    "('claim_action'::regclass, 'adjustment'::regclass, 'claim'::regclass)"
                )
            ).all()
        )
    assert counts == {"claim_action": DENIALS, "adjustment": DENIALS * ADJUSTMENTS_PER_CLAIM, "claim": DENIALS}


@pytest.fixture
def empty_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated, empty PostgreSQL warehouse."""
    with migrated_warehouse("postgresql", tmp_path_factory) as engine:
        yield engine


def _planner_rows(engine: Engine, tables: Sequence[str]) -> dict[str, float | None]:
    """Per table, the row count an ``ANALYZE`` (never autovacuum) gave the planner; None when none ran."""
    query = text(
        "SELECT s.relname, CASE WHEN s.last_analyze IS NULL THEN NULL ELSE c.reltuples END FROM pg_stat_user_tables s "
        "JOIN pg_class c ON c.oid = s.relid WHERE s.relid = ANY(CAST(:tables AS regclass[]))"
    )
    with engine.connect() as conn:
        return dict(conn.execute(query, {"tables": list(tables)}).tuples().all())


def test_an_intake_leaves_the_tables_it_wrote_analyzed(empty_postgres: Engine) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=30, seed=7, as_of=AS_OF))
    result = record_export(empty_postgres, rows, batch_date=AS_OF, now=DECIDED)
    assert result.claim_keys and not result.held_claims  # one claim per clean encounter
    with empty_postgres.connect() as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (("charge", charge), ("claim", claim), ("claim_line", claim_line))
        }
    assert counts == {"charge": len(rows), "claim": len(result.claim_keys), "claim_line": len(rows)}
    assert _planner_rows(empty_postgres, list(counts)) == counts


def test_ingesting_responses_leaves_the_tables_it_wrote_analyzed(empty_postgres: Engine, tmp_path: Path) -> None:
    paid_on = date(2026, 4, 9)
    era = tmp_path / "era.835"
    # Three claim payments nobody sent (so each is in suspense too), with one service line and one CAS each.
    era.write_bytes(
        write_remittances(
            7,
            remittance(
                "EFT7",
                paid_on,
                tuple(
                    clp(
                        f"K{n}", "1", "100", "80", services=(svc("99213", "100", "80", paid_on, cas("CO", "45", "20")),)
                    )
                    for n in range(3)
                ),
            ),
        )
    )
    (outcome,) = ingest_files(empty_postgres, [era])
    assert outcome.outcome == "loaded"
    tables = ("remittance_claim", "remittance_service", "adjustment", "remittance_suspense")
    assert _planner_rows(empty_postgres, tables) == dict.fromkeys(tables, 3)


def test_on_sqlite_nothing_is_analyzed(tmp_path_factory: pytest.TempPathFactory) -> None:
    with migrated_warehouse("sqlite", tmp_path_factory) as engine:
        with engine.begin() as conn:
            assert refresh_statistics(conn) == 0.0
        # SQLite keeps what ANALYZE gathers in sqlite_stat1: its plans would start to depend on the data
        assert "sqlite_stat1" not in inspect(engine).get_table_names()
