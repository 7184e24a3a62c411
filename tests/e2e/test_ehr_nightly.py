"""Issue 13 through the nightly flow: the same synthetic encounters sent as CSV, as HL7 v2 DFT^P03 and as FHIR R4
go out as the same claims, and a bad HL7 file beside a good one is refused while the good one goes out.

Each format gets its own world (workdir, warehouse, sandbox SFTP clearinghouse) and one real nightly run
(Prefect, the GX gate, intake, 837P, SFTP). The 837s the clearinghouse received are read back with the project's
837 reader and compared claim by claim. The practice's ehr.toml (what a feed never carries: billing NPI, tax id,
address; the plan crosswalk) is written into the workdir, where the flow looks for it.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pipeline import PipelineWorld, pipeline_world
from pyx12_check import pyx12_errors

from connectors.payers import registered_payers
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.synth_ehr import chargemaster_csv, practice_config_toml
from revcycle.synth_fhir import write_fhir
from revcycle.synth_hl7 import write_dft_file
from revcycle.x12.x837 import read_837

pytestmark = pytest.mark.e2e
AS_OF = date(2026, 11, 20)
SENT = datetime(2026, 11, 20, 21, 30)
SEED = 1313
ENCOUNTERS = 24


def _rows(seed: int = SEED, encounters: int = ENCOUNTERS) -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=seed, as_of=AS_OF))


def _write_practice_config(world: PipelineWorld, rows: list[dict[str, str]]) -> None:
    world.workdir.mkdir(parents=True, exist_ok=True)
    (world.workdir / "chargemaster.csv").write_text(chargemaster_csv(), encoding="utf-8")
    (world.workdir / "ehr.toml").write_text(practice_config_toml(rows), encoding="utf-8")


def _claims_sent(world: PipelineWorld) -> dict[str, tuple[Any, ...]]:
    """Claim key -> what the 837 says of it: amounts, parties, diagnoses, and every line (no charge ids: the
    FHIR form's ids are its Claim items')."""
    folder = world.clearinghouse.root / world.clearinghouse.upload_dir
    sent: dict[str, tuple[Any, ...]] = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        assert pyx12_errors(data) == [], path.name
        received = read_837(data)
        assert received.problems == [], path.name
        for c in received.claims:
            assert c.claim_key not in sent, f"{c.claim_key} sent twice"
            sent[c.claim_key] = (
                c.total_charge,
                c.frequency_code,
                c.place_of_service,
                c.payer_id,
                c.filing_indicator,
                c.member_id,
                (c.subscriber_last_name, c.subscriber_first_name),
                (c.patient_last_name, c.patient_first_name),
                (c.billing_npi, c.billing_name, c.billing_tax_id),
                c.diagnoses,
                tuple(
                    (line.line_number, line.procedure_code, line.modifiers, line.units, line.charge, line.service_date)
                    for line in c.lines
                ),
            )
    return sent


def _query(world: PipelineWorld, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(world.workdir / "warehouse.db") as db:
        return db.execute(sql, args).fetchall()


def _run(tmp_path: Path, name: str, rows: list[dict[str, str]], write: Any) -> tuple[dict[str, Any], Any]:
    """One world: the practice config, the export(s) ``write(world)`` puts in the folder, one nightly run."""
    with pipeline_world(tmp_path / name) as world:
        _write_practice_config(world, rows)
        world.export_dir.mkdir(parents=True, exist_ok=True)
        write(world)
        result = world.run_nightly(AS_OF)
        return {"result": result, "sent": _claims_sent(world), "world": world}, world


def _broken_escape_batch(rows: list[dict[str, str]], path: Path) -> None:
    """A DFT batch whose every message has a malformed escape in PID-5 (an interface engine's bad translation)."""
    write_dft_file(rows, path, sent=SENT)
    text = path.read_bytes().decode("utf-8")
    segments = text.split("\r")
    broken = [_break_pid(s) if s.startswith("PID|") else s for s in segments]
    path.write_bytes("\r".join(broken).encode("utf-8"))


def _break_pid(segment: str) -> str:
    fields = segment.split("|")
    fields[5] = fields[5] + "\\Q\\"  # \Q\ is no HL7 escape sequence (v2.5.1 section 2.7.4)
    return "|".join(fields)


def test_hl7_and_fhir_exports_go_out_as_the_csv_exports_claims_and_a_bad_hl7_file_is_refused(
    prefect_api: None, tmp_path: Path
) -> None:
    rows = _rows()
    assert len({r["encounter_id"] for r in rows}) == ENCOUNTERS

    def write_csv(world: PipelineWorld) -> None:
        write_charge_export(rows, world.export_dir / "charges.csv")

    def write_hl7(world: PipelineWorld) -> None:
        write_dft_file(rows, world.export_dir / "dft_batch.hl7", sent=SENT)
        # Beside it: another night's DFTs (other encounters) with every message broken, and a file that only
        # says it is HL7. Both are refused; the good batch goes out whole.
        _broken_escape_batch(_rows(seed=SEED + 1, encounters=6), world.export_dir / "dft_broken.HL7")
        (world.export_dir / "interface_error.hl7").write_text("<html>502 Bad Gateway</html>\n", encoding="utf-8")

    def write_fhir_bundle(world: PipelineWorld) -> None:
        write_fhir(rows, world.export_dir / "bundle.json", created=AS_OF, ndjson=False)

    csv_run, _ = _run(tmp_path, "csv", rows, write_csv)
    hl7_run, hl7_world = _run(tmp_path, "hl7", rows, write_hl7)
    fhir_run, fhir_world = _run(tmp_path, "fhir", rows, write_fhir_bundle)

    reference = csv_run["sent"]
    # One claim per (encounter, payer, billing NPI) (docs/charge-export.md): every synthetic encounter, one payer.
    assert len(reference) == ENCOUNTERS
    assert sum(len(claim[-1]) for claim in reference.values()) == len(rows)
    assert any(line[2] for claim in reference.values() for line in claim[-1]), "no modifier to compare"
    for name, run in (("hl7", hl7_run), ("fhir", fhir_run)):
        assert run["sent"].keys() == reference.keys(), name
        differing = [key for key, claim in reference.items() if run["sent"][key] != claim]
        assert differing == [], f"{name}: claims {differing[:3]} differ from the CSV form's"
        assert run["result"]["run"]["claims built"] == ENCOUNTERS, name
        assert run["result"]["run"]["rejected lines"] == 0, name
    assert sum(claim[0] for claim in reference.values()) == sum(Decimal(r["charge_amount"]) for r in rows)

    # The bad HL7 files were refused with their reasons, moved aside, and nothing of them loaded.
    hl7_result = hl7_run["result"]
    refused = {r["file"]: r["reason"] for r in hl7_result["refused_exports"]}
    assert set(refused) == {"dft_broken.HL7", "interface_error.hl7"}
    assert "broken_message" in refused["dft_broken.HL7"] and "threshold" in refused["dft_broken.HL7"]
    assert "none of the known export formats" in refused["interface_error.hl7"]
    refused_dir = hl7_world.export_dir / "refused"
    assert sorted(p.name for p in refused_dir.iterdir()) == [
        "dft_broken.HL7",
        "dft_broken.HL7.reason.txt",
        "interface_error.hl7",
        "interface_error.hl7.reason.txt",
    ]
    ledger = dict(_query(hl7_world, "SELECT name, status FROM source_file WHERE kind = 'charges'"))
    assert ledger == {"dft_batch.hl7": "loaded", "dft_broken.HL7": "refused", "interface_error.hl7": "refused"}
    other_night = {r["charge_id"] for r in _rows(seed=SEED + 1, encounters=6)}
    stored = {charge_id for (charge_id,) in _query(hl7_world, "SELECT charge_id FROM charge")}
    assert stored == {r["charge_id"] for r in rows} and not stored & other_night

    # Every stored row keeps where it came from: the file and the message (HL7) or Bundle entry (FHIR).
    for world, pattern in ((hl7_world, "dft_batch.hl7 message "), (fhir_world, "bundle.json entry ")):
        sources = [json.loads(text)["source"] for (text,) in _query(world, "SELECT row_json FROM charge")]
        assert len(sources) == len(rows) and all(s.startswith(pattern) for s in sources), sources[:2]


# The rule that must quarantine each format's own defect (docs/ehr-feeds.md, "Charges a reader holds"): the
# reader holds it (suite ehr_reader), except a missing FT1-4, which reaches the gate empty (rule required).
FORMAT_DEFECT_RULES = {
    "broken_escape": "broken_message",
    "missing_ft1_4": "required",
    "unknown_chargemaster_code": "unknown_chargemaster_code",
    "dangling_reference": "dangling_reference",
    "r4b_invalid": "r4b_validation_error",
}


def test_demo_in_every_format_quarantines_exactly_the_planted_defects(prefect_api: None, tmp_path: Path) -> None:
    """``revcycle demo --ehr-format mixed --defect-rate``: one CSV, one HL7 and one FHIR export of the same night;
    the warehouse quarantines exactly the ground truth (precision and recall 1.0), and every clean encounter's
    claim goes out. The threshold is raised so that a fifth of the lines may be defective without refusing.
    The demo runs on the session's Prefect server (PREFECT_API_URL), not a temporary one of its own: CI time."""
    from prefect.settings import PREFECT_API_URL

    workdir = tmp_path / "work"
    command = [
        str(Path(sys.executable).with_name("revcycle")),
        "demo",
        "--workdir",
        str(workdir),
        "--claims",
        "90",
        "--seed",
        "22",
        "--defect-rate",
        "0.2",
        "--ehr-format",
        "mixed",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVCYCLE_"))}
    env["REVCYCLE_REJECT_THRESHOLD"] = "0.5"
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stdout + completed.stderr

    with (workdir / "defects.csv").open(newline="", encoding="utf-8") as handle:
        truth = {row["charge_id"]: row["defect"] for row in csv.DictReader(handle)}
    kinds = set(truth.values())
    assert {"broken_escape", "missing_ft1_4", "unknown_chargemaster_code", "dangling_reference"} <= kinds
    with sqlite3.connect(workdir / "warehouse.db") as db:
        ledger = db.execute("SELECT name, status FROM source_file WHERE kind = 'charges' ORDER BY name").fetchall()
        rejected: dict[str, set[str]] = {}
        for charge_id, rule in db.execute("SELECT charge_id, rule FROM charge_rejection WHERE severity = 'error'"):
            rejected.setdefault(charge_id, set()).add(rule)
        claimed = {k for (k,) in db.execute("SELECT DISTINCT claim_key FROM charge WHERE status = 'claimed'")}
        sent = {k for (k,) in db.execute("SELECT claim_key FROM claim WHERE status != 'built'")}
    assert [status for _name, status in ledger] == ["loaded"] * 3
    assert {name.rsplit(".", 1)[1] for name, _status in ledger} == {"csv", "hl7", "json"}
    assert set(rejected) - set(truth) == set(), "precision below 1.0"
    assert set(truth) - set(rejected) == set(), "recall below 1.0"
    for charge_id, kind in truth.items():
        if kind in FORMAT_DEFECT_RULES:
            assert FORMAT_DEFECT_RULES[kind] in rejected[charge_id], (charge_id, kind, rejected[charge_id])
    assert claimed and claimed <= sent
