"""The payer files declare what each payer takes: Medicare Part B takes no frequency 7 or 8 (docs/claim-rules.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.payers import registered_payers
from revcycle.domain import ClaimStatus
from revcycle.next_action import (
    Action,
    Adjudication,
    ClaimSnapshot,
    Version,
    VersionState,
    decide,
)
from revcycle.warehouse.claim_snapshots import payer_policy

TODAY = date(2026, 6, 1)


def _changed_after_adjudication() -> ClaimSnapshot:
    # Paid on 2026-05-01 for the version whose content digest is "v1"; the EHR's charges now digest to "v2"
    # (a corrected line): a change after adjudication, so a replacement (7) or a reopening.
    return ClaimSnapshot(
        claim_key="C1",
        filing_clock_start=date(2026, 4, 1),
        versions=(Version(1, "1", "v1", VersionState.ADJUDICATED, date(2026, 4, 2)),),
        adjudication=Adjudication(
            status=ClaimStatus.PAID,
            digest="v1",
            claim_status_code="1",
            payer_claim_number="PCN-1",
            paid=Decimal("80.00"),
            patient_responsibility=Decimal("20.00"),
            denied=Decimal("0"),
            payment_date=date(2026, 5, 1),
        ),
        ehr_digest="v2",
    )


def test_medicare_part_b_takes_no_replacement_or_void() -> None:
    policy = payer_policy(registered_payers()["MCRPB"])
    assert (policy.accepts_replacement, policy.accepts_void) == (False, False)
    # MACs work a change after adjudication as a reopening (Pub. 100-04 ch. 34): a person asks for it.
    assert decide(_changed_after_adjudication(), policy, TODAY).action is Action.REQUEST_REOPENING


def test_a_commercial_payer_gets_a_replacement_with_the_payer_claim_number() -> None:
    policy = payer_policy(registered_payers()["SUMMT"])
    decision = decide(_changed_after_adjudication(), policy, TODAY)
    assert decision.action is Action.SEND_REPLACEMENT
    assert (decision.frequency_code, decision.payer_claim_number) == ("7", "PCN-1")


def test_every_payer_file_declares_a_usual_lag_shorter_than_its_timely_filing_limit() -> None:
    for payer_id, profile in registered_payers().items():
        policy = payer_policy(profile)
        assert 0 < policy.usual_lag_days < policy.timely_filing_days, payer_id
        assert policy.inquiry_interval_days > 0, payer_id
