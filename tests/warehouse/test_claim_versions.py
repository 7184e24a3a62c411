"""Claim versions in the warehouse (SQLite and PostgreSQL): recorded at staging, outcome from the responses.

Three synthetic visits (seed 41, each a claim of its own) are taken in, staged at T0, uploaded at T1; a
277CA then rejects the first claim (A7:21) and accepts the other two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from kpi_data import _277ca, _ack, ingest_on
from sqlalchemy import Engine, select

from connectors.payers import registered_payers
from revcycle.claim_versions import record_submission
from revcycle.intake import record_intake
from revcycle.submission import SenderIdentity, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.claim_snapshots import decide_open_claims
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.schema import claim, claim_action, claim_version, interchange
from revcycle.x12.write837p import Submitter

NIGHT = date(2026, 11, 20)
T0 = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # 21:30 Chicago on the night
T1 = datetime(2026, 11, 21, 3, 40, tzinfo=UTC)
SENDER = SenderIdentity(
    sender_id="REVCYCLE01",
    usage_indicator="T",
    submitter=Submitter(name="REVCYCLE BILLING", id="REVCYCLE01", contact_name="BILLING OFFICE", phone="5555550100"),
)


def _take_in(engine: Engine, rows: list[dict[str, str]], name: str, sha: str) -> None:
    with engine.begin() as conn:
        entry = register_source_file(conn, kind="charges", name=name, sha256=sha, size=1, origin="export")
    record_intake(
        engine, source_file_id=entry.id, rows=rows, rejections=[], payers=registered_payers(), batch_date=NIGHT
    )


def _stage(engine: Engine, outbound: Path, now: datetime) -> None:
    stage_claims(
        engine,
        payers=registered_payers(),
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=NIGHT,
        created=now,
        now=now,
    )


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


def test_staging_records_version_1_of_each_claim_and_its_outcome_follows_the_responses(
    warehouse: Engine, tmp_path: Path
) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=3, seed=41, as_of=NIGHT))
    _take_in(warehouse, rows, "charges_41.csv", "1" * 64)
    _stage(warehouse, tmp_path / "outbound", T0)
    with warehouse.connect() as conn:
        claims = conn.execute(
            select(
                claim.c.claim_key, claim.c.interchange_id, claim.c.total_charge_cents, claim.c.first_service_date
            ).order_by(claim.c.claim_key)
        ).all()
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
