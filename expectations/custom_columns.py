"""Custom GX expectations that apply a single-column check to a list of columns, judging every cell: ISO dates,
NPI check digits, a value set, and values required on the rows where another column holds given values.

The charges suite checks many columns the same way (seven dates, four NPIs, eight institutional fields ...).
GX pays a fixed cost per expectation (its metric graph and a selection of rows per metric): on a nightly export
of a few lines that cost is nearly the whole validation, about 15 ms an expectation on a 2-core machine. One
expectation over the columns pays it once. ``failing_cells`` (custom_cells.py) names the failing columns for
the quarantine record, so the rejections (rule, column, row) and the summary (one line per column) are what one
expectation per column gave. A null passes, as in GX's column map expectations: the required rules report it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (
    multicolumn_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_map_metric_provider import (
    MulticolumnMapMetricProvider,
)

from expectations.custom import iso_date_valid, npi_check_digit_valid

MULTICOLUMN_DOMAIN_KEYS = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")


def _present_and_failing(frame: pd.DataFrame, valid: Callable[[pd.Series], pd.Series]) -> pd.DataFrame:
    """True where a cell holds a value that ``valid`` (a column check) rejects."""
    return pd.DataFrame(
        {
            name: frame[name].notna().to_numpy(dtype=bool) & ~valid(frame[name]).to_numpy(dtype=bool)
            for name in frame.columns
        },
        index=frame.index,
    )


def invalid_iso_date_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """True where a present cell is not ``YYYY-MM-DD`` naming a real calendar day."""
    return _present_and_failing(frame, iso_date_valid)


def invalid_npi_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """True where a present cell is not a 10-digit NPI with its Luhn check digit."""
    return _present_and_failing(frame, npi_check_digit_valid)


def not_in_set_cells(frame: pd.DataFrame, value_set: list[str]) -> pd.DataFrame:
    """True where a present cell is not one of ``value_set``."""
    return _present_and_failing(frame, lambda values: values.isin(value_set))


def missing_when_cells(frame: pd.DataFrame, when_in: list[str]) -> pd.DataFrame:
    """True where a cell of the columns after the first is null on a row whose first column is in ``when_in``.

    The answer's columns are the checked ones (all but the first, the condition).
    """
    applies = frame.iloc[:, 0].isin(when_in).to_numpy(dtype=bool)
    checked = frame.iloc[:, 1:]
    return pd.DataFrame(
        {name: applies & checked[name].isna().to_numpy(dtype=bool) for name in checked.columns}, index=frame.index
    )


def _no_failing_cell(cells: pd.DataFrame) -> pd.Series:
    if cells.shape[1] == 0:
        return pd.Series(np.ones(len(cells), dtype=bool), index=cells.index)
    return ~cells.any(axis=1)


class MulticolumnValuesIsoDate(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.iso_date``: every present cell of the row is an ISO calendar date."""

    condition_metric_name = "multicolumn_values.iso_date"
    condition_domain_keys = MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return _no_failing_cell(invalid_iso_date_cells(column_list))


class ExpectColumnsValuesToBeIsoDate(MulticolumnMapExpectation):
    """Expect every present value of the columns of ``column_list`` to be ``YYYY-MM-DD``, a real day."""

    map_metric = "multicolumn_values.iso_date"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "good": ["2024-02-29", "1999-12-31", "2025-01-01", None],
                "impossible": ["2023-02-29", "2024-13-01", "2024-04-31", "2024-04-30"],
                "other_layouts": ["20240101", "01/02/2024", "2024-1-01", "2024-01-01"],
                "empty": [None, None, None, None],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "real_days_or_empty_cells_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["good", "empty"], "ignore_row_if": "never"},
                    "out": {"success": True},
                },
                {
                    "title": "days_that_do_not_exist_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["good", "impossible"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 3},
                },
                {
                    "title": "other_layouts_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["other_layouts", "good"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 3},
                },
            ],
        }
    ]


class MulticolumnValuesValidNpi(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.valid_npi``: every present cell of the row is an NPI with its check digit."""

    condition_metric_name = "multicolumn_values.valid_npi"
    condition_domain_keys = MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return _no_failing_cell(invalid_npi_cells(column_list))


class ExpectColumnsValuesToBeValidNpi(MulticolumnMapExpectation):
    """Expect every present value of the columns of ``column_list`` to be an NPI (CMS check digit, 80840 prefix)."""

    map_metric = "multicolumn_values.valid_npi"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            # 1234567893 is the check-digit example of the CMS NPI standard; the others pass or fail by the same rule.
            "data": {
                "good": ["1234567893", "1245319599", "1003000126", None],
                "bad_digit": ["1234567890", "1234567893", "1245319599", None],
                "bad_shape": ["123456789", "12345678931", "12345A7893", "1234567893"],
                "empty": [None, None, None, None],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "valid_npis_or_empty_cells_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["good", "empty"], "ignore_row_if": "never"},
                    "out": {"success": True},
                },
                {
                    "title": "wrong_check_digit_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["good", "bad_digit"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 1},
                },
                {
                    "title": "wrong_length_or_letters_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["bad_shape", "good"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 3},
                },
            ],
        }
    ]


class MulticolumnValuesInSet(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.in_set``: every present cell of the row is one of ``value_set``."""

    condition_metric_name = "multicolumn_values.in_set"
    condition_domain_keys = MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ("value_set",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, value_set: list[str], **kwargs: Any) -> pd.Series:
        return _no_failing_cell(not_in_set_cells(column_list, value_set))


class ExpectColumnsValuesToBeInSet(MulticolumnMapExpectation):
    """Expect every present value of the columns of ``column_list`` to be one of ``value_set``."""

    value_set: list[str]
    map_metric = "multicolumn_values.in_set"
    success_keys = ("value_set", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "patient_sex": ["F", "M", "U", None],
                "subscriber_sex": [None, "F", "M", "F"],
                "bad_sex": ["F", "X", "m", None],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "values_in_the_set_or_empty_cells_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["patient_sex", "subscriber_sex"],
                        "value_set": ["F", "M", "U"],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": True},
                },
                {
                    "title": "values_outside_the_set_fail_case_sensitively",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["patient_sex", "bad_sex"],
                        "value_set": ["F", "M", "U"],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": False, "unexpected_count": 2},
                },
            ],
        }
    ]


class MulticolumnValuesPresentWhen(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.present_when``: the columns after the first present where it is in ``when_in``."""

    condition_metric_name = "multicolumn_values.present_when"
    condition_domain_keys = MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ("when_in",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, when_in: list[str], **kwargs: Any) -> pd.Series:
        return _no_failing_cell(missing_when_cells(column_list, when_in))


class ExpectColumnsValuesToBePresentWhen(MulticolumnMapExpectation):
    """Expect the columns after the first of ``column_list`` to hold a value where the first is in ``when_in``.

    ``column_list[0]`` is the condition (``claim_type``, ``type_of_bill``, ``secondary_payer_id`` ...); a row
    whose condition is missing or outside ``when_in`` passes.
    """

    when_in: list[str]
    map_metric = "multicolumn_values.present_when"
    success_keys = ("when_in", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "kind": ["institutional", "professional", "institutional", None],
                "bill_type": ["131", None, "111", None],
                "statement_from": ["2026-01-05", None, "2026-01-02", None],
                "bill_type_gaps": [None, None, "111", None],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "present_where_required_passes",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["kind", "bill_type", "statement_from"],
                        "when_in": ["institutional"],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": True},
                },
                {
                    "title": "missing_where_required_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["kind", "statement_from", "bill_type_gaps"],
                        "when_in": ["institutional"],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": False, "unexpected_count": 1},
                },
            ],
        }
    ]
