"""Each claim's current next action (revcycle.next_action), kept in ``claim_action`` for the worklists.

The pipeline decides every open claim after each load and records the decision here; the worklists
(``revcycle.warehouse.kpi.worklists``) are views of these rows joined with what the warehouse knows.
``decided_at`` is when the claim got its current action: a rerun that reaches the same action keeps it, so a
worklist's "oldest item" is the claim that has waited longest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice

from sqlalchemy import Connection, case
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from revcycle.next_action import Decision
from revcycle.warehouse.schema import claim_action
from revcycle.warehouse.statistics import refresh_statistics

_TEXT_LIMIT = 500
_BATCH = 1000


@dataclass(frozen=True)
class ClaimDecision:
    """A decision about one claim, with the date it is due (an appeal deadline, a response due date)."""

    claim_key: str
    decision: Decision
    due_on: date | None = None


def record_decisions(conn: Connection, decisions: Iterable[ClaimDecision], decided_at: datetime) -> int:
    """Insert or update the current action of each claim; returns how many rows were written.

    ``decided_at`` (an aware instant, from the run's clock) is kept when the claim's action did not change.
    """
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = insert(claim_action)
    statement = statement.on_conflict_do_update(
        index_elements=[claim_action.c.claim_key],
        set_={
            "action": statement.excluded.action,
            "kind": statement.excluded.kind,
            "reason": statement.excluded.reason,
            "source": statement.excluded.source,
            "due_on": statement.excluded.due_on,
            "decided_at": case(
                (claim_action.c.action == statement.excluded.action, claim_action.c.decided_at),
                else_=statement.excluded.decided_at,
            ),
        },
    )
    written = 0
    remaining = iter(decisions)
    # Rows are made a batch at a time: a million-line night's half a million decisions as dicts are about
    # 180 MB held at once.
    while batch := [_row(d, decided_at) for d in islice(remaining, _BATCH)]:
        conn.execute(statement, batch)
        written += len(batch)
    # The worklists read these rows next, the same night: PostgreSQL must plan them from their true number.
    refresh_statistics(conn, [claim_action])
    return written


def _row(decision: ClaimDecision, decided_at: datetime) -> dict[str, object]:
    return {
        "claim_key": decision.claim_key,
        "action": decision.decision.action.value,
        "kind": decision.decision.kind.value,
        "reason": decision.decision.reason[:_TEXT_LIMIT],
        "source": decision.decision.source[:_TEXT_LIMIT],
        "decided_at": decided_at,
        "due_on": decision.due_on,
    }
