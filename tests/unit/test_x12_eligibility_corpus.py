"""The corpus 270s and 271s read with the values written by hand from the files (see the comments).

Segment positions count from 0 at the ISA; each file is listed in the comments with the positions used.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from corpus import corpus_dir

from revcycle.eligibility_actions import EligibilityAction
from revcycle.x12.document import parse_document, to_json
from revcycle.x12.x270 import read_270
from revcycle.x12.x271 import CoverageStatus, read_271

# lfh__dependent-health-benefit-check.271, positions:
#  0 ISA  1 GS*HB  2 ST*271*4321  3 BHT*0022*11*10001234*20060501*1319
#  4 HL*1**20*1  5 NM1*PR*2*ABC COMPANY*****PI*841610001
#  6 HL*2*1*21*1  7 NM1*1P*2*BONE AND JOIN CLINIC*****SV*2000035
#  8 HL*3*2*22*1  9 NM1*IL*1*SMITH*JOHN****MI*123456789  10 N3  11 N4  12 DMG*D8*19630519*M
# 13 HL*4*3*23*0 14 TRN*2*93175-012547*9877281234  15 NM1*03*1*SMITH*MARY  16 N3  17 N4
# 18 DMG*D8*19981014*F  19 INS*N*19  20 DTP*346*D8*20060101  21 EB*1**30**GOLD 123 PLAN
# 22 EB*L  23 LS*2120  24 NM1*P3*1*JONES*MARCUS****SV*0202034  25 LE*2120
# 26 EB*1**1^33^35^47^86^88^98^AL^MH^UC
# 27 EB*B**1^33^...^UC*HM*GOLD 123 PLAN*27*10.00*****Y  28 EB*B ... *27*30.00*****N
# 29 SE*28*4321: ST (2) to SE (29) inclusive is 29 - 2 + 1 = 28 segments, and 4321 = ST02: no problem.
DEPENDENT_271 = "270_271/lfh__dependent-health-benefit-check.271"
ERROR_271 = "270_271/lfh__subscriber-health-benefit-check-error.271"
DEPENDENT_270 = "270_271/lfh__dependent-health-benefit-check.270"
GS_TERMINATED_270 = "270_271/oopfactory__270_Example1_IG_0x1D.txt"
TEN_SERVICE_TYPES = ("1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")


def test_dependent_271_members_coverage_and_copays() -> None:
    read = read_271(corpus_dir() / DEPENDENT_271)
    assert read.problems == []
    [response] = read.responses
    assert (response.control_number, response.reference, response.purpose) == ("4321", "10001234", "11")
    assert response.payer is not None and (response.payer.entity, response.payer.identifier) == ("PR", "841610001")
    assert response.receiver is not None and response.receiver.identifier == "2000035"
    subscriber, dependent = response.members
    # HL*3*2*22*1: a subscriber that only carries its dependent (HL04 1), no EB and no AAA of its own
    assert (subscriber.level, subscriber.segment, subscriber.child_code) == ("subscriber", 8, "1")
    assert subscriber.member_id == "123456789" and subscriber.birth_date == date(1963, 5, 19)
    assert subscriber.benefits == [] and subscriber.coverage is CoverageStatus.UNDETERMINED
    # HL*4*3*23*0: the dependent the 270 asked about
    assert (dependent.level, dependent.segment, dependent.parent_id) == ("dependent", 13, "3")
    assert dependent.inquiry_trace == "93175-012547"  # TRN*2: the 270's TRN*1 echoed
    assert dependent.relationship == "19"  # INS*N*19: child
    assert dependent.member_id == ""  # NM1*03 carries no id
    assert dependent.plan_begin == date(2006, 1, 1)  # DTP*346*D8*20060101
    assert (dependent.plan_end, dependent.eligibility_begin, dependent.eligibility_end) == (None, None, None)
    assert [b.segment for b in dependent.benefits] == [21, 22, 26, 27, 28]
    assert [b.code for b in dependent.benefits] == ["1", "L", "1", "B", "B"]
    # EB*1**30: active for service type 30, health benefit plan coverage
    assert dependent.coverage is CoverageStatus.ACTIVE
    assert dependent.benefits[0].service_types == ("30",)
    assert dependent.benefits[0].plan_description == "GOLD 123 PLAN"
    # EB03 split on the repetition separator ^ (ISA11): ten service types
    assert dependent.benefits[2].service_types == TEN_SERVICE_TYPES
    # EB*L with LS/LE 2120 NM1*P3: the primary care provider, not another payer
    [pcp] = dependent.benefits[1].entities
    assert (pcp.segment, pcp.name.entity, pcp.payer_order) == (24, "P3", None)
    assert dependent.other_payers == [] and dependent.primary_payer is None
    # EB*B ... *27*10.00*****Y: EB06 27 visit, EB07 10.00, EB08-EB11 empty, EB12 Y in network
    in_net, out_net = dependent.cost_shares
    assert (in_net.kind, in_net.amount, in_net.time_period, in_net.remaining) == (
        "copay",
        Decimal("10.00"),
        "27",
        False,
    )
    assert (in_net.insurance_type, in_net.in_network, in_net.authorization_required) == ("HM", True, None)
    assert (out_net.kind, out_net.amount, out_net.in_network) == ("copay", Decimal("30.00"), False)
    assert out_net.service_types == TEN_SERVICE_TYPES
    assert dependent.authorization_required_for == ()
    assert dependent.actions == [] and response.actions == []


def test_error_271_rejection_its_action_and_the_se02_fault() -> None:
    # 0 ISA 1 GS 2 ST*271*4321 3 BHT 4 HL*1**20*1 5 NM1*PR 6 HL*2*1*21*0 7 NM1*1P 8 AAA*Y**50*N 9 SE*8*4323
    # SE01 8 = 9 - 2 + 1 is right; SE02 4323 is not ST02 4321: the known fault, reported at position 9
    read = read_271(corpus_dir() / ERROR_271)
    assert [(p.segment, p.code) for p in read.problems] == [(9, "CONTROL_MISMATCH")]
    [response] = read.responses
    assert response.members == []
    [rejection] = response.rejections
    # AAA after the 2100B NM1*1P: the information receiver (the provider) is rejected
    assert (rejection.segment, rejection.loop, rejection.valid_request) == (8, "2100B", "Y")
    assert (rejection.reason, rejection.follow_up) == ("50", "N")
    assert rejection.reason_text == "Provider Ineligible for Inquiries"
    [action] = response.actions
    assert (action.action, action.source, action.loop) == (EligibilityAction.DO_NOT_RESEND, "AAA04 N", "2100B")


def test_dependent_270_inquiry() -> None:
    # 2 ST*270*1234 3 BHT*0022*13*10001234 4 HL*1**20*1 5 NM1*PR*...*PI*842610001 6 HL*2*1*21*1
    # 7 NM1*1P*1*JONES*MARCUS****SV*2000034 8 HL*3*2*22*1 9 NM1*IL*1******MI*11122333301 10 HL*4*3*23*0
    # 11 TRN*1*93175-012547*9877281234 12 NM1*03*1*SMITH*MARY 13 DMG*D8*19781014 14 DTP*291*D8*20060501
    # 15 EQ*30 16 SE*15*1234 (16 - 2 + 1 = 15)
    read = read_270(corpus_dir() / DEPENDENT_270)
    assert read.problems == []
    [inquiry] = read.inquiries
    assert (inquiry.control_number, inquiry.reference, inquiry.purpose) == ("1234", "10001234", "13")
    assert inquiry.payer is not None and inquiry.payer.identifier == "842610001"
    assert inquiry.provider is not None and inquiry.provider.is_person
    [(subscriber, [dependent])] = inquiry.subscribers()
    assert subscriber.member_id == "11122333301" and subscriber.name is not None and subscriber.name.last == ""
    assert not subscriber.asks and subscriber.trace is None
    assert dependent.trace is not None
    assert (dependent.trace.number, dependent.trace.originator) == ("93175-012547", "9877281234")
    assert dependent.birth_date == date(1978, 10, 14)
    assert dependent.service_types == ["30"]
    [asked] = dependent.dates
    assert (asked.qualifier, asked.start, asked.end, asked.segment) == ("291", date(2006, 5, 1), None, 14)


def test_270_with_a_control_character_terminator_and_a_4010_isa() -> None:
    # terminator 0x1D followed by CRLF and indentation; ISA11 U and ISA12 00401 around GS08 005010X279
    # 2 ST*270*1234*005010X279 ... 8 HL*3*2*22*0 9 TRN*1*93175-012547*9877281234
    # 10 NM1*IL*1*SMITH*ROBERT****MI*11122333301 11 DMG*D8*19430519 12 DTP*291*D8*20060501 13 EQ*30
    # 14 SE*13*1234 (14 - 2 + 1 = 13), GE*1*31 = GS06 31, IEA*1*000000031 = ISA13
    read = read_270(corpus_dir() / GS_TERMINATED_270)
    assert read.problems == []
    [inquiry] = read.inquiries
    assert inquiry.version == "005010X279"
    [member] = inquiry.members
    assert (member.level, member.member_id, member.service_types) == ("subscriber", "11122333301", ["30"])
    assert member.trace is not None and member.trace.number == "93175-012547"
    assert member.birth_date == date(1943, 5, 19)
    assert member.dates[0].start == date(2006, 5, 1)


def test_271_json_carries_answers_but_no_phi() -> None:
    path = corpus_dir() / DEPENDENT_271
    doc = parse_document(path, path.name)
    [tx] = doc["transactions"]
    assert tx["type"] == "271"
    subscriber, dependent = tx["members"]
    assert (subscriber["coverage"], dependent["coverage"]) == ("undetermined", "active")
    assert dependent["trace"] == "93175-012547"
    assert dependent["plan"] == {"begin": "2006-01-01", "end": None}
    copays = [b for b in dependent["benefits"] if b["kind"] == "copay"]
    assert [(b["amount"], b["in_network"], b["network"]) for b in copays] == [
        ("10.00", True, "Y"),
        ("30.00", False, "N"),
    ]
    text = to_json(doc)
    # NM1*IL*1*SMITH*JOHN****MI*123456789, NM1*03*1*SMITH*MARY, DMG 19630519 / 19981014,
    # N3*15197 BROADWAY AVENUE, the primary care provider NM1*P3*1*JONES*MARCUS (a person)
    for phi in ("SMITH", "JOHN", "MARY", "123456789", "19630519", "1963-05-19", "1998-10-14", "BROADWAY", "JONES"):
        assert phi not in text


def test_error_271_json() -> None:
    path = corpus_dir() / ERROR_271
    doc = parse_document(path, path.name)
    [tx] = doc["transactions"]
    assert tx["members"] == []
    assert tx["rejections"] == [
        {
            "loop": "2100B",
            "valid_request": "Y",
            "reason": "50",
            "reason_text": "Provider Ineligible for Inquiries",
            "follow_up": "N",
            "action": "do_not_resend",
            "source": "AAA04 N",
        }
    ]
    assert [p["code"] for p in doc["problems"]] == ["CONTROL_MISMATCH"]


def test_270_json_lists_inquiries_without_names() -> None:
    path = corpus_dir() / DEPENDENT_270
    doc = parse_document(path, path.name)
    [tx] = doc["transactions"]
    assert tx["inquiries"] == [
        {"level": "subscriber", "trace": "", "asks": False, "service_types": []},
        {"level": "dependent", "trace": "93175-012547", "asks": True, "service_types": ["30"]},
    ]
    # the provider is a person (NM102 1): its name stays out, its SV id is shown
    assert tx["provider"] == {"entity": "1P", "name": "", "id_qualifier": "SV", "id": "2000034"}
    text = to_json(doc)
    for phi in ("SMITH", "MARY", "11122333301", "19781014", "1978-10-14", "JONES", "MARCUS"):
        assert phi not in text


def test_dependent_271_names_genders_and_header() -> None:
    # 2 ST*271*4321*005010X279A1  5 NM1*PR*2*ABC COMPANY*****PI*841610001
    # 7 NM1*1P*2*BONE AND JOIN CLINIC*****SV*2000035 (sic: JOIN)
    # 9 NM1*IL*1*SMITH*JOHN****MI*123456789 12 DMG*D8*19630519*M; 15 NM1*03*1*SMITH*MARY 18 DMG*D8*19981014*F
    # 14 TRN*2*93175-012547*9877281234: TRN01 2 (referenced), TRN03 the originator
    [response] = read_271(corpus_dir() / DEPENDENT_271).responses
    assert response.version == "005010X279A1"
    assert response.payer is not None and (response.payer.entity_type, response.payer.last) == ("2", "ABC COMPANY")
    assert response.receiver is not None
    assert (response.receiver.entity, response.receiver.last, response.receiver.id_qualifier) == (
        "1P",
        "BONE AND JOIN CLINIC",
        "SV",
    )
    subscriber, dependent = response.members
    assert subscriber.name is not None and (subscriber.name.last, subscriber.name.first) == ("SMITH", "JOHN")
    assert (subscriber.gender, subscriber.hl_id, subscriber.traces) == ("M", "3", [])
    assert dependent.name is not None
    assert (dependent.name.entity, dependent.name.last, dependent.name.first) == ("03", "SMITH", "MARY")
    assert (dependent.birth_date, dependent.gender, dependent.hl_id, dependent.child_code) == (
        date(1998, 10, 14),
        "F",
        "4",
        "0",
    )
    [trace] = dependent.traces
    assert (trace.trace_type, trace.number, trace.originator) == ("2", "93175-012547", "9877281234")
    # 21 EB*1**30**GOLD 123 PLAN: EB02 coverage level empty, EB04 insurance type empty
    active = dependent.benefits[0]
    assert (active.insurance_type, active.amount, active.percent) == ("", None, None)


def test_270_with_a_control_character_terminator_header_and_parties() -> None:
    # positions: 0 ISA*00*...*01*9012345720000*01*9088877320000*020816*1144*U*00401*000000031*1*T*:
    # 1 GS*HS*901234572000*908887732000*20070816*1615*31*X*005010X279  2 ST*270*1234*005010X279
    # 3 BHT*0022*13*10001234*20060501*1319  4 HL*1**20*1  5 NM1*PR*2*ABC COMPANY*****PI*842610001
    # 6 HL*2*1*21*1  7 NM1*1P*2*BONE AND JOINT CLINIC*****SV*2000035  8 HL*3*2*22*0
    # 9 TRN*1*93175-012547*9877281234 10 NM1*IL*1*SMITH*ROBERT****MI*11122333301 11 DMG*D8*19430519 (no gender)
    # 12 DTP*291*D8*20060501 13 EQ*30 14 SE*13*1234
    [inquiry] = read_270(corpus_dir() / GS_TERMINATED_270).inquiries
    assert (inquiry.control_number, inquiry.segment, inquiry.purpose, inquiry.reference) == (
        "1234",
        2,
        "13",
        "10001234",
    )
    assert inquiry.payer is not None
    assert (inquiry.payer.entity, inquiry.payer.last, inquiry.payer.id_qualifier, inquiry.payer.identifier) == (
        "PR",
        "ABC COMPANY",
        "PI",
        "842610001",
    )
    assert inquiry.provider is not None and not inquiry.provider.is_person  # NM102 2: an organisation
    assert (inquiry.provider.last, inquiry.provider.id_qualifier, inquiry.provider.identifier) == (
        "BONE AND JOINT CLINIC",
        "SV",
        "2000035",
    )
    [member] = inquiry.members
    assert (member.segment, member.hl_id, member.parent_id, member.child_code) == (8, "3", "2", "0")
    assert member.name is not None
    assert (member.name.entity, member.name.last, member.name.first, member.name.id_qualifier) == (
        "IL",
        "SMITH",
        "ROBERT",
        "MI",
    )
    assert member.trace is not None
    assert (member.trace.trace_type, member.trace.originator) == ("1", "9877281234")
    assert member.gender == ""
    [asked] = member.dates
    assert (asked.qualifier, asked.end, asked.segment) == ("291", None, 12)
