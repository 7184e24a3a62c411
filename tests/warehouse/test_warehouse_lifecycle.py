"""Done-when 3: the same 835 twice changes nothing; a reversal and its correction leave the corrected payment."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, func, select
from warehouse_data import add_claim, cas, clp, ingest, remittance, svc, write_remittances

from revcycle.domain import ClaimStatus
from revcycle.lifecycle import derive_status
from revcycle.warehouse.schema import (
    adjustment,
    claim,
    claim_event,
    remittance_claim,
    remittance_service,
    remittance_suspense,
    source_file,
)
from revcycle.warehouse.schema import (
    remittance as remittance_table,
)

SERVED = date(2026, 5, 20)


def _counts(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        counts: dict[str, object] = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (
                remittance_table,
                remittance_claim,
                remittance_service,
                adjustment,
                remittance_suspense,
                claim_event,
            )
        }
        counts["paid_cents"] = conn.execute(select(func.sum(remittance_claim.c.paid_cents))).scalar_one()
        counts["status"] = conn.execute(select(claim.c.status).where(claim.c.claim_key == "C1")).scalar_one()
    return counts


def _paid_835(control_number: int) -> bytes:
    # One claim paid 90.00 of 120.00 (CO-45 30.00), one claim we never sent (suspense).
    return write_remittances(
        control_number,
        remittance(
            "TRACE1",
            date(2026, 6, 5),
            (
                clp("C1", "1", "120", "90", services=(svc("99214", "120", "90", SERVED, cas("CO", "45", "30")),)),
                clp("UNKNOWN1", "1", "50", "50", services=(svc("99212", "50", "50", SERVED),)),
            ),
        ),
    )


def test_the_same_835_loaded_twice_changes_nothing(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        add_claim(conn, "C1", "P1", [("99214", "120")], SERVED, date(2026, 5, 21))
    data = _paid_835(1001)
    first = ingest(warehouse, data, "835_a.x12")
    assert first is not None and first.rows == 2 and first.unmatched == 1
    after_first = _counts(warehouse)
    # 2 remittance claims, 2 service lines, 1 adjustment, 1 suspense row, built + submitted + paid events
    assert after_first == {
        "remittance": 1,
        "remittance_claim": 2,
        "remittance_service": 2,
        "adjustment": 1,
        "remittance_suspense": 1,
        "claim_event": 3,
        "paid_cents": 9000 + 5000,
        "status": "paid",
    }

    assert ingest(warehouse, data, "835_a_again.x12") is None  # same bytes: known by content hash
    assert _counts(warehouse) == after_first

    # Same remittance in another envelope (new ISA13, new hash): the payer trace number stops it.
    again = ingest(warehouse, _paid_835(1002), "835_b.x12")
    assert again is not None and again.rows == 0 and again.events == 0
    assert _counts(warehouse) == after_first
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(source_file)).scalar_one() == 2


def _reversal_and_correction(reversal_first: bool) -> bytes:
    reversal = clp("C1", "22", "-120", "-90", services=(svc("99214", "-120", "-90", SERVED, cas("CO", "45", "-30")),))
    correction = clp("C1", "1", "120", "120", services=(svc("99214", "120", "120", SERVED),))
    claims = (reversal, correction) if reversal_first else (correction, reversal)
    return write_remittances(2001, remittance("TRACE2", date(2026, 6, 15), claims))


def _check_corrected(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(select(claim.c.status).where(claim.c.claim_key == "C1")).scalar_one() == "paid"
        events = conn.execute(
            select(claim_event.c.status, claim_event.c.source_file_id)
            .where(claim_event.c.claim_key == "C1", claim_event.c.source_file_id.is_not(None))
            .order_by(claim_event.c.id)
        ).all()
        postings = conn.execute(
            select(
                remittance_claim.c.id,
                remittance_claim.c.status_code,
                remittance_claim.c.paid_cents,
                remittance_claim.c.reversed_by_id,
            )
            .where(remittance_claim.c.claim_key == "C1")
            .order_by(remittance_claim.c.id)
        ).all()
    statuses = [e.status for e in events]
    assert sorted(statuses) == ["paid", "paid", "reversed"]
    first_file = events[0].source_file_id
    assert {e.source_file_id for e in events[1:]} == {first_file + 1}  # both new events name the second 835
    by_code = {p.status_code: p for p in postings if p.paid_cents != 9000}
    original = next(p for p in postings if p.paid_cents == 9000)
    assert original.reversed_by_id == by_code["22"].id  # the reversal cancelled the original posting
    assert by_code["1"].reversed_by_id is None and by_code["1"].paid_cents == 12000
    assert sum(p.paid_cents for p in postings) == 12000  # 90 - 90 + 120


def test_a_reversal_then_its_correction_leave_the_corrected_payment(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        add_claim(conn, "C1", "P1", [("99214", "120")], SERVED, date(2026, 5, 21))
    assert ingest(warehouse, _paid_835(1001), "835_a.x12") is not None
    summary = ingest(warehouse, _reversal_and_correction(reversal_first=True), "835_c.x12")
    assert summary is not None and summary.rows == 2 and summary.events == 2
    _check_corrected(warehouse)


def test_a_correction_listed_before_its_reversal_is_still_the_standing_payment(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        add_claim(conn, "C1", "P1", [("99214", "120")], SERVED, date(2026, 5, 21))
    assert ingest(warehouse, _paid_835(1001), "835_a.x12") is not None
    assert ingest(warehouse, _reversal_and_correction(reversal_first=False), "835_c.x12") is not None
    _check_corrected(warehouse)


def test_derive_status_cancels_one_adjudication_per_reversal() -> None:
    paid, partly, denied = ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED
    reversed_, submitted, accepted = ClaimStatus.REVERSED, ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED
    assert derive_status([submitted, accepted, paid, reversed_, partly]) == partly
    assert derive_status([submitted, accepted, partly, paid, reversed_]) == paid
    assert derive_status([submitted, paid, reversed_]) == reversed_
    assert derive_status([submitted, denied, reversed_, paid, reversed_]) == reversed_
    assert derive_status([submitted, paid, accepted]) == paid  # a late 277CA does not undo a payment
    assert derive_status([submitted, paid, ClaimStatus.VOIDED]) == ClaimStatus.VOIDED


def test_a_replacement_in_process_leaves_the_claim_awaiting_its_adjudication_not_paid() -> None:
    # docs/warehouse.md (claim.status): a version built after an adjudication (a 7) stands at its own
    # front-end status until its 835; the 835 answering it (reversal of the original, then the new payment)
    # leaves the new payment's status.
    built, submitted, accepted = ClaimStatus.BUILT, ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED
    paid, partly, reversed_ = ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.REVERSED
    original = [built, submitted, accepted, paid]
    assert derive_status([*original, built]) == built
    assert derive_status([*original, built, submitted]) == submitted
    assert derive_status([*original, built, submitted, accepted]) == accepted
    assert derive_status([*original, built, submitted, ClaimStatus.REJECTED]) == ClaimStatus.REJECTED
    # the payer reversed the original in an earlier 835 than the replacement's payment: still awaiting it
    assert derive_status([*original, built, submitted, accepted, reversed_]) == accepted
    assert derive_status([*original, built, submitted, accepted, reversed_, partly]) == partly
    assert derive_status([*original, built, submitted, reversed_, paid, accepted]) == paid  # 835 before 277CA
    # a resend after a front-end rejection is not a replacement: it stands where its own answers put it
    assert derive_status([built, submitted, ClaimStatus.REJECTED, built, submitted]) == submitted
