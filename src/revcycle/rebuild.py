"""A sent claim rebuilt from its current charges: what the EHR says now, compared with its versions.

The next-action rules (``revcycle.next_action``) compare a claim's versions with what the EHR says now. A
claim rejected at the front end, or one whose charges changed after its latest version was staged (a
corrected export, ``charge_revision``; a late charge), is rebuilt from its current charges and payer file:
its content digest (``revcycle.claim_versions.claim_digest``) is what the EHR says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from revcycle.claim_versions import Outcome, StoredVersion, claim_digest
from revcycle.claims import build_claims
from revcycle.domain import Claim
from revcycle.next_action import PayerPolicy, VersionState
from revcycle.payers import PayerProfile
from revcycle.warehouse.schema import charge, charge_revision

_CHUNK = 500
# Charges that are lines of a claim: on it (claimed), or waiting for its replacement (late).
LINE_STATUSES = ("claimed", "late")
VERSION_STATE: dict[Outcome, VersionState] = {
    Outcome.STAGED: VersionState.BUILT,
    Outcome.UPLOADED: VersionState.SUBMITTED,
    Outcome.ACCEPTED: VersionState.ACCEPTED,
    Outcome.REJECTED: VersionState.REJECTED,
    Outcome.ADJUDICATED: VersionState.ADJUDICATED,
}


def payer_policy(profile: PayerProfile) -> PayerPolicy:
    """The next-action policy a payer file declares (its deadlines, lags and the corrections it takes)."""
    return PayerPolicy(
        timely_filing_days=profile.timely_filing_days,
        accepts_replacement=profile.accepts_replacement,
        accepts_void=profile.accepts_void,
        correction_filing_days=profile.correction_filing_days,
        appeal_days=profile.appeal_days,
        usual_lag_days=profile.usual_lag_days,
        inquiry_interval_days=profile.inquiry_interval_days,
    )


def aware(moment: datetime | str) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite may hand back naive values or text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rebuilt_claims(
    conn: Connection, keys: Sequence[str], payers: Mapping[str, PayerProfile], *, statuses: Sequence[str] = ("claimed",)
) -> list[Claim]:
    """The claims ``keys`` rebuilt from their charges (names, member ids: PHI, kept in memory only)."""
    ordered = sorted(set(keys))
    rows = []
    for start in range(0, len(ordered), _CHUNK):
        rows += [
            json.loads(text)
            for text in conn.execute(
                select(charge.c.row_json).where(
                    charge.c.status.in_(statuses), charge.c.claim_key.in_(ordered[start : start + _CHUNK])
                )
            ).scalars()
        ]
    wanted = set(ordered)
    return [c for c in build_claims(rows, payers).claims if c.claim_key in wanted]


def rebuild_claims(
    conn: Connection, keys: Sequence[str], payers: Mapping[str, PayerProfile]
) -> dict[str, tuple[Claim, str]]:
    """Each claim of ``keys`` rebuilt from its current charges: (the claim, its content digest).

    A claim whose charges no longer build into it (held by the builder or the payer's rules) is absent.
    """
    return {
        c.claim_key: (c, claim_digest(c, payers[c.payer_id]))
        for c in rebuilt_claims(conn, keys, payers, statuses=LINE_STATUSES)
    }


def last_revisions(conn: Connection, keys: Sequence[str] | None = None) -> dict[str, datetime]:
    """When a charge of each claim (of ``keys``, or every claim) was last revised or added late."""
    found: dict[str, datetime] = {}
    chunks = [None] if keys is None else [keys[s : s + _CHUNK] for s in range(0, len(keys), _CHUNK)]
    for chunk in chunks:
        query = select(charge_revision.c.claim_key, charge_revision.c.created_at)
        if chunk is not None:
            query = query.where(charge_revision.c.claim_key.in_(chunk))
        for key, created in conn.execute(query):
            moment = aware(created)
            found[str(key)] = max(found.get(str(key), moment), moment)
    return found


def version_digest(version: StoredVersion, rebuilt_digest: str, revised_at: datetime | None) -> str:
    """A stored version's digest; one staged before digests were kept reads as the rebuild unless revised since."""
    if version.digest is not None:
        return version.digest
    if revised_at is not None and revised_at > aware(version.created_at):
        return "unknown (staged before digests were kept)"
    return rebuilt_digest
