"""Custom GX expectations for the charge export: NPI check digit, ISO calendar dates, diagnosis pointers.

Each metric is computed by GX on the data, vectorised over the whole column (string ops and numpy), never
row by row: a per-row Python NPI check costs seconds per million rows. Each expectation carries its own
pass and fail ``examples``, which ``tests/expectations/test_custom_expectations.py`` runs through GX.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation, MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (
    ColumnMapMetricProvider,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (
    multicolumn_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_map_metric_provider import (
    MulticolumnMapMetricProvider,
)

NPI_DIGITS = 10
# Luhn sum contributed by the card-issuer prefix 80840 that CMS puts in front of every NPI.
_NPI_PREFIX_SUM = 24
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_MAX_POINTED_DIAGNOSIS = 12


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
