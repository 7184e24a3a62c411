"""Done-when 1 of the EHR feeds: the CSV, HL7 and FHIR forms of the same synthetic encounters give the same claims.

For several seeds the synthetic EHR writes its charges as CSV, as HL7 DFT^P03 (a batch file with CR, single
messages with LF) and as FHIR (a Bundle and NDJSON). Each is read by its reader, built into claims and written
as an 837P; the 837s are read back with the project's 837 reader and compared claim by claim: claim keys, lines,
procedure codes, modifiers, units, amounts, dates, diagnoses, and the parties. The writers and readers share no
mapping code (revcycle/synth_hl7.py and synth_fhir.py against connectors/ehr/), so a mistake on either side shows.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.ehr.config import EhrConfig, parse_ehr_config
from connectors.ehr.registry import read_export
from connectors.payers import registered_payers
from revcycle.claims import build_claims
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.synth_ehr import chargemaster_csv, practice_config_toml
from revcycle.synth_fhir import write_fhir
from revcycle.synth_hl7 import write_dft_file
from revcycle.x12.write837p import Submitter, write_837p
from revcycle.x12.writer import Envelope
from revcycle.x12.x837 import read_837

AS_OF = date(2024, 5, 20)
SUBMITTER = Submitter("REVCYCLE EQUIVALENCE", "REVCYCLE01", "EQUIVALENCE TEST", phone="5555550100")


def _write_forms(rows: list[dict[str, str]], folder: Path) -> dict[str, Path]:
    sent = datetime(2024, 5, 20, 22, 0)
    forms = {
        "csv": folder / "charges.csv",
        "hl7 batch CR": folder / "dft_batch.hl7",
        "hl7 messages LF": folder / "dft_messages.txt",
        "fhir bundle": folder / "bundle.json",
        "fhir ndjson": folder / "bulk.ndjson",
    }
    write_charge_export(rows, forms["csv"])
    write_dft_file(rows, forms["hl7 batch CR"], sent=sent, batch=True, terminator="\r")
    write_dft_file(rows, forms["hl7 messages LF"], sent=sent, batch=False, terminator="\n")
    write_fhir(rows, forms["fhir bundle"], created=AS_OF, ndjson=False)
    write_fhir(rows, forms["fhir ndjson"], created=AS_OF, ndjson=True)
    return forms


def _claims_from_837(path: Path, config: EhrConfig) -> dict[str, Any]:
    """Read an export, build its claims, write one 837P per payer, and read the 837s back into plain values."""
    out = read_export(path, config)
    assert out.held == [], [h.reason for h in out.held[:3]]
    payers = registered_payers()
    built = build_claims(out.rows, payers)
    by_payer: dict[str, list[Any]] = defaultdict(list)
    for built_claim in built.claims:
        by_payer[built_claim.payer_id].append(built_claim)
    received: dict[str, Any] = {}
    for number, (payer_id, claims) in enumerate(sorted(by_payer.items()), start=1):
        payer = payers[payer_id]
        envelope = Envelope(
            sender_id="REVCYCLE01",
            receiver_id=payer.interchange_receiver_id,
            interchange_control_number=number,
            group_control_number=number,
            usage_indicator="T",
            created=datetime(2024, 5, 21, 1, 0),
            functional_id_code="HC",
            version="005010X222A1",
            application_receiver_code=payer.group_receiver_code,
        )
        document = read_837(write_837p(claims, envelope, SUBMITTER, receiver_name=payer.name))
        assert document.problems == []
        for claim in document.claims:
            received[claim.claim_key] = (
                claim.total_charge,
                claim.frequency_code,
                claim.place_of_service,
                claim.payer_id,
                claim.filing_indicator,
                claim.member_id,
                (claim.subscriber_last_name, claim.subscriber_first_name),
                (claim.patient_last_name, claim.patient_first_name),
                (claim.billing_npi, claim.billing_name, claim.billing_tax_id),
                claim.diagnoses,
                tuple(
                    (line.line_number, line.procedure_code, line.modifiers, line.units, line.charge, line.service_date)
                    for line in claim.lines
                ),
            )
    held = sorted((h.claim_key, h.reasons) for h in built.held)
    return {"claims": received, "held": held}


@pytest.mark.parametrize("seed", [3, 11, 29, 2024])
def test_csv_hl7_and_fhir_give_the_same_claims(seed: int, tmp_path: Path) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=30, seed=seed, as_of=AS_OF))
    (tmp_path / "chargemaster.csv").write_text(chargemaster_csv(), encoding="utf-8")
    config = parse_ehr_config(practice_config_toml(rows), "ehr.toml", tmp_path)
    results = {form: _claims_from_837(path, config) for form, path in _write_forms(rows, tmp_path).items()}
    reference = results["csv"]
    assert len(reference["claims"]) >= 20, "too few claims built to compare"
    lines = sum(len(value[-1]) for value in reference["claims"].values())
    assert lines > len(reference["claims"]), "no claim with several lines"
    assert any(value[-1][0][2] for value in reference["claims"].values()), "no modifier to compare"
    for form, result in results.items():
        assert result["claims"].keys() == reference["claims"].keys(), form
        for key, value in reference["claims"].items():
            assert result["claims"][key] == value, f"{form}: claim {key} differs"
        assert result["held"] == reference["held"], form


def test_the_comparison_sees_a_changed_line(tmp_path: Path) -> None:
    """The check itself bites: one unit changed in the HL7 form makes the claims differ."""
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=8, seed=5, as_of=AS_OF))
    (tmp_path / "chargemaster.csv").write_text(chargemaster_csv(), encoding="utf-8")
    config = parse_ehr_config(practice_config_toml(rows), "ehr.toml", tmp_path)
    forms = _write_forms(rows, tmp_path)
    changed = [dict(r) for r in rows]
    changed[0]["units"] = "3"
    write_dft_file(changed, forms["hl7 batch CR"], sent=datetime(2024, 5, 20, 22, 0))
    assert _claims_from_837(forms["hl7 batch CR"], config) != _claims_from_837(forms["csv"], config)


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_readers_share_no_mapping_code_with_the_synthetic_writers() -> None:
    """Done-when 1: writers and readers share no mapping code, so their errors cannot cancel out. The core never
    imports connectors/ (test_import_boundaries); here, no EHR reader imports the synthetic EHR."""
    import connectors.ehr

    readers = sorted(Path(connectors.ehr.__file__).parent.glob("*.py"))
    assert {p.name for p in readers} >= {"hl7_dft.py", "fhir_r4.py", "csv_reader.py", "registry.py", "intake.py"}
    synthetic = ("revcycle.synth", "revcycle.demo_export")
    offenders = {p.name: sorted(m for m in _imported_modules(p) if m.startswith(synthetic)) for p in readers}
    assert {name: found for name, found in offenders.items() if found} == {}
    sample = Path(__file__)  # the check sees such an import: this test module imports the writers
    assert any(m.startswith(synthetic) for m in _imported_modules(sample))
