"""Write an 835 health care claim payment/advice (005010X221A1).

The writer writes the amounts it is given: it does not rebalance them, so a deliberately unbalanced
remittance can be written to test the balancing checks of the reader. ``Remittance.payment_amount``
(BPR02) defaults to the balanced total: the sum of CLP04 minus the sum of the PLB amounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revcycle.domain import Address
from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    SegmentWriter,
    format_amount,
    format_date,
    format_decimal,
)

VERSION_835 = "005010X221A1"
_ZERO = Decimal("0")


@dataclass(frozen=True)
class Adjustment:
    """One CAS triple: group code (CO, PR, OA, PI), reason code (CARC), amount, optional quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class ServicePayment:
    """Loop 2110: the payment of one service line."""

    procedure_code: str
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    units: Decimal  # SVC05
    service_date: date
    modifiers: tuple[str, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    allowed: Decimal | None = None  # AMT*B6
    remark_codes: tuple[str, ...] = ()  # LQ*HE (RARC)
    service_date_end: date | None = None
    qualifier: str = "HC"
    revenue_code: str | None = None  # SVC04: the NUBC revenue code of an institutional line

    @property
    def adjustment_total(self) -> Decimal:
        """The sum of this line's CAS amounts."""
        return sum((a.amount for a in self.adjustments), _ZERO)


@dataclass(frozen=True)
class RemittanceClaim:
    """Loop 2100: the adjudication of one claim."""

    claim_key: str  # CLP01: the 837 CLM01
    status_code: str  # CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 22 reversal
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal  # CLP05
    filing_indicator: str  # CLP06: 12, MB, MC, CI …
    payer_claim_number: str  # CLP07
    patient_last_name: str
    patient_first_name: str | None
    member_id: str
    facility_code: str = "11"  # CLP08: place of service for a professional claim
    frequency_code: str = "1"  # CLP09
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    services: tuple[ServicePayment, ...] = ()
    subscriber_last_name: str | None = None  # NM1*IL, when the subscriber is not the patient
    subscriber_first_name: str | None = None
    statement_from: date | None = None  # DTM*232
    statement_to: date | None = None  # DTM*233
    remark_codes: tuple[str, ...] = ()  # claim-level remarks (RARC): MOA03-MOA07, or MIA05 when inpatient
    inpatient: bool = False  # claim-level remarks go in MIA (inpatient) instead of MOA (outpatient)
    crossover_carrier: tuple[str, str] | None = None  # NM1*TT: (name, payer id) the claim was forwarded to

    @property
    def adjustment_total(self) -> Decimal:
        """Claim-level plus line-level CAS amounts."""
        return sum((a.amount for a in self.adjustments), _ZERO) + sum(
            (s.adjustment_total for s in self.services), _ZERO
        )


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB adjustment: reason (e.g. WO, L6, FB), reference, amount (positive reduces the payment)."""

    reason: str
    amount: Decimal
    reference: str | None = None


@dataclass(frozen=True)
class Remittance:
    """The content of one 835 transaction set: one payment from one payer to one payee."""

    payer_name: str
    payer_tax_id: str  # TRN03 is "1" + this 9-digit id
    payer_address: Address
    payer_contact_phone: str  # PER*BL
    payee_name: str
    payee_npi: str
    payee_tax_id: str  # REF*TJ
    trace_number: str  # TRN02: check or EFT number
    payment_date: date  # BPR16
    production_date: date  # DTM*405
    claims: tuple[RemittanceClaim, ...]
    payment_method: str = "ACH"  # ACH or CHK; NON is used automatically when nothing is paid
    receiver_id: str | None = None  # REF*EV
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    fiscal_period_end: date | None = None  # PLB02; defaults to 31 December of the payment year
    payment_amount: Decimal | None = None  # BPR02 override; None = balanced total

    @property
    def balanced_total(self) -> Decimal:
        """Sum of CLP04 minus the sum of PLB amounts."""
        return sum((c.paid for c in self.claims), _ZERO) - sum((p.amount for p in self.provider_adjustments), _ZERO)


def _cas(w: SegmentWriter, adjustments: Sequence[Adjustment]) -> None:
    """CAS segments: one per group code, at most six triples each, in first-seen group order."""
    groups: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        groups.setdefault(adj.group, []).append(adj)
    for group, items in groups.items():
        for start in range(0, len(items), 6):
            elements: list[str | None] = [group]
            for adj in items[start : start + 6]:
                elements += [
                    adj.reason,
                    format_amount(adj.amount),
                    format_decimal(adj.quantity) if adj.quantity is not None else None,
                ]
            w.segment("CAS", *elements)


def _bpr(w: SegmentWriter, rem: Remittance, amount: Decimal) -> None:
    pay_date = format_date(rem.payment_date)
    if amount == 0:
        w.segment("BPR", "H", "0", "C", "NON", *([None] * 11), pay_date)
    elif rem.payment_method == "CHK":
        w.segment("BPR", "C", format_amount(amount), "C", "CHK", *([None] * 11), pay_date)
    elif rem.payment_method == "ACH":
        # sandbox routing/account numbers: the sandbox never moves money
        w.segment(
            "BPR",
            "C",
            format_amount(amount),
            "C",
            "ACH",
            "CCP",
            "01",
            "999999992",
            "DA",
            "000000001",
            "1" + rem.payer_tax_id,
            None,
            "01",
            "999999992",
            "DA",
            "000000002",
            pay_date,
        )
    else:
        raise ValueError("payment method must be ACH or CHK")


def _claim(w: SegmentWriter, claim: RemittanceClaim) -> None:
    w.segment(
        "CLP",
        claim.claim_key,
        claim.status_code,
        format_amount(claim.charge),
        format_amount(claim.paid),
        format_amount(claim.patient_responsibility),
        claim.filing_indicator,
        claim.payer_claim_number,
        claim.facility_code,
        claim.frequency_code,
    )
    _cas(w, claim.adjustments)
    w.segment(
        "NM1",
        "QC",
        "1",
        claim.patient_last_name,
        claim.patient_first_name,
        None,
        None,
        None,
        "MI",
        claim.member_id,
    )
    if claim.subscriber_last_name is not None:
        w.segment(
            "NM1",
            "IL",
            "1",
            claim.subscriber_last_name,
            claim.subscriber_first_name,
            None,
            None,
            None,
            "MI",
            claim.member_id,
        )
    if claim.crossover_carrier is not None:
        name, ident = claim.crossover_carrier
        w.segment("NM1", "TT", "2", name, None, None, None, None, "PI", ident)
    if claim.remark_codes and claim.inpatient:
        w.segment("MIA", "0", None, None, None, claim.remark_codes[0])
    elif claim.remark_codes:
        w.segment("MOA", None, None, *claim.remark_codes[:5])
    if claim.statement_from is not None:
        w.segment("DTM", "232", format_date(claim.statement_from))
    if claim.statement_to is not None:
        w.segment("DTM", "233", format_date(claim.statement_to))
    for svc in claim.services:
        w.segment(
            "SVC",
            (svc.qualifier, svc.procedure_code, *svc.modifiers[:4]),
            format_amount(svc.charge),
            format_amount(svc.paid),
            svc.revenue_code,
            format_decimal(svc.units),
        )
        if svc.service_date_end is not None and svc.service_date_end != svc.service_date:
            w.segment("DTM", "150", format_date(svc.service_date))
            w.segment("DTM", "151", format_date(svc.service_date_end))
        else:
            w.segment("DTM", "472", format_date(svc.service_date))
        _cas(w, svc.adjustments)
        if svc.allowed is not None:
            w.segment("AMT", "B6", format_amount(svc.allowed))
        for remark in svc.remark_codes:
            w.segment("LQ", "HE", remark)


def write_835(
    remittances: Sequence[Remittance],
    envelope: Envelope,
    transaction_control_start: int = 1,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """An 835 interchange: one transaction set per remittance, all in one functional group."""
    if envelope.functional_id_code != "HP" or envelope.version != VERSION_835:
        raise ValueError(f"an 835 envelope needs GS01 HP and GS08 {VERSION_835}")
    if not remittances:
        raise ValueError("no remittance to write")
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    for offset, rem in enumerate(remittances):
        if len(rem.payer_tax_id) != 9 or not rem.payer_tax_id.isdigit():
            raise ValueError("payer tax id must be 9 digits")
        amount = rem.balanced_total if rem.payment_amount is None else rem.payment_amount
        w.open_transaction("835", transaction_control_start + offset, None)
        _bpr(w, rem, amount)
        w.segment("TRN", "1", rem.trace_number, "1" + rem.payer_tax_id)
        if rem.receiver_id:
            w.segment("REF", "EV", rem.receiver_id)
        w.segment("DTM", "405", format_date(rem.production_date))
        w.segment("N1", "PR", rem.payer_name)
        w.segment("N3", rem.payer_address.line1, rem.payer_address.line2)
        w.segment("N4", rem.payer_address.city, rem.payer_address.state, rem.payer_address.zip_code)
        w.segment("PER", "BL", None, "TE", rem.payer_contact_phone)
        w.segment("N1", "PE", rem.payee_name, "XX", rem.payee_npi)
        w.segment("REF", "TJ", rem.payee_tax_id)
        if rem.claims:
            w.segment("LX", "1")
            for claim in rem.claims:
                _claim(w, claim)
        # pyx12 4.0.0 accepts one PLB segment only, so up to six adjustments share it
        for start in range(0, len(rem.provider_adjustments), 6):
            fiscal = rem.fiscal_period_end or date(rem.payment_date.year, 12, 31)
            elements: list[str | tuple[str, ...] | None] = [rem.payee_npi, format_date(fiscal)]
            for adj in rem.provider_adjustments[start : start + 6]:
                elements += [
                    (adj.reason, adj.reference) if adj.reference else adj.reason,
                    format_amount(adj.amount),
                ]
            w.segment("PLB", *elements)
        w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()
