"""The CSV reader behind the EHR reader interface, on a hand-written export (Done-when 1: every format has
hand-written fixtures whose expected contract rows are worked out by hand).

The file below is written by hand: a UTF-8 byte-order mark, the columns in an order of their own, a value with a
comma (quoted), spaces around values, an optional column left out (group_number), a blank line, and CRLF line
ends. What the reader must make of it follows from docs/charge-export.md ("The file"): every value as text,
stripped; absent optional columns empty; rows in file order, each with its line number (the header is line 1).
"""

from __future__ import annotations

from pathlib import Path

from connectors.ehr.config import EhrConfig
from connectors.ehr.registry import detect_reader
from revcycle.charge_export import COLUMN_NAMES

# Every required column, in an order of its own (payer and billing first), and no group_number.
HEADER = (
    "payer_id,claim_filing_indicator,billing_npi,billing_tax_id,billing_name,billing_address1,billing_city,"
    "billing_state,billing_zip,charge_id,encounter_id,patient_mrn,patient_last_name,patient_first_name,"
    "patient_birth_date,patient_sex,patient_address1,patient_city,patient_state,patient_zip,relationship,"
    "subscriber_last_name,subscriber_first_name,subscriber_birth_date,subscriber_sex,subscriber_address1,"
    "subscriber_city,subscriber_state,subscriber_zip,member_id,place_of_service,claim_type,claim_frequency_code,"
    "service_date_from,"
    "procedure_code,modifier1,units,charge_amount,diagnosis1,diagnosis2,diagnosis_pointers"
)
LINE_2 = (
    'MCRPB,MB,1245319599,361234567,"NORTH CLINIC, LLC",500 Lake Shore Dr,Chicago,IL,606111234,'
    "CH-1,ENC-1,MRN-1,Doe,Jane,1950-02-03,F,1 Main St,Chicago,IL,60601,self,"
    "Doe,Jane,1950-02-03,F,1 Main St,Chicago,IL,60601,1EG4TE5MK73,11,professional,1,2026-11-02,"
    " 99213 ,25,1,135.00,E119,I10,1:2"
)
# The same visit's second line: no modifier, one diagnosis pointed at.
LINE_4 = (
    'MCRPB,MB,1245319599,361234567,"NORTH CLINIC, LLC",500 Lake Shore Dr,Chicago,IL,606111234,'
    "CH-2,ENC-1,MRN-1,Doe,Jane,1950-02-03,F,1 Main St,Chicago,IL,60601,self,"
    "Doe,Jane,1950-02-03,F,1 Main St,Chicago,IL,60601,1EG4TE5MK73,11,professional,1,2026-11-02,"
    "36415,,1,12.5,E119,I10,1"
)

SHARED = {
    "payer_id": "MCRPB",
    "claim_filing_indicator": "MB",
    "billing_npi": "1245319599",
    "billing_tax_id": "361234567",
    "billing_name": "NORTH CLINIC, LLC",  # the quoted comma is part of the value
    "billing_address1": "500 Lake Shore Dr",
    "billing_city": "Chicago",
    "billing_state": "IL",
    "billing_zip": "606111234",
    "encounter_id": "ENC-1",
    "patient_mrn": "MRN-1",
    "patient_last_name": "Doe",
    "patient_first_name": "Jane",
    "patient_birth_date": "1950-02-03",
    "patient_sex": "F",
    "patient_address1": "1 Main St",
    "patient_city": "Chicago",
    "patient_state": "IL",
    "patient_zip": "60601",
    "relationship": "self",
    "subscriber_last_name": "Doe",
    "subscriber_first_name": "Jane",
    "subscriber_birth_date": "1950-02-03",
    "subscriber_sex": "F",
    "subscriber_address1": "1 Main St",
    "subscriber_city": "Chicago",
    "subscriber_state": "IL",
    "subscriber_zip": "60601",
    "member_id": "1EG4TE5MK73",
    "place_of_service": "11",
    "claim_type": "professional",
    "claim_frequency_code": "1",
    "service_date_from": "2026-11-02",
    "diagnosis1": "E119",
    "diagnosis2": "I10",
}
EXPECTED = [
    # line 2: " 99213 " stripped; modifier 25; two diagnoses pointed at
    SHARED
    | {
        "charge_id": "CH-1",
        "procedure_code": "99213",
        "modifier1": "25",
        "units": "1",
        "charge_amount": "135.00",
        "diagnosis_pointers": "1:2",
    },
    # line 4 (line 3 is blank): the amount as written, "12.5" (text; the gate judges its format)
    SHARED
    | {
        "charge_id": "CH-2",
        "procedure_code": "36415",
        "modifier1": "",
        "units": "1",
        "charge_amount": "12.5",
        "diagnosis_pointers": "1",
    },
]


def test_a_hand_written_csv_maps_to_the_rows_worked_out_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "charges.CSV"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([HEADER, LINE_2, "", LINE_4, ""]).encode("utf-8"))
    reader = detect_reader(path)
    assert reader.name == "csv"
    out = reader.read(path, EhrConfig())
    expected = [{name: row.get(name, "") for name in COLUMN_NAMES} for row in EXPECTED]
    assert [dict(row) for row in out.rows] == expected
    assert [str(s) for s in out.sources] == ["charges.CSV line 2", "charges.CSV line 4"]
    assert (out.units_in, out.held, out.format) == (2, [], "csv")
