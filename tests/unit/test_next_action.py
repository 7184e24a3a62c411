"""The next-action rules (docs/claim-rules.md), one planted case per rule, dates worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from revcycle.domain import ClaimStatus
from revcycle.next_action import (
    Action,
    Adjudication,
    ClaimSnapshot,
    Kind,
    PayerPolicy,
    Version,
    VersionState,
    decide,
)

TODAY = date(2026, 6, 30)
DOS = date(2026, 6, 1)
POLICY = PayerPolicy(timely_filing_days=90, correction_filing_days=60, appeal_days=30, usual_lag_days=20)


def _v(
    number: int, state: VersionState, digest: str = "A", frequency: str = "1", sent: date = date(2026, 6, 2)
) -> Version:
    return Version(number, frequency, digest, state, sent)


def _paid(digest: str = "A", **changes: object) -> Adjudication:
    base = Adjudication(
        status=ClaimStatus.PAID,
        digest=digest,
        claim_status_code="1",
        payer_claim_number="PCN1",
        paid=Decimal("80.00"),
        patient_responsibility=Decimal("0"),
        denied=Decimal("0"),
        payment_date=date(2026, 6, 20),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _snapshot(**changes: object) -> ClaimSnapshot:
    return replace(ClaimSnapshot("RCKEY", DOS, ehr_digest="A"), **changes)  # type: ignore[arg-type]


def test_a_new_claim_is_sent_as_an_original() -> None:
    decision = decide(_snapshot(), POLICY, TODAY)
    assert (decision.action, decision.frequency_code, decision.kind) == (Action.SEND_ORIGINAL, "1", Kind.PIPELINE)


def test_a_new_claim_past_timely_filing_goes_to_a_person() -> None:
    # DOS 2026-06-01 + 90 days = 2026-08-30: on 2026-08-31 it is late, on 2026-08-30 it is not.
    assert decide(_snapshot(), POLICY, date(2026, 8, 30)).action is Action.SEND_ORIGINAL
    late = decide(_snapshot(), POLICY, date(2026, 8, 31))
    assert (late.action, late.kind) == (Action.TIMELY_FILING_EXPIRED, Kind.PERSON)
    assert "2026-08-30" in late.reason


def test_held_charges_are_a_persons_action() -> None:
    decision = decide(_snapshot(held=("claim RCKEY: prior_authorization holds a delimiter",)), POLICY, TODAY)
    assert (decision.action, decision.kind) == (Action.FIX_HELD_CHARGES, Kind.PERSON)


def test_a_front_end_rejection_with_an_identical_rebuild_is_refused() -> None:
    decision = decide(_snapshot(versions=(_v(1, VersionState.REJECTED),)), POLICY, TODAY)
    assert decision.action is Action.CORRECT_REJECTION
    assert "identical" in decision.reason


def test_a_corrected_rejection_is_resent_as_an_original_not_a_replacement() -> None:
    decision = decide(_snapshot(versions=(_v(1, VersionState.REJECTED),), ehr_digest="B"), POLICY, TODAY)
    assert (decision.action, decision.frequency_code, decision.payer_claim_number) == (
        Action.RESEND_ORIGINAL,
        "1",
        None,
    )


def test_a_rebuild_identical_to_any_earlier_rejected_version_is_refused() -> None:
    versions = (_v(1, VersionState.REJECTED, "A"), _v(2, VersionState.REJECTED, "B"))
    assert decide(_snapshot(versions=versions, ehr_digest="A"), POLICY, TODAY).action is Action.CORRECT_REJECTION


def test_a_claim_with_the_payer_waits_until_its_usual_lag_then_is_inquired_about() -> None:
    versions = (_v(1, VersionState.ACCEPTED, sent=date(2026, 6, 10)),)
    # usual lag 20 days: 2026-06-30 is day 20 (waits), 2026-07-01 is day 21 (silent).
    assert decide(_snapshot(versions=versions), POLICY, date(2026, 6, 30)).action is Action.AWAIT_RESPONSE
    assert decide(_snapshot(versions=versions), POLICY, date(2026, 7, 1)).action is Action.INQUIRE
    # An inquiry sent on 2026-07-01 is not repeated before 14 days have passed (2026-07-15).
    inquired = _snapshot(versions=versions, last_inquiry_on=date(2026, 7, 1))
    assert decide(inquired, POLICY, date(2026, 7, 14)).action is Action.AWAIT_RESPONSE
    assert decide(inquired, POLICY, date(2026, 7, 15)).action is Action.INQUIRE


def test_a_change_while_in_process_waits_for_the_adjudication() -> None:
    versions = (_v(1, VersionState.ACCEPTED, sent=date(2026, 6, 25)),)
    decision = decide(_snapshot(versions=versions, ehr_digest="B"), POLICY, TODAY)
    assert (decision.action, decision.kind) == (Action.AWAIT_ADJUDICATION, Kind.WAIT)


def test_a_change_after_adjudication_is_a_replacement_carrying_the_payer_claim_number() -> None:
    snapshot = _snapshot(versions=(_v(1, VersionState.ADJUDICATED),), adjudication=_paid(), ehr_digest="B")
    decision = decide(snapshot, POLICY, TODAY)
    assert (decision.action, decision.frequency_code, decision.payer_claim_number) == (
        Action.SEND_REPLACEMENT,
        "7",
        "PCN1",
    )


def test_a_replacement_past_the_correction_limit_or_refused_by_the_payer_goes_to_a_person() -> None:
    snapshot = _snapshot(versions=(_v(1, VersionState.ADJUDICATED),), adjudication=_paid(), ehr_digest="B")
    # paid 2026-06-20 + 60 days = 2026-08-19.
    assert decide(snapshot, POLICY, date(2026, 8, 19)).action is Action.SEND_REPLACEMENT
    assert decide(snapshot, POLICY, date(2026, 8, 20)).action is Action.CORRECTION_PAST_LIMIT
    no_electronic = replace(POLICY, accepts_replacement=False)
    assert decide(snapshot, no_electronic, TODAY).action is Action.REQUEST_REOPENING


def test_a_cancelled_visit_with_a_payment_is_voided_and_one_never_adjudicated_is_withdrawn() -> None:
    paid = _snapshot(versions=(_v(1, VersionState.ADJUDICATED),), adjudication=_paid(), cancelled=True)
    decision = decide(paid, POLICY, TODAY)
    assert (decision.action, decision.frequency_code, decision.payer_claim_number) == (Action.SEND_VOID, "8", "PCN1")
    rejected = _snapshot(versions=(_v(1, VersionState.REJECTED),), cancelled=True)
    assert decide(rejected, POLICY, TODAY).action is Action.WITHDRAWN
    never_sent = _snapshot(cancelled=True)
    assert decide(never_sent, POLICY, TODAY).action is Action.WITHDRAWN
    in_process = _snapshot(versions=(_v(1, VersionState.ACCEPTED, sent=date(2026, 6, 25)),), cancelled=True)
    assert decide(in_process, POLICY, TODAY).action is Action.AWAIT_ADJUDICATION
    denied = _snapshot(
        versions=(_v(1, VersionState.ADJUDICATED),),
        adjudication=_paid(status=ClaimStatus.DENIED, paid=Decimal(0), denied=Decimal("100")),
        cancelled=True,
    )
    assert decide(denied, POLICY, TODAY).action is Action.WITHDRAWN


def test_a_void_accepted_is_final_and_a_void_in_process_waits() -> None:
    versions = (_v(1, VersionState.ADJUDICATED), _v(2, VersionState.SUBMITTED, frequency="8", sent=TODAY))
    waiting = _snapshot(versions=versions, adjudication=_paid(), cancelled=True)
    assert decide(waiting, POLICY, TODAY).action is Action.AWAIT_RESPONSE
    done = replace(waiting, versions=(versions[0], replace(versions[1], state=VersionState.ACCEPTED)))
    assert (decide(done, POLICY, TODAY).action, decide(done, POLICY, TODAY).kind) == (Action.VOIDED, Kind.FINAL)


def test_a_balance_goes_to_the_next_payer_unless_the_primary_crossed_it_over() -> None:
    with_pr = _paid(patient_responsibility=Decimal("20.00"))
    base = _snapshot(versions=(_v(1, VersionState.ADJUDICATED),), adjudication=with_pr, next_payer_id="MCDST")
    assert decide(base, POLICY, TODAY).action is Action.BILL_NEXT_PAYER
    for crossed in (
        replace(with_pr, claim_status_code="19"),
        replace(with_pr, remarks=frozenset({"MA18"})),
        replace(with_pr, remarks=frozenset({"N89"})),
        replace(with_pr, remarks=frozenset({"MA07"})),
        replace(with_pr, crossover_carrier=True),
    ):
        assert decide(replace(base, adjudication=crossed), POLICY, TODAY).action is Action.CROSSED_OVER
    failed = replace(with_pr, claim_status_code="19", remarks=frozenset({"MA18", "MA19"}))
    assert decide(replace(base, adjudication=failed), POLICY, TODAY).action is Action.BILL_NEXT_PAYER
    billed = replace(base, next_payer_billed=True)
    assert decide(billed, POLICY, TODAY).action is Action.PATIENT_BALANCE


def test_final_states_after_adjudication() -> None:
    settled = _snapshot(versions=(_v(1, VersionState.ADJUDICATED),), adjudication=_paid())
    assert decide(settled, POLICY, TODAY).action is Action.PAID_IN_FULL
    owed = replace(settled, adjudication=_paid(patient_responsibility=Decimal("15")))
    assert decide(owed, POLICY, TODAY).action is Action.PATIENT_BALANCE


def test_a_denial_is_worked_until_its_appeal_window_closes_then_written_off() -> None:
    denied = _paid(status=ClaimStatus.DENIED, claim_status_code="4", paid=Decimal(0), denied=Decimal("100"))
    snapshot = _snapshot(versions=(_v(1, VersionState.ADJUDICATED),), adjudication=denied)
    # paid 2026-06-20 + 30 appeal days = 2026-07-20.
    assert decide(snapshot, POLICY, date(2026, 7, 20)).action is Action.WORK_DENIAL
    assert decide(snapshot, POLICY, date(2026, 7, 21)).action is Action.WRITTEN_OFF


def test_a_rejected_replacement_keeps_the_standing_adjudication() -> None:
    versions = (_v(1, VersionState.ADJUDICATED, "A"), _v(2, VersionState.REJECTED, "B", frequency="7"))
    same = _snapshot(versions=versions, adjudication=_paid("A"), ehr_digest="B")
    assert decide(same, POLICY, TODAY).action is Action.CORRECT_REJECTION
    fixed = replace(same, ehr_digest="C")
    assert decide(fixed, POLICY, TODAY).action is Action.SEND_REPLACEMENT


@pytest.mark.parametrize("action", list(Action))
def test_every_action_has_a_kind(action: Action) -> None:
    from revcycle.next_action import KIND

    assert action in KIND
