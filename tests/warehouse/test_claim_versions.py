"""Claim versions in the warehouse (SQLite and PostgreSQL): recorded at staging, outcome from the responses.

Three synthetic visits (seed 41, each a claim of its own) are taken in, staged at T0, uploaded at T1; a
277CA then rejects the first claim (A7:21) and accepts the other two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from intake_records import record_export
from kpi_data import _277ca, _ack, ingest_on
from pyx12_check import pyx12_errors, split_segments
from sqlalchemy import Engine, select
from warehouse_data import clp, remittance, svc, write_remittances

from connectors.payers import registered_payers
from revcycle.claim_versions import record_submission
from revcycle.claims import claim_key_for
from revcycle.intake import IntakeResult
from revcycle.submission import SenderIdentity, StagingResult, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.claim_snapshots import decide_open_claims
from revcycle.warehouse.kpi import claims as kpi_claims
from revcycle.warehouse.schema import charge, charge_revision, claim, claim_action, claim_version, interchange
from revcycle.x12.write837p import Submitter

NIGHT = date(2026, 11, 20)
T0 = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # 21:30 Chicago on the night
T1 = datetime(2026, 11, 21, 3, 40, tzinfo=UTC)
T2 = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)  # the next night
T3 = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
SENDER = SenderIdentity(
    sender_id="REVCYCLE01",
    usage_indicator="T",
    submitter=Submitter(name="REVCYCLE BILLING", id="REVCYCLE01", contact_name="BILLING OFFICE", phone="5555550100"),
)


def _take_in(engine: Engine, rows: list[dict[str, str]], name: str, sha: str) -> IntakeResult:
    return record_export(engine, rows, batch_date=NIGHT, name=name, sha256=sha)


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


def _key(row: dict[str, str]) -> str:
    return claim_key_for(row["encounter_id"], row["payer_id"], row["billing_npi"])


def _versions(engine: Engine) -> list[tuple[str, int, str, str | None, int, str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                claim_version.c.claim_key,
                claim_version.c.version,
                claim_version.c.frequency_code,
                claim_version.c.content_digest,
                claim_version.c.interchange_id,
                claim_version.c.replaces_payer_claim_number,
                claim_version.c.outcome,
            ).order_by(claim_version.c.claim_key, claim_version.c.version)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _night_1(engine: Engine, outbound: Path, *, submit: bool = True) -> tuple[list[dict[str, str]], list[Any]]:
    """The three visits taken in and staged at T0 (and uploaded at T1): their rows and claims, by key."""
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=3, seed=41, as_of=NIGHT))
    _take_in(engine, rows, "charges_41.csv", "1" * 64)
    _stage(engine, outbound, T0)
    columns = (claim.c.claim_key, claim.c.payer_id, claim.c.interchange_id, claim.c.total_charge_cents)
    with engine.begin() as conn:
        claims = list(conn.execute(select(*columns, claim.c.first_service_date).order_by(claim.c.claim_key)))
        for interchange_id in sorted({c.interchange_id for c in claims} if submit else ()):
            record_submission(conn, interchange_id, f"837P_{interchange_id}.x12", T1)
    return rows, claims


def test_staging_records_version_1_of_each_claim_and_its_outcome_follows_the_responses(
    warehouse: Engine, tmp_path: Path
) -> None:
    _rows, claims = _night_1(warehouse, tmp_path / "outbound", submit=False)
    with warehouse.connect() as conn:
        created = set(conn.execute(select(claim_version.c.created_at)).scalars())
    assert len(claims) == 3
    # one version per claim: number 1, an original, in the claim's interchange, staged, with no REF*F8
    staged = _versions(warehouse)
    assert [(k, n, f, i, r, o) for k, n, f, _d, i, r, o in staged] == [
        (c.claim_key, 1, "1", c.interchange_id, None, "staged") for c in claims
    ]
    assert all(d is not None and len(d) == 64 for *_, d, _i, _r, _o in staged)
    assert {c.replace(tzinfo=UTC) if c.tzinfo is None else c for c in created} == {T0}  # the run's clock

    interchanges = {c.interchange_id for c in claims}
    with warehouse.begin() as conn:
        for interchange_id in sorted(interchanges):
            name = conn.execute(select(interchange.c.file_name).where(interchange.c.id == interchange_id)).scalar_one()
            record_submission(conn, interchange_id, name, T1)
    assert {o for *_, o in _versions(warehouse)} == {"uploaded"}

    rejected, *accepted = claims
    acks = tuple(
        _ack(c.claim_key, f"{c.total_charge_cents / 100:.2f}", c is not rejected, c.first_service_date) for c in claims
    )
    ingest_on(warehouse, _277ca(9101, acks), "277CA_9101.x12", date(2026, 11, 21))
    assert [(k, n, o) for k, n, *_, o in _versions(warehouse)] == [
        (c.claim_key, 1, "rejected" if c is rejected else "accepted") for c in claims
    ]

    # The rules read the versions: the rejected claim, rebuilt from unchanged charges, is refused.
    decide_open_claims(warehouse, registered_payers().values(), date(2026, 11, 21), T1)
    with warehouse.connect() as conn:
        actions = dict(conn.execute(select(claim_action.c.claim_key, claim_action.c.action)).all())
    assert actions[rejected.claim_key] == "correct_rejection"
    assert {actions[c.claim_key] for c in accepted} == {"await_response"}


def _clm(data: bytes) -> dict[str, list[str]]:
    """CLM01 -> the CLM elements and whether the claim carries a REF*F8, from an 837 as written."""
    found: dict[str, list[str]] = {}
    current = ""
    for fields in split_segments(data):
        if fields[0] == "CLM":
            current = fields[1]
            found[current] = fields
        elif fields[0] == "REF" and fields[1] == "F8" and current:
            found[current].append("REF*F8")
    return found


def test_a_corrected_export_resends_a_rejected_claim_as_an_original_and_an_identical_rebuild_is_refused(
    warehouse: Engine, tmp_path: Path
) -> None:
    rows, claims = _night_1(warehouse, tmp_path / "outbound")
    corrected, identical, accepted = claims
    acks = tuple(
        _ack(c.claim_key, f"{c.total_charge_cents / 100:.2f}", c is accepted, c.first_service_date) for c in claims
    )
    ingest_on(warehouse, _277ca(9102, acks), "277CA_9102.x12", date(2026, 11, 21))

    # Night 2: the EHR re-sends every line; the corrected claim's first line (by charge id) costs 10.00 more.
    line = min((r for r in rows if _key(r) == corrected.claim_key), key=lambda r: r["charge_id"])
    resent = [dict(r) for r in rows]
    for r in resent:
        if r["charge_id"] == line["charge_id"]:
            r["charge_amount"] = f"{Decimal(r['charge_amount']) + 10:.2f}"
    intake = _take_in(warehouse, resent, "charges_41_corrected.csv", "2" * 64)
    assert (intake.revised_charges, intake.revised_claims, intake.claim_keys) == (1, [corrected.claim_key], [])
    with warehouse.connect() as conn:
        revisions = conn.execute(
            select(charge_revision.c.charge_id, charge_revision.c.claim_key, charge_revision.c.changed_columns)
        ).all()
        cents = conn.execute(select(charge.c.charge_cents).where(charge.c.charge_id == line["charge_id"])).scalar_one()
    assert [tuple(r) for r in revisions] == [(line["charge_id"], corrected.claim_key, "charge_amount")]
    assert cents == int(Decimal(line["charge_amount"]) * 100) + 1000

    result = _stage(warehouse, tmp_path / "outbound", T2)
    assert result.resent == [corrected.claim_key]
    (sent,) = result.interchanges
    written = (tmp_path / "outbound" / sent.file_name).read_bytes()
    assert pyx12_errors(written) == []
    clm = _clm(written)
    assert list(clm) == [corrected.claim_key]  # the identical rebuild is not sent
    # CLM01 the same key, CLM02 the old total + 10.00, CLM05 11:B:1 (an original), no REF*F8
    expected_total = Decimal(corrected.total_charge_cents + 1000) / 100
    assert Decimal(clm[corrected.claim_key][2]) == expected_total
    assert clm[corrected.claim_key][5] == "11:B:1" and "REF*F8" not in clm[corrected.claim_key]

    versions = {(k, n): (f, d, i, o) for k, n, f, d, i, _r, o in _versions(warehouse)}
    assert sorted(versions) == sorted(
        [(corrected.claim_key, 1), (corrected.claim_key, 2), (identical.claim_key, 1), (accepted.claim_key, 1)]
    )
    first, second = versions[(corrected.claim_key, 1)], versions[(corrected.claim_key, 2)]
    assert (first[0], first[3], second[0], second[2], second[3]) == ("1", "rejected", "1", sent.id, "staged")
    assert first[1] != second[1]  # a new content digest
    assert versions[(identical.claim_key, 1)][3] == "rejected"

    decide_open_claims(warehouse, registered_payers().values(), date(2026, 11, 21), T2)
    with warehouse.connect() as conn:
        actions = {r.claim_key: r for r in conn.execute(select(claim_action))}
    assert actions[identical.claim_key].action == "correct_rejection"
    assert "identical to a rejected version" in actions[identical.claim_key].reason
    assert actions[corrected.claim_key].action == "upload"

    # Version 2 goes out and the 277CA accepts it: the first-pass figures still count version 1 only
    # (docs/kpis.md: the first submission's 999/277CA answer), so the corrected claim stays a first-pass
    # rejection and not clean; its status is version 2's (accepted: awaiting adjudication).
    with warehouse.begin() as conn:
        record_submission(conn, sent.id, sent.file_name, T2)
    again = (_ack(corrected.claim_key, f"{expected_total:.2f}", True, corrected.first_service_date),)
    ingest_on(warehouse, _277ca(9105, again), "277CA_9105.x12", date(2026, 11, 22))
    with warehouse.connect() as conn:
        first = kpi_claims.first_pass(conn)
        clean = kpi_claims.clean_claims(conn)
        status = conn.execute(select(claim.c.status).where(claim.c.claim_key == corrected.claim_key)).scalar_one()
    # 3 claims first submitted: 1 accepted (``accepted``), 2 rejected (``corrected``, ``identical``)
    assert (first.submitted, first.accepted, first.rejected) == (3, 1, 2)
    assert (clean.clean, clean.rejected) == (1, 2)
    assert status == "accepted"


def test_a_claim_changed_while_in_process_waits_then_goes_out_as_a_replacement_with_ref_f8(
    warehouse: Engine, tmp_path: Path
) -> None:
    rows, every = _night_1(warehouse, tmp_path / "outbound")
    claims = [c for c in every if c.payer_id != "MCRPB"]  # Medicare Part B takes no replacements
    changed = claims[0]
    acks = tuple(_ack(c.claim_key, f"{c.total_charge_cents / 100:.2f}", True, c.first_service_date) for c in claims)
    ingest_on(warehouse, _277ca(9103, acks), "277CA_9103.x12", date(2026, 11, 21))

    # Night 2: its first line costs 5.00 more while the payer still has the claim: nothing goes out.
    line = min((r for r in rows if _key(r) == changed.claim_key), key=lambda r: r["charge_id"])
    resent = [
        dict(r) | ({"charge_amount": f"{Decimal(r['charge_amount']) + 5:.2f}"} if r is line else {}) for r in rows
    ]
    assert _take_in(warehouse, resent, "charges_41_corrected.csv", "2" * 64).revised_claims == [changed.claim_key]
    night_2 = _stage(warehouse, tmp_path / "outbound", T2)
    assert (night_2.resent, night_2.interchanges) == ([], [])
    decide_open_claims(warehouse, registered_payers().values(), date(2026, 11, 21), T2)
    with warehouse.connect() as conn:
        action = conn.execute(
            select(claim_action.c.action).where(claim_action.c.claim_key == changed.claim_key)
        ).scalar_one()
    assert action == "await_adjudication"

    # The 835 pays version 1 in full (CLP07 PCN<key>); the next staging replaces it.
    total = f"{changed.total_charge_cents / 100:.2f}"
    payment = clp(
        changed.claim_key, "1", total, total, services=(svc("99213", total, total, changed.first_service_date),)
    )
    ingest_on(
        warehouse,
        write_remittances(9104, remittance("TRACE-R", date(2026, 11, 22), (payment,))),
        "835.x12",
        date(2026, 11, 22),
    )
    night_3 = _stage(warehouse, tmp_path / "outbound", T3)
    assert night_3.resent == [changed.claim_key]
    (sent,) = night_3.interchanges
    written = (tmp_path / "outbound" / sent.file_name).read_bytes()
    assert pyx12_errors(written) == []
    clm = _clm(written)
    # CLM01 the same key, CLM02 = version 1's total + 5.00, CLM05 11:B:7, REF*F8 = the 835's CLP07
    assert list(clm) == [changed.claim_key]
    assert Decimal(clm[changed.claim_key][2]) == Decimal(changed.total_charge_cents + 500) / 100
    assert clm[changed.claim_key][5] == "11:B:7" and "REF*F8" in clm[changed.claim_key]
    assert f"REF*F8*PCN{changed.claim_key}~" in written.decode()
    versions = [v for v in _versions(warehouse) if v[0] == changed.claim_key]
    assert [(n, f, i, r, o) for _k, n, f, _d, i, r, o in versions] == [
        (1, "1", versions[0][4], None, "adjudicated"),
        (2, "7", sent.id, f"PCN{changed.claim_key}", "staged"),
    ]
