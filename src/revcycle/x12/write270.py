"""Write a 270 eligibility inquiry (005010X279A1).

HL levels: 20 information source (the payer), 21 information receiver (the provider asking), 22 subscriber,
23 dependent when the patient is not the subscriber. Each query gets its own subscriber loop with a TRN*1
trace number the 271 echoes back (TRN*2), so every answer finds its question. The inquiry asks for the
date of service (DTP*291) and the service types in EQ01 (30, health benefit plan coverage, by default, as
CAQH CORE rule 154 expects a generic inquiry to).

Segments written, by loop (required ones marked R; see docs/eligibility-and-claim-status.md for sources):
header ST R, BHT R (0022, 13 request); 2000A HL R; 2100A NM1*PR R; 2000B HL R; 2100B NM1*1P R (NPI, XX);
2000C HL R, TRN*1; 2100C NM1*IL R (member id, MI), DMG, DTP*291; 2110C EQ; 2000D HL, TRN*1;
2100D NM1*03 R, DMG, DTP*291; 2110D EQ R; SE R.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    SegmentWriter,
    format_date,
    format_date_range,
    inquiry_gender,
)

VERSION_270 = "005010X279A1"


@dataclass(frozen=True)
class InquiredPerson:
    """A subscriber or dependent as the inquiry names them."""

    last_name: str
    first_name: str | None
    birth_date: date | None = None
    gender: str | None = None  # M, F or U
    middle_name: str | None = None


@dataclass(frozen=True)
class EligibilityQuery:
    """One question: is this member covered on this date, for these service types?"""

    trace: str  # TRN02: our inquiry key, echoed in the 271
    member_id: str
    subscriber: InquiredPerson
    service_date: date
    service_date_end: date | None = None
    service_types: tuple[str, ...] = ("30",)
    patient: InquiredPerson | None = None  # the dependent, when the patient is not the subscriber

    def __post_init__(self) -> None:
        if not 1 <= len(self.trace) <= 50:
            raise ValueError("a 270 trace number is 1 to 50 characters")
        if not self.member_id:
            raise ValueError("a 270 query needs the member id")
        if not self.service_types or any(not s for s in self.service_types):
            raise ValueError("a 270 query needs at least one service type code")
        if self.patient is not None and not self.patient.first_name:
            raise ValueError("a dependent (2100D NM104) needs a first name")


@dataclass(frozen=True)
class EligibilityInquiry:
    """The content of one 270 transaction set: one payer, one provider, one or more queries."""

    payer_name: str
    payer_id: str  # 2100A NM109 (PI)
    provider_name: str  # organisation name, or a person's last name
    provider_npi: str  # 2100B NM109 (XX)
    originator_id: str  # TRN03: 10 characters, 1 + the provider's EIN, or 9 + an assigned number
    reference: str  # BHT03: echoed in the 271
    queries: tuple[EligibilityQuery, ...]
    provider_first_name: str | None = None  # None for an organisation

    def __post_init__(self) -> None:
        if len(self.originator_id) != 10:
            raise ValueError("TRN03 (originator id) is 10 characters: 1 + an EIN, or 9 + an assigned number")
        if not self.queries:
            raise ValueError("a 270 needs at least one query")


def _person_segments(w: SegmentWriter, entity: str, person: InquiredPerson, member_id: str | None) -> None:
    tail: tuple[str | None, ...] = ("MI", member_id) if member_id else ()
    w.segment("NM1", entity, "1", person.last_name, person.first_name, person.middle_name, None, None, *tail)
    if person.birth_date is not None:
        w.segment("DMG", "D8", format_date(person.birth_date), inquiry_gender(person.gender))


def _dates_and_types(w: SegmentWriter, query: EligibilityQuery) -> None:
    qualifier, value = format_date_range(query.service_date, query.service_date_end)
    w.segment("DTP", "291", qualifier, value)
    for service_type in query.service_types:
        w.segment("EQ", service_type)


def write_270(
    inquiry: EligibilityInquiry,
    envelope: Envelope,
    transaction_control_number: int = 1,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """A 270 interchange asking about every query of ``inquiry``."""
    if envelope.functional_id_code != "HS" or envelope.version != VERSION_270:
        raise ValueError(f"a 270 envelope needs GS01 HS and GS08 {VERSION_270}")
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    w.open_transaction("270", transaction_control_number, VERSION_270)
    w.segment(
        "BHT",
        "0022",
        "13",
        inquiry.reference,
        format_date(envelope.created.date()),
        envelope.created.strftime("%H%M"),
    )
    w.segment("HL", "1", None, "20", "1")
    w.segment("NM1", "PR", "2", inquiry.payer_name, None, None, None, None, "PI", inquiry.payer_id)
    w.segment("HL", "2", "1", "21", "1")
    if inquiry.provider_first_name is None:
        w.segment("NM1", "1P", "2", inquiry.provider_name, None, None, None, None, "XX", inquiry.provider_npi)
    else:
        w.segment(
            "NM1",
            "1P",
            "1",
            inquiry.provider_name,
            inquiry.provider_first_name,
            None,
            None,
            None,
            "XX",
            inquiry.provider_npi,
        )
    hl = 2
    for query in inquiry.queries:
        hl += 1
        subscriber_hl = hl
        dependent = query.patient is not None
        w.segment("HL", str(hl), "2", "22", "1" if dependent else "0")
        if not dependent:
            w.segment("TRN", "1", query.trace, inquiry.originator_id)
        _person_segments(w, "IL", query.subscriber, query.member_id)
        if query.patient is None:
            _dates_and_types(w, query)
            continue
        hl += 1
        w.segment("HL", str(hl), str(subscriber_hl), "23", "0")
        w.segment("TRN", "1", query.trace, inquiry.originator_id)
        _person_segments(w, "03", query.patient, None)
        _dates_and_types(w, query)
    w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()
