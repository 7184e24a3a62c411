"""Masking of failing values before they leave the validation step.

Only code-like, non-identifying columns (procedure and diagnosis codes, service dates, provider NPIs,
amounts ...) keep their value, so an operator can see what to fix; every other column is PHI or close to
it (names, birth dates, member ids, addresses, ZIP codes, MRNs) and is reduced to its length.
"""

from __future__ import annotations

import pandas as pd

from revcycle.charge_export import MAX_DIAGNOSES, MAX_MODIFIERS, PHI_COLUMNS

MAX_SHOWN_LENGTH = 40

UNMASKED_COLUMNS: frozenset[str] = frozenset(
    {
        "charge_id",
        "payer_id",
        "claim_filing_indicator",
        "billing_npi",
        "rendering_npi",
        "referring_npi",
        "place_of_service",
        "claim_type",
        "type_of_bill",
        "revenue_code",
        "admission_type",
        "admission_source",
        "discharge_status",
        "admitting_diagnosis",
        "attending_npi",
        "service_date_from",
        "service_date_to",
        "procedure_code",
        "units",
        "charge_amount",
        "diagnosis_pointers",
        "claim_frequency_code",
        "relationship",
        *(f"modifier{i}" for i in range(1, MAX_MODIFIERS + 1)),
        *(f"diagnosis{i}" for i in range(1, MAX_DIAGNOSES + 1)),
    }
) - frozenset(PHI_COLUMNS)


def mask_value(column: str, value: object) -> str | None:
    """The value as it may be shown for ``column``: itself for code columns, ``***<length>`` otherwise."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    text = str(value)
    if column in UNMASKED_COLUMNS:
        return text[:MAX_SHOWN_LENGTH]
    return f"***{len(text)}"
