"""Issue 10, "Visit cancelled" (docs/claim-rules.md): a void for a paid claim, a withdrawal for the others.

The EHR cancels a visit by re-sending its charges (same charge ids) with ``visit_status`` ``cancelled``
(docs/charge-export.md). Synthetic visits (seed 41) are taken in and staged; the sandbox payer (instant
timing) answers the 837s. Expected, from X12 005010X222A1 (CLM05-3 ``8`` "void/cancel of prior claim", 2300
REF*F8 "payer claim control number" of the claim voided, a void repeating that claim) and 005010X221A1 (CLP02
22 "reversal of previous payment", CLP07 the payer's claim number):

- a paid claim's cancellation goes out as version 2, frequency 8, REF*F8 = the CLP07 of the 835 that paid
  version 1, its claim loop otherwise the same segments as version 1's; the sandbox answers it with the
  reversal of that payment (CLP02 22, CLP04 = minus the amount paid) and nothing else, and the claim ends
  ``voided`` (status and final action), its postings summing to $0.00;
- a claim built and never staged, and a claim rejected at the front end, end ``withdrawn`` (final) and no
  837 ever carries them again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from intake_records import record_export
from kpi_data import _277ca, _ack, ingest_on
from pyx12_check import pyx12_errors, split_segments
from sandbox_claims import claim_payments
from sqlalchemy import Engine, func, select

from connectors.payers import registered_payers
from revcycle.claim_versions import record_submission
from revcycle.claims import claim_key_for
from revcycle.intake import ClaimCheck, IntakeResult
from revcycle.sandbox.payer import SandboxConfig, SandboxPayer
from revcycle.submission import SenderIdentity, StagingResult, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.claim_snapshots import decide_open_claims
from revcycle.warehouse.schema import (
    charge,
    claim,
    claim_action,
    claim_hold,
    claim_version,
    interchange,
    remittance_claim,
)
from revcycle.x12.write837p import Submitter

NIGHT = date(2026, 11, 20)
T0 = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # 21:30 Chicago on the night
T1 = datetime(2026, 11, 21, 3, 40, tzinfo=UTC)
T2 = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)  # the next night
T3 = datetime(2026, 11, 22, 3, 40, tzinfo=UTC)
SENDER = SenderIdentity(
    sender_id="REVCYCLE01",
    usage_indicator="T",
    submitter=Submitter(name="REVCYCLE BILLING", id="REVCYCLE01", contact_name="BILLING OFFICE", phone="5555550100"),
)


def _rows(encounters: int) -> list[dict[str, str]]:
    payers = list(registered_payers().values())
    return list(generate_charge_rows(payers, encounters=encounters, seed=41, as_of=NIGHT))


def _key(row: dict[str, str]) -> str:
    return claim_key_for(row["encounter_id"], row["payer_id"], row["billing_npi"])


def _take_in(engine: Engine, rows: list[dict[str, str]], name: str, check: ClaimCheck | None = None) -> IntakeResult:
    return record_export(engine, rows, batch_date=NIGHT, name=name, claim_check=check)


def _cancel(rows: list[dict[str, str]], key: str) -> list[dict[str, str]]:
    """The EHR's cancellation of the visit of claim ``key``: its rows again, ``visit_status`` cancelled."""
    return [dict(r) | {"visit_status": "cancelled"} for r in rows if _key(r) == key]


def _stage(engine: Engine, outbound: Path, now: datetime) -> StagingResult:
    return stage_claims(
        engine,
        payers=registered_payers(),
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=NIGHT,
        created=now,
        now=now,
    )


def _upload(engine: Engine, outbound: Path, staged: StagingResult, now: datetime) -> list[bytes]:
    """Record the upload of the interchanges staged; their bytes."""
    sent = []
    with engine.begin() as conn:
        for record in staged.interchanges:
            record_submission(conn, record.id, record.file_name, now)
            sent.append((outbound / record.file_name).read_bytes())
    return sent


def _answer(engine: Engine, payer: SandboxPayer, sent: list[bytes], now: datetime, day: date) -> list[bytes]:
    """The sandbox's answers to ``sent`` loaded into the warehouse as received on ``day``; the 835s."""
    remits = []
    for data in sent:
        for answer in payer.receive(data, now):
            ingest_on(engine, answer.content, answer.name, day)
            if answer.name.startswith("835") or b"ST*835*" in answer.content:
                remits.append(answer.content)
    return remits


def _claim_loop(data: bytes, key: str) -> list[list[str]]:
    """The segments of claim ``key`` in an 837 (its CLM up to the next HL or the trailer)."""
    found: list[list[str]] = []
    inside = False
    for fields in split_segments(data):
        if fields[0] in ("HL", "SE", "CLM"):
            inside = fields[0] == "CLM" and fields[1] == key
        if inside:
            found.append(fields)
    return found


def _keys_in(data: bytes) -> list[str]:
    return [fields[1] for fields in split_segments(data) if fields[0] == "CLM"]


def _action(engine: Engine, key: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(claim_action).where(claim_action.c.claim_key == key)).one()


def test_a_paid_claims_cancellation_goes_out_as_a_void_the_sandbox_reverses_it_and_the_claim_ends_voided(
    warehouse: Engine, tmp_path: Path
) -> None:
    outbound = tmp_path / "outbound"
    sandbox = SandboxPayer(SandboxConfig(seed_salt="cancelled visits"))
    rows = _rows(4)
    _take_in(warehouse, rows, "charges_41.csv")
    first = _upload(warehouse, outbound, _stage(warehouse, outbound, T0), T1)
    remits = _answer(warehouse, sandbox, first, T1, date(2026, 11, 21))
    payments = {p.patient_control_number: p for data in remits for p in claim_payments(data)}
    voids_taken = {p.payer_id for p in registered_payers().values() if p.accepts_void}
    paid = sorted(k for k, p in payments.items() if p.paid > 0 and any(_key(r) == k for r in rows))
    key = next(k for k in paid if next(r for r in rows if _key(r) == k)["payer_id"] in voids_taken)
    number = payments[key].payer_claim_number
    version_1 = next(data for data in first if key in _keys_in(data))

    intake = _take_in(warehouse, _cancel(rows, key), "charges_41_cancelled.csv")
    assert (intake.revised_claims, intake.claim_keys) == ([key], [])
    with warehouse.connect() as conn:
        statuses = set(conn.execute(select(charge.c.status).where(charge.c.claim_key == key)).scalars())
    assert statuses == {"cancelled"}

    night_2 = _stage(warehouse, outbound, T2)
    assert night_2.resent == [key]
    (void,) = _upload(warehouse, outbound, night_2, T3)
    assert pyx12_errors(void) == []
    assert _keys_in(void) == [key]
    old, new = _claim_loop(version_1, key), _claim_loop(void, key)
    # CLM05 = place of service : B : 8 (void); REF*F8 = the CLP07 that paid version 1 (X12 837P 2300)
    place = next(r for r in rows if _key(r) == key)["place_of_service"]
    assert new[0][5] == f"{place}:B:8" and old[0][5] == f"{place}:B:1"
    assert ["REF", "F8", number] in new and not any(s[:2] == ["REF", "F8"] for s in old)
    # otherwise the very claim it voids: the same total, the same lines and dates
    assert [s for s in new if s[:2] != ["REF", "F8"]][1:] == old[1:]
    assert new[0][:5] == old[0][:5] and new[0][6:] == old[0][6:]

    reversal = _answer(warehouse, sandbox, [void], T3, date(2026, 11, 22))
    answered = [p for data in reversal for p in claim_payments(data) if p.patient_control_number == key]
    # the reversal of version 1's payment (CLP02 22, CLP04 negated, the same CLP07) and no new payment
    assert [(p.status, p.paid, p.payer_claim_number) for p in answered] == [("22", -payments[key].paid, number)]

    decide_open_claims(warehouse, registered_payers().values(), date(2026, 11, 22), T3)
    with warehouse.connect() as conn:
        status = conn.execute(select(claim.c.status).where(claim.c.claim_key == key)).scalar_one()
        net = conn.execute(
            select(func.sum(remittance_claim.c.paid_cents)).where(remittance_claim.c.claim_key == key)
        ).scalar_one()
        versions = conn.execute(
            select(claim_version.c.version, claim_version.c.frequency_code, claim_version.c.replaces_payer_claim_number)
            .where(claim_version.c.claim_key == key)
            .order_by(claim_version.c.version)
        ).all()
    assert status == "voided"
    assert net == 0  # paid, then reversed: netted to $0.00
    assert [tuple(v) for v in versions] == [(1, "1", None), (2, "8", number)]
    action = _action(warehouse, key)
    assert (action.action, action.kind) == ("voided", "final")


def test_cancelled_claims_never_adjudicated_are_withdrawn_and_never_sent(warehouse: Engine, tmp_path: Path) -> None:
    outbound = tmp_path / "outbound"
    rows = _rows(3)
    keys = sorted({_key(r) for r in rows})
    unstaged, rejected, kept = keys
    _take_in(warehouse, rows, "charges_41.csv")
    # cancelled after it was built, before the night's staging: it must not go out
    _take_in(warehouse, _cancel(rows, unstaged), "charges_41_cancel_1.csv")
    first = _upload(warehouse, outbound, _stage(warehouse, outbound, T0), T1)
    assert sorted(k for data in first for k in _keys_in(data)) == [rejected, kept]
    with warehouse.connect() as conn:
        totals = dict(conn.execute(select(claim.c.claim_key, claim.c.total_charge_cents)).tuples().all())
        served = dict(conn.execute(select(claim.c.claim_key, claim.c.first_service_date)).tuples().all())
    acks = tuple(_ack(k, f"{totals[k] / 100:.2f}", k == kept, served[k]) for k in (rejected, kept))
    ingest_on(warehouse, _277ca(9201, acks), "277CA_9201.x12", date(2026, 11, 21))

    # the rejected claim's visit is cancelled: it is not resent (a rebuild would have been refused anyway)
    _take_in(warehouse, _cancel(rows, rejected), "charges_41_cancel_2.csv")
    night_2 = _stage(warehouse, outbound, T2)
    assert (night_2.resent, night_2.interchanges) == ([], [])

    decide_open_claims(warehouse, registered_payers().values(), date(2026, 11, 22), T2)
    for key in (unstaged, rejected):
        action = _action(warehouse, key)
        assert (action.action, action.kind) == ("withdrawn", "final"), key
    assert _action(warehouse, kept).action == "await_response"
    with warehouse.connect() as conn:
        versions = conn.execute(select(claim_version.c.claim_key, claim_version.c.frequency_code)).all()
        count = conn.execute(select(func.count()).select_from(interchange)).scalar_one()
    assert sorted(tuple(v) for v in versions) == sorted([(kept, "1"), (rejected, "1")])  # none new, none of it
    assert count == len(first)


def test_a_held_visit_cancelled_releases_its_hold_and_never_builds(warehouse: Engine, tmp_path: Path) -> None:
    rows = _rows(2)
    held, kept = sorted({_key(r) for r in rows})
    planted = _take_in(warehouse, rows, "charges_41.csv", check=lambda claims: {held: [f"claim {held}: planted"]})
    assert (planted.held_claims, planted.claim_keys) == ([held], [kept])

    # the cancellation of the held visit: nothing waits on a correction any more, and no claim is built
    again = _take_in(warehouse, _cancel(rows, held), "charges_41_cancel.csv")
    assert (again.claim_keys, again.held_claims) == ([], [])
    outbound = tmp_path / "outbound"
    staged = _stage(warehouse, outbound, T0)
    assert [k for r in staged.interchanges for k in _keys_in((outbound / r.file_name).read_bytes())] == [kept]
    with warehouse.connect() as conn:
        holds = conn.execute(select(claim_hold.c.claim_key, claim_hold.c.released_at)).all()
        claims = set(conn.execute(select(claim.c.claim_key)).scalars())
        statuses = set(
            conn.execute(
                select(charge.c.status).where(
                    charge.c.encounter_id.in_([r["encounter_id"] for r in rows if _key(r) == held])
                )
            ).scalars()
        )
    assert [(k, released is not None) for k, released in holds] == [(held, True)]
    assert claims == {kept} and statuses == {"cancelled"}
