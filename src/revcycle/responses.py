"""Load what the clearinghouse sends back (TA1, 999, 277CA, 835) into the warehouse, in one transaction.

Matching: a 999's AK1 (GS06) and a TA1's TA101 name our interchange (we write GS06 = ISA13); a 277CA's
TRN02 and an 835's CLP01 name our claim (CLM01). A remittance claim that matches no claim we sent goes
to ``remittance_suspense``. A remittance whose payer trace number was posted before is not posted again.
Every claim state change is an event naming the file; the current status is derived from the events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from revcycle.domain import ClaimStatus
from revcycle.lifecycle import adjudication_status, derive_status
from revcycle.money import to_cents
from revcycle.warehouse.ledger import inserted_id, mark_source_file_loaded, utcnow
from revcycle.warehouse.schema import (
    acknowledgment,
    adjustment,
    claim,
    claim_event,
    claim_status,
    interchange,
    provider_adjustment,
    remark,
    remittance,
    remittance_claim,
    remittance_service,
    remittance_suspense,
)
from revcycle.x12.reader import read_segments
from revcycle.x12.x277ca import read_277ca
from revcycle.x12.x835 import ClaimPayment, Remittance835, read_835
from revcycle.x12.x999 import read_999

log = logging.getLogger(__name__)

DUPLICATE_INTERCHANGE_NOTE = "025"


@dataclass(frozen=True)
class LoadSummary:
    """What loading one file did (kinds and counts only)."""

    kind: str
    rows: int
    problems: int
    events: int = 0
    unmatched: int = 0


def detect_kind(data: bytes) -> str:
    """The kind of an X12 file from its first TA1 or ST segment: 835, 999, 277CA, TA1, 837P ... or unknown."""
    for segment in read_segments(data):
        if segment.id == "TA1":
            return "TA1"
        if segment.id == "ST":
            set_id = segment.get(1)
            version = segment.get(3)
            if set_id == "277" and "X214" in version:
                return "277CA"
            if set_id == "837":
                return "837I" if "X223" in version else "837P"
            return set_id or "unknown"
    return "unknown"


def _known_claims(conn: Connection, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            conn.execute(select(claim.c.claim_key).where(claim.c.claim_key.in_(wanted[start : start + 500]))).scalars()
        )
    return found


def _add_events(conn: Connection, events: list[tuple[str, ClaimStatus, str]], source_file_id: int) -> int:
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
        history: dict[str, list[ClaimStatus]] = {key: [] for key in chunk}
        for row in conn.execute(
            select(claim_event.c.claim_key, claim_event.c.status)
            .where(claim_event.c.claim_key.in_(chunk))
            .order_by(claim_event.c.id)
        ):
            history[row.claim_key].append(ClaimStatus(row.status))
        for key, events in history.items():
            conn.execute(
                update(claim).where(claim.c.claim_key == key).values(status=derive_status(events).value, status_at=now)
            )


def _claims_of_interchange(conn: Connection, control_number: int) -> tuple[int | None, list[str]]:
    interchange_id = conn.execute(
        select(interchange.c.id).where(interchange.c.control_number == control_number)
    ).scalar_one_or_none()
    if interchange_id is None:
        return None, []
    keys = list(conn.execute(select(claim.c.claim_key).where(claim.c.interchange_id == interchange_id)).scalars())
    return interchange_id, keys


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _load_999(conn: Connection, source_file_id: int, data: bytes) -> LoadSummary:
    parsed = read_999(data)
    rows = 0
    events: list[tuple[str, ClaimStatus, str]] = []
    for ack in parsed.acks:
        control_number = _int_or_none(ack.group_control_number)
        for transaction in ack.transactions or []:
            conn.execute(
                insert(acknowledgment).values(
                    source_file_id=source_file_id,
                    kind="999",
                    interchange_control_number=control_number,
                    transaction_control_number=transaction.control_number[:9],
                    code=(transaction.status or "?")[:2],
                    error_count=len(transaction.segment_errors) + len(transaction.error_codes),
                )
            )
            rows += 1
        if control_number is None:
            continue
        interchange_id, keys = _claims_of_interchange(conn, control_number)
        if interchange_id is None:
            log.warning("999 acknowledges interchange %s, which we did not send", control_number)
            continue
        rejected = ack.status in {"R", "M", "W", "X"} or any(t.status == "R" for t in ack.transactions)
        conn.execute(
            update(interchange)
            .where(interchange.c.id == interchange_id)
            .values(
                state="rejected" if rejected else "accepted",
                acknowledged_at=utcnow(),
                ack_code=ack.status[:2],
            )
        )
        if rejected:
            events.extend((key, ClaimStatus.REJECTED, f"999 {ack.status}") for key in keys)
    count = _add_events(conn, events, source_file_id)
    return LoadSummary("999", rows, len(parsed.problems), count)


def _load_ta1(conn: Connection, source_file_id: int, data: bytes) -> LoadSummary:
    parsed = read_999(data)
    events: list[tuple[str, ClaimStatus, str]] = []
    for ta1 in parsed.ta1s:
        control_number = _int_or_none(ta1.control_number)
        conn.execute(
            insert(acknowledgment).values(
                source_file_id=source_file_id,
                kind="TA1",
                interchange_control_number=control_number,
                code=ta1.ack_code[:2] or "?",
                note_code=ta1.note_code[:3],
                error_count=0 if ta1.ack_code == "A" else 1,
            )
        )
        if control_number is None or ta1.ack_code == "A":
            continue
        if ta1.note_code == DUPLICATE_INTERCHANGE_NOTE:
            # The clearinghouse already has this interchange: our resend after an unknowable crash window.
            log.info("TA1 025 for interchange %s: already received by the clearinghouse", control_number)
            continue
        interchange_id, keys = _claims_of_interchange(conn, control_number)
        if interchange_id is not None:
            conn.execute(
                update(interchange).where(interchange.c.id == interchange_id).values(state="rejected", ack_code="TR")
            )
            events.extend((key, ClaimStatus.REJECTED, f"TA1 {ta1.note_code}") for key in keys)
    count = _add_events(conn, events, source_file_id)
    return LoadSummary("TA1", len(parsed.ta1s), len(parsed.problems), count)


def _load_277ca(conn: Connection, source_file_id: int, data: bytes) -> LoadSummary:
    parsed = read_277ca(data)
    statuses = [s for ack in parsed.acks for s in ack.claims]
    known = _known_claims(conn, (s.claim_key for s in statuses))
    events: list[tuple[str, ClaimStatus, str]] = []
    for status in statuses:
        first = status.statuses[0] if status.statuses else None
        accepted = status.accepted
        conn.execute(
            insert(claim_status).values(
                source_file_id=source_file_id,
                claim_key=status.claim_key[:38],
                category=(first.category if first else "")[:4],
                status_code=(first.code if first else "")[:8],
                entity=(first.entity if first else "")[:4],
                accepted=bool(accepted),
                payer_claim_number=status.payer_claim_number or None,
                matched=status.claim_key in known,
            )
        )
        if status.claim_key not in known or accepted is None:
            continue
        new_status = ClaimStatus.ACCEPTED if accepted else ClaimStatus.REJECTED
        events.append((status.claim_key, new_status, f"277CA {status.category}:{first.code if first else ''}"))
        if status.payer_claim_number:
            conn.execute(
                update(claim)
                .where(claim.c.claim_key == status.claim_key)
                .values(payer_claim_number=status.payer_claim_number)
            )
    count = _add_events(conn, events, source_file_id)
    return LoadSummary(
        "277CA",
        len(statuses),
        len(parsed.problems),
        count,
        len(statuses) - len(known & {s.claim_key for s in statuses}),
    )


def _has_denied_line(payment: ClaimPayment) -> bool:
    return any(
        service.paid == 0 and service.charge > 0 and not any(a.group == "PR" for a in service.adjustments)
        for service in payment.services
    )


def _insert_adjustments(
    conn: Connection, remittance_claim_id: int, service_id: int | None, items: Iterable[object]
) -> None:
    rows = [
        {
            "remittance_claim_id": remittance_claim_id,
            "remittance_service_id": service_id,
            "group_code": item.group[:2],  # type: ignore[attr-defined]
            "reason_code": item.reason[:5],  # type: ignore[attr-defined]
            "amount_cents": to_cents(item.amount),  # type: ignore[attr-defined]
            "quantity": None if item.quantity is None else str(item.quantity),  # type: ignore[attr-defined]
        }
        for item in items
    ]
    if rows:
        conn.execute(insert(adjustment), rows)


def _insert_remarks(conn: Connection, remittance_claim_id: int, service_id: int | None, codes: Iterable[str]) -> None:
    rows = [
        {"remittance_claim_id": remittance_claim_id, "remittance_service_id": service_id, "code": code[:8]}
        for code in codes
    ]
    if rows:
        conn.execute(insert(remark), rows)


def _post_remittance(
    conn: Connection, source_file_id: int, remit: Remittance835, known: set[str]
) -> tuple[int, list[tuple[str, ClaimStatus, str]], int]:
    payer_identifier = remit.payment.originator_id or remit.payer_id or remit.payer.name
    if conn.execute(
        select(remittance.c.id).where(
            remittance.c.trace_number == remit.payment.trace_number,
            remittance.c.payer_identifier == payer_identifier,
        )
    ).first():
        log.info("remittance trace %s was posted before; not posted again", remit.payment.trace_number)
        return 0, [], 0
    remittance_id = inserted_id(
        conn.execute(
            insert(remittance).values(
                source_file_id=source_file_id,
                trace_number=remit.payment.trace_number,
                payer_identifier=payer_identifier,
                payer_name=remit.payer.name[:120] or None,
                payment_cents=to_cents(remit.payment.amount),
                method=remit.payment.method[:3] or None,
                payment_date=remit.payment.date,
                payee_npi=remit.payee.id[:10] if remit.payee.id_qualifier == "XX" else None,
                balance_problem_count=len(remit.balance_problems),
            )
        )
    )
    events: list[tuple[str, ClaimStatus, str]] = []
    unmatched = 0
    for sequence, payment in enumerate(remit.claims, start=1):
        matched = payment.patient_control_number in known
        remittance_claim_id = inserted_id(
            conn.execute(
                insert(remittance_claim).values(
                    remittance_id=remittance_id,
                    sequence=sequence,
                    claim_key=payment.patient_control_number[:38],
                    status_code=payment.status[:2],
                    charge_cents=to_cents(payment.charge),
                    paid_cents=to_cents(payment.paid),
                    patient_responsibility_cents=to_cents(payment.patient_responsibility or Decimal(0)),
                    payer_claim_number=payment.payer_claim_number[:50] or None,
                    matched=matched,
                )
            )
        )
        _insert_adjustments(conn, remittance_claim_id, None, payment.adjustments)
        _insert_remarks(conn, remittance_claim_id, None, [*payment.outpatient_remarks, *payment.inpatient_remarks])
        for service_sequence, service in enumerate(payment.services, start=1):
            service_id = inserted_id(
                conn.execute(
                    insert(remittance_service).values(
                        remittance_claim_id=remittance_claim_id,
                        sequence=service_sequence,
                        qualifier=service.qualifier[:2],
                        procedure_code=service.code[:48],
                        modifiers=":".join(service.modifiers)[:16],
                        charge_cents=to_cents(service.charge),
                        paid_cents=to_cents(service.paid),
                        units=None if service.units is None else str(service.units),
                    )
                )
            )
            _insert_adjustments(conn, remittance_claim_id, service_id, service.adjustments)
            _insert_remarks(conn, remittance_claim_id, service_id, service.remarks)
        if not matched:
            unmatched += 1
            conn.execute(
                insert(remittance_suspense).values(
                    remittance_claim_id=remittance_claim_id,
                    reason="CLP01 matches no claim we sent",
                    created_at=utcnow(),
                )
            )
            continue
        status = adjudication_status(
            payment.status,
            payment.paid,
            payment.patient_responsibility or Decimal(0),
            _has_denied_line(payment),
        )
        events.append((payment.patient_control_number, status, f"835 CLP02 {payment.status}"))
        if payment.payer_claim_number:
            conn.execute(
                update(claim)
                .where(claim.c.claim_key == payment.patient_control_number)
                .values(payer_claim_number=payment.payer_claim_number)
            )
    for plb in remit.provider_adjustments:
        conn.execute(
            insert(provider_adjustment).values(
                remittance_id=remittance_id,
                reason=plb.reason[:4],
                reference=plb.reference[:50] or None,
                amount_cents=to_cents(plb.amount),
            )
        )
    return len(remit.claims), events, unmatched


def _load_835(conn: Connection, source_file_id: int, data: bytes) -> LoadSummary:
    parsed = read_835(data)
    known = _known_claims(conn, (c.patient_control_number for r in parsed.remittances for c in r.claims))
    rows = 0
    unmatched = 0
    events: list[tuple[str, ClaimStatus, str]] = []
    for remit in parsed.remittances:
        posted, remit_events, remit_unmatched = _post_remittance(conn, source_file_id, remit, known)
        rows += posted
        unmatched += remit_unmatched
        events.extend(remit_events)
    count = _add_events(conn, events, source_file_id)
    problems = len(parsed.problems) + sum(len(r.balance_problems) for r in parsed.remittances)
    return LoadSummary("835", rows, problems, count, unmatched)


def load_response(conn: Connection, source_file_id: int, data: bytes, name: str) -> LoadSummary:
    """Load one received X12 file of any kind and mark it loaded, in the caller's transaction."""
    kind = detect_kind(data)
    if kind == "999":
        summary = _load_999(conn, source_file_id, data)
    elif kind == "TA1":
        summary = _load_ta1(conn, source_file_id, data)
    elif kind == "277CA":
        summary = _load_277ca(conn, source_file_id, data)
    elif kind == "835":
        summary = _load_835(conn, source_file_id, data)
    else:
        log.warning("file %s holds %s, which revcycle does not load; kept in the ledger", name, kind)
        summary = LoadSummary(kind, 0, 1)
    mark_source_file_loaded(conn, source_file_id, rows=summary.rows, problems=summary.problems, kind=summary.kind)
    return summary
