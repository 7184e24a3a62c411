"""The claims suite: over built claims, one row per claim line, before anything is written or sent.

Rules: the claim total (CLM02) equals the sum of its lines (SV102); an 837P claim has at most 12 diagnoses
and 50 lines; frequency 7 (replacement) and 8 (void) carry the payer's original claim number (REF*F8).
A claim failing any of them is held whole with the rule names as reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.expectations.core.expect_column_values_to_be_between import (
    ExpectColumnValuesToBeBetween,
)
from great_expectations.expectations.core.expect_column_values_to_be_in_set import ExpectColumnValuesToBeInSet
from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
    ExpectColumnValuesToNotBeNull,
)
from great_expectations.expectations.row_conditions import Column as RowColumn

from expectations.custom_claims import ExpectColumnValueCountsToBeAtMost, ExpectGroupTotalToEqualSumOfParts
from expectations.frames import FrameValidation, validate_frame
from revcycle.domain import Claim
from revcycle.money import to_cents

SUITE_NAME = "claims"
ERROR = "error"
MAX_DIAGNOSES_837P = 12
MAX_LINES_837P = 50
FREQUENCY_CODES = ("1", "7", "8")
CLAIM_FRAME_COLUMNS: tuple[str, ...] = (
    "claim_key",
    "claim_type",
    "frequency_code",
    "original_claim_number",
    "claim_total_cents",
    "diagnosis_count",
    "line_number",
    "line_charge_cents",
)


def claims_frame(claims: Sequence[Claim]) -> pd.DataFrame:
    """One row per claim line: claim key, type, frequency, REF*F8, CLM02, diagnosis count and the line charge."""
    rows = [
        (
            c.claim_key,
            c.claim_type.value,
            c.frequency_code,
            c.original_claim_number or None,
            to_cents(c.total_charge),
            len(c.diagnoses),
            line.line_number,
            to_cents(line.charge),
        )
        for c in claims
        for line in c.lines
    ]
    frame = pd.DataFrame(rows, columns=list(CLAIM_FRAME_COLUMNS))
    return frame.astype({"claim_total_cents": "int64", "diagnosis_count": "int64", "line_charge_cents": "int64"})


def _add(suite: list[Any], expectation: Any, rule: str, column: str) -> None:
    expectation.meta = {"severity": ERROR, "rule": rule, "column": column}
    suite.append(expectation)


def build_claims_suite() -> gx.ExpectationSuite:
    """The claims suite (every rule an error: the claim is held)."""
    professional = RowColumn("claim_type") == "professional"
    suite: list[Any] = []
    _add(
        suite,
        ExpectGroupTotalToEqualSumOfParts(column_list=["claim_key", "claim_total_cents", "line_charge_cents"]),
        "claim_total_equals_lines",
        "claim_total_cents",
    )
    _add(
        suite,
        ExpectColumnValuesToBeBetween(
            column="diagnosis_count", max_value=MAX_DIAGNOSES_837P, row_condition=professional
        ),
        "diagnoses_at_most_12",
        "diagnosis_count",
    )
    _add(
        suite,
        ExpectColumnValueCountsToBeAtMost(column="claim_key", max_count=MAX_LINES_837P, row_condition=professional),
        "lines_at_most_50",
        "line_number",
    )
    _add(
        suite,
        ExpectColumnValuesToBeInSet(column="frequency_code", value_set=list(FREQUENCY_CODES)),
        "frequency_code",
        "frequency_code",
    )
    _add(
        suite,
        ExpectColumnValuesToNotBeNull(
            column="original_claim_number", row_condition=RowColumn("frequency_code").is_in(["7", "8"])
        ),
        "original_claim_number_required",
        "original_claim_number",
    )
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=suite)


def validate_claims(claims: Sequence[Claim]) -> FrameValidation:
    """Run the claims suite over built claims."""
    return validate_frame(claims_frame(claims), build_claims_suite(), key_column="claim_key")


def claim_hold_reasons(claims: Sequence[Claim]) -> Mapping[str, list[str]]:
    """Claim key -> reasons to hold it (rule names, no values): the ``claim_check`` hook of record_intake."""
    if not claims:
        return {}
    validation = validate_claims(claims)
    return {
        key: [f"claim {key}: claims suite rule {rule} failed" for rule in rules]
        for key, rules in validation.keys_failing(ERROR).items()
    }
