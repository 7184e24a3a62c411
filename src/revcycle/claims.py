"""Build claims from clean charge rows: group, key, map, and apply the payer's companion-guide rules."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TypeVar

from revcycle.charge_export import MAX_DIAGNOSES, MAX_MODIFIERS, RELATIONSHIP_CODES
from revcycle.coverage import other_coverages
from revcycle.domain import Address, Claim, ClaimLine, ClaimType, Person, Provider
from revcycle.payers import PayerProfile
from revcycle.x12.write837i import is_inpatient_bill

MAX_LINES_PROFESSIONAL = 50
CLAIM_KEY_LENGTH = 17


def claim_key_for(encounter_id: str, payer_id: str, billing_npi: str) -> str:
    """The generated CLM01 of an encounter's claim: stable across reruns and corrections, never an MRN."""
    digest = hashlib.sha256(f"{encounter_id}\x1f{payer_id}\x1f{billing_npi}".encode()).digest()
    return "RC" + base64.b32encode(digest).decode()[: CLAIM_KEY_LENGTH - 2]


@dataclass(frozen=True)
class HeldClaim:
    """An encounter's charges that could not become a claim, with why (no PHI in ``reasons``)."""

    claim_key: str
    payer_id: str
    charge_ids: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass
class BuildResult:
    """What one build produced: claims to send and encounters held back."""

    claims: list[Claim] = field(default_factory=list)
    held: list[HeldClaim] = field(default_factory=list)


def _address(row: Mapping[str, str], prefix: str) -> Address:
    return Address(
        line1=row[f"{prefix}_address1"],
        city=row[f"{prefix}_city"],
        state=row[f"{prefix}_state"],
        zip_code=row[f"{prefix}_zip"],
    )


def _person(row: Mapping[str, str], prefix: str, claim_key: str) -> Person:
    return Person(
        last_name=row[f"{prefix}_last_name"],
        first_name=row[f"{prefix}_first_name"],
        birth_date=_read(row, f"{prefix}_birth_date", date.fromisoformat, claim_key),
        sex=row[f"{prefix}_sex"],
        address=_address(row, prefix),
    )


def _optional_provider(row: Mapping[str, str], prefix: str) -> Provider | None:
    npi = (row.get(f"{prefix}_npi") or "").strip()
    if not npi:
        return None
    return Provider(npi=npi, last_or_org_name=row[f"{prefix}_last_name"], first_name=row[f"{prefix}_first_name"])


class _UnbuildableClaim(ValueError):
    """Rows that passed validation but cannot form a claim (the message names ids only)."""


_T = TypeVar("_T")


def _read(row: Mapping[str, str], column: str, parse: Callable[[str], _T], claim_key: str) -> _T:
    """``parse`` of the row's value; a value it cannot read holds the claim, naming the column, not the value."""
    try:
        return parse(row[column])
    except (KeyError, ValueError, ArithmeticError):
        raise _UnbuildableClaim(
            f"claim {claim_key}: {column} of charge {row.get('charge_id', '?')} cannot be read"
        ) from None


def _claim_from_rows(
    rows: Sequence[Mapping[str, str]], payer: PayerProfile, claim_key: str, payers: Mapping[str, PayerProfile]
) -> Claim:
    head = rows[0]
    diagnoses: list[str] = []
    lines: list[ClaimLine] = []
    for number, row in enumerate(rows, start=1):
        own = [row.get(f"diagnosis{i}", "").replace(".", "").strip() for i in range(1, MAX_DIAGNOSES + 1)]
        pointers: list[int] = []
        for pointer in row["diagnosis_pointers"].split(":"):
            code = own[int(pointer) - 1] if pointer.isdigit() and 0 < int(pointer) <= MAX_DIAGNOSES else ""
            if not code:
                raise _UnbuildableClaim(
                    f"claim {claim_key}: a diagnosis pointer of {row['charge_id']} points at no diagnosis"
                )
            if code not in diagnoses:
                diagnoses.append(code)
            pointers.append(diagnoses.index(code) + 1)
        for code in own:
            if code and code not in diagnoses:
                diagnoses.append(code)
        start = _read(row, "service_date_from", date.fromisoformat, claim_key)
        end_text = (row.get("service_date_to") or "").strip()
        end = _read(row, "service_date_to", date.fromisoformat, claim_key) if end_text else None
        lines.append(
            ClaimLine(
                line_number=number,
                charge_id=row["charge_id"],
                procedure_code=row["procedure_code"].strip().upper(),
                charge=_read(row, "charge_amount", Decimal, claim_key),
                units=_read(row, "units", Decimal, claim_key),
                service_date=start,
                service_date_end=end if end and end != start else None,
                modifiers=tuple(
                    m.strip().upper()
                    for m in (row.get(f"modifier{i}", "") for i in range(1, MAX_MODIFIERS + 1))
                    if m and m.strip()
                ),
                diagnosis_pointers=tuple(pointers),
                place_of_service=row["place_of_service"],
                revenue_code=(row.get("revenue_code") or None),
            )
        )
    relationship = _read(head, "relationship", RELATIONSHIP_CODES.__getitem__, claim_key)
    subscriber = _person(head, "subscriber", claim_key)
    claim_type = _read(head, "claim_type", ClaimType, claim_key)
    patient = subscriber if relationship == "18" else _person(head, "patient", claim_key)
    try:
        others = other_coverages(head, payers, patient)
    except ValueError as problem:
        raise _UnbuildableClaim(f"claim {claim_key}: {problem} (charge {head.get('charge_id', '?')})") from None
    built = Claim(
        claim_key=claim_key,
        claim_type=claim_type,
        encounter_id=head["encounter_id"],
        payer_id=payer.payer_id,
        payer_name=payer.name,
        filing_indicator=head.get("claim_filing_indicator") or payer.filing_indicator,
        billing_provider=Provider(
            npi=head["billing_npi"],
            last_or_org_name=head["billing_name"],
            tax_id=head["billing_tax_id"],
            address=_address(head, "billing"),
        ),
        subscriber=subscriber,
        member_id=head["member_id"],
        relationship=relationship,
        patient=patient,
        diagnoses=tuple(diagnoses),
        lines=tuple(lines),
        place_of_service=head["place_of_service"],
        frequency_code=head["claim_frequency_code"],
        original_claim_number=head.get("original_claim_number") or None,
        prior_authorization=head.get("prior_authorization") or None,
        group_number=head.get("group_number") or None,
        rendering_provider=_optional_provider(head, "rendering"),
        referring_provider=_optional_provider(head, "referring"),
        type_of_bill=head.get("type_of_bill") or None,
        other_payers=others,
    )
    return _with_institutional_fields(built, head) if claim_type is ClaimType.INSTITUTIONAL else built


def _optional_date(row: Mapping[str, str], column: str, claim_key: str) -> date | None:
    return _read(row, column, date.fromisoformat, claim_key) if (row.get(column) or "").strip() else None


def _with_institutional_fields(built: Claim, head: Mapping[str, str]) -> Claim:
    """The claim with the 837I fields of its encounter's first row (docs/charge-export.md)."""
    admitting = (head.get("admitting_diagnosis") or "").replace(".", "").strip().upper()
    return replace(
        built,
        statement_from=_optional_date(head, "statement_date_from", built.claim_key),
        statement_to=_optional_date(head, "statement_date_to", built.claim_key),
        admission_date=_optional_date(head, "admission_date", built.claim_key),
        admission_type=(head.get("admission_type") or "").strip() or None,
        admission_source=(head.get("admission_source") or "").strip() or None,
        patient_status=(head.get("discharge_status") or "").strip() or None,
        admitting_diagnosis=admitting or None,
        attending_provider=_optional_provider(head, "attending"),
    )


def _institutional_problems(claim: Claim) -> list[str]:
    """What an institutional claim needs before the 837I writer can take it (names fields, never values)."""
    problems = []
    bill = claim.type_of_bill or ""
    if len(bill) != 3 or not bill.isdigit():
        problems.append(f"claim {claim.claim_key}: an institutional claim needs a 3-digit type_of_bill")
    elif (bill[2] in ("7", "8") or claim.frequency_code in ("7", "8")) and bill[2] != claim.frequency_code:
        # CLM05-3 is the bill's third digit: a replacement or void must say so in both columns
        problems.append(f"claim {claim.claim_key}: type_of_bill frequency digit and claim_frequency_code disagree")
    elif is_inpatient_bill(bill):
        missing = [
            name
            for name, value in (
                ("admission_date", claim.admission_date),
                ("admission_type", claim.admission_type),
                ("admission_source", claim.admission_source),
                ("admitting_diagnosis", claim.admitting_diagnosis),
            )
            if value is None
        ]
        if missing:
            problems.append(f"claim {claim.claim_key}: an inpatient bill needs {', '.join(missing)}")
    if claim.attending_provider is None or not claim.attending_provider.is_person:
        problems.append(f"claim {claim.claim_key}: an institutional claim needs attending_npi and the attending name")
    if any(not line.revenue_code for line in claim.lines):
        problems.append(f"claim {claim.claim_key}: every institutional line needs a revenue_code")
    return problems


def _structural_problems(claim: Claim) -> list[str]:
    problems = []
    if claim.claim_type is ClaimType.INSTITUTIONAL:
        problems += _institutional_problems(claim)
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        problems.append(f"claim {claim.claim_key}: {len(claim.diagnoses)} diagnoses, at most {MAX_DIAGNOSES}")
    if claim.claim_type is ClaimType.PROFESSIONAL and len(claim.lines) > MAX_LINES_PROFESSIONAL:
        problems.append(f"claim {claim.claim_key}: {len(claim.lines)} lines, at most {MAX_LINES_PROFESSIONAL}")
    if claim.frequency_code in {"7", "8"} and not claim.original_claim_number:
        problems.append(f"claim {claim.claim_key}: frequency {claim.frequency_code} needs the payer's claim number")
    return problems


def build_claims(rows: Iterable[Mapping[str, str]], payers: Mapping[str, PayerProfile]) -> BuildResult:
    """Group validated charge rows into claims (patient, encounter, billing NPI, payer) and check them."""
    groups: dict[tuple[str, str, str, str], list[Mapping[str, str]]] = defaultdict(list)
    for row in rows:
        key = (row["patient_mrn"], row["encounter_id"], row["billing_npi"], row["payer_id"])
        groups[key].append(row)
    result = BuildResult()
    keys = [claim_key_for(encounter, payer_id, npi) for _mrn, encounter, npi, payer_id in groups]
    shared_keys = {key for key, count in Counter(keys).items() if count > 1}
    for claim_key, ((_mrn, _encounter_id, _billing_npi, payer_id), group) in zip(keys, groups.items(), strict=True):
        group.sort(key=lambda r: r["charge_id"])
        charge_ids = tuple(r["charge_id"] for r in group)
        if claim_key in shared_keys:
            reason = f"claim {claim_key}: the encounter has charges for more than one patient"
            result.held.append(HeldClaim(claim_key, payer_id, charge_ids, (reason,)))
            continue
        payer = payers.get(payer_id)
        if payer is None:
            result.held.append(HeldClaim(claim_key, payer_id, charge_ids, (f"no payer connector for {payer_id}",)))
            continue
        try:
            claim = _claim_from_rows(group, payer, claim_key, payers)
        except _UnbuildableClaim as problem:
            result.held.append(HeldClaim(claim_key, payer_id, charge_ids, (str(problem),)))
            continue
        except KeyError as missing:  # a column absent from the stored rows: its name, never a value
            reason = f"claim {claim_key}: charge rows lack column {missing.args[0]!s}"
            result.held.append(HeldClaim(claim_key, payer_id, charge_ids, (reason,)))
            continue
        problems = _structural_problems(claim) + payer.check_claim(claim)
        if problems:
            result.held.append(HeldClaim(claim_key, payer_id, charge_ids, tuple(problems)))
        else:
            result.claims.append(claim)
    result.claims.sort(key=lambda c: c.claim_key)
    return result
