"""Reruns converge: the same export sends nothing new and posts nothing twice; a new export sends only its claims."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pipeline import pipeline_world
from sqlalchemy import func, select

from revcycle.warehouse.db import create_warehouse_engine
from revcycle.warehouse.schema import (
    claim,
    claim_event,
    interchange,
    remittance,
    remittance_claim,
    source_file,
)

pytestmark = pytest.mark.e2e
AS_OF = date(2026, 11, 20)


def _encounters(export: Path) -> int:
    # Counted from the export itself: one claim per (encounter, payer, billing NPI), here one per encounter.
    import csv

    with export.open() as handle:
        return len({row["encounter_id"] for row in csv.DictReader(handle)})


def _counts(workdir: Path) -> dict[str, int]:
    engine = create_warehouse_engine(f"sqlite:///{workdir / 'warehouse.db'}")
    with engine.connect() as conn:
        counts = {
            "claims": conn.execute(select(func.count()).select_from(claim)).scalar_one(),
            "interchanges": conn.execute(select(func.count()).select_from(interchange)).scalar_one(),
            "remittances": conn.execute(select(func.count()).select_from(remittance)).scalar_one(),
            "remittance_claims": conn.execute(select(func.count()).select_from(remittance_claim)).scalar_one(),
            "events": conn.execute(select(func.count()).select_from(claim_event)).scalar_one(),
            "files": conn.execute(select(func.count()).select_from(source_file)).scalar_one(),
            "paid_cents": conn.execute(select(func.coalesce(func.sum(remittance_claim.c.paid_cents), 0))).scalar_one(),
        }
    engine.dispose()
    return counts


def test_rerun_sends_nothing_new_and_a_new_export_sends_exactly_its_claims(prefect_api: None, tmp_path: Path) -> None:
    with pipeline_world(tmp_path / "work") as world:
        first_export = world.write_export(seed=101, encounters=30, as_of=AS_OF)
        first_claims = _encounters(first_export)

        world.run_nightly(AS_OF)
        after_first = _counts(world.workdir)
        uploads_first = world.uploaded_files
        assert after_first["claims"] == first_claims
        assert world.clearinghouse.received == uploads_first  # each interchange reached the server once
        assert len(uploads_first) == after_first["interchanges"]
        assert after_first["remittance_claims"] > 0

        world.run_nightly(AS_OF)
        after_rerun = _counts(world.workdir)
        assert after_rerun == after_first, "a rerun over the same export must change nothing"
        assert world.uploaded_files == uploads_first
        assert world.clearinghouse.received == uploads_first

        second_export = world.write_export(seed=102, encounters=12, as_of=AS_OF)
        second_claims = _encounters(second_export)
        world.run_nightly(AS_OF)
        after_second = _counts(world.workdir)
        assert after_second["claims"] == first_claims + second_claims
        new_uploads = sorted(set(world.uploaded_files) - set(uploads_first))
        assert world.clearinghouse.received == uploads_first + new_uploads
        engine = create_warehouse_engine(f"sqlite:///{world.workdir / 'warehouse.db'}")
        with engine.connect() as conn:
            new_interchange_claims = conn.execute(
                select(func.count())
                .select_from(claim.join(interchange, claim.c.interchange_id == interchange.c.id))
                .where(interchange.c.file_name.in_(new_uploads))
            ).scalar_one()
            old_claims_resent = conn.execute(
                select(func.count())
                .select_from(claim_event)
                .where(claim_event.c.status == "submitted")
                .group_by(claim_event.c.claim_key)
                .having(func.count() > 1)
            ).all()
        engine.dispose()
        assert new_interchange_claims == second_claims
        assert old_claims_resent == []
        assert after_second["remittances"] > after_first["remittances"]
