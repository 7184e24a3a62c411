"""FHIR R4 reader: Bundles (collection, transaction, batch, searchset) and bulk-data NDJSON into contract rows.

Charges come from Claim items (one row per ``Claim.item``) and ChargeItems (one row each); Patient, Coverage,
Encounter, Organization, Practitioner, RelatedPerson and Condition are resolved by reference within the Bundle or
the NDJSON file. Every resource a charge uses is validated with fhir.resources' R4B models (its top-level models
are R5 and reject R4): a charge whose resource fails is held with the validator's message (field path and rule,
never the value); a charge whose reference resolves to nothing is held as dangling. The mapping of every contract
column is in docs/ehr-feeds.md.

NDJSON is read in two passes, line by line: the first keeps the referenceable resources (indexed by ``Type/id``)
and the line numbers of charges, the second maps each charge as it reads its line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.ehr.base import (
    HOLD_BROKEN_MESSAGE,
    HOLD_DANGLING_REFERENCE,
    HOLD_R4B_INVALID,
    HOLD_UNKNOWN_CHARGEMASTER_CODE,
    HOLD_UNKNOWN_FACILITY,
    HOLD_UNMAPPED_PLAN,
    HOLD_UNSUPPORTED,
    ExportRows,
    HeldCharge,
    SourceRef,
)
from connectors.ehr.config import EhrConfig, Facility
from connectors.ehr.csv_export import UnreadableExport
from connectors.ehr.files import BOM, file_sha256
from revcycle import exports
from revcycle.charge_export import (
    INSTITUTIONAL_CLAIM_COLUMNS,
    MAX_DIAGNOSES,
    MAX_MODIFIERS,
    OTHER_COVERAGE_COLUMNS,
    VISIT_CANCELLED,
)

NAME = "fhir"
CHARGE_TYPES = frozenset({"Claim", "ChargeItem"})
REFERENCEABLE = frozenset(
    {"Patient", "Coverage", "Encounter", "Organization", "Practitioner", "RelatedPerson", "Condition", "Location"}
)
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
PROCEDURE_SYSTEMS = frozenset(
    {
        "http://www.ama-assn.org/go/cpt",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "urn:oid:2.16.840.1.113883.6.12",  # CPT-4
        "urn:oid:2.16.840.1.113883.6.285",  # HCPCS
    }
)
# Coverage.relationship (http://terminology.hl7.org/CodeSystem/subscriber-relationship) onto the contract.
RELATIONSHIPS = {"self": "self", "spouse": "spouse", "child": "child", "common": "other", "parent": "other"}
RELATIONSHIPS |= {"other": "other", "injured": "other"}
SEXES = {"male": "M", "female": "F"}
RENDERING_ROLES = frozenset({"primary", "rendering", "performing"})
BILLABLE_CHARGE_ITEM = frozenset({"billable", "billed", "planned"})
# Encounter.status (FHIR R4 value set encounter-status) meaning the visit did not happen or was recorded in
# error: the contract's visit_status cancelled (docs/ehr-feeds.md).
CANCELLED_ENCOUNTER = frozenset({"cancelled", "entered-in-error"})


class HeldError(Exception):
    """A charge cannot be mapped: the rule and a reason naming element paths, never values."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


def _type(resource: Any) -> str:
    """A resource's resourceType, or '' when it is missing or not text."""
    value = resource.get("resourceType") if isinstance(resource, dict) else None
    return value if isinstance(value, str) else ""


def _loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def _validation_message(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False)[:3]:
        location = ".".join(str(part) for part in item.get("loc", ()))
        problems.append(f"{location or '(resource)'}: {item.get('msg', 'invalid')}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def _model_class(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


@dataclass
class _Entry:
    """One resource of the input: where it stood, the resource, and its R4B verdict (computed once)."""

    position: str
    resource: dict[str, Any]
    verdict: str | None = None
    validated: bool = False

    @property
    def label(self) -> str:
        return f"{_type(self.resource) or 'resource'} at {self.position}"

    def problem(self) -> str | None:
        """None when the R4B model accepts the resource, else the validator's message."""
        if not self.validated:
            self.validated = True
            try:
                model = _model_class(_type(self.resource) or "(none)")
            except (KeyError, ValueError, ImportError, AttributeError):
                self.verdict = f"resourceType {_type(self.resource) or '(none)'} is not an R4B resource"
                return self.verdict
            try:
                model.model_validate(self.resource)
            except ValidationError as error:
                self.verdict = _validation_message(error)
            except (ValueError, TypeError) as error:
                self.verdict = type(error).__name__
        return self.verdict


class _Index:
    """Referenceable resources by full URL and by ``Type/id``."""

    def __init__(self) -> None:
        self.by_key: dict[str, _Entry] = {}

    def add(self, entry: _Entry, full_url: str | None = None) -> None:
        resource = entry.resource
        if isinstance(full_url, str) and full_url:
            self.by_key[full_url] = entry
        if resource.get("id"):
            self.by_key[f"{_type(resource)}/{resource['id']}"] = entry

    def resolve(self, reference: Any, element: str, holder: _Entry, expected: tuple[str, ...]) -> _Entry:
        """The resource a Reference points at; a dangling or unreadable one holds the charge."""
        text = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(text, str) or not text:
            raise HeldError(HOLD_DANGLING_REFERENCE, f"{element} of {holder.label} has no reference")
        found = self._lookup(text, holder)
        if found is None or _type(found.resource) not in expected:
            raise HeldError(
                HOLD_DANGLING_REFERENCE,
                f"{element} of {holder.label} refers to a {' or '.join(expected)} that is not in the file",
            )
        problem = found.problem()
        if problem is not None:
            raise HeldError(HOLD_R4B_INVALID, f"{found.label} fails R4B validation: {problem}")
        return found

    def _lookup(self, text: str, holder: _Entry) -> _Entry | None:
        if text.startswith("#"):
            for contained in holder.resource.get("contained") or []:
                if isinstance(contained, dict) and contained.get("id") == text[1:]:
                    return _Entry(f"{holder.position} contained {text[1:]}", contained)
            return None
        if text in self.by_key:
            return self.by_key[text]
        parts = [p for p in text.split("/") if p]
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        if len(parts) >= 2:
            return self.by_key.get(f"{parts[-2]}/{parts[-1]}")
        return None


def _coding(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _first_code(concept: Any) -> str:
    codes = [str(c.get("code") or "") for c in _coding(concept)]
    return next((c for c in codes if c), "")


def _identifiers(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    identifiers = resource.get("identifier")
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if isinstance(identifier, dict) and identifier.get("value"):
            found.append((str(identifier.get("system") or ""), str(identifier["value"])))
    return found


def _npi(resource: Mapping[str, Any]) -> str:
    return next((value for system, value in _identifiers(resource) if system == NPI_SYSTEM), "")


def _name(resource: Mapping[str, Any]) -> tuple[str, str]:
    names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = official.get("given") or []
    return str(official.get("family") or ""), str(given[0]) if given else ""


def _address(resource: Mapping[str, Any]) -> dict[str, str]:
    addresses = [a for a in resource.get("address") or [] if isinstance(a, dict)]
    address = addresses[0] if addresses else {}
    lines = address.get("line") or []
    return {
        "address1": str(lines[0]) if lines else "",
        "city": str(address.get("city") or ""),
        "state": str(address.get("state") or ""),
        "zip": str(address.get("postalCode") or "").replace("-", ""),
    }


def _person_columns(prefix: str, resource: Mapping[str, Any]) -> dict[str, str]:
    family, given = _name(resource)
    gender = str(resource.get("gender") or "")
    return {
        f"{prefix}_last_name": family,
        f"{prefix}_first_name": given,
        f"{prefix}_birth_date": str(resource.get("birthDate") or ""),
        f"{prefix}_sex": SEXES.get(gender, "U") if gender else "",
        **{f"{prefix}_{key}": value for key, value in _address(resource).items()},
    }


def _mrn(patient: Mapping[str, Any]) -> str:
    for identifier in patient.get("identifier") or []:
        if isinstance(identifier, dict) and _first_code(identifier.get("type")) == "MR" and identifier.get("value"):
            return str(identifier["value"])
    values = _identifiers(patient)
    return values[0][1] if values else str(patient.get("id") or "")


def _number(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value)


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a malformed element maps to nothing)."""
    return value if isinstance(value, dict) else {}


def _rank(value: Any) -> int:
    """An ordering number (sequence, rank, order); absent or not an integer sorts last."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 10**6


def _date(text: Any) -> str:
    return str(text)[:10] if text else ""


class _Mapper:
    """Maps the charges of one input onto contract rows, resolving references through the index."""

    def __init__(self, out: ExportRows, index: _Index, config: EhrConfig) -> None:
        self.out = out
        self.index = index
        self.config = config
        self.coverage_by_patient: dict[str, _Entry] | None = None

    def charge(self, entry: _Entry) -> None:
        """Map one Claim (every item) or ChargeItem; anything it cannot map is held, nothing dropped."""
        kind = _type(entry.resource)
        items = entry.resource.get("item") if kind == "Claim" else [None]
        if not isinstance(items, list) or not items:
            self.out.problems.append(f"{self.out.path.name} {entry.label}: a Claim without items carries no charge")
            return
        for number, item in enumerate(items, start=1):
            self.out.units_in += 1
            where = entry.position if kind == "ChargeItem" else f"{entry.position} item {number}"
            source = SourceRef(self.out.path.name, f"{where} ({kind})")
            charge_id = self._charge_id(entry, item, number)
            if charge_id is None:
                reason = f"{source}: the {kind} has neither an identifier nor an id, so no charge id"
                self.out.hold(HeldCharge(source, HOLD_BROKEN_MESSAGE, reason, None, "CG"))
                continue
            try:
                problem = entry.problem()
                if problem is not None:
                    raise HeldError(HOLD_R4B_INVALID, f"{entry.label} fails R4B validation: {problem}")
                if kind == "Claim":
                    row = self._claim_item(entry, item if isinstance(item, dict) else {})
                else:
                    row = self._charge_item(entry)
            except HeldError as held:
                self.out.hold(HeldCharge(source, held.rule, f"{source}: {held.reason}", charge_id, "CG"))
                continue
            row["charge_id"] = charge_id
            self.out.add_row(row, source)

    def _charge_id(self, entry: _Entry, item: Any, number: int) -> str | None:
        resource = entry.resource
        values = _identifiers(resource)
        base = values[0][1] if values else str(resource.get("id") or "")
        if _type(resource) == "ChargeItem":
            return base or None
        sequence = item.get("sequence") if isinstance(item, dict) else None
        return f"{base}-{sequence if sequence is not None else number}" if base else None

    # -- the parts both charge resources share ------------------------------------------------------------------

    def _patient_and_coverage(self, entry: _Entry, patient_ref: Any, coverage_ref: Any, path: str) -> dict[str, str]:
        patient = self.index.resolve(patient_ref, f"{path}", entry, ("Patient",))
        if coverage_ref is not None:
            coverage = self.index.resolve(coverage_ref, "Claim.insurance.coverage", entry, ("Coverage",))
        else:
            coverage = self._coverage_of(patient, entry)
        row = {"patient_mrn": _mrn(patient.resource), **_person_columns("patient", patient.resource)}
        cov = coverage.resource
        relationship_code = _first_code(cov.get("relationship"))
        relationship = RELATIONSHIPS.get(relationship_code, "other" if relationship_code else "")
        if cov.get("subscriber") is not None:
            subscriber = self.index.resolve(
                cov.get("subscriber"), "Coverage.subscriber", coverage, ("Patient", "RelatedPerson")
            ).resource
        elif relationship == "self":
            subscriber = patient.resource
        else:
            subscriber = {}
        group = next(
            (str(c.get("value") or "") for c in cov.get("class") or [] if _first_code(c.get("type")) == "group"), ""
        )
        member_ids = _identifiers(cov)
        row |= {
            "relationship": relationship,
            **_person_columns("subscriber", subscriber),
            "member_id": str(cov.get("subscriberId") or (member_ids[0][1] if member_ids else "")),
            "group_number": group,
        }
        payors = cov.get("payor") or []
        if not payors:
            raise HeldError(HOLD_UNMAPPED_PLAN, f"{coverage.label} has no Coverage.payor")
        payor = payors[0]
        if isinstance(payor, dict) and not payor.get("reference") and isinstance(payor.get("identifier"), dict):
            plan_ids = [str(payor["identifier"].get("value") or "")]
        else:
            organization = self.index.resolve(payor, "Coverage.payor", coverage, ("Organization",))
            plan_ids = [value for _system, value in _identifiers(organization.resource)]
        plan = self.config.plan(plan_ids)
        if plan is None:
            raise HeldError(
                HOLD_UNMAPPED_PLAN, f"the payer of {coverage.label} is not in the plan crosswalk (ehr.toml [[plans]])"
            )
        row |= {"payer_id": plan.payer_id, "claim_filing_indicator": plan.claim_filing_indicator}
        return row

    def _coverage_of(self, patient: _Entry, holder: _Entry) -> _Entry:
        """The Coverage whose beneficiary is the patient (lowest ``order`` first), for ChargeItems."""
        if self.coverage_by_patient is None:
            ranked: dict[str, tuple[int, _Entry]] = {}
            for candidate in {id(e): e for e in self.index.by_key.values()}.values():
                resource = candidate.resource
                if _type(resource) != "Coverage" or resource.get("status") in ("cancelled",):
                    continue
                target = self.index._lookup(str(_object(resource.get("beneficiary")).get("reference") or ""), candidate)
                if target is None:
                    continue
                order = _rank(resource.get("order"))
                key = str(id(target))
                if key not in ranked or order < ranked[key][0]:
                    ranked[key] = (order, candidate)
            self.coverage_by_patient = {key: entry for key, (_order, entry) in ranked.items()}
        found = self.coverage_by_patient.get(str(id(patient)))
        if found is None:
            raise HeldError(HOLD_DANGLING_REFERENCE, f"no Coverage in the file has the patient of {holder.label}")
        problem = found.problem()
        if problem is not None:
            raise HeldError(HOLD_R4B_INVALID, f"{found.label} fails R4B validation: {problem}")
        return found

    def _facility(self, organization: _Entry | None, holder: _Entry) -> Facility:
        keys = [value for _system, value in _identifiers(organization.resource)] if organization else []
        facility = self.config.facility(*keys)
        if facility is None and organization is not None:
            facility = self.config.facility_by_npi(_npi(organization.resource))
        if facility is None:
            raise HeldError(
                HOLD_UNKNOWN_FACILITY, f"the billing organization of {holder.label} is not a configured facility"
            )
        return facility

    def _practitioner(self, reference: Any, element: str, holder: _Entry) -> tuple[str, str, str]:
        practitioner = self.index.resolve(reference, element, holder, ("Practitioner",)).resource
        family, given = _name(practitioner)
        return _npi(practitioner), family, given

    def _procedure(self, concept: Any, element: str, holder: _Entry) -> tuple[str, list[str]]:
        codings = _coding(concept)
        for coding in codings:
            if coding.get("system") in PROCEDURE_SYSTEMS and coding.get("code"):
                return str(coding["code"]).upper(), []
        for coding in codings:
            code = str(coding.get("code") or "")
            entry = self.config.chargemaster.get(code) if code else None
            if entry is not None:
                return entry.procedure_code, list(entry.modifiers)
        if any(c.get("code") for c in codings):
            raise HeldError(
                HOLD_UNKNOWN_CHARGEMASTER_CODE,
                f"{element} of {holder.label} is neither CPT/HCPCS nor a code of the chargemaster",
            )
        return "", []

    @staticmethod
    def _diagnosis_columns(diagnoses: list[str], pointers: list[str]) -> dict[str, str]:
        if len(diagnoses) > MAX_DIAGNOSES:
            raise HeldError(HOLD_UNSUPPORTED, f"{len(diagnoses)} diagnoses, the contract carries {MAX_DIAGNOSES}")
        return {
            **{f"diagnosis{i}": (diagnoses[i - 1] if i <= len(diagnoses) else "") for i in range(1, MAX_DIAGNOSES + 1)},
            "diagnosis_pointers": ":".join(pointers),
        }

    @staticmethod
    def _modifier_columns(modifiers: list[str]) -> dict[str, str]:
        if len(modifiers) > MAX_MODIFIERS:
            raise HeldError(HOLD_UNSUPPORTED, f"{len(modifiers)} modifiers, the contract carries {MAX_MODIFIERS}")
        return {f"modifier{i}": (modifiers[i - 1] if i <= len(modifiers) else "") for i in range(1, MAX_MODIFIERS + 1)}

    # -- Claim --------------------------------------------------------------------------------------------------

    def _claim_item(self, entry: _Entry, item: dict[str, Any]) -> dict[str, str]:
        claim = entry.resource
        insurances = [i for i in claim.get("insurance") or [] if isinstance(i, dict)]
        insurance = next((i for i in insurances if i.get("focal") is True), insurances[0] if insurances else None)
        if insurance is None:
            raise HeldError(HOLD_UNMAPPED_PLAN, f"{entry.label} has no Claim.insurance")
        row = self._patient_and_coverage(entry, claim.get("patient"), insurance.get("coverage"), "Claim.patient")
        provider = self.index.resolve(claim.get("provider"), "Claim.provider", entry, ("Organization", "Practitioner"))
        encounters = [e for e in item.get("encounter") or [] if isinstance(e, dict)]
        encounter = (
            self.index.resolve(encounters[0], "Claim.item.encounter", entry, ("Encounter",)) if encounters else None
        )
        organization = provider if _type(provider.resource) == "Organization" else None
        if organization is None and encounter is not None and encounter.resource.get("serviceProvider"):
            organization = self.index.resolve(
                encounter.resource["serviceProvider"], "Encounter.serviceProvider", encounter, ("Organization",)
            )
        facility = self._facility(organization, entry)
        row |= dict(facility.billing)
        encounter_ids = _identifiers(encounter.resource) if encounter else []
        row["encounter_id"] = (
            encounter_ids[0][1] if encounter_ids else str((encounter or entry).resource.get("id") or "")
        )
        row["visit_status"] = _visit_status(encounter.resource if encounter else None)
        team = {_rank(t.get("sequence")): t for t in claim.get("careTeam") or [] if isinstance(t, dict)}
        rendering = ("", "", "")
        chosen = [team[s] for s in item.get("careTeamSequence") or [] if s in team]
        chosen += [t for t in team.values() if _first_code(t.get("role")) in RENDERING_ROLES]
        if chosen:
            rendering = self._practitioner(chosen[0].get("provider"), "Claim.careTeam.provider", entry)
        referring = ("", "", "")
        referrers = [t for t in team.values() if _first_code(t.get("role")) == "referring"]
        if referrers:
            referring = self._practitioner(referrers[0].get("provider"), "Claim.careTeam.provider", entry)
        sequences: list[tuple[int, str]] = []
        for diagnosis in claim.get("diagnosis") or []:
            if not isinstance(diagnosis, dict):
                continue
            if diagnosis.get("diagnosisCodeableConcept") is not None:
                code = _first_code(diagnosis["diagnosisCodeableConcept"])
            else:
                condition = self.index.resolve(
                    diagnosis.get("diagnosisReference"), "Claim.diagnosis.diagnosisReference", entry, ("Condition",)
                )
                code = _first_code(condition.resource.get("code"))
            sequences.append((_rank(diagnosis.get("sequence")), code))
        sequences.sort()
        diagnoses = [code for _sequence, code in sequences]
        order = {sequence: position for position, (sequence, _code) in enumerate(sequences, start=1)}
        pointers = [str(order.get(s, s)) for s in item.get("diagnosisSequence") or []]
        procedure, modifiers = self._procedure(item.get("productOrService"), "Claim.item.productOrService", entry)
        modifiers = [_first_code(m) for m in item.get("modifier") or [] if _first_code(m)] or modifiers
        period = _object(item.get("servicedPeriod"))
        start = _date(item.get("servicedDate") or period.get("start"))
        end = _date(period.get("end")) or start
        quantity = _object(item.get("quantity"))
        net = _object(item.get("net"))
        amount = _number(net.get("value"))
        if not amount:
            unit_price = _object(item.get("unitPrice")).get("value")
            try:
                amount = str(Decimal(str(unit_price)) * Decimal(str(quantity.get("value", 1))))
            except (InvalidOperation, ValueError):
                amount = ""
        place = _first_code(item.get("locationCodeableConcept")) or facility.place_of_service
        claim_type = _first_code(claim.get("type"))
        pre_auth = [str(p) for p in insurance.get("preAuthRef") or [] if p]
        row |= {
            "rendering_npi": rendering[0],
            "rendering_last_name": rendering[1],
            "rendering_first_name": rendering[2],
            "referring_npi": referring[0],
            "referring_last_name": referring[1],
            "referring_first_name": referring[2],
            "place_of_service": place,
            "claim_type": claim_type if claim_type in ("professional", "institutional") else facility.claim_type,
            "type_of_bill": "",
            "revenue_code": _first_code(item.get("revenue")),
            **dict.fromkeys(INSTITUTIONAL_CLAIM_COLUMNS, ""),
            **dict.fromkeys(OTHER_COVERAGE_COLUMNS, ""),
            "service_date_from": start,
            "service_date_to": end,
            "procedure_code": procedure,
            **self._modifier_columns(modifiers),
            "units": _number(quantity.get("value")),
            "charge_amount": amount,
            **self._diagnosis_columns(diagnoses, pointers),
            "prior_authorization": pre_auth[0] if pre_auth else "",
            "claim_frequency_code": "1",
            "original_claim_number": "",
        }
        return row

    # -- ChargeItem ---------------------------------------------------------------------------------------------

    def _charge_item(self, entry: _Entry) -> dict[str, str]:
        item = entry.resource
        status = str(item.get("status") or "")
        if status not in BILLABLE_CHARGE_ITEM:
            raise HeldError(HOLD_UNSUPPORTED, f"ChargeItem.status is {status or 'empty'}, not billable")
        row = self._patient_and_coverage(entry, item.get("subject"), None, "ChargeItem.subject")
        encounter = self.index.resolve(item.get("context"), "ChargeItem.context", entry, ("Encounter",))
        enc = encounter.resource
        organization = None
        if enc.get("serviceProvider") is not None:
            organization = self.index.resolve(
                enc["serviceProvider"], "Encounter.serviceProvider", encounter, ("Organization",)
            )
        facility = self._facility(organization, entry)
        row |= dict(facility.billing)
        encounter_ids = _identifiers(enc)
        row["encounter_id"] = encounter_ids[0][1] if encounter_ids else str(enc.get("id") or "")
        row["visit_status"] = _visit_status(enc)
        ranked: list[tuple[int, int, str]] = []
        for position, diagnosis in enumerate(enc.get("diagnosis") or []):
            if not isinstance(diagnosis, dict):
                continue
            condition = self.index.resolve(
                diagnosis.get("condition"), "Encounter.diagnosis.condition", encounter, ("Condition",)
            )
            rank = _rank(diagnosis.get("rank"))
            ranked.append((rank, position, _first_code(condition.resource.get("code"))))
        diagnoses: list[str] = []
        for _order, _position, code in sorted(ranked):
            if code and code not in diagnoses:
                diagnoses.append(code)
        line_codes = [_first_code(r) for r in item.get("reason") or [] if _first_code(r)]
        for code in line_codes:
            if code not in diagnoses:
                diagnoses.append(code)
        pointed = line_codes or diagnoses[:4]
        pointers = [str(diagnoses.index(code) + 1) for code in dict.fromkeys(pointed)]
        referring = ("", "", "")
        for participant in enc.get("participant") or []:
            types = [_first_code(t) for t in participant.get("type") or []] if isinstance(participant, dict) else []
            if "REF" in types:
                referring = self._practitioner(participant.get("individual"), "Encounter.participant.individual", entry)
                break
        rendering = ("", "", "")
        performers = [p for p in item.get("performer") or [] if isinstance(p, dict)]
        if performers:
            rendering = self._practitioner(performers[0].get("actor"), "ChargeItem.performer.actor", entry)
        procedure, modifiers = self._procedure(item.get("code"), "ChargeItem.code", entry)
        period = _object(item.get("occurrencePeriod"))
        start = _date(item.get("occurrenceDateTime") or period.get("start"))
        end = _date(period.get("end")) or start
        quantity = _object(item.get("quantity"))
        price = _object(item.get("priceOverride"))
        row |= {
            "rendering_npi": rendering[0],
            "rendering_last_name": rendering[1],
            "rendering_first_name": rendering[2],
            "referring_npi": referring[0],
            "referring_last_name": referring[1],
            "referring_first_name": referring[2],
            "place_of_service": facility.place_of_service,
            "claim_type": facility.claim_type,
            "type_of_bill": "",
            "revenue_code": "",
            **dict.fromkeys(INSTITUTIONAL_CLAIM_COLUMNS, ""),
            **dict.fromkeys(OTHER_COVERAGE_COLUMNS, ""),
            "service_date_from": start,
            "service_date_to": end,
            "procedure_code": procedure,
            **self._modifier_columns(modifiers),
            "units": _number(quantity.get("value")),
            "charge_amount": _number(price.get("value")),
            **self._diagnosis_columns(diagnoses, pointers),
            "prior_authorization": "",
            "claim_frequency_code": "1",
            "original_claim_number": "",
        }
        return row


def _visit_status(encounter: Mapping[str, Any] | None) -> str:
    """The contract's ``visit_status`` of an Encounter: ``cancelled`` for status cancelled or entered-in-error."""
    status = str((encounter or {}).get("status") or "")
    return VISIT_CANCELLED if status in CANCELLED_ENCOUNTER else ""


def _bundle_entries(document: Any) -> Iterator[tuple[str, str | None, Any]]:
    if _type(document) != "Bundle":
        yield "resource 1", None, document
        return
    for number, item in enumerate(document.get("entry") or [], start=1):
        if isinstance(item, dict):
            yield f"entry {number}", item.get("fullUrl"), item.get("resource")


def _hold_unreadable_charge(out: ExportRows, position: str, resource: Any, reason: str) -> None:
    """A charge resource that is not even an object of the right shape: held, counted."""
    kind = _type(resource) or "resource"
    items = resource.get("item") if isinstance(resource, dict) and kind == "Claim" else None
    count = len(items) if isinstance(items, list) and items else 1
    for number in range(1, count + 1):
        where = position if count == 1 else f"{position} item {number}"
        source = SourceRef(out.path.name, f"{where} ({kind})")
        out.hold(HeldCharge(source, HOLD_BROKEN_MESSAGE, f"{source}: {reason}", None, "CG"))
    out.units_in += count


class FhirReader:
    """FHIR R4 JSON (a Bundle or one resource) or bulk-data NDJSON (one resource per line)."""

    name: str = NAME
    suffixes: tuple[str, ...] = (".json", ".ndjson", ".jsonl", ".fhir")

    def recognises(self, head: bytes) -> bool:
        """A JSON object mentioning resourceType near its start."""
        return head[:1] == b"{" and b'"resourceType"' in head

    def read(self, path: Path, config: EhrConfig) -> ExportRows:
        """Read a Bundle, a single resource, or NDJSON (told apart by whether the first line is a whole object)."""
        out = ExportRows(path=path, format=NAME, sha256=file_sha256(path), size=path.stat().st_size)
        if self._is_ndjson(path):
            self._read_ndjson(path, config, out)
        else:
            self._read_document(path, config, out)
        return out

    @staticmethod
    def _is_ndjson(path: Path) -> bool:
        with path.open("rb") as handle:
            for line in handle:
                text = line.strip().removeprefix(BOM)
                if not text:
                    continue
                try:
                    first = _loads(text)
                except (ValueError, UnicodeDecodeError):
                    return False  # a pretty-printed document: its first line is not a whole object
                return isinstance(first, dict) and _type(first) != "Bundle"
        return False

    def _read_document(self, path: Path, config: EhrConfig, out: ExportRows) -> None:
        try:
            document = _loads(path.read_bytes().removeprefix(BOM))
        except (ValueError, UnicodeDecodeError):
            raise UnreadableExport(path.name, exports.not_fhir_json()) from None
        if not isinstance(document, dict):
            raise UnreadableExport(path.name, exports.fhir_not_one_object())
        index = _Index()
        charges: list[_Entry] = []
        for position, full_url, resource in _bundle_entries(document):
            if not isinstance(resource, dict):
                out.problems.append(f"{path.name} {position}: an entry without a resource")
                continue
            entry = _Entry(position, resource)
            kind = _type(resource)
            if kind in CHARGE_TYPES:
                charges.append(entry)
            index.add(entry, full_url)
        mapper = _Mapper(out, index, config)
        for entry in charges:
            mapper.charge(entry)

    def _read_ndjson(self, path: Path, config: EhrConfig, out: ExportRows) -> None:
        index = _Index()
        charge_lines: list[int] = []
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.strip().removeprefix(BOM) if number == 1 else line.strip()
                if not text:
                    continue
                try:
                    resource = _loads(text)
                except (ValueError, UnicodeDecodeError):
                    resource = None
                if not isinstance(resource, dict):
                    if b'"Claim"' in text or b'"ChargeItem"' in text:
                        charge_lines.append(number)  # mapped (and held) in the second pass
                    else:
                        out.problems.append(f"{path.name} line {number}: not a JSON object, skipped")
                    continue
                if _type(resource) in CHARGE_TYPES:
                    charge_lines.append(number)
                else:
                    index.add(_Entry(f"line {number}", resource))
        mapper = _Mapper(out, index, config)
        wanted = iter(charge_lines)
        target = next(wanted, None)
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number != target:
                    continue
                target = next(wanted, None)
                try:
                    resource = _loads(line.strip().removeprefix(BOM))
                except (ValueError, UnicodeDecodeError):
                    resource = None
                if not isinstance(resource, dict):
                    _hold_unreadable_charge(out, f"line {number}", None, "the line is not valid JSON")
                    continue
                mapper.charge(_Entry(f"line {number}", resource))
