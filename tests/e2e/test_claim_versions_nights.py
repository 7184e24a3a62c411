"""Claim versions over two real nightly runs (issue 10): corrected and late charges go back out.

Night 1 takes in 20 synthetic visits (seed 602); the sandbox clearinghouse (instant timing, the payer
simulator's seeded front end) rejects some claims in its 277CA (seed 602 rolls two, A and B) and adjudicates
the others the same night. Night 2's export re-sends:
- A's lines, its first line (by charge id) costing 10.00 more; B's lines unchanged;
- C (the first adjudicated claim of a payer that takes replacements): its first line costing 5.00 more;
- D (the next such claim): a late charge, a new line 36415 of 15.00 on its visit;
- E (the first adjudicated Medicare Part B claim, whose payer file takes no 7): its first line 5.00 more.

Expected (docs/claim-rules.md, "rejected at the front end"):
- night 2's intake records one revised line (``charge_revision``) and builds no new claim;
- night 2's 837 holds A only: CLM01 = A's key (stable), CLM02 = A's night-1 total + 10.00, CLM05 = 11:B:1
  (an original, not a replacement), no REF*F8; B, rebuilt identical, is not sent;
- ``claim_version``: A version 1 (frequency 1, rejected) and version 2 (frequency 1, in night 2's
  interchange, a different digest, its outcome what the sandbox answered); B one version, rejected;
- B's next action is ``correct_rejection`` (a person), with the reason.
- C and D go out as replacements: CLM05 11:B:7 and REF*F8 = the CLP07 of their night-1 835 payment; C's
  CLM02 = its night-1 total + 5.00, D's = its night-1 total + 15.00 with one more service line; their version
  2 has frequency 7 and names that payer claim number;
- E is not sent: its next action is ``request_reopening`` (a person).
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


def _payer_claim_numbers(world: PipelineWorld, names: set[str]) -> dict[str, str]:
    """CLP01 -> CLP07 of the payments (CLP02 1, 2, 3 or 4) in the response files ``names``, read from the files."""
    archive = world.clearinghouse.root / world.clearinghouse.archive_dir
    found = {}
    for path in sorted(p for p in archive.iterdir() if p.name in names):
        for fields in split_segments(path.read_bytes()):
            if fields[0] == "CLP" and fields[2] in ("1", "2", "3", "4"):
                found[fields[1]] = fields[7]
    return found


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


def test_corrected_and_late_charges_go_back_out_as_a_resent_original_or_a_replacement_with_ref_f8(
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

        adjudicated = _query(
            world,
            "SELECT claim_key, payer_id, total_charge_cents, line_count FROM claim "
            "WHERE status IN ('paid', 'partially_paid', 'denied') ORDER BY claim_key",
        )
        replaceable = [c for c in adjudicated if c[1] != "MCRPB"]
        (c_key, _, c_total, _), (d_key, _, d_total, d_lines) = replaceable[:2]
        e_key = next(c[0] for c in adjudicated if c[1] == "MCRPB")
        numbers = _payer_claim_numbers(world, night_1_answers)

        def first_line(key: str) -> dict[str, str]:
            return min((r for r in rows if _key(r) == key), key=lambda r: r["charge_id"])

        line = first_line(a_key)
        raised = {line["charge_id"]: 10, first_line(c_key)["charge_id"]: 5, first_line(e_key)["charge_id"]: 5}
        corrected = [dict(r) for r in rows if _key(r) in (a_key, b_key, c_key, e_key)]
        for r in corrected:
            if r["charge_id"] in raised:
                r["charge_amount"] = f"{Decimal(r['charge_amount']) + raised[r['charge_id']]:.2f}"
        late = dict(first_line(d_key)) | {"procedure_code": "36415", "charge_amount": "15.00", "units": "1"}
        late |= {"charge_id": late["charge_id"] + "L", "modifier1": "", "modifier2": "", "modifier3": ""}
        write_charge_export([*corrected, late], world.export_dir / "charges_602_corrected.csv")
        second = world.run_nightly(NIGHT_2)
        assert (second["run"]["revised lines"], second["run"]["claims built"]) == (3, 0)
        # D's late charge went out in its replacement the same night: no hold of it is left for a person
        assert not [item for item in second["needs_attention"] if d_key in item["subject"]]
        assert _query(world, "SELECT status FROM charge WHERE charge_id = ?", late["charge_id"]) == [("claimed",)]

        received = _received(world)
        for name, data in received.items():
            assert pyx12_errors(data) == [], name
        night_2 = {name: data for name, data in received.items() if name not in night_1_files}
        claims = {key: segs for data in night_2.values() for key, segs in _claims(data).items()}
        assert sorted(claims) == sorted([a_key, c_key, d_key])  # B (identical) and E (no 7 taken) are not sent
        clm = claims[a_key][0]
        assert Decimal(clm[2]) == Decimal(a_total + 1000) / 100
        assert clm[5] == "11:B:1"
        assert not [s for s in claims[a_key] if s[:2] == ["REF", "F8"]]
        for key, total in ((c_key, c_total + 500), (d_key, d_total + 1500)):
            assert Decimal(claims[key][0][2]) == Decimal(total) / 100, key
            assert claims[key][0][5] == "11:B:7", key
            assert [s[2] for s in claims[key] if s[:2] == ["REF", "F8"]] == [numbers[key]], key
        assert sum(1 for s in claims[d_key] if s[0] == "LX") == d_lines + 1
        interchange_of = {
            key: _query(world, "SELECT id FROM interchange WHERE file_name = ?", name)[0][0]
            for name, data in night_2.items()
            for key in _claims(data)
        }
        night_2_interchange = interchange_of[a_key]

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
        for key in (c_key, d_key):
            replaced = _query(
                world,
                "SELECT version, frequency_code, replaces_payer_claim_number, interchange_id, outcome "
                "FROM claim_version WHERE claim_key = ? ORDER BY version",
                key,
            )
            assert [r[:3] for r in replaced] == [(1, "1", None), (2, "7", numbers[key])], key
            assert replaced[0][4] == "adjudicated" and replaced[1][3] == interchange_of[key], key
            assert replaced[1][4] == _sandbox_outcome(world, key, night_1_answers), key
        assert _query(world, "SELECT action FROM claim_action WHERE claim_key = ?", e_key) == [("request_reopening",)]

        ((action, kind, reason),) = _query(
            world, "SELECT action, kind, reason FROM claim_action WHERE claim_key = ?", b_key
        )
        assert (action, kind) == ("correct_rejection", "person")
        assert "identical to a rejected version" in reason
        revised = _query(world, "SELECT charge_id, claim_key, changed_columns FROM charge_revision ORDER BY 1")
        assert revised == sorted(
            [
                (line["charge_id"], a_key, "charge_amount"),
                (first_line(c_key)["charge_id"], c_key, "charge_amount"),
                (first_line(e_key)["charge_id"], e_key, "charge_amount"),
                (late["charge_id"], d_key, "(a late charge: a new line)"),
            ]
        )
