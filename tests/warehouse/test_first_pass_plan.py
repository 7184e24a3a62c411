"""The first-pass outcome of a claim is computed once per claim, however often a query uses it (issue 15).

``units.first_pass_outcomes`` said whether the front end accepted or rejected a claim's first submission with two
correlated ``EXISTS`` lookups of its events. PostgreSQL pulls such a subquery up into the query that uses it and
copies the expression to every use: the first-pass query uses the outcome seven times (two counts, and both again
twice in the rate), so it looked each claim's events up 14 times, 3.5 s of a 100,000-line night's report, and
``first_pass_by_payer`` as much again (docs/scale.md, "The report's first-pass queries"). The figures the queries
give are checked by hand in ``test_warehouse_kpi.py``; this test reads the plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from warehouse_databases import migrated_warehouse

from revcycle.warehouse.kpi.claims import clean_claims_query, first_pass_query


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated, empty PostgreSQL warehouse: the plan's shape does not need rows."""
    with migrated_warehouse("postgresql", tmp_path_factory) as engine:
        yield engine


def _event_lookups(plan: dict[str, Any]) -> int:
    """The subplans of a plan (per-row lookups) that read ``claim_event``."""
    own = 0
    if plan.get("Parent Relationship") == "SubPlan" and _reads(plan, "claim_event"):
        own = 1
    return own + sum(_event_lookups(child) for child in plan.get("Plans", []))


def _reads(plan: dict[str, Any], table: str) -> bool:
    return plan.get("Relation Name") == table or any(_reads(child, table) for child in plan.get("Plans", []))


@pytest.mark.parametrize(
    "query",
    [first_pass_query(), first_pass_query(by_payer=True), clean_claims_query()],
    ids=["first_pass", "first_pass_by_payer", "clean_claims"],
)
def test_no_query_looks_a_claims_events_up_once_per_use_of_its_outcome(postgres: Engine, query: Any) -> None:
    with postgres.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        (explained,) = conn.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
    # Before: 14 lookups in each first-pass query (7 uses x accepted and rejected), 2 in clean_claims (checked).
    # Now the answers are joined and grouped once: no subplan reads claim_event.
    assert _event_lookups(explained["Plan"]) == 0
