"""Custom GX expectations over a list of columns that judge every cell: values present, regex, ICD-10-CM code set,
free text that fits its X12 element.

One expectation over twelve diagnosis columns costs GX one pass over the rows where twelve single-column
expectations cost twelve (each selecting rows of the whole frame several times). A row fails when any of its
checked cells fails. Which cells failed is a question of attribution for the quarantine record, answered by
``failing_cells`` with the same cell check the metric uses, run on the failing rows only.

Cell checks are vectorised over the distinct values of a column (``pd.factorize``): a column of a million
codes holds a few thousand distinct ones. Each expectation carries pass and fail ``examples``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
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

from expectations.codesets import load_icd10cm_releases
from expectations.custom_columns import (
    ExpectColumnsValuesToBeInSet,
    ExpectColumnsValuesToBeIsoDate,
    ExpectColumnsValuesToBePresentWhen,
    ExpectColumnsValuesToBeValidNpi,
    invalid_iso_date_cells,
    invalid_npi_cells,
    missing_when_cells,
    not_in_set_cells,
)
from revcycle.x12.writer import clean_value

# The ICD-10-CM code shape (dot optional); a value of another shape is the format rule's to report.
ICD10CM_SHAPE = r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?"
_MULTICOLUMN_DOMAIN_KEYS = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")


def _judge_distinct(values: pd.Series, judge: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """``judge`` applied to the distinct values of ``values`` (no nulls), spread back over every row."""
    codes, uniques = pd.factorize(values)
    verdicts = np.asarray(judge(pd.Series(uniques).astype(str)), dtype=bool)
    spread: np.ndarray = verdicts[codes]
    return spread


def missing_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """True where a cell is null."""
    return frame.isna()


def regex_mismatch_cells(frame: pd.DataFrame, regex: str) -> pd.DataFrame:
    """True where a present cell does not match ``regex`` (searched, as GX's regex expectation does)."""
    failing: dict[str, np.ndarray] = {}
    for column in frame.columns:
        values = frame[column]
        present = values.notna().to_numpy(dtype=bool)
        out = np.zeros(len(frame), dtype=bool)
        if present.any():
            out[present] = ~_judge_distinct(
                values[present], lambda distinct: distinct.str.contains(regex).fillna(False).to_numpy(dtype=bool)
            )
        failing[column] = out
    return pd.DataFrame(failing, index=frame.index)


def _kept_characters() -> str:
    """The printable ASCII characters the 837 writer's value rule keeps unchanged (derived from that rule)."""
    return "".join(c for c in map(chr, range(33, 127)) if clean_value(f"a{c}a") == f"a{c}a")


_KEPT = "[" + re.escape(_kept_characters()) + "]"
# Words of kept characters separated by single spaces: what the writer writes exactly as it is given.
_PLAIN_X12_TEXT = f"{_KEPT}+(?: {_KEPT}+)*"


def x12_text_fits(values: pd.Series, min_length: int, max_length: int) -> pd.Series:
    """True where a value, as the 837 writer writes free text (``writer.clean_value``), has an allowed length.

    A missing value passes (the required rule reports it). Plain values (kept characters, single spaces) are
    measured as they are, vectorised; the rare others (accents, delimiters, control characters) are cleaned
    once per distinct value: a name of only characters the writer drops would become an empty element.
    """

    def judge(text: pd.Series) -> np.ndarray:
        plain = text.str.fullmatch(_PLAIN_X12_TEXT).fillna(False).to_numpy(dtype=bool)
        lengths = text.str.len().to_numpy(dtype=np.int64, copy=True)
        for position in np.flatnonzero(~plain):
            lengths[position] = len(clean_value(str(text.iat[position])))
        within: np.ndarray = (lengths >= min_length) & (lengths <= max_length)
        return within

    ok = np.ones(len(values), dtype=bool)
    present = values.notna().to_numpy(dtype=bool)
    if present.any():
        ok[present] = _judge_distinct(values[present], judge)
    return pd.Series(ok, index=values.index)


def x12_text_misfit_cells(frame: pd.DataFrame, min_lengths: list[int], max_lengths: list[int]) -> pd.DataFrame:
    """True where a present cell, as written, is shorter or longer than its column's limits (in order)."""
    if not len(min_lengths) == len(max_lengths) == frame.shape[1]:
        raise ValueError("one minimum and one maximum length per column")
    return pd.DataFrame(
        {
            column: ~x12_text_fits(frame[column], low, high).to_numpy(dtype=bool)
            for column, low, high in zip(frame.columns, min_lengths, max_lengths, strict=True)
        },
        index=frame.index,
    )


# An identifier written into an X12 element as it is (never rewritten by the writer): letters, digits, - . /
# and spaces, not starting with a space. No X12 delimiter, control or non-ASCII character.
X12_IDENTIFIER = r"[A-Za-z0-9./-][A-Za-z0-9 ./-]*"


def identifier_misfit_cells(frame: pd.DataFrame, min_lengths: list[int], max_lengths: list[int]) -> pd.DataFrame:
    """True where a present cell is not an X12 identifier of its column's length (limits in column order)."""
    if not len(min_lengths) == len(max_lengths) == frame.shape[1]:
        raise ValueError("one minimum and one maximum length per column")
    failing: dict[str, np.ndarray] = {}
    for column, low, high in zip(frame.columns, min_lengths, max_lengths, strict=True):
        values = frame[column]
        present = values.notna().to_numpy(dtype=bool)
        out = np.zeros(len(frame), dtype=bool)
        if present.any():

            def judge(text: pd.Series, low: int = low, high: int = high) -> np.ndarray:
                shaped = text.str.fullmatch(X12_IDENTIFIER).fillna(False).to_numpy(dtype=bool)
                lengths = text.str.len().to_numpy(dtype=np.int64)
                valid: np.ndarray = shaped & (lengths >= low) & (lengths <= high)
                return valid

            out[present] = ~_judge_distinct(values[present], judge)
        failing[column] = out
    return pd.DataFrame(failing, index=frame.index)


def _release_positions(service_dates: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Index of the ICD-10-CM release in force on each date (the oldest before the first), and date present."""
    when = pd.to_datetime(service_dates, errors="coerce").to_numpy(dtype="datetime64[ns]")
    known = ~np.isnat(when)
    starts = np.array([np.datetime64(r.effective_from, "ns") for r in load_icd10cm_releases()])
    positions = np.searchsorted(starts, when, side="right") - 1
    return np.where(known, np.clip(positions, 0, None), 0), known


def _billable_or_unshaped(codes: pd.Series, release: np.ndarray) -> np.ndarray:
    """Per present code: billable in the release at ``release``, or not shaped like a code at all."""
    releases = load_icd10cm_releases()
    codes_index, uniques = pd.factorize(codes)
    distinct = pd.Series(uniques).astype(str)
    shaped = distinct.str.fullmatch(ICD10CM_SHAPE).fillna(False).to_numpy(dtype=bool)
    normalised = distinct.str.replace(".", "", regex=False).tolist()
    # One row per release, one column per distinct code.
    table = np.array([[code in r.codes for code in normalised] for r in releases], dtype=bool).reshape(
        len(releases), len(normalised)
    )
    valid: np.ndarray = ~shaped[codes_index] | table[release, codes_index]
    return valid


def icd10cm_billable_on(codes: pd.Series, service_dates: pd.Series) -> pd.Series:
    """True where a code is billable in the ICD-10-CM release in force on its row's service date.

    Codes are compared upper-cased without the dot. A value that is not shaped like an ICD-10-CM code
    passes (the format rule reports it), so one bad value fails one rule. Dates before the oldest shipped
    release, and missing dates, are checked against that release; a missing code passes.
    """
    release, _known = _release_positions(service_dates)
    present = codes.notna().to_numpy(dtype=bool)
    ok = np.ones(len(codes), dtype=bool)
    if present.any():
        ok[present] = _billable_or_unshaped(codes[present], release[present])
    return pd.Series(ok, index=codes.index)


def unbillable_icd10cm_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """True where a code cell (all columns but the last) is not billable on the row's date (the last column).

    A missing code or a missing date passes: the required and date rules report those.
    """
    release, known = _release_positions(frame.iloc[:, -1])
    failing: dict[str, np.ndarray] = {}
    for column in frame.columns[:-1]:
        values = frame[column]
        judged = values.notna().to_numpy(dtype=bool) & known
        out = np.zeros(len(frame), dtype=bool)
        if judged.any():
            out[judged] = ~_billable_or_unshaped(values[judged], release[judged])
        failing[column] = out
    return pd.DataFrame(failing, index=frame.index)


class MulticolumnValuesPresent(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.all_present``: no cell of the row is null."""

    condition_metric_name = "multicolumn_values.all_present"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return ~missing_cells(column_list).any(axis=1)


class ExpectColumnsValuesToNotBeNull(MulticolumnMapExpectation):
    """Expect every column of ``column_list`` to hold a value on every row."""

    map_metric = "multicolumn_values.all_present"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "a": ["x", "y", "z", "w"],
                "b": ["1", "2", "3", "4"],
                "c": ["p", None, "q", None],
                "d": [None, None, "r", "s"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "full_columns_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["a", "b"], "ignore_row_if": "never"},
                    "out": {"success": True},
                },
                {
                    "title": "a_row_missing_any_value_fails_once",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["a", "c", "d"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 3},
                },
            ],
        }
    ]


class MulticolumnValuesMatchRegex(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.match_regex``: every present cell of the row matches the regex."""

    condition_metric_name = "multicolumn_values.match_regex"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ("regex",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, regex: str, **kwargs: Any) -> pd.Series:
        return ~regex_mismatch_cells(column_list, regex).any(axis=1)


class ExpectColumnsValuesToMatchRegex(MulticolumnMapExpectation):
    """Expect every present value in the columns of ``column_list`` to match ``regex`` (nulls pass)."""

    regex: str
    map_metric = "multicolumn_values.match_regex"
    success_keys = ("regex", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "dx1": ["E11.9", "I10", "Z23", "M5450"],
                "dx2": [None, "I10", None, "E119"],
                "dx_bad": ["1I0", None, "E1", "I10"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "matching_or_empty_cells_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["dx1", "dx2"], "regex": "^[A-Z][0-9]", "ignore_row_if": "never"},
                    "out": {"success": True},
                },
                {
                    "title": "a_row_with_one_mismatching_cell_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["dx1", "dx_bad"], "regex": "^[A-Z][0-9]{2}", "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 2},
                },
            ],
        }
    ]


class MulticolumnIcd10cmBillable(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.icd10cm_billable_on_date``: codes billable in the release of the last column."""

    condition_metric_name = "multicolumn_values.icd10cm_billable_on_date"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ()

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: pd.DataFrame, **kwargs: Any) -> pd.Series:
        return ~unbillable_icd10cm_cells(column_list).any(axis=1)


class ExpectColumnsValuesToBeBillableIcd10cm(MulticolumnMapExpectation):
    """Expect ICD-10-CM codes to be billable in the code set in force on the row's date of service.

    ``column_list`` is the code columns followed by the date column. The code set is the shipped CMS
    releases (``expectations/codesets``); only their names reach the configuration, never the 74,000 codes.
    """

    map_metric = "multicolumn_values.icd10cm_billable_on_date"
    success_keys = ("mostly",)

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "dx_good": ["E11.9", "I10", "M5450", "Z23", None],
                "dx_unknown": ["E11", "M545", "E1199", "I10", "I109"],
                "dx_new_code": ["E11A", "E11A", "I10", "I10", "I10"],
                "dx_malformed": ["1I0", "E1.9", "I10", "I10", None],
                "dos": ["2025-06-01", "2025-06-01", "2026-05-01", "2026-05-01", "2026-05-01"],
                "dos_gaps": ["2025-06-01", None, "2026-05-01", None, "2026-05-01"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "billable_codes_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["dx_good", "dx_malformed", "dos"], "ignore_row_if": "never"},
                    "out": {"success": True},
                },
                {
                    "title": "categories_deleted_and_invented_codes_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["dx_unknown", "dos"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 4},
                },
                {
                    "title": "a_code_added_later_fails_before_its_release",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["dx_good", "dx_new_code", "dos"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 2},
                },
                {
                    "title": "rows_without_a_date_are_left_to_the_date_rules",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {"column_list": ["dx_unknown", "dos_gaps"], "ignore_row_if": "never"},
                    "out": {"success": False, "unexpected_count": 3},
                },
            ],
        }
    ]


class MulticolumnValuesFitX12Text(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.fit_x12_text``: every present cell, as written, fits its column's limits."""

    condition_metric_name = "multicolumn_values.fit_x12_text"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ("min_lengths", "max_lengths")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(
        cls, column_list: pd.DataFrame, min_lengths: list[int], max_lengths: list[int], **kwargs: Any
    ) -> pd.Series:
        return ~x12_text_misfit_cells(column_list, min_lengths, max_lengths).any(axis=1)


class ExpectColumnsValuesToBeWritableX12Text(MulticolumnMapExpectation):
    """Expect free text (names, addresses, cities) to fit its X12 element once written.

    The 837 writer transliterates accents, replaces delimiters by a space and drops what X12 cannot carry
    (``writer.clean_value``); the value left in the column ``column_list[i]`` must be ``min_lengths[i]`` to
    ``max_lengths[i]`` characters, its element's limits (NM103 1-60, N401 2-30 ...): too long is a syntax
    error at the payer, and a value of only dropped characters would be an empty required element.
    """

    min_lengths: list[int]
    max_lengths: list[int]
    map_metric = "multicolumn_values.fit_x12_text"
    success_keys = ("min_lengths", "max_lengths", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "name": ["Ashdown", "O'Neil-Smith", "Zo\u00eb \u00c5", "A" * 36, "Brightwater"],
                "city": ["Springfield", "Ft. Wayne", "X", "Des Moines", None],
                "name_bad": ["\u6f22\u5b57", "\t\u0001", "Ashdown", "Brightwater", "\u00dcnderhill"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "text_that_fits_once_written_passes",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["name", "city"],
                        "min_lengths": [1, 1],
                        "max_lengths": [40, 30],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": True},
                },
                {
                    "title": "too_long_too_short_or_nothing_left_fails",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["name", "city", "name_bad"],
                        "min_lengths": [1, 2, 1],
                        "max_lengths": [35, 30, 35],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": False, "unexpected_count": 4},
                },
            ],
        }
    ]


class MulticolumnValuesAreX12Identifiers(MulticolumnMapMetricProvider):
    """Metric ``multicolumn_values.x12_identifiers``: every present cell is an identifier of its column's length."""

    condition_metric_name = "multicolumn_values.x12_identifiers"
    condition_domain_keys = _MULTICOLUMN_DOMAIN_KEYS
    condition_value_keys = ("min_lengths", "max_lengths")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(
        cls, column_list: pd.DataFrame, min_lengths: list[int], max_lengths: list[int], **kwargs: Any
    ) -> pd.Series:
        return ~identifier_misfit_cells(column_list, min_lengths, max_lengths).any(axis=1)


class ExpectColumnsValuesToBeX12Identifiers(MulticolumnMapExpectation):
    """Expect identifiers (member id, group number, prior authorization ...) to be written as they are.

    The 837 writer never rewrites an identifier: a present value of ``column_list[i]`` must be letters,
    digits, ``-``, ``.``, ``/`` and spaces (not first), ``min_lengths[i]`` to ``max_lengths[i]`` characters
    (its element's limits). An X12 delimiter, a control or non-ASCII character, or one character too many
    would make the writer refuse the claim, or the payer the file. Nulls pass (the required rule's).
    """

    min_lengths: list[int]
    max_lengths: list[int]
    map_metric = "multicolumn_values.x12_identifiers"
    success_keys = ("min_lengths", "max_lengths", "mostly")

    examples: ClassVar[list[dict[str, Any]]] = [
        {
            "data": {
                "member": ["XQZ900112233", "1EG4-TE5-MK73", "X1", "AB 12/3.4", None],
                "prior_auth": ["PA00012345", None, "PA-2025/001", "P" * 50, "G1"],
                "bad_member": ["PA*7781", "X", "M\u00dcLLER1", "ok12", " lead"],
            },
            "only_for": ["pandas"],
            "tests": [
                {
                    "title": "identifiers_within_their_elements_pass",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["member", "prior_auth"],
                        "min_lengths": [2, 1],
                        "max_lengths": [80, 50],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": True},
                },
                {
                    "title": "delimiters_non_ascii_and_lengths_fail",
                    "exact_match_out": False,
                    "include_in_gallery": True,
                    "in": {
                        "column_list": ["bad_member", "prior_auth"],
                        "min_lengths": [2, 1],
                        "max_lengths": [80, 49],
                        "ignore_row_if": "never",
                    },
                    "out": {"success": False, "unexpected_count": 5},
                },
            ],
        }
    ]


_CELL_CHECKS: dict[str, Callable[[pd.DataFrame, Mapping[str, Any]], pd.DataFrame]] = {
    ExpectColumnsValuesToNotBeNull.expectation_type: lambda frame, _kwargs: missing_cells(frame),
    ExpectColumnsValuesToMatchRegex.expectation_type: lambda frame, kwargs: regex_mismatch_cells(
        frame, kwargs["regex"]
    ),
    ExpectColumnsValuesToBeBillableIcd10cm.expectation_type: lambda frame, _kwargs: unbillable_icd10cm_cells(frame),
    ExpectColumnsValuesToBeWritableX12Text.expectation_type: lambda frame, kwargs: x12_text_misfit_cells(
        frame, kwargs["min_lengths"], kwargs["max_lengths"]
    ),
    ExpectColumnsValuesToBeX12Identifiers.expectation_type: lambda frame, kwargs: identifier_misfit_cells(
        frame, kwargs["min_lengths"], kwargs["max_lengths"]
    ),
    ExpectColumnsValuesToBeIsoDate.expectation_type: lambda frame, _kwargs: invalid_iso_date_cells(frame),
    ExpectColumnsValuesToBeValidNpi.expectation_type: lambda frame, _kwargs: invalid_npi_cells(frame),
    ExpectColumnsValuesToBeInSet.expectation_type: lambda frame, kwargs: not_in_set_cells(frame, kwargs["value_set"]),
    ExpectColumnsValuesToBePresentWhen.expectation_type: lambda frame, kwargs: missing_when_cells(
        frame, kwargs["when_in"]
    ),
}


def judges_cells(expectation_type: str) -> bool:
    """Whether expectations of this type judge each cell (so ``failing_cells`` can name the failing columns)."""
    return expectation_type in _CELL_CHECKS


def failing_cells(expectation_type: str, frame: pd.DataFrame, kwargs: Mapping[str, Any]) -> pd.DataFrame:
    """The failing cells of ``frame`` (its columns: the expectation's ``column_list``) under that expectation.

    The columns of the answer are the judged ones (for the code set, all but the date column; for a value
    required when another is given, all but that condition column).
    """
    return _CELL_CHECKS[expectation_type](frame, kwargs)
