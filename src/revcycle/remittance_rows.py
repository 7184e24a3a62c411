"""The warehouse rows of an 835 transaction set, and the checks a set must pass before any of them is written.

``SetChecks`` follows a set as it is streamed, claim by claim, and gives the same refusal, in the same order
of precedence, as checking the whole set at once: the first of a missing or too long trace number, a
missing payer identifier, an amount the reader could not read, an amount out of range, a quantity too long.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from revcycle.domain import ClaimStatus
from revcycle.lifecycle import adjudication_status
from revcycle.money import to_cents
from revcycle.refusals import SetRefusal, refusal
from revcycle.warehouse.bulk import insert_once
from revcycle.warehouse.schema import remittance, remittance_claim
from revcycle.x12.reader import Problem
from revcycle.x12.x835 import Adjustment, ClaimPayment, Remittance835

log = logging.getLogger(__name__)

# The largest amount a set may carry: cents are kept in 64-bit integers (about 9.2e16 dollars), and sums of
# several amounts must fit too. No payment comes near it; an amount beyond it is a damaged or hostile file.
MAX_AMOUNT = Decimal(10) ** 16
# Quantities (SVC05, CAS quantities) are kept as text of at most this many characters.
MAX_QUANTITY_LENGTH = 16
MAX_TRACE_LENGTH = 50  # TRN02, its X12 maximum and the width of remittance.trace_number
# The 835 reader's codes for an amount it could not read (a required one missing included): posting such a
# set would record a payment nobody sent.
UNREADABLE_AMOUNT_CODES = frozenset({"BAD_NUMBER", "CAS_INCOMPLETE", "MISSING_ELEMENT"})


def _has_denied_line(payment: ClaimPayment) -> bool:
    return any(
        service.paid == 0 and service.charge > 0 and not any(a.group == "PR" for a in service.adjustments)
        for service in payment.services
    )


def _payer_identifier(remit: Remittance835) -> str:
    # The second half of the duplicate key: cut to the column's width the same way every time.
    return remit.payment.originator_id.strip()[:50]


def claim_remittance(conn: Connection, source_file_id: int, remit: Remittance835) -> int | None:
    """Insert the remittance unless its payer trace number was posted before: its new id, or None.

    Its balance problems are not known yet when a set is streamed: ``set_balance_problems`` writes them at SE.
    """
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
            "balance_problem_count": 0,
        },
        REMITTANCE_KEY,
    )


@dataclass
class Posting:
    """The rows of a batch of claims of one fresh remittance, built in memory and then inserted in bulk."""

    claims: list[tuple[Any, ...]] = field(default_factory=list)
    services: list[tuple[Any, ...]] = field(default_factory=list)
    adjustments: list[tuple[Any, ...]] = field(default_factory=list)
    remarks: list[tuple[Any, ...]] = field(default_factory=list)
    suspense: list[int] = field(default_factory=list)
    reversals: list[tuple[int, str, int, int]] = field(default_factory=list)
    payer_claim_numbers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, ClaimStatus, str]] = field(default_factory=list)


REMITTANCE_KEY = ("trace_number", "payer_identifier")

CLAIM_COLUMNS = (
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
    "crossover_carrier",
)
SERVICE_COLUMNS = (
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
ADJUSTMENT_COLUMNS = (
    "remittance_claim_id",
    "remittance_service_id",
    "sequence",
    "group_code",
    "reason_code",
    "amount_cents",
    "quantity",
)
REMARK_COLUMNS = ("remittance_claim_id", "remittance_service_id", "sequence", "code")


_CENTS: dict[Decimal, int] = {}


def _cents(amount: Decimal) -> int:
    # Remittances repeat a limited set of amounts (fee schedules, copays): remember them, within bounds.
    found = _CENTS.get(amount)
    if found is None:
        found = to_cents(amount)
        if len(_CENTS) < 65536:
            _CENTS[amount] = found
    return found


def build_claim_rows(
    posting: Posting,
    remittance_id: int,
    payment: ClaimPayment,
    sequence: int,
    ids: tuple[Iterator[int], Iterator[int]],
    known: set[str],
) -> None:
    """Add one claim payment's rows (claim, services, adjustments, remarks) and its consequences to ``posting``.

    ``ids`` are iterators over reserved claim and service ids; ``known`` the claim keys we sent.
    """
    claim_ids, service_ids = ids
    claim_id = next(claim_ids)
    key = payment.patient_control_number
    matched = key in known
    paid_cents = _cents(payment.paid)
    charge_cents = _cents(payment.charge)
    posting.claims.append(
        (
            claim_id,
            remittance_id,
            sequence,
            key[:38],
            payment.status[:2],
            charge_cents,
            paid_cents,
            _cents(payment.patient_responsibility or Decimal(0)),
            payment.payer_claim_number[:50] or None,
            matched,
            any(name[0] == "TT" for name in payment.names),  # NM1*TT: forwarded to the crossover carrier
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
                _cents(service.charge),
                _cents(service.paid),
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
        _cents(item.amount),
        None if item.quantity is None else str(item.quantity),
    )


def link_reversals(conn: Connection, reversals: Sequence[tuple[int, str, int, int]]) -> None:
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


def set_balance_problems(conn: Connection, remittance_id: int, count: int) -> None:
    """Record how many balancing checks of the posted remittance failed (known once its SE was read)."""
    conn.execute(update(remittance).where(remittance.c.id == remittance_id).values(balance_problem_count=count))


def _claim_amounts(payment: ClaimPayment) -> list[Decimal]:
    # Lists, not generators: this runs for every claim of every file, and min/max over a list cost little.
    amounts = [payment.charge, payment.paid]
    if payment.patient_responsibility is not None:
        amounts.append(payment.patient_responsibility)
    amounts += [item.amount for item in payment.adjustments]
    for service in payment.services:
        amounts.append(service.charge)
        amounts.append(service.paid)
        amounts += [item.amount for item in service.adjustments]
    return amounts


def _claim_quantities(payment: ClaimPayment) -> list[Decimal]:
    quantities = [item.quantity for item in payment.adjustments if item.quantity is not None]
    for service in payment.services:
        if service.units is not None:
            quantities.append(service.units)
        quantities += [item.quantity for item in service.adjustments if item.quantity is not None]
    return quantities


def _unreadable(problems: Sequence[Problem]) -> bool:
    return any(problem.code in UNREADABLE_AMOUNT_CODES for problem in problems)


@dataclass
class SetChecks:
    """Why an 835 set with an intact envelope may still not post, followed claim by claim as it is read.

    A payment needs its TRN02 trace number (the duplicate key), and every amount and quantity must fit the
    warehouse's columns: a value that does not would fail the file's whole transaction instead of this set.
    ``failed`` turns true as soon as the set can no longer post, so its rows so far can be rolled back and the
    rest of it skipped; ``refusal`` gives the reason once the set was read to its end.
    """

    remit: Remittance835
    out_of_range: bool = False
    too_long: bool = False
    _problems_seen: int = field(default=0, repr=False)
    _unreadable: bool = field(default=False, repr=False)
    _header: SetRefusal | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The header (BPR, TRN) is complete when the reader yields the remittance.
        self._header = self._header_refusal()
        self.out_of_range = abs(self.remit.payment.amount) >= MAX_AMOUNT
        self._look_at_problems()

    def _look_at_problems(self) -> None:
        # The reader appends the set's problems as it goes: look only at the new ones.
        problems = self.remit.problems
        if not self._unreadable and len(problems) > self._problems_seen:
            self._unreadable = _unreadable(problems[self._problems_seen :])
        self._problems_seen = len(problems)

    def _header_refusal(self) -> SetRefusal | None:
        trace = self.remit.payment.trace_number.strip()
        if not trace:
            return refusal("MISSING_TRACE")
        if len(trace) > MAX_TRACE_LENGTH:
            return refusal("TRACE_TOO_LONG")
        if not self.remit.payment.originator_id.strip():
            # Required by the 835 guide; falling back to the N1*PR id or name would give one payment two keys.
            return refusal("MISSING_PAYER_IDENTIFIER")
        return None

    def claim(self, payment: ClaimPayment) -> None:
        """Take one claim payment of the set into account."""
        if not self.out_of_range:
            amounts = _claim_amounts(payment)
            self.out_of_range = max(amounts) >= MAX_AMOUNT or min(amounts) <= -MAX_AMOUNT
        if not self.too_long:
            quantities = _claim_quantities(payment)
            self.too_long = bool(quantities) and max(len(str(q)) for q in quantities) > MAX_QUANTITY_LENGTH

    def end(self) -> None:
        """Take the set's trailer into account (its provider adjustments and last problems)."""
        if any(abs(plb.amount) >= MAX_AMOUNT for plb in self.remit.provider_adjustments):
            self.out_of_range = True
        self._look_at_problems()

    @property
    def failed(self) -> bool:
        """The set cannot post, whatever the rest of it holds."""
        self._look_at_problems()
        return self.too_long or self.out_of_range or self._unreadable or self._header is not None

    def refusal(self) -> SetRefusal | None:
        """The reason the set read so far may not post (the first in order of precedence), or None."""
        self._look_at_problems()
        if self._header is not None:
            return self._header
        if self._unreadable:
            return refusal("UNREADABLE_AMOUNT")
        if self.out_of_range:
            return refusal("AMOUNT_OUT_OF_RANGE")
        if self.too_long:
            return refusal("VALUE_TOO_LONG")
        return None
