"""Charges are selected by status through an index (migration 0011), not by walking every charge.

Staging filters each chunk of 500 claims by the claims with a cancelled charge (``cancelled_claim_keys``).
Before the index, SQLite answered that subquery by walking ``ix_charge_claim_key`` over every charge with a
claim and reading each row's status: 0.19 s at 100,000 charges, once per chunk, 20 s of a 100,000-line
night's staging (docs/scale.md). SQLite's query plan names the index it searches with; the expected plan is
a search of ``ix_charge_status`` on ``status=?``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.dialects import sqlite

from revcycle.cancellation import cancelled_claim_keys
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.schema import charge


def _plan(tmp_path: Path, query: Select[object]) -> list[str]:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_warehouse(engine)
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    try:
        with engine.connect() as conn:
            return [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    finally:
        engine.dispose()


def test_the_cancelled_claims_filter_searches_charges_by_status(tmp_path: Path) -> None:
    plan = [step for step in _plan(tmp_path, cancelled_claim_keys()) if "charge" in step]
    assert plan, "the plan reads no charge table"
    assert all("ix_charge_status (status=?" in step for step in plan), plan


def test_late_charges_are_searched_by_status(tmp_path: Path) -> None:
    query = select(charge.c.claim_key).where(charge.c.status == "late").distinct()
    plan = [step for step in _plan(tmp_path, query) if "charge" in step]
    assert plan and all("ix_charge_status (status=?" in step for step in plan), plan
