"""Write a 277 claim status response (005010X212): the sandbox payer's answer to a 276.

``answer_276`` turns a 276 read back (``x276.read_276``) into a reply: it echoes the payer, the receiver,
every provider, subscriber, patient, trace number (TRN*2 = the 276's TRN*1), claim key (REF*EJ) and service
dates, and asks the caller for each claim's status. A claim the caller does not know is answered A4:35
(acknowledgement/not found: claim/encounter not found). ``STATUS_OF_STAGE`` gives the STC01 the sandbox
uses for each stage of its own process. ``write_277`` writes the reply.

Segments written, by loop: ST, BHT (0010, 08, DG); 2000A HL; 2100A NM1*PR; 2000B HL; 2100B NM1*41 (46);
2000C HL; 2100C NM1*1P (XX); 2000D HL; 2100D NM1*IL (MI); 2200D TRN*2, STC, REF*1K, REF*BLT, REF*EJ,
DTP*472; 2220D SVC, STC, DTP*472; 2000E HL; 2100E NM1*QC; 2200E/2220E as 2200D/2220D; SE.
STC03, STC07 and STC12 are not used in these loops and never written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revcycle.x12.write277ca import ClaimStatus
from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    SegmentWriter,
    format_amount,
    format_date,
    format_date_range,
    format_decimal,
)
from revcycle.x12.x276 import ClaimStatusRequest276, QueriedClaim

VERSION_277 = "005010X212"

NOT_FOUND = ClaimStatus("A4", "35")  # acknowledgement/not found: claim/encounter not found
# the STC01 the sandbox answers for each stage of its own process (claim status category 507 and code 508)
STATUS_OF_STAGE: dict[str, ClaimStatus] = {
    "not_found": NOT_FOUND,
    "in_process": ClaimStatus("P1", "20"),  # pending/in process: accepted for processing
    "awaiting_payment": ClaimStatus("F0", "3"),  # finalized: adjudicated and awaiting payment cycle
    "paid": ClaimStatus("F1", "65"),  # finalized/payment: claim/line has been paid
    "denied": ClaimStatus("F2", "1"),  # finalized/denial: for more detailed information, see remittance advice
}


@dataclass(frozen=True)
class StatusAnswer:
    """One STC: status (STC01) and further statuses (STC10, STC11), dates and amounts when given."""

    status: ClaimStatus
    effective_date: date  # STC02
    total_charge: Decimal | None = None  # STC04
    paid: Decimal | None = None  # STC05
    adjudicated: date | None = None  # STC06
    remittance_date: date | None = None  # STC08
    remittance_trace: str | None = None  # STC09
    extra_statuses: tuple[ClaimStatus, ...] = ()  # STC10, STC11


@dataclass(frozen=True)
class LineAnswer:
    """One service line's status (loop 2220D/2220E)."""

    procedure: str  # SVC01-2 (HCPCS, qualifier HC)
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    units: Decimal  # SVC07
    service_date: date
    statuses: tuple[StatusAnswer, ...]
    modifiers: tuple[str, ...] = ()
    revenue_code: str | None = None  # SVC04


@dataclass(frozen=True)
class ClaimAnswer:
    """What the payer says about one claim."""

    statuses: tuple[StatusAnswer, ...]
    payer_claim_number: str | None = None  # REF*1K
    lines: tuple[LineAnswer, ...] = ()

    def __post_init__(self) -> None:
        if not self.statuses or any(not line.statuses for line in self.lines):
            raise ValueError("a 277 claim and each of its lines needs at least one STC")


@dataclass(frozen=True)
class ClaimReply:
    """One claim answered (loop 2200D, or 2200E under a dependent)."""

    trace: str  # TRN02: the 276's TRN02
    claim_key: str  # REF*EJ
    member_id: str
    subscriber_last_name: str
    subscriber_first_name: str | None
    service_date: date | None  # DTP*472 (left out when the 276 gave none)
    answer: ClaimAnswer
    service_date_end: date | None = None
    bill_type: str | None = None
    patient_last_name: str | None = None  # the dependent, when the patient is not the subscriber
    patient_first_name: str | None = None


@dataclass(frozen=True)
class ProviderReply:
    """The claims of one service provider (2000C)."""

    npi: str
    name: str
    claims: tuple[ClaimReply, ...]
    first_name: str | None = None
    id_qualifier: str = "XX"


@dataclass(frozen=True)
class ClaimStatusReply:
    """The content of one 277 (X212) transaction set."""

    payer_name: str
    payer_id: str
    receiver_name: str
    receiver_id: str  # 2100B NM109 (46, ETIN)
    reference: str  # BHT03
    providers: tuple[ProviderReply, ...]

    def __post_init__(self) -> None:
        if not self.providers or any(not p.claims for p in self.providers):
            raise ValueError("a 277 needs at least one provider, each with at least one claim")


def _stc(w: SegmentWriter, s: StatusAnswer, claim_level: bool) -> None:
    money = claim_level
    extra = [x.composite for x in s.extra_statuses[:2]]
    w.segment(
        "STC",
        s.status.composite,
        format_date(s.effective_date),
        None,
        format_amount(s.total_charge) if money and s.total_charge is not None else None,
        format_amount(s.paid) if money and s.paid is not None else None,
        format_date(s.adjudicated) if money and s.adjudicated else None,
        None,
        format_date(s.remittance_date) if money and s.remittance_date else None,
        s.remittance_trace if money else None,
        *extra,
    )


def _claim(w: SegmentWriter, c: ClaimReply) -> None:
    w.segment("TRN", "2", c.trace)
    for status in c.answer.statuses:
        _stc(w, status, claim_level=True)
    if c.answer.payer_claim_number:
        w.segment("REF", "1K", c.answer.payer_claim_number)
    if c.bill_type:
        w.segment("REF", "BLT", c.bill_type)
    w.segment("REF", "EJ", c.claim_key)
    if c.service_date is not None:
        qualifier, value = format_date_range(c.service_date, c.service_date_end)
        w.segment("DTP", "472", qualifier, value)
    for line in c.answer.lines:
        w.segment(
            "SVC",
            ("HC", line.procedure, *line.modifiers),
            format_amount(line.charge),
            format_amount(line.paid),
            line.revenue_code,
            None,
            None,
            format_decimal(line.units),
        )
        for status in line.statuses:
            _stc(w, status, claim_level=False)
        w.segment("DTP", "472", "D8", format_date(line.service_date))


def write_277(
    reply: ClaimStatusReply,
    envelope: Envelope,
    transaction_control_number: int = 1,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """A 277 (005010X212) interchange holding ``reply``."""
    if envelope.functional_id_code != "HN" or envelope.version != VERSION_277:
        raise ValueError(f"a 277 claim status envelope needs GS01 HN and GS08 {VERSION_277}")
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    w.open_transaction("277", transaction_control_number, VERSION_277)
    w.segment(
        "BHT",
        "0010",
        "08",
        reply.reference,
        format_date(envelope.created.date()),
        envelope.created.strftime("%H%M"),
        "DG",
    )
    w.segment("HL", "1", None, "20", "1")
    w.segment("NM1", "PR", "2", reply.payer_name, None, None, None, None, "PI", reply.payer_id)
    w.segment("HL", "2", "1", "21", "1")
    w.segment("NM1", "41", "2", reply.receiver_name, None, None, None, None, "46", reply.receiver_id)
    hl = 2
    for provider in reply.providers:
        hl += 1
        provider_hl = hl
        w.segment("HL", str(hl), "2", "19", "1")
        person = provider.first_name is not None
        w.segment(
            "NM1",
            "1P",
            "1" if person else "2",
            provider.name,
            provider.first_name,
            None,
            None,
            None,
            provider.id_qualifier,
            provider.npi,
        )
        for claim in provider.claims:
            hl += 1
            subscriber_hl = hl
            dependent = claim.patient_last_name is not None
            w.segment("HL", str(hl), str(provider_hl), "22", "1" if dependent else "0")
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
            if dependent:
                hl += 1
                w.segment("HL", str(hl), str(subscriber_hl), "23")
                w.segment("NM1", "QC", "1", claim.patient_last_name, claim.patient_first_name)
            _claim(w, claim)
    w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()


def answer_276(
    request: ClaimStatusRequest276,
    status_of: Callable[[QueriedClaim], ClaimAnswer | None],
    *,
    today: date,
) -> ClaimStatusReply:
    """The reply to a 276 read back: each claim's status from ``status_of`` (None: not found, A4:35).

    ``today`` is the effective date (STC02) of a not-found answer. Claims are grouped under their service
    provider as the 276 listed them; the subscriber, patient, trace, claim key, bill type and service dates
    are echoed as asked.
    """
    providers: dict[tuple[str, str], list[ClaimReply]] = {}
    names: dict[tuple[str, str], tuple[str, str | None]] = {}
    for queried in request.claims:
        provider = queried.provider
        key = (provider.id_qualifier or "XX", provider.identifier) if provider else ("XX", "")
        names.setdefault(
            key,
            (provider.last if provider else "", (provider.first or None) if provider and provider.is_person else None),
        )
        answer = status_of(queried) or ClaimAnswer((StatusAnswer(NOT_FOUND, today, queried.total_charge),))
        period = queried.service_period
        subscriber = queried.subscriber
        patient = queried.patient
        providers.setdefault(key, []).append(
            ClaimReply(
                trace=queried.trace,
                claim_key=queried.claim_key,
                member_id=subscriber.identifier if subscriber else "",
                subscriber_last_name=subscriber.last if subscriber else "",
                subscriber_first_name=(subscriber.first or None) if subscriber else None,
                service_date=period.start if period is not None else None,
                service_date_end=period.end if period is not None else None,
                answer=answer,
                bill_type=queried.bill_type or None,
                patient_last_name=patient.last if patient else None,
                patient_first_name=(patient.first or None) if patient else None,
            )
        )
    payer = request.payer
    receiver = request.receiver
    return ClaimStatusReply(
        payer_name=payer.last if payer else "",
        payer_id=payer.identifier if payer else "",
        receiver_name=receiver.last if receiver else "",
        receiver_id=receiver.identifier if receiver else "",
        reference=request.reference,
        providers=tuple(
            ProviderReply(key[1], names[key][0], tuple(claims), names[key][1], key[0])
            for key, claims in providers.items()
        ),
    )
