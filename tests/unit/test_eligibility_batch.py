"""The eligibility and status steps over a SQLite warehouse (core only): 270s staged once per pair, 271s hold
or release claims, a crash between commit and rename loses nothing and asks nothing twice, one 276 per claim.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from intake_records import record_export
from sqlalchemy import Engine, select, update

from connectors.payers import registered_payers
from revcycle.eligibility_batch import EligibilityReview, load_271, review_eligibility
from revcycle.status_inquiry import load_277, stage_status_inquiries
from revcycle.submission import SenderIdentity, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.schema import claim, claim_hold, eligibility_check, interchange, status_inquiry
from revcycle.x12.write271 import VERSION_271, BenefitReply, CoverageAnswer, EntityReply, answer_270, write_271
from revcycle.x12.write277 import STATUS_OF_STAGE, VERSION_277, ClaimAnswer, StatusAnswer, answer_276, write_277
from revcycle.x12.write837p import Submitter
from revcycle.x12.writer import Envelope
from revcycle.x12.x270 import InquiredMember, read_270
from revcycle.x12.x276 import read_276
from revcycle.x12.x837 import read_837

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
NEXT = NOW + timedelta(days=1)
SENDER = SenderIdentity("REVCYCLE01", "T", Submitter("REVCYCLE BILLING", "REVCYCLE01", "BILLING", phone="5555550100"))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_warehouse(engine)
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=6, seed=14, as_of=AS_OF))
    record_export(engine, rows, batch_date=AS_OF, name="c.csv", origin="x", now=NOW)
    yield engine
    engine.dispose()


def _review(engine: Engine, outbound: Path, now: datetime = NOW, send: bool = True) -> EligibilityReview:
    return review_eligibility(
        engine,
        payers=registered_payers(),
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=AS_OF,
        created=now,
        now=now,
        today=AS_OF,
        window_days=30,
        unverified_payers=frozenset(),
        send_inquiries=send,
    )


def _env(gs01: str, version: str) -> Envelope:
    return Envelope("SANDBOX", "REVCYCLE01", 900, 900, "T", datetime(2026, 11, 21, 7, 0), gs01, version)


def _open_holds(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(claim_hold.c.claim_key, claim_hold.c.reason).where(
                claim_hold.c.stage == "coverage", claim_hold.c.released_at.is_(None)
            )
        )
        return {r.claim_key: r.reason for r in rows}


def _all_keys(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(claim.c.claim_key)).scalars())


def test_270s_hold_the_claims_until_the_271_then_inactive_and_other_primary_stay_held(
    engine: Engine, tmp_path: Path
) -> None:
    outbound = tmp_path / "outbound"
    first = _review(engine, outbound)
    keys = _all_keys(engine)
    # six encounters, each its own pair: six holds awaiting eligibility, six inquiries
    assert len(keys) == 6 and first.inquiries == 6
    assert set(_open_holds(engine)) == keys
    assert all(r.endswith("awaiting eligibility") for r in _open_holds(engine).values())
    files = sorted(outbound.glob("270_*.x12"))
    assert [f.name for f in files] == sorted(first.files)
    # staging the 837s sends none of them
    assert stage_claims(engine, payers=registered_payers(), sender=SENDER, outbound_dir=outbound,
                        batch_date=AS_OF, created=NOW, now=NOW).interchanges == []  # fmt: skip

    # a rerun of the night asks nothing again
    again = _review(engine, outbound)
    assert again.inquiries == 0 and sorted(outbound.glob("270_*.x12")) == files

    # the payer answers: the first member (by member id) inactive, the second with another primary, others active
    inquiries = [i for f in files for i in read_270(f.read_bytes()).inquiries]
    members = sorted(m.member_id for i in inquiries for m in i.members if m.member_id)
    inactive_id, other_id = members[0], members[1]

    def coverage_of(member: InquiredMember, subscriber: InquiredMember | None) -> CoverageAnswer:
        member_id = (subscriber or member).member_id
        if member_id == inactive_id:
            return CoverageAnswer((BenefitReply("6", service_types=("30",)),))
        active = BenefitReply("1", service_types=("30",))
        if member_id == other_id:
            other = BenefitReply("R", service_types=("30",), entities=(EntityReply("PRP", "BIG PLAN", "PI", "BIG01"),))
            return CoverageAnswer((active, other))
        return CoverageAnswer((active,))

    with engine.begin() as conn:
        entry = register_source_file(conn, kind="271", name="271.x12", sha256="e" * 64, size=1, origin="sftp")
        answered = 0
        for inquiry in inquiries:
            reply = write_271(answer_270(inquiry, coverage_of), _env("HB", VERSION_271))
            answered += load_271(conn, entry.id, reply, NEXT, AS_OF + timedelta(days=1))[0]
    assert answered == 6

    _review(engine, outbound, NEXT)
    holds = _open_holds(engine)
    assert len(holds) == 2
    reasons = sorted(holds.values())
    assert any("coverage is inactive" in r for r in reasons)
    assert any("names BIG PLAN as the primary payer" in r for r in reasons)
    staged = stage_claims(
        engine,
        payers=registered_payers(),
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=AS_OF,
        created=NEXT,
        now=NEXT,
    )
    sent = {c.claim_key for r in staged.interchanges for c in read_837((outbound / r.file_name).read_bytes()).claims}
    assert sent == keys - set(holds)


def test_a_crash_between_commit_and_rename_is_finished_and_asks_nothing_twice(engine: Engine, tmp_path: Path) -> None:
    outbound = tmp_path / "outbound"
    first = _review(engine, outbound)
    # the crash: the ledger committed, the rename never happened
    for name in first.files:
        (outbound / name).rename(outbound / (name + ".staging"))
    again = _review(engine, outbound)
    assert again.inquiries == 0
    assert sorted(p.name for p in outbound.iterdir()) == sorted(first.files)
    with engine.connect() as conn:
        assert len(list(conn.execute(select(interchange).where(interchange.c.transaction_type == "270")))) == len(
            first.files
        )
        assert len(list(conn.execute(select(eligibility_check)))) == 6


def test_with_batch_eligibility_off_nothing_is_asked_or_held(engine: Engine, tmp_path: Path) -> None:
    review = _review(engine, tmp_path / "outbound", send=False)
    assert review.inquiries == 0 and review.held == [] and _open_holds(engine) == {}


def test_a_silent_claim_gets_one_276_and_its_277_never_changes_its_status(engine: Engine, tmp_path: Path) -> None:
    outbound = tmp_path / "outbound"
    sent_at = NOW - timedelta(days=31)
    with engine.begin() as conn:
        conn.execute(update(claim).values(status="accepted", submitted_at=sent_at))

    def stage(now: datetime) -> list[str]:
        return stage_status_inquiries(
            engine,
            payers=registered_payers(),
            sender=SENDER,
            outbound_dir=outbound,
            batch_date=AS_OF,
            created=now,
            now=now,
            after_days=30,
            every_days=30,
        ).claims

    assert sorted(stage(NOW)) == sorted(_all_keys(engine))
    assert stage(NOW + timedelta(days=1)) == []  # the next night: not again
    files = sorted(outbound.glob("276_*.x12"))
    answer = ClaimAnswer((StatusAnswer(STATUS_OF_STAGE["in_process"], AS_OF),), payer_claim_number="PCN1")
    with engine.begin() as conn:
        entry = register_source_file(conn, kind="277", name="277.x12", sha256="f" * 64, size=1, origin="sftp")
        for path in files:
            for request in read_276(path.read_bytes()).requests:
                reply = answer_276(request, lambda _c: answer, today=AS_OF)
                load_277(conn, entry.id, write_277(reply, _env("HN", VERSION_277)), NEXT)
    with engine.connect() as conn:
        rows = list(conn.execute(select(status_inquiry)))
        statuses = set(conn.execute(select(claim.c.status)).scalars())
    assert len(rows) == 6
    assert {(r.category, r.status_code, r.payer_claim_number) for r in rows} == {("P1", "20", "PCN1")}
    assert statuses == {"accepted"}
    # 30 days after the first 276 the claim is asked again
    assert len(stage(NOW + timedelta(days=30))) == 6
