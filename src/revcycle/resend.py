"""Resend a claim corrected after a front-end rejection as a new original (docs/claim-rules.md).

A claim rejected by the 999 or 277CA never entered adjudication. Before each staging, every rejected claim
is rebuilt from its current charges (a corrected export revised them, ``charge_revision``) and its current
payer configuration, and the next-action rules (``revcycle.next_action.decide``) are asked what to do:

- ``resend_original``: the rebuild differs from every rejected version. The ``claim`` row takes the rebuilt
  content (its lines, total, frequency 1) and goes back to ``built`` with a ``built`` event naming the
  version it will be; staging then puts it in that night's interchange under the same CLM01 and records the
  new version (``revcycle.claim_versions``).
- ``correct_rejection``: the rebuild is identical to a rejected version. Nothing is sent; the night's
  next-action step records the refusal and its reason for a person.

A version staged before digests were kept (migration 0009) has no digest: it counts as identical to the
rebuild unless a charge of the claim was revised after it was staged.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, delete, insert, select, update

from revcycle.claim_versions import StoredVersion, claim_digest, versions_of
from revcycle.claims import build_claims
from revcycle.domain import Claim, ClaimStatus
from revcycle.intake import claim_line_rows
from revcycle.money import to_cents
from revcycle.next_action import Action, ClaimSnapshot, PayerPolicy, Version, VersionState, decide
from revcycle.payers import PayerProfile
from revcycle.warehouse.schema import charge, charge_revision, claim, claim_event, claim_line

_CHUNK = 500
_STATE = {
    "staged": VersionState.BUILT,
    "uploaded": VersionState.SUBMITTED,
    "accepted": VersionState.ACCEPTED,
    "rejected": VersionState.REJECTED,
    "adjudicated": VersionState.ADJUDICATED,
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


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite may hand back the stored text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rebuild_claims(
    conn: Connection, keys: Sequence[str], payers: Mapping[str, PayerProfile]
) -> dict[str, tuple[Claim, str]]:
    """Each claim of ``keys`` rebuilt from its current charges: (the claim, its content digest).

    A claim whose charges no longer build into it (held by the builder or the payer's rules) is absent.
    """
    rows = []
    for start in range(0, len(keys), _CHUNK):
        rows += [
            json.loads(text)
            for text in conn.execute(
                select(charge.c.row_json).where(
                    charge.c.status == "claimed", charge.c.claim_key.in_(keys[start : start + _CHUNK])
                )
            ).scalars()
        ]
    wanted = set(keys)
    return {
        c.claim_key: (c, claim_digest(c, payers[c.payer_id]))
        for c in build_claims(rows, payers).claims
        if c.claim_key in wanted
    }


def last_revisions(conn: Connection, keys: Sequence[str]) -> dict[str, datetime]:
    """When a charge of each claim of ``keys`` was last revised (claims never revised are absent)."""
    found: dict[str, datetime] = {}
    for start in range(0, len(keys), _CHUNK):
        query = select(charge_revision.c.claim_key, charge_revision.c.created_at).where(
            charge_revision.c.claim_key.in_(keys[start : start + _CHUNK])
        )
        for key, created in conn.execute(query):
            moment = _aware(created)
            found[str(key)] = max(found.get(str(key), moment), moment)
    return found


def snapshot_versions(
    stored: Sequence[StoredVersion], rebuilt_digest: str, revised_at: datetime | None
) -> tuple[Version, ...]:
    """The rules' view of stored versions; a version with no digest reads as the rebuild unless revised since."""
    versions = []
    for v in stored:
        digest = v.digest
        if digest is None:
            revised_since = revised_at is not None and revised_at > _aware(v.created_at)
            digest = "unknown (staged before digests were kept)" if revised_since else rebuilt_digest
        versions.append(Version(v.version, v.frequency_code, digest, _STATE[v.outcome], _aware(v.created_at).date()))
    return tuple(versions)


def resend_corrected(
    conn: Connection, payers: Mapping[str, PayerProfile], batch_date: date, now: datetime
) -> list[str]:
    """Put back to ``built`` every rejected claim the rules resend as an original; returns their keys."""
    rejected = sorted(
        conn.execute(select(claim.c.claim_key).where(claim.c.status == ClaimStatus.REJECTED.value)).scalars()
    )
    if not rejected:
        return []
    rebuilt = rebuild_claims(conn, rejected, payers)
    stored = versions_of(conn, list(rebuilt))
    revised = last_revisions(conn, list(rebuilt))
    resent: list[Claim] = []
    numbers: dict[str, int] = defaultdict(int)
    for key, (built, digest) in sorted(rebuilt.items()):
        versions = stored.get(key)
        if not versions:
            continue  # never staged: nothing was rejected that the rules could compare
        snapshot = ClaimSnapshot(
            claim_key=key,
            filing_clock_start=min(line.service_date for line in built.lines),
            versions=snapshot_versions(versions, digest, revised.get(key)),
            ehr_digest=digest,
        )
        decision = decide(snapshot, payer_policy(payers[built.payer_id]), batch_date)
        if decision.action is Action.RESEND_ORIGINAL:
            resent.append(built)
            numbers[key] = versions[-1].version + 1
    for built in resent:
        _take_rebuilt(conn, built, numbers[built.claim_key], batch_date, now)
    return [c.claim_key for c in resent]


def _take_rebuilt(conn: Connection, built: Claim, version: int, batch_date: date, now: datetime) -> None:
    """The claim row takes the rebuilt content and is built again, ready for staging as version ``version``."""
    key = built.claim_key
    conn.execute(delete(claim_line).where(claim_line.c.claim_key == key))
    conn.execute(insert(claim_line), claim_line_rows([built]))
    conn.execute(
        update(claim)
        .where(claim.c.claim_key == key)
        .values(
            frequency_code="1",
            total_charge_cents=to_cents(built.total_charge),
            line_count=len(built.lines),
            first_service_date=min(line.service_date for line in built.lines),
            interchange_id=None,
            status=ClaimStatus.BUILT.value,
            status_at=now,
        )
    )
    conn.execute(
        insert(claim_event).values(
            claim_key=key,
            status=ClaimStatus.BUILT.value,
            occurred_at=now,
            detail=f"batch {batch_date}: corrected after a front-end rejection; resent as version {version} (1)",
        )
    )
