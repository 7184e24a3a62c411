"""The synthetic charge export: reproducible, contract-shaped, and valid for every registered payer."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.payers import registered_payers
from revcycle.charge_export import COLUMN_NAMES, REQUIRED_COLUMNS
from revcycle.claims import build_claims
from revcycle.codes.catalog import PROFESSIONAL_PROCEDURES
from revcycle.codes.npi import is_valid_npi
from revcycle.synth import generate_charge_rows, write_charge_export

AS_OF = date(2024, 3, 11)
PAYERS = registered_payers()


def _rows(seed: int = 11, encounters: int = 200) -> list[dict[str, str]]:
    return list(generate_charge_rows(list(PAYERS.values()), encounters=encounters, seed=seed, as_of=AS_OF))


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert _rows(seed=5) == _rows(seed=5)
    assert _rows(seed=5) != _rows(seed=6)


def test_rows_have_exactly_the_contract_columns_and_required_values() -> None:
    rows = _rows()
    assert len({r["encounter_id"] for r in rows}) == 200
    for row in rows:
        assert tuple(row) == COLUMN_NAMES
        assert all(row[column] for column in REQUIRED_COLUMNS)
    assert len({r["charge_id"] for r in rows}) == len(rows)


def test_every_npi_has_a_valid_check_digit() -> None:
    rows = _rows()
    npis = [r[c] for r in rows for c in ("billing_npi", "rendering_npi", "referring_npi") if r[c]]
    assert any(r["referring_npi"] for r in rows)
    assert npis and all(is_valid_npi(npi) for npi in npis)


def test_member_ids_match_their_payers_format() -> None:
    rows = _rows()
    assert {r["payer_id"] for r in rows} == set(PAYERS)
    for row in rows:
        payer = PAYERS[row["payer_id"]]
        assert payer.member_id_is_valid(row["member_id"])
        assert row["claim_filing_indicator"] == payer.filing_indicator


def test_dependents_are_children_carrying_the_subscribers_last_name() -> None:
    rows = _rows()
    dependents = [r for r in rows if r["relationship"] != "self"]
    assert dependents, "200 encounters should include dependents"
    for row in dependents:
        assert row["relationship"] == "child"
        assert row["patient_last_name"] == row["subscriber_last_name"]
        assert row["patient_birth_date"] > row["subscriber_birth_date"]
        assert PAYERS[row["payer_id"]].filing_indicator != "MB"  # Medicare covers the beneficiary
    for row in rows:
        if row["relationship"] == "self":
            for field in ("last_name", "first_name", "birth_date", "sex", "address1", "zip"):
                assert row[f"patient_{field}"] == row[f"subscriber_{field}"]


def test_charges_dates_and_pointers_are_consistent() -> None:
    for row in _rows():
        units = Decimal(row["units"])
        assert Decimal(row["charge_amount"]) == PROFESSIONAL_PROCEDURES[row["procedure_code"]] * units
        assert len(row["charge_amount"].split(".")[1]) == 2
        served = date.fromisoformat(row["service_date_from"])
        assert AS_OF - timedelta(days=30) < served < AS_OF
        for pointer in row["diagnosis_pointers"].split(":"):
            assert row[f"diagnosis{pointer}"]


def test_an_encounter_shares_patient_payer_and_provider_across_lines() -> None:
    by_encounter: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _rows():
        by_encounter[row["encounter_id"]].append(row)
    shared = (
        "patient_mrn",
        "member_id",
        "payer_id",
        "billing_npi",
        "service_date_from",
        "prior_authorization",
    )
    assert any(len(lines) > 1 for lines in by_encounter.values())
    for lines in by_encounter.values():
        for column in shared:
            assert len({line[column] for line in lines}) == 1


def test_rows_build_into_claims_every_payer_accepts() -> None:
    rows = _rows()
    result = build_claims(rows, PAYERS)
    assert result.held == []
    assert len(result.claims) == 200


def test_id_prefix_and_empty_payers() -> None:
    rows = list(generate_charge_rows(list(PAYERS.values()), encounters=3, seed=1, as_of=AS_OF, id_prefix="X"))
    assert all(r["charge_id"].startswith("X-C") and r["encounter_id"].startswith("X-E") for r in rows)
    with pytest.raises(ValueError):
        list(generate_charge_rows([], encounters=3, seed=1, as_of=AS_OF))


def test_csv_export_header_is_the_contract(tmp_path: Path) -> None:
    rows = _rows(encounters=25)
    path = tmp_path / "exports" / "charges.csv"
    assert write_charge_export(rows, path) == len(rows)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        body = list(reader)
    assert tuple(header) == COLUMN_NAMES
    assert [dict(zip(header, values, strict=True)) for values in body] == rows


def test_injected_defects_change_only_the_named_charge_in_the_named_way() -> None:
    from revcycle.synth import UNKNOWN_ICD10_CODES, inject_defects

    clean = _rows(seed=8, encounters=300)
    rows, defects = inject_defects(clean, 0.05, 8, payers=PAYERS, as_of=AS_OF)
    assert len(defects) == round(0.05 * len(clean))
    by_id = {row["charge_id"]: row for row in rows}
    originals = {row["charge_id"]: row for row in clean}
    kinds = {d.charge_id: d.defect for d in defects}
    for charge_id, row in by_id.items():
        if charge_id not in kinds:
            assert row == originals[charge_id]  # untouched
            continue
        kind = kinds[charge_id]
        if kind == "duplicate_line":
            original = originals[charge_id.removesuffix("-DUP")]
            assert {k: v for k, v in row.items() if k != "charge_id"} == {
                k: v for k, v in original.items() if k != "charge_id"
            }
            continue
        changed = {k for k in row if row[k] != originals[charge_id][k]}
        expected_columns = {
            "bad_npi_check_digit": {"rendering_npi"},
            "unknown_icd10_code": {"diagnosis1"},
            "future_service_date": {"service_date_from", "service_date_to"},
            "zero_units": {"units"},
            "missing_member_id": {"member_id"},
            "bad_diagnosis_pointer": {"diagnosis_pointers"},
            "bad_member_id_format": {"member_id"},
            "three_decimal_amount": {"charge_amount"},
            "bad_procedure_code_format": {"procedure_code"},
            "unknown_place_of_service": {"place_of_service"},
        }[kind]
        assert changed == expected_columns, (charge_id, kind)
        if kind == "bad_npi_check_digit":
            assert not is_valid_npi(row["rendering_npi"])
        if kind == "unknown_icd10_code":
            assert row["diagnosis1"] in UNKNOWN_ICD10_CODES
        if kind == "future_service_date":
            assert date.fromisoformat(row["service_date_from"]) > AS_OF
        if kind == "bad_member_id_format":
            assert row["member_id"] and not PAYERS[row["payer_id"]].member_id_is_valid(row["member_id"])
        if kind == "three_decimal_amount":
            assert len(row["charge_amount"].split(".")[1]) == 3


def test_defect_rate_is_a_fraction() -> None:
    from revcycle.synth import inject_defects

    with pytest.raises(ValueError):
        inject_defects(_rows(encounters=5), 1.5, 1, as_of=AS_OF)
    rows, defects = inject_defects(_rows(encounters=5), 0.0, 1, as_of=AS_OF)
    assert defects == [] and rows == _rows(encounters=5)


def test_a_seeded_share_of_visits_are_hospital_bills_to_payers_that_take_them() -> None:
    payers = list(PAYERS.values())
    plain = list(generate_charge_rows(payers, encounters=200, seed=11, as_of=AS_OF))
    mixed = list(generate_charge_rows(payers, encounters=200, seed=11, as_of=AS_OF, institutional_share=0.3))
    assert mixed == list(generate_charge_rows(payers, encounters=200, seed=11, as_of=AS_OF, institutional_share=0.3))
    hospital = [r for r in mixed if r["claim_type"] == "institutional"]
    bills = {r["encounter_id"]: r["type_of_bill"] for r in hospital}
    # about 30 % of the visits to the two payers taking 837I (Summit, state Medicaid), inpatient 111 or outpatient 131
    assert {r["payer_id"] for r in hospital} <= {"SUMMT", "MCDST"} and set(bills.values()) == {"111", "131"}
    assert 20 <= len(bills) <= 110
    # the professional visits are those of the export without the share, row for row
    assert [r for r in mixed if r["claim_type"] == "professional"] == [
        r for r in plain if r["encounter_id"] not in bills
    ]
    for row in hospital:
        inpatient = row["type_of_bill"] == "111"
        assert row["revenue_code"] and row["attending_npi"] == row["rendering_npi"] and row["discharge_status"] == "01"
        assert row["statement_date_from"] <= row["service_date_from"] <= row["statement_date_to"] < AS_OF.isoformat()
        assert bool(row["admission_date"] and row["admitting_diagnosis"] and row["admission_type"]) is inpatient
    # they build into 837I claims every payer accepts
    result = build_claims(mixed, PAYERS)
    assert result.held == [] and sum(c.claim_type.value == "institutional" for c in result.claims) == len(bills)
