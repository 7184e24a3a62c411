"""Write a 271 eligibility response (005010X279A1): the sandbox payer's answer to a 270.

``answer_270`` turns a 270 read back (``x270.read_270``) into a reply, echoing the payer, the provider,
BHT03, every member's name, id and birth date and its trace number (TRN*2 = the 270's TRN*1), and asking
the caller only for the coverage of each member asked about. ``write_271`` writes the reply.

Segments written, by loop: header ST, BHT (0022, 11 response); 2000A HL; 2100A NM1*PR, AAA; 2000B HL;
2100B NM1*1P, AAA; 2000C HL, TRN*2; 2100C NM1*IL, AAA, DMG, DTP; 2110C EB, REF, DTP, AAA, LS*2120,
2120C NM1, LE*2120; 2000D HL, TRN*2; 2100D NM1*03, AAA, DMG, INS, DTP; 2110D as 2110C; SE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    Repeated,
    SegmentWriter,
    format_amount,
    format_date,
    format_date_range,
    format_decimal,
    inquiry_gender,
)
from revcycle.x12.x270 import EligibilityInquiry270, InquiredMember

VERSION_271 = "005010X279A1"


@dataclass(frozen=True)
class DateSpan:
    """A DTP date (D8) or range (RD8): e.g. 346 plan begin, 347 plan end, 291 plan, 356/357 eligibility."""

    qualifier: str
    start: date
    end: date | None = None


@dataclass(frozen=True)
class RejectionReply:
    """An AAA segment: AAA01 (request valid), AAA03 reject reason, AAA04 follow-up action."""

    reason: str
    follow_up: str
    valid_request: bool = True


@dataclass(frozen=True)
class EntityReply:
    """A loop 2120 entity: PRP/SEP/TTP other payers, PR payer, P3 primary care provider ..."""

    entity: str
    name: str
    id_qualifier: str | None = None  # e.g. PI payer id, XX NPI
    identifier: str | None = None
    first_name: str | None = None  # None for an organisation


@dataclass(frozen=True)
class BenefitReply:
    """One EB segment (loop 2110) with its references, dates, rejections and 2120 entities."""

    code: str  # EB01
    coverage_level: str | None = None  # EB02, e.g. IND, FAM
    service_types: tuple[str, ...] = ()  # EB03
    insurance_type: str | None = None  # EB04
    plan_description: str | None = None  # EB05
    time_period: str | None = None  # EB06, 29 remaining
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08, e.g. 0.2
    authorization: str | None = None  # EB11 Y, N, U
    network: str | None = None  # EB12 Y, N, U, W
    references: tuple[tuple[str, str], ...] = ()
    dates: tuple[DateSpan, ...] = ()
    rejections: tuple[RejectionReply, ...] = ()
    entities: tuple[EntityReply, ...] = ()


@dataclass(frozen=True)
class CoverageAnswer:
    """What the payer says about one member: plan dates, benefits, or rejections."""

    benefits: tuple[BenefitReply, ...] = ()
    rejections: tuple[RejectionReply, ...] = ()
    dates: tuple[DateSpan, ...] = ()


@dataclass(frozen=True)
class MemberReply:
    """One subscriber (2000C) or dependent (2000D) answered."""

    last_name: str
    first_name: str | None
    answer: CoverageAnswer
    member_id: str | None = None  # subscriber only (2100D NM108/NM109 are not used)
    birth_date: date | None = None
    gender: str | None = None
    trace: str | None = None  # the 270's TRN02
    trace_originator: str | None = None  # the 270's TRN03
    relationship: str | None = None  # dependent: INS02, e.g. 19 child, 01 spouse


@dataclass(frozen=True)
class SubscriberReply:
    """A subscriber and the dependents answered under it."""

    subscriber: MemberReply
    dependents: tuple[MemberReply, ...] = ()


@dataclass(frozen=True)
class EligibilityReply:
    """The content of one 271 transaction set."""

    payer_name: str
    payer_id: str
    provider_name: str
    provider_id: str
    reference: str  # BHT03, the 270's BHT03
    subscribers: tuple[SubscriberReply, ...]
    provider_id_qualifier: str = "XX"
    provider_first_name: str | None = None
    payer_rejections: tuple[RejectionReply, ...] = ()  # 2100A AAA
    provider_rejections: tuple[RejectionReply, ...] = ()  # 2100B AAA

    def __post_init__(self) -> None:
        if not self.subscribers and not (self.payer_rejections or self.provider_rejections):
            raise ValueError("a 271 answers at least one subscriber or rejects the inquiry with an AAA")


def _aaa(w: SegmentWriter, rejections: tuple[RejectionReply, ...]) -> None:
    for r in rejections:
        w.segment("AAA", "Y" if r.valid_request else "N", None, r.reason, r.follow_up)


def _dtp(w: SegmentWriter, dates: tuple[DateSpan, ...]) -> None:
    for span in dates:
        qualifier, value = format_date_range(span.start, span.end)
        w.segment("DTP", span.qualifier, qualifier, value)


def _benefit(w: SegmentWriter, b: BenefitReply) -> None:
    w.segment(
        "EB",
        b.code,
        b.coverage_level,
        Repeated(b.service_types),
        b.insurance_type,
        b.plan_description,
        b.time_period,
        format_amount(b.amount) if b.amount is not None else None,
        format_decimal(b.percent) if b.percent is not None else None,
        None,
        None,
        b.authorization,
        b.network,
    )
    for qualifier, value in b.references:
        w.segment("REF", qualifier, value)
    _dtp(w, b.dates)
    _aaa(w, b.rejections)
    if b.entities:
        w.segment("LS", "2120")
        for e in b.entities:
            person = e.first_name is not None
            tail: tuple[str | None, ...] = (e.id_qualifier, e.identifier) if e.identifier else ()
            w.segment("NM1", e.entity, "1" if person else "2", e.name, e.first_name, None, None, None, *tail)
        w.segment("LE", "2120")


def _member(w: SegmentWriter, m: MemberReply, entity: str) -> None:
    if m.trace:
        w.segment("TRN", "2", m.trace, m.trace_originator)
    tail: tuple[str | None, ...] = ("MI", m.member_id) if m.member_id and entity == "IL" else ()
    w.segment("NM1", entity, "1", m.last_name, m.first_name, None, None, None, *tail)
    _aaa(w, m.answer.rejections)
    if m.birth_date is not None:
        w.segment("DMG", "D8", format_date(m.birth_date), inquiry_gender(m.gender))
    if entity == "03" and m.relationship:
        w.segment("INS", "N", m.relationship)
    _dtp(w, m.answer.dates)
    for benefit in m.answer.benefits:
        _benefit(w, benefit)


def write_271(
    reply: EligibilityReply,
    envelope: Envelope,
    transaction_control_number: int = 1,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """A 271 interchange holding ``reply``."""
    if envelope.functional_id_code != "HB" or envelope.version != VERSION_271:
        raise ValueError(f"a 271 envelope needs GS01 HB and GS08 {VERSION_271}")
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    w.open_transaction("271", transaction_control_number, VERSION_271)
    w.segment(
        "BHT", "0022", "11", reply.reference, format_date(envelope.created.date()), envelope.created.strftime("%H%M")
    )
    w.segment("HL", "1", None, "20", "1")
    w.segment("NM1", "PR", "2", reply.payer_name, None, None, None, None, "PI", reply.payer_id)
    _aaa(w, reply.payer_rejections)
    w.segment("HL", "2", "1", "21", "1" if reply.subscribers else "0")
    person = reply.provider_first_name is not None
    w.segment(
        "NM1",
        "1P",
        "1" if person else "2",
        reply.provider_name,
        reply.provider_first_name,
        None,
        None,
        None,
        reply.provider_id_qualifier,
        reply.provider_id,
    )
    _aaa(w, reply.provider_rejections)
    for sub in reply.subscribers:
        for member in (sub.subscriber, *sub.dependents):
            unanswered = not (member.answer.benefits or member.answer.rejections)
            if unanswered and not (member is sub.subscriber and sub.dependents):
                raise ValueError("every member asked about needs at least one EB or AAA")
    hl = 2
    for sub in reply.subscribers:
        hl += 1
        subscriber_hl = hl
        w.segment("HL", str(hl), "2", "22", "1" if sub.dependents else "0")
        _member(w, sub.subscriber, "IL")
        for dependent in sub.dependents:
            hl += 1
            w.segment("HL", str(hl), str(subscriber_hl), "23", "0")
            _member(w, dependent, "03")
    w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()


def _echo(member: InquiredMember, answer: CoverageAnswer) -> MemberReply:
    name = member.name
    trace = member.trace
    return MemberReply(
        last_name=name.last if name else "",
        first_name=(name.first or None) if name else None,
        answer=answer,
        member_id=member.member_id or None,
        birth_date=member.birth_date,
        gender=member.gender or None,
        trace=trace.number if trace else None,
        trace_originator=(trace.originator or None) if trace else None,
    )


def answer_270(
    inquiry: EligibilityInquiry270,
    coverage_of: Callable[[InquiredMember, InquiredMember | None], CoverageAnswer],
    *,
    payer_rejections: tuple[RejectionReply, ...] = (),
    provider_rejections: tuple[RejectionReply, ...] = (),
) -> EligibilityReply:
    """The reply to a 270 read back: echoes who asked and about whom, and asks ``coverage_of`` the rest.

    ``coverage_of(member, subscriber)`` is called for every member asked about (one with an EQ, or a
    dependent), with its subscriber for a dependent (None for a subscriber). A rejection of the whole
    inquiry (``payer_rejections`` at 2100A, ``provider_rejections`` at 2100B) answers no member.
    """
    subscribers: list[SubscriberReply] = []
    if not (payer_rejections or provider_rejections):
        for subscriber, dependents in inquiry.subscribers():
            asks = subscriber.asks or not dependents
            own = coverage_of(subscriber, None) if asks else CoverageAnswer()
            subscribers.append(
                SubscriberReply(
                    _echo(subscriber, own),
                    tuple(_echo(d, coverage_of(d, subscriber)) for d in dependents),
                )
            )
    payer = inquiry.payer
    provider = inquiry.provider
    return EligibilityReply(
        payer_name=payer.last if payer else "",
        payer_id=payer.identifier if payer else "",
        provider_name=provider.last if provider else "",
        provider_id=provider.identifier if provider else "",
        provider_id_qualifier=(provider.id_qualifier or "XX") if provider else "XX",
        provider_first_name=(provider.first or None) if provider and provider.is_person else None,
        reference=inquiry.reference,
        subscribers=tuple(subscribers),
        payer_rejections=payer_rejections,
        provider_rejections=provider_rejections,
    )
