"""Claim status after the claim: a 276 for each silent claim, at most once a period, and the 277's answer kept.

A claim is silent when it was uploaded at least REVCYCLE_STATUS_INQUIRY_AFTER_DAYS ago (the payer's usual
lag) and is still submitted or accepted: no 835 adjudicated it. It gets one 276, recorded in
``status_inquiry`` in the same transaction as the interchange's ledger row, and no other until
REVCYCLE_STATUS_INQUIRY_EVERY_DAYS have passed. The 277 is recorded beside the inquiry; it informs and
never changes the claim's status (the 835 is authoritative).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, update

from revcycle.domain import Claim, ClaimStatus, Person
from revcycle.money import to_cents
from revcycle.payers import PayerProfile
from revcycle.rebuild import rebuilt_claims
from revcycle.submission import (
    SenderIdentity,
    finish_pending_renames,
    payer_envelope,
    stage_inquiry_interchange,
)
from revcycle.warehouse.ledger import next_control_number
from revcycle.warehouse.schema import claim, status_inquiry
from revcycle.x12.write276 import (
    VERSION_276,
    ClaimStatusInquiry,
    ClaimStatusQuery,
    ProviderQueries,
    StatusPerson,
    write_276,
)
from revcycle.x12.x277 import read_277

SILENT_STATUSES = (ClaimStatus.SUBMITTED.value, ClaimStatus.ACCEPTED.value)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def due_for_inquiry(
    submitted_at: datetime, last_inquiry_at: datetime | None, now: datetime, after_days: int, every_days: int
) -> bool:
    """True when a silent claim gets a 276 now: past its lag, and no 276 within the last ``every_days``."""
    if now - _utc(submitted_at) < timedelta(days=after_days):
        return False
    return last_inquiry_at is None or now - _utc(last_inquiry_at) >= timedelta(days=every_days)


@dataclass
class StatusInquiries:
    """What one night's status step staged."""

    claims: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def silent_claims(conn: Connection, now: datetime, after_days: int, every_days: int) -> list[str]:
    """The claim keys that get a 276 now (see ``due_for_inquiry``)."""
    last = (
        select(status_inquiry.c.claim_key, func.max(status_inquiry.c.requested_at).label("last"))
        .group_by(status_inquiry.c.claim_key)
        .subquery()
    )
    rows = conn.execute(
        select(claim.c.claim_key, claim.c.submitted_at, last.c.last)
        .outerjoin(last, last.c.claim_key == claim.c.claim_key)
        .where(claim.c.status.in_(SILENT_STATUSES), claim.c.submitted_at.is_not(None))
        .order_by(claim.c.claim_key)
    )
    return [r.claim_key for r in rows if due_for_inquiry(r.submitted_at, r.last, now, after_days, every_days)]


def _person(p: Person, with_birth_date: bool) -> StatusPerson:
    return StatusPerson(
        p.last_name, p.first_name or None, p.birth_date if with_birth_date else None, p.sex if with_birth_date else None
    )


def stage_status_inquiries(
    engine: Engine,
    *,
    payers: Mapping[str, PayerProfile],
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
    now: datetime,
    after_days: int,
    every_days: int,
) -> StatusInquiries:
    """Stage one 276 per payer and provider for every silent claim due an inquiry; record each in the ledger."""
    result = StatusInquiries()
    outbound_dir.mkdir(parents=True, exist_ok=True)
    finish_pending_renames(outbound_dir)
    renames: list[Path] = []
    with engine.begin() as conn:
        keys = silent_claims(conn, now, after_days, every_days)
        if not keys:
            return result
        numbers = dict(
            conn.execute(select(claim.c.claim_key, claim.c.payer_claim_number).where(claim.c.claim_key.in_(keys)))
            .tuples()
            .all()
        )
        groups: dict[tuple[str, str], list[Claim]] = defaultdict(list)
        for c in rebuilt_claims(conn, keys, payers):
            groups[(c.payer_id, c.billing_provider.npi)].append(c)
        for payer_id, npi in sorted(groups):
            claims = groups[(payer_id, npi)]
            staging = _stage_276(
                conn, payers[payer_id], claims, numbers, sender, outbound_dir, batch_date, created, now
            )
            renames.append(staging)
            result.files.append(staging.with_suffix("").name)
            result.claims += [c.claim_key for c in claims]
    for staging in renames:
        staging.rename(staging.with_suffix(""))
    return result


def _stage_276(
    conn: Connection,
    payer: PayerProfile,
    claims: list[Claim],
    numbers: Mapping[str, str | None],
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
    now: datetime,
) -> Path:
    control = next_control_number(conn, "isa13")
    traces = [(f"ST{control:09d}N{n:05d}", c) for n, c in enumerate(sorted(claims, key=lambda c: c.claim_key), 1)]
    queries = tuple(
        ClaimStatusQuery(
            trace=trace,
            claim_key=c.claim_key,
            member_id=c.member_id,
            subscriber=_person(c.subscriber, False),
            total_charge=c.total_charge,
            service_date=min(line.service_date for line in c.lines),
            service_date_end=max(line.service_date for line in c.lines),
            payer_claim_number=numbers.get(c.claim_key) or None,
            patient=None if c.relationship == "18" else _person(c.patient, True),
        )
        for trace, c in traces
    )
    provider = claims[0].billing_provider
    inquiry = ClaimStatusInquiry(
        payer_name=payer.name,
        payer_id=payer.payer_id,
        receiver_name=sender.submitter.name,
        receiver_id=sender.sender_id,
        reference=f"ST{control:09d}",
        providers=(ProviderQueries(provider.npi, provider.last_or_org_name, queries, provider.first_name),),
    )
    envelope = payer_envelope(payer, sender, control, created, functional_id_code="HR", version=VERSION_276)
    content = write_276(inquiry, envelope)
    interchange_id, staging = stage_inquiry_interchange(
        conn,
        outbound_dir,
        transaction_type="276",
        payer=payer,
        sender=sender,
        control_number=control,
        content=content,
        batch_date=batch_date,
    )
    conn.execute(
        insert(status_inquiry),
        [
            {
                "trace": trace,
                "claim_key": c.claim_key,
                "payer_id": payer.payer_id,
                "interchange_id": interchange_id,
                "requested_at": now,
            }
            for trace, c in traces
        ],
    )
    return staging


def load_277(conn: Connection, source_file_id: int, data: bytes, now: datetime) -> tuple[int, int]:
    """Record each 277 claim status beside the 276 it answers (by TRN02); returns (answered, unmatched).

    The claim's own status is left as it is: a 277 informs, the 835 adjudicates.
    """
    answered = unmatched = 0
    for response in read_277(data).responses:
        for report in response.claims:
            first = report.reports[0] if report.reports else None
            code = first.statuses[0] if first is not None and first.statuses else None
            result = conn.execute(
                update(status_inquiry)
                .where(status_inquiry.c.trace == report.trace[:50], status_inquiry.c.answered_at.is_(None))
                .values(
                    answered_at=now,
                    source_file_id=source_file_id,
                    category=code.category[:4] if code else None,
                    status_code=code.code[:8] if code else None,
                    entity=(code.entity or None) if code else None,
                    payer_claim_number=report.payer_claim_number[:50] or None,
                    effective_date=first.effective_date if first else None,
                    adjudicated_on=first.adjudicated if first else None,
                    paid_cents=to_cents(first.paid) if first is not None and first.paid is not None else None,
                )
            )
            if report.trace and result.rowcount:
                answered += 1
            else:
                unmatched += 1
    return answered, unmatched
