"""The claims suite: the written 837, read back, against the claims staged in the warehouse.

It runs at staging, over the bytes about to be uploaded, and owns rules nothing else checks: the builder and
the writer check the ``Claim`` objects they make, this suite checks what was actually written. Both sides are
independent of the claim builder's arithmetic: the written side is ``read_837`` over the bytes (CLM02, SV102,
HI, SV107 as written), the staged side is the ``claim`` and ``claim_line`` rows recorded at intake.

One row per claim line, the written and the staged line side by side (an outer join on claim key,
interchange and line number, so a line or claim present on one side only is a row too). Rules:

- ``written_837_reads_clean``: the reader found no problem in the interchange (counts, envelopes, elements);
- ``claim_written`` / ``claim_staged``: every staged claim line is in the file, and nothing else is;
- ``claim_written_once``: each claim has exactly its staged number of line rows (a claim written twice, or
  a line more or less, fails);
- ``claim_total_equals_lines``: CLM02 as written equals the sum of the SV102 amounts as written;
- ``claim_total_within_x12``: CLM02 as written is at most 99,999,999.99, the 10 characters the 5010 TR3 allows;
- ``claim_total_equals_staged`` / ``line_charge_equals_staged`` / ``line_procedure_equals_staged`` /
  ``frequency_code_equals_staged``: what was written equals what intake recorded;
- ``diagnosis_pointer_present`` / ``diagnosis_pointer_positive`` / ``diagnosis_pointer_target``: every 837P
  line points (SV107) at 1 to 4 existing entries of its claim's HI segment as written.

A claim failing any rule is held at stage ``stage`` with the rule names, never sent in part; a row that
belongs to no staged claim of its interchange holds every claim of that interchange.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.expectations.core.expect_column_pair_values_a_to_be_greater_than_b import (
    ExpectColumnPairValuesAToBeGreaterThanB,
)
from great_expectations.expectations.core.expect_column_pair_values_to_be_equal import (
    ExpectColumnPairValuesToBeEqual,
)
from great_expectations.expectations.core.expect_column_values_to_be_between import (
    ExpectColumnValuesToBeBetween,
)
from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
    ExpectColumnValuesToNotBeNull,
)

from expectations.custom_claims import ExpectGroupSizeToEqual, ExpectGroupTotalToEqualSumOfParts
from expectations.custom_conditional import ExpectColumnValuesToBePresentWhen
from expectations.frames import FrameValidation, validate_frame
from revcycle.money import to_cents
from revcycle.submission import StagedClaim, WrittenInterchange
from revcycle.x12.x837 import read_837

SUITE_NAME = "claims"
ERROR = "error"
HOLD_KEY = "hold_key"
INTERCHANGE_PREFIX = "interchange:"
# CLM02 is data element 782, which the 5010 TR3s limit to 10 characters, cents included (005010X222A1
# Appendix B.1.1.3.1.2; X12 RFI 2204): lines each within the charges suite's bound can still sum past it.
MAX_X12_AMOUNT_CENTS = 99_999_999_99

WRITTEN_COLUMNS: tuple[str, ...] = (
    "claim_key",
    "interchange",
    "line_number",
    "read_problems",
    "written_total_cents",
    "written_line_cents",
    "written_procedure_code",
    "written_frequency_code",
    "written_diagnosis_count",
    "line_kind",
    "pointer_min",
    "pointer_max",
)
STAGED_COLUMNS: tuple[str, ...] = (
    "claim_key",
    "interchange",
    "line_number",
    "staged_total_cents",
    "staged_line_count",
    "staged_line_cents",
    "staged_procedure_code",
    "staged_frequency_code",
)
_JOIN = ["claim_key", "interchange", "line_number"]
_INTEGER_COLUMNS = frozenset(
    {
        "line_number",
        "read_problems",
        "written_total_cents",
        "written_line_cents",
        "written_diagnosis_count",
        "pointer_min",
        "pointer_max",
        "staged_total_cents",
        "staged_line_count",
        "staged_line_cents",
    }
)


def _pointer_range(pointers: Sequence[str]) -> tuple[int | None, int | None]:
    """(smallest, largest) SV107 pointer as numbers; None when absent or not all numbers."""
    if not pointers or not all(p.isdigit() for p in pointers):
        return None, None
    numbers = [int(p) for p in pointers]
    return min(numbers), max(numbers)


def _written_rows(position: int, content: bytes) -> list[tuple[Any, ...]]:
    received = read_837(content)
    problems = len(received.problems)
    rows: list[tuple[Any, ...]] = []
    for c in received.claims:
        total = to_cents(c.total_charge)
        if not c.lines:
            rows.append((c.claim_key, position, None, problems, total, None, None, c.frequency_code,
                         len(c.diagnoses), None, None, None))  # fmt: skip
        for line in c.lines:
            low, high = _pointer_range(line.diagnosis_pointers)
            rows.append(
                (
                    c.claim_key,
                    position,
                    line.line_number,
                    problems,
                    total,
                    to_cents(line.charge),
                    line.procedure_code,
                    c.frequency_code,
                    len(c.diagnoses),
                    "SV2" if line.revenue_code else "SV1",
                    low,
                    high,
                )
            )
    if not rows:  # nothing readable at all: one row so the interchange's problems are judged
        rows.append((f"{INTERCHANGE_PREFIX}{position}", position, None, max(problems, 1), *([None] * 8)))
    return rows


def _staged_rows(position: int, claims: Sequence[StagedClaim]) -> list[tuple[Any, ...]]:
    return [
        (
            c.claim_key,
            position,
            line.line_number,
            c.total_charge_cents,
            len(c.lines),
            line.charge_cents,
            line.procedure_code,
            c.frequency_code,
        )
        for c in claims
        for line in c.lines
    ]


def written_claims_frame(interchanges: Sequence[WrittenInterchange]) -> pd.DataFrame:
    """One row per claim line, written (read back from the bytes) beside staged (the warehouse), outer-joined.

    ``hold_key`` names the claim a failing row holds: its claim key when that claim is staged in the
    interchange, else ``interchange:<n>`` (every claim of interchange ``n``).
    """
    written = pd.DataFrame(
        [row for n, i in enumerate(interchanges) for row in _written_rows(n, i.content)], columns=list(WRITTEN_COLUMNS)
    )
    staged = pd.DataFrame(
        [row for n, i in enumerate(interchanges) for row in _staged_rows(n, i.claims)], columns=list(STAGED_COLUMNS)
    )
    # Integer columns are nullable integers: a line or claim missing on one side is null, and cents stay exact.
    for side in (written, staged):
        for column in side.columns:
            if column in _INTEGER_COLUMNS:
                side[column] = side[column].astype("Int64")
        side["interchange"] = side["interchange"].astype("int64")
    frame = written.merge(staged, how="outer", on=_JOIN, sort=True)
    staged_keys = {(n, c.claim_key) for n, i in enumerate(interchanges) for c in i.claims}
    frame[HOLD_KEY] = [
        key if (n, key) in staged_keys else f"{INTERCHANGE_PREFIX}{n}"
        for key, n in zip(frame["claim_key"], frame["interchange"], strict=True)
    ]
    return frame


def _add(suite: list[Any], expectation: Any, rule: str, column: str) -> None:
    expectation.meta = {"severity": ERROR, "rule": rule, "column": column}
    suite.append(expectation)


def build_claims_suite() -> gx.ExpectationSuite:
    """The claims suite over ``written_claims_frame`` (every rule an error: the claim is held)."""
    suite: list[Any] = []
    _add(suite, ExpectColumnValuesToBeBetween(column="read_problems", max_value=0), "written_837_reads_clean", "*")
    _add(suite, ExpectColumnValuesToNotBeNull(column="written_total_cents"), "claim_written", "claim_key")
    _add(suite, ExpectColumnValuesToNotBeNull(column="staged_total_cents"), "claim_staged", "claim_key")
    _add(
        suite,
        ExpectGroupSizeToEqual(column_list=["claim_key", "staged_line_count"], ignore_row_if="never"),
        "claim_written_once",
        "claim_key",
    )
    _add(
        suite,
        # Rows of a claim not written (or a line not written) are claim_written's to report.
        ExpectGroupTotalToEqualSumOfParts(
            column_list=["claim_key", "written_total_cents", "written_line_cents"], ignore_row_if="any_value_is_missing"
        ),
        "claim_total_equals_lines",
        "CLM02",
    )
    _add(
        suite,
        ExpectColumnValuesToBeBetween(column="written_total_cents", min_value=0, max_value=MAX_X12_AMOUNT_CENTS),
        "claim_total_within_x12",
        "CLM02",
    )
    for rule, written, staged in (
        ("claim_total_equals_staged", "written_total_cents", "staged_total_cents"),
        ("line_charge_equals_staged", "written_line_cents", "staged_line_cents"),
        ("line_procedure_equals_staged", "written_procedure_code", "staged_procedure_code"),
        ("frequency_code_equals_staged", "written_frequency_code", "staged_frequency_code"),
    ):
        _add(
            suite,
            ExpectColumnPairValuesToBeEqual(column_A=written, column_B=staged, ignore_row_if="either_value_is_missing"),
            rule,
            written,
        )
    _add(
        suite,
        ExpectColumnValuesToBePresentWhen(column_A="line_kind", column_B="pointer_min", when_in=["SV1"]),
        "diagnosis_pointer_present",
        "SV107",
    )
    _add(suite, ExpectColumnValuesToBeBetween(column="pointer_min", min_value=1), "diagnosis_pointer_positive", "SV107")
    _add(
        suite,
        ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="written_diagnosis_count",
            column_B="pointer_max",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        "diagnosis_pointer_target",
        "SV107",
    )
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=suite)


def validate_written(interchanges: Sequence[WrittenInterchange]) -> FrameValidation:
    """Run the claims suite over written interchanges; findings are named by ``hold_key``."""
    return validate_frame(written_claims_frame(interchanges), build_claims_suite(), key_column=HOLD_KEY)


def written_claim_problems(interchanges: Sequence[WrittenInterchange]) -> Mapping[str, list[str]]:
    """Claim key -> reasons to hold it (rule names, no values): the written-claim check of staging."""
    if not interchanges:
        return {}
    validation = validate_written(interchanges)
    problems: dict[str, list[str]] = {}
    for key, rules in validation.keys_failing(ERROR).items():
        if key.startswith(INTERCHANGE_PREFIX):
            position = int(key.removeprefix(INTERCHANGE_PREFIX))
            reason = f"claims suite rules {', '.join(rules)} failed on its interchange's written 837"
            for c in interchanges[position].claims:
                problems.setdefault(c.claim_key, []).append(f"claim {c.claim_key}: {reason}")
            continue
        problems.setdefault(key, []).extend(
            f"claim {key}: claims suite rule {rule} failed on the written 837" for rule in rules
        )
    return problems
