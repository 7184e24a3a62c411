"""The nightly eligibility step over the warehouse: hold or release built claims, stage 270s, load 271s.

Staging reuses the 837 ledger (``interchange``, DESIGN.md §6): the 270 is written and synced under a
``.staging`` name, its ledger row and its ``eligibility_check`` rows committed in one transaction, then it
is renamed into ``outbound/``, where the upload step sends it exactly once like any interchange. A pair
with an inquiry out (younger than ``ASK_AGAIN_AFTER``) or a current answer is never asked again, so a rerun
of the night stages nothing new. The rules are in ``revcycle.eligibility``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update

from revcycle.domain import Claim
from revcycle.eligibility import (
    ACTIVE,
    AWAITING,
    HOLD_STAGE,
    INACTIVE,
    NO_ANSWER,
    OTHER_PRIMARY,
    Answer,
    PairState,
    answer_is_current,
    decide,
    member_key,
    needs_inquiry,
)
from revcycle.holds import ClaimHold, record_holds
from revcycle.payers import PayerProfile
from revcycle.rebuild import rebuilt_claims
from revcycle.submission import (
    SenderIdentity,
    finish_pending_renames,
    payer_envelope,
    stage_inquiry_interchange,
)
from revcycle.warehouse.ledger import next_control_number
from revcycle.warehouse.schema import claim, claim_coverage, claim_hold, eligibility_check
from revcycle.x12.write270 import VERSION_270, EligibilityInquiry, EligibilityQuery, InquiredPerson, write_270
from revcycle.x12.x271 import CoverageStatus, read_271

_CHUNK = 500


@dataclass
class EligibilityReview:
    """What one night's eligibility step did: claims held or released, inquiries and files staged."""

    held: list[ClaimHold] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    inquiries: int = 0
    files: list[str] = field(default_factory=list)


def unsent_claims(conn: Connection, payers: Mapping[str, PayerProfile]) -> list[Claim]:
    """Every built claim not yet in an interchange, rebuilt from its charges."""
    keys = conn.execute(
        select(claim.c.claim_key).where(claim.c.interchange_id.is_(None), claim.c.status == "built")
    ).scalars()
    return rebuilt_claims(conn, list(keys), payers)


def _key_of(c: Claim) -> str:
    return member_key(c.payer_id, c.member_id, c.patient)


def pair_states(conn: Connection, keys: Sequence[str]) -> dict[str, PairState]:
    """Each pair's latest answer and latest unanswered inquiry."""
    answers: dict[str, tuple[datetime, Answer]] = {}
    pending: dict[str, datetime] = {}
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _CHUNK):
        for row in conn.execute(
            select(eligibility_check).where(eligibility_check.c.member_key.in_(ordered[start : start + _CHUNK]))
        ):
            if row.answered_at is None:
                if row.member_key not in pending or row.requested_at > pending[row.member_key]:
                    pending[row.member_key] = row.requested_at
                continue
            found = Answer(row.coverage, row.verified_on, row.primary_payer, row.primary_payer_id, row.action)
            if row.member_key not in answers or row.answered_at > answers[row.member_key][0]:
                answers[row.member_key] = (row.answered_at, found)
    return {key: PairState(answers[key][1] if key in answers else None, _aware(pending.get(key))) for key in ordered}


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite gives back naive UTC instants
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _release_coverage_holds(conn: Connection, keys: Sequence[str], now: datetime) -> None:
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _CHUNK):
        conn.execute(
            update(claim_hold)
            .where(
                and_(
                    claim_hold.c.claim_key.in_(ordered[start : start + _CHUNK]),
                    claim_hold.c.stage == HOLD_STAGE,
                    claim_hold.c.released_at.is_(None),
                )
            )
            .values(released_at=now)
        )


def _record_reviews(
    conn: Connection,
    claims: Sequence[Claim],
    states: Mapping[str, PairState],
    held: Sequence[ClaimHold],
    today: date,
    window_days: int,
    now: datetime,
) -> None:
    """Each claim's pair, whether it was verified, and the decision, replacing the claim's earlier review."""
    reasons = {h.claim_key: h.reason for h in held}
    keys = [c.claim_key for c in claims]
    for start in range(0, len(keys), _CHUNK):
        conn.execute(delete(claim_coverage).where(claim_coverage.c.claim_key.in_(keys[start : start + _CHUNK])))
    rows = []
    for c in claims:
        reason = reasons.get(c.claim_key)
        decision = "send" if reason is None else ("awaiting" if reason.endswith(AWAITING) else "held")
        key = _key_of(c)
        rows.append(
            {
                "claim_key": c.claim_key,
                "payer_id": c.payer_id,
                "member_key": key,
                "verified": answer_is_current(states[key].answer, today, window_days),
                "decision": decision,
                "reviewed_at": now,
            }
        )
    if rows:
        conn.execute(insert(claim_coverage), rows)


def _open_coverage_holds(conn: Connection) -> set[str]:
    return set(
        conn.execute(
            select(claim_hold.c.claim_key).where(claim_hold.c.stage == HOLD_STAGE, claim_hold.c.released_at.is_(None))
        ).scalars()
    )


def _originator(sender: SenderIdentity) -> str:
    # TRN03: "9" + an assigned number, the same for every inquiry of this submitter
    digits = int(hashlib.sha256(sender.sender_id.encode()).hexdigest()[:12], 16) % 10**9
    return f"9{digits:09d}"


def _person(p: object) -> InquiredPerson:
    return InquiredPerson(
        last_name=p.last_name,  # type: ignore[attr-defined]
        first_name=p.first_name or None,  # type: ignore[attr-defined]
        birth_date=p.birth_date,  # type: ignore[attr-defined]
        gender=p.sex,  # type: ignore[attr-defined]
    )


def review_eligibility(
    engine: Engine,
    *,
    payers: Mapping[str, PayerProfile],
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
    now: datetime,
    today: date,
    window_days: int,
    unverified_payers: frozenset[str],
    send_inquiries: bool,
) -> EligibilityReview:
    """Hold or release every unsent claim by its pair's answer, then stage a 270 per payer for the pairs to ask.

    With ``send_inquiries`` False (the clearinghouse takes no batch 270) nothing is staged and no claim is held
    for want of an answer: every claim goes out unverified, and the verification rate says so.
    """
    review = EligibilityReview()
    outbound_dir.mkdir(parents=True, exist_ok=True)
    outbound_dir.chmod(0o700)
    finish_pending_renames(outbound_dir)
    renames: list[Path] = []
    with engine.begin() as conn:
        claims = unsent_claims(conn, payers)
        if not claims:
            return review
        states = pair_states(conn, [_key_of(c) for c in claims])
        held_before = _open_coverage_holds(conn)
        release: list[str] = []
        for c in claims:
            decision = decide(
                states[_key_of(c)],
                payer_name=c.payer_name,
                today=today,
                window_days=window_days,
                may_go_unverified=(not send_inquiries) or c.payer_id in unverified_payers,
                claim_primary_ids=frozenset(o.payer_id for o in c.other_payers if o.responsibility == "P"),
            )
            if decision.hold is None:
                if c.claim_key in held_before:
                    release.append(c.claim_key)
            else:
                review.held.append(
                    ClaimHold(
                        c.claim_key, c.payer_id, c.encounter_id, HOLD_STAGE, f"claim {c.claim_key}: {decision.hold}"
                    )
                )
        record_holds(conn, review.held, now)
        _record_reviews(conn, claims, states, review.held, today, window_days, now)
        _release_coverage_holds(conn, release, now)
        review.released = release
        if send_inquiries:
            asks: dict[tuple[str, str], dict[str, Claim]] = defaultdict(dict)
            asked: set[str] = set()
            for c in claims:
                key = _key_of(c)
                if key not in asked and needs_inquiry(states[key], today, now, window_days):
                    asked.add(key)
                    asks[(c.payer_id, c.billing_provider.npi)][key] = c
            for payer_id, npi in sorted(asks):
                pairs = asks[(payer_id, npi)]
                staging = _stage_270(conn, payers[payer_id], pairs, sender, outbound_dir, batch_date, created, now)
                renames.append(staging)
                review.inquiries += len(pairs)
                review.files.append(staging.with_suffix("").name)
    for staging in renames:
        staging.rename(staging.with_suffix(""))
    return review


def _stage_270(
    conn: Connection,
    payer: PayerProfile,
    pairs: Mapping[str, Claim],
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
    now: datetime,
) -> Path:
    control = next_control_number(conn, "isa13")
    queries = []
    traces: list[tuple[str, str]] = []
    for n, (key, c) in enumerate(sorted(pairs.items()), start=1):
        trace = f"EL{control:09d}N{n:05d}"
        traces.append((trace, key))
        first = min(line.service_date for line in c.lines)
        queries.append(
            EligibilityQuery(
                trace=trace,
                member_id=c.member_id,
                subscriber=_person(c.subscriber),
                service_date=first,
                patient=None if c.relationship == "18" else _person(c.patient),
            )
        )
    provider = next(iter(pairs.values())).billing_provider
    inquiry = EligibilityInquiry(
        payer_name=payer.name,
        payer_id=payer.payer_id,
        provider_name=provider.last_or_org_name,
        provider_npi=provider.npi,
        provider_first_name=provider.first_name,
        originator_id=_originator(sender),
        reference=f"EL{control:09d}",
        queries=tuple(queries),
    )
    envelope = payer_envelope(payer, sender, control, created, functional_id_code="HS", version=VERSION_270)
    content = write_270(inquiry, envelope)
    interchange_id, staging = stage_inquiry_interchange(
        conn,
        outbound_dir,
        transaction_type="270",
        payer=payer,
        sender=sender,
        control_number=control,
        content=content,
        batch_date=batch_date,
    )
    conn.execute(
        insert(eligibility_check),
        [
            {
                "trace": trace,
                "payer_id": payer.payer_id,
                "member_key": key,
                "interchange_id": interchange_id,
                "requested_at": now,
            }
            for trace, key in traces
        ],
    )
    return staging


def load_271(conn: Connection, source_file_id: int, data: bytes, now: datetime, today: date) -> tuple[int, int]:
    """Record what a 271 says about each inquiry it answers (matched by TRN02); returns (answered, unmatched)."""
    answered = unmatched = 0
    for response in read_271(data).responses:
        for member in response.members:
            trace = member.inquiry_trace
            if not trace:
                continue
            coverage, primary_name, primary_id, action = _finding(member)
            result = conn.execute(
                update(eligibility_check)
                .where(eligibility_check.c.trace == trace[:50], eligibility_check.c.answered_at.is_(None))
                .values(
                    answered_at=now,
                    source_file_id=source_file_id,
                    coverage=coverage,
                    primary_payer=primary_name,
                    primary_payer_id=primary_id,
                    action=action,
                    verified_on=today,
                )
            )
            if result.rowcount:
                answered += 1
            else:
                unmatched += 1
    return answered, unmatched


def _finding(member: object) -> tuple[str, str | None, str | None, str | None]:
    coverage = member.coverage  # type: ignore[attr-defined]
    primary = member.primary_payer  # type: ignore[attr-defined]
    if coverage == CoverageStatus.ACTIVE and primary is not None:
        return (
            OTHER_PRIMARY,
            (primary.name or None) if not primary.is_person else None,
            primary.identifier or None,
            None,
        )
    if coverage == CoverageStatus.ACTIVE:
        return ACTIVE, None, None, None
    if coverage == CoverageStatus.INACTIVE:
        return INACTIVE, None, None, None
    actions = member.actions  # type: ignore[attr-defined]
    return NO_ANSWER, None, None, (actions[0].action.value if actions else None)
