"""Custom GX expectations: diagnosis pointers, duplicate lines; and the NPI check digit and ISO date checks that
``custom_columns.py``'s expectations apply over several columns.

Each metric is computed by GX on the data, vectorised over the whole column (string ops and numpy), never
row by row: a per-row Python NPI check costs seconds per million rows. Each expectation carries its own
pass and fail ``examples``, which ``tests/expectations/test_custom_expectations.py`` runs through GX.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    MulticolumnMapExpectation,
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
# ASCII digits only, like the regex engine (RE2) behind pandas' Arrow strings.
_DIGITS = re.compile(r"[0-9]+")


def judge_distinct(values: pd.Series, judge: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """``judge`` run once per distinct value (as text) and spread back over the rows; a null is False.

    A column of a million codes, dates or NPIs holds a few thousand distinct values.
    """
    codes, uniques = pd.factorize(values)
    verdicts = np.append(np.asarray(judge(pd.Series(uniques).astype("str")), dtype=bool), False)
    # factorize codes a null as -1: the appended False.
    spread: np.ndarray = verdicts[codes]
    return spread


def _npi_valid(values: pd.Series) -> np.ndarray:
    shaped = values.str.fullmatch(r"\d{10}").fillna(False).to_numpy(dtype=bool)
    result = np.zeros(len(values), dtype=bool)
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


def npi_check_digit_valid(values: pd.Series) -> pd.Series:
    """True where a value is 10 digits ending in the Luhn check digit of ``80840`` + the first 9."""
    return pd.Series(judge_distinct(values, _npi_valid), index=values.index)


def _iso_date_valid(values: pd.Series) -> np.ndarray:
    shaped = values.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
    parsed = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
    valid: np.ndarray = (shaped & parsed.notna()).to_numpy(dtype=bool)
    return valid


def iso_date_valid(values: pd.Series) -> pd.Series:
    """True where a value is ``YYYY-MM-DD`` and names a real calendar day (no 2023-02-30)."""
    return pd.Series(judge_distinct(values, _iso_date_valid), index=values.index)


def _pointer_targets(pointers: str, diagnosis_count: int) -> tuple[np.ndarray, bool]:
    """The diagnosis positions a pointer list (``1:3``) names, and whether a number names none that can exist."""
    needed = np.zeros(diagnosis_count, dtype=bool)
    impossible = False
    for token in pointers.split(":"):
        if not _DIGITS.fullmatch(token):
            continue  # not a number: the pointer format rule reports it
        pointer = int(token)
        if 1 <= pointer <= min(diagnosis_count, _MAX_POINTED_DIAGNOSIS):
            needed[pointer - 1] = True
        else:
            impossible = True
    return needed, impossible


def diagnosis_pointers_resolve(frame: pd.DataFrame) -> pd.Series:
    """True where every pointer in the first column (``1:3``) names a non-empty diagnosis among the others.

    The first column holds the pointers, the following ones are diagnosis1, diagnosis2 ... in order.
    A missing pointer list passes (the required rule reports it) and a token that is not a number passes
    (the pointer format rule reports it); a number that names no present diagnosis fails.
    """
    diagnoses = frame.iloc[:, 1:]
    present = np.column_stack(
        [judge_distinct(diagnoses[c], lambda text: ~text.str.strip().eq("").to_numpy(dtype=bool)) for c in diagnoses]
        or [np.zeros(len(frame), dtype=bool)]
    )[:, : diagnoses.shape[1]]
    codes, uniques = pd.factorize(frame.iloc[:, 0])
    targets = [_pointer_targets(str(text), diagnoses.shape[1]) for text in uniques]
    # Row -1 of each table is for a missing pointer list: it names nothing, so it passes.
    needed = np.vstack([*(t[0] for t in targets), np.zeros(diagnoses.shape[1], dtype=bool)])
    impossible = np.array([*(t[1] for t in targets), False], dtype=bool)
    dangling = (needed[codes] & ~present).any(axis=1) if diagnoses.shape[1] else np.zeros(len(frame), dtype=bool)
    return pd.Series(~impossible[codes] & ~dangling, index=frame.index)


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


def first_of_duplicates(frame: pd.DataFrame) -> pd.Series:
    """True for the first row of each combination of the frame's values; repeats are False (nulls compare equal)."""
    return ~frame.duplicated(keep="first")


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
