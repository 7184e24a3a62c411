"""The synthetic EHR's HL7 v2.5.1 DFT^P03 writer: one message per encounter, one FT1 per charge line.

Written from the segment definitions of HL7 v2.5.1 chapter 6 (financial management), independently of the
reader in ``connectors/ehr/hl7_dft.py``: the two share no mapping code, so a mistake in one shows up as a
difference in the equivalence test instead of cancelling out. A third of the lines carry only the chargemaster
code (FT1-7) with FT1-25 empty, as many EHRs send them.

Format defects (from ``synth_ehr.plant_ehr_defects``): ``broken_escape`` writes an escape sequence that is never
closed in PID-5, ``missing_ft1_4`` leaves the transaction date empty, ``unknown_chargemaster_code`` sends a charge
code the chargemaster does not have and no FT1-25.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from revcycle.charge_export import MAX_DIAGNOSES
from revcycle.synth_ehr import (
    CHARGEMASTER,
    UNKNOWN_CHARGE_CODE,
    charge_code,
    company_id,
    encounters,
    facility_codes,
    plan_id,
)

FIELD, COMPONENT, REPETITION, ESCAPE, SUBCOMPONENT = "|", "^", "~", "\\", "&"
ENCODING_CHARACTERS = COMPONENT + REPETITION + ESCAPE + SUBCOMPONENT
# Contract relationship -> HL7 table 0063.
_RELATIONSHIP_0063 = {"self": "SEL", "spouse": "SPO", "child": "CHD", "other": "OTH"}
_CATALOGUE = frozenset(CHARGEMASTER.values())


def escape(value: str) -> str:
    """A value with HL7's delimiters written as escape sequences (the escape character first)."""
    return (
        value.replace(ESCAPE, f"{ESCAPE}E{ESCAPE}")
        .replace(FIELD, f"{ESCAPE}F{ESCAPE}")
        .replace(COMPONENT, f"{ESCAPE}S{ESCAPE}")
        .replace(SUBCOMPONENT, f"{ESCAPE}T{ESCAPE}")
        .replace(REPETITION, f"{ESCAPE}R{ESCAPE}")
    )


def _segment(name: str, fields: Mapping[int, str]) -> str:
    """A segment from {field number: already-encoded text}; the fields in between are empty."""
    last = max(fields) if fields else 0
    return FIELD.join([name] + [fields.get(number, "") for number in range(1, last + 1)])


def _components(*values: str) -> str:
    return COMPONENT.join(escape(v) for v in values).rstrip(COMPONENT)


def _hl7_date(iso: str) -> str:
    return iso.replace("-", "")


def _uses_chargemaster(charge_id: str) -> bool:
    """About one line in three is sent with only its chargemaster code (stable per charge id)."""
    return hashlib.sha256(charge_id.encode()).digest()[0] % 3 == 0


def _address(row: Mapping[str, str], prefix: str) -> str:
    return _components(
        row[f"{prefix}_address1"], "", row[f"{prefix}_city"], row[f"{prefix}_state"], row[f"{prefix}_zip"]
    )


def dft_message(
    lines: Sequence[Mapping[str, str]],
    *,
    control_id: str,
    facility: str,
    sent: datetime,
    format_defects: Mapping[str, str] | None = None,
) -> list[str]:
    """The segments of one DFT^P03 message for the charge lines of one encounter."""
    defects = format_defects or {}
    head = lines[0]
    stamp = sent.strftime("%Y%m%d%H%M%S")
    patient_name = _components(head["patient_last_name"], head["patient_first_name"])
    if any(defects.get(line["charge_id"]) == "broken_escape" for line in lines):
        patient_name = head["patient_last_name"] + ESCAPE + "X4" + COMPONENT + escape(head["patient_first_name"])
    segments = [
        "MSH"
        + FIELD
        + FIELD.join(
            [
                ENCODING_CHARACTERS,
                "SYNTHEHR",  # MSH-3 sending application
                escape(facility),  # MSH-4 sending facility
                "REVCYCLE",  # MSH-5 receiving application
                "BILLING",  # MSH-6 receiving facility
                stamp,  # MSH-7 date/time of message
                "",  # MSH-8 security
                _components("DFT", "P03", "DFT_P03"),  # MSH-9 message type
                control_id,  # MSH-10 message control id
                "P",  # MSH-11 processing id
                "2.5.1",  # MSH-12 version id
            ]
        ),
        _segment("EVN", {1: "P03", 2: stamp}),
        _segment(
            "PID",
            {
                1: "1",
                3: _components(head["patient_mrn"], "", "", "SYNTHEHR", "MR"),
                5: patient_name,
                7: _hl7_date(head["patient_birth_date"]),
                8: escape(head["patient_sex"]),
                11: _address(head, "patient"),
            },
        ),
    ]
    pv1 = {1: "1", 2: "O", 3: _components("CLINIC", "", "", facility), 19: escape(head["encounter_id"])}
    if head["referring_npi"]:
        pv1[8] = _components(head["referring_npi"], head["referring_last_name"], head["referring_first_name"])
    segments.append(_segment("PV1", pv1))
    diagnoses = [head[f"diagnosis{i}"] for i in range(1, MAX_DIAGNOSES + 1) if head[f"diagnosis{i}"]]
    for number, line in enumerate(lines, start=1):
        kind = defects.get(line["charge_id"])
        code = line["procedure_code"]
        ft1: dict[int, str] = {
            1: str(number),  # FT1-1 set id
            2: escape(line["charge_id"]),  # FT1-2 transaction id
            4: ""
            if kind == "missing_ft1_4"
            else _components(
                _hl7_date(line["service_date_from"]), _hl7_date(line["service_date_to"] or line["service_date_from"])
            ),  # FT1-4 transaction date (DR: start^end)
            5: stamp[:8],  # FT1-5 posting date
            6: "CG",  # FT1-6 transaction type: charge
            10: escape(line["units"]),  # FT1-10 quantity
            11: escape(line["charge_amount"]),  # FT1-11 extended amount
        }
        if kind == "unknown_chargemaster_code":
            ft1[7] = _components(UNKNOWN_CHARGE_CODE, "", "SYNTHCDM")
        elif code in _CATALOGUE:
            ft1[7] = _components(charge_code(code), "", "SYNTHCDM")  # FT1-7 transaction code (chargemaster)
            if not _uses_chargemaster(line["charge_id"]):
                ft1[25] = _components(code, "", "C4")  # FT1-25 procedure code (C4 = CPT-4)
        else:
            ft1[25] = _components(code, "", "C4")
        pointers = [int(p) for p in line["diagnosis_pointers"].split(":") if p.isdigit()]
        pointed = [line[f"diagnosis{p}"] for p in pointers if 0 < p <= MAX_DIAGNOSES and line[f"diagnosis{p}"]]
        ft1[19] = REPETITION.join(_components(c, "", "I10") for c in pointed)  # FT1-19 diagnoses of this line
        if line["rendering_npi"]:
            ft1[20] = _components(
                line["rendering_npi"], line["rendering_last_name"], line["rendering_first_name"], *[""] * 9, "NPI"
            )  # FT1-20 performed by (XCN-13 identifier type NPI)
        modifiers = [line[f"modifier{i}"] for i in range(1, 5) if line[f"modifier{i}"]]
        if modifiers:
            ft1[26] = REPETITION.join(_components(m) for m in modifiers)  # FT1-26 modifiers
        segments.append(_segment("FT1", ft1))
    for number, code in enumerate(diagnoses, start=1):
        # DG1-3 diagnosis code, DG1-6 type F (final), DG1-15 priority (1 = principal).
        segments.append(_segment("DG1", {1: str(number), 3: _components(code, "", "I10"), 6: "F", 15: str(number)}))
    in1: dict[int, str] = {
        1: "1",
        2: escape(plan_id(head["payer_id"])),  # IN1-2 insurance plan id
        3: escape(company_id(head["payer_id"])),  # IN1-3 insurance company id
        4: escape(head["payer_id"]),  # IN1-4 company name
        8: escape(head["group_number"]),  # IN1-8 group number
        16: _components(head["subscriber_last_name"], head["subscriber_first_name"]),  # IN1-16 name of insured
        17: _components(_RELATIONSHIP_0063[head["relationship"]], "", "HL70063"),  # IN1-17 relationship
        18: _hl7_date(head["subscriber_birth_date"]),  # IN1-18 insured's birth date
        19: _address(head, "subscriber"),  # IN1-19 insured's address
        36: escape(head["member_id"]),  # IN1-36 policy number
        43: escape(head["subscriber_sex"]),  # IN1-43 insured's sex
    }
    if head["prior_authorization"]:
        in1[14] = _components(head["prior_authorization"])  # IN1-14 authorization information
    segments.append(_segment("IN1", in1))
    return segments


def dft_messages(
    rows: Iterable[Mapping[str, str]],
    *,
    sent: datetime,
    format_defects: Mapping[str, str] | None = None,
    control_prefix: str = "SYN",
) -> list[list[str]]:
    """One DFT^P03 message (as segment lines) per encounter of ``rows``."""
    materialised = list(rows)
    facilities = facility_codes(materialised)
    messages = []
    for number, lines in enumerate(encounters(materialised), start=1):
        messages.append(
            dft_message(
                lines,
                control_id=f"{control_prefix}{number:08d}",
                facility=facilities[lines[0]["billing_npi"]],
                sent=sent,
                format_defects=format_defects,
            )
        )
    return messages


def write_dft_file(
    rows: Iterable[Mapping[str, str]],
    path: Path,
    *,
    sent: datetime,
    format_defects: Mapping[str, str] | None = None,
    batch: bool = True,
    terminator: str = "\r",
) -> int:
    """Write the DFT messages of ``rows`` to ``path`` (an FHS/BHS batch file by default); returns the count."""
    messages = dft_messages(rows, sent=sent, format_defects=format_defects)
    stamp = sent.strftime("%Y%m%d%H%M%S")
    out: list[str] = []
    if batch:
        out.append(FIELD.join(["FHS", ENCODING_CHARACTERS, "SYNTHEHR", "", "REVCYCLE", "BILLING", stamp]))
        out.append(FIELD.join(["BHS", ENCODING_CHARACTERS, "SYNTHEHR", "", "REVCYCLE", "BILLING", stamp]))
    for segments in messages:
        out.extend(segments)
    if batch:
        out.append(FIELD.join(["BTS", str(len(messages))]))
        out.append(FIELD.join(["FTS", "1"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((terminator.join(out) + terminator).encode("utf-8"))
    return len(messages)
