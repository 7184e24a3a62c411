"""835 health care claim payment/advice: typed remittances and the three TR3 balancing checks.

Nothing is adjusted: a remittance that does not balance is returned as written with every failed check in
``balance_problems``. Amounts are ``Decimal`` built from the element text, so no precision is lost.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from revcycle.x12.reader import Problem, Segment, read_segments

ZERO = Decimal("0")

# Qualifiers that may open an SVC01 / SVC06 composite; used to recover a composite written with the
# wrong component separator (e.g. 'HC>12345>26' in a file whose ISA16 is ':').
_PRODUCT_QUALIFIERS = frozenset({"AD", "ER", "HC", "HP", "IV", "N4", "N6", "NU", "UI", "WK", "ZZ", "XX"})


def parse_amount(text: str, seg: Segment, problems: list[Problem], what: str) -> Decimal | None:
    """An X12 numeric element as Decimal; None when empty, None plus a Problem when not a number."""
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        problems.append(Problem(seg.index, "BAD_NUMBER", f"{what} in {seg.id} is not a number"))
        return None
    if not value.is_finite():
        problems.append(Problem(seg.index, "BAD_NUMBER", f"{what} in {seg.id} is not a finite number"))
        return None
    return value


def parse_date(text: str, seg: Segment, problems: list[Problem], what: str) -> date | None:
    """A CCYYMMDD element as a date; None when empty, None plus a Problem when not a valid date."""
    text = text.strip()
    if not text:
        return None
    if len(text) == 8 and text.isdigit():
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    problems.append(Problem(seg.index, "BAD_DATE", f"{what} in {seg.id} is not a CCYYMMDD date"))
    return None


def split_composite(seg: Segment, pos: int, problems: list[Problem]) -> list[str]:
    """Components of a product/service composite, recovering one written with another separator."""
    parts = seg.components(pos)
    if len(parts) == 1 and len(parts[0]) > 3 and parts[0][:2] in _PRODUCT_QUALIFIERS:
        sep = parts[0][2]
        if not sep.isalnum() and sep != " ":
            problems.append(
                Problem(
                    seg.index,
                    "COMPONENT_SEPARATOR_MISMATCH",
                    f"{seg.id}{pos:02d} uses {sep!r} instead of the ISA16 component separator",
                )
            )
            return parts[0].split(sep)
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


def _adjustments(seg: Segment, problems: list[Problem]) -> list[Adjustment]:
    group = seg.get(1).strip()
    out: list[Adjustment] = []
    for first in range(2, 19, 3):  # up to six reason/amount/quantity triples
        reason = seg.get(first).strip()
        amount_text = seg.get(first + 1)
        if not reason and not amount_text:
            continue
        amount = parse_amount(amount_text, seg, problems, f"CAS{first + 1:02d}")
        if amount is None:
            problems.append(Problem(seg.index, "CAS_INCOMPLETE", f"CAS{first:02d} reason without a usable amount"))
            continue
        quantity = parse_amount(seg.get(first + 2), seg, problems, f"CAS{first + 2:02d}")
        out.append(Adjustment(group, reason, amount, quantity))
    return out


class Builder835:
    """Builds one Remittance835 from the segments of one transaction set, fed in order."""

    def __init__(self, st: Segment, interchange_control_number: str = "", version: str = "") -> None:
        self.result = Remittance835(
            control_number=st.get(2).strip(),
            segment=st.index,
            interchange_control_number=interchange_control_number,
            version=st.get(3).strip() or version,
        )
        self.party: Party | None = None
        self.claim: ClaimPayment | None = None
        self.service: ServicePayment | None = None

    def _required(self, seg: Segment, pos: int, what: str) -> Decimal | None:
        value = parse_amount(seg.get(pos), seg, self.result.problems, what)
        if value is None:
            self.result.problems.append(Problem(seg.index, "MISSING_ELEMENT", f"{what} is missing or invalid"))
        return value

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        handler = getattr(self, "_on_" + seg.id, None)
        if handler is not None:
            handler(seg)

    # header ----------------------------------------------------------------------------------------------
    def _on_BPR(self, seg: Segment) -> None:
        pay = self.result.payment
        pay.handling_code = seg.get(1).strip()
        pay.amount = self._required(seg, 2, "BPR02") or ZERO
        pay.credit_debit = seg.get(3).strip()
        pay.method = seg.get(4).strip()
        pay.payment_format = seg.get(5).strip()
        pay.date = parse_date(seg.get(16), seg, self.result.problems, "BPR16")

    def _on_TRN(self, seg: Segment) -> None:
        pay = self.result.payment
        if not pay.trace_number:
            pay.trace_type = seg.get(1).strip()
            pay.trace_number = seg.get(2).strip()
            pay.originator_id = seg.get(3).strip()

    def _on_DTM(self, seg: Segment) -> None:
        qualifier = seg.get(1).strip()
        when = parse_date(seg.get(2), seg, self.result.problems, "DTM02")
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

    def _on_N1(self, seg: Segment) -> None:
        if self.claim is not None:
            return
        code = seg.get(1).strip()
        party = self.result.payer if code == "PR" else self.result.payee if code == "PE" else None
        self.party = party
        if party is not None:
            party.name = seg.get(2).strip()
            party.id_qualifier = seg.get(3).strip()
            party.id = seg.get(4).strip()

    def _on_REF(self, seg: Segment) -> None:
        pair = (seg.get(1).strip(), seg.get(2).strip())
        if self.service is not None:
            self.service.references.append(pair)
        elif self.claim is not None:
            self.claim.references.append(pair)
        elif self.party is not None:
            self.party.references.append(pair)

    # claims ----------------------------------------------------------------------------------------------
    def _on_LX(self, seg: Segment) -> None:
        self.party = None
        self.claim = None
        self.service = None

    def _on_CLP(self, seg: Segment) -> None:
        self.party = None
        self.service = None
        charge = self._required(seg, 3, "CLP03")
        paid = self._required(seg, 4, "CLP04")
        claim = ClaimPayment(
            segment=seg.index,
            patient_control_number=seg.get(1).strip(),
            status=seg.get(2).strip(),
            charge=charge if charge is not None else ZERO,
            paid=paid if paid is not None else ZERO,
            patient_responsibility=parse_amount(seg.get(5), seg, self.result.problems, "CLP05"),
            filing_indicator=seg.get(6).strip(),
            payer_claim_number=seg.get(7).strip(),
            facility_code=seg.get(8).strip(),
            frequency_code=seg.get(9).strip(),
            drg_code=seg.get(11).strip(),
            incomplete=charge is None or paid is None,
        )
        if not claim.patient_control_number:
            self.result.problems.append(Problem(seg.index, "MISSING_ELEMENT", "CLP01 is empty"))
        self.result.claims.append(claim)
        self.claim = claim

    def _on_CAS(self, seg: Segment) -> None:
        adjustments = _adjustments(seg, self.result.problems)
        if self.service is not None:
            self.service.adjustments.extend(adjustments)
        elif self.claim is not None:
            self.claim.adjustments.extend(adjustments)
        else:
            self.result.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "CAS outside a claim"))

    def _on_NM1(self, seg: Segment) -> None:
        if self.claim is not None and self.service is None:
            self.claim.names.append((seg.get(1).strip(), seg.get(3).strip(), seg.get(4).strip(), seg.get(9).strip()))

    def _on_MIA(self, seg: Segment) -> None:
        if self.claim is not None:
            self.claim.inpatient_remarks.extend(code for pos in (5, 20, 21, 22, 23) if (code := seg.get(pos).strip()))

    def _on_MOA(self, seg: Segment) -> None:
        if self.claim is not None:
            self.claim.outpatient_remarks.extend(code for pos in range(3, 8) if (code := seg.get(pos).strip()))

    def _on_AMT(self, seg: Segment) -> None:
        value = parse_amount(seg.get(2), seg, self.result.problems, "AMT02")
        if value is None:
            return
        target = self.service or self.claim
        if target is not None:
            target.amounts[seg.get(1).strip()] = value

    def _on_QTY(self, seg: Segment) -> None:
        value = parse_amount(seg.get(2), seg, self.result.problems, "QTY02")
        if value is None:
            return
        target = self.service or self.claim
        if target is not None:
            target.quantities[seg.get(1).strip()] = value

    def _on_SVC(self, seg: Segment) -> None:
        if self.claim is None:
            self.result.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "SVC outside a claim"))
            self.service = None
            return
        problems = self.result.problems
        procedure = split_composite(seg, 1, problems)
        original = split_composite(seg, 6, problems)
        charge = self._required(seg, 2, "SVC02")
        paid = self._required(seg, 3, "SVC03")
        if charge is None or paid is None:
            self.claim.incomplete = True
        service = ServicePayment(
            segment=seg.index,
            qualifier=procedure[0].strip() if procedure else "",
            code=procedure[1].strip() if len(procedure) > 1 else "",
            modifiers=tuple(m.strip() for m in procedure[2:6] if m.strip()),
            charge=charge if charge is not None else ZERO,
            paid=paid if paid is not None else ZERO,
            revenue_code=seg.get(4).strip() or None,
            units=parse_amount(seg.get(5), seg, problems, "SVC05"),
            original_qualifier=original[0].strip() if original else None,
            original_code=original[1].strip() if len(original) > 1 else None,
            original_modifiers=tuple(m.strip() for m in original[2:6] if m.strip()),
        )
        self.claim.services.append(service)
        self.service = service

    def _on_LQ(self, seg: Segment) -> None:
        if self.service is not None and seg.get(2).strip():
            self.service.remarks.append(seg.get(2).strip())

    # trailer ---------------------------------------------------------------------------------------------
    def _on_PLB(self, seg: Segment) -> None:
        self.party = None
        self.claim = None
        self.service = None
        problems = self.result.problems
        provider = seg.get(1).strip()
        period = parse_date(seg.get(2), seg, problems, "PLB02")
        for first in range(3, 15, 2):  # up to six adjustment identifier/amount pairs
            ident = seg.components(first)
            amount_text = seg.get(first + 1)
            if not ident and not amount_text:
                continue
            amount = parse_amount(amount_text, seg, problems, f"PLB{first + 1:02d}")
            if amount is None:
                problems.append(
                    Problem(seg.index, "PLB_INCOMPLETE", f"PLB{first:02d} adjustment without a usable amount")
                )
                continue
            reason = ident[0].strip() if ident else ""
            reference = ident[1].strip() if len(ident) > 1 else ""
            self.result.provider_adjustments.append(
                ProviderAdjustment(seg.index, provider, period, reason, reference, amount)
            )

    def finish(self) -> Remittance835:
        """The remittance with its balancing problems filled in."""
        self.result.balance_problems = check_balance(self.result)
        return self.result


def _total(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjustments), ZERO)


def check_balance(remit: Remittance835) -> list[BalanceProblem]:
    """Every failed TR3 balancing check of a remittance: service lines, claims and the transaction."""
    out: list[BalanceProblem] = []
    for claim in remit.claims:
        pcn = claim.patient_control_number
        for number, svc in enumerate(claim.services, start=1):
            expected = svc.charge - _total(svc.adjustments)
            if expected != svc.paid:
                out.append(
                    BalanceProblem(
                        "service",
                        pcn,
                        f"service line {number}: charge {svc.charge} - adjustments {_total(svc.adjustments)} "
                        f"= {expected}, but paid is {svc.paid}",
                        svc.segment,
                    )
                )
        if claim.incomplete:
            out.append(
                BalanceProblem("claim", pcn, "claim amounts are missing or invalid: not balanced", claim.segment)
            )
            continue
        claim_adj = _total(claim.adjustments)
        service_adj = sum((_total(s.adjustments) for s in claim.services), ZERO)
        line_charges = sum((s.charge for s in claim.services), ZERO)
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
            line_paid = sum((s.paid for s in claim.services), ZERO)
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
    paid = sum((c.paid for c in remit.claims), ZERO)
    plb = sum((p.amount for p in remit.provider_adjustments), ZERO)
    expected_total = paid - plb
    if expected_total != remit.payment.amount:
        out.append(
            BalanceProblem(
                "transaction",
                "",
                f"claims paid {paid} - provider adjustments {plb} = {expected_total}, "
                f"but BPR02 is {remit.payment.amount}",
                remit.segment,
            )
        )
    return out


@dataclass
class Read835:
    """Every 835 transaction set of a file, and the problems found reading it."""

    remittances: list[Remittance835]
    problems: list[Problem]


def read_835(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read835:
    """Parse every 835 transaction set of a file; other transaction sets are reported as problems."""
    problems: list[Problem] = []
    remittances: list[Remittance835] = []
    builder: Builder835 | None = None
    isa13 = ""
    version = ""
    for seg in read_segments(source, problems):
        if seg.id == "ISA":
            isa13 = seg.get(13).strip()
        elif seg.id == "GS":
            version = seg.get(8).strip()
        elif seg.id == "ST":
            if builder is not None:
                remittances.append(builder.finish())
                builder = None
            if seg.get(1).strip() == "835":
                builder = Builder835(seg, isa13, version)
            else:
                problems.append(
                    Problem(
                        seg.index,
                        "UNEXPECTED_TRANSACTION",
                        f"transaction set {seg.get(1).strip()!r} is not an 835",
                    )
                )
        elif seg.id == "SE":
            if builder is not None:
                remittances.append(builder.finish())
                builder = None
        elif builder is not None:
            builder.feed(seg)
    if builder is not None:
        remittances.append(builder.finish())
    for remit in remittances:
        problems.extend(remit.problems)
    problems.sort(key=lambda p: -1 if p.segment is None else p.segment)
    return Read835(remittances, problems)
