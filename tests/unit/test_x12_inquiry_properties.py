"""Property tests: 270, 271, 276 and 277 (X212) written, read back, equal, whatever the content and delimiters;
and the readers never raise on damaged files.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from x12_inquiries import claim_status_documents, eligibility_documents, envelope

from revcycle.x12.document import parse_document
from revcycle.x12.write270 import VERSION_270, EligibilityInquiry, EligibilityQuery, InquiredPerson, write_270
from revcycle.x12.write271 import (
    VERSION_271,
    BenefitReply,
    CoverageAnswer,
    DateSpan,
    EligibilityReply,
    EntityReply,
    MemberReply,
    RejectionReply,
    SubscriberReply,
    write_271,
)
from revcycle.x12.write276 import (
    VERSION_276,
    ClaimStatusInquiry,
    ClaimStatusQuery,
    ProviderQueries,
    StatusPerson,
    write_276,
)
from revcycle.x12.write277 import (
    VERSION_277,
    ClaimAnswer,
    ClaimReply,
    ClaimStatusReply,
    LineAnswer,
    ProviderReply,
    StatusAnswer,
    write_277,
)
from revcycle.x12.write277ca import ClaimStatus
from revcycle.x12.writer import Delimiters
from revcycle.x12.x270 import read_270
from revcycle.x12.x271 import read_271
from revcycle.x12.x276 import read_276
from revcycle.x12.x277 import read_277

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SAFE = "*|^~:!>{}#@\x1d"
delimiters = st.permutations(list(_SAFE)).map(lambda c: Delimiters(c[0], c[1], c[2], c[3]))
# values made only of letters and digits come back exactly as written (the value rule changes nothing)
names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=20)
keys = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
money = st.integers(min_value=0, max_value=9_999_999).map(lambda cents: Decimal(cents) / 100)
percents = st.integers(min_value=0, max_value=100).map(lambda n: Decimal(n) / 100)
days = st.dates(min_value=date(1920, 1, 1), max_value=date(2030, 12, 31))
genders = st.sampled_from(("M", "F", "U", None))
service_types = st.lists(
    st.sampled_from(("30", "1", "33", "35", "47", "48", "86", "88", "98", "AL", "MH", "UC")),
    min_size=1,
    max_size=4,
    unique=True,
).map(tuple)


def _gender(value: str | None) -> str:
    # DMG03 keeps F and M; U or nothing leaves it out (the X279A1 / X212 code lists)
    return value if value in ("M", "F") else ""


@st.composite
def spans(draw: st.DrawFn, qualifiers: tuple[str, ...]) -> DateSpan:
    start = draw(days)
    end = draw(st.one_of(st.none(), st.integers(1, 400).map(lambda n: start + timedelta(days=n))))
    return DateSpan(draw(st.sampled_from(qualifiers)), start, end)


def _span_values(items: Any) -> list[tuple[str, date | None, date | None]]:
    return [(s.qualifier, s.start, s.end) for s in items]


# -- 270 -------------------------------------------------------------------------------------------------------


@st.composite
def persons(draw: st.DrawFn) -> InquiredPerson:
    return InquiredPerson(draw(names), draw(names), draw(st.one_of(st.none(), days)), draw(genders))


@st.composite
def inquiries(draw: st.DrawFn) -> EligibilityInquiry:
    traces = draw(st.lists(keys, min_size=1, max_size=5, unique=True))
    queries = []
    for trace in traces:
        day = draw(days)
        queries.append(
            EligibilityQuery(
                trace,
                draw(keys),
                draw(persons()),
                day,
                draw(st.one_of(st.none(), st.integers(1, 30).map(lambda n, d=day: d + timedelta(days=n)))),
                draw(service_types),
                draw(st.one_of(st.none(), persons())),
            )
        )
    return EligibilityInquiry(
        draw(names), draw(keys), draw(names), "1234567893", "1" + "0" * 9, draw(keys), tuple(queries)
    )


@SETTINGS
@given(inquiries(), delimiters, st.booleans())
def test_270_round_trip(inquiry: EligibilityInquiry, delims: Delimiters, newline: bool) -> None:
    read = read_270(write_270(inquiry, envelope("HS", VERSION_270), 1, delims, newline))
    assert read.problems == []
    [back] = read.inquiries
    assert back.reference == inquiry.reference
    assert back.payer is not None and (back.payer.last, back.payer.identifier) == (inquiry.payer_name, inquiry.payer_id)
    pairs = back.subscribers()
    assert len(pairs) == len(inquiry.queries)
    for query, (subscriber, dependents) in zip(inquiry.queries, pairs, strict=True):
        assert subscriber.member_id == query.member_id
        assert subscriber.name is not None
        assert (subscriber.name.last, subscriber.name.first) == (
            query.subscriber.last_name,
            query.subscriber.first_name,
        )
        assert subscriber.birth_date == query.subscriber.birth_date
        asked = subscriber
        if query.patient is None:
            assert dependents == []
        else:
            [asked] = dependents
            assert asked.name is not None and (asked.name.last, asked.name.first) == (
                query.patient.last_name,
                query.patient.first_name,
            )
            assert (asked.birth_date, asked.gender) == (
                query.patient.birth_date,
                _gender(query.patient.gender) if query.patient.birth_date else "",
            )
            assert subscriber.trace is None and not subscriber.asks
        assert asked.trace is not None and (asked.trace.number, asked.trace.originator) == (query.trace, "1000000000")
        assert asked.service_types == list(query.service_types)
        end = query.service_date_end if query.service_date_end != query.service_date else None
        assert _span_values(asked.dates) == [("291", query.service_date, end)]


# -- 271 -------------------------------------------------------------------------------------------------------

rejections = st.builds(
    RejectionReply,
    st.sampled_from(("42", "72", "73", "75", "58", "AG", "15")),
    st.sampled_from(("C", "N", "P", "R", "S", "W", "X", "Y")),
    st.booleans(),
)
entities = st.builds(
    EntityReply,
    st.sampled_from(("PRP", "SEP", "TTP", "PR", "P3")),
    names,
    st.just("PI"),
    st.one_of(st.none(), keys),
    st.one_of(st.none(), names),
)
benefits = st.builds(
    BenefitReply,
    st.sampled_from(("1", "2", "5", "6", "7", "8", "A", "B", "C", "G", "R", "U", "V", "L", "I")),
    st.sampled_from((None, "IND", "FAM", "EMP")),
    st.lists(st.sampled_from(("30", "1", "48", "98", "AL", "MH")), max_size=3, unique=True).map(tuple),
    st.sampled_from((None, "C1", "MB", "HM")),
    st.one_of(st.none(), names),
    st.sampled_from((None, "23", "27", "29", "32")),
    st.one_of(st.none(), money),
    st.one_of(st.none(), percents),
    st.sampled_from((None, "Y", "N", "U")),
    st.sampled_from((None, "Y", "N", "U", "W")),
    st.lists(st.tuples(st.sampled_from(("1W", "18", "6P")), keys), max_size=2).map(tuple),
    st.lists(spans(("290", "292", "348")), max_size=2).map(tuple),
    st.lists(rejections, max_size=1).map(tuple),
    st.lists(entities, max_size=3).map(tuple),
)


@st.composite
def answers(draw: st.DrawFn) -> CoverageAnswer:
    answer = CoverageAnswer(
        tuple(draw(st.lists(benefits, max_size=5))),
        tuple(draw(st.lists(rejections, max_size=2))),
        tuple(draw(st.lists(spans(("346", "347", "291", "356", "357")), max_size=3))),
    )
    if not (answer.benefits or answer.rejections):
        answer = CoverageAnswer(rejections=(draw(rejections),), dates=answer.dates)
    return answer


@st.composite
def members(draw: st.DrawFn, dependent: bool) -> MemberReply:
    traced = draw(st.booleans())
    return MemberReply(
        draw(names),
        draw(st.one_of(st.none(), names)),
        draw(answers()),
        None if dependent else draw(keys),
        draw(st.one_of(st.none(), days)),
        draw(genders),
        draw(keys) if traced else None,
        "9876543210" if traced else None,
        draw(st.sampled_from(("19", "01", None))) if dependent else None,
    )


@st.composite
def replies(draw: st.DrawFn) -> EligibilityReply:
    subscribers = tuple(
        SubscriberReply(draw(members(False)), tuple(draw(st.lists(members(True), max_size=2))))
        for _ in range(draw(st.integers(1, 3)))
    )
    return EligibilityReply(
        draw(names),
        draw(keys),
        draw(names),
        "1234567893",
        draw(keys),
        subscribers,
        payer_rejections=tuple(draw(st.lists(rejections, max_size=1))),
        provider_rejections=tuple(draw(st.lists(rejections, max_size=1))),
    )


def _rejection_values(items: Any, loop: str) -> list[tuple[str, str, str, str]]:
    return [(loop, r.reason, r.follow_up, "Y" if r.valid_request else "N") for r in items]


@SETTINGS
@given(replies(), delimiters, st.booleans())
def test_271_round_trip(reply: EligibilityReply, delims: Delimiters, newline: bool) -> None:
    read = read_271(write_271(reply, envelope("HB", VERSION_271), 1, delims, newline))
    assert read.problems == []
    [back] = read.responses
    assert back.reference == reply.reference
    assert [(r.loop, r.reason, r.follow_up, r.valid_request) for r in back.rejections] == [
        *_rejection_values(reply.payer_rejections, "2100A"),
        *_rejection_values(reply.provider_rejections, "2100B"),
    ]
    expected = [(m, sub.subscriber is m) for sub in reply.subscribers for m in (sub.subscriber, *sub.dependents)]
    assert len(back.members) == len(expected)
    for got, (want, is_subscriber) in zip(back.members, expected, strict=True):
        level = "C" if is_subscriber else "D"
        assert got.level == ("subscriber" if is_subscriber else "dependent")
        assert got.inquiry_trace == (want.trace or "")
        assert got.member_id == (want.member_id or "")
        assert got.name is not None and (got.name.last, got.name.first) == (want.last_name, want.first_name or "")
        assert got.birth_date == want.birth_date
        assert got.gender == (_gender(want.gender) if want.birth_date else "")
        assert got.relationship == (want.relationship or "")
        assert [(d.qualifier, d.start, d.end) for d in got.dates] == [
            (s.qualifier, s.start, s.end if s.end != s.start else None) for s in want.answer.dates
        ]
        assert [(r.loop, r.reason, r.follow_up, r.valid_request) for r in got.rejections] == [
            *_rejection_values(want.answer.rejections, f"2100{level}"),
            *(v for b in want.answer.benefits for v in _rejection_values(b.rejections, f"2110{level}")),
        ]
        assert len(got.benefits) == len(want.answer.benefits)
        for g, w in zip(got.benefits, want.answer.benefits, strict=True):
            assert (g.code, g.coverage_level, g.service_types, g.insurance_type, g.plan_description) == (
                w.code,
                w.coverage_level or "",
                w.service_types,
                w.insurance_type or "",
                w.plan_description or "",
            )
            assert (g.time_period, g.amount, g.percent, g.authorization, g.network) == (
                w.time_period or "",
                w.amount,
                w.percent,
                w.authorization or "",
                w.network or "",
            )
            assert g.remaining == (w.time_period == "29")
            assert g.references == list(w.references)
            assert [(d.qualifier, d.start, d.end) for d in g.dates] == [
                (s.qualifier, s.start, s.end if s.end != s.start else None) for s in w.dates
            ]
            assert [(e.name.entity, e.name.last, e.name.first, e.name.identifier) for e in g.entities] == [
                (e.entity, e.name, e.first_name or "", e.identifier or "") for e in w.entities
            ]
        # the primary payer is the PRP entity of the first EB01 R that names one
        prp = [e for b in want.answer.benefits if b.code == "R" for e in b.entities if e.entity == "PRP"]
        primary = got.primary_payer
        assert (primary.name if primary else None) == (prp[0].name if prp else None)


# -- 276 -------------------------------------------------------------------------------------------------------


@st.composite
def status_persons(draw: st.DrawFn, birth: bool) -> StatusPerson:
    return StatusPerson(
        draw(names), draw(names), draw(days) if birth else draw(st.one_of(st.none(), days)), draw(genders)
    )


@st.composite
def status_inquiries(draw: st.DrawFn) -> ClaimStatusInquiry:
    traces = iter(draw(st.lists(keys, min_size=8, max_size=8, unique=True)))
    providers = []
    for _ in range(draw(st.integers(1, 2))):
        queries = []
        for _ in range(draw(st.integers(1, 4))):
            day = draw(days)
            queries.append(
                ClaimStatusQuery(
                    next(traces),
                    draw(keys),
                    draw(keys),
                    draw(status_persons(False)),
                    draw(money),
                    day,
                    draw(st.one_of(st.none(), st.integers(1, 9).map(lambda n, d=day: d + timedelta(days=n)))),
                    draw(st.one_of(st.none(), keys)),
                    draw(st.sampled_from((None, "131", "111"))),
                    draw(st.one_of(st.none(), status_persons(True))),
                )
            )
        providers.append(ProviderQueries("1234567893", draw(names), tuple(queries)))
    return ClaimStatusInquiry(draw(names), draw(keys), draw(names), draw(keys), draw(keys), tuple(providers))


@SETTINGS
@given(status_inquiries(), delimiters, st.booleans())
def test_276_round_trip(inquiry: ClaimStatusInquiry, delims: Delimiters, newline: bool) -> None:
    read = read_276(write_276(inquiry, envelope("HR", VERSION_276), 1, delims, newline))
    assert read.problems == []
    [back] = read.requests
    queries = [q for p in inquiry.providers for q in p.queries]
    assert len(back.claims) == len(queries)
    for got, q in zip(back.claims, queries, strict=True):
        assert (got.level, got.trace, got.claim_key) == (
            "dependent" if q.patient else "subscriber",
            q.trace,
            q.claim_key,
        )
        assert (got.payer_claim_number, got.bill_type, got.total_charge) == (
            q.payer_claim_number or "",
            q.bill_type or "",
            q.total_charge,
        )
        assert got.service_period is not None
        end = q.service_date_end if q.service_date_end != q.service_date else None
        assert (got.service_period.start, got.service_period.end) == (q.service_date, end)
        assert got.subscriber is not None and got.subscriber.identifier == q.member_id
        patient = q.patient or q.subscriber
        assert got.patient_birth_date == patient.birth_date
        if q.patient is not None:
            assert got.patient is not None and got.patient.last == q.patient.last_name


# -- 277 -------------------------------------------------------------------------------------------------------

statuses = st.builds(
    ClaimStatus,
    st.sampled_from(("A4", "P1", "P3", "F0", "F1", "F2", "R1", "E0")),
    st.sampled_from(("35", "20", "3", "65", "88", "1", "317")),
    st.sampled_from((None, "PR", "QC", "1P")),
)


@st.composite
def status_answers(draw: st.DrawFn, claim_level: bool) -> StatusAnswer:
    some = st.one_of(st.none(), money) if claim_level else st.none()
    when = st.one_of(st.none(), days) if claim_level else st.none()
    return StatusAnswer(
        draw(statuses),
        draw(days),
        draw(some),
        draw(some),
        draw(when),
        draw(when),
        draw(st.one_of(st.none(), keys)) if claim_level else None,
        tuple(draw(st.lists(statuses, max_size=2))),
    )


lines = st.builds(
    LineAnswer,
    st.sampled_from(("99213", "93000", "J1885")),
    money,
    money,
    st.integers(1, 20).map(Decimal),
    days,
    st.lists(status_answers(False), min_size=1, max_size=2).map(tuple),
    st.lists(st.sampled_from(("25", "59", "GT")), max_size=2, unique=True).map(tuple),
)


@st.composite
def status_replies(draw: st.DrawFn) -> ClaimStatusReply:
    providers = []
    for _ in range(draw(st.integers(1, 2))):
        claims = []
        for _ in range(draw(st.integers(1, 3))):
            dependent = draw(st.booleans())
            day = draw(days)
            claims.append(
                ClaimReply(
                    draw(keys),
                    draw(keys),
                    draw(keys),
                    draw(names),
                    draw(names),
                    day,
                    ClaimAnswer(
                        tuple(draw(st.lists(status_answers(True), min_size=1, max_size=2))),
                        draw(st.one_of(st.none(), keys)),
                        tuple(draw(st.lists(lines, max_size=3))),
                    ),
                    draw(st.one_of(st.none(), st.integers(1, 9).map(lambda n, d=day: d + timedelta(days=n)))),
                    draw(st.sampled_from((None, "131"))),
                    draw(names) if dependent else None,
                    draw(names) if dependent else None,
                )
            )
        providers.append(ProviderReply("1234567893", draw(names), tuple(claims)))
    return ClaimStatusReply(draw(names), draw(keys), draw(names), draw(keys), draw(keys), tuple(providers))


def _status_values(s: StatusAnswer) -> tuple[object, ...]:
    codes = [(x.category, x.code, x.entity or "") for x in (s.status, *s.extra_statuses[:2])]
    return (codes, s.effective_date, s.total_charge, s.paid, s.adjudicated, s.remittance_date, s.remittance_trace or "")


@SETTINGS
@given(status_replies(), delimiters, st.booleans())
def test_277_round_trip(reply: ClaimStatusReply, delims: Delimiters, newline: bool) -> None:
    read = read_277(write_277(reply, envelope("HN", VERSION_277), 1, delims, newline))
    assert read.problems == []
    [back] = read.responses
    claims = [c for p in reply.providers for c in p.claims]
    assert len(back.claims) == len(claims)
    for got, want in zip(back.claims, claims, strict=True):
        assert (got.trace, got.claim_key, got.payer_claim_number, got.bill_type) == (
            want.trace,
            want.claim_key,
            want.answer.payer_claim_number or "",
            want.bill_type or "",
        )
        assert got.level == ("dependent" if want.patient_last_name else "subscriber")
        assert [
            (
                [(x.category, x.code, x.entity) for x in r.statuses],
                r.effective_date,
                r.total_charge,
                r.paid,
                r.adjudicated,
                r.remittance_date,
                r.remittance_trace,
            )
            for r in got.reports
        ] == [_status_values(s) for s in want.answer.statuses]
        # the claim-level views: the first STC04 / STC05 / STC06 / STC08 given
        assert got.total_charge == next(
            (s.total_charge for s in want.answer.statuses if s.total_charge is not None), None
        )
        assert got.paid == next((s.paid for s in want.answer.statuses if s.paid is not None), None)
        assert got.category == want.answer.statuses[0].status.category
        assert [(ln.procedure, ln.modifiers, ln.charge, ln.paid, ln.units) for ln in got.lines] == [
            (ln.procedure, ln.modifiers, ln.charge, ln.paid, ln.units) for ln in want.answer.lines
        ]
        assert [[_codes(r) for r in ln.reports] for ln in got.lines] == [
            [[(x.category, x.code, x.entity or "") for x in (s.status, *s.extra_statuses[:2])] for s in ln.statuses]
            for ln in want.answer.lines
        ]


def _codes(report: Any) -> list[tuple[str, str, str]]:
    return [(x.category, x.code, x.entity) for x in report.statuses]


# -- damaged files ---------------------------------------------------------------------------------------------

_READERS = {"270": read_270, "271": read_271, "276": read_276, "277": read_277}


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    seed = draw(st.integers(0, 40))
    set_id = draw(st.sampled_from(("270", "271", "276", "277")))
    data = dict(
        zip(("270", "271", "276", "277"), (*eligibility_documents(seed), *claim_status_documents(seed)), strict=True)
    )[set_id]
    segments = data.split(b"~")
    for _ in range(draw(st.integers(1, 6))):
        k = draw(st.integers(0, len(segments) - 1))
        op = draw(st.sampled_from(("drop", "repeat", "swap", "cut", "garble", "empty_elements")))
        if op == "drop" and len(segments) > 1:
            del segments[k]
        elif op == "repeat":
            segments.insert(k, segments[k])
        elif op == "swap":
            j = draw(st.integers(0, len(segments) - 1))
            segments[k], segments[j] = segments[j], segments[k]
        elif op == "cut":
            segments[k] = segments[k][: draw(st.integers(0, max(0, len(segments[k]) - 1)))]
        elif op == "garble":
            segments[k] = draw(st.binary(max_size=30))
        else:
            segments[k] = b"*".join(part if draw(st.booleans()) else b"" for part in segments[k].split(b"*"))
    text = b"~".join(segments)
    return set_id, text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_readers_never_raise_on_damaged_files(case: tuple[str, bytes]) -> None:
    set_id, data = case
    read = _READERS[set_id](data)
    document = parse_document(data, "damaged.x12")
    for problem in (*read.problems, *(p for p in document["problems"])):
        segment = problem.segment if hasattr(problem, "segment") else problem["segment"]
        assert segment is None or segment >= 0
