"""What loading any received X12 file shares: its summary, the refused sets, claim events and claim status.

The loaders of each kind (``revcycle.responses`` for 999, TA1 and 277CA, ``revcycle.remittance_load`` for
835) post through these, in the caller's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from revcycle.claim_versions import claim_events, refresh_outcomes
from revcycle.domain import ClaimStatus
from revcycle.lifecycle import derive_status
from revcycle.refusals import SetRefusal
from revcycle.warehouse.ledger import utcnow
from revcycle.warehouse.schema import claim, claim_event, refused_transaction_set
from revcycle.x12.reader import TransactionSetEnvelope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefusedSet:
    """A transaction set that did not post: its place in the file, its ST02, and why (no values)."""

    ordinal: int
    kind: str
    control_number: str
    code: str
    message: str


@dataclass(frozen=True)
class LoadSummary:
    """What loading one file did (kinds and counts only, and the transaction sets it refused)."""

    kind: str
    rows: int
    problems: int
    events: int = 0
    unmatched: int = 0
    refused: tuple[RefusedSet, ...] = ()
    sets: int = 0

    @property
    def status(self) -> str:
        """The file's ledger status: ``refused`` when it held transaction sets and every one was refused."""
        return "refused" if self.sets and len(self.refused) == self.sets else "loaded"


def refused_set(envelope: TransactionSetEnvelope, kind: str, reason: SetRefusal) -> RefusedSet:
    """The refusal of the set of ``envelope`` as the summary lists it (its ST02 cut to the column)."""
    return RefusedSet(envelope.ordinal, kind, envelope.control_number[:9], reason.code, reason.message)


def record_refusals(conn: Connection, source_file_id: int, name: str, refused: Sequence[RefusedSet]) -> None:
    """Keep every refused set in ``refused_transaction_set`` and say so in the log (ST02 and code, no values)."""
    if not refused:
        return
    now = utcnow()
    conn.execute(
        insert(refused_transaction_set),
        [
            {
                "source_file_id": source_file_id,
                "kind": item.kind,
                "set_ordinal": item.ordinal,
                "control_number": item.control_number,
                "problem_code": item.code,
                "message": item.message[:255],
                "created_at": now,
            }
            for item in refused
        ],
    )
    for item in refused:
        log.warning(
            "file %s: transaction set %d (%s, ST02 %s) refused: %s",
            name,
            item.ordinal,
            item.kind,
            item.control_number,
            item.code,
        )


def known_claims(conn: Connection, keys: Iterable[str]) -> set[str]:
    """The claim keys among ``keys`` that name a claim we sent."""
    wanted = sorted(set(keys))
    if conn.dialect.name == "postgresql":
        # One round trip with one array parameter, a short statement the driver parses once; an IN list of 500
        # placeholders is rendered and parsed anew at every execution (docs/scale.md, "Tenth pass").
        keys_array = bindparam("keys", wanted, type_=ARRAY(claim.c.claim_key.type))
        return set(conn.execute(select(claim.c.claim_key).where(claim.c.claim_key == any_(keys_array))).scalars())
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            conn.execute(select(claim.c.claim_key).where(claim.c.claim_key.in_(wanted[start : start + 500]))).scalars()
        )
    return found


def add_events(conn: Connection, events: list[tuple[str, ClaimStatus, str]], source_file_id: int) -> int:
    """Record claim events (key, status, detail) from the file and refresh those claims' status; their count."""
    if not events:
        return 0
    now = utcnow()
    conn.execute(
        insert(claim_event),
        [
            {
                "claim_key": key,
                "status": status.value,
                "occurred_at": now,
                "source_file_id": source_file_id,
                "detail": detail,
            }
            for key, status, detail in events
        ],
    )
    refresh_status(conn, {key for key, _status, _detail in events})
    return len(events)


def refresh_status(conn: Connection, claim_keys: Iterable[str]) -> None:
    """Recompute the cached current status of claims from their events."""
    keys = sorted(set(claim_keys))
    now = utcnow()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        # Read once for both: the claim's status and its latest version's outcome come from the same events.
        history = claim_events(conn, chunk)
        conn.execute(
            update(claim)
            .where(claim.c.claim_key == bindparam("claim_key_"))
            .values(status=bindparam("new_status"), status_at=now),
            [
                {"claim_key_": key, "new_status": derive_status([status for status, _when in events]).value}
                for key, events in history.items()
            ],
        )
        refresh_outcomes(conn, chunk, history)
