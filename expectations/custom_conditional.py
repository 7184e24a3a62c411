"""Custom GX expectations that check a column only on the rows where another column holds given values.

GX's ``row_condition`` does the same but first copies the selected rows of the whole frame (every column),
several times per expectation: on a million rows that is seconds per rule. These expectations read only
their two columns: ``column_A`` is the condition column, ``column_B`` the checked one, and a row whose
``column_A`` is not in ``when_in`` passes. Each carries pass and fail ``examples``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pandas as pd
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnPairMapExpectation
from great_expectations.expectations.metrics.map_metric_provider.column_pair_condition_partial import (
    column_pair_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_pair_map_metric_provider import (
    ColumnPairMapMetricProvider,
)

_PAIR_DOMAIN_KEYS = ("batch_id", "table", "column_A", "column_B", "row_condition", "condition_parser", "ignore_row_if")
_EXAMPLE_ID = r"^[A-Z]{3}\d{3}$"
IgnoreRowIf = Literal["both_values_are_missing", "either_value_is_missing", "neither"]


def _applies(condition: pd.Series, when_in: list[str]) -> pd.Series:
    return condition.isin(when_in).fillna(False).astype(bool)


def present_when(condition: pd.Series, values: pd.Series, when_in: list[str]) -> pd.Series:
    """True where ``condition`` is not in ``when_in`` or the value is present."""
    return ~_applies(condition, when_in) | values.notna()


def match_regex_when(condition: pd.Series, values: pd.Series, when_in: list[str], regex: str) -> pd.Series:
    """True where ``condition`` is not in ``when_in``, the value is missing, or it matches ``regex`` (searched)."""
    checked = _applies(condition, when_in) & values.notna()
    ok = pd.Series(True, index=values.index)
    if checked.any():
        ok[checked] = values[checked].astype(str).str.contains(regex).fillna(False).astype(bool)
    return ok


def at_least_when(condition: pd.Series, values: pd.Series, when_in: list[str], min_value: Any) -> pd.Series:
    """True where ``condition`` is not in ``when_in``, the value is missing, or it is ``min_value`` or more."""
    return ~(_applies(condition, when_in) & values.notna() & (values < min_value))


def ordered_where_present(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """True where ``later`` is on or after ``earlier``, or either is missing."""
    return ~(later.notna() & earlier.notna() & (later < earlier))


class ColumnPairPresentWhen(ColumnPairMapMetricProvider):
    """Metric ``column_pair_values.present_when``: column_B present on rows where column_A is in ``when_in``."""

    condition_metric_name = "column_pair_values.present_when"
    condition_domain_keys = _PAIR_DOMAIN_KEYS
    condition_value_keys = ("when_in",)

    @column_pair_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, when_in: list[str], **kwargs: Any) -> pd.Series:
        return present_when(column_A, column_B, when_in)


class ExpectColumnValuesToBePresentWhen(ColumnPairMapExpectation):
    """Expect column_B to hold a value on every row where column_A is one of ``when_in``."""

    when_in: list[str]
    ignore_row_if: IgnoreRowIf = "neither"
    map_metric = "column_pair_values.present_when"
    success_keys = ("when_in", "ignore_row_if", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "kind": ["institutional", "professional", "institutional", None],
                "bill_type": ["131", None, "111", None],
                "bill_type_gaps": [None, None, "111", None],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "present_where_required_passes",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "kind", "column_B": "bill_type", "when_in": ["institutional"]},
                    "out": {"success": True},
                },
                {
                    "title": "missing_where_required_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "kind", "column_B": "bill_type_gaps", "when_in": ["institutional"]},
                    "out": {"success": False, "unexpected_count": 1},
                },
            ],
        }
    ]


class ColumnPairMatchRegexWhen(ColumnPairMapMetricProvider):
    """Metric ``column_pair_values.match_regex_when``: column_B matches on rows where column_A is in ``when_in``."""

    condition_metric_name = "column_pair_values.match_regex_when"
    condition_domain_keys = _PAIR_DOMAIN_KEYS
    condition_value_keys = ("when_in", "regex")

    @column_pair_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(
        cls, column_A: pd.Series, column_B: pd.Series, when_in: list[str], regex: str, **kwargs: Any
    ) -> pd.Series:
        return match_regex_when(column_A, column_B, when_in, regex)


class ExpectColumnValuesToMatchRegexWhen(ColumnPairMapExpectation):
    """Expect present values of column_B to match ``regex`` on rows where column_A is one of ``when_in``."""

    when_in: list[str]
    regex: str
    ignore_row_if: IgnoreRowIf = "neither"
    map_metric = "column_pair_values.match_regex_when"
    success_keys = ("when_in", "regex", "ignore_row_if", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "payer": ["A", "A", "B", "A", "B"],
                "member": ["XYZ123", "XYZ9", "12345", None, "XYZ123"],
                "member_good": ["XYZ123", "ABC456", "12345", None, "99"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "other_payers_and_missing_values_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "payer", "column_B": "member_good", "when_in": ["A"], "regex": _EXAMPLE_ID},
                    "out": {"success": True},
                },
                {
                    "title": "the_payers_mismatches_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "payer", "column_B": "member", "when_in": ["A"], "regex": _EXAMPLE_ID},
                    "out": {"success": False, "unexpected_count": 1},
                },
            ],
        }
    ]


class ColumnPairAtLeastWhen(ColumnPairMapMetricProvider):
    """Metric ``column_pair_values.at_least_when``: column_B >= ``min_value`` where column_A is in ``when_in``."""

    condition_metric_name = "column_pair_values.at_least_when"
    condition_domain_keys = _PAIR_DOMAIN_KEYS
    condition_value_keys = ("when_in", "min_value")

    @column_pair_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(
        cls, column_A: pd.Series, column_B: pd.Series, when_in: list[str], min_value: Any, **kwargs: Any
    ) -> pd.Series:
        return at_least_when(column_A, column_B, when_in, min_value)


class ExpectColumnValuesToBeAtLeastWhen(ColumnPairMapExpectation):
    """Expect present values of column_B to be ``min_value`` or more on rows where column_A is in ``when_in``."""

    when_in: list[str]
    min_value: Any
    ignore_row_if: IgnoreRowIf = "neither"
    map_metric = "column_pair_values.at_least_when"
    success_keys = ("when_in", "min_value", "ignore_row_if", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "payer": ["A", "A", "B", "A"],
                "days": [30, 90, 5, None],
                "days_low": [30, 3, 5, 2],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "values_at_the_bound_or_above_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "payer", "column_B": "days", "when_in": ["A"], "min_value": 30},
                    "out": {"success": True},
                },
                {
                    "title": "the_payers_values_below_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "payer", "column_B": "days_low", "when_in": ["A"], "min_value": 30},
                    "out": {"success": False, "unexpected_count": 2},
                },
            ],
        }
    ]


class ColumnPairOrderedWherePresent(ColumnPairMapMetricProvider):
    """Metric ``column_pair_values.ordered_where_present``: column_A on or after column_B when both present."""

    condition_metric_name = "column_pair_values.ordered_where_present"
    condition_domain_keys = _PAIR_DOMAIN_KEYS
    condition_value_keys = ()

    @column_pair_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: Any) -> pd.Series:
        return ordered_where_present(column_A, column_B)


class ExpectColumnPairValuesToBeOrderedWherePresent(ColumnPairMapExpectation):
    """Expect column_A to be greater than or equal to column_B on every row where both hold a value."""

    ignore_row_if: IgnoreRowIf = "neither"
    map_metric = "column_pair_values.ordered_where_present"
    success_keys = ("ignore_row_if", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "start": ["2025-01-02", "2025-01-02", None, "2025-03-01"],
                "end": ["2025-01-02", "2025-01-05", "2025-01-01", None],
                "end_early": ["2025-01-01", "2025-01-05", "2025-01-01", "2025-02-28"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "ordered_or_incomplete_pairs_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "end", "column_B": "start"},
                    "out": {"success": True},
                },
                {
                    "title": "an_end_before_its_start_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_A": "end_early", "column_B": "start"},
                    "out": {"success": False, "unexpected_count": 2},
                },
            ],
        }
    ]
