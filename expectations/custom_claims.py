"""Custom GX expectations over claims and remittances: totals against line sums, line counts, balancing.

Amounts are integer cents (exact); each metric is computed by GX, vectorised (groupby and array
arithmetic), and each expectation carries pass and fail ``examples`` the tests run through GX.
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

_MULTICOLUMN_DOMAIN = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")


def _cents(column: pd.Series) -> pd.Series:
    """The column as nullable integer cents: a missing value, text or a fraction of a cent is null."""
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.dtype.kind == "f":
        numbers = numbers.where(numbers == numbers.round())
    return numbers.astype("Int64").reset_index(drop=True)


def _holds(comparison: pd.Series, index: pd.Index) -> pd.Series:
    """The comparison as plain booleans on ``index``; a comparison with a null never holds."""
    return pd.Series(comparison.fillna(False).to_numpy(dtype=bool), index=index)


def group_total_equals_parts(frame: pd.DataFrame) -> pd.Series:
    """True where the second column (a group's total) equals the sum of the third over the first's group."""
    parts = _cents(frame.iloc[:, 2])
    summed = parts.groupby(frame.iloc[:, 0].astype("str").to_numpy()).transform("sum")
    return _holds(summed == _cents(frame.iloc[:, 1]), frame.index)


def group_size_equals(frame: pd.DataFrame) -> pd.Series:
    """True where the number of rows of the first column's group equals the row's second column."""
    keys = frame.iloc[:, 0].astype("str").to_numpy()
    sizes = pd.Series(np.ones(len(frame), dtype=np.int64)).groupby(keys).transform("size")
    return _holds(sizes == _cents(frame.iloc[:, 1]), frame.index)


def amounts_balance(frame: pd.DataFrame) -> pd.Series:
    """True where the first column equals the second minus every following one (integer cents)."""
    result = _cents(frame.iloc[:, 0])
    expected = _cents(frame.iloc[:, 1])
    for position in range(2, frame.shape[1]):
        expected = expected - _cents(frame.iloc[:, position])
    return _holds(result == expected, frame.index)


def value_count_at_most(column: pd.Series, max_count: int) -> pd.Series:
    """True where the row's value occurs at most ``max_count`` times in the column."""
    counts = column.map(column.value_counts())
    return pd.Series(counts.to_numpy() <= max_count, index=column.index)


class MulticolumnGroupTotalEqualsParts(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.group_total_equals_parts``."""

    condition_metric_name = "multicolumn_values.group_total_equals_parts"
    condition_domain_keys = _MULTICOLUMN_DOMAIN
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return group_total_equals_parts(column_list)


class ExpectGroupTotalToEqualSumOfParts(MulticolumnMapExpectation):
    """Expect ``[group, total, part]``: on every row, the group's total equals the sum of its parts.

    For claims: ``[claim_key, claim_total_cents, line_charge_cents]`` (CLM02 = the sum of SV102).
    """

    map_metric = "multicolumn_values.group_total_equals_parts"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "claim": ["A", "A", "B", "C", "C", "C"],
                "total": [300, 300, 50, 60, 60, 60],
                "total_off": [300, 300, 51, 60, 60, 60],
                "line": [100, 200, 50, 10, 20, 30],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "totals_equal_line_sums_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["claim", "total", "line"]},
                    "out": {"success": True},
                },
                {
                    "title": "a_total_off_by_a_cent_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["claim", "total_off", "line"]},
                    "out": {"success": False, "unexpected_count": 1},
                },
            ],
        }
    ]


class MulticolumnGroupSizeEquals(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.group_size_equals``."""

    condition_metric_name = "multicolumn_values.group_size_equals"
    condition_domain_keys = _MULTICOLUMN_DOMAIN
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return group_size_equals(column_list)


class ExpectGroupSizeToEqual(MulticolumnMapExpectation):
    """Expect ``[group, size]``: on every row, the group has exactly ``size`` rows.

    For a written 837 read back, one row per line: ``[claim_key, staged_line_count]`` fails a claim written
    twice, or with a line more or less than staged.
    """

    map_metric = "multicolumn_values.group_size_equals"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "claim": ["A", "A", "B", "C", "C", "C"],
                "lines": [2, 2, 1, 3, 3, 3],
                "lines_off": [2, 2, 2, 3, 3, 3],
                "missing": [2, 2, None, 3, 3, 3],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "groups_of_the_stated_size_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["claim", "lines"]},
                    "out": {"success": True},
                },
                {
                    "title": "a_group_of_another_size_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["claim", "lines_off"]},
                    "out": {"success": False, "unexpected_count": 1},
                },
                {
                    "title": "a_missing_size_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["claim", "missing"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 1},
                },
            ],
        }
    ]


class MulticolumnAmountsBalance(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.amounts_balance``."""

    condition_metric_name = "multicolumn_values.amounts_balance"
    condition_domain_keys = _MULTICOLUMN_DOMAIN
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return amounts_balance(column_list)


class ExpectAmountsToBalance(MulticolumnMapExpectation):
    """Expect ``[result, start, less...]`` in integer cents: result = start - the sum of the rest.

    For an 835 service line: ``[SVC03 paid, SVC02 charge, service CAS total]``.
    """

    map_metric = "multicolumn_values.amounts_balance"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "paid": [8000, 0, 12345, 500],
                "paid_wrong": [8000, 1, 12345, 400],
                "charge": [10000, 5000, 12345, 1000],
                "adjusted": [2000, 5000, 0, 500],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "balanced_amounts_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["paid", "charge", "adjusted"]},
                    "out": {"success": True},
                },
                {
                    "title": "unbalanced_amounts_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["paid_wrong", "charge", "adjusted"]},
                    "out": {"success": False, "unexpected_count": 2},
                },
            ],
        }
    ]


class ColumnValueCountAtMost(ColumnMapMetricProvider):
    """Metric ``column_values.value_count_at_most``."""

    condition_metric_name = "column_values.value_count_at_most"
    condition_value_keys = ("max_count",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, max_count: int, **kwargs: Any) -> pd.Series:
        return value_count_at_most(column, max_count)


class ExpectColumnValueCountsToBeAtMost(ColumnMapExpectation):
    """Expect each value to occur at most ``max_count`` times (e.g. at most 50 lines per 837P claim key)."""

    max_count: int
    map_metric = "column_values.value_count_at_most"
    success_keys = ("max_count", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "few": ["A", "A", "B", "C", "C", "C"],
                "many": ["A", "A", "A", "A", "B", "C"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "at_most_three_each_passes",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "few", "max_count": 3},
                    "out": {"success": True},
                },
                {
                    "title": "every_row_of_an_overfull_group_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column": "many", "max_count": 3},
                    "out": {"success": False, "unexpected_count": 4},
                },
            ],
        }
    ]
