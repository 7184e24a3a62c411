"""Write a 276 claim status request (005010X212).

HL levels: 20 information source (the payer), 21 information receiver (us, by our ETIN), 19 service
provider (the billing NPI), 22 subscriber, 23 dependent when the patient is not the subscriber. Each claim
asked about is one 2200D (or 2200E) loop: TRN*1 with a trace number the 277 echoes back (TRN*2), REF*EJ
our claim key (the 837's CLM01), REF*1K the payer's claim number when known, REF*BLT the bill type for an
institutional claim, AMT*T3 the total charge and DTP*472 the service dates.

Segments written, by loop (R required): ST R, BHT R (0010, 13); 2000A HL R; 2100A NM1*PR R; 2000B HL R;
2100B NM1*41 R (46); 2000C HL R; 2100C NM1*1P R (XX); 2000D HL R, DMG (subscriber is the patient);
2100D NM1*IL R (MI); 2200D TRN R, REF*1K, REF*BLT, REF*EJ, AMT*T3, DTP*472; 2000E HL R (HL04 not used),
DMG R; 2100E NM1*QC R (NM108/NM109 not used); 2200E as 2200D; SE R.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    SegmentWriter,
    format_amount,
    format_date,
    format_date_range,
    inquiry_gender,
)

VERSION_276 = "005010X212"


@dataclass(frozen=True)
class StatusPerson:
    """A subscriber or patient as the claim carried them."""

    last_name: str
    first_name: str | None
    birth_date: date | None = None
    gender: str | None = None
    middle_name: str | None = None


@dataclass(frozen=True)
class ClaimStatusQuery:
    """One claim asked about."""

    trace: str  # TRN02: our inquiry key, echoed in the 277
    claim_key: str  # REF*EJ: the 837 CLM01
    member_id: str
    subscriber: StatusPerson
    total_charge: Decimal  # AMT*T3
    service_date: date
    service_date_end: date | None = None
    payer_claim_number: str | None = None  # REF*1K
    bill_type: str | None = None  # REF*BLT, institutional claims (e.g. 131)
    patient: StatusPerson | None = None  # the dependent, when the patient is not the subscriber

    def __post_init__(self) -> None:
        if not 1 <= len(self.trace) <= 50:
            raise ValueError("a 276 trace number is 1 to 50 characters")
        if not self.claim_key or not self.member_id:
            raise ValueError("a 276 query needs the claim key and the member id")
        if self.patient is not None and self.patient.birth_date is None:
            raise ValueError("a dependent patient (2000E DMG) needs a birth date")


@dataclass(frozen=True)
class ProviderQueries:
    """The claims of one billing provider (2000C)."""

    npi: str
    name: str
    queries: tuple[ClaimStatusQuery, ...]
    first_name: str | None = None  # None for an organisation


@dataclass(frozen=True)
class ClaimStatusInquiry:
    """The content of one 276 transaction set."""

    payer_name: str
    payer_id: str  # 2100A NM109 (PI)
    receiver_name: str  # 2100B: us
    receiver_id: str  # 2100B NM109 (46, ETIN)
    reference: str  # BHT03
    providers: tuple[ProviderQueries, ...]

    def __post_init__(self) -> None:
        if not self.providers or any(not p.queries for p in self.providers):
            raise ValueError("a 276 needs at least one provider, each with at least one claim")


def _claim_loop(w: SegmentWriter, q: ClaimStatusQuery) -> None:
    w.segment("TRN", "1", q.trace)
    if q.payer_claim_number:
        w.segment("REF", "1K", q.payer_claim_number)
    if q.bill_type:
        w.segment("REF", "BLT", q.bill_type)
    w.segment("REF", "EJ", q.claim_key)
    w.segment("AMT", "T3", format_amount(q.total_charge))
    qualifier, value = format_date_range(q.service_date, q.service_date_end)
    w.segment("DTP", "472", qualifier, value)


def _dmg(w: SegmentWriter, person: StatusPerson) -> None:
    if person.birth_date is not None:
        w.segment("DMG", "D8", format_date(person.birth_date), inquiry_gender(person.gender))


def write_276(
    inquiry: ClaimStatusInquiry,
    envelope: Envelope,
    transaction_control_number: int = 1,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """A 276 interchange asking the status of every claim in ``inquiry``."""
    if envelope.functional_id_code != "HR" or envelope.version != VERSION_276:
        raise ValueError(f"a 276 envelope needs GS01 HR and GS08 {VERSION_276}")
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    w.open_transaction("276", transaction_control_number, VERSION_276)
    w.segment(
        "BHT",
        "0010",
        "13",
        inquiry.reference,
        format_date(envelope.created.date()),
        envelope.created.strftime("%H%M"),
    )
    w.segment("HL", "1", None, "20", "1")
    w.segment("NM1", "PR", "2", inquiry.payer_name, None, None, None, None, "PI", inquiry.payer_id)
    w.segment("HL", "2", "1", "21", "1")
    w.segment("NM1", "41", "2", inquiry.receiver_name, None, None, None, None, "46", inquiry.receiver_id)
    hl = 2
    for provider in inquiry.providers:
        hl += 1
        provider_hl = hl
        w.segment("HL", str(hl), "2", "19", "1")
        if provider.first_name is None:
            w.segment("NM1", "1P", "2", provider.name, None, None, None, None, "XX", provider.npi)
        else:
            w.segment("NM1", "1P", "1", provider.name, provider.first_name, None, None, None, "XX", provider.npi)
        for q in provider.queries:
            hl += 1
            subscriber_hl = hl
            w.segment("HL", str(hl), str(provider_hl), "22", "0" if q.patient is None else "1")
            if q.patient is None:
                _dmg(w, q.subscriber)
            s = q.subscriber
            w.segment("NM1", "IL", "1", s.last_name, s.first_name, s.middle_name, None, None, "MI", q.member_id)
            if q.patient is None:
                _claim_loop(w, q)
                continue
            hl += 1
            w.segment("HL", str(hl), str(subscriber_hl), "23")
            _dmg(w, q.patient)
            p = q.patient
            w.segment("NM1", "QC", "1", p.last_name, p.first_name, p.middle_name)
            _claim_loop(w, q)
    w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()
