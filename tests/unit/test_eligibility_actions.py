"""Named actions for 271 answers (EB01 V, U, AAA reasons and follow-ups), coverage rules and 2120 payer order.

Each 271 here is written out by hand (segment by segment) so the reader is tested on text it did not write.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from revcycle.codes.eligibility import FOLLOW_UPS
from revcycle.eligibility_actions import (
    ACTION_RULES,
    UNKNOWN_FOLLOW_UP,
    EligibilityAction,
    rule_for_benefit,
    rule_for_rejection,
)
from revcycle.x12.x271 import CoverageStatus, EligibilityResponse271, MemberEligibility, read_271

ISA = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *240305*0700*^*00501*000000042*0*T*:~"


def _271(*body: str, payer_aaa: str = "", receiver_aaa: str = "") -> EligibilityResponse271:
    """A 271 around ``body`` (the segments after the subscriber's HL), counted for SE01 by hand below."""
    segments = [
        "ST*271*0001*005010X279A1",
        "BHT*0022*11*REF42*20240305*0700",
        "HL*1**20*1",
        "NM1*PR*2*SUMMIT HEALTH*****PI*12345",
        *([payer_aaa] if payer_aaa else []),
        "HL*2*1*21*1",
        "NM1*1P*2*RIVERSIDE CLINIC*****XX*1234567893",
        *([receiver_aaa] if receiver_aaa else []),
        "HL*3*2*22*0",
        "TRN*2*INQ42*1123456789",
        "NM1*IL*1*DOE*JANE****MI*M42",
        *body,
    ]
    # SE01 counts ST through SE: the segments above plus SE itself
    text = ISA + "GS*HB*PAYER*PROVIDER*20240305*0700*42*X*005010X279A1~" + "~".join(segments) + "~"
    text += f"SE*{len(segments) + 1}*0001~GE*1*42~IEA*1*000000042~"
    read = read_271(text)
    assert read.problems == []
    [response] = read.responses
    return response


def _member(*body: str) -> MemberEligibility:
    [member] = _271(*body).members
    return member


def test_eb01_v_cannot_process_is_verify_another_way() -> None:
    member = _member("EB*V")
    assert member.coverage is CoverageStatus.UNDETERMINED
    [action] = member.actions
    assert (action.action, action.source, action.loop) == (EligibilityAction.VERIFY_ANOTHER_WAY, "EB01 V", "2110C")
    rule = rule_for_benefit("V")
    assert rule is not None and rule.needs_person and not rule.resend


def test_eb01_u_contact_entity_names_the_2120_entity() -> None:
    member = _member("EB*U**30", "LS*2120", "NM1*PR*2*BEHAVIORAL HEALTH MANAGER*****PI*77777", "LE*2120")
    [action] = member.actions
    assert (action.action, action.source) == (EligibilityAction.CONTACT_ENTITY, "EB01 U")
    assert action.entity is not None and (action.entity.entity, action.entity.identifier) == ("PR", "77777")
    assert member.coverage is CoverageStatus.UNDETERMINED


def test_aaa_42_is_retry_later_at_the_payer_level_whatever_aaa04_says() -> None:
    response = _271("EB*1**30", payer_aaa="AAA*N**42*Y")
    [rejection] = response.rejections
    assert (rejection.loop, rejection.reason, rejection.follow_up) == ("2100A", "42", "Y")
    [action] = response.actions
    # AAA04 Y alone would mean "await the payer"; the reason 42 (unable to respond now) wins
    assert (action.action, action.source) == (EligibilityAction.RETRY_LATER, "AAA03 42")
    assert rejection.rule.resend and rejection.rule.resend_after_days == 1


def test_aaa_42_at_the_subscriber_rejects_the_member() -> None:
    member = _member("AAA*N**42*R")
    assert member.coverage is CoverageStatus.REJECTED
    [action] = member.actions
    assert (action.action, action.loop, action.reason, action.follow_up) == (
        EligibilityAction.RETRY_LATER,
        "2100C",
        "42",
        "R",
    )


@pytest.mark.parametrize(
    ("aaa", "action", "reason_text", "resend_after"),
    [
        ("AAA*N**72*C", EligibilityAction.CORRECT_AND_RESEND, "Invalid/Missing Subscriber/Insured ID", None),
        ("AAA*Y**75*C", EligibilityAction.CORRECT_AND_RESEND, "Subscriber/Insured Not Found", None),
        ("AAA*N**73*N", EligibilityAction.DO_NOT_RESEND, "Invalid/Missing Subscriber/Insured Name", None),
        ("AAA*N**58*W", EligibilityAction.WAIT_30_DAYS_AND_RESEND, "Invalid/Missing Date-of-Birth", 30),
        ("AAA*N**71*X", EligibilityAction.WAIT_10_DAYS_AND_RESEND, "Patient Birth Date Does Not Match", 10),
        ("AAA*Y**76*S", EligibilityAction.AWAIT_PAYER, "Duplicate Subscriber/Insured ID Number", None),
        ("AAA*Y**78*Q", EligibilityAction.REVIEW_REJECTION, "Subscriber/Insured Not in Group/Plan Identified", None),
    ],
)
def test_aaa_reasons_and_follow_ups(
    aaa: str, action: EligibilityAction, reason_text: str, resend_after: int | None
) -> None:
    member = _member(aaa)
    [rejection] = member.rejections
    assert rejection.loop == "2100C"
    assert rejection.reason_text.startswith(reason_text)
    assert rejection.rule.action is action
    assert rejection.rule.resend_after_days == resend_after
    assert member.coverage is CoverageStatus.REJECTED
    assert [a.action for a in member.actions] == [action]


def test_aaa_in_a_benefit_loop_is_2110c() -> None:
    member = _member("EB*1**30", "EB*1**48", "AAA*Y**AG*C")
    [rejection] = member.rejections
    assert (rejection.loop, rejection.reason) == ("2110C", "AG")
    assert member.benefits[1].rejections == [rejection]
    assert member.coverage is CoverageStatus.ACTIVE  # the plan is active; one service type was refused


def test_receiver_rejection_is_at_2100b() -> None:
    response = _271("EB*1**30", receiver_aaa="AAA*Y**51*C")
    assert [(r.loop, r.reason, r.rule.action) for r in response.rejections] == [
        ("2100B", "51", EligibilityAction.CORRECT_AND_RESEND)
    ]


def test_other_payers_are_ordered_primary_secondary_tertiary() -> None:
    # three EB*R loops written tertiary, primary, secondary; a fourth names a payer without an order (PR)
    member = _member(
        "EB*1**30",
        "EB*R**30*C1",
        "LS*2120",
        "NM1*TTP*2*THIRD MUTUAL*****PI*33333",
        "LE*2120",
        "EB*R**30*MB",
        "LS*2120",
        "NM1*PRP*2*MEDICARE PART B*****PI*11111",
        "LE*2120",
        "EB*R**30*C1",
        "REF*1W*W2222222",  # the member id at the other payer
        "DTP*290*D8*20240101",
        "LS*2120",
        "NM1*SEP*2*SECOND HEALTH*****PI*22222",
        "LE*2120",
        "EB*R",
        "LS*2120",
        "NM1*PR*2*SOME OTHER PAYER*****PI*44444",
        "LE*2120",
    )
    payers = member.other_payers
    assert [(p.order, p.entity, p.identifier) for p in payers] == [
        ("primary", "PRP", "11111"),
        ("secondary", "SEP", "22222"),
        ("tertiary", "TTP", "33333"),
        (None, "PR", "44444"),
    ]
    assert payers[0].insurance_type == "MB"
    assert payers[1].references == (("1W", "W2222222"),)
    assert payers[1].dates[0].start == date(2024, 1, 1)
    primary = member.primary_payer
    assert primary is not None and primary.name == "MEDICARE PART B"


def test_no_prp_means_no_primary_named() -> None:
    member = _member("EB*1**30", "EB*R**30", "LS*2120", "NM1*SEP*2*SECOND HEALTH*****PI*22222", "LE*2120")
    assert member.primary_payer is None
    assert [p.order for p in member.other_payers] == ["secondary"]


@pytest.mark.parametrize(
    ("benefits", "expected"),
    [
        (("EB*1**30",), CoverageStatus.ACTIVE),
        (("EB*6**30",), CoverageStatus.INACTIVE),
        (("EB*7",), CoverageStatus.INACTIVE),  # inactive, pending eligibility update
        (("EB*5**30",), CoverageStatus.ACTIVE),  # active, pending investigation
        # service type 30 decides: inactive plan, whatever a dental line says
        (("EB*6**30", "EB*1**35"), CoverageStatus.INACTIVE),
        (("EB*1**30", "EB*6**35"), CoverageStatus.ACTIVE),
        # no 30 anywhere: any active service type makes the member active
        (("EB*6**35", "EB*1**1"), CoverageStatus.ACTIVE),
        (("EB*B**98***27*25",), CoverageStatus.UNDETERMINED),  # a copay alone says nothing of coverage
    ],
)
def test_coverage_rule(benefits: tuple[str, ...], expected: CoverageStatus) -> None:
    assert _member(*benefits).coverage is expected


def test_cost_shares_time_period_network_and_authorization() -> None:
    member = _member(
        "DTP*291*RD8*20240101-20241231",
        "DTP*356*D8*20230615",
        "EB*1**30",
        "EB*C*IND*30***23*1500*****Y",  # deductible, calendar year, 1500, in network
        "EB*C*IND*30***29*1125.50*****Y",  # what remains of it: 1500 - 374.50 = 1125.50
        "EB*A*IND*30*****.2***N*N",  # coinsurance (EB08) 20 %, EB11 N no authorization, EB12 N out of network
        "EB*G*FAM*30***23*6000*****W",  # out of pocket, family, network not applicable
        "EB*B*IND*48***27*250****Y*Y",  # inpatient copay per visit, authorization required, in network
    )
    assert member.plan_begin == date(2024, 1, 1) and member.plan_end == date(2024, 12, 31)
    assert member.eligibility_begin == date(2023, 6, 15) and member.eligibility_end is None
    shares = member.cost_shares
    assert [(b.kind, b.remaining) for b in shares] == [
        ("deductible", False),
        ("deductible", True),
        ("coinsurance", False),
        ("out_of_pocket", False),
        ("copay", False),
    ]
    assert shares[0].amount - shares[1].amount == Decimal("374.50")  # met so far
    assert (shares[2].percent, shares[2].in_network, shares[2].authorization_required) == (Decimal(".2"), False, False)
    assert (shares[3].coverage_level, shares[3].network, shares[3].in_network) == ("FAM", "W", None)
    assert shares[4].authorization_required is True
    assert member.authorization_required_for == ("48",)


def test_every_rule_has_a_unique_source_and_every_follow_up_code_a_rule() -> None:
    sources = [rule.source for rule in ACTION_RULES]
    assert len(sources) == len(set(sources))
    for code in FOLLOW_UPS:
        assert rule_for_rejection("33", code).source == f"AAA04 {code}"
    assert rule_for_rejection("33", "") is UNKNOWN_FOLLOW_UP
    named = {rule.action for rule in ACTION_RULES} | {UNKNOWN_FOLLOW_UP.action}
    assert named == set(EligibilityAction)
    # an action resent automatically needs no person, and the other way round
    for rule in (*ACTION_RULES, UNKNOWN_FOLLOW_UP):
        assert not (rule.resend and rule.needs_person), rule.source
        assert (rule.resend_after_days is not None) == rule.resend, rule.source
    assert rule_for_benefit("1") is None and rule_for_benefit("R") is None
