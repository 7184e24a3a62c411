"""The eligibility and status-inquiry rules (tracker issue 14), with hand-derived expectations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from revcycle.eligibility import (
    ACTIVE,
    AWAITING,
    INACTIVE,
    NO_ANSWER,
    OTHER_PRIMARY,
    Answer,
    PairState,
    decide,
    is_late,
    needs_inquiry,
)
from revcycle.sandbox.inquiries import (
    OTHER_PAYER_ID,
    OTHER_PAYER_NAME,
    CoverageShares,
    caqh_morning,
    coverage_answer,
    coverage_verdict,
)
from revcycle.status_inquiry import due_for_inquiry
from revcycle.warehouse.kpi.coverage import CoverageReport, hold_kind
from revcycle.x12.write271 import EligibilityReply, MemberReply, SubscriberReply, write_271
from revcycle.x12.writer import Envelope
from revcycle.x12.x271 import CoverageStatus, read_271

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 11, 2, 30, tzinfo=UTC)  # 21:30 CDT on the 10th in Chicago (DST began March 8)
WINDOW = 30


def _decide(state: PairState, *, unverified: bool = False, primaries: frozenset[str] = frozenset()) -> str | None:
    return decide(
        state,
        payer_name="ACME HEALTH",
        today=TODAY,
        window_days=WINDOW,
        may_go_unverified=unverified,
        claim_primary_ids=primaries,
    ).hold


def test_a_pair_never_verified_is_asked_and_its_claim_awaits_the_271() -> None:
    assert needs_inquiry(PairState(), TODAY, NOW, WINDOW)
    assert _decide(PairState()) == AWAITING
    # a payer whose claims go out unverified: no hold
    assert _decide(PairState(), unverified=True) is None


def test_the_window_counts_days_since_the_271_today_being_day_0() -> None:
    # verified 29 days ago: within a 30-day window; 30 days ago: outside, ask again
    recent = PairState(Answer(ACTIVE, TODAY - timedelta(days=29)))
    stale = PairState(Answer(ACTIVE, TODAY - timedelta(days=30)))
    assert not needs_inquiry(recent, TODAY, NOW, WINDOW)
    assert _decide(recent) is None
    assert needs_inquiry(stale, TODAY, NOW, WINDOW)
    assert _decide(stale) == AWAITING  # a stale active answer does not let the claim out


def test_an_inquiry_out_is_not_repeated_until_three_days_have_passed() -> None:
    asked = NOW - timedelta(days=2, hours=23)
    assert not needs_inquiry(PairState(pending_since=asked), TODAY, NOW, WINDOW)
    assert needs_inquiry(PairState(pending_since=NOW - timedelta(days=3)), TODAY, NOW, WINDOW)
    # late after 36 hours (CAQH CORE: answered by 7 am ET the next business day)
    assert not is_late(NOW - timedelta(hours=35), NOW)
    assert is_late(NOW - timedelta(hours=36), NOW)


def test_inactive_holds_the_claim_even_for_a_payer_that_may_go_unverified() -> None:
    state = PairState(Answer(INACTIVE, TODAY))
    assert _decide(state) == "the 271 of 2026-03-10 says the subscriber's coverage is inactive"
    assert _decide(state, unverified=True) == _decide(state)


def test_another_primary_payer_holds_the_claim_with_the_payer_named() -> None:
    state = PairState(Answer(OTHER_PRIMARY, TODAY, "BIG PLAN", "BIG01"))
    reason = _decide(state)
    assert reason is not None and "BIG PLAN" in reason and "not ACME HEALTH" in reason
    # the claim is itself a secondary claim naming BIG01 as primary (its COB order): it agrees, no hold
    assert _decide(state, primaries=frozenset({"BIG01"})) is None


def test_an_answer_that_is_neither_waits_or_goes_by_the_payer_setting() -> None:
    state = PairState(Answer(NO_ANSWER, TODAY, action="retry_later"))
    assert _decide(state) == "the 271 of 2026-03-10 gave no coverage answer (retry_later)"
    assert _decide(state, unverified=True) is None


def test_a_silent_claim_is_asked_after_its_lag_and_once_a_period() -> None:
    sent = NOW - timedelta(days=30)
    assert due_for_inquiry(sent, None, NOW, 30, 30)
    assert not due_for_inquiry(sent + timedelta(minutes=1), None, NOW, 30, 30)  # 29 days 23:59: not yet
    # asked yesterday: not again; asked 30 days ago: again
    assert not due_for_inquiry(sent, NOW - timedelta(days=1), NOW, 30, 30)
    assert due_for_inquiry(sent, NOW - timedelta(days=30), NOW, 30, 30)
    # SQLite gives naive UTC instants back
    assert due_for_inquiry(sent.replace(tzinfo=None), None, NOW, 30, 30)


def test_the_sandbox_answers_batch_inquiries_by_7_am_eastern_the_next_morning() -> None:
    # 02:30 UTC = 22:30 EDT on March 10 (past 9 pm ET); the next 7 am EDT (UTC-4) is March 11, 11:00 UTC
    assert caqh_morning(NOW) == datetime(2026, 3, 11, 11, 0, tzinfo=UTC)
    # received at 06:59 EDT: answered at 07:00 the same morning
    assert caqh_morning(datetime(2026, 3, 11, 10, 59, tzinfo=UTC)) == datetime(2026, 3, 11, 11, 0, tzinfo=UTC)


def test_coverage_shares_split_the_unit_interval() -> None:
    everyone = CoverageShares(inactive=1.0, other_primary=0.0)
    nobody = CoverageShares(inactive=0.0, other_primary=0.0)
    assert coverage_verdict("s", "P1", "M1", everyone) == INACTIVE
    assert coverage_verdict("s", "P1", "M1", nobody) == ACTIVE
    assert coverage_verdict("s", "P1", "M1", CoverageShares(0.0, 1.0)) == OTHER_PRIMARY


def test_the_sandbox_271_reads_back_as_what_it_means() -> None:
    env = Envelope(
        sender_id="SANDBOX",
        receiver_id="REVCYCLE01",
        interchange_control_number=7,
        group_control_number=7,
        usage_indicator="T",
        created=datetime(2026, 3, 11, 7, 0),
        functional_id_code="HB",
        version="005010X279A1",
    )
    found = {}
    for verdict in (ACTIVE, INACTIVE, OTHER_PRIMARY):
        member = MemberReply("DOE", "JANE", coverage_answer(verdict, TODAY), member_id="M1", trace=f"T{verdict}")
        reply = EligibilityReply("ACME", "P1", "CLINIC", "1234567893", "R1", (SubscriberReply(member),))
        read = read_271(write_271(reply, env))
        assert not read.problems
        found[verdict] = read.responses[0].members[0]
    assert found[ACTIVE].coverage == CoverageStatus.ACTIVE and found[ACTIVE].primary_payer is None
    assert found[INACTIVE].coverage == CoverageStatus.INACTIVE
    other = found[OTHER_PRIMARY].primary_payer
    assert found[OTHER_PRIMARY].coverage == CoverageStatus.ACTIVE
    assert other is not None and (other.name, other.identifier) == (OTHER_PAYER_NAME, OTHER_PAYER_ID)


def test_hold_kinds_and_the_verification_rate() -> None:
    assert hold_kind("claim C1: awaiting eligibility") == "awaiting 271"
    assert hold_kind("claim C1: the 271 of 2026-03-10 says the subscriber's coverage is inactive") == "inactive"
    assert hold_kind("claim C1: the 271 of 2026-03-10 names X as the primary payer, not Y") == "another primary payer"
    # 2 of 3 reviewed claims verified: 66.666... % shown to one decimal
    report = CoverageReport(reviewed=3, verified=2, holds=[], hold_counts={}, late_271=0, past_lag=[])
    assert str(report.verification_rate) == "66.7"
    assert CoverageReport(0, 0, [], {}, 0, []).verification_rate is None
