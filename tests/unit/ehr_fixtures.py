"""Hand-written EHR feed fixtures: the practice configuration and HL7 v2.5.1 segments, every field commented.

Segments are written as {field number: wire text}; the wire text is exactly what goes between the field
separators (escape sequences included), and field numbers follow HL7 v2.5.1 (chapter 2 MSH, chapter 3 EVN, PID,
PV1, DG1, chapter 6 FT1, IN1). ``segment`` joins them with empty fields in between, so no pipe is counted by hand.
"""

from __future__ import annotations

from collections.abc import Mapping

from revcycle.charge_export import INSTITUTIONAL_CLAIM_COLUMNS, OTHER_COVERAGE_COLUMNS

# Valid NPIs (Luhn check digit with the 80840 prefix), made up.
NORTH_NPI = "1245319599"  # the NORTH CLINIC billing NPI
RENDERING_NPI = "1234567893"
REFERRING_NPI = "1987654328"

CONFIG_TOML = """
chargemaster = "chargemaster.csv"  # top-level keys come before the first [table]

[facilities.NORTH]
billing_npi = "1245319599"
billing_tax_id = "361234567"
billing_name = "NORTH CLINIC"
billing_address1 = "500 Lake Shore Dr"
billing_city = "Chicago"
billing_state = "IL"
billing_zip = "606111234"
place_of_service = "11"

[facilities.SOUTH]
billing_npi = "1112223338"
billing_tax_id = "369876543"
billing_name = "SOUTH CLINIC"
billing_address1 = "9 Prairie Ave"
billing_city = "Peoria"
billing_state = "IL"
billing_zip = "616021111"
place_of_service = "22"

[[plans]]
ehr_plan_id = "BCBS-PPO"
ehr_company_id = "BCBSIL"
payer_id = "SUMMT"
claim_filing_indicator = "CI"

[[plans]]
ehr_plan_id = "MEDICARE-B"
payer_id = "MCRPB"
claim_filing_indicator = "MB"
"""

CHARGEMASTER_CSV = "code,procedure_code,modifiers\nCH-0042,99213,\nCH-0100,36415,\nCH-0777,20610,RT\n"


def segment(name: str, fields: Mapping[int, str]) -> str:
    """A segment from {field number: wire text}; MSH's fields 1 and 2 are the separators themselves."""
    if name == "MSH":
        last = max(fields)
        return "MSH" + "|".join(fields.get(n, "") for n in range(1, last + 1))
    last = max(fields)
    return "|".join([name] + [fields.get(n, "") for n in range(1, last + 1)])


def msh(control_id: str, facility: str = "EPICNET", message_type: str = "DFT^P03^DFT_P03") -> str:
    """An MSH segment (v2.5.1 2.15.9)."""
    return segment(
        "MSH",
        {
            1: "",  # MSH-1 field separator: the '|' segment() puts after 'MSH'
            2: "^~\\&",  # MSH-2 encoding characters: component ^, repetition ~, escape \, subcomponent &
            3: "EPICCARE",  # MSH-3 sending application
            4: facility,  # MSH-4 sending facility (used for the facility when PV1-3.4 is empty)
            5: "REVCYCLE",  # MSH-5 receiving application
            6: "BILLING",  # MSH-6 receiving facility
            7: "20240305083000",  # MSH-7 date/time of message
            9: message_type,  # MSH-9 message type ^ trigger event ^ structure
            10: control_id,  # MSH-10 message control id
            11: "P",  # MSH-11 processing id: production
            12: "2.5.1",  # MSH-12 version id
        },
    )


# -- Message 1: escapes, repetitions, DG1 priorities, a chargemaster line, a credit ------------------------------
MESSAGE_ESCAPES = [
    msh("HW0001"),
    segment("EVN", {1: "P03", 2: "20240305083000"}),  # EVN-1 event type code, EVN-2 recorded date/time
    segment(
        "PID",
        {
            1: "1",  # PID-1 set id
            # PID-3 patient identifier list, two repetitions: a PI (patient internal) id, then the MR (record no.)
            3: "XK-77^^^EPIC^PI~MRN-4411^^^EPIC^MR",
            5: "Smith\\T\\Jones^Ann\\S\\Marie",  # PID-5 name: family 'Smith&Jones', given 'Ann^Marie' (escaped)
            7: "19800214",  # PID-7 date of birth
            8: "F",  # PID-8 administrative sex
            # PID-11 address: street 'Elm St|Unit 4' (\F\), other designation empty, city 'Twin~Falls' (\R\),
            # state, zip with a dash
            11: "12 Elm St\\F\\Unit 4^^Twin\\R\\Falls^IL^62704-1234",
            18: "ACCT-9",  # PID-18 patient account number (not used: PV1-19 is present)
        },
    ),
    segment(
        "PV1",
        {
            1: "1",  # PV1-1 set id
            2: "O",  # PV1-2 patient class: outpatient
            3: "EXAM2^^^NORTH",  # PV1-3 assigned location: point of care ^ room ^ bed ^ facility NORTH
            7: "5550001^Doctor^Attending",  # PV1-7 attending doctor (not used)
            # PV1-8 referring doctor (XCN): id ^ family ^ given ... XCN-13 identifier type NPI
            8: "1987654328^Reed^Rita^^^^^^^^^^NPI",
            19: "V-20240305-01",  # PV1-19 visit number
        },
    ),
    segment(
        "FT1",
        {
            1: "1",  # FT1-1 set id
            2: "CHG-1001",  # FT1-2 transaction id
            4: "20240305",  # FT1-4 transaction date (DR): start only, so the end is the start
            5: "20240306",  # FT1-5 posting date
            6: "CG",  # FT1-6 transaction type: charge
            7: "CH-0042^Office visit^LOCAL",  # FT1-7 transaction code (chargemaster); FT1-25 wins when present
            10: "1",  # FT1-10 quantity
            11: "195.00&USD",  # FT1-11 extended amount (CP): price 195.00, denomination USD as subcomponents
            # FT1-19 diagnosis codes, two repetitions: E11.9 then I10 (this line points at both)
            19: "E11.9^Type 2 diabetes^I10~I10^Hypertension^I10",
            # FT1-20 performed by, two repetitions: a local id first, then the NPI-typed one (XCN-13 NPI)
            20: "LOC-7^Lee^Sam~1234567893^Lee^Sam^^^^^^^^^^NPI",
            21: "9990001^Order^Olive",  # FT1-21 ordered by (not the referring provider; not used)
            25: "99214^Office visit, est.^C4",  # FT1-25 procedure code (CPT-4)
            26: "25~GT",  # FT1-26 procedure modifiers, two repetitions
        },
    ),
    segment(
        "FT1",
        {
            1: "2",  # FT1-1 set id
            2: "",  # FT1-2 transaction id empty: the charge id becomes MSH-10 '-' FT1-1 = HW0001-2
            4: "20240305^20240305",  # FT1-4 start ^ end
            6: "CG",  # FT1-6 charge
            7: "CH-0100^Venipuncture^LOCAL",  # FT1-7 chargemaster code CH-0100 -> 36415
            10: "1",  # FT1-10 quantity
            11: "15.00",  # FT1-11 extended amount, no denomination
            20: "1234567893^Lee^Sam^^^^^^^^^^NPI",  # FT1-20 performed by
            # FT1-19 empty: the line points at the encounter's first diagnoses (up to four)
            # FT1-25 empty: the procedure comes from the chargemaster
        },
    ),
    segment(
        "FT1",
        {
            1: "3",  # FT1-1 set id
            2: "CHG-0990",  # FT1-2 transaction id
            4: "20240301",  # FT1-4 transaction date
            6: "CD",  # FT1-6 credit: held for the claim-correction rules
            10: "1",  # FT1-10 quantity
            11: "-40.00",  # FT1-11 extended amount (a credit)
            25: "99213^^C4",  # FT1-25 procedure
        },
    ),
    # DG1-1 set id, DG1-3 code (CE), DG1-6 type (F final), DG1-15 priority: I10 is principal (1), E11.9 second,
    # Z23 has no priority so it comes last.
    segment("DG1", {1: "1", 3: "E11.9^Type 2 diabetes^I10", 6: "F", 15: "2"}),
    segment("DG1", {1: "2", 3: "Z23^Immunization^I10", 6: "F"}),
    segment("DG1", {1: "3", 3: "I10^Hypertension^I10", 6: "F", 15: "1"}),
    segment(
        "IN1",
        {
            1: "1",  # IN1-1 set id (the primary insurance)
            2: "BCBS-PPO^Blue PPO^L",  # IN1-2 insurance plan id -> crosswalk
            3: "XX-1~BCBSIL",  # IN1-3 insurance company id, two repetitions; the crosswalk needs BCBSIL
            4: "Blue Cross \\T\\ Blue Shield",  # IN1-4 company name (not used)
            8: "GRP-77",  # IN1-8 group number
            14: "AUTH-5^20240301",  # IN1-14 authorization information: number ^ date
            16: "Smith\\T\\Jones^Bob",  # IN1-16 name of insured
            17: "SPO^Spouse^HL70063",  # IN1-17 insured's relationship to patient (table 0063): spouse
            18: "19780101",  # IN1-18 insured's date of birth
            19: "12 Elm St\\F\\Unit 4^^Twin\\R\\Falls^IL^62704",  # IN1-19 insured's address
            36: "XYZ\\E\\123456789",  # IN1-36 policy number: 'XYZ\123456789' (\E\ is the escape character)
            43: "M",  # IN1-43 insured's administrative sex
        },
    ),
]

# What the reader must make of MESSAGE_ESCAPES, worked out from the comments above.
ENCOUNTER_1 = {
    "encounter_id": "V-20240305-01",  # PV1-19
    "patient_mrn": "MRN-4411",  # the PID-3 repetition typed MR
    "patient_last_name": "Smith&Jones",
    "patient_first_name": "Ann^Marie",
    "patient_birth_date": "1980-02-14",
    "patient_sex": "F",
    "patient_address1": "12 Elm St|Unit 4",
    "patient_city": "Twin~Falls",
    "patient_state": "IL",
    "patient_zip": "627041234",  # the dash dropped
    "relationship": "spouse",
    "subscriber_last_name": "Smith&Jones",
    "subscriber_first_name": "Bob",
    "subscriber_birth_date": "1978-01-01",
    "subscriber_sex": "M",
    "subscriber_address1": "12 Elm St|Unit 4",
    "subscriber_city": "Twin~Falls",
    "subscriber_state": "IL",
    "subscriber_zip": "62704",
    "member_id": "XYZ\\123456789",
    "group_number": "GRP-77",
    "payer_id": "SUMMT",  # BCBS-PPO with company BCBSIL
    "claim_filing_indicator": "CI",
    # NORTH from PV1-3.4
    "billing_npi": NORTH_NPI,
    "billing_tax_id": "361234567",
    "billing_name": "NORTH CLINIC",
    "billing_address1": "500 Lake Shore Dr",
    "billing_city": "Chicago",
    "billing_state": "IL",
    "billing_zip": "606111234",
    "referring_npi": REFERRING_NPI,
    "referring_last_name": "Reed",
    "referring_first_name": "Rita",
    "place_of_service": "11",
    "claim_type": "professional",
    "type_of_bill": "",
    "revenue_code": "",
    **dict.fromkeys(INSTITUTIONAL_CLAIM_COLUMNS, ""),
    **dict.fromkeys(OTHER_COVERAGE_COLUMNS, ""),
    # DG1 by priority: I10 (1), E11.9 (2), Z23 (none)
    "diagnosis1": "I10",
    "diagnosis2": "E11.9",
    "diagnosis3": "Z23",
    **{f"diagnosis{i}": "" for i in range(4, 13)},
    "prior_authorization": "AUTH-5",
    "claim_frequency_code": "1",
    "original_claim_number": "",
    "visit_status": "",
}
EXPECTED_1 = [
    ENCOUNTER_1
    | {
        "charge_id": "CHG-1001",
        "rendering_npi": RENDERING_NPI,  # the NPI-typed repetition of FT1-20
        "rendering_last_name": "Lee",
        "rendering_first_name": "Sam",
        "service_date_from": "2024-03-05",
        "service_date_to": "2024-03-05",
        "procedure_code": "99214",  # FT1-25 wins over the FT1-7 chargemaster code
        "modifier1": "25",
        "modifier2": "GT",
        "modifier3": "",
        "modifier4": "",
        "units": "1",
        "charge_amount": "195.00",
        "diagnosis_pointers": "2:1",  # E11.9 is diagnosis 2, I10 is diagnosis 1, in FT1-19's order
    },
    ENCOUNTER_1
    | {
        "charge_id": "HW0001-2",
        "rendering_npi": RENDERING_NPI,
        "rendering_last_name": "Lee",
        "rendering_first_name": "Sam",
        "service_date_from": "2024-03-05",
        "service_date_to": "2024-03-05",
        "procedure_code": "36415",  # CH-0100 in the chargemaster
        "modifier1": "",
        "modifier2": "",
        "modifier3": "",
        "modifier4": "",
        "units": "1",
        "charge_amount": "15.00",
        "diagnosis_pointers": "1:2:3",  # no FT1-19: the encounter's diagnoses, at most four
    },
]


# -- A batch file: FHS/BHS, two messages, LF and CRLF terminators ----------------------------------------------
def batch_message_self(control_id: str) -> list[str]:
    """A DFT for a self-insured Medicare patient: IN1-16/18/19 empty, so the subscriber is the patient."""
    return [
        msh(control_id, facility="SOUTH"),  # MSH-4 SOUTH: the facility, since PV1-3 names none
        segment("EVN", {1: "P03"}),  # EVN-1 event type code
        segment(
            "PID",
            {
                1: "1",  # PID-1 set id
                3: "MRN-9001^^^EPIC^MR",  # PID-3 the MR identifier
                5: "Quist^Oren^J",  # PID-5 family ^ given ^ middle
                7: "19480704",  # PID-7 date of birth
                8: "M",  # PID-8 sex
                11: "4 Oak Rd^^Peoria^IL^61602",  # PID-11 address
            },
        ),
        segment("PV1", {1: "1", 2: "O", 19: "V-77"}),  # PV1-1 set id, PV1-2 outpatient, PV1-19 visit number
        segment(
            "FT1",
            {
                1: "1",  # FT1-1 set id
                2: "CHG-2001",  # FT1-2 transaction id
                4: "20240304^20240305",  # FT1-4 a two-day span
                6: "CG",  # FT1-6 charge
                7: "CH-0777",  # FT1-7 chargemaster CH-0777 -> 20610 with modifier RT
                10: "2",  # FT1-10 quantity
                11: "360.00",  # FT1-11 extended amount
                19: "M25.561^^I10",  # FT1-19 one diagnosis, not in DG1: appended to the encounter's list
                20: "1234567893^Lee^Sam",  # FT1-20 performed by (one repetition, no type: taken as it is)
            },
        ),
        segment("DG1", {1: "1", 3: "M17.11^^I10", 15: "1"}),  # DG1-3 code, DG1-15 priority 1
        segment(
            "IN1",
            {
                1: "1",  # IN1-1 set id
                2: "MEDICARE-B",  # IN1-2 plan id -> MCRPB (no company id configured for it)
                17: "SEL",  # IN1-17 self
                36: "1EG4TE5MK73",  # IN1-36 policy number (an MBI)
            },
        ),
    ]


EXPECTED_BATCH_SELF = {
    "charge_id": "CHG-2001",
    "encounter_id": "V-77",
    "patient_mrn": "MRN-9001",
    "patient_last_name": "Quist",
    "patient_first_name": "Oren",
    "patient_birth_date": "1948-07-04",
    "patient_sex": "M",
    "patient_address1": "4 Oak Rd",
    "patient_city": "Peoria",
    "patient_state": "IL",
    "patient_zip": "61602",
    "relationship": "self",
    # self and no IN1-16/18/19/43: the patient's own
    "subscriber_last_name": "Quist",
    "subscriber_first_name": "Oren",
    "subscriber_birth_date": "1948-07-04",
    "subscriber_sex": "M",
    "subscriber_address1": "4 Oak Rd",
    "subscriber_city": "Peoria",
    "subscriber_state": "IL",
    "subscriber_zip": "61602",
    "member_id": "1EG4TE5MK73",
    "group_number": "",
    "payer_id": "MCRPB",
    "claim_filing_indicator": "MB",
    "billing_npi": "1112223338",  # SOUTH, from MSH-4
    "billing_tax_id": "369876543",
    "billing_name": "SOUTH CLINIC",
    "billing_address1": "9 Prairie Ave",
    "billing_city": "Peoria",
    "billing_state": "IL",
    "billing_zip": "616021111",
    "rendering_npi": RENDERING_NPI,
    "rendering_last_name": "Lee",
    "rendering_first_name": "Sam",
    "referring_npi": "",
    "referring_last_name": "",
    "referring_first_name": "",
    "place_of_service": "22",  # SOUTH's default
    "claim_type": "professional",
    "type_of_bill": "",
    "revenue_code": "",
    **dict.fromkeys(INSTITUTIONAL_CLAIM_COLUMNS, ""),
    **dict.fromkeys(OTHER_COVERAGE_COLUMNS, ""),
    "service_date_from": "2024-03-04",
    "service_date_to": "2024-03-05",
    "procedure_code": "20610",
    "modifier1": "RT",  # from the chargemaster, FT1-26 being empty
    "modifier2": "",
    "modifier3": "",
    "modifier4": "",
    "units": "2",
    "charge_amount": "360.00",
    "diagnosis1": "M17.11",
    "diagnosis2": "M25.561",
    **{f"diagnosis{i}": "" for i in range(3, 13)},
    "diagnosis_pointers": "2",
    "prior_authorization": "",
    "claim_frequency_code": "1",
    "original_claim_number": "",
    "visit_status": "",
}


def batch_message_unmapped(control_id: str) -> list[str]:
    """A DFT whose plan is not in the crosswalk: both its charges are held."""
    return [
        msh(control_id, facility="SOUTH"),
        segment("PID", {1: "1", 3: "MRN-9002^^^EPIC^MR", 5: "Ng^Ada", 7: "19700101", 8: "F"}),
        segment("PV1", {1: "1", 2: "O", 19: "V-78"}),
        segment("FT1", {1: "1", 2: "CHG-2002", 4: "20240305", 6: "CG", 10: "1", 11: "85.00", 25: "99212"}),
        segment("FT1", {1: "2", 2: "CHG-2003", 4: "20240305", 6: "AJ", 10: "1", 11: "-5.00", 25: "99212"}),
        segment("IN1", {1: "1", 2: "AETNA-HMO", 3: "AETNA", 17: "SEL", 36: "W1"}),  # IN1-2 not in the crosswalk
    ]


def batch_file(terminators: tuple[str, str]) -> bytes:
    """FHS, BHS, two messages (the first with one terminator, the second with the other), BTS 2, FTS 1."""
    first, second = terminators
    header = [
        "FHS|^~\\&|EPICCARE|EPICNET|REVCYCLE|BILLING|20240305090000",  # FHS-1/2 separators, FHS-3..7
        "BHS|^~\\&|EPICCARE|EPICNET|REVCYCLE|BILLING|20240305090000",  # BHS-1/2 separators, BHS-3..7
    ]
    text = first.join(header + batch_message_self("HB0001")) + first
    text += second.join(batch_message_unmapped("HB0002")) + second
    text += second.join(["BTS|2", "FTS|1"]) + second  # BTS-1 batch message count, FTS-1 file batch count
    return text.encode("utf-8")
