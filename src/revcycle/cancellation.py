"""Cancelled visits: the charges and claims the EHR cancelled, and the content a void repeats.

The EHR cancels a visit by re-sending its charges (same charge ids) with ``visit_status`` ``cancelled``
(docs/charge-export.md). Intake marks those charges ``cancelled`` (``charge.status``) and records the
re-send as a revision of their claim (``charge_revision``, column ``visit_status``). A cancellation is final:
a cancelled charge re-sent later as active stays cancelled (a visit booked again is a new encounter).

What the cancellation means for the claim is the next-action rules' (docs/claim-rules.md, "Visit
cancelled"): an adjudicated claim the payer paid is voided (frequency 8, REF*F8 = the 835's CLP07); a claim
never adjudicated, or that the payer paid nothing on, is withdrawn. A claim built and not yet staged is not
staged any more (``unstaged_cancelled``); one already staged into an interchange goes out with it (its
bytes are fixed once the ledger has them) and is voided or withdrawn after the payer answers.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, select

from revcycle.charge_export import VISIT_CANCELLED
from revcycle.claim_versions import versions_of
from revcycle.claims import build_claims
from revcycle.domain import Claim, ClaimStatus
from revcycle.payers import PayerProfile
from revcycle.rebuild import aware
from revcycle.warehouse.schema import charge, charge_revision, claim, claim_line

CANCELLED = "cancelled"
"""``charge.status`` of a charge whose visit the EHR cancelled."""

_CHUNK = 500


def is_cancelled(row: Mapping[str, str]) -> bool:
    """Whether an export row says its visit was cancelled (``visit_status``; empty means active)."""
    return (row.get("visit_status") or "").strip().lower() == VISIT_CANCELLED


def cancelled_claim_keys() -> Select[Any]:
    """The keys of claims with a cancelled charge (a subquery for staging's filter)."""
    return select(charge.c.claim_key).where(charge.c.status == CANCELLED, charge.c.claim_key.is_not(None)).distinct()


def cancelled_claims(conn: Connection, keys: Collection[str] | None = None) -> set[str]:
    """The claims (of ``keys``, or all) whose visit the EHR cancelled: one of their charges is cancelled."""
    found = {str(k) for k in conn.execute(cancelled_claim_keys()).scalars()}
    return found if keys is None else found & set(keys)


def unstaged_cancelled(conn: Connection, keys: Collection[str] | None = None) -> set[str]:
    """Cancelled claims still built and in no interchange: never staged, so they are withdrawn, not sent."""
    cancelled = cancelled_claims(conn, keys)
    if not cancelled:
        return set()
    query = select(claim.c.claim_key).where(
        claim.c.claim_key.in_(sorted(cancelled)),
        claim.c.status == ClaimStatus.BUILT.value,
        claim.c.interchange_id.is_(None),
    )
    return {str(k) for k in conn.execute(query).scalars()}


def void_rows(conn: Connection, keys: Sequence[str]) -> list[dict[str, str]]:
    """The export rows a void of each claim of ``keys`` repeats: its lines (``claim_line``) as they stood
    when its latest version was staged (``claim_version``).

    Per the 837P TR3 a void repeats the claim it voids. The cancellation re-sent the charges, and may have
    changed more than ``visit_status``; each charge's content before its first revision after ``since`` is
    the content that version was built from (its current content when it was not revised since).
    """
    rows: list[dict[str, str]] = []
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        since = {key: found[-1].created_at for key, found in versions_of(conn, chunk).items()}
        lines = select(claim_line.c.charge_id).where(claim_line.c.claim_key.in_(chunk))
        current = {
            str(r.charge_id): (str(r.claim_key), str(r.row_json))
            for r in conn.execute(
                select(charge.c.charge_id, charge.c.claim_key, charge.c.row_json).where(charge.c.charge_id.in_(lines))
            )
        }
        before: dict[str, str] = {}
        revisions = (
            select(
                charge_revision.c.charge_id,
                charge_revision.c.claim_key,
                charge_revision.c.replaced_row_json,
                charge_revision.c.created_at,
            )
            .where(charge_revision.c.claim_key.in_(chunk), charge_revision.c.charge_id.in_(list(current)))
            .order_by(charge_revision.c.id)
        )
        for r in conn.execute(revisions):
            moment = since.get(str(r.claim_key))
            revised_since = moment is None or aware(r.created_at) > aware(moment)
            if r.replaced_row_json and str(r.charge_id) not in before and revised_since:
                before[str(r.charge_id)] = str(r.replaced_row_json)
        for charge_id, (_key, text) in sorted(current.items()):
            row = json.loads(before.get(charge_id, text))
            row["visit_status"] = ""  # the void says what was billed; CLM05-3 says it is void
            rows.append(row)
    return rows


def void_claims(conn: Connection, keys: Sequence[str], payers: Mapping[str, PayerProfile]) -> dict[str, Claim]:
    """The claims of ``keys`` as their voids repeat them (``void_rows``), by key (frequency not set yet)."""
    wanted = set(keys)
    built = build_claims(void_rows(conn, keys), payers).claims
    return {c.claim_key: c for c in built if c.claim_key in wanted}


def void_events(conn: Connection, reversed_keys: Collection[str]) -> list[tuple[str, ClaimStatus, str]]:
    """A ``voided`` event for each claim of ``reversed_keys`` whose latest version is a void (frequency 8).

    A payer adjudicates a void by reversing the payment it voids (CLP02 22) and paying nothing anew (the
    sandbox does the same, docs/sandbox.md): that reversal ends the claim, ``voided``.
    """
    wanted = sorted(set(reversed_keys))
    found: list[tuple[str, ClaimStatus, str]] = []
    for start in range(0, len(wanted), _CHUNK):
        query = select(claim.c.claim_key).where(
            claim.c.claim_key.in_(wanted[start : start + _CHUNK]), claim.c.frequency_code == "8"
        )
        found += [
            (str(key), ClaimStatus.VOIDED, "835 CLP02 22: the reversal answering its void (frequency 8)")
            for key in conn.execute(query).scalars()
        ]
    return found
