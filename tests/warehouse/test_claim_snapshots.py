"""Every open claim decided from the warehouse: the worklists are views of the next-action rules.

A hand-built warehouse (SQLite and PostgreSQL), today = 2026-06-30, practice timezone America/Chicago.
Payer policies: P1 timely filing 90 days, appeal 60; P2 timely filing 365, appeal 120; both the default
usual lag of 30 days (PayerPolicy). Every response file is loaded at 10:00 Chicago on the date given.

claim  payer service sent   what came back                                   expected (docs/claim-rules.md)
RJ277  P1    06-01   06-02  277CA 06-03 rejected A7:21                        correct_rejection
RJ999  P2    06-10   06-11  999 06-12 rejects its interchange                 correct_rejection
DN     P2    05-10   05-11  277CA 05-12 accepted; 835 06-10 CLP02 4 CO-50     work_denial, appeal by 10-08
SL     P1    05-01   05-02  277CA 05-12 accepted; no 835                      inquire (silent)
WT     P1    06-19   06-20  277CA 06-21 accepted; no 835                      await_response, due 07-20
PD     P1    06-01   06-02  277CA 06-03 accepted; 835 06-20 paid 80, CO-45 20 paid_in_full (final)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from kpi_data import ingest_on, local_10am
from sqlalchemy import Connection, Engine, func, insert, select
from warehouse_data import add_claim, cas, clp, envelope, remittance, svc, write_remittances

from revcycle.clock import SimulatedClock, running_on
from revcycle.next_action import Action, PayerPolicy
from revcycle.warehouse import actions, claim_snapshots
from revcycle.warehouse.claim_snapshots import decide_open_claims
from revcycle.warehouse.kpi.worklists import all_worklists, denials, rejections, silent_claims
from revcycle.warehouse.schema import claim_action, interchange
from revcycle.warehouse.timezone import sync_practice_timezone
from revcycle.x12.write277ca import VERSION_277CA, ClaimAck, ClaimAcknowledgment, ProviderAck, write_277ca
from revcycle.x12.write277ca import ClaimStatus as Ack277Status
from revcycle.x12.write999 import VERSION_999, GroupAck, TransactionAck, write_999

TODAY = date(2026, 6, 30)
NOW = local_10am(TODAY)
POLICIES = {
    "P1": PayerPolicy(timely_filing_days=90, appeal_days=60),
    "P2": PayerPolicy(timely_filing_days=365, appeal_days=120),
}


def _ack(key: str, charge: str, served: date, accepted: bool) -> ClaimAck:
    return ClaimAck(
        claim_key=key,
        total_charge=Decimal(charge),
        accepted=accepted,
        status=Ack277Status("A2", "20", "PR") if accepted else Ack277Status("A7", "21"),
        patient_last_name="DOE",
        patient_first_name="JANE",
        member_id="M0001",
        service_date=served,
        payer_claim_number=f"PCN{key}" if accepted else None,
    )


def _277ca(control_number: int, day: date, *acks: ClaimAck) -> bytes:
    content = ClaimAcknowledgment(
        source_name="TEST CLEARINGHOUSE",
        source_id="CH01",
        source_trace=str(control_number),
        receiver_name="SUBMITTER",
        receiver_id="SUBMITTER",
        batch_trace=str(control_number),
        received=day,
        processed=day,
        providers=(ProviderAck("1234567893", "TEST CLINIC", acks),),
        reference=f"277CA{control_number}",
    )
    return write_277ca(content, envelope(control_number, "HN", VERSION_277CA))


def build(engine: Engine) -> None:
    """The warehouse of the module docstring."""
    d = date
    with engine.begin() as conn:
        sync_practice_timezone(conn, "America/Chicago")
        rejected_interchange = conn.execute(
            insert(interchange).values(
                control_number=777,
                file_name="837P_777.x12",
                payer_id="P2",
                transaction_type="837P",
                usage_indicator="T",
                claim_count=1,
                total_charge_cents=15000,
                sha256="7" * 64,
                size=1,
                state="uploaded",
                batch_date=d(2026, 6, 11),
                created_at=local_10am(d(2026, 6, 11)),
            )
        ).inserted_primary_key
        assert rejected_interchange is not None
        add_claim(conn, "RJ277", "P1", [("99213", "100")], d(2026, 6, 1), local_10am(d(2026, 6, 2)))
        add_claim(
            conn,
            "RJ999",
            "P2",
            [("99214", "150")],
            d(2026, 6, 10),
            local_10am(d(2026, 6, 11)),
            interchange_id=rejected_interchange[0],
        )
        add_claim(conn, "DN", "P2", [("99215", "300")], d(2026, 5, 10), local_10am(d(2026, 5, 11)))
        add_claim(conn, "SL", "P1", [("99213", "100")], d(2026, 5, 1), local_10am(d(2026, 5, 2)))
        add_claim(conn, "WT", "P1", [("99213", "100")], d(2026, 6, 19), local_10am(d(2026, 6, 20)))
        add_claim(conn, "PD", "P1", [("99213", "100")], d(2026, 6, 1), local_10am(d(2026, 6, 2)))
    ingest_on(
        engine,
        _277ca(5001, d(2026, 5, 12), _ack("DN", "300", d(2026, 5, 10), True), _ack("SL", "100", d(2026, 5, 1), True)),
        "277CA_1.x12",
        d(2026, 5, 12),
    )
    ingest_on(
        engine,
        _277ca(5002, d(2026, 6, 3), _ack("RJ277", "100", d(2026, 6, 1), False), _ack("PD", "100", d(2026, 6, 1), True)),
        "277CA_2.x12",
        d(2026, 6, 3),
    )
    denial = clp(
        "DN",
        "4",
        "300",
        "0",
        services=(svc("99215", "300", "0", d(2026, 5, 10), cas("CO", "50", "300"), remarks=("N115",)),),
    )
    ingest_on(
        engine, write_remittances(6001, remittance("TRACE-DN", d(2026, 6, 10), (denial,))), "835_DN.x12", d(2026, 6, 10)
    )
    ingest_on(
        engine,
        write_999(
            GroupAck("HC", 777, "005010X222A1", (TransactionAck("837", "0001", False, "005010X222A1"),)),
            envelope(5003, "FA", VERSION_999),
        ),
        "999_777.x12",
        d(2026, 6, 12),
    )
    paid = clp("PD", "1", "100", "80", services=(svc("99213", "100", "80", d(2026, 6, 1), cas("CO", "45", "20")),))
    ingest_on(
        engine, write_remittances(6002, remittance("TRACE-PD", d(2026, 6, 20), (paid,))), "835_PD.x12", d(2026, 6, 20)
    )
    ingest_on(
        engine, _277ca(5004, d(2026, 6, 21), _ack("WT", "100", d(2026, 6, 19), True)), "277CA_3.x12", d(2026, 6, 21)
    )


@pytest.fixture
def decided(warehouse: Engine) -> Engine:
    """The warehouse built on a clock stopped at 2026-06-21 15:00 UTC, then decided on 2026-06-30."""
    with running_on(SimulatedClock(datetime(2026, 6, 21, 15, 0, tzinfo=UTC))):
        build(warehouse)
    counts = decide_open_claims(warehouse, POLICIES, TODAY, NOW)
    assert counts == {
        "await_response": 1,
        "correct_rejection": 2,
        "inquire": 1,
        "paid_in_full": 1,
        "work_denial": 1,
    }
    return warehouse


def _actions(engine: Engine) -> dict[str, tuple[str, str, date | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(claim_action.c.claim_key, claim_action.c.action, claim_action.c.kind, claim_action.c.due_on)
        )
        return {r.claim_key: (r.action, r.kind, r.due_on) for r in rows}


def test_a_claim_rejected_at_the_front_end_lands_in_the_rejections_worklist(decided: Engine) -> None:
    # Rejected, never adjudicated, and today's claim row is the rebuild: identical to the rejected version, so
    # the rules refuse to resend it and a person corrects it (correct_rejection). Due: the timely filing limit,
    # first date of service + the payer's days: RJ277 06-01 + 90 = 08-30, RJ999 06-10 + 365 = 2027-06-10.
    actions = _actions(decided)
    assert actions["RJ277"] == ("correct_rejection", "person", date(2026, 8, 30))
    assert actions["RJ999"] == ("correct_rejection", "person", date(2027, 6, 10))
    with decided.connect() as conn:
        work = rejections(conn)
    assert {key for _kind, key in work.keys} == {"RJ277", "RJ999"}
    by_claim = {row[0]: row for row in work.rows}
    assert by_claim["RJ277"][3:5] == ("277CA", "A7:21")
    assert by_claim["RJ999"][3] == "999"


def test_a_denied_claim_lands_in_the_denials_worklist_with_its_appeal_date(decided: Engine) -> None:
    # CLP02 4, $0 paid, CO-50 $300 (a denial, not contractual), no next payer: work_denial until the payment
    # date + P2's 120 appeal days = 2026-06-10 + 120 = 2026-10-08 (20 + 31 + 31 + 30 + 8 days).
    assert _actions(decided)["DN"] == ("work_denial", "person", date(2026, 10, 8))
    with decided.connect() as conn:
        work = denials(conn, TODAY)
    assert [row[0] for row in work.rows] == ["DN"]
    assert work.rows[0][5:7] == ("$300.00", "2026-10-08")


def test_a_claim_past_its_payers_lag_with_no_835_is_silent(decided: Engine) -> None:
    # SL: sent 05-02, 59 days ago, more than the usual lag of 30 days and never inquired: inquire, the answer
    # was due 05-02 + 30 = 06-01. WT: sent 06-20, 10 days ago: await_response, due 07-20, not silent.
    actions = _actions(decided)
    assert actions["SL"] == ("inquire", "pipeline", date(2026, 6, 1))
    assert actions["WT"] == ("await_response", "wait", date(2026, 7, 20))
    with decided.connect() as conn:
        work = silent_claims(conn, TODAY)
    assert [key for _kind, key in work.keys] == ["SL"]


def test_a_paid_claim_is_final_and_on_no_worklist(decided: Engine) -> None:
    # $80 paid, CO-45 $20 is contractual (not denied), no PR: paid_in_full, final.
    assert _actions(decided)["PD"] == ("paid_in_full", "final", None)
    with decided.connect() as conn:
        listed = {key for work in all_worklists(conn, TODAY) for _kind, key in work.keys}
    assert "PD" not in listed
    assert listed >= {"RJ277", "RJ999", "DN", "SL"}


def test_a_final_claim_is_not_decided_again_until_something_happens_to_it(decided: Engine) -> None:
    # The next night PD is final and nothing new arrived for it: it is not read again.
    again = decide_open_claims(decided, POLICIES, date(2026, 7, 1), local_10am(date(2026, 7, 1)))
    assert "paid_in_full" not in again
    assert sum(again.values()) == 5
    # On 07-10 the payer reverses the payment (CLP02 22): PD is read again. Its adjudication no longer stands,
    # so it is back with the payer; sent 06-02, 38 days ago (> 30): inquire.
    reversal = clp(
        "PD", "22", "-100", "-80", services=(svc("99213", "-100", "-80", date(2026, 6, 1), cas("CO", "45", "-20")),)
    )
    with running_on(SimulatedClock(local_10am(date(2026, 7, 10)))):
        ingest_on(
            decided,
            write_remittances(6003, remittance("TRACE-PD2", date(2026, 7, 10), (reversal,))),
            "835_PD2.x12",
            date(2026, 7, 10),
        )
    decide_open_claims(decided, POLICIES, date(2026, 7, 10), local_10am(date(2026, 7, 10)))
    assert _actions(decided)["PD"][0] == Action.INQUIRE.value


def test_open_claims_are_read_decided_and_written_a_chunk_at_a_time(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15 (memory): a million-line night has about half a million open claims; read whole, their snapshots
    # set the night's peak. In chunks of two claims, with the decisions written two at a time, each chunk is
    # read only after the decisions of the chunks before it went in, and the actions are those of the module
    # docstring. Claims in key order: DN PD RJ277 | RJ999 SL WT, so chunks of 2, 2 and 2.
    with running_on(SimulatedClock(datetime(2026, 6, 21, 15, 0, tzinfo=UTC))):
        build(warehouse)
    monkeypatch.setattr(claim_snapshots, "SNAPSHOT_CHUNK_CLAIMS", 2)
    monkeypatch.setattr(actions, "_BATCH", 2)
    read = claim_snapshots._snapshots_of
    written_when_read: list[tuple[list[str], int]] = []

    def spy(conn: Connection, rows: Sequence[Any], *args: Any) -> Any:
        written = conn.execute(select(func.count()).select_from(claim_action)).scalar_one()
        written_when_read.append(([r.claim_key for r in rows], written))
        return read(conn, rows, *args)

    monkeypatch.setattr(claim_snapshots, "_snapshots_of", spy)
    counts = decide_open_claims(warehouse, POLICIES, TODAY, NOW)
    assert written_when_read == [(["DN", "PD"], 0), (["RJ277", "RJ999"], 2), (["SL", "WT"], 4)]
    assert counts == {"await_response": 1, "correct_rejection": 2, "inquire": 1, "paid_in_full": 1, "work_denial": 1}
    assert _actions(warehouse) == {
        "DN": ("work_denial", "person", date(2026, 10, 8)),
        "PD": ("paid_in_full", "final", None),
        "RJ277": ("correct_rejection", "person", date(2026, 8, 30)),
        "RJ999": ("correct_rejection", "person", date(2027, 6, 10)),
        "SL": ("inquire", "pipeline", date(2026, 6, 1)),
        "WT": ("await_response", "wait", date(2026, 7, 20)),
    }
