"""Load what the clearinghouse sends back (TA1, 999, 277CA, 835, 271, 277) into the warehouse, in one transaction.

Grain: the transaction set. A 999, 277CA or 835 set posts whole, and only when it is intact: its own
ST..SE, its group's GS..GE and its interchange's ISA..IEA (``revcycle.refusals``), and for an 835 a trace
number and amounts the warehouse can hold. Every other set is recorded in ``refused_transaction_set``
with a code and a message without values, and nothing of it is written; the file's intact sets post.
Each set is checked before anything of it is written, and posted by one function of its own
(``_post_ack999``, ``_post_277ca_set``, ``_post_remittance``), so a loader that streams set by set can call
the same functions.

Matching: a 999's AK1 (GS06) and a TA1's TA101 name our interchange (we write GS06 = ISA13); a 277CA's
TRN02 and an 835's CLP01 name our claim (CLM01). A remittance claim that matches no claim we sent goes
to ``remittance_suspense``. A remittance whose payer trace number was posted before is not posted again;
the trace number is recorded only for sets that posted, so a complete copy of a refused set posts later.
Every claim state change is an event naming the file; the current status is derived from the events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, insert, select, update

from revcycle.clock import clock_in_force
from revcycle.domain import ClaimStatus
from revcycle.eligibility_batch import load_271
from revcycle.lifecycle import adjudication_status, derive_status
from revcycle.money import to_cents
from revcycle.refusals import SetRefusal, envelope_refusal, refusal
from revcycle.status_inquiry import load_277
from revcycle.warehouse.bulk import insert_new_rows, insert_once, reserve_ids
from revcycle.warehouse.ledger import mark_source_file_loaded, utcnow
from revcycle.warehouse.schema import (
    acknowledgment,
    adjustment,
    claim,
    claim_event,
    claim_status,
    interchange,
    provider_adjustment,
    refused_transaction_set,
    remark,
    remittance,
    remittance_claim,
    remittance_service,
    remittance_suspense,
)
from revcycle.x12.reader import TransactionSetEnvelope, read_segments
from revcycle.x12.x277ca import Ack277CA, read_277ca
from revcycle.x12.x835 import Adjustment, ClaimPayment, Remittance835, read_835
from revcycle.x12.x999 import Ack999, read_999

log = logging.getLogger(__name__)

DUPLICATE_INTERCHANGE_NOTE = "025"


T = TypeVar("T")


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


# The largest amount a set may carry: cents are kept in 64-bit integers (about 9.2e16 dollars), and sums of
# several amounts must fit too. No payment comes near it; an amount beyond it is a damaged or hostile file.
MAX_AMOUNT = Decimal(10) ** 16
# Quantities (SVC05, CAS quantities) are kept as text of at most this many characters.
MAX_QUANTITY_LENGTH = 16
MAX_TRACE_LENGTH = 50  # TRN02, its X12 maximum and the width of remittance.trace_number


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


def _intact_sets(
    envelopes: Sequence[TransactionSetEnvelope],
    set_id: str,
    kind: str,
    built: Mapping[int, T],
    refused: list[RefusedSet],
) -> list[T]:
    """The built transaction sets whose envelopes are intact, in file order; every other set goes to ``refused``.

    ``built`` maps an ST position to the set the reader built from it. A set of another type than ``set_id``
    is refused as UNEXPECTED_TRANSACTION (the file's reader does not build it).
    """
    intact: list[T] = []
    for envelope in envelopes:
        transaction = built.get(envelope.start) if envelope.set_id == set_id else None
        if transaction is None:
            refused.append(_refused(envelope, envelope.set_id[:8] or "?", refusal("UNEXPECTED_TRANSACTION")))
            continue
        reason = envelope_refusal(envelope)
        if reason is None:
            intact.append(transaction)
        else:
            refused.append(_refused(envelope, kind, reason))
    return intact


def _refused(envelope: TransactionSetEnvelope, kind: str, reason: SetRefusal) -> RefusedSet:
    return RefusedSet(envelope.ordinal, kind, envelope.control_number[:9], reason.code, reason.message)


def _record_refusals(conn: Connection, source_file_id: int, name: str, refused: Sequence[RefusedSet]) -> None:
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
        conn.execute(
            update(claim)
            .where(claim.c.claim_key == bindparam("claim_key_"))
            .values(status=bindparam("new_status"), status_at=now),
            [{"claim_key_": key, "new_status": derive_status(events).value} for key, events in history.items()],
        )


def _claims_of_interchange(conn: Connection, control_number: int) -> tuple[int | None, list[str]]:
    interchange_id = conn.execute(
        select(interchange.c.id).where(interchange.c.control_number == control_number)
    ).scalar_one_or_none()
    if interchange_id is None:
        return None, []
    keys = list(conn.execute(select(claim.c.claim_key).where(claim.c.interchange_id == interchange_id)).scalars())
    return interchange_id, keys


# The 835 reader's codes for an amount it could not read (a required one missing included): posting such a
# set would record a payment nobody sent.
UNREADABLE_AMOUNT_CODES = frozenset({"BAD_NUMBER", "CAS_INCOMPLETE", "MISSING_ELEMENT"})
MAX_CONTROL_DIGITS = 18  # a control number the BIGINT columns hold (ISA13 and GS06 are at most 9 digits)


def _int_or_none(text: str) -> int | None:
    # str.isdigit() also accepts superscripts and other scripts' digits, which int() refuses or reads otherwise.
    digits = text.strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= MAX_CONTROL_DIGITS:
        return int(digits)
    return None


def _post_ack999(conn: Connection, source_file_id: int, ack: Ack999) -> tuple[int, int]:
    """Post one intact 999 transaction set: its acknowledgment rows and its verdict on our interchange."""
    rows = 0
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
        return rows, 0
    interchange_id, keys = _claims_of_interchange(conn, control_number)
    if interchange_id is None:
        log.warning("999 acknowledges interchange %s, which we did not send", control_number)
        return rows, 0
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
    events = [(key, ClaimStatus.REJECTED, f"999 {ack.status}") for key in keys] if rejected else []
    return rows, _add_events(conn, events, source_file_id)


def _load_999(conn: Connection, source_file_id: int, data: bytes, name: str) -> LoadSummary:
    parsed = read_999(data)
    refused: list[RefusedSet] = []
    intact = _intact_sets(parsed.sets, "999", "999", {ack.segment: ack for ack in parsed.acks}, refused)
    rows = events = 0
    for ack in intact:
        posted_rows, posted_events = _post_ack999(conn, source_file_id, ack)
        rows += posted_rows
        events += posted_events
    _record_refusals(conn, source_file_id, name, refused)
    return LoadSummary("999", rows, len(parsed.problems), events, refused=tuple(refused), sets=len(parsed.sets))


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


def _post_277ca_set(conn: Connection, source_file_id: int, ack: Ack277CA) -> tuple[int, int, int]:
    """Post one intact 277CA transaction set: a claim_status row per claim and the events of our claims.

    Returns (claim statuses, events, statuses matching no claim we sent).
    """
    statuses = ack.claims
    known = _known_claims(conn, (s.claim_key for s in statuses))
    events: list[tuple[str, ClaimStatus, str]] = []
    rows: list[dict[str, object]] = []
    numbers: list[dict[str, str]] = []
    for status in statuses:
        first = status.statuses[0] if status.statuses else None
        accepted = status.accepted
        rows.append(
            {
                "source_file_id": source_file_id,
                "claim_key": status.claim_key[:38],
                "category": (first.category if first else "")[:4],
                "status_code": (first.code if first else "")[:8],
                "entity": (first.entity if first else "")[:4],
                "accepted": bool(accepted),
                "payer_claim_number": status.payer_claim_number[:50] or None,
                "matched": status.claim_key in known,
            }
        )
        if status.claim_key not in known or accepted is None:
            continue
        new_status = ClaimStatus.ACCEPTED if accepted else ClaimStatus.REJECTED
        events.append((status.claim_key, new_status, f"277CA {status.category}:{first.code if first else ''}"))
        if status.payer_claim_number:
            numbers.append({"claim_key_": status.claim_key, "number_": status.payer_claim_number[:50]})
    if rows:
        conn.execute(insert(claim_status), rows)
    if numbers:
        conn.execute(
            update(claim)
            .where(claim.c.claim_key == bindparam("claim_key_"))
            .values(payer_claim_number=bindparam("number_")),
            numbers,
        )
    unmatched = sum(1 for status in statuses if status.claim_key not in known)
    return len(statuses), _add_events(conn, events, source_file_id), unmatched


def _load_277ca(conn: Connection, source_file_id: int, data: bytes, name: str) -> LoadSummary:
    parsed = read_277ca(data)
    refused: list[RefusedSet] = []
    intact = _intact_sets(parsed.sets, "277", "277CA", {ack.segment: ack for ack in parsed.acks}, refused)
    rows = events = unmatched = 0
    for ack in intact:
        posted_rows, posted_events, posted_unmatched = _post_277ca_set(conn, source_file_id, ack)
        rows += posted_rows
        events += posted_events
        unmatched += posted_unmatched
    _record_refusals(conn, source_file_id, name, refused)
    return LoadSummary(
        "277CA", rows, len(parsed.problems), events, unmatched, refused=tuple(refused), sets=len(parsed.sets)
    )


def _has_denied_line(payment: ClaimPayment) -> bool:
    return any(
        service.paid == 0 and service.charge > 0 and not any(a.group == "PR" for a in service.adjustments)
        for service in payment.services
    )


def _payer_identifier(remit: Remittance835) -> str:
    # The second half of the duplicate key: cut to the column's width the same way every time.
    return remit.payment.originator_id.strip()[:50]


def _claim_remittance(conn: Connection, source_file_id: int, remit: Remittance835) -> int | None:
    """Insert the remittance unless its payer trace number was posted before: its new id, or None."""
    return insert_once(
        conn,
        remittance,
        {
            "source_file_id": source_file_id,
            "trace_number": remit.payment.trace_number.strip(),
            "payer_identifier": _payer_identifier(remit),
            "payer_name": remit.payer.name[:120] or None,
            "payment_cents": to_cents(remit.payment.amount),
            "method": remit.payment.method[:3] or None,
            "payment_date": remit.payment.date,
            "payee_npi": remit.payee.id[:10] if remit.payee.id_qualifier == "XX" else None,
            "balance_problem_count": len(remit.balance_problems),
        },
        REMITTANCE_KEY,
    )


@dataclass
class _Posting:
    """The rows of one fresh remittance (one 835 transaction set), built in memory and then inserted in bulk."""

    claims: list[tuple[Any, ...]] = field(default_factory=list)
    services: list[tuple[Any, ...]] = field(default_factory=list)
    adjustments: list[tuple[Any, ...]] = field(default_factory=list)
    remarks: list[tuple[Any, ...]] = field(default_factory=list)
    suspense: list[int] = field(default_factory=list)
    reversals: list[tuple[int, str, int, int]] = field(default_factory=list)
    payer_claim_numbers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, ClaimStatus, str]] = field(default_factory=list)


REMITTANCE_KEY = ("trace_number", "payer_identifier")

_CLAIM_COLUMNS = (
    "id",
    "remittance_id",
    "sequence",
    "claim_key",
    "status_code",
    "charge_cents",
    "paid_cents",
    "patient_responsibility_cents",
    "payer_claim_number",
    "matched",
)
_SERVICE_COLUMNS = (
    "id",
    "remittance_claim_id",
    "sequence",
    "qualifier",
    "procedure_code",
    "modifiers",
    "charge_cents",
    "paid_cents",
    "units",
)
_ADJUSTMENT_COLUMNS = (
    "remittance_claim_id",
    "remittance_service_id",
    "sequence",
    "group_code",
    "reason_code",
    "amount_cents",
    "quantity",
)
_REMARK_COLUMNS = ("remittance_claim_id", "remittance_service_id", "sequence", "code")


def _build_claim_rows(
    posting: _Posting,
    remittance_id: int,
    payment: ClaimPayment,
    sequence: int,
    ids: tuple[Iterator[int], Iterator[int]],
    known: set[str],
) -> None:
    claim_ids, service_ids = ids
    claim_id = next(claim_ids)
    key = payment.patient_control_number
    matched = key in known
    paid_cents = to_cents(payment.paid)
    charge_cents = to_cents(payment.charge)
    posting.claims.append(
        (
            claim_id,
            remittance_id,
            sequence,
            key[:38],
            payment.status[:2],
            charge_cents,
            paid_cents,
            to_cents(payment.patient_responsibility or Decimal(0)),
            payment.payer_claim_number[:50] or None,
            matched,
        )
    )
    order = 0
    for item in payment.adjustments:
        order += 1
        posting.adjustments.append(_adjustment_row(claim_id, None, order, item))
    for code in payment.remarks:
        order += 1
        posting.remarks.append((claim_id, None, order, code[:8]))
    for service_sequence, service in enumerate(payment.services, start=1):
        service_id = next(service_ids)
        posting.services.append(
            (
                service_id,
                claim_id,
                service_sequence,
                service.qualifier[:2],
                service.code[:48],
                ":".join(service.modifiers)[:16],
                to_cents(service.charge),
                to_cents(service.paid),
                None if service.units is None else str(service.units),
            )
        )
        for item in service.adjustments:
            order += 1
            posting.adjustments.append(_adjustment_row(claim_id, service_id, order, item))
        for code in service.remarks:
            order += 1
            posting.remarks.append((claim_id, service_id, order, code[:8]))
    if not matched:
        posting.suspense.append(claim_id)
        return
    status = adjudication_status(
        payment.status, payment.paid, payment.patient_responsibility or Decimal(0), _has_denied_line(payment)
    )
    posting.events.append((key, status, f"835 CLP02 {payment.status}"))
    if status == ClaimStatus.REVERSED:
        posting.reversals.append((claim_id, key, paid_cents, charge_cents))
    elif payment.payer_claim_number:
        posting.payer_claim_numbers[key] = payment.payer_claim_number


def _adjustment_row(claim_id: int, service_id: int | None, order: int, item: Adjustment) -> tuple[Any, ...]:
    return (
        claim_id,
        service_id,
        order,
        item.group[:2],
        item.reason[:5],
        to_cents(item.amount),
        None if item.quantity is None else str(item.quantity),
    )


def _link_reversals(conn: Connection, reversals: Sequence[tuple[int, str, int, int]]) -> None:
    """Point each reversed posting at the reversal that cancelled it (the same amounts, negated, first)."""
    for reversal_id, key, paid_cents, charge_cents in reversals:
        candidates = conn.execute(
            select(remittance_claim.c.id, remittance_claim.c.paid_cents, remittance_claim.c.charge_cents)
            .where(
                remittance_claim.c.claim_key == key,
                remittance_claim.c.matched,
                remittance_claim.c.status_code != "22",
                remittance_claim.c.reversed_by_id.is_(None),
                remittance_claim.c.id != reversal_id,
            )
            .order_by(remittance_claim.c.id)
        ).all()
        if not candidates:
            log.warning("reversal of claim %s matches no posting still standing", key)
            continue
        exact = [c for c in candidates if c.paid_cents == -paid_cents and c.charge_cents == -charge_cents]
        target = (exact or candidates)[0]
        conn.execute(
            update(remittance_claim).where(remittance_claim.c.id == target.id).values(reversed_by_id=reversal_id)
        )


def _amounts(remit: Remittance835) -> Iterator[Decimal]:
    yield remit.payment.amount
    for payment in remit.claims:
        yield payment.charge
        yield payment.paid
        if payment.patient_responsibility is not None:
            yield payment.patient_responsibility
        for item in payment.adjustments:
            yield item.amount
        for service in payment.services:
            yield service.charge
            yield service.paid
            for item in service.adjustments:
                yield item.amount
    for plb in remit.provider_adjustments:
        yield plb.amount


def _quantities(remit: Remittance835) -> Iterator[Decimal]:
    for payment in remit.claims:
        for item in payment.adjustments:
            if item.quantity is not None:
                yield item.quantity
        for service in payment.services:
            if service.units is not None:
                yield service.units
            for item in service.adjustments:
                if item.quantity is not None:
                    yield item.quantity


def remittance_refusal(remit: Remittance835) -> SetRefusal | None:
    """Why an 835 set with an intact envelope still may not post, checked before anything of it is written.

    A payment needs its TRN02 trace number (the duplicate key), and every amount and quantity must fit the
    warehouse's columns: a value that does not would fail the file's whole transaction instead of this set.
    """
    trace = remit.payment.trace_number.strip()
    if not trace:
        return refusal("MISSING_TRACE")
    if len(trace) > MAX_TRACE_LENGTH:
        return refusal("TRACE_TOO_LONG")
    if not remit.payment.originator_id.strip():
        # Required by the 835 guide; falling back to the N1*PR id or name would give one payment two keys.
        return refusal("MISSING_PAYER_IDENTIFIER")
    if any(problem.code in UNREADABLE_AMOUNT_CODES for problem in remit.problems):
        return refusal("UNREADABLE_AMOUNT")
    if any(abs(amount) >= MAX_AMOUNT for amount in _amounts(remit)):
        return refusal("AMOUNT_OUT_OF_RANGE")
    if any(len(str(quantity)) > MAX_QUANTITY_LENGTH for quantity in _quantities(remit)):
        return refusal("VALUE_TOO_LONG")
    return None


@dataclass(frozen=True)
class _Posted:
    """What posting one remittance wrote: claims, claim events, and claims matching no claim we sent."""

    claims: int
    events: int
    unmatched: int


def _post_remittance(conn: Connection, source_file_id: int, remit: Remittance835) -> _Posted | None:
    """Post one intact 835 transaction set whole; None when its payer trace number was posted before.

    The remittance row is the duplicate key (trace number, payer): it is written here and only here, so a
    set that never posted leaves no key behind.
    """
    remittance_id = _claim_remittance(conn, source_file_id, remit)
    if remittance_id is None:
        log.info("remittance trace %s was posted before; not posted again", remit.payment.trace_number)
        return None
    known = _known_claims(conn, (c.patient_control_number for c in remit.claims))
    # Every row below hangs from the remittance this transaction just inserted, under ids it just reserved:
    # none can exist yet, so they go straight into their tables (a duplicate would be a bug, and fails).
    claim_ids = reserve_ids(conn, remittance_claim, len(remit.claims))
    service_ids = reserve_ids(conn, remittance_service, sum(len(c.services) for c in remit.claims))
    ids = (iter(claim_ids), iter(service_ids))
    posting = _Posting()
    for sequence, payment in enumerate(remit.claims, start=1):
        _build_claim_rows(posting, remittance_id, payment, sequence, ids, known)
    insert_new_rows(conn, remittance_claim, _CLAIM_COLUMNS, posting.claims)
    insert_new_rows(conn, remittance_service, _SERVICE_COLUMNS, posting.services)
    insert_new_rows(conn, adjustment, _ADJUSTMENT_COLUMNS, posting.adjustments)
    insert_new_rows(conn, remark, _REMARK_COLUMNS, posting.remarks)
    if remit.provider_adjustments:
        conn.execute(
            insert(provider_adjustment),
            [
                {
                    "remittance_id": remittance_id,
                    "reason": plb.reason[:4],
                    "reference": plb.reference[:50] or None,
                    "amount_cents": to_cents(plb.amount),
                }
                for plb in remit.provider_adjustments
            ],
        )
    if posting.suspense:
        now = utcnow()
        conn.execute(
            insert(remittance_suspense),
            [
                {"remittance_claim_id": claim_id, "reason": "CLP01 matches no claim we sent", "created_at": now}
                for claim_id in posting.suspense
            ],
        )
    _link_reversals(conn, posting.reversals)
    if posting.payer_claim_numbers:
        conn.execute(
            update(claim)
            .where(claim.c.claim_key == bindparam("claim_key_"))
            .values(payer_claim_number=bindparam("number_")),
            [{"claim_key_": key, "number_": number} for key, number in posting.payer_claim_numbers.items()],
        )
    events = _add_events(conn, posting.events, source_file_id)
    return _Posted(len(posting.claims), events, len(posting.suspense))


def _load_835(conn: Connection, source_file_id: int, data: bytes, name: str) -> LoadSummary:
    parsed = read_835(data)
    refused: list[RefusedSet] = []
    by_start = {remit.segment: remit for remit in parsed.remittances}
    envelopes = {envelope.start: envelope for envelope in parsed.sets}
    rows = events = unmatched = 0
    for remit in _intact_sets(parsed.sets, "835", "835", by_start, refused):
        reason = remittance_refusal(remit)
        if reason is not None:
            refused.append(_refused(envelopes[remit.segment], "835", reason))
            continue
        posted = _post_remittance(conn, source_file_id, remit)
        if posted is not None:
            rows += posted.claims
            events += posted.events
            unmatched += posted.unmatched
    refused.sort(key=lambda item: item.ordinal)
    _record_refusals(conn, source_file_id, name, refused)
    problems = len(parsed.problems) + sum(len(r.balance_problems) for r in parsed.remittances)
    return LoadSummary("835", rows, problems, events, unmatched, refused=tuple(refused), sets=len(parsed.sets))


def _load_inquiry_answer(conn: Connection, source_file_id: int, data: bytes, kind: str) -> LoadSummary:
    """A 271 (coverage) or 277 (claim status) recorded beside the inquiry it answers; no claim status changes."""
    clock = clock_in_force()
    if kind == "271":
        answered, unmatched = load_271(conn, source_file_id, data, clock.now(), clock.today())
    else:
        answered, unmatched = load_277(conn, source_file_id, data, clock.now())
    return LoadSummary(kind, answered, unmatched, unmatched=unmatched)


def load_response(conn: Connection, source_file_id: int, data: bytes, name: str) -> LoadSummary:
    """Load one received X12 file of any kind and mark it loaded (or refused), in the caller's transaction.

    Its intact transaction sets post; the others are kept in ``refused_transaction_set`` and listed in the
    summary. The file is marked ``refused`` when it held transaction sets and every one was refused.
    """
    kind = detect_kind(data)
    if kind == "999":
        summary = _load_999(conn, source_file_id, data, name)
    elif kind == "TA1":
        summary = _load_ta1(conn, source_file_id, data)
    elif kind == "277CA":
        summary = _load_277ca(conn, source_file_id, data, name)
    elif kind == "835":
        summary = _load_835(conn, source_file_id, data, name)
    elif kind in ("271", "277"):
        summary = _load_inquiry_answer(conn, source_file_id, data, kind)
    else:
        log.warning("file %s holds %s, which revcycle does not load; kept in the ledger", name, kind)
        summary = LoadSummary(kind, 0, 1)
    mark_source_file_loaded(
        conn,
        source_file_id,
        rows=summary.rows,
        problems=summary.problems,
        kind=summary.kind,
        status=summary.status,
    )
    return summary
