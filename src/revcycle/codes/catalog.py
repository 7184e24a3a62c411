"""Small public code lists the pipeline and the synthetic generator draw on.

CPT descriptions are deliberately omitted (they are AMA copyright); codes and typical office fees are not.
"""

from __future__ import annotations

from decimal import Decimal

# Procedure codes common in a multi-specialty office, with a typical billed charge.
PROFESSIONAL_PROCEDURES: dict[str, Decimal] = {
    "99202": Decimal("110.00"),
    "99203": Decimal("165.00"),
    "99204": Decimal("250.00"),
    "99212": Decimal("85.00"),
    "99213": Decimal("135.00"),
    "99214": Decimal("195.00"),
    "99215": Decimal("260.00"),
    "99395": Decimal("240.00"),
    "99396": Decimal("255.00"),
    "36415": Decimal("15.00"),
    "81002": Decimal("12.00"),
    "85025": Decimal("28.00"),
    "80053": Decimal("45.00"),
    "93000": Decimal("65.00"),
    "71046": Decimal("95.00"),
    "73030": Decimal("85.00"),
    "20610": Decimal("180.00"),
    "11102": Decimal("150.00"),
    "90471": Decimal("30.00"),
    "90686": Decimal("40.00"),
    "97110": Decimal("70.00"),
    "G0439": Decimal("185.00"),
    "J1100": Decimal("12.50"),
    "J3301": Decimal("18.00"),
}

EVALUATION_AND_MANAGEMENT = frozenset(code for code in PROFESSIONAL_PROCEDURES if code.startswith("992"))

# ICD-10-CM billable codes (no dot), all valid for FY2024-FY2026.
DIAGNOSES: tuple[str, ...] = (
    "E119",  # type 2 diabetes without complications
    "E785",  # hyperlipidaemia, unspecified
    "I10",  # essential hypertension
    "J069",  # acute upper respiratory infection
    "J209",  # acute bronchitis
    "M5450",
    "M25561",  # pain in right knee
    "R0781",  # pleurodynia
    "R519",  # headache, unspecified
    "Z0000",  # general adult exam without abnormal findings
    "Z23",  # encounter for immunization
    "K219",  # GERD without oesophagitis
    "F419",  # anxiety disorder, unspecified
    "N390",  # UTI, site not specified
    "L700",  # acne vulgaris
    "E6601",  # morbid obesity due to excess calories
    "R079",  # chest pain, unspecified
    "B349",  # viral infection, unspecified
)

# CMS place-of-service codes used by the pipeline (subset of the public list).
PLACES_OF_SERVICE: frozenset[str] = frozenset(
    {
        "02",
        "10",
        "11",
        "12",
        "19",
        "20",
        "21",
        "22",
        "23",
        "24",
        "31",
        "32",
        "49",
        "50",
        "53",
        "65",
        "71",
        "72",
        "81",
        "99",
    }
)

# Claim adjustment group codes (CAS01).
CAS_GROUP_CODES: dict[str, str] = {
    "CO": "Contractual obligation",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer initiated reduction",
    "CR": "Correction and reversal",
}

# CLP02 claim status codes.
CLAIM_STATUS_CODES: dict[str, str] = {
    "1": "Processed as primary",
    "2": "Processed as secondary",
    "3": "Processed as tertiary",
    "4": "Denied",
    "19": "Processed as primary, forwarded to additional payer(s)",
    "20": "Processed as secondary, forwarded to additional payer(s)",
    "21": "Processed as tertiary, forwarded to additional payer(s)",
    "22": "Reversal of previous payment",
    "23": "Not our claim, forwarded to additional payer(s)",
    "25": "Predetermination pricing only, no payment",
}
