"""The synthetic EHR's practice set-up and defects, shared by its HL7 and FHIR writers (never by the readers).

The same charge rows (``synth.generate_charge_rows``) are written as CSV, HL7 v2 DFT^P03 or FHIR R4; what an EHR
feed does not carry (billing NPI, tax id, pay-to address) goes into the practice's ``ehr.toml``, written here from
the rows as an operator would write it, with the plan crosswalk and the chargemaster.

Defects: ``plant_ehr_defects`` plants the CSV's content defects that the format can carry and the format's own
(a broken escape, a missing FT1-4, an unknown chargemaster code, a dangling FHIR reference, an R4B-invalid
resource), and returns the ground truth by charge id. A defect in a field the format carries once per encounter
(member id, the encounter's diagnoses) is spread to every line of the encounter, and a message-level defect names
every charge of the message, so the ground truth is what a correct reader and gate must flag.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from revcycle.codes.catalog import PROFESSIONAL_PROCEDURES
from revcycle.payers import PayerProfile
from revcycle.synth import DEFECT_KINDS, InjectedDefect, inject_defects

FORMATS: tuple[str, ...] = ("csv", "hl7", "fhir")
# The synthetic EHR's chargemaster: its own charge codes for the catalogue's procedures.
CHARGEMASTER: dict[str, str] = {f"CDM{1001 + i}": code for i, code in enumerate(sorted(PROFESSIONAL_PROCEDURES))}
UNKNOWN_CHARGE_CODE = "CDM9999"

FORMAT_DEFECT_KINDS: dict[str, tuple[str, ...]] = {
    "csv": (),
    "hl7": ("broken_escape", "missing_ft1_4", "unknown_chargemaster_code"),
    "fhir": ("dangling_reference", "unknown_chargemaster_code", "r4b_invalid"),
}
# Defects of a whole message or resource: every charge of the encounter carries them.
MESSAGE_LEVEL_DEFECTS = frozenset({"broken_escape", "dangling_reference", "r4b_invalid"})
# HL7 has no place of service per line (it comes from the facility configuration) and no diagnosis pointers
# (FT1-19 names the codes themselves), so those two CSV defects cannot travel in a DFT.
CONTENT_DEFECT_KINDS: dict[str, tuple[str, ...]] = {
    "csv": DEFECT_KINDS,
    "hl7": tuple(k for k in DEFECT_KINDS if k not in ("unknown_place_of_service", "bad_diagnosis_pointer")),
    "fhir": DEFECT_KINDS,
}
# Columns a feed carries once per encounter (IN1, DG1 / Coverage, Claim.diagnosis).
_ENCOUNTER_LEVEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "missing_member_id": ("member_id",),
    "bad_member_id_format": ("member_id",),
    "unknown_icd10_code": ("diagnosis1",),
}


def plan_id(payer_id: str) -> str:
    """The synthetic EHR's plan id (HL7 IN1-2, FHIR payor identifier) for a payer."""
    return f"PLN-{payer_id}"


def company_id(payer_id: str) -> str:
    """The synthetic EHR's insurance company id (HL7 IN1-3) for a payer."""
    return f"INS-{payer_id}"


def charge_code(procedure_code: str) -> str:
    """The synthetic chargemaster code of a procedure."""
    return next(code for code, procedure in CHARGEMASTER.items() if procedure == procedure_code)


def facility_codes(rows: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Billing NPI -> the facility code the synthetic EHR sends (initials of the clinic's name)."""
    codes: dict[str, str] = {}
    for row in rows:
        npi = row["billing_npi"]
        if npi in codes:
            continue
        initials = "".join(word[0] for word in row["billing_name"].split() if word[:1].isalpha()) or "FAC"
        code = initials
        number = 2
        while code in codes.values():
            code = f"{initials}{number}"
            number += 1
        codes[npi] = code
    return codes


def _toml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def practice_config_toml(rows: Sequence[Mapping[str, str]], chargemaster_file: str = "chargemaster.csv") -> str:
    """The ``ehr.toml`` a practice with these charges would write: facilities, plan crosswalk, chargemaster."""
    lines = [
        "# The synthetic practice's EHR feed configuration (docs/ehr-feeds.md).",
        f"chargemaster = {_toml_text(chargemaster_file)}",
        "",
    ]
    codes = facility_codes(rows)
    seen: set[str] = set()
    for row in rows:
        npi = row["billing_npi"]
        if npi in seen:
            continue
        seen.add(npi)
        lines.append(f"[facilities.{codes[npi]}]")
        for column in (
            "billing_npi",
            "billing_tax_id",
            "billing_name",
            "billing_address1",
            "billing_city",
            "billing_state",
            "billing_zip",
        ):
            lines.append(f"{column} = {_toml_text(row[column])}")
        lines += [f"place_of_service = {_toml_text(row['place_of_service'])}", ""]
    plans: dict[str, str] = {}
    for row in rows:
        plans.setdefault(row["payer_id"], row["claim_filing_indicator"])
    for payer_id, indicator in sorted(plans.items()):
        lines += [
            "[[plans]]",
            f"ehr_plan_id = {_toml_text(plan_id(payer_id))}",
            f"ehr_company_id = {_toml_text(company_id(payer_id))}",
            f"payer_id = {_toml_text(payer_id)}",
            f"claim_filing_indicator = {_toml_text(indicator)}",
            "",
        ]
    return "\n".join(lines)


def chargemaster_csv() -> str:
    """The synthetic practice's chargemaster as CSV (``code,procedure_code,modifiers``)."""
    return "code,procedure_code,modifiers\n" + "".join(f"{code},{cpt},\n" for code, cpt in CHARGEMASTER.items())


def encounters(rows: Iterable[Mapping[str, str]]) -> list[list[Mapping[str, str]]]:
    """Rows grouped by encounter id, in the order encounters first appear."""
    groups: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        groups.setdefault(row["encounter_id"], []).append(row)
    return list(groups.values())


@dataclass(frozen=True)
class PlantedDefects:
    """Rows with content defects, the format defects for the writer (charge id -> kind), and the ground truth."""

    rows: list[dict[str, str]]
    format_defects: dict[str, str]
    ground_truth: list[InjectedDefect]


def plant_ehr_defects(
    rows: Sequence[Mapping[str, str]],
    feed_format: str,
    rate: float,
    seed: int,
    *,
    payers: Sequence[PayerProfile] | Mapping[str, PayerProfile] = (),
    as_of: date,
) -> PlantedDefects:
    """Plant ``round(rate * len(rows))`` defects, content and format kinds in proportion to their numbers."""
    if feed_format not in FORMATS:
        raise ValueError(f"unknown feed format {feed_format!r} (one of {', '.join(FORMATS)})")
    content_kinds = CONTENT_DEFECT_KINDS[feed_format]
    format_kinds = FORMAT_DEFECT_KINDS[feed_format]
    total = round(rate * len(rows))
    format_count = round(total * len(format_kinds) / (len(content_kinds) + len(format_kinds)))
    content_rate = (total - format_count) / len(rows) if rows else 0.0
    planted, truth = inject_defects(rows, content_rate, seed, payers=payers, as_of=as_of, kinds=content_kinds)
    if feed_format != "csv":
        truth = _spread_encounter_level(planted, truth)
    rng = random.Random(f"ehr-defects:{feed_format}:{seed}")
    touched = {d.charge_id for d in truth}
    touched_encounters = {r["encounter_id"] for r in planted if r["charge_id"] in touched}
    by_encounter = encounters(planted)
    format_defects: dict[str, str] = {}
    kinds = [format_kinds[i % len(format_kinds)] for i in range(format_count)] if format_kinds else []
    rng.shuffle(kinds)
    candidates = [group for group in by_encounter if group[0]["encounter_id"] not in touched_encounters]
    rng.shuffle(candidates)
    for kind in kinds:
        if not candidates:
            break
        group = candidates.pop()
        if kind in MESSAGE_LEVEL_DEFECTS:
            for row in group:
                format_defects[row["charge_id"]] = kind
                truth.append(InjectedDefect(row["charge_id"], kind))
        else:
            row = rng.choice(group)
            format_defects[row["charge_id"]] = kind
            truth.append(InjectedDefect(row["charge_id"], kind))
    return PlantedDefects([dict(r) for r in planted], format_defects, truth)


def _spread_encounter_level(rows: list[dict[str, str]], truth: list[InjectedDefect]) -> list[InjectedDefect]:
    """Copy an encounter-level defect to every line of its encounter; each line joins the ground truth."""
    by_id = {row["charge_id"]: row for row in rows}
    spread = list(truth)
    named = {(d.charge_id, d.defect) for d in truth}
    for defect in truth:
        columns = _ENCOUNTER_LEVEL_COLUMNS.get(defect.defect)
        if columns is None:
            continue
        source = by_id[defect.charge_id]
        for row in rows:
            if row["encounter_id"] != source["encounter_id"] or row is source:
                continue
            for column in columns:
                row[column] = source[column]
            if (row["charge_id"], defect.defect) not in named:
                named.add((row["charge_id"], defect.defect))
                spread.append(InjectedDefect(row["charge_id"], defect.defect))
    return spread
