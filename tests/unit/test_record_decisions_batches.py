"""The night's decisions are written a batch at a time, their rows made per batch (issue 15: memory).

At a million lines about half a million claims are decided; their rows as dicts, made all at once before
the first INSERT, held about 180 MB during the night's last stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, event, func, select

from revcycle.next_action import Action, Decision
from revcycle.warehouse.actions import ClaimDecision, record_decisions
from revcycle.warehouse.schema import claim_action

DECISIONS = 2_500  # two full batches of 1,000 and one of 500


def test_rows_are_made_and_written_a_batch_at_a_time() -> None:
    engine = create_engine("sqlite://")
    claim_action.create(engine)  # the table alone: SQLite does not enforce its reference to claim here
    executed = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        executed[0] += 1

    executed_when_pulled: list[int] = []
    inquire = Decision(Action.INQUIRE, "no answer yet", "test")

    def decisions() -> Iterator[ClaimDecision]:
        for n in range(DECISIONS):
            executed_when_pulled.append(executed[0])
            yield ClaimDecision(f"K{n:05d}", inquire)

    with engine.begin() as conn:
        executed[0] = 0
        written = record_decisions(conn, decisions(), datetime(2026, 12, 6, 3, tzinfo=UTC))
        statements = executed[0]
        stored = conn.execute(select(func.count()).select_from(claim_action)).scalar_one()
    assert written == stored == DECISIONS
    assert statements == 3  # ceil(2,500 / 1,000)
    # the 1,001st decision is taken only after the first batch went in, the 2,001st after the second
    assert executed_when_pulled[0] == 0
    assert executed_when_pulled[1000] == 1
    assert executed_when_pulled[2000] == 2
