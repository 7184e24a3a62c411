"""Claim versions: each submission of a claim, its content digest, interchange and outcome (``claim_version``).

A claim (encounter x payer x billing provider, CLM01 stable) is sent one or more times. Every time staging
puts it in an interchange, a version is recorded: its number (1, 2, ...), its frequency code (CLM05-3), the
digest of its content as written, the interchange, the payer claim number a 7 or 8 replaces (REF*F8) and
its outcome. The ``claim`` row stays the claim's current state (``claim.status`` from all its events); the
outcome of its latest version is derived the same way (``revcycle.lifecycle``) from the events since that
version was built, and earlier versions keep the outcome they ended with.

The digest covers what the payer reads of the claim (every field of the claim and its lines, and the
payer's routing ids: ISA08, GS03 and the 2010BB payer id), not its frequency code or REF*F8, so a
replacement of unchanged content has the digest of the version it replaces. An absent optional field (None)
is left out of it, so a field added to the claim later with a default of None keeps the digests already
stored. It is a SHA-256 hex digest: no claim content is stored beside it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from revcycle.domain import Claim, ClaimStatus
from revcycle.lifecycle import derive_status
from revcycle.payers import PayerProfile
from revcycle.warehouse.schema import claim, claim_event, claim_version

_CHUNK = 500
# Not part of the content: how it is sent (CLM05-3, REF*F8) and data the writer never puts in the 837.
_NOT_CONTENT = frozenset({"frequency_code", "original_claim_number", "extra"})


class Outcome(StrEnum):
    """Where one submitted version stands."""

    STAGED = "staged"  # in an interchange, not uploaded yet
    UPLOADED = "uploaded"
    ACCEPTED = "accepted"  # by the 999 / 277CA; or back with the payer after a reversal
    REJECTED = "rejected"  # at the front end (TA1, 999 or 277CA): never entered adjudication
    ADJUDICATED = "adjudicated"  # an 835 posted for it


OUTCOME_OF_STATUS: dict[ClaimStatus, Outcome] = {
    ClaimStatus.BUILT: Outcome.STAGED,
    ClaimStatus.SUBMITTED: Outcome.UPLOADED,
    ClaimStatus.ACCEPTED: Outcome.ACCEPTED,
    ClaimStatus.REVERSED: Outcome.ACCEPTED,
    ClaimStatus.REJECTED: Outcome.REJECTED,
    ClaimStatus.PAID: Outcome.ADJUDICATED,
    ClaimStatus.PARTIALLY_PAID: Outcome.ADJUDICATED,
    ClaimStatus.DENIED: Outcome.ADJUDICATED,
    ClaimStatus.CORRECTED: Outcome.ADJUDICATED,
    ClaimStatus.VOIDED: Outcome.ADJUDICATED,
}


# Types whose values are their own canonical form (exact types: a StrEnum is a str and is not one of them).
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})
# Per dataclass type: its content fields sorted by name (the JSON's key order) and a getter of their values as a
# tuple; None for a type that is not a dataclass.
_CONTENT_FIELDS: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] | None] = {}


def _content_fields(kind: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] | None:
    # Looked up once per type: dataclasses.fields() on every value was most of staging's time (issue 15).
    if kind not in _CONTENT_FIELDS:
        found = None
        if dataclasses.is_dataclass(kind):
            names = tuple(sorted(f.name for f in dataclasses.fields(kind) if f.name not in _NOT_CONTENT))
            found = (names, _getter(names))
        _CONTENT_FIELDS[kind] = found
    return _CONTENT_FIELDS[kind]


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) == 1:  # attrgetter of one name returns the value itself, not a 1-tuple
        name = names[0]
        return lambda value: (getattr(value, name),)
    return operator.attrgetter(*names) if names else lambda _value: ()


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    fields = _content_fields(kind)
    if fields is not None:
        names, values = fields
        plain = _PLAIN
        # An absent optional field (None) is left out, so a field added later with a default of None leaves
        # the digests of the versions already stored unchanged (a rebuild still matches the version it sent).
        return {
            name: v if type(v) in plain else _canonical(v)
            for name, v in zip(names, values(value), strict=True)
            if v is not None
        }
    if isinstance(value, (tuple, list)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):  # kept as it is, its keys in the sorted order the JSON is written in
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 100, 100.0 and 100.00 are one amount
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, (tuple, list)):
        return [_sorted_keys(v) for v in value]
    return value


# Every dict of the canonical form has its keys sorted already, so the encoder need not sort them again.
_JSON = json.JSONEncoder(separators=(",", ":"))


def claim_digest(built: Claim, payer: PayerProfile) -> str:
    """The content digest of a claim as it is written for ``payer`` (deterministic; no frequency, no REF*F8)."""
    content = {  # keys in sorted order
        "claim": _canonical(built),
        "routing": [payer.payer_id, payer.interchange_receiver_id, payer.group_receiver_code],
    }
    return hashlib.sha256(_JSON.encode(content).encode()).hexdigest()


@dataclass(frozen=True)
class StoredVersion:
    """One ``claim_version`` row."""

    version: int
    frequency_code: str
    digest: str | None
    interchange_id: int
    replaces_payer_claim_number: str | None
    outcome: Outcome
    created_at: datetime


def versions_of(conn: Connection, keys: Iterable[str]) -> dict[str, list[StoredVersion]]:
    """The stored versions of each claim of ``keys``, oldest first (claims with none are absent)."""
    wanted = sorted(set(keys))
    found: dict[str, list[StoredVersion]] = defaultdict(list)
    for start in range(0, len(wanted), _CHUNK):
        query = (
            select(claim_version)
            .where(claim_version.c.claim_key.in_(wanted[start : start + _CHUNK]))
            .order_by(claim_version.c.claim_key, claim_version.c.version)
        )
        for r in conn.execute(query):
            found[str(r.claim_key)].append(
                StoredVersion(
                    int(r.version),
                    str(r.frequency_code),
                    r.content_digest,
                    int(r.interchange_id),
                    r.replaces_payer_claim_number,
                    Outcome(r.outcome),
                    r.created_at,
                )
            )
    return dict(found)


def record_versions(
    conn: Connection, claims: Sequence[Claim], payer: PayerProfile, interchange_id: int, now: datetime
) -> None:
    """Record a new version (outcome ``staged``) of each claim just put in interchange ``interchange_id``."""
    if not claims:
        return
    keys = [c.claim_key for c in claims]
    numbers: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        query = (
            select(claim_version.c.claim_key, func.max(claim_version.c.version))
            .where(claim_version.c.claim_key.in_(keys[start : start + _CHUNK]))
            .group_by(claim_version.c.claim_key)
        )
        numbers.update({str(key): int(number) for key, number in conn.execute(query)})
    conn.execute(
        insert(claim_version),
        [
            {
                "claim_key": c.claim_key,
                "version": numbers.get(c.claim_key, 0) + 1,
                "frequency_code": c.frequency_code,
                "content_digest": claim_digest(c, payer),
                "interchange_id": interchange_id,
                "replaces_payer_claim_number": c.original_claim_number,
                "outcome": Outcome.STAGED.value,
                "created_at": now,
            }
            for c in claims
        ],
    )


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite may hand back the stored text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def version_outcome(
    events: Sequence[tuple[ClaimStatus, datetime]], created_at: datetime, frequency_code: str
) -> Outcome:
    """The outcome of a version from its claim's events (in recorded order) since the version was built.

    A version's events start at the last ``built`` event at or before it was staged. A replacement or void
    is answered by the reversal of the payment it replaces and then its own adjudication: that reversal
    belongs to the earlier version, not to it.
    """
    start = 0
    for index, (status, occurred) in enumerate(events):
        if status is ClaimStatus.BUILT and _aware(occurred) <= _aware(created_at):
            start = index
    own = [status for status, _ in events[start:]]
    if frequency_code in ("7", "8"):
        own = [status for status in own if status is not ClaimStatus.REVERSED]
    return OUTCOME_OF_STATUS[derive_status(own)]


def claim_events(conn: Connection, keys: Sequence[str]) -> dict[str, list[tuple[ClaimStatus, datetime]]]:
    """Each claim's events of ``keys`` (at most a chunk of them) as (status, when), in recorded order."""
    events: dict[str, list[tuple[ClaimStatus, datetime]]] = {key: [] for key in keys}
    for row in conn.execute(
        select(claim_event.c.claim_key, claim_event.c.status, claim_event.c.occurred_at)
        .where(claim_event.c.claim_key.in_(list(keys)))
        .order_by(claim_event.c.id)
    ):
        events[str(row.claim_key)].append((ClaimStatus(row.status), row.occurred_at))
    return events


def refresh_outcomes(
    conn: Connection,
    claim_keys: Sequence[str],
    events: Mapping[str, Sequence[tuple[ClaimStatus, datetime]]] | None = None,
) -> None:
    """Set the outcome of each claim's latest version from the claim's events since that version was built.

    ``events``: every event of each of ``claim_keys`` (``claim_events``) when the caller read them already.
    """
    keys = sorted(set(claim_keys))
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        latest: dict[str, StoredVersion] = {key: found[-1] for key, found in versions_of(conn, chunk).items()}
        if not latest:
            continue
        found_events = events if events is not None else claim_events(conn, list(latest))
        changed = []
        for key, version in latest.items():
            outcome = version_outcome(found_events[key], version.created_at, version.frequency_code)
            if outcome is not version.outcome:
                changed.append({"key_": key, "version_": version.version, "outcome_": outcome.value})
        if changed:
            # One statement executed for the chunk's rows: a statement per version was most of a 277CA load.
            conn.execute(
                update(claim_version)
                .where(claim_version.c.claim_key == bindparam("key_"), claim_version.c.version == bindparam("version_"))
                .values(outcome=bindparam("outcome_")),
                changed,
            )


def record_submission(conn: Connection, interchange_id: int, file_name: str, now: datetime) -> list[str]:
    """The interchange reached the clearinghouse: a ``submitted`` event per claim, their status and versions.

    Returns the claim keys of the interchange. The connector calls this once the upload is confirmed.
    """
    keys = list(conn.execute(select(claim.c.claim_key).where(claim.c.interchange_id == interchange_id)).scalars())
    if not keys:
        return keys
    conn.execute(
        insert(claim_event),
        [
            {
                "claim_key": key,
                "status": ClaimStatus.SUBMITTED.value,
                "occurred_at": now,
                "interchange_id": interchange_id,
                "detail": file_name,
            }
            for key in keys
        ],
    )
    conn.execute(
        update(claim)
        .where(claim.c.interchange_id == interchange_id, claim.c.status == ClaimStatus.BUILT.value)
        .values(status=ClaimStatus.SUBMITTED.value, status_at=now, submitted_at=now)
    )
    conn.execute(
        update(claim_version)
        .where(claim_version.c.interchange_id == interchange_id, claim_version.c.outcome == Outcome.STAGED.value)
        .values(outcome=Outcome.UPLOADED.value)
    )
    return keys
