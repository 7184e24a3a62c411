"""The synthetic EHR's FHIR R4 writer: a Bundle or bulk-data NDJSON of Patient, RelatedPerson, Coverage,
Organization, Practitioner, Encounter and one Claim per encounter (one item per charge line).

Written from the FHIR R4 resource definitions, independently of the reader in ``connectors/ehr/fhir_r4.py`` (they
share no mapping code). The contract's charge id of a Claim item is ``<Claim.identifier.value>-<item.sequence>``
(docs/ehr-feeds.md); ``write_fhir`` returns the map from the CSV charge id to it, so ground truth can follow.
Money and quantities are written as JSON numbers with their exact decimal text.

Format defects: ``dangling_reference`` points Claim.insurance.coverage at a Coverage that is not in the file,
``r4b_invalid`` writes a Claim.created that is not a date, ``unknown_chargemaster_code`` codes an item with a
charge code the chargemaster does not have.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from revcycle.charge_export import MAX_DIAGNOSES
from revcycle.synth_ehr import CHARGEMASTER, UNKNOWN_CHARGE_CODE, charge_code, encounters, facility_codes, plan_id

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
CHARGEMASTER_SYSTEM = "urn:synthetic-ehr:chargemaster"
FACILITY_SYSTEM = "urn:synthetic-ehr:facility"
PLAN_SYSTEM = "urn:synthetic-ehr:plan"
ENCOUNTER_SYSTEM = "urn:synthetic-ehr:visit"
CLAIM_SYSTEM = "urn:synthetic-ehr:claim"
_GENDER = {"M": "male", "F": "female", "U": "unknown"}
_CATALOGUE = frozenset(CHARGEMASTER.values())
_NAMESPACE = uuid.UUID("6f1c7e52-8d0b-4b8e-9a3e-2d5b7c1a9e40")
_DECIMAL_MARK = "\u0000decimal:"
_JSON_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _uses_chargemaster(charge_id: str) -> bool:
    """About one item in three is coded with only the chargemaster code (stable per charge id)."""
    return hashlib.sha256(f"fhir:{charge_id}".encode()).digest()[0] % 3 == 0


def _money(text: str) -> str:
    return _DECIMAL_MARK + text


def _address(row: Mapping[str, str], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "line": [row[f"{prefix}_address1"]],
            "city": row[f"{prefix}_city"],
            "state": row[f"{prefix}_state"],
            "postalCode": row[f"{prefix}_zip"],
        }
    ]


def _person(row: Mapping[str, str], prefix: str) -> dict[str, Any]:
    return {
        "name": [{"family": row[f"{prefix}_last_name"], "given": [row[f"{prefix}_first_name"]]}],
        "gender": _GENDER.get(row[f"{prefix}_sex"], "unknown"),
        "birthDate": row[f"{prefix}_birth_date"],
        "address": _address(row, prefix),
    }


def _practitioner(npi: str, last: str, first: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": f"pr-{npi}",
        "identifier": [{"system": NPI, "value": npi}],
        "name": [{"family": last, "given": [first]}],
    }


def _procedure(code: str, charge_id: str, defect: str | None) -> dict[str, Any]:
    if defect == "unknown_chargemaster_code":
        return {"coding": [{"system": CHARGEMASTER_SYSTEM, "code": UNKNOWN_CHARGE_CODE}]}
    if code in _CATALOGUE and _uses_chargemaster(charge_id):
        return {"coding": [{"system": CHARGEMASTER_SYSTEM, "code": charge_code(code)}]}
    system = HCPCS if code[:1].isalpha() else CPT
    return {"coding": [{"system": system, "code": code}]}


def fhir_resources(
    rows: Iterable[Mapping[str, str]],
    *,
    created: date,
    format_defects: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The resources for ``rows`` (shared ones once) and the map CSV charge id -> contract charge id."""
    defects = format_defects or {}
    materialised = list(rows)
    facilities = facility_codes(materialised)
    shared: dict[str, dict[str, Any]] = {}
    resources: list[dict[str, Any]] = []
    charge_ids: dict[str, str] = {}
    for number, lines in enumerate(encounters(materialised), start=1):
        head = lines[0]
        npi = head["billing_npi"]
        shared.setdefault(
            f"Organization/org-{facilities[npi]}",
            {
                "resourceType": "Organization",
                "id": f"org-{facilities[npi]}",
                "identifier": [{"system": FACILITY_SYSTEM, "value": facilities[npi]}, {"system": NPI, "value": npi}],
                "name": head["billing_name"],
            },
        )
        shared.setdefault(
            f"Organization/payer-{head['payer_id']}",
            {
                "resourceType": "Organization",
                "id": f"payer-{head['payer_id']}",
                "identifier": [{"system": PLAN_SYSTEM, "value": plan_id(head["payer_id"])}],
                "name": head["payer_id"],
            },
        )
        patient_id, coverage_id = f"pat-{number}", f"cov-{number}"
        resources.append(
            {
                "resourceType": "Patient",
                "id": patient_id,
                "identifier": [
                    {
                        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                        "value": head["patient_mrn"],
                    }
                ],
                **_person(head, "patient"),
            }
        )
        coverage: dict[str, Any] = {
            "resourceType": "Coverage",
            "id": coverage_id,
            "status": "active",
            "subscriberId": head["member_id"],
            "beneficiary": {"reference": f"Patient/{patient_id}"},
            "relationship": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                        "code": head["relationship"],
                    }
                ]
            },
            "payor": [{"reference": f"Organization/payer-{head['payer_id']}"}],
        }
        if head["relationship"] == "self":
            coverage["subscriber"] = {"reference": f"Patient/{patient_id}"}
        else:
            resources.append(
                {
                    "resourceType": "RelatedPerson",
                    "id": f"rp-{number}",
                    "patient": {"reference": f"Patient/{patient_id}"},
                    **_person(head, "subscriber"),
                }
            )
            coverage["subscriber"] = {"reference": f"RelatedPerson/rp-{number}"}
        if head["group_number"]:
            coverage["class"] = [
                {
                    "type": {
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]
                    },
                    "value": head["group_number"],
                }
            ]
        resources.append(coverage)
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"enc-{number}",
                "identifier": [{"system": ENCOUNTER_SYSTEM, "value": head["encounter_id"]}],
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": {"reference": f"Patient/{patient_id}"},
                "serviceProvider": {"reference": f"Organization/org-{facilities[npi]}"},
            }
        )
        team: list[dict[str, Any]] = []
        team_sequence: dict[str, int] = {}
        for line in lines:
            if line["rendering_npi"] and line["rendering_npi"] not in team_sequence:
                shared.setdefault(
                    f"Practitioner/pr-{line['rendering_npi']}",
                    _practitioner(line["rendering_npi"], line["rendering_last_name"], line["rendering_first_name"]),
                )
                team_sequence[line["rendering_npi"]] = len(team) + 1
                team.append(
                    {
                        "sequence": len(team) + 1,
                        "provider": {"reference": f"Practitioner/pr-{line['rendering_npi']}"},
                        "role": {"coding": [{"code": "primary"}]},
                    }
                )
        if head["referring_npi"]:
            shared.setdefault(
                f"Practitioner/pr-{head['referring_npi']}",
                _practitioner(head["referring_npi"], head["referring_last_name"], head["referring_first_name"]),
            )
            team.append(
                {
                    "sequence": len(team) + 1,
                    "provider": {"reference": f"Practitioner/pr-{head['referring_npi']}"},
                    "role": {"coding": [{"code": "referring"}]},
                }
            )
        claim_identifier = f"{head['encounter_id']}-CLM"
        kinds = {defects.get(line["charge_id"]) for line in lines}
        insurance: dict[str, Any] = {
            "sequence": 1,
            "focal": True,
            "coverage": {"reference": f"Coverage/{coverage_id}" + ("-gone" if "dangling_reference" in kinds else "")},
        }
        if head["prior_authorization"]:
            insurance["preAuthRef"] = [head["prior_authorization"]]
        items = []
        for sequence, line in enumerate(lines, start=1):
            charge_ids[line["charge_id"]] = f"{claim_identifier}-{sequence}"
            item: dict[str, Any] = {
                "sequence": sequence,
                "diagnosisSequence": [int(p) for p in line["diagnosis_pointers"].split(":") if p.isdigit()],
                "productOrService": _procedure(
                    line["procedure_code"], line["charge_id"], defects.get(line["charge_id"])
                ),
                "servicedDate": line["service_date_from"],
                "locationCodeableConcept": {"coding": [{"system": POS, "code": line["place_of_service"]}]},
                "quantity": {"value": _money(line["units"])},
                "net": {"value": _money(line["charge_amount"]), "currency": "USD"},
                "encounter": [{"reference": f"Encounter/enc-{number}"}],
            }
            if line["rendering_npi"]:
                item["careTeamSequence"] = [team_sequence[line["rendering_npi"]]]
            modifiers = [line[f"modifier{i}"] for i in range(1, 5) if line[f"modifier{i}"]]
            if modifiers:
                item["modifier"] = [{"coding": [{"code": m}]} for m in modifiers]
            if line["service_date_to"] and line["service_date_to"] != line["service_date_from"]:
                del item["servicedDate"]
                item["servicedPeriod"] = {"start": line["service_date_from"], "end": line["service_date_to"]}
            items.append(item)
        diagnoses = [head[f"diagnosis{i}"] for i in range(1, MAX_DIAGNOSES + 1) if head[f"diagnosis{i}"]]
        resources.append(
            {
                "resourceType": "Claim",
                "id": f"clm-{number}",
                "identifier": [{"system": CLAIM_SYSTEM, "value": claim_identifier}],
                "status": "active",
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": head["claim_type"]}
                    ]
                },
                "use": "claim",
                "patient": {"reference": f"Patient/{patient_id}"},
                "created": "2024-13-01" if "r4b_invalid" in kinds else created.isoformat(),
                "provider": {"reference": f"Organization/org-{facilities[npi]}"},
                "priority": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]
                },
                "careTeam": team or None,
                "diagnosis": [
                    {"sequence": i, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": code}]}}
                    for i, code in enumerate(diagnoses, start=1)
                ],
                "insurance": [insurance],
                "item": items,
            }
        )
    for resource in resources:
        if resource.get("careTeam") is None:
            resource.pop("careTeam", None)
    return list(shared.values()) + resources, charge_ids


def _dumps(value: Any) -> str:
    """JSON with the marked decimals written as bare numbers with their exact text ("135.00", not 135.0).

    A marked value that is not a number (a planted defect may be) is written as the string it is.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def number(match: re.Match[str]) -> str:
        raw = match.group(1)
        return raw if _JSON_NUMBER.fullmatch(raw) else json.dumps(raw)

    return re.sub('"\\\\u0000decimal:([^"]*)"', number, text)


def _full_url(resource: Mapping[str, Any]) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, resource['resourceType'] + '/' + resource['id'])}"


def write_fhir(
    rows: Iterable[Mapping[str, str]],
    path: Path,
    *,
    created: date,
    ndjson: bool,
    format_defects: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write a collection Bundle (``ndjson=False``) or NDJSON; returns CSV charge id -> contract charge id."""
    resources, charge_ids = fhir_resources(rows, created=created, format_defects=format_defects)
    path.parent.mkdir(parents=True, exist_ok=True)
    if ndjson:
        with path.open("w", encoding="utf-8") as handle:
            for resource in resources:
                handle.write(_dumps(resource) + "\n")
        return charge_ids
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": _full_url(r), "resource": r} for r in resources],
    }
    path.write_text(_dumps(bundle), encoding="utf-8")
    return charge_ids


def charge_id_map(rows: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """CSV charge id -> the contract charge id its Claim item gets (without writing anything)."""
    return fhir_resources(rows, created=date(2000, 1, 1))[1]
