"""Synthetic EHR charge exports: realistic, reproducible, and entirely made up (demo, tests, benchmarks).

``inject_defects`` plants realistic data-entry defects at a chosen rate and says which charge carries which,
the ground truth the validation gate is measured against (``revcycle demo --defect-rate``).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from revcycle.charge_export import COLUMN_NAMES, INSTITUTIONAL_CLAIM_COLUMNS, MAX_DIAGNOSES, OTHER_COVERAGE_COLUMNS
from revcycle.codes.catalog import DIAGNOSES, EVALUATION_AND_MANAGEMENT, PROFESSIONAL_PROCEDURES
from revcycle.codes.npi import npi_check_digit
from revcycle.domain import ClaimType
from revcycle.payers import PayerProfile

_LAST_NAMES = (
    "Ashdown",
    "Brightwater",
    "Calloway",
    "Dunmore",
    "Everly",
    "Fairbanks",
    "Glenwood",
    "Hartsfield",
    "Ivesdale",
    "Jarrow",
    "Kestrel",
    "Larkspur",
    "Merriweather",
    "Northcott",
    "Oakhurst",
    "Pendleton",
    "Quillon",
    "Ravensworth",
    "Stanbury",
    "Thornbury",
    "Underhill",
    "Vantongeren",
    "Whitcombe",
    "Yardley",
)
_FIRST_NAMES = (
    "Avery",
    "Blake",
    "Camila",
    "Dorian",
    "Elena",
    "Felix",
    "Greta",
    "Hollis",
    "Imani",
    "Jonah",
    "Keira",
    "Lucian",
    "Maren",
    "Nico",
    "Odette",
    "Pascal",
    "Quinn",
    "Rosalind",
    "Soren",
    "Talia",
    "Ulric",
    "Vera",
)
_STREETS = ("Maple", "Cedar", "Lakeview", "Orchard", "Prairie", "Ridge", "Willow", "Harbor", "Summit")
_CITIES = (
    ("Springfield", "IL", "627"),
    ("Madison", "WI", "537"),
    ("Columbus", "OH", "432"),
    ("Des Moines", "IA", "503"),
    ("Lansing", "MI", "489"),
)
_CLINICS = (("PRAIRIE FAMILY MEDICINE", "1001 Clinic Way"), ("LAKESIDE INTERNAL MEDICINE", "250 Health Pkwy"))
_MODIFIERS = ("25", "59", "LT", "RT", "GA")
_AUTHORISED_PROCEDURES = frozenset({"97110", "20610"})


@dataclass(frozen=True)
class _Person:
    last: str
    first: str
    birth: date
    sex: str
    street: str
    city: str
    state: str
    zip_code: str


def _npi(rng: random.Random) -> str:
    stem = str(rng.choice((1, 2))) + "".join(str(rng.randrange(10)) for _ in range(8))
    return stem + npi_check_digit(stem)


def _person(rng: random.Random, *, min_age: int, max_age: int, as_of: date, last: str | None = None) -> _Person:
    city, state, zip3 = rng.choice(_CITIES)
    age_days = rng.randrange(min_age * 365, max_age * 365)
    return _Person(
        last=last or rng.choice(_LAST_NAMES),
        first=rng.choice(_FIRST_NAMES),
        birth=as_of - timedelta(days=age_days),
        sex=rng.choice("MF"),
        street=f"{rng.randrange(10, 9999)} {rng.choice(_STREETS)} St",
        city=city,
        state=state,
        zip_code=zip3 + f"{rng.randrange(100):02d}",
    )


def _secondary_payer(payer: PayerProfile, payers: Sequence[PayerProfile], rng: random.Random) -> PayerProfile | None:
    """A plausible payer after ``payer``: Medicaid or a supplement after Medicare, Medicaid after a commercial plan."""
    candidates = [p for p in payers if p.payer_id != payer.payer_id and p.filing_indicator != "MB"]
    if payer.filing_indicator == "MC":
        return None  # Medicaid is the payer of last resort: nothing is billed after it
    return rng.choice(candidates) if candidates else None


def other_coverage_columns(
    payer: PayerProfile, payers: Sequence[PayerProfile], patient_columns: dict[str, str], rng: random.Random
) -> dict[str, str]:
    """The ``secondary_*`` columns of a visit whose patient has a second coverage (as its own subscriber)."""
    second = _secondary_payer(payer, payers, rng)
    if second is None:
        return {}
    return {
        "secondary_payer_id": second.payer_id,
        "secondary_member_id": second.make_member_id(rng),
        "secondary_group_number": "" if second.filing_indicator in {"MB", "MC"} else f"GRP{rng.randrange(10**5):05d}",
        "secondary_claim_filing_indicator": second.filing_indicator,
        "secondary_relationship": "self",
        **{f"secondary_subscriber_{field}": patient_columns[f"patient_{field}"] for field in _SUBSCRIBER_FIELDS},
    }


_SUBSCRIBER_FIELDS = ("last_name", "first_name", "birth_date", "sex", "address1", "city", "state", "zip")


def generate_charge_rows(
    payers: Sequence[PayerProfile],
    *,
    encounters: int,
    seed: int,
    as_of: date,
    id_prefix: str | None = None,
    institutional_share: float = 0.0,
    secondary_share: float = 0.0,
) -> Iterator[dict[str, str]]:
    """Charge rows (one per line) for ``encounters`` office visits in the 30 days before ``as_of``.

    About ``institutional_share`` of the visits to payers that accept institutional claims are hospital bills
    instead (``institutionalise``): outpatient (type of bill 131) or inpatient (111). The share is drawn from
    a generator of its own, so the professional visits are the same whatever the share.

    ``secondary_share`` of the visits (a roll of their own, so the other columns stay those of the seed) have a
    secondary coverage (``secondary_*`` columns) with another payer of ``payers``.
    """
    if not payers:
        raise ValueError("at least one payer is needed to generate charges")
    rng = random.Random(seed)
    facility_rng = random.Random(f"{seed}:institutional")
    prefix = id_prefix if id_prefix is not None else f"S{seed}"
    clinics = [(name, street, _npi(rng), f"{rng.randrange(10**8, 10**9)}") for name, street in _CLINICS]
    doctors = [(rng.choice(_LAST_NAMES), rng.choice(_FIRST_NAMES), _npi(rng)) for _ in range(6)]
    referrers = [(rng.choice(_LAST_NAMES), rng.choice(_FIRST_NAMES), _npi(rng)) for _ in range(3)]
    procedures = list(PROFESSIONAL_PROCEDURES)
    line_seq = 0
    for number in range(1, encounters + 1):
        payer = rng.choice(payers)
        dependent = payer.filing_indicator != "MB" and rng.random() < 0.3
        if payer.filing_indicator == "MB":
            subscriber = _person(rng, min_age=65, max_age=90, as_of=as_of)
        else:
            subscriber = _person(rng, min_age=22, max_age=64, as_of=as_of)
        patient = _person(rng, min_age=1, max_age=21, as_of=as_of, last=subscriber.last) if dependent else subscriber
        clinic = rng.choice(clinics)
        doctor = rng.choice(doctors)
        referrer = rng.choice(referrers) if rng.random() < 0.2 else None
        service_date = as_of - timedelta(days=rng.randrange(1, 30))
        diagnoses = rng.sample(DIAGNOSES, rng.randint(1, 4))
        line_count = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
        codes = rng.sample(procedures, line_count)
        encounter_id = f"{prefix}-E{number:06d}"
        mrn = f"{prefix}-M{rng.randrange(10**7):07d}"
        member_id = payer.make_member_id(rng)
        # Therapy and injections are commonly pre-authorised; some payers require it (see their rules).
        authorised = any(code in _AUTHORISED_PROCEDURES for code in codes)
        prior_auth = f"PA{rng.randrange(10**8):08d}" if authorised else ""
        hospital = (
            institutional_share > 0
            and ClaimType.INSTITUTIONAL in payer.claim_types
            and facility_rng.random() < institutional_share
        )
        visit: list[dict[str, str]] = []
        patient_columns = {
            "patient_last_name": patient.last,
            "patient_first_name": patient.first,
            "patient_birth_date": patient.birth.isoformat(),
            "patient_sex": patient.sex,
            "patient_address1": patient.street,
            "patient_city": patient.city,
            "patient_state": patient.state,
            "patient_zip": patient.zip_code,
        }
        coverage = None
        if secondary_share > 0:
            # its own generator: adding coverage to some visits leaves every other column as the seed made it
            cover = random.Random(f"{seed}:{number}:secondary")
            if cover.random() < secondary_share:
                coverage = other_coverage_columns(payer, payers, patient_columns, cover)
        for code in codes:
            line_seq += 1
            modifiers: list[str] = []
            if code in EVALUATION_AND_MANAGEMENT and line_count > 1 and rng.random() < 0.5:
                modifiers.append("25")
            elif code not in EVALUATION_AND_MANAGEMENT and rng.random() < 0.1:
                modifiers.append(rng.choice(_MODIFIERS[1:4]))
            units = 2 if code in {"97110", "J1100"} and rng.random() < 0.5 else 1
            price = PROFESSIONAL_PROCEDURES[code] * units
            pointers = ":".join(str(i) for i in range(1, min(len(diagnoses), rng.randint(1, 4)) + 1))
            row = {
                "charge_id": f"{prefix}-C{line_seq:07d}",
                "encounter_id": encounter_id,
                "patient_mrn": mrn,
                **patient_columns,
                "relationship": "child" if dependent else "self",
                "subscriber_last_name": subscriber.last,
                "subscriber_first_name": subscriber.first,
                "subscriber_birth_date": subscriber.birth.isoformat(),
                "subscriber_sex": subscriber.sex,
                "subscriber_address1": subscriber.street,
                "subscriber_city": subscriber.city,
                "subscriber_state": subscriber.state,
                "subscriber_zip": subscriber.zip_code,
                "member_id": member_id,
                "group_number": "" if payer.filing_indicator in {"MB", "MC"} else f"GRP{rng.randrange(10**5):05d}",
                "payer_id": payer.payer_id,
                "claim_filing_indicator": payer.filing_indicator,
                "billing_npi": clinic[2],
                "billing_tax_id": clinic[3],
                "billing_name": clinic[0],
                "billing_address1": clinic[1],
                "billing_city": "Springfield",
                "billing_state": "IL",
                "billing_zip": "627011234",
                "rendering_npi": doctor[2],
                "rendering_last_name": doctor[0],
                "rendering_first_name": doctor[1],
                "referring_npi": referrer[2] if referrer else "",
                "referring_last_name": referrer[0] if referrer else "",
                "referring_first_name": referrer[1] if referrer else "",
                "place_of_service": "11",
                "claim_type": "professional",
                "type_of_bill": "",
                "revenue_code": "",
                **dict.fromkeys(INSTITUTIONAL_CLAIM_COLUMNS, ""),
                "service_date_from": service_date.isoformat(),
                "service_date_to": service_date.isoformat(),
                "procedure_code": code,
                **{f"modifier{i}": (modifiers[i - 1] if i <= len(modifiers) else "") for i in range(1, 5)},
                "units": str(units),
                "charge_amount": str(price.quantize(Decimal("0.01"))),
                **{
                    f"diagnosis{i}": (diagnoses[i - 1] if i <= len(diagnoses) else "")
                    for i in range(1, MAX_DIAGNOSES + 1)
                },
                "diagnosis_pointers": pointers,
                "prior_authorization": prior_auth,
                "claim_frequency_code": "1",
                "original_claim_number": "",
                "visit_status": "",
                **dict.fromkeys(OTHER_COVERAGE_COLUMNS, ""),
            }
            row.update(coverage if coverage is not None else {})
            visit.append(row)
        if hospital:
            institutionalise(visit, facility_rng, as_of=as_of)
        yield from visit


DEMO_INSTITUTIONAL_SHARE = 0.05
"""The demo's share of hospital visits (837I) among visits to payers that accept institutional claims."""
# A revenue code for a line from its procedure code's family (NUBC UB-04 revenue codes).
_REVENUE_CODES = (("J", "0636"), ("8", "0300"), ("7", "0320"), ("97", "0420"), ("99", "0510"))


def revenue_code_for(procedure_code: str) -> str:
    """The revenue code of a hospital line: drugs 0636, lab 0300, radiology 0320, therapy 0420, clinic 0510."""
    found = [code for prefix, code in _REVENUE_CODES if procedure_code.startswith(prefix)]
    return found[-1] if found else "0510"


def institutionalise(visit: list[dict[str, str]], rng: random.Random, *, as_of: date) -> None:
    """Make one visit's rows a hospital bill (837I): outpatient 131 (60 %) or inpatient 111 with its admission.

    The rendering doctor attends; the statement period is the visit day, or the stay (1 to 3 days, never past
    the day before ``as_of``) for an inpatient bill, whose admitting diagnosis is the principal one.
    """
    inpatient = rng.random() < 0.4
    head = visit[0]
    start = date.fromisoformat(head["service_date_from"])
    end = min(start + timedelta(days=rng.randint(1, 3)), as_of - timedelta(days=1)) if inpatient else start
    end = max(end, start)
    fields = {
        "claim_type": "institutional",
        "type_of_bill": "111" if inpatient else "131",
        "place_of_service": "21" if inpatient else "22",
        "statement_date_from": start.isoformat(),
        "statement_date_to": end.isoformat(),
        "discharge_status": "01",
        "attending_npi": head["rendering_npi"],
        "attending_last_name": head["rendering_last_name"],
        "attending_first_name": head["rendering_first_name"],
        "admission_date": start.isoformat() if inpatient else "",
        "admission_type": rng.choice("13") if inpatient else "",
        "admission_source": rng.choice("12") if inpatient else "",
        "admitting_diagnosis": head["diagnosis1"] if inpatient else "",
    }
    for row in visit:
        row.update(fields, revenue_code=revenue_code_for(row["procedure_code"]))


def write_charge_export(rows: Iterator[dict[str, str]] | Sequence[dict[str, str]], path: Path) -> int:
    """Write charge rows as a CSV export with the contract's header; returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMN_NAMES))
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


# Each kind is meant to be caught by exactly one rule of the charges suite (docs/charge-export.md).
DEFECT_KINDS: tuple[str, ...] = (
    "bad_npi_check_digit",
    "unknown_icd10_code",
    "future_service_date",
    "zero_units",
    "missing_member_id",
    "duplicate_line",
    "bad_diagnosis_pointer",
    "bad_member_id_format",
    "three_decimal_amount",
    "bad_procedure_code_format",
    "unknown_place_of_service",
)
# Shaped like ICD-10-CM codes but not billable: categories (E11, I25), a code deleted in 2021 (M54.5),
# and codes that never existed.
UNKNOWN_ICD10_CODES: tuple[str, ...] = ("E11", "I25", "M545", "E1199", "I109", "R5199")
_BAD_MEMBER_IDS: tuple[str, ...] = ("00000", "X1", "12-34567", "ZZZZZZZZZZZZZZZZZZ")
_UNKNOWN_PLACES_OF_SERVICE: tuple[str, ...] = ("00", "28", "30", "98")
DEFECTS_HEADER: tuple[str, str] = ("charge_id", "defect")


@dataclass(frozen=True)
class InjectedDefect:
    """One planted defect: the charge that carries it and its kind (one of ``DEFECT_KINDS``)."""

    charge_id: str
    defect: str


def _other_digit(digit: str) -> str:
    return str((int(digit) + 1 + (int(digit) % 3)) % 10)


def _bad_member_id(payer: PayerProfile | None) -> str:
    for candidate in _BAD_MEMBER_IDS:
        if payer is None or not payer.member_id_is_valid(candidate):
            return candidate
    raise ValueError("every candidate bad member id is valid for this payer")


def _apply_defect(
    row: dict[str, str], kind: str, rng: random.Random, payers: Mapping[str, PayerProfile], as_of: date
) -> None:
    if kind == "bad_npi_check_digit":
        npi = row["rendering_npi"] or row["billing_npi"]
        column = "rendering_npi" if row["rendering_npi"] else "billing_npi"
        row[column] = npi[:9] + _other_digit(npi[9])
    elif kind == "unknown_icd10_code":
        row["diagnosis1"] = rng.choice(UNKNOWN_ICD10_CODES)
    elif kind == "future_service_date":
        future = (as_of + timedelta(days=rng.randint(1, 30))).isoformat()
        row["service_date_from"] = future
        row["service_date_to"] = future
    elif kind == "zero_units":
        row["units"] = "0"
    elif kind == "missing_member_id":
        row["member_id"] = ""
    elif kind == "bad_diagnosis_pointer":
        present = sum(1 for i in range(1, MAX_DIAGNOSES + 1) if row.get(f"diagnosis{i}"))
        row["diagnosis_pointers"] = str(present + 1)
    elif kind == "bad_member_id_format":
        row["member_id"] = _bad_member_id(payers.get(row["payer_id"]))
    elif kind == "three_decimal_amount":
        whole, _, cents = row["charge_amount"].partition(".")
        row["charge_amount"] = f"{whole}.{(cents + '00')[:2]}{rng.randint(1, 9)}"
    elif kind == "bad_procedure_code_format":
        row["procedure_code"] = row["procedure_code"][:4]
    elif kind == "unknown_place_of_service":
        row["place_of_service"] = rng.choice(_UNKNOWN_PLACES_OF_SERVICE)
    else:
        raise ValueError(f"unknown defect kind {kind!r}")


def inject_defects(
    rows: Iterable[Mapping[str, str]],
    rate: float,
    seed: int,
    *,
    payers: Sequence[PayerProfile] | Mapping[str, PayerProfile] = (),
    as_of: date,
    kinds: Sequence[str] = DEFECT_KINDS,
) -> tuple[list[dict[str, str]], list[InjectedDefect]]:
    """Copy ``rows`` with defects planted in ``round(rate * len(rows))`` charges, every kind in turn.

    A ``duplicate_line`` defect is a new row (id ``<charge_id>-DUP``) repeating a clean line right after it;
    every other kind alters one row in place. ``payers`` gives the member id formats to break; ``kinds`` limits
    the kinds planted (a feed format that cannot carry a column leaves its kind out).
    """
    if not 0 <= rate <= 1:
        raise ValueError("the defect rate is a fraction between 0 and 1")
    by_id = dict(payers) if isinstance(payers, Mapping) else {p.payer_id: p for p in payers}
    out = [dict(row) for row in rows]
    rng = random.Random(f"defects:{seed}")
    count = round(rate * len(out))
    targets = sorted(rng.sample(range(len(out)), count))
    unknown = sorted(set(kinds) - set(DEFECT_KINDS))
    if unknown or not kinds:
        raise ValueError(f"defect kinds must be some of DEFECT_KINDS, not {unknown or 'none'}")
    planted = [kinds[i % len(kinds)] for i in range(count)]
    rng.shuffle(planted)
    defects: list[InjectedDefect] = []
    duplicates: dict[int, dict[str, str]] = {}
    for index, kind in zip(targets, planted, strict=True):
        row = out[index]
        if kind == "duplicate_line":
            copy = dict(row) | {"charge_id": f"{row['charge_id']}-DUP"}
            duplicates[index] = copy
            defects.append(InjectedDefect(copy["charge_id"], kind))
        else:
            _apply_defect(row, kind, rng, by_id, as_of)
            defects.append(InjectedDefect(row["charge_id"], kind))
    result: list[dict[str, str]] = []
    for index, row in enumerate(out):
        result.append(row)
        if index in duplicates:
            result.append(duplicates[index])
    return result, defects


def write_defects(defects: Iterable[InjectedDefect], path: Path) -> int:
    """Write the ground truth as CSV (``charge_id``, ``defect``); returns the number of defects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DEFECTS_HEADER)
        for defect in defects:
            writer.writerow((defect.charge_id, defect.defect))
            count += 1
    return count
