"""Claim versions over two real nightly runs (issue 10): a corrected export resends a rejected claim.

Night 1 takes in 20 synthetic visits (seed 602); the sandbox clearinghouse (instant timing, the payer
simulator's seeded front end) rejects some claims in its 277CA: seed 602 rolls two, A and B. Night 2's
export re-sends the lines of both: A's first line (by charge id) costs 10.00 more, B's lines are unchanged.

Expected (docs/claim-rules.md, "rejected at the front end"):
- night 2's intake records one revised line (``charge_revision``) and builds no new claim;
- night 2's 837 holds A only: CLM01 = A's key (stable), CLM02 = A's night-1 total + 10.00, CLM05 = 11:B:1
  (an original, not a replacement), no REF*F8; B, rebuilt identical, is not sent;
- ``claim_version``: A version 1 (frequency 1, rejected) and version 2 (frequency 1, in night 2's
  interchange, a different digest, its outcome what the sandbox answered); B one version, rejected;
- B's next action is ``correct_rejection`` (a person), with the reason.
Every 837 the clearinghouse received passes pyx12.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pipeline import PipelineWorld, pipeline_world
from pyx12_check import pyx12_errors, split_segments

from connectors.payers import registered_payers
from revcycle.claims import claim_key_for
from revcycle.synth import generate_charge_rows, write_charge_export

pytestmark = pytest.mark.e2e
NIGHT_1 = date(2026, 11, 20)
NIGHT_2 = NIGHT_1 + timedelta(days=1)


def _query(world: PipelineWorld, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(world.workdir / "warehouse.db") as db:
        return db.execute(sql, args).fetchall()


def _key(row: dict[str, str]) -> str:
    return claim_key_for(row["encounter_id"], row["payer_id"], row["billing_npi"])


def _claims(data: bytes) -> dict[str, list[list[str]]]:
    """CLM01 -> the segments of that claim (CLM up to the next CLM or the trailer), as received."""
    found: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for fields in split_segments(data):
        if fields[0] == "CLM":
            current = found.setdefault(fields[1], [])
        elif fields[0] in ("HL", "SE"):
            current = None if fields[0] == "SE" else current
        if current is not None:
            current.append(fields)
    return found


def _received(world: PipelineWorld) -> dict[str, bytes]:
    folder = world.clearinghouse.root / world.clearinghouse.upload_dir
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _sandbox_outcome(world: PipelineWorld, key: str, after: set[str]) -> str:
    """What the sandbox answered about ``key`` in the response files not in ``after``, read from the files."""
    archive = world.clearinghouse.root / world.clearinghouse.archive_dir
    answer = "uploaded"
    for path in sorted(p for p in archive.iterdir() if p.name not in after):
        claim = None
        for fields in split_segments(path.read_bytes()):
            if fields[0] == "TRN" and fields[1] == "2":
                claim = fields[2]
            elif fields[0] == "STC" and claim == key:
                answer = "rejected" if fields[1].startswith("A7") else max(answer, "accepted")
            elif fields[0] == "CLP" and fields[1] == key:
                return "adjudicated"
    return answer


def test_a_corrected_export_resends_the_rejected_claim_as_an_original_and_refuses_an_identical_one(
    prefect_api: None, tmp_path: Path
) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=20, seed=602, as_of=NIGHT_1))
    with pipeline_world(tmp_path / "world") as world:
        write_charge_export(rows, world.export_dir / "charges_602.csv")
        first = world.run_nightly(NIGHT_1)
        assert first["run"]["claims built"] == 20
        rejected = [k for (k,) in _query(world, "SELECT claim_key FROM claim WHERE status = 'rejected' ORDER BY 1")]
        assert len(rejected) >= 2, "seed 602 rolls two front-end rejections"
        a_key, b_key = rejected[:2]
        (a_total,) = _query(world, "SELECT total_charge_cents FROM claim WHERE claim_key = ?", a_key)[0]
        night_1_files = set(_received(world))
        night_1_answers = {p.name for p in (world.clearinghouse.root / world.clearinghouse.archive_dir).iterdir()}

        line = min((r for r in rows if _key(r) == a_key), key=lambda r: r["charge_id"])
        corrected = [dict(r) for r in rows if _key(r) in (a_key, b_key)]
        for r in corrected:
            if r["charge_id"] == line["charge_id"]:
                r["charge_amount"] = f"{Decimal(r['charge_amount']) + 10:.2f}"
        write_charge_export(corrected, world.export_dir / "charges_602_corrected.csv")
        second = world.run_nightly(NIGHT_2)
        assert (second["run"]["revised lines"], second["run"]["claims built"]) == (1, 0)

        received = _received(world)
        for name, data in received.items():
            assert pyx12_errors(data) == [], name
        night_2 = {name: data for name, data in received.items() if name not in night_1_files}
        claims = {key: segs for data in night_2.values() for key, segs in _claims(data).items()}
        assert list(claims) == [a_key]  # B, rebuilt identical, is not sent
        clm = claims[a_key][0]
        assert Decimal(clm[2]) == Decimal(a_total + 1000) / 100
        assert clm[5] == "11:B:1"
        assert not [s for s in claims[a_key] if s[:2] == ["REF", "F8"]]
        (night_2_interchange,) = _query(world, "SELECT id FROM interchange WHERE file_name = ?", next(iter(night_2)))[0]

        versions = _query(
            world,
            "SELECT claim_key, version, frequency_code, content_digest, interchange_id, "
            "replaces_payer_claim_number, outcome FROM claim_version WHERE claim_key IN (?, ?) "
            "ORDER BY claim_key, version",
            a_key,
            b_key,
        )
        a_versions = [v for v in versions if v[0] == a_key]
        b_versions = [v for v in versions if v[0] == b_key]
        assert [(v[1], v[2], v[5]) for v in a_versions] == [(1, "1", None), (2, "1", None)]
        assert a_versions[0][6] == "rejected" and a_versions[0][3] != a_versions[1][3]
        assert a_versions[1][4] == night_2_interchange
        assert a_versions[1][6] == _sandbox_outcome(world, a_key, night_1_answers)
        assert [(v[1], v[2], v[6]) for v in b_versions] == [(1, "1", "rejected")]

        ((action, kind, reason),) = _query(
            world, "SELECT action, kind, reason FROM claim_action WHERE claim_key = ?", b_key
        )
        assert (action, kind) == ("correct_rejection", "person")
        assert "identical to a rejected version" in reason
        revised = _query(world, "SELECT charge_id, claim_key, changed_columns FROM charge_revision")
        assert revised == [(line["charge_id"], a_key, "charge_amount")]
