"""835 health care claim payment/advice: typed remittances and the three TR3 balancing checks.

Nothing is adjusted: a remittance that does not balance is returned as written with every failed check in
``balance_problems``. Amounts are ``Decimal`` built from the element text, so no precision is lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from revcycle.x12.reader import Problem, Segment, read_batches

ZERO = Decimal("0")

# Qualifiers that may open an SVC01 / SVC06 composite; used to recover a composite written with the
# wrong component separator (e.g. 'HC>12345>26' in a file whose ISA16 is ':').
_PRODUCT_QUALIFIERS = frozenset({"AD", "ER", "HC", "HP", "IV", "N4", "N6", "NU", "UI", "WK", "ZZ", "XX"})


def parse_amount(text: str, seg: Segment, problems: list[Problem], what: str) -> Decimal | None:
    """An X12 numeric element as Decimal; None when empty, None plus a Problem when not a number."""
    return _amount(text, seg.index, seg.id, problems, what)


def _amount(text: str, index: int, sid: str, problems: list[Problem], what: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)  # Decimal ignores surrounding whitespace itself
    except InvalidOperation:
        if not text.strip():
            return None
        problems.append(Problem(index, "BAD_NUMBER", f"{what} in {sid} is not a number"))
        return None
    if not value.is_finite():
        problems.append(Problem(index, "BAD_NUMBER", f"{what} in {sid} is not a finite number"))
        return None
    return value


def parse_date(text: str, seg: Segment, problems: list[Problem], what: str) -> date | None:
    """A CCYYMMDD element as a date; None when empty, None plus a Problem when not a valid date."""
    return _date(text, seg.index, seg.id, problems, what)


_DATES: dict[str, date] = {}


def _date(text: str, index: int, sid: str, problems: list[Problem], what: str) -> date | None:
    found = _DATES.get(text)
    if found is not None:
        return found
    text = text.strip()
    if not text:
        return None
    if len(text) == 8 and text.isdigit():
        try:
            day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
        else:
            if len(_DATES) < 4096:  # remittances repeat a handful of dates: remember them, within bounds
                _DATES[text] = day
            return day
    problems.append(Problem(index, "BAD_DATE", f"{what} in {sid} is not a CCYYMMDD date"))
    return None


def split_composite(seg: Segment, pos: int, problems: list[Problem]) -> list[str]:
    """Components of a product/service composite, recovering one written with another separator."""
    return _composite(seg.get(pos), seg.delimiters.component, seg.index, seg.id, pos, problems)


def _composite(value: str, component: str, index: int, sid: str, pos: int, problems: list[Problem]) -> list[str]:
    if not value:
        return []
    parts = value.split(component)
    if len(parts) == 1 and len(value) > 3 and value[:2] in _PRODUCT_QUALIFIERS:
        sep = value[2]
        if not sep.isalnum() and sep != " ":
            problems.append(
                Problem(
                    index,
                    "COMPONENT_SEPARATOR_MISMATCH",
                    f"{sid}{pos:02d} uses {sep!r} instead of the ISA16 component separator",
                )
            )
            return value.split(sep)
    return parts


@dataclass(frozen=True)
class Adjustment:
    """One CAS reason triple: group code (CO, PR, OA, PI, CR), reason code, amount, optional quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass
class ServicePayment:
    """Loop 2110: one adjudicated service line (SVC) with its adjustments and remarks."""

    segment: int
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    revenue_code: str | None = None
    units: Decimal | None = None  # SVC05; the TR3 says absent means 1
    original_qualifier: str | None = None  # SVC06: the procedure as submitted, when the payer changed it
    original_code: str | None = None
    original_modifiers: tuple[str, ...] = ()
    service_date: date | None = None
    service_date_end: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    quantities: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class ClaimPayment:
    """Loop 2100: one claim as the payer adjudicated it (CLP) with claim-level data and its services.

    ``names`` holds the NM1 entities (QC patient, IL insured, 74 corrected, 82 rendering, TT, PR) as
    (qualifier, last/org name, first name, id) and is PHI: never log it.
    """

    segment: int
    patient_control_number: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    filing_indicator: str
    payer_claim_number: str
    facility_code: str = ""
    frequency_code: str = ""
    drg_code: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)
    services: list[ServicePayment] = field(default_factory=list)
    names: list[tuple[str, str, str, str]] = field(default_factory=list)
    inpatient_remarks: list[str] = field(default_factory=list)  # MIA05, MIA20-MIA23
    outpatient_remarks: list[str] = field(default_factory=list)  # MOA03-MOA07
    references: list[tuple[str, str]] = field(default_factory=list)
    dates: dict[str, date] = field(default_factory=dict)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    quantities: dict[str, Decimal] = field(default_factory=dict)
    incomplete: bool = False  # a required amount was missing or not a number: not balanced
    balance_problems: list[BalanceProblem] = field(default_factory=list)  # service and claim level

    @property
    def remarks(self) -> list[str]:
        """All claim-level remark codes (MIA and MOA)."""
        return [*self.inpatient_remarks, *self.outpatient_remarks]


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB reason/amount pair; a positive amount reduces the payment."""

    segment: int
    provider_id: str
    fiscal_period_date: date | None
    reason: str
    reference: str
    amount: Decimal


@dataclass
class Payment:
    """BPR financial information and the TRN reassociation trace."""

    handling_code: str = ""
    amount: Decimal = ZERO
    credit_debit: str = ""
    method: str = ""
    payment_format: str = ""
    date: date | None = None
    trace_type: str = ""
    trace_number: str = ""
    originator_id: str = ""


@dataclass
class Party:
    """Payer (N1*PR) or payee (N1*PE) identification: name, N103 qualifier, N104 id and REF ids."""

    name: str = ""
    id_qualifier: str = ""
    id: str = ""
    references: list[tuple[str, str]] = field(default_factory=list)

    @property
    def npi(self) -> str:
        """The NPI when N104 carries one (N103 = XX)."""
        return self.id if self.id_qualifier == "XX" else ""


@dataclass(frozen=True)
class BalanceProblem:
    """A failed balancing check: level is 'service', 'claim' or 'transaction'."""

    level: str
    patient_control_number: str
    message: str
    segment: int | None = None


@dataclass
class Remittance835:
    """One 835 transaction set (ST..SE)."""

    control_number: str
    segment: int
    interchange_control_number: str = ""
    version: str = ""
    payment: Payment = field(default_factory=Payment)
    production_date: date | None = None
    payer: Party = field(default_factory=Party)
    payee: Party = field(default_factory=Party)
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    balance_problems: list[BalanceProblem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def payer_id(self) -> str:
        """The payer's id: N104 of N1*PR, else REF*2U."""
        if self.payer.id:
            return self.payer.id
        return next((value for qual, value in self.payer.references if qual == "2U"), "")


_PAD = [""] * 24


def _adjustments(p: list[str], index: int, problems: list[Problem]) -> list[Adjustment]:
    e = p + _PAD if len(p) < 20 else p
    group = e[1].strip()
    out: list[Adjustment] = []
    for first in range(2, 19, 3):  # up to six reason/amount/quantity triples
        reason = e[first]
        amount_text = e[first + 1]
        if not reason and not amount_text:
            if first + 3 >= len(p):
                break
            continue
        amount = _amount(amount_text, index, "CAS", problems, f"CAS{first + 1:02d}")
        if amount is None:
            problems.append(Problem(index, "CAS_INCOMPLETE", f"CAS{first:02d} reason without a usable amount"))
            continue
        quantity_text = e[first + 2]
        quantity = _amount(quantity_text, index, "CAS", problems, f"CAS{first + 2:02d}") if quantity_text else None
        out.append(Adjustment(group, reason.strip(), amount, quantity))
    return out


class Builder835:
    """Builds one Remittance835 from the segments of one transaction set, fed in order.

    With ``keep_claims`` False the claims are not kept on the remittance: each finished claim (already
    balanced) is appended to ``ready`` for the caller to take, so memory does not grow with the file.
    """

    def __init__(
        self,
        st: Segment | None = None,
        interchange_control_number: str = "",
        version: str = "",
        *,
        keep_claims: bool = True,
        st_parts: list[str] | None = None,
        st_index: int = 0,
    ) -> None:
        parts = st.parts if st is not None else (st_parts or ["ST"])
        e = parts + _PAD
        self.result = Remittance835(
            control_number=e[2].strip(),
            segment=st.index if st is not None else st_index,
            interchange_control_number=interchange_control_number,
            version=e[3].strip() or version,
        )
        self.keep_claims = keep_claims
        self.ready: list[ClaimPayment] = []
        self.claim_count = 0
        self.paid_total = ZERO
        self.component = ":"
        self.party: Party | None = None
        self.claim: ClaimPayment | None = None
        self.service: ServicePayment | None = None
        self.started = False  # the header is complete (first LX, CLP or PLB seen)
        self.announced = False  # iter_835 has yielded the header
        self._handlers: dict[str, Callable[[int, list[str]], None]] = {
            "BPR": self._on_BPR,
            "TRN": self._on_TRN,
            "DTM": self._on_DTM,
            "N1": self._on_N1,
            "REF": self._on_REF,
            "LX": self._on_LX,
            "CLP": self._on_CLP,
            "CAS": self._on_CAS,
            "NM1": self._on_NM1,
            "MIA": self._on_MIA,
            "MOA": self._on_MOA,
            "AMT": self._on_AMT,
            "QTY": self._on_QTY,
            "SVC": self._on_SVC,
            "LQ": self._on_LQ,
            "PLB": self._on_PLB,
        }

    def _required(self, index: int, p: list[str], pos: int, what: str) -> Decimal | None:
        text = p[pos] if pos < len(p) else ""
        value = _amount(text, index, p[0], self.result.problems, what)
        if value is None:
            self.result.problems.append(Problem(index, "MISSING_ELEMENT", f"{what} is missing or invalid"))
        return value

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        self.component = seg.delimiters.component
        handler = self._handlers.get(seg.id)
        if handler is not None:
            handler(seg.index, seg.parts)

    def feed_batch(self, first: int, batch: list[list[str]], component: str) -> None:
        """Take segments as parts lists (see ``read_batches``), positions from ``first`` on."""
        self.component = component
        handlers = self._handlers
        index = first
        for p in batch:
            handler = handlers.get(p[0])
            if handler is not None:
                handler(index, p)
            index += 1

    # header ----------------------------------------------------------------------------------------------
    def _on_BPR(self, i: int, p: list[str]) -> None:
        e = p + _PAD
        pay = self.result.payment
        pay.handling_code = e[1].strip()
        pay.amount = self._required(i, p, 2, "BPR02") or ZERO
        pay.credit_debit = e[3].strip()
        pay.method = e[4].strip()
        pay.payment_format = e[5].strip()
        pay.date = _date(e[16], i, "BPR", self.result.problems, "BPR16")

    def _on_TRN(self, i: int, p: list[str]) -> None:
        pay = self.result.payment
        if not pay.trace_number:
            e = p + _PAD
            pay.trace_type = e[1].strip()
            pay.trace_number = e[2].strip()
            pay.originator_id = e[3].strip()

    def _on_DTM(self, i: int, p: list[str]) -> None:
        qualifier = p[1].strip() if len(p) > 1 else ""
        when = _date(p[2] if len(p) > 2 else "", i, "DTM", self.result.problems, "DTM02")
        if self.service is not None:
            if when is not None:
                if qualifier in ("472", "150"):
                    self.service.service_date = when
                elif qualifier == "151":
                    self.service.service_date_end = when
        elif self.claim is not None:
            if when is not None:
                self.claim.dates[qualifier] = when
        elif qualifier == "405":
            self.result.production_date = when

    def _on_N1(self, i: int, p: list[str]) -> None:
        if self.claim is not None:
            return
        e = p + _PAD
        code = e[1].strip()
        party = self.result.payer if code == "PR" else self.result.payee if code == "PE" else None
        self.party = party
        if party is not None:
            party.name = e[2].strip()
            party.id_qualifier = e[3].strip()
            party.id = e[4].strip()

    def _on_REF(self, i: int, p: list[str]) -> None:
        e = p + _PAD
        pair = (e[1].strip(), e[2].strip())
        if self.service is not None:
            self.service.references.append(pair)
        elif self.claim is not None:
            self.claim.references.append(pair)
        elif self.party is not None:
            self.party.references.append(pair)

    # claims ----------------------------------------------------------------------------------------------
    def _close_claim(self) -> None:
        claim = self.claim
        self.claim = None
        self.service = None
        if claim is None:
            return
        claim.balance_problems = claim_balance_problems(claim)
        self.claim_count += 1
        self.paid_total += claim.paid
        if self.keep_claims:
            self.result.claims.append(claim)
            self.result.balance_problems.extend(claim.balance_problems)
        else:
            self.ready.append(claim)

    def _on_LX(self, i: int, p: list[str]) -> None:
        self._close_claim()
        self.started = True
        self.party = None

    def _on_CLP(self, i: int, p: list[str]) -> None:
        self._close_claim()
        self.started = True
        self.party = None
        e = p + _PAD
        charge = self._required(i, p, 3, "CLP03")
        paid = self._required(i, p, 4, "CLP04")
        responsibility = e[5]
        claim = ClaimPayment(
            segment=i,
            patient_control_number=e[1].strip(),
            status=e[2].strip(),
            charge=charge if charge is not None else ZERO,
            paid=paid if paid is not None else ZERO,
            patient_responsibility=(
                _amount(responsibility, i, "CLP", self.result.problems, "CLP05") if responsibility else None
            ),
            filing_indicator=e[6].strip(),
            payer_claim_number=e[7].strip(),
            facility_code=e[8].strip(),
            frequency_code=e[9].strip(),
            drg_code=e[11].strip(),
            incomplete=charge is None or paid is None,
        )
        if not claim.patient_control_number:
            self.result.problems.append(Problem(i, "MISSING_ELEMENT", "CLP01 is empty"))
        self.claim = claim

    def _on_CAS(self, i: int, p: list[str]) -> None:
        adjustments = _adjustments(p, i, self.result.problems)
        if self.service is not None:
            self.service.adjustments.extend(adjustments)
        elif self.claim is not None:
            self.claim.adjustments.extend(adjustments)
        else:
            self.result.problems.append(Problem(i, "UNEXPECTED_SEGMENT", "CAS outside a claim"))

    def _on_NM1(self, i: int, p: list[str]) -> None:
        if self.claim is not None and self.service is None:
            e = p + _PAD
            self.claim.names.append((e[1].strip(), e[3].strip(), e[4].strip(), e[9].strip()))

    def _on_MIA(self, i: int, p: list[str]) -> None:
        if self.claim is not None:
            e = p + _PAD
            self.claim.inpatient_remarks.extend(code for pos in (5, 20, 21, 22, 23) if (code := e[pos].strip()))

    def _on_MOA(self, i: int, p: list[str]) -> None:
        if self.claim is not None:
            e = p + _PAD
            self.claim.outpatient_remarks.extend(code for pos in range(3, 8) if (code := e[pos].strip()))

    def _on_AMT(self, i: int, p: list[str]) -> None:
        value = _amount(p[2] if len(p) > 2 else "", i, "AMT", self.result.problems, "AMT02")
        if value is None:
            return
        target = self.service or self.claim
        if target is not None:
            target.amounts[p[1].strip()] = value

    def _on_QTY(self, i: int, p: list[str]) -> None:
        value = _amount(p[2] if len(p) > 2 else "", i, "QTY", self.result.problems, "QTY02")
        if value is None:
            return
        target = self.service or self.claim
        if target is not None:
            target.quantities[p[1].strip()] = value

    def _on_SVC(self, i: int, p: list[str]) -> None:
        if self.claim is None:
            self.result.problems.append(Problem(i, "UNEXPECTED_SEGMENT", "SVC outside a claim"))
            self.service = None
            return
        problems = self.result.problems
        e = p + _PAD
        procedure = _composite(e[1], self.component, i, "SVC", 1, problems)
        original = _composite(e[6], self.component, i, "SVC", 6, problems) if e[6] else []
        charge = self._required(i, p, 2, "SVC02")
        paid = self._required(i, p, 3, "SVC03")
        if charge is None or paid is None:
            self.claim.incomplete = True
        units = e[5]
        service = ServicePayment(
            segment=i,
            qualifier=procedure[0].strip() if procedure else "",
            code=procedure[1].strip() if len(procedure) > 1 else "",
            modifiers=tuple(m.strip() for m in procedure[2:6] if m.strip()) if len(procedure) > 2 else (),
            charge=charge if charge is not None else ZERO,
            paid=paid if paid is not None else ZERO,
            revenue_code=e[4].strip() or None,
            units=_amount(units, i, "SVC", problems, "SVC05") if units else None,
            original_qualifier=original[0].strip() if original else None,
            original_code=original[1].strip() if len(original) > 1 else None,
            original_modifiers=tuple(m.strip() for m in original[2:6] if m.strip()),
        )
        self.claim.services.append(service)
        self.service = service

    def _on_LQ(self, i: int, p: list[str]) -> None:
        if self.service is not None and len(p) > 2 and p[2].strip():
            self.service.remarks.append(p[2].strip())

    # trailer ---------------------------------------------------------------------------------------------
    def _on_PLB(self, i: int, p: list[str]) -> None:
        self._close_claim()
        self.started = True
        self.party = None
        problems = self.result.problems
        e = p + _PAD
        provider = e[1].strip()
        period = _date(e[2], i, "PLB", problems, "PLB02")
        for first in range(3, 15, 2):  # up to six adjustment identifier/amount pairs
            ident_text = e[first]
            amount_text = e[first + 1]
            if not ident_text and not amount_text:
                continue
            ident = ident_text.split(self.component) if ident_text else []
            amount = _amount(amount_text, i, "PLB", problems, f"PLB{first + 1:02d}")
            if amount is None:
                problems.append(Problem(i, "PLB_INCOMPLETE", f"PLB{first:02d} adjustment without a usable amount"))
                continue
            reason = ident[0].strip() if ident else ""
            reference = ident[1].strip() if len(ident) > 1 else ""
            self.result.provider_adjustments.append(ProviderAdjustment(i, provider, period, reason, reference, amount))

    def finish(self) -> Remittance835:
        """The remittance with its balancing problems filled in (claims only when they are kept)."""
        self._close_claim()
        problem = transaction_balance_problem(self.result, self.paid_total)
        if problem is not None:
            self.result.balance_problems.append(problem)
        return self.result


def _total(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjustments), ZERO)


def claim_balance_problems(claim: ClaimPayment) -> list[BalanceProblem]:
    """The failed service-line and claim balancing checks of one claim (TR3 section 1.10.2)."""
    out: list[BalanceProblem] = []
    pcn = claim.patient_control_number
    service_adj = ZERO
    line_charges = ZERO
    line_paid = ZERO
    for number, svc in enumerate(claim.services, start=1):
        adjusted = _total(svc.adjustments)
        service_adj += adjusted
        line_charges += svc.charge
        line_paid += svc.paid
        expected = svc.charge - adjusted
        if expected != svc.paid:
            out.append(
                BalanceProblem(
                    "service",
                    pcn,
                    f"service line {number}: charge {svc.charge} - adjustments {adjusted} "
                    f"= {expected}, but paid is {svc.paid}",
                    svc.segment,
                )
            )
    if claim.incomplete:
        out.append(BalanceProblem("claim", pcn, "claim amounts are missing or invalid: not balanced", claim.segment))
        return out
    claim_adj = _total(claim.adjustments)
    if not claim.services or line_charges == claim.charge:
        expected = claim.charge - claim_adj - service_adj
        if expected != claim.paid:
            out.append(
                BalanceProblem(
                    "claim",
                    pcn,
                    f"charge {claim.charge} - claim adjustments {claim_adj} - service adjustments "
                    f"{service_adj} = {expected}, but paid is {claim.paid}",
                    claim.segment,
                )
            )
    else:
        # Not every billed line is reported: the TR3 then balances the payment on the reported lines.
        expected = line_paid - claim_adj
        if expected != claim.paid:
            out.append(
                BalanceProblem(
                    "claim",
                    pcn,
                    f"reported lines paid {line_paid} - claim adjustments {claim_adj} = {expected}, "
                    f"but paid is {claim.paid}",
                    claim.segment,
                )
            )
    return out


def transaction_balance_problem(remit: Remittance835, paid_total: Decimal) -> BalanceProblem | None:
    """The transaction-level check: BPR02 = the claims' CLP04 total - the PLB total; None when it holds."""
    plb = sum((p.amount for p in remit.provider_adjustments), ZERO)
    expected_total = paid_total - plb
    if expected_total == remit.payment.amount:
        return None
    return BalanceProblem(
        "transaction",
        "",
        f"claims paid {paid_total} - provider adjustments {plb} = {expected_total}, "
        f"but BPR02 is {remit.payment.amount}",
        remit.segment,
    )


def check_balance(remit: Remittance835) -> list[BalanceProblem]:
    """Every failed TR3 balancing check of a remittance: service lines, claims and the transaction."""
    out: list[BalanceProblem] = []
    for claim in remit.claims:
        out.extend(claim_balance_problems(claim))
    problem = transaction_balance_problem(remit, sum((c.paid for c in remit.claims), ZERO))
    if problem is not None:
        out.append(problem)
    return out


@dataclass(frozen=True)
class RemittanceEnd:
    """The last event of one streamed 835 transaction set.

    ``remittance`` is the same object yielded at the start, now with its provider adjustments (PLB), the
    transaction-level balance problem if any, and its reading problems; its ``claims`` list stays empty
    (the claims were yielded one by one). ``claim_count`` and ``paid_total`` (sum of CLP04) cover them.
    """

    remittance: Remittance835
    claim_count: int
    paid_total: Decimal


Event835 = Remittance835 | ClaimPayment | RemittanceEnd


def iter_835(
    source: bytes | str | os.PathLike[str] | BinaryIO, problems: list[Problem] | None = None
) -> Iterator[Event835]:
    """Stream the 835 transaction sets of a file, one claim at a time, with memory that stays flat.

    For each transaction set: the ``Remittance835`` header (payment, payer, payee; yielded at its first
    LX/CLP/PLB or at SE), then every ``ClaimPayment`` in order with its service and claim balance problems
    filled in, then a ``RemittanceEnd``. Envelope and syntax problems go to ``problems``; problems found
    inside a transaction set go to its remittance's ``problems``. Other transaction sets are reported as
    problems and skipped.
    """
    found = problems if problems is not None else []
    builder: Builder835 | None = None
    isa13 = ""
    version = ""
    for first, batch, delims in read_batches(source, found):
        component = delims.component
        start = 0
        index = first
        for k, p in enumerate(batch):
            sid = p[0]
            if sid not in _BOUNDARY_IDS:
                continue
            if builder is not None and k > start:
                builder.feed_batch(first + start, batch[start:k], component)
                yield from _drain(builder)
            start = k + 1
            index = first + k
            if sid == "ISA":
                isa13 = p[13].strip() if len(p) > 13 else ""
            elif sid == "GS":
                version = p[8].strip() if len(p) > 8 else ""
            elif sid == "ST":
                if builder is not None:
                    yield from _end(builder)
                    builder = None
                if len(p) > 1 and p[1].strip() == "835":
                    builder = Builder835(None, isa13, version, keep_claims=False, st_parts=p, st_index=index)
                else:
                    set_id = p[1].strip() if len(p) > 1 else ""
                    found.append(Problem(index, "UNEXPECTED_TRANSACTION", f"transaction set {set_id!r} is not an 835"))
            elif sid == "SE" and builder is not None:
                yield from _end(builder)
                builder = None
        if builder is not None and start < len(batch):
            builder.feed_batch(first + start, batch[start:] if start else batch, component)
            yield from _drain(builder)
    if builder is not None:
        yield from _end(builder)


_BOUNDARY_IDS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})


def _drain(builder: Builder835) -> Iterator[Event835]:
    if not builder.started:
        return
    if not builder.announced:
        builder.announced = True
        yield builder.result
    if builder.ready:
        ready = builder.ready
        builder.ready = []
        yield from ready


def _end(builder: Builder835) -> Iterator[Event835]:
    remit = builder.finish()
    builder.started = True
    yield from _drain(builder)
    yield RemittanceEnd(remit, builder.claim_count, builder.paid_total)


@dataclass
class Read835:
    """Every 835 transaction set of a file, and the problems found reading it."""

    remittances: list[Remittance835]
    problems: list[Problem]


def read_835(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read835:
    """Parse every 835 transaction set of a file; other transaction sets are reported as problems.

    Every claim is kept in memory: for very large files use ``iter_835``.
    """
    problems: list[Problem] = []
    remittances: list[Remittance835] = []
    builder: Builder835 | None = None
    isa13 = ""
    version = ""
    for first, batch, delims in read_batches(source, problems):
        component = delims.component
        start = 0
        for k, p in enumerate(batch):
            sid = p[0]
            if sid not in _BOUNDARY_IDS:
                continue
            if builder is not None and k > start:
                builder.feed_batch(first + start, batch[start:k], component)
            start = k + 1
            if sid == "ISA":
                isa13 = p[13].strip() if len(p) > 13 else ""
            elif sid == "GS":
                version = p[8].strip() if len(p) > 8 else ""
            elif sid == "ST":
                if builder is not None:
                    remittances.append(builder.finish())
                    builder = None
                if len(p) > 1 and p[1].strip() == "835":
                    builder = Builder835(None, isa13, version, st_parts=p, st_index=first + k)
                else:
                    set_id = p[1].strip() if len(p) > 1 else ""
                    problems.append(
                        Problem(first + k, "UNEXPECTED_TRANSACTION", f"transaction set {set_id!r} is not an 835")
                    )
            elif sid == "SE" and builder is not None:
                remittances.append(builder.finish())
                builder = None
        if builder is not None and start < len(batch):
            builder.feed_batch(first + start, batch[start:] if start else batch, component)
    if builder is not None:
        remittances.append(builder.finish())
    for remit in remittances:
        problems.extend(remit.problems)
    problems.sort(key=lambda p: -1 if p.segment is None else p.segment)
    return Read835(remittances, problems)
