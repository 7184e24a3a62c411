"""835 health care claim payment/advice: typed remittances and the three TR3 balancing checks.

Nothing is adjusted: a remittance that does not balance is returned as written with every failed check in
``balance_problems``. Amounts are ``Decimal`` built from the element text, so no precision is lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from revcycle.x12.reader import Problem, Segment, TransactionSetEnvelope, read_batches

ZERO = Decimal("0")
# An X12 R amount has at most 18 digits (TR3 element attributes, e.g. CLP04 R 1/18): a value of 10^18 or more
# is not an amount. Such values (1E+999999 is a valid Decimal) would overflow the balancing arithmetic.
_AMOUNT_LIMIT = Decimal("1E18")


def _usable(value: Decimal) -> bool:
    """A finite number within the range of an X12 amount."""
    return value.is_finite() and -_AMOUNT_LIMIT < value < _AMOUNT_LIMIT


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
    if not _usable(value):
        problems.append(Problem(index, "BAD_NUMBER", f"{what} in {sid} is not a finite number of at most 18 digits"))
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


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS reason triple: group code (CO, PR, OA, PI, CR), reason code, amount, optional quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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

# The builder makes one Adjustment per CAS triple, millions in a large file. A frozen dataclass's __init__
# goes through object.__setattr__ once per field; setting the slots directly does the same at half the cost.
_NEW = object.__new__
_ADJUSTMENT_SETTERS: tuple[Callable[[object, object], None], ...] = tuple(
    getattr(Adjustment, name).__set__ for name in ("group", "reason", "amount", "quantity")
)


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
        self._handlers: dict[str, Callable[[int, list[str]], object]] = {
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
        k = 0
        n = len(batch)
        while k < n:
            k = self.consume(batch, k, first) + 1  # envelope segments carry nothing for the remittance

    def consume(self, batch: list[list[str]], start: int, first: int) -> int:
        """Take ``batch[start:]`` (``batch[k]`` has position ``first + k``) up to the first envelope segment.

        Returns the index in ``batch`` of that envelope segment (ISA, GS, ST, SE, GE, IEA), or
        ``len(batch)``. The segments of a claim are read inline here; the others go to the ``_on_*`` handlers,
        which also handle every unusual case (missing or invalid elements, a segment out of place).
        """
        # This loop carries nearly all the parsing time of a large file: locals instead of attributes, the
        # common segment shapes first, and Problem objects only when something is wrong. Whenever an inline
        # path meets anything unusual it hands the segment, untouched, to its handler.
        claim = self.claim
        service = self.service
        component = self.component
        handlers = self._handlers
        boundary = _BOUNDARY_IDS
        dates = _DATES
        new = _NEW
        set_group, set_reason, set_amount, set_quantity = _ADJUSTMENT_SETTERS
        n = len(batch)
        for k in range(start, n):
            p = batch[k]
            sid = p[0]
            if sid == "DTM":
                size = len(p)
                text = p[2] if size > 2 else ""
                when = dates.get(text)
                if when is None:
                    when = _date(text, first + k, "DTM", self.result.problems, "DTM02")
                qualifier = p[1].strip() if size > 1 else ""
                if service is not None:
                    if when is not None:
                        if qualifier == "472" or qualifier == "150":
                            service.service_date = when
                        elif qualifier == "151":
                            service.service_date_end = when
                elif claim is not None:
                    if when is not None:
                        claim.dates[qualifier] = when
                elif qualifier == "405":
                    self.result.production_date = when
            elif sid == "CAS":
                target = None
                if service is not None:
                    target = service.adjustments
                elif claim is not None:
                    target = claim.adjustments
                adjustment = None
                size = len(p)
                if target is not None and (size == 4 or (size == 5 and not p[4])) and p[2]:
                    # one reason/amount pair without quantity: the usual CAS
                    try:
                        amount = Decimal(p[3])
                        usable = _usable(amount)
                    except InvalidOperation:
                        usable = False
                    if usable:
                        adjustment = new(Adjustment)
                        set_group(adjustment, p[1].strip())
                        set_reason(adjustment, p[2].strip())
                        set_amount(adjustment, amount)
                        set_quantity(adjustment, None)
                        target.append(adjustment)
                if adjustment is None:
                    self._on_CAS(first + k, p)
            elif sid == "SVC":
                size = len(p)
                service = None
                if claim is not None and 3 < size < 7:  # no SVC06
                    procedure = p[1].split(component)
                    count = len(procedure)
                    if count > 1:
                        try:
                            charge = Decimal(p[2])
                            paid = Decimal(p[3])
                            usable = _usable(charge) and _usable(paid)
                        except InvalidOperation:
                            usable = False
                        if usable:
                            units = None
                            if size > 5 and p[5]:
                                try:
                                    units = Decimal(p[5])
                                except InvalidOperation:
                                    units = None
                                if units is None or not _usable(units):
                                    units = _amount(p[5], first + k, "SVC", self.result.problems, "SVC05")
                            if count == 2:
                                modifiers: tuple[str, ...] = ()
                            elif count == 3:
                                modifier = procedure[2].strip()
                                modifiers = (modifier,) if modifier else ()
                            else:
                                modifiers = tuple(m.strip() for m in procedure[2:6] if m.strip())
                            service = ServicePayment(
                                first + k,
                                procedure[0].strip(),
                                procedure[1].strip(),
                                modifiers,
                                charge,
                                paid,
                                (p[4].strip() or None) if size > 4 else None,
                                units,
                                None,
                                None,
                                (),
                                None,
                                None,
                                [],
                                [],
                                [],
                                {},
                                {},
                            )
                            claim.services.append(service)
                            self.service = service
                if service is None:
                    service = self._on_SVC(first + k, p)
            elif sid == "AMT":
                target_amounts = None
                if service is not None:
                    target_amounts = service.amounts
                elif claim is not None:
                    target_amounts = claim.amounts
                usable = False
                if target_amounts is not None and len(p) > 2:
                    try:
                        value = Decimal(p[2])
                        usable = _usable(value)
                    except InvalidOperation:
                        usable = False
                    if usable:
                        target_amounts[p[1].strip()] = value
                if not usable:
                    self._on_AMT(first + k, p)
            elif sid == "CLP":
                self._on_CLP(first + k, p)
                claim = self.claim
                service = None
            elif sid == "NM1":
                if claim is not None and service is None:
                    e = p if len(p) > 9 else p + _PAD
                    claim.names.append((e[1].strip(), e[3].strip(), e[4].strip(), e[9].strip()))
            elif sid == "REF":
                if len(p) == 3:
                    pair = (p[1].strip(), p[2].strip())
                else:
                    e = p + _PAD
                    pair = (e[1].strip(), e[2].strip())
                if service is not None:
                    service.references.append(pair)
                elif claim is not None:
                    claim.references.append(pair)
                elif self.party is not None:
                    self.party.references.append(pair)
            elif sid == "LQ":
                if service is not None and len(p) > 2:
                    remark = p[2].strip()
                    if remark:
                        service.remarks.append(remark)
            elif sid in boundary:
                return k
            else:
                handler = handlers.get(sid)
                if handler is not None:
                    handler(first + k, p)
                    claim = self.claim
                    service = self.service
        return n

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
        if self.claim is not None:
            self._close_claim()
        self.service = None
        self.started = True
        self.party = None
        e = p if len(p) > 11 else p + _PAD
        try:
            charge: Decimal | None = Decimal(e[3])
            paid: Decimal | None = Decimal(e[4])
        except InvalidOperation:
            charge = paid = None
        if charge is None or paid is None or not (_usable(charge) and _usable(paid)):
            charge = self._required(i, p, 3, "CLP03")
            paid = self._required(i, p, 4, "CLP04")
        responsibility = e[5]
        pcn = e[1].strip()
        # positional, with the empty lists and dicts spelled out: the fastest way through the dataclass init
        claim = ClaimPayment(
            i,
            pcn,
            e[2].strip(),
            charge if charge is not None else ZERO,
            paid if paid is not None else ZERO,
            _amount(responsibility, i, "CLP", self.result.problems, "CLP05") if responsibility else None,
            e[6].strip(),
            e[7].strip(),
            e[8].strip(),
            e[9].strip(),
            e[11].strip(),
            [],
            [],
            [],
            [],
            [],
            [],
            {},
            {},
            {},
            charge is None or paid is None,
            [],
        )
        if not pcn:
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

    def _on_SVC(self, i: int, p: list[str]) -> ServicePayment | None:
        claim = self.claim
        if claim is None:
            self.result.problems.append(Problem(i, "UNEXPECTED_SEGMENT", "SVC outside a claim"))
            self.service = None
            return None
        problems = self.result.problems
        e = p if len(p) > 6 else p + _PAD
        procedure = e[1].split(self.component) if e[1] else []
        if len(procedure) == 1:  # perhaps written with the wrong component separator
            procedure = _composite(e[1], self.component, i, "SVC", 1, problems)
        try:
            charge: Decimal | None = Decimal(e[2])
            paid: Decimal | None = Decimal(e[3])
        except InvalidOperation:
            charge = paid = None
        if charge is None or paid is None or not (_usable(charge) and _usable(paid)):
            charge = self._required(i, p, 2, "SVC02")
            paid = self._required(i, p, 3, "SVC03")
            if charge is None or paid is None:
                claim.incomplete = True
        size = len(procedure)
        if size == 2:
            modifiers: tuple[str, ...] = ()
        elif size == 3:
            modifier = procedure[2].strip()
            modifiers = (modifier,) if modifier else ()
        else:
            modifiers = tuple(m.strip() for m in procedure[2:6] if m.strip())
        units: Decimal | None = None
        if e[5]:
            try:
                units = Decimal(e[5])
            except InvalidOperation:
                units = None
            if units is None or not _usable(units):
                units = _amount(e[5], i, "SVC", problems, "SVC05")
        service = ServicePayment(
            i,
            procedure[0].strip() if procedure else "",
            procedure[1].strip() if size > 1 else "",
            modifiers,
            charge if charge is not None else ZERO,
            paid if paid is not None else ZERO,
            e[4].strip() or None,
            units,
            None,
            None,
            (),
            None,
            None,
            [],
            [],
            [],
            {},
            {},
        )
        if e[6]:  # SVC06: the procedure as submitted, when the payer changed it
            original = _composite(e[6], self.component, i, "SVC", 6, problems)
            service.original_qualifier = original[0].strip() if original else None
            service.original_code = original[1].strip() if len(original) > 1 else None
            service.original_modifiers = tuple(m.strip() for m in original[2:6] if m.strip())
        claim.services.append(service)
        self.service = service
        return service

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


def claim_balance_problems(claim: ClaimPayment) -> list[BalanceProblem]:
    """The failed service-line and claim balancing checks of one claim (TR3 section 1.10.2)."""
    out: list[BalanceProblem] = []
    service_adj = ZERO
    line_charges = ZERO
    for number, svc in enumerate(claim.services, start=1):
        adjusted = ZERO
        for adjustment in svc.adjustments:
            adjusted += adjustment.amount
        service_adj += adjusted
        line_charges += svc.charge
        expected = svc.charge - adjusted
        if expected != svc.paid:
            out.append(
                BalanceProblem(
                    "service",
                    claim.patient_control_number,
                    f"service line {number}: charge {svc.charge} - adjustments {adjusted} "
                    f"= {expected}, but paid is {svc.paid}",
                    svc.segment,
                )
            )
    pcn = claim.patient_control_number
    if claim.incomplete:
        out.append(BalanceProblem("claim", pcn, "claim amounts are missing or invalid: not balanced", claim.segment))
        return out
    claim_adj = ZERO
    for adjustment in claim.adjustments:
        claim_adj += adjustment.amount
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
        line_paid = sum((svc.paid for svc in claim.services), ZERO)
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
    source: bytes | str | os.PathLike[str] | BinaryIO,
    problems: list[Problem] | None = None,
    sets: list[TransactionSetEnvelope] | None = None,
) -> Iterator[Event835]:
    """Stream the 835 transaction sets of a file, one claim at a time, with memory that stays flat.

    For each transaction set: the ``Remittance835`` header (payment, payer, payee; yielded at its first
    LX/CLP/PLB or at SE), then every ``ClaimPayment`` in order with its service and claim balance problems
    filled in, then a ``RemittanceEnd``. Envelope and syntax problems go to ``problems``; problems found
    inside a transaction set go to its remittance's ``problems``. Other transaction sets are reported as
    problems and skipped. ``sets`` receives the envelope of every transaction set as its ST is read; by the
    time a set's ``RemittanceEnd`` is yielded, the set's own envelope problems are known (those of its group
    and interchange come with their trailers).
    """
    return _events(source, problems if problems is not None else [], keep_claims=False, sets=sets)


def _events(
    source: bytes | str | os.PathLike[str] | BinaryIO,
    found: list[Problem],
    *,
    keep_claims: bool,
    sets: list[TransactionSetEnvelope] | None = None,
) -> Iterator[Event835]:
    """The events of ``iter_835``; with ``keep_claims`` the claims stay on their remittance instead."""
    builder: Builder835 | None = None
    isa13 = ""
    version = ""
    boundary = _BOUNDARY_IDS
    for first, batch, delims in read_batches(source, found, sets):
        n = len(batch)
        k = 0
        if builder is not None:
            builder.component = delims.component
        while k < n:
            if builder is not None:
                k = builder.consume(batch, k, first)
                if not builder.announced:
                    yield from _drain(builder)
                if builder.ready:
                    ready = builder.ready
                    builder.ready = []
                    yield from ready
                if k >= n:
                    break
            else:
                while k < n and batch[k][0] not in boundary:
                    k += 1
                if k >= n:
                    break
            p = batch[k]
            sid = p[0]
            index = first + k
            k += 1
            if sid == "ISA":
                isa13 = p[13].strip() if len(p) > 13 else ""
            elif sid == "GS":
                version = p[8].strip() if len(p) > 8 else ""
            elif sid == "ST":
                if builder is not None:
                    yield from _end(builder)
                    builder = None
                if len(p) > 1 and p[1].strip() == "835":
                    builder = Builder835(None, isa13, version, keep_claims=keep_claims, st_parts=p, st_index=index)
                    builder.component = delims.component
                else:
                    set_id = p[1].strip() if len(p) > 1 else ""
                    found.append(Problem(index, "UNEXPECTED_TRANSACTION", f"transaction set {set_id!r} is not an 835"))
            elif sid == "SE" and builder is not None:
                yield from _end(builder)
                builder = None
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
    """Every 835 transaction set of a file, the problems found reading it, and every set's envelope.

    ``sets`` holds the envelope of each transaction set of the file in order (of any type); a remittance's
    is the one whose ``start`` is the remittance's ``segment``.
    """

    remittances: list[Remittance835]
    problems: list[Problem]
    sets: list[TransactionSetEnvelope] = field(default_factory=list)


def read_835(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read835:
    """Parse every 835 transaction set of a file; other transaction sets are reported as problems.

    Every claim is kept in memory: for very large files use ``iter_835``.
    """
    problems: list[Problem] = []
    sets: list[TransactionSetEnvelope] = []
    remittances = [
        event.remittance
        for event in _events(source, problems, keep_claims=True, sets=sets)
        if isinstance(event, RemittanceEnd)
    ]
    for remit in remittances:
        problems.extend(remit.problems)
    problems.sort(key=lambda p: -1 if p.segment is None else p.segment)
    return Read835(remittances, problems, sets)
