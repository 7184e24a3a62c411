"""The FHIR R4 reader on a hand-written Bundle (and the same resources as NDJSON) whose expected contract rows are
worked out by hand: references by urn:uuid full URL and by Type/id, a Claim with items, a ChargeItem, a dangling
reference, an R4B validation error, and an unmapped payer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ehr_fixtures import CHARGEMASTER_CSV, CONFIG_TOML, NORTH_NPI, REFERRING_NPI, RENDERING_NPI

from connectors.ehr.base import HOLD_DANGLING_REFERENCE, HOLD_R4B_INVALID, HOLD_UNMAPPED_PLAN
from connectors.ehr.config import EhrConfig, parse_ehr_config
from connectors.ehr.fhir_r4 import FhirReader
from connectors.ehr.registry import read_export
from revcycle.charge_export import COLUMN_NAMES, INSTITUTIONAL_CLAIM_COLUMNS, OTHER_COVERAGE_COLUMNS

CPT = "http://www.ama-assn.org/go/cpt"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"

Ref = Callable[[str, str], dict[str, str]]


def resources(ref: Ref) -> list[dict[str, Any]]:
    """The practice's resources; ``ref(type, id)`` makes a Reference (urn:uuid in the Bundle, Type/id in NDJSON)."""
    return [
        # The billing organization: found in ehr.toml by its NPI (NORTH).
        {"resourceType": "Organization", "id": "north", "identifier": [{"system": NPI, "value": NORTH_NPI}]},
        # The payer: its identifier BCBS-PPO is in the plan crosswalk (SUMMT, CI).
        {
            "resourceType": "Organization",
            "id": "bcbs",
            "identifier": [{"system": "urn:ehr:plans", "value": "BCBS-PPO"}],
        },
        {
            "resourceType": "Patient",
            "id": "p1",
            # Two identifiers: the one typed MR is the MRN.
            "identifier": [
                {"system": "urn:ehr:ssn-like", "value": "X-1"},
                {"type": {"coding": [{"code": "MR"}]}, "value": "MRN-5001"},
            ],
            # Two names: the official one is taken.
            "name": [
                {"use": "nickname", "family": "Nick"},
                {"use": "official", "family": "Okafor", "given": ["Ada", "B"]},
            ],
            "gender": "female",
            "birthDate": "1985-06-30",
            "address": [{"line": ["7 Pine Ct", "Apt 2"], "city": "Urbana", "state": "IL", "postalCode": "61801-2020"}],
        },
        {
            "resourceType": "RelatedPerson",
            "id": "rp1",
            "patient": ref("Patient", "p1"),
            "name": [{"family": "Okafor", "given": ["Ben"]}],
            "gender": "male",
            "birthDate": "1983-01-15",
            "address": [{"line": ["7 Pine Ct"], "city": "Urbana", "state": "IL", "postalCode": "61801"}],
        },
        {
            "resourceType": "Coverage",
            "id": "cov1",
            "status": "active",
            "subscriber": ref("RelatedPerson", "rp1"),  # the spouse is the subscriber
            "subscriberId": "XYZ987654321",  # member id
            "beneficiary": ref("Patient", "p1"),
            "relationship": {"coding": [{"code": "spouse"}]},
            "class": [{"type": {"coding": [{"code": "group"}]}, "value": "GRP-9"}],  # group number
            "payor": [ref("Organization", "bcbs")],
        },
        {
            "resourceType": "Practitioner",
            "id": "dr-lee",
            "identifier": [{"system": NPI, "value": RENDERING_NPI}],
            "name": [{"family": "Lee", "given": ["Sam"]}],
        },
        {
            "resourceType": "Practitioner",
            "id": "dr-reed",
            "identifier": [{"system": NPI, "value": REFERRING_NPI}],
            "name": [{"family": "Reed", "given": ["Rita"]}],
        },
        {
            "resourceType": "Condition",
            "id": "c-dm",
            "subject": ref("Patient", "p1"),
            "code": {"coding": [{"system": ICD, "code": "E11.9"}]},
        },
        {
            "resourceType": "Condition",
            "id": "c-htn",
            "subject": ref("Patient", "p1"),
            "code": {"coding": [{"system": ICD, "code": "I10"}]},
        },
        {
            "resourceType": "Encounter",
            "id": "e1",
            "identifier": [{"value": "V-300"}],  # encounter_id
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": ref("Patient", "p1"),
            "serviceProvider": ref("Organization", "north"),
            # Encounter diagnoses by rank: I10 (1) before E11.9 (2); used by ChargeItems.
            "diagnosis": [
                {"condition": ref("Condition", "c-dm"), "rank": 2},
                {"condition": ref("Condition", "c-htn"), "rank": 1},
            ],
            # The referring provider of ChargeItems: the participant typed REF.
            "participant": [{"type": [{"coding": [{"code": "REF"}]}], "individual": ref("Practitioner", "dr-reed")}],
        },
        {
            "resourceType": "Claim",
            "id": "clm300",
            "identifier": [{"value": "CLM-300"}],  # charge ids CLM-300-<item.sequence>
            "status": "active",
            "type": {"coding": [{"code": "professional"}]},
            "use": "claim",
            "patient": ref("Patient", "p1"),
            "created": "2024-03-06",
            "provider": ref("Organization", "north"),
            "priority": {"coding": [{"code": "normal"}]},
            "careTeam": [
                {"sequence": 1, "provider": ref("Practitioner", "dr-lee"), "role": {"coding": [{"code": "primary"}]}},
                {
                    "sequence": 2,
                    "provider": ref("Practitioner", "dr-reed"),
                    "role": {"coding": [{"code": "referring"}]},
                },
            ],
            # Claim diagnoses by sequence: 1 I10 (inline), 2 E11.9 (by reference to a Condition).
            "diagnosis": [
                {"sequence": 2, "diagnosisReference": ref("Condition", "c-dm")},
                {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": "I10"}]}},
            ],
            "insurance": [
                {"sequence": 1, "focal": True, "coverage": ref("Coverage", "cov1"), "preAuthRef": ["AUTH-9"]}
            ],
            "item": [
                {
                    "sequence": 1,
                    "careTeamSequence": [1],
                    "diagnosisSequence": [2, 1],  # E11.9 then I10
                    "productOrService": {"coding": [{"system": CPT, "code": "99214"}]},
                    "modifier": [{"coding": [{"code": "25"}]}],
                    "servicedDate": "2024-03-05",
                    "locationCodeableConcept": {"coding": [{"code": "22"}]},  # overrides NORTH's 11
                    "quantity": {"value": 1},
                    "net": {"value": "@195.00", "currency": "USD"},  # JSON number 195.00 (see _dumps)
                    "encounter": [ref("Encounter", "e1")],
                },
                {
                    "sequence": 2,
                    "careTeamSequence": [1],
                    "diagnosisSequence": [1],
                    # A chargemaster code only: CH-0777 -> 20610 with modifier RT.
                    "productOrService": {"coding": [{"system": "urn:ehr:cdm", "code": "CH-0777"}]},
                    "servicedPeriod": {"start": "2024-03-04", "end": "2024-03-05"},
                    "quantity": {"value": 2},
                    "unitPrice": {"value": "@180.00", "currency": "USD"},  # no net: 2 x 180.00 = 360.00
                    "encounter": [ref("Encounter", "e1")],
                },
            ],
        },
        {
            "resourceType": "ChargeItem",
            "id": "ci1",
            "identifier": [{"value": "CI-1"}],  # charge id
            "status": "billable",
            "code": {"coding": [{"system": CPT, "code": "36415"}]},
            "subject": ref("Patient", "p1"),  # its Coverage is the one whose beneficiary is this patient
            "context": ref("Encounter", "e1"),
            "occurrenceDateTime": "2024-03-05T10:30:00-06:00",
            "performer": [{"actor": ref("Practitioner", "dr-lee")}],
            "quantity": {"value": 1},
            "priceOverride": {"value": "@15.00", "currency": "USD"},
        },
        # Held: its patient is not in the file.
        {
            "resourceType": "Claim",
            "id": "clm301",
            "identifier": [{"value": "CLM-301"}],
            "status": "active",
            "type": {"coding": [{"code": "professional"}]},
            "use": "claim",
            "patient": {"reference": "Patient/not-here"},
            "created": "2024-03-06",
            "provider": ref("Organization", "north"),
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": ref("Coverage", "cov1")}],
            "item": [
                {
                    "sequence": 1,
                    "productOrService": {"coding": [{"system": CPT, "code": "99212"}]},
                    "servicedDate": "2024-03-05",
                }
            ],
        },
        # Held: its patient fails R4B validation (a birth date that is not a FHIR date).
        {"resourceType": "Patient", "id": "p-bad", "birthDate": "03/04/1980", "identifier": [{"value": "MRN-6"}]},
        {
            "resourceType": "ChargeItem",
            "id": "ci2",
            "identifier": [{"value": "CI-2"}],
            "status": "billable",
            "code": {"coding": [{"system": CPT, "code": "99212"}]},
            "subject": ref("Patient", "p-bad"),
            "context": ref("Encounter", "e1"),
        },
    ]


SHARED = {
    "encounter_id": "V-300",
    "patient_mrn": "MRN-5001",
    "patient_last_name": "Okafor",
    "patient_first_name": "Ada",
    "patient_birth_date": "1985-06-30",
    "patient_sex": "F",
    "patient_address1": "7 Pine Ct",
    "patient_city": "Urbana",
    "patient_state": "IL",
    "patient_zip": "618012020",
    "relationship": "spouse",
    "subscriber_last_name": "Okafor",
    "subscriber_first_name": "Ben",
    "subscriber_birth_date": "1983-01-15",
    "subscriber_sex": "M",
    "subscriber_address1": "7 Pine Ct",
    "subscriber_city": "Urbana",
    "subscriber_state": "IL",
    "subscriber_zip": "61801",
    "member_id": "XYZ987654321",
    "group_number": "GRP-9",
    "payer_id": "SUMMT",
    "claim_filing_indicator": "CI",
    "billing_npi": NORTH_NPI,
    "billing_tax_id": "361234567",
    "billing_name": "NORTH CLINIC",
    "billing_address1": "500 Lake Shore Dr",
    "billing_city": "Chicago",
    "billing_state": "IL",
    "billing_zip": "606111234",
    "rendering_npi": RENDERING_NPI,
    "rendering_last_name": "Lee",
    "rendering_first_name": "Sam",
    "referring_npi": REFERRING_NPI,
    "referring_last_name": "Reed",
    "referring_first_name": "Rita",
    "claim_type": "professional",
    "type_of_bill": "",
    "revenue_code": "",
    **dict.fromkeys(INSTITUTIONAL_CLAIM_COLUMNS, ""),
    **dict.fromkeys(OTHER_COVERAGE_COLUMNS, ""),
    "diagnosis1": "I10",
    "diagnosis2": "E11.9",
    **{f"diagnosis{i}": "" for i in range(3, 13)},
    "claim_frequency_code": "1",
    "original_claim_number": "",
    "visit_status": "",
}
NO_MODIFIERS = {f"modifier{i}": "" for i in range(1, 5)}
EXPECTED = [
    SHARED
    | NO_MODIFIERS
    | {
        "charge_id": "CLM-300-1",
        "place_of_service": "22",
        "service_date_from": "2024-03-05",
        "service_date_to": "2024-03-05",
        "procedure_code": "99214",
        "modifier1": "25",
        "units": "1",
        "charge_amount": "195.00",
        "diagnosis_pointers": "2:1",
        "prior_authorization": "AUTH-9",
    },
    SHARED
    | NO_MODIFIERS
    | {
        "charge_id": "CLM-300-2",
        "place_of_service": "11",
        "service_date_from": "2024-03-04",
        "service_date_to": "2024-03-05",
        "procedure_code": "20610",
        "modifier1": "RT",
        "units": "2",
        "charge_amount": "360.00",
        "diagnosis_pointers": "1",
        "prior_authorization": "AUTH-9",
    },
    SHARED
    | NO_MODIFIERS
    | {
        "charge_id": "CI-1",
        "place_of_service": "11",
        "service_date_from": "2024-03-05",
        "service_date_to": "2024-03-05",
        "procedure_code": "36415",
        "units": "1",
        "charge_amount": "15.00",
        "diagnosis_pointers": "1:2",  # no ChargeItem.reason: the encounter's diagnoses
        "prior_authorization": "",
    },
]


def _dumps(value: Any, indent: int | None = None) -> str:
    """JSON where "@<digits>" strings become bare numbers with that exact text (195.00 stays 195.00)."""
    return re.sub(r'"@([0-9.]+)"', r"\1", json.dumps(value, indent=indent))


def _urn(kind: str, identifier: str) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{abs(hash((kind, identifier))) % 10**12:012d}"


def _bundle() -> dict[str, Any]:
    listed = resources(lambda kind, identifier: {"reference": _urn(kind, identifier)})
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": _urn(r["resourceType"], r["id"]),
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in listed
        ],
    }


@pytest.fixture
def config(tmp_path: Path) -> EhrConfig:
    (tmp_path / "chargemaster.csv").write_text(CHARGEMASTER_CSV, encoding="utf-8")
    return parse_ehr_config(CONFIG_TOML, "ehr.toml", tmp_path)


def test_expected_rows_name_every_contract_column() -> None:
    assert all(set(row) == set(COLUMN_NAMES) for row in EXPECTED)


def _check_holds(out: Any) -> None:
    held = {h.charge_id: h for h in out.held}
    assert set(held) == {"CLM-301-1", "CI-2"}
    assert held["CLM-301-1"].rule == HOLD_DANGLING_REFERENCE
    assert "Claim.patient" in held["CLM-301-1"].reason and "not-here" not in held["CLM-301-1"].reason
    assert held["CI-2"].rule == HOLD_R4B_INVALID and "birthDate" in held["CI-2"].reason
    assert "03/04/1980" not in held["CI-2"].reason, "the validator's message must not carry the value"
    assert out.units_in == 5 and out.accounted == 5


def test_bundle_with_references(tmp_path: Path, config: EhrConfig) -> None:
    path = tmp_path / "visit.JSON"
    path.write_text(_dumps(_bundle(), indent=2), encoding="utf-8")
    out = read_export(path, config)
    assert out.format == "fhir"
    assert out.rows == EXPECTED
    positions = [s.position for s in out.sources]
    assert positions == ["entry 11 item 1 (Claim)", "entry 11 item 2 (Claim)", "entry 12 (ChargeItem)"]
    _check_holds(out)


def test_ndjson_with_type_id_references(tmp_path: Path, config: EhrConfig) -> None:
    listed = resources(lambda kind, identifier: {"reference": f"{kind}/{identifier}"})
    path = tmp_path / "export.ndjson"
    path.write_text("".join(_dumps(r) + "\n" for r in listed), encoding="utf-8")
    out = FhirReader().read(path, config)
    assert out.rows == EXPECTED
    assert [s.position for s in out.sources] == [
        "line 11 item 1 (Claim)",
        "line 11 item 2 (Claim)",
        "line 12 (ChargeItem)",
    ]
    _check_holds(out)


def test_ndjson_line_that_is_not_json_is_held_not_dropped(tmp_path: Path, config: EhrConfig) -> None:
    listed = resources(lambda kind, identifier: {"reference": f"{kind}/{identifier}"})
    lines = [_dumps(r) for r in listed]
    lines.append('{"resourceType": "Claim", "id": "cut", "item": [')  # cut off mid-line
    path = tmp_path / "cut.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = read_export(path, config)
    assert len(out.rows) == 3
    cut = [h for h in out.held if "line 16" in h.source.position]
    assert len(cut) == 1 and "not valid JSON" in cut[0].reason
    assert out.accounted == out.units_in == 6


def test_unmapped_payer_is_held(tmp_path: Path, config: EhrConfig) -> None:
    listed = resources(lambda kind, identifier: {"reference": f"{kind}/{identifier}"})
    listed[1]["identifier"][0]["value"] = "AETNA-HMO"
    path = tmp_path / "unmapped.ndjson"
    path.write_text("".join(_dumps(r) + "\n" for r in listed), encoding="utf-8")
    out = read_export(path, config)
    mapped_holds = [h for h in out.held if h.rule == HOLD_UNMAPPED_PLAN]
    assert {h.charge_id for h in mapped_holds} == {"CLM-300-1", "CLM-300-2", "CI-1"}
    assert out.rows == []


def test_r5_only_content_fails_r4b_validation(tmp_path: Path, config: EhrConfig) -> None:
    listed = resources(lambda kind, identifier: {"reference": f"{kind}/{identifier}"})
    # Claim.insurer is R4; an element that only R5 has (Claim.encounter at claim level) is rejected by R4B.
    listed[10]["encounter"] = [{"reference": "Encounter/e1"}]
    path = tmp_path / "r5.ndjson"
    path.write_text("".join(_dumps(r) + "\n" for r in listed), encoding="utf-8")
    out = read_export(path, config)
    r4b = [h for h in out.held if h.rule == HOLD_R4B_INVALID]
    assert {h.charge_id for h in r4b} == {"CLM-300-1", "CLM-300-2", "CI-2"}
    assert all("encounter" in h.reason for h in r4b if h.charge_id != "CI-2")


def test_a_charge_without_identifier_or_id_is_held(tmp_path: Path, config: EhrConfig) -> None:
    listed = resources(lambda kind, identifier: {"reference": f"{kind}/{identifier}"})
    anonymous = listed[11]  # ChargeItem CI-1
    del anonymous["identifier"], anonymous["id"]
    path = tmp_path / "anonymous.ndjson"
    path.write_text("".join(_dumps(r) + "\n" for r in listed), encoding="utf-8")
    out = read_export(path, config)
    held = [h for h in out.held if "line 12" in h.source.position]
    assert len(held) == 1 and held[0].charge_id is None and "no charge id" in held[0].reason
    assert out.accounted == out.units_in == 5


def test_a_cancelled_encounter_maps_to_visit_status_cancelled(tmp_path: Path, config: EhrConfig) -> None:
    # FHIR R4 encounter-status: "cancelled" (the visit did not happen) and "entered-in-error" map to the
    # contract's visit_status cancelled (docs/ehr-feeds.md); both the Claim items and the ChargeItem of e1.
    for status in ("cancelled", "entered-in-error"):
        listed = resources(lambda kind, identifier: {"reference": f"{kind}/{identifier}"})
        (encounter,) = [r for r in listed if r["resourceType"] == "Encounter"]
        encounter["status"] = status
        path = tmp_path / f"{status}.ndjson"
        path.write_text("".join(_dumps(r) + "\n" for r in listed), encoding="utf-8")
        out = FhirReader().read(path, config)
        assert out.rows == [row | {"visit_status": "cancelled"} for row in EXPECTED], status
