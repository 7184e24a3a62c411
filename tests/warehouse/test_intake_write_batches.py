"""Recording an export writes its charges and claims a batch at a time (issue 15: memory at a million lines).

Each charge row carries its export row as JSON (about 2.9 KB for 103 columns): built for the whole export at
once, the rows of a million-line night held gigabytes on top of the export itself. The intake now builds and
writes ``WRITE_BATCH`` rows per INSERT. The warehouse must end the same, row for row, as in one batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from intake_records import record_export
from sqlalchemy import Engine, event, select

from connectors.payers import registered_payers
from revcycle import intake
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.schema import charge, claim, claim_event, claim_line

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[Engine] = []

    def make(name: str) -> Engine:
        engine = create_warehouse_engine(f"sqlite:///{tmp_path / name}")
        upgrade_warehouse(engine)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def _record(engine: Engine, rows: list[dict[str, str]]) -> Counter[str]:
    """Record ``rows``; the number of INSERT executions per table."""
    inserts: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("INSERT INTO "):
            inserts[statement.split()[2]] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        record_export(engine, rows, batch_date=AS_OF, origin="x", now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return inserts


def _content(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The recorded rows by business keys (no surrogate ids)."""
    with engine.connect() as conn:
        return {
            "charge": sorted(
                conn.execute(
                    select(
                        charge.c.charge_id,
                        charge.c.status,
                        charge.c.claim_key,
                        charge.c.charge_cents,
                        charge.c.row_json,
                    )
                ).tuples()
            ),
            "claim": sorted(
                conn.execute(
                    select(
                        claim.c.claim_key,
                        claim.c.payer_id,
                        claim.c.total_charge_cents,
                        claim.c.line_count,
                        claim.c.status,
                    )
                ).tuples()
            ),
            "claim_line": sorted(
                conn.execute(
                    select(
                        claim_line.c.claim_key,
                        claim_line.c.line_number,
                        claim_line.c.charge_id,
                        claim_line.c.charge_cents,
                    )
                ).tuples()
            ),
            "claim_event": sorted(conn.execute(select(claim_event.c.claim_key, claim_event.c.status)).tuples()),
        }


def test_charges_and_claims_are_written_a_batch_at_a_time_with_the_same_result(
    engine_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=40, seed=11, as_of=AS_OF))
    whole = engine_factory("whole.db")
    assert _record(whole, rows)["charge"] == 1  # 40 encounters fit one batch of the default size
    expected = _content(whole)
    charges, claims = len(expected["charge"]), len(expected["claim"])
    assert charges == len(rows) and claims > 10

    monkeypatch.setattr(intake, "WRITE_BATCH", 7)
    batched = engine_factory("batched.db")
    inserts = _record(batched, rows)
    # ceil(n / 7) INSERTs per table: the charges, and the claims with their lines and built events
    assert inserts["charge"] == -(-charges // 7)
    assert inserts["claim"] == inserts["claim_line"] == inserts["claim_event"] == -(-claims // 7)
    assert _content(batched) == expected
