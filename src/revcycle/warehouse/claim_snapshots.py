"""Decide every open claim: read its ``ClaimSnapshot`` from the warehouse, ask ``next_action.decide``, record it.

This is the step that makes the worklists (``kpi.worklists``) views of the next-action rules: after each load
the pipeline calls ``decide_open_claims`` and ``claim_action`` holds each claim's current action.

A snapshot's versions are the claim's ``claim_version`` rows (``revcycle.claim_versions``): each with its
frequency code, content digest and the state of its outcome (from its 999, 277CA and 835 events). A claim
staged before versions were kept (no row) reads as one version in the state of its claim status, with the
digest of today's claim row and lines. What the EHR says now (``ehr_digest``) is the latest version's
content, except for a claim rejected at the front end or whose charges were revised or added late since its
latest version: that claim is rebuilt from its current charges and payer file (``revcycle.rebuild``).
A claim is cancelled when the EHR cancelled its visit (a ``cancelled`` charge, ``revcycle.cancellation``);
a cancelled claim never staged (built, in no interchange) has no version: it is withdrawn, never sent.
An adjudicated claim's next payer is the coverage after its payer in the export's ``secondary_*`` and
``tertiary_*`` columns (``revcycle.warehouse.cob_chain.next_payers``), billed once a claim names it as its
``prior_claim_key``; the standing 835's remarks and NM1*TT crossover carrier are the adjudication's. Facts
that need contract columns the warehouse does not hold yet are left at their "nothing known" value: no 276
was sent (``last_inquiry_on``).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from revcycle.cancellation import cancelled_claims, unstaged_cancelled
from revcycle.claim_versions import Outcome, StoredVersion, versions_of
from revcycle.codes.adjustments import Category, meaning
from revcycle.domain import Claim, ClaimStatus
from revcycle.gc_pacing import collecting_less_often
from revcycle.money import from_cents
from revcycle.next_action import (
    Action,
    Adjudication,
    ClaimSnapshot,
    Decision,
    PayerPolicy,
    Version,
    VersionState,
    decide,
)
from revcycle.payers import PayerProfile
from revcycle.rebuild import VERSION_STATE, last_revisions, payer_policy, rebuild_claims, version_digest
from revcycle.warehouse.actions import ClaimDecision, record_decisions
from revcycle.warehouse.cob_chain import next_payers
from revcycle.warehouse.kpi.common import posted_on, standing
from revcycle.warehouse.schema import (
    adjustment,
    charge,
    claim,
    claim_action,
    claim_event,
    claim_hold,
    claim_line,
    payer,
    remark,
    remittance,
    remittance_claim,
    source_file,
)
from revcycle.warehouse.sqlfunc import local_date

_CHUNK = 500
# Open claims read, decided and written per chunk by the next actions. Measured on a 200,000-line night's
# 105,261 open claims (about 3.7 KB a snapshot): the step's peak was 448 MB read whole, 346 MB in chunks of
# 50,000, 205 MB of 20,000 and 141 MB of 5,000, all in 13 to 14 s (docs/scale.md, "Sixth pass").
SNAPSHOT_CHUNK_CLAIMS = 5_000

# Version state of a claim status (DESIGN.md §5). REVERSED: the reversal cancelled the adjudication and the
# payer's corrected payment is due, so the claim is back with the payer (docs/claim-rules.md).
_VERSION_STATE: dict[str, VersionState] = {
    ClaimStatus.BUILT.value: VersionState.BUILT,
    ClaimStatus.SUBMITTED.value: VersionState.SUBMITTED,
    ClaimStatus.ACCEPTED.value: VersionState.ACCEPTED,
    ClaimStatus.REJECTED.value: VersionState.REJECTED,
    ClaimStatus.PAID.value: VersionState.ADJUDICATED,
    ClaimStatus.PARTIALLY_PAID.value: VersionState.ADJUDICATED,
    ClaimStatus.DENIED.value: VersionState.ADJUDICATED,
    ClaimStatus.REVERSED.value: VersionState.ACCEPTED,
    ClaimStatus.CORRECTED.value: VersionState.ADJUDICATED,
    ClaimStatus.VOIDED.value: VersionState.ADJUDICATED,
}
_ADJUDICATED_STATUSES = frozenset({ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED})


@dataclass(frozen=True)
class _ClaimRow:
    claim_key: str
    payer_id: str
    status: str
    frequency_code: str
    first_service_date: date
    submitted_on: date | None
    payer_claim_number: str | None
    prior_claim_key: str | None = None  # a secondary or tertiary claim: the claim whose 835 it follows


def _chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


def _as_utc(moment: datetime | str | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite may hand back the stored text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _open_claims(conn: Connection, revised: Mapping[str, datetime]) -> list[_ClaimRow]:
    """Claims with no action yet, a non-final action, or an event or a charge revision since their final
    action was decided."""
    last_sent = (
        select(claim_event.c.claim_key, func.max(claim_event.c.occurred_at).label("sent_at"))
        .where(claim_event.c.status == ClaimStatus.SUBMITTED.value)
        .group_by(claim_event.c.claim_key)
        .subquery("last_submission")
    )
    query = select(
        claim.c.claim_key,
        claim.c.payer_id,
        claim.c.status,
        claim.c.status_at,
        claim.c.frequency_code,
        claim.c.first_service_date,
        claim.c.payer_claim_number,
        claim.c.prior_claim_key,
        func.coalesce(local_date(last_sent.c.sent_at), local_date(claim.c.submitted_at)).label("submitted_on"),
        claim_action.c.kind,
        claim_action.c.decided_at,
    ).select_from(
        claim.outerjoin(claim_action, claim_action.c.claim_key == claim.c.claim_key).outerjoin(
            last_sent, last_sent.c.claim_key == claim.c.claim_key
        )
    )
    rows = []
    for r in conn.execute(query.order_by(claim.c.claim_key)):
        decided_at, status_at = _as_utc(r.decided_at), _as_utc(r.status_at)
        changed = revised.get(str(r.claim_key))
        settled = r.kind == "final" and decided_at is not None and status_at is not None and status_at <= decided_at
        if settled and (changed is None or (decided_at is not None and changed <= decided_at)):
            continue
        served = _as_date(r.first_service_date)
        assert served is not None  # NOT NULL column
        rows.append(
            _ClaimRow(
                str(r.claim_key),
                str(r.payer_id),
                str(r.status),
                str(r.frequency_code),
                served,
                _as_date(r.submitted_on),
                r.payer_claim_number,
                r.prior_claim_key,
            )
        )
    return rows


def _digests(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """A digest of each claim's content (payer and lines) as today's claim row has it."""
    parts: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(keys):
        query = (
            select(claim.c.claim_key, claim.c.payer_id, claim_line)
            .join(claim_line, claim_line.c.claim_key == claim.c.claim_key)
            .where(claim.c.claim_key.in_(chunk))
            .order_by(claim.c.claim_key, claim_line.c.line_number)
        )
        for r in conn.execute(query):
            parts[str(r.claim_key)].append(
                f"{r.payer_id}|{r.procedure_code}|{r.modifiers}|{r.units}|{r.charge_cents}|{r.service_date}"
            )
    return {key: hashlib.sha256("\n".join(lines).encode()).hexdigest() for key, lines in parts.items()}


def _holds(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(keys):
        query = (
            select(claim_hold.c.claim_key, claim_hold.c.reason)
            # late charges wait for the replacement the rules build: no person needs to act on them
            .where(claim_hold.c.claim_key.in_(chunk), claim_hold.c.released_at.is_(None), claim_hold.c.stage != "late")
            .order_by(claim_hold.c.id)
        )
        for r in conn.execute(query):
            found[str(r.claim_key)].append(str(r.reason))
    return {key: tuple(reasons) for key, reasons in found.items()}


def _standing_postings(conn: Connection, keys: Sequence[str]) -> dict[str, Any]:
    """Per claim, its latest standing 835 posting (matched, not a reversal, not reversed since)."""
    found: dict[str, Any] = {}
    for chunk in _chunks(keys):
        query = (
            select(
                remittance_claim.c.id,
                remittance_claim.c.claim_key,
                remittance_claim.c.status_code,
                remittance_claim.c.charge_cents,
                remittance_claim.c.paid_cents,
                remittance_claim.c.payer_claim_number,
                remittance_claim.c.crossover_carrier,
                posted_on().label("posted_on"),
            )
            .select_from(
                remittance_claim.join(remittance, remittance.c.id == remittance_claim.c.remittance_id).join(
                    source_file, source_file.c.id == remittance.c.source_file_id
                )
            )
            .where(standing(remittance_claim), remittance_claim.c.claim_key.in_(chunk))
            .order_by(remittance_claim.c.id)
        )
        for r in conn.execute(query):
            found[str(r.claim_key)] = r
    return found


def _amounts(
    conn: Connection, posting_ids: Sequence[int]
) -> tuple[dict[int, int], dict[int, int], dict[int, set[str]]]:
    """Per posting: patient responsibility (CAS PR), denied cents (denial category: CO-45 is contractual), RARCs."""
    patient: dict[int, int] = defaultdict(int)
    denied: dict[int, int] = defaultdict(int)
    remarks: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(posting_ids), _CHUNK):
        chunk = posting_ids[start : start + _CHUNK]
        adjustments = select(
            adjustment.c.remittance_claim_id,
            adjustment.c.group_code,
            adjustment.c.reason_code,
            adjustment.c.amount_cents,
        ).where(adjustment.c.remittance_claim_id.in_(chunk))
        for r in conn.execute(adjustments):
            category = meaning(str(r.group_code), str(r.reason_code)).category
            if category is Category.PATIENT_RESPONSIBILITY:
                patient[r.remittance_claim_id] += int(r.amount_cents)
            elif category is Category.DENIAL:
                denied[r.remittance_claim_id] += int(r.amount_cents)
        for r in conn.execute(
            select(remark.c.remittance_claim_id, remark.c.code).where(remark.c.remittance_claim_id.in_(chunk))
        ):
            remarks[r.remittance_claim_id].add(str(r.code).strip().upper())
    return patient, denied, remarks


def _adjudication_status(clp02: str, paid_cents: int, patient_cents: int, denied_cents: int) -> ClaimStatus:
    if clp02 == "4" or (paid_cents == 0 and patient_cents == 0):
        return ClaimStatus.DENIED
    if denied_cents > 0:
        return ClaimStatus.PARTIALLY_PAID
    return ClaimStatus.PAID


def _versions(
    r: _ClaimRow,
    stored: Sequence[StoredVersion],
    claim_state: VersionState,
    digests: Sequence[str],
    has_posting: bool,
) -> tuple[Version, ...]:
    """The claim's versions, each with the state of its outcome; a claim staged before versions were kept
    (no row) is one version in the state of its claim status."""
    if not stored:
        return (Version(1, r.frequency_code, digests[0], claim_state, r.submitted_on),)
    out = []
    for v, digest in zip(stored, digests, strict=True):
        state = VERSION_STATE[v.outcome]
        if state is VersionState.ADJUDICATED and not has_posting:
            state = VersionState.ACCEPTED  # an adjudication event with no standing posting: still with the payer
        sent = r.submitted_on if v is stored[-1] else _as_date(v.created_at)
        out.append(Version(v.version, v.frequency_code, digest, state, sent))
    return tuple(out)


def changed_claims(conn: Connection) -> set[str]:
    """Claims whose content may differ from their latest version: rejected, revised, with late charges or
    cancelled."""
    rejected = conn.execute(select(claim.c.claim_key).where(claim.c.status == ClaimStatus.REJECTED.value))
    late = conn.execute(select(charge.c.claim_key).where(charge.c.status == "late").distinct())
    changed = {str(k) for k in rejected.scalars()} | {str(k) for k in late.scalars()} | set(last_revisions(conn))
    return changed | cancelled_claims(conn)


def read_with_rebuilds(
    conn: Connection, payers: Mapping[str, PayerProfile] | None = None, only: Collection[str] | None = None
) -> tuple[list[tuple[str, ClaimSnapshot]], dict[str, Claim]]:
    """(payer id, snapshot) of every claim not in a final state (of those ``only`` names, when given), as the
    warehouse has it today, and the claims it rebuilt, by key.

    A claim's versions are its ``claim_version`` rows (see the module docstring). Its filing clock starts on
    the first date of service; its latest version's submission date is the practice-timezone date of its
    latest submission event. With the payer files (``payers``), a claim rejected at the front end, or whose
    charges changed since its latest version, is rebuilt from its current charges and payer file: that
    rebuild is what the EHR says now (``ehr_digest``).
    """
    snapshots: list[tuple[str, ClaimSnapshot]] = []
    rebuilt: dict[str, Claim] = {}
    for chunk_snapshots, chunk_rebuilt in snapshots_in_chunks(conn, payers, only):
        snapshots += chunk_snapshots
        rebuilt.update(chunk_rebuilt)
    return snapshots, rebuilt


def snapshots_in_chunks(
    conn: Connection,
    payers: Mapping[str, PayerProfile] | None = None,
    only: Collection[str] | None = None,
    chunk_claims: int | None = None,
) -> Iterator[tuple[list[tuple[str, ClaimSnapshot]], dict[str, Claim]]]:
    """``read_with_rebuilds`` ``chunk_claims`` (default SNAPSHOT_CHUNK_CLAIMS) open claims at a time, in key order.

    The open claims are found once, before the first chunk; each chunk's versions, postings, holds and rebuilds
    are read when it is reached, so what is held is one chunk's, not the night's (a million-line night has about
    half a million open claims). A caller may write between chunks on the same connection: no chunk reads
    ``claim_action``, the only table the next actions write.
    """
    revised = last_revisions(conn)
    rows = [r for r in _open_claims(conn, revised) if only is None or r.claim_key in only]
    late = set(conn.execute(select(charge.c.claim_key).where(charge.c.status == "late").distinct()).scalars())
    size = chunk_claims or SNAPSHOT_CHUNK_CLAIMS
    for start in range(0, len(rows), size):
        yield _snapshots_of(conn, rows[start : start + size], revised, late, payers)


def _snapshots_of(
    conn: Connection,
    rows: Sequence[_ClaimRow],
    revised: Mapping[str, datetime],
    late: Collection[str],
    payers: Mapping[str, PayerProfile] | None,
) -> tuple[list[tuple[str, ClaimSnapshot]], dict[str, Claim]]:
    keys = [r.claim_key for r in rows]
    stored = versions_of(conn, keys)
    to_rebuild = [
        key
        for key, found in stored.items()
        if found[-1].outcome is Outcome.REJECTED
        or key in late
        or (key in revised and revised[key] > _as_utc_or_min(found[-1]))
    ]
    rebuilt = rebuild_claims(conn, to_rebuild, payers) if payers and to_rebuild else {}
    digests = _digests(conn, [k for k in keys if not all(v.digest for v in stored.get(k, ()))])
    holds = _holds(conn, keys)
    postings = _standing_postings(conn, keys)
    patient, denied, remarks = _amounts(conn, [p.id for p in postings.values()])
    cancelled = cancelled_claims(conn, keys)
    never_staged = unstaged_cancelled(conn, cancelled)
    coverage_after = next_payers(conn, sorted(postings))
    # a secondary's filing clock starts on the payment date of the 835 it was built from (docs/claim-rules.md)
    prior_postings = _standing_postings(conn, sorted({r.prior_claim_key for r in rows if r.prior_claim_key}))
    out = []
    for r in rows:
        key = r.claim_key
        posting = postings.get(key)
        claim_state = _VERSION_STATE.get(r.status, VersionState.SUBMITTED)
        if posting is None and claim_state is VersionState.ADJUDICATED:
            claim_state = VersionState.ACCEPTED
        found = stored.get(key, [])
        if key in rebuilt:
            current = rebuilt[key][1]
            version_digests = [version_digest(v, current, revised.get(key)) for v in found]
        else:
            version_digests = [v.digest or digests.get(key, "") for v in found] or [digests.get(key, "")]
        versions = _versions(r, found, claim_state, version_digests, posting is not None)
        if key in never_staged and not found:
            versions = ()
        if key not in rebuilt:
            current = versions[-1].digest if versions else version_digests[0]
        adjudicated = [v for v in versions if v.state is VersionState.ADJUDICATED]
        adjudication = None
        if posting is not None and adjudicated:
            paid_on = _as_date(posting.posted_on)
            assert paid_on is not None  # coalesced with the file's receipt date
            status = ClaimStatus(r.status)
            if status not in _ADJUDICATED_STATUSES:
                status = _adjudication_status(
                    str(posting.status_code), posting.paid_cents, patient[posting.id], denied[posting.id]
                )
            adjudication = Adjudication(
                status=status,
                digest=adjudicated[-1].digest,
                claim_status_code=str(posting.status_code),
                payer_claim_number=posting.payer_claim_number or r.payer_claim_number,
                paid=from_cents(posting.paid_cents),
                patient_responsibility=from_cents(patient[posting.id]),
                denied=from_cents(denied[posting.id]),
                payment_date=paid_on,
                remarks=frozenset(remarks[posting.id]),
                crossover_carrier=bool(posting.crossover_carrier),
            )
        snapshot = ClaimSnapshot(
            claim_key=key,
            filing_clock_start=_filing_clock_start(r, prior_postings),
            versions=versions,
            adjudication=adjudication,
            ehr_digest=current,
            cancelled=key in cancelled,
            held=holds.get(key, ()),
            next_payer_id=coverage_after[key][0] if key in coverage_after else None,
            next_payer_billed=key in coverage_after and coverage_after[key][1],
        )
        out.append((r.payer_id, snapshot))
    return out, {key: found[0] for key, found in rebuilt.items()}


def _filing_clock_start(r: _ClaimRow, prior_postings: Mapping[str, Any]) -> date:
    """The first date of service; for a secondary or tertiary claim, the prior payer's payment date."""
    prior = prior_postings.get(r.prior_claim_key) if r.prior_claim_key else None
    paid_on = _as_date(prior.posted_on) if prior is not None else None
    return paid_on or r.first_service_date


def _as_utc_or_min(version: StoredVersion) -> datetime:
    moment = _as_utc(version.created_at)
    assert moment is not None  # NOT NULL column
    return moment


def _stored_policies(conn: Connection) -> dict[str, PayerPolicy]:
    rows = conn.execute(select(payer.c.payer_id, payer.c.timely_filing_days, payer.c.appeal_days))
    return {str(r.payer_id): PayerPolicy(int(r.timely_filing_days), appeal_days=int(r.appeal_days)) for r in rows}


def due_on(snapshot: ClaimSnapshot, decision: Decision, policy: PayerPolicy) -> date | None:
    """The date a decision is due: an appeal deadline, the day an answer is due, the timely filing limit."""
    sent = snapshot.versions[-1].submitted_on if snapshot.versions else None
    if decision.action is Action.WORK_DENIAL and snapshot.adjudication is not None:
        return snapshot.adjudication.payment_date + timedelta(days=policy.appeal_days)
    if decision.action in (Action.AWAIT_RESPONSE, Action.INQUIRE) and sent is not None:
        return sent + timedelta(days=policy.usual_lag_days)
    if decision.action is Action.CORRECT_REJECTION:
        return snapshot.filing_clock_start + timedelta(days=policy.timely_filing_days)
    return None


@collecting_less_often()
def decide_open_claims(
    engine: Engine, payers: Mapping[str, PayerPolicy] | Iterable[PayerProfile], today: date, now: datetime
) -> dict[str, int]:
    """Decide every open claim on ``today`` and record each decision at ``now``; returns counts by action.

    ``payers`` are the payer files (profiles) or policies by payer id; a payer named by neither takes its
    row in the ``payer`` table (timely filing and appeal days, other fields at their defaults).
    """
    profiles: dict[str, PayerProfile] = {}
    if isinstance(payers, Mapping):
        given: dict[str, PayerPolicy] = dict(payers)
    else:
        profiles = {p.payer_id: p for p in payers}
        given = {key: payer_policy(p) for key, p in profiles.items()}
    counts: Counter[str] = Counter()

    def decisions(conn: Connection, policies: Mapping[str, PayerPolicy]) -> Iterator[ClaimDecision]:
        for snapshots, _rebuilt in snapshots_in_chunks(conn, profiles):
            for payer_id, snapshot in snapshots:
                policy = policies.get(payer_id)
                if policy is None:
                    counts["no payer policy"] += 1
                    continue
                decision = decide(snapshot, policy, today)
                counts[decision.action.value] += 1
                yield ClaimDecision(snapshot.claim_key, decision, due_on(snapshot, decision, policy))

    with engine.begin() as conn:
        # one chunk of snapshots at a time: record_decisions takes the decisions as they are made
        record_decisions(conn, decisions(conn, {**_stored_policies(conn), **given}), now)
    return dict(sorted(counts.items()))
