"""Claim holds: a claim set aside at its own grain, with a reason an operator can act on, while the rest goes out.

A claim is held at **intake** (a line of its encounter was rejected, a payer rule failed, late charges ...), at
**build** (its charges no longer rebuild into a claim at staging) or at **stage** (the 837 writer refuses one
of its values, or the claims suite fails on the written 837) or at **coverage** (its 271 says inactive or
names another primary payer, or it awaits its 271: ``revcycle.eligibility``; the claim stays built, unsent,
and a later answer releases it) or as **late** charges (new charges of a claim already sent: they wait for
the replacement the next-action rules send, ``revcycle.resend``, which releases the hold). Each hold is a
``claim_hold`` row; a reason names
the claim key, charge ids, fields and rules, never a value. A claim has at most one open hold per stage: the
same hold found again updates its reason. A later build of the claim releases its open holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from revcycle.response_posting import refresh_status
from revcycle.warehouse.schema import charge, claim, claim_event, claim_hold, claim_line, claim_version

STAGES = ("intake", "build", "stage", "coverage", "late")
MAX_REASON_LENGTH = 500
_CHUNK = 500


@dataclass(frozen=True)
class ClaimHold:
    """A claim set aside: its key, payer, encounter, the stage that held it and why (no PHI)."""

    claim_key: str
    payer_id: str
    encounter_id: str
    stage: str
    reason: str
    source_file_id: int | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"a claim is held at one of {', '.join(STAGES)}, not {self.stage!r}")


def joined_reason(reasons: Iterable[str]) -> str:
    """Reasons joined with '; ', shortened to fit ``claim_hold.reason`` (the end marked with '...')."""
    text = "; ".join(dict.fromkeys(r.strip() for r in reasons if r.strip())) or "held"
    if len(text) <= MAX_REASON_LENGTH:
        return text
    return text[: MAX_REASON_LENGTH - 3].rstrip() + "..."


def record_holds(conn: Connection, holds: Sequence[ClaimHold], now: datetime) -> int:
    """Record ``holds``; an open hold of the same claim and stage is updated instead of repeated.

    Returns the number of holds newly opened.
    """
    if not holds:
        return 0
    by_key = {(h.claim_key, h.stage): h for h in holds}
    open_ids: dict[tuple[str, str], int] = {}
    keys = sorted({key for key, _stage in by_key})
    for start in range(0, len(keys), _CHUNK):
        rows = conn.execute(
            select(claim_hold.c.id, claim_hold.c.claim_key, claim_hold.c.stage).where(
                claim_hold.c.claim_key.in_(keys[start : start + _CHUNK]), claim_hold.c.released_at.is_(None)
            )
        )
        open_ids.update({(row.claim_key, row.stage): row.id for row in rows})
    new_rows = []
    for pair, hold in by_key.items():
        values = {
            "payer_id": hold.payer_id[:32],
            "encounter_id": hold.encounter_id[:64],
            "reason": joined_reason([hold.reason]),
            "source_file_id": hold.source_file_id,
        }
        if pair in open_ids:
            conn.execute(update(claim_hold).where(claim_hold.c.id == open_ids[pair]).values(**values))
        else:
            new_rows.append({"claim_key": hold.claim_key, "stage": hold.stage, "created_at": now, **values})
    if new_rows:
        conn.execute(insert(claim_hold), new_rows)
    return len(new_rows)


def release_holds(conn: Connection, claim_keys: Sequence[str], now: datetime) -> int:
    """Release every open hold of ``claim_keys`` (their claims were built); returns how many were released."""
    released = 0
    keys = sorted(set(claim_keys))
    for start in range(0, len(keys), _CHUNK):
        result = conn.execute(
            update(claim_hold)
            .where(and_(claim_hold.c.claim_key.in_(keys[start : start + _CHUNK]), claim_hold.c.released_at.is_(None)))
            .values(released_at=now)
        )
        released += result.rowcount or 0
    return released


def hold_unsent_claims(conn: Connection, holds: Sequence[ClaimHold], now: datetime) -> None:
    """Hold claims that were built but never sent: recorded in ``claim_hold``, then withdrawn.

    A withdrawn claim leaves the ``claim`` tables (it never reached a payer, so it has no history there
    beyond being built) and its charges go back to ``held``: a corrected export of the same charges is then
    read as new charges, builds the claim again under the same key, and that build releases the hold.

    A claim sent before (a rejected claim being resent, ``revcycle.resend``) keeps its history: it goes back
    to its latest version's interchange and the status its events give, and is tried again the next night.
    """
    if not holds:
        return
    record_holds(conn, holds, now)
    keys = sorted({h.claim_key for h in holds})
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        unsent = list(
            conn.execute(
                select(claim.c.claim_key).where(claim.c.claim_key.in_(chunk), claim.c.interchange_id.is_(None))
            ).scalars()
        )
        sent_before = _restore_sent(conn, unsent)
        unsent = [key for key in unsent if key not in sent_before]
        if not unsent:
            continue
        conn.execute(update(charge).where(charge.c.claim_key.in_(unsent)).values(status="held", claim_key=None))
        conn.execute(delete(claim_event).where(claim_event.c.claim_key.in_(unsent)))
        conn.execute(delete(claim_line).where(claim_line.c.claim_key.in_(unsent)))
        conn.execute(delete(claim).where(claim.c.claim_key.in_(unsent)))


def _restore_sent(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Of ``keys``, those with a version sent: back to their latest version's interchange and status."""
    latest: dict[str, int] = {
        str(key): int(interchange_id)
        for key, interchange_id in conn.execute(
            select(claim_version.c.claim_key, func.max(claim_version.c.interchange_id))
            .where(claim_version.c.claim_key.in_(keys))
            .group_by(claim_version.c.claim_key)
        )
    }
    for key, interchange_id in latest.items():
        conn.execute(update(claim).where(claim.c.claim_key == key).values(interchange_id=interchange_id))
    refresh_status(conn, list(latest))
    return set(latest)


@dataclass(frozen=True)
class OpenHold:
    """An open hold as an operator lists it: claim key, payer, stage, reason and since when (no PHI)."""

    claim_key: str
    payer_id: str
    stage: str
    reason: str
    created_at: datetime


def open_holds(conn: Connection) -> list[OpenHold]:
    """Every hold not yet released, oldest first."""
    rows = conn.execute(
        select(
            claim_hold.c.claim_key,
            claim_hold.c.payer_id,
            claim_hold.c.stage,
            claim_hold.c.reason,
            claim_hold.c.created_at,
        )
        .where(claim_hold.c.released_at.is_(None))
        .order_by(claim_hold.c.created_at, claim_hold.c.id)
    )
    return [OpenHold(r.claim_key, r.payer_id, r.stage, r.reason, r.created_at) for r in rows]
