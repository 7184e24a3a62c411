"""Custom GX expectations: NPI check digit, ISO dates, diagnosis pointers, ICD-10-CM code set, duplicate lines.

Each metric is computed by GX on the data, vectorised over the whole column (string ops and numpy), never
row by row: a per-row Python NPI check costs seconds per million rows. Each expectation carries its own
pass and fail ``examples``, which ``tests/expectations/test_custom_expectations.py`` runs through GX.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (
    ColumnMapMetricProvider,
)
from great_expectations.expectations.metrics.map_metric_provider.column_pair_condition_partial import (
    column_pair_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_pair_map_metric_provider import (
    ColumnPairMapMetricProvider,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (
    multicolumn_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_map_metric_provider import (
    MulticolumnMapMetricProvider,
)

from expectations.codesets import load_icd10cm_releases

NPI_DIGITS = 10
# Luhn sum contributed by the card-issuer prefix 80840 that CMS puts in front of every NPI.
_NPI_PREFIX_SUM = 24
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_MAX_POINTED_DIAGNOSIS = 12
# The ICD-10-CM code shape (dot optional); a value of another shape is the format rule's to report.
ICD10CM_SHAPE = r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?"


def npi_check_digit_valid(values: pd.Series) -> pd.Series:
    """True where a value is 10 digits ending in the Luhn check digit of ``80840`` + the first 9."""
    values = values.astype("str")
    shaped = values.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    result = pd.Series(False, index=values.index)
    if not shaped.any():
        return result
    joined = "".join(values[shaped].tolist()).encode("ascii")
    digits = np.frombuffer(joined, dtype=np.uint8).reshape(-1, NPI_DIGITS).astype(np.int16) - ord("0")
    # From the right of the 9-digit payload, every other digit (positions 1, 3, 5, 7, 9) is doubled.
    doubled = digits[:, 0:9:2] * 2
    doubled = doubled - 9 * (doubled > 9)
    total = _NPI_PREFIX_SUM + doubled.sum(axis=1) + digits[:, 1:9:2].sum(axis=1)
    expected = (10 - total % 10) % 10
    result[shaped] = expected == digits[:, 9]
    return result


def iso_date_valid(values: pd.Series) -> pd.Series:
    """True where a value is ``YYYY-MM-DD`` and names a real calendar day (no 2023-02-30)."""
    values = values.astype("str")
    shaped = values.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
    parsed = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
    return shaped & parsed.notna()


def diagnosis_pointers_resolve(frame: pd.DataFrame) -> pd.Series:
    """True where every pointer in the first column (``1:3``) names a non-empty diagnosis among the others.

    The first column holds the pointers, the following ones are diagnosis1, diagnosis2 ... in order.
    A missing pointer list passes (the required rule reports it) and a token that is not a number passes
    (the pointer format rule reports it); a number that names no present diagnosis fails.
    """
    pointers = frame.iloc[:, 0].astype("str")
    present = frame.iloc[:, 1:].notna().to_numpy()
    if present.shape[1]:
        blank = frame.iloc[:, 1:].apply(lambda column: column.astype("str").str.strip().eq("")).to_numpy()
        present &= ~np.asarray(blank, dtype=bool)
    diagnosis_count = present.shape[1]
    ok = np.ones(len(frame), dtype=bool)
    tokens = pointers.str.split(":", expand=True)
    if tokens.shape[1] == 0:
        return pd.Series(ok, index=frame.index)
    rows = np.arange(len(frame))
    for position in range(tokens.shape[1]):
        token = tokens.iloc[:, position]
        numeric = pd.to_numeric(
            token.where(token.str.fullmatch(r"\d+").fillna(False).astype(bool)), errors="coerce"
        ).to_numpy(dtype=float)
        is_number = ~np.isnan(numeric)
        pointer = np.where(is_number, numeric, 0).astype(np.int64)
        in_range = is_number & (pointer >= 1) & (pointer <= min(diagnosis_count, _MAX_POINTED_DIAGNOSIS))
        target_present = np.zeros(len(frame), dtype=bool)
        target_present[in_range] = present[rows[in_range], pointer[in_range] - 1]
        ok &= ~is_number | target_present
    return pd.Series(ok, index=frame.index)


class ColumnValuesValidNpi(ColumnMapMetricProvider):
    """Metric ``column_values.valid_npi``: the NPI Luhn check (80840 prefix), vectorised."""

    condition_metric_name = "column_values.valid_npi"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return npi_check_digit_valid(column)


class ExpectColumnValuesToBeValidNpi(ColumnMapExpectation):
    """Expect non-null column values to be NPIs: 10 digits with a correct Luhn check digit (80840 prefix)."""

    map_metric = "column_values.valid_npi"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "good": ["1234567893", "1245319599", "1003000126", None],
                "bad_digit": ["1234567890", "1234567893", "1245319599", None],
                "bad_shape": ["123456789", "12345678931", "12345A7893", "1234567893"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "valid_npis_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "good"},
                    "out": {"success": True},
                },
                {
                    "title": "wrong_check_digit_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "bad_digit"},
                    "out": {"success": False, "unexpected_count": 1},
                },
                {
                    "title": "wrong_length_or_letters_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "bad_shape"},
                    "out": {"success": False, "unexpected_count": 3},
                },
            ],
        }
    ]


class ColumnValuesIsoDate(ColumnMapMetricProvider):
    """Metric ``column_values.iso_date``: ``YYYY-MM-DD`` naming a real calendar day, vectorised."""

    condition_metric_name = "column_values.iso_date"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return iso_date_valid(column)


class ExpectColumnValuesToBeIsoDate(ColumnMapExpectation):
    """Expect non-null column values to be ISO calendar dates ``YYYY-MM-DD`` that exist."""

    map_metric = "column_values.iso_date"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "good": ["2024-02-29", "1999-12-31", "2025-01-01", None],
                "impossible": ["2023-02-29", "2024-13-01", "2024-04-31", "2024-04-30"],
                "other_layouts": ["20240101", "01/02/2024", "2024-1-01", "2024-01-01"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "real_iso_dates_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "good"},
                    "out": {"success": True},
                },
                {
                    "title": "days_that_do_not_exist_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "impossible"},
                    "out": {"success": False, "unexpected_count": 3},
                },
                {
                    "title": "other_layouts_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "other_layouts"},
                    "out": {"success": False, "unexpected_count": 3},
                },
            ],
        }
    ]


class MulticolumnDiagnosisPointersResolve(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.diagnosis_pointers_resolve``: pointers name present diagnoses."""

    condition_metric_name = "multicolumn_values.diagnosis_pointers_resolve"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_list",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return diagnosis_pointers_resolve(column_list)


class ExpectDiagnosisPointersToReferencePresentDiagnoses(MulticolumnMapExpectation):
    """Expect each pointer of the first column (``1:3``) to name a non-empty diagnosis column.

    ``column_list`` is the pointers column followed by diagnosis1, diagnosis2 ... in order.
    """

    map_metric = "multicolumn_values.diagnosis_pointers_resolve"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "pointers": ["1", "1:2", "2:1:3", "1:2"],
                "pointers_bad": ["2", "1:3", "1:3", "1:4"],
                "dx1": ["E119", "E119", "I10", "E119"],
                "dx2": [None, "I10", "I10", "I10"],
                "dx3": [None, None, "Z0000", None],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "pointers_to_present_diagnoses_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["pointers", "dx1", "dx2", "dx3"]},
                    "out": {"success": True},
                },
                {
                    "title": "pointers_to_empty_or_absent_diagnoses_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["pointers_bad", "dx1", "dx2", "dx3"]},
                    "out": {"success": False, "unexpected_count": 3},
                },
            ],
        }
    ]


def icd10cm_billable_on(codes: pd.Series, service_dates: pd.Series) -> pd.Series:
    """True where a code is billable in the ICD-10-CM release in force on its row's service date.

    Codes are compared upper-cased without the dot. A value that is not shaped like an ICD-10-CM code
    passes (the format rule reports it), so one bad value fails one rule. Dates before the oldest shipped
    release are checked against that release.
    """
    text = codes.astype("str")
    shaped = text.str.fullmatch(ICD10CM_SHAPE).fillna(False).astype(bool).to_numpy()
    normalised = text.str.replace(".", "", regex=False)
    when = pd.to_datetime(service_dates, errors="coerce")
    releases = load_icd10cm_releases()
    billable = np.zeros(len(text), dtype=bool)
    for position, release in enumerate(releases):
        applies = np.ones(len(text), dtype=bool)
        if position > 0:
            applies &= (when >= pd.Timestamp(release.effective_from)).fillna(False).to_numpy(dtype=bool)
        if position + 1 < len(releases):
            applies &= ~(when >= pd.Timestamp(releases[position + 1].effective_from)).fillna(False).to_numpy(dtype=bool)
        if applies.any():
            billable[applies] = normalised[applies].isin(release.codes).to_numpy(dtype=bool)
    return pd.Series(billable | ~shaped, index=codes.index)


def first_of_duplicates(frame: pd.DataFrame) -> pd.Series:
    """True for the first row of each combination of the frame's values; repeats are False (nulls compare equal)."""
    return ~frame.duplicated(keep="first")


class ColumnPairIcd10cmBillable(ColumnPairMapMetricProvider):
    """Metric ``column_pair_values.icd10cm_billable_on_date``: code billable in the release of the date."""

    condition_metric_name = "column_pair_values.icd10cm_billable_on_date"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_A",
        "column_B",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ()

    @column_pair_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: Any) -> pd.Series:
        return icd10cm_billable_on(column_A, column_B)


class ExpectColumnValuesToBeBillableIcd10cm(ColumnPairMapExpectation):
    """Expect ICD-10-CM codes (column_A) to be billable in the code set in force on the date (column_B).

    The code set is the shipped CMS releases (``expectations/codesets``); only their names reach the
    expectation's configuration, never the 74,000 codes.
    """

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = "either_value_is_missing"
    map_metric = "column_pair_values.icd10cm_billable_on_date"
    success_keys = ("column_A", "column_B", "ignore_row_if", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "dx_good": ["E11.9", "I10", "M5450", "Z23", None],
                "dx_unknown": ["E11", "M545", "E1199", "I10", "I109"],
                "dx_new_code": ["E11A", "E11A", "I10", "I10", "I10"],
                "dx_malformed": ["1I0", "E1.9", "I10", "I10", None],
                "dos": ["2025-06-01", "2025-06-01", "2026-05-01", "2026-05-01", "2026-05-01"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "billable_codes_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "dx_good", "column_B": "dos"},
                    "out": {"success": True},
                },
                {
                    "title": "categories_deleted_and_invented_codes_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "dx_unknown", "column_B": "dos"},
                    "out": {"success": False, "unexpected_count": 4},
                },
                {
                    "title": "a_code_added_later_fails_before_its_release",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "dx_new_code", "column_B": "dos"},
                    "out": {"success": False, "unexpected_count": 2},
                },
                {
                    "title": "malformed_values_are_left_to_the_format_rule",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "dx_malformed", "column_B": "dos"},
                    "out": {"success": True},
                },
            ],
        }
    ]


class MulticolumnFirstOfDuplicates(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.first_of_duplicates``: a row repeating an earlier row's values fails."""

    condition_metric_name = "multicolumn_values.first_of_duplicates"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_list",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return first_of_duplicates(column_list)


class ExpectRowsToBeFirstOfTheirValues(MulticolumnMapExpectation):
    """Expect no row to repeat the values of an earlier row in ``column_list``: the repeat is the defect.

    Unlike uniqueness (which fails every row of a repeated combination), the first occurrence passes.
    """

    map_metric = "multicolumn_values.first_of_duplicates"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "patient": ["M1", "M1", "M2", "M1", "M1"],
                "day": ["2025-01-02", "2025-01-02", "2025-01-02", "2025-01-03", "2025-01-02"],
                "code": ["99213", "36415", "99213", "99213", "99213"],
                "modifier": [None, None, None, None, "25"],
                "code_repeated": ["99213", "99213", "99213", "99213", "99213"],
                "modifier_repeated": [None, None, None, None, None],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "distinct_lines_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["patient", "day", "code", "modifier"]},
                    "out": {"success": True},
                },
                {
                    "title": "only_the_repeat_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["patient", "day", "code_repeated", "modifier_repeated"]},
                    "out": {"success": False, "unexpected_count": 2},
                },
            ],
        }
    ]
