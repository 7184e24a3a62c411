"""The accounts' balances on PostgreSQL take work in proportion to the claims, not to their square (issue 15).

``ar.account_balances`` keeps the accounts whose primary claim was first submitted by the reference date. As a
lookup of each claim's ``submitted`` events, PostgreSQL could not estimate the practice-date condition, guessed
a few dozen matching events, and compared every claim with every event: 1.4 billion comparisons and 79 s of a
100,000-line nightly report (docs/scale.md, "The report on PostgreSQL"). The plan's own count of the rows a
join compared and threw away shows it, at any size: here 2,000 claims, so a quadratic plan throws away millions.
The query must not depend on the planner choosing an index lookup: the test turns index scans off, as the
planner's own estimates did at scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text
from warehouse_databases import empty_warehouse_url

from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.kpi import ar
from revcycle.warehouse.schema import claim, claim_event

CLAIMS = 2000
CHARGE_CENTS = 12_500
SERVED = date(2026, 3, 2)
BUILT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
SENT = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 21:00 on 2 March in the practice's timezone, or 02:00 in UTC
AS_OF = date(2026, 3, 31)


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated warehouse on PostgreSQL holding CLAIMS built and submitted claims, each its own account."""
    with empty_warehouse_url("postgresql", tmp_path_factory) as url:
        engine = create_warehouse_engine(url)
        upgrade_warehouse(engine)
        keys = [f"K{n:05d}" for n in range(CLAIMS)]
        with engine.begin() as conn:
            conn.execute(
                insert(claim),
                [
                    {
                        "claim_key": key,
                        "encounter_id": f"E{key}",
                        "payer_id": "P1",
                        "claim_type": "professional",
                        "billing_npi": "1234567893",
                        "frequency_code": "1",
                        "total_charge_cents": CHARGE_CENTS,
                        "line_count": 1,
                        "first_service_date": SERVED,
                        "built_at": BUILT,
                        "submitted_at": SENT,
                        "status": "submitted",
                        "status_at": SENT,
                    }
                    for key in keys
                ],
            )
            conn.execute(
                insert(claim_event), [{"claim_key": key, "status": "built", "occurred_at": BUILT} for key in keys]
            )
        with engine.connect() as conn:
            # The statistics as a nightly leaves them: gathered after the intake (autovacuum, or an operator's
            # ANALYZE), before the upload recorded the submissions the report reads the same night.
            conn.execute(text("ANALYZE"))
        with engine.begin() as conn:
            conn.execute(
                insert(claim_event), [{"claim_key": key, "status": "submitted", "occurred_at": SENT} for key in keys]
            )
        try:
            yield engine
        finally:
            engine.dispose()


def _rows_thrown_away_by_joins(plan: dict[str, Any]) -> int:
    own = int(plan.get("Rows Removed by Join Filter", 0))
    return own + sum(_rows_thrown_away_by_joins(child) for child in plan.get("Plans", []))


def test_account_balances_compare_each_claim_with_its_own_events_only(postgres: Engine) -> None:
    query = select(ar.account_balances(AS_OF))
    with postgres.connect() as conn:
        # At 2,000 claims PostgreSQL still looks each claim's events up by index. At 100,000 lines it estimated
        # a few hundred primary claims and a few dozen events (statistics gathered before the submissions), and
        # scanned the events once for all claims instead: made to choose the same here, without index scans.
        conn.execute(text("SET enable_indexscan = off"))
        conn.execute(text("SET enable_bitmapscan = off"))
        rows = conn.execute(query).all()
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        (explained,) = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar_one()
    # Every claim is its own account, sent before the reference date, nothing paid: 2,000 accounts of 125.00.
    assert len(rows) == CLAIMS
    assert {row.balance_cents for row in rows} == {CHARGE_CENTS}
    # A plan that pairs every claim with every event throws away about 2,000 x 2,000; one that matches them by
    # key throws away none, or a few per claim.
    assert _rows_thrown_away_by_joins(explained["Plan"]) < CLAIMS
