"""The charge export contract: one row = one charge line, as an EHR extracts it (docs/charge-export.md).

Every column is read as text; parsing into typed values happens after validation, so a malformed
value is quarantined with its reason instead of failing the read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of the export: its name, whether it may be empty, and what it holds."""

    name: str
    required: bool
    description: str
    phi: bool = False


MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
OTHER_COVERAGES: tuple[str, ...] = ("secondary", "tertiary")
"""The coverages billed after the row's ``payer_id`` (the primary), in order (docs/charge-export.md, COB)."""


def _coverage_columns(rank: str) -> tuple[Column, ...]:
    """The optional columns of the ``rank`` coverage (secondary, tertiary): billed after the primary's 835."""
    return (
        Column(f"{rank}_payer_id", False, f"The {rank} payer's clearinghouse id (a registered payer connector)."),
        Column(f"{rank}_member_id", False, f"Insured's member id on the {rank} payer's card.", True),
        Column(f"{rank}_group_number", False, f"Insured's group or policy number with the {rank} payer."),
        Column(f"{rank}_claim_filing_indicator", False, f"SBR09 of the {rank} coverage: MB, MC, CI, BL ..."),
        Column(f"{rank}_relationship", False, f"Patient's relationship to the {rank} subscriber: self, spouse ..."),
        Column(f"{rank}_subscriber_last_name", False, f"The {rank} insured's family name.", True),
        Column(f"{rank}_subscriber_first_name", False, f"The {rank} insured's given name.", True),
        Column(f"{rank}_subscriber_birth_date", False, f"The {rank} insured's date of birth, YYYY-MM-DD.", True),
        Column(f"{rank}_subscriber_sex", False, "M, F or U.", True),
        Column(f"{rank}_subscriber_address1", False, f"The {rank} insured's street address (optional).", True),
        Column(f"{rank}_subscriber_city", False, "City (optional; with the street address).", True),
        Column(f"{rank}_subscriber_state", False, "Two-letter state code (optional).", True),
        Column(f"{rank}_subscriber_zip", False, "5 or 9 digit ZIP code (optional).", True),
    )


COLUMNS: tuple[Column, ...] = (
    Column("charge_id", True, "Unique id of the charge line in the EHR (unique across exports)."),
    Column("encounter_id", True, "The visit the charge belongs to; charges are grouped into claims by it."),
    Column("patient_mrn", True, "Medical record number; stays in the warehouse, never in a claim or log.", True),
    Column("patient_last_name", True, "Patient family name.", True),
    Column("patient_first_name", True, "Patient given name.", True),
    Column("patient_birth_date", True, "Patient date of birth, YYYY-MM-DD.", True),
    Column("patient_sex", True, "M, F or U.", True),
    Column("patient_address1", True, "Patient street address.", True),
    Column("patient_city", True, "Patient city.", True),
    Column("patient_state", True, "Two-letter state code.", True),
    Column("patient_zip", True, "5 or 9 digit ZIP code.", True),
    Column("relationship", True, "Patient's relationship to the subscriber: self, spouse, child or other."),
    Column("subscriber_last_name", True, "Insured's family name (equals the patient's when self).", True),
    Column("subscriber_first_name", True, "Insured's given name.", True),
    Column("subscriber_birth_date", True, "Insured's date of birth, YYYY-MM-DD.", True),
    Column("subscriber_sex", True, "M, F or U.", True),
    Column("subscriber_address1", True, "Insured's street address.", True),
    Column("subscriber_city", True, "Insured's city.", True),
    Column("subscriber_state", True, "Two-letter state code.", True),
    Column("subscriber_zip", True, "5 or 9 digit ZIP code.", True),
    Column("member_id", True, "Insured's member id on the payer's card (format per payer).", True),
    Column("group_number", False, "Insured's group or policy number."),
    Column("payer_id", True, "The payer's clearinghouse id; must name a registered payer connector."),
    Column("claim_filing_indicator", True, "SBR09 claim filing indicator: MB, MC, CI, BL, HM ..."),
    Column("billing_npi", True, "Billing provider NPI (10 digits, Luhn check digit)."),
    Column("billing_tax_id", True, "Billing provider EIN, 9 digits."),
    Column("billing_name", True, "Billing provider organisation name."),
    Column("billing_address1", True, "Billing provider street address (no PO box)."),
    Column("billing_city", True, "Billing provider city."),
    Column("billing_state", True, "Two-letter state code."),
    Column("billing_zip", True, "Billing provider ZIP+4, 9 digits."),
    Column("rendering_npi", False, "Rendering provider NPI when it differs from the billing provider."),
    Column("rendering_last_name", False, "Rendering provider family name."),
    Column("rendering_first_name", False, "Rendering provider given name."),
    Column("referring_npi", False, "Referring provider NPI."),
    Column("referring_last_name", False, "Referring provider family name."),
    Column("referring_first_name", False, "Referring provider given name."),
    Column("place_of_service", True, "CMS place-of-service code, 2 digits (11 office, 22 outpatient ...)."),
    Column("claim_type", True, "professional (837P) or institutional (837I)."),
    Column("type_of_bill", False, "Institutional only: type of bill, 3 digits (e.g. 131)."),
    Column("revenue_code", False, "Institutional only: revenue code, 4 digits."),
    # Institutional (837I) claim fields: empty on professional rows, required on institutional ones (the
    # admission and admitting diagnosis on inpatient bills only); taken from the encounter's first row.
    Column("statement_date_from", False, "Institutional only: first day of the statement period (DTP*434)."),
    Column("statement_date_to", False, "Institutional only: last day of the statement period (DTP*434)."),
    Column("admission_date", False, "Inpatient bills only: admission date, YYYY-MM-DD (DTP*435)."),
    Column("admission_type", False, "Inpatient bills only: NUBC priority (type) of admission, 1 digit (CL101)."),
    Column("admission_source", False, "Inpatient bills only: NUBC point of origin (source) of admission (CL102)."),
    Column("discharge_status", False, "Institutional only: NUBC patient discharge status, 2 digits (CL103)."),
    Column("admitting_diagnosis", False, "Inpatient bills only: ICD-10-CM admitting diagnosis (HI*ABJ)."),
    Column("attending_npi", False, "Institutional only: attending provider NPI (2310A)."),
    Column("attending_last_name", False, "Institutional only: attending provider family name."),
    Column("attending_first_name", False, "Institutional only: attending provider given name."),
    Column("service_date_from", True, "First date of service, YYYY-MM-DD."),
    Column("service_date_to", False, "Last date of service, YYYY-MM-DD (defaults to the first)."),
    Column("procedure_code", True, "CPT (5 digits, or 4 digits + F/T/U) or HCPCS Level II (letter + 4 digits)."),
    Column("modifier1", False, "First procedure modifier, 2 characters."),
    Column("modifier2", False, "Second procedure modifier."),
    Column("modifier3", False, "Third procedure modifier."),
    Column("modifier4", False, "Fourth procedure modifier."),
    Column("units", True, "Service units, above zero."),
    Column("charge_amount", True, "Line charge in dollars, above zero, at most two decimals."),
    *(
        Column(f"diagnosis{i}", i == 1, f"ICD-10-CM diagnosis {i} of the encounter, with or without the dot.")
        for i in range(1, MAX_DIAGNOSES + 1)
    ),
    Column("diagnosis_pointers", True, "This line's diagnoses: 1 to 4 numbers 1-12 separated by ':', e.g. 1:3."),
    Column("prior_authorization", False, "Prior authorization number (REF*G1)."),
    Column("claim_frequency_code", True, "1 original, 7 replacement, 8 void."),
    Column("original_claim_number", False, "The payer's claim number of the claim a 7 or 8 replaces."),
    Column("visit_status", False, "active (default when empty) or cancelled: the visit was cancelled in the EHR."),
    *(column for rank in OTHER_COVERAGES for column in _coverage_columns(rank)),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
OTHER_COVERAGE_COLUMNS: tuple[str, ...] = tuple(
    name for name in COLUMN_NAMES if name.startswith(tuple(f"{rank}_" for rank in OTHER_COVERAGES))
)
"""The ``secondary_*`` and ``tertiary_*`` columns (a feed that carries no other coverage leaves them empty)."""
# The institutional claim columns beside type_of_bill and revenue_code (empty on a professional row).
INSTITUTIONAL_CLAIM_COLUMNS: tuple[str, ...] = (
    "statement_date_from",
    "statement_date_to",
    "admission_date",
    "admission_type",
    "admission_source",
    "discharge_status",
    "admitting_diagnosis",
    "attending_npi",
    "attending_last_name",
    "attending_first_name",
)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
PHI_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.phi)

# visit_status: a re-export of a visit's charges (same charge ids) with "cancelled" cancels the visit.
VISIT_ACTIVE = "active"
VISIT_CANCELLED = "cancelled"
VISIT_STATUSES: frozenset[str] = frozenset({VISIT_ACTIVE, VISIT_CANCELLED})

RELATIONSHIP_CODES: dict[str, str] = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
