"""The sandbox's pure answers: a 270 or 276 read back (here the corpus samples) in, a 271 or 277 out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from corpus import corpus_dir
from x12_inquiries import envelope

from revcycle.eligibility_actions import EligibilityAction
from revcycle.x12.write271 import (
    VERSION_271,
    BenefitReply,
    CoverageAnswer,
    EntityReply,
    RejectionReply,
    answer_270,
    write_271,
)
from revcycle.x12.write277 import (
    NOT_FOUND,
    STATUS_OF_STAGE,
    VERSION_277,
    ClaimAnswer,
    StatusAnswer,
    answer_276,
    write_277,
)
from revcycle.x12.x270 import InquiredMember, read_270
from revcycle.x12.x271 import CoverageStatus, read_271
from revcycle.x12.x276 import QueriedClaim, read_276
from revcycle.x12.x277 import read_277


def test_answer_270_echoes_who_asked_and_answers_the_dependent() -> None:
    [inquiry] = read_270(corpus_dir() / "270_271/lfh__dependent-health-benefit-check.270").inquiries
    asked: list[tuple[str, str | None]] = []

    def coverage_of(member: InquiredMember, subscriber: InquiredMember | None) -> CoverageAnswer:
        asked.append((member.level, subscriber.member_id if subscriber else None))
        return CoverageAnswer(
            benefits=(
                BenefitReply("1", service_types=("30",)),
                BenefitReply("R", service_types=("30",), entities=(EntityReply("PRP", "MEDICARE", "PI", "00430"),)),
            )
        )

    data = write_271(answer_270(inquiry, coverage_of), envelope("HB", VERSION_271))
    # only the dependent carries an EQ; the subscriber (HL04 1) is not asked about
    assert asked == [("dependent", "11122333301")]
    read = read_271(data)
    assert read.problems == []
    [response] = read.responses
    assert response.reference == "10001234"  # BHT03 echoed
    assert response.payer is not None and response.payer.identifier == "842610001"
    # the provider asked as a person (NM1*1P*1*JONES*MARCUS****SV*2000034): echoed the same way
    assert response.receiver is not None
    assert (response.receiver.entity_type, response.receiver.first, response.receiver.id_qualifier) == (
        "1",
        "MARCUS",
        "SV",
    )
    subscriber, dependent = response.members
    assert (subscriber.member_id, subscriber.benefits, subscriber.child_code) == ("11122333301", [], "1")
    assert dependent.inquiry_trace == "93175-012547"
    assert dependent.traces[0].originator == "9877281234"
    assert dependent.birth_date == date(1978, 10, 14)
    assert dependent.coverage is CoverageStatus.ACTIVE
    primary = dependent.primary_payer
    assert primary is not None and primary.identifier == "00430"


def test_answer_270_rejecting_the_provider_answers_no_member() -> None:
    [inquiry] = read_270(corpus_dir() / "270_271/oopfactory__270_Example1_IG_0x1D.txt").inquiries

    def never(member: InquiredMember, subscriber: InquiredMember | None) -> CoverageAnswer:
        raise AssertionError("no member is answered when the provider is rejected")

    reply = answer_270(inquiry, never, provider_rejections=(RejectionReply("51", "C"),))
    read = read_271(write_271(reply, envelope("HB", VERSION_271)))
    assert read.problems == []
    [response] = read.responses
    assert response.members == []
    assert [(a.action, a.loop, a.reason) for a in response.actions] == [
        (EligibilityAction.CORRECT_AND_RESEND, "2100B", "51")
    ]


def test_answer_276_reports_each_claim_and_not_found() -> None:
    [request] = read_276(corpus_dir() / "276_277/lfh__claim-level-status.276").requests

    def status_of(claim: QueriedClaim) -> ClaimAnswer | None:
        if claim.claim_key == "J0234567":
            return None  # the payer has never seen it
        return ClaimAnswer(
            (StatusAnswer(STATUS_OF_STAGE["paid"], date(2005, 9, 16), claim.total_charge, Decimal("100")),), "PCN1"
        )

    data = write_277(answer_276(request, status_of, today=date(2005, 9, 16)), envelope("HN", VERSION_277))
    read = read_277(data)
    assert read.problems == []
    [response] = read.responses
    assert response.reference == "ABC276XXX"
    paid, missing, dependent = response.claims
    assert (paid.trace, paid.claim_key, paid.category, paid.bill_type) == ("ABCXYZ1", "SM123456", "F1", "111")
    assert paid.service_period is not None and paid.service_period.end == date(2005, 9, 6)
    # not found: A4:35, dated today, with the charge the 276 gave (AMT*T3*7599.00)
    assert (missing.trace, missing.claim_key) == ("ABCXYZ2", "J0234567")
    assert [(s.category, s.code) for s in missing.statuses] == [(NOT_FOUND.category, NOT_FOUND.code)]
    assert missing.reports[0].effective_date == date(2005, 9, 16)
    assert missing.total_charge == Decimal("7599.00")
    # the dependent's claim: under its own provider (NPI 166666666), no claim-level DTP asked, none answered
    assert (dependent.level, dependent.trace, dependent.claim_key) == ("dependent", "ABCXYZ3", "MA345678")
    assert dependent.provider is not None and dependent.provider.identifier == "166666666"
    assert dependent.patient is not None and (dependent.patient.last, dependent.patient.first) == ("MANN", "JOSEPH")
    assert dependent.service_period is None and dependent.total_charge is None
    assert [
        p.identifier for p in {c.provider.identifier: c.provider for c in response.claims if c.provider}.values()
    ] == [
        "1666666661",
        "166666666",
    ]
