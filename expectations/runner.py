"""Run the charges suite over a charge export and turn GX results into rejections, warnings and a summary.

Row-level GX results (COMPLETE, indexed by row position, failing values excluded) serve only
to quarantine rows; the value shown on a rejection is re-read from the frame and masked. The summary and its
markdown carry rule names, columns and counts, never values.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from unittest import mock

import great_expectations as gx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.execution_engine import pandas_execution_engine as _pandas_engine

from expectations.batches import frame_batch
from expectations.charges import ERROR, PayerChargeRules, add_typed_views, build_charges_suite
from expectations.custom_cells import failing_cells, judges_cells
from expectations.gx_kwargs import kwargs_read_once
from expectations.masking import mask_value
from revcycle.charge_export import COLUMN_NAMES, REQUIRED_COLUMNS
from revcycle.errors import RunFailure

logger = logging.getLogger(__name__)

ROW_COLUMN = "__row"
_STRUCTURE_RULE = "columns_present"


class MissingChargeColumns(RunFailure):
    """The export lacks required columns: no row can be judged, fix the export (or its reader) and retry."""


class ChargeRuleNotEvaluated(RunFailure):
    """GX could not evaluate a rule (an exception inside the metric): nothing may pass unchecked."""


@dataclass(frozen=True)
class Rejection:
    """One failed rule on one row: quarantines the row when severity is error, flags it when warning."""

    charge_id: str | None
    rule: str
    expectation_type: str
    column: str
    severity: str
    masked_value: str | None
    row: int


@dataclass(frozen=True)
class RuleSummary:
    """Counts for one rule on one column; carries no values."""

    rule: str
    column: str
    severity: str
    expectation_type: str
    failing: int
    failing_share: float


@dataclass(frozen=True)
class ChargeValidation:
    """The outcome of validating one charge export."""

    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)
    summary: list[RuleSummary] = field(default_factory=list)
    evaluated_rows: int = 0
    # The raw GX result, for masked Data Docs only (expectations/data_docs.py strips every value).
    gx_result: Any = field(default=None, repr=False, compare=False)

    @property
    def rejected_rows(self) -> frozenset[int]:
        """Row positions (in the validated frame) with at least one error."""
        return frozenset(r.row for r in self.rejections)

    @property
    def rejected_charge_ids(self) -> frozenset[str]:
        """Charge ids with at least one error (rows without a charge id are in ``rejected_rows`` only)."""
        return frozenset(r.charge_id for r in self.rejections if r.charge_id is not None)

    @property
    def rejected_share(self) -> float:
        """Share of evaluated rows with at least one error."""
        return len(self.rejected_rows) / self.evaluated_rows if self.evaluated_rows else 0.0


def prepare_charges(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame the suite runs on: export columns as text, blanks as null, typed views.

    An absent optional column is added empty (absent and empty mean the same); an absent required column
    stays absent so the structure rule reports it.
    """
    index = pd.RangeIndex(len(frame))
    columns: dict[str, pd.Series] = {}
    for name in COLUMN_NAMES:
        if name in frame.columns:
            columns[name] = _text_column(frame[name].reset_index(drop=True))
        elif name not in REQUIRED_COLUMNS:
            columns[name] = pd.Series(np.nan, index=index, dtype="str")
    prepared = pd.DataFrame(columns, index=index)
    missing_required = [name for name in REQUIRED_COLUMNS if name not in prepared.columns]
    if missing_required:
        return prepared
    return add_typed_views(prepared)


def _text_column(values: pd.Series) -> pd.Series:
    """The column as text with blank values null, its Arrow data in one contiguous chunk.

    GX selects rows of the frame for some rules; on a column split in many Arrow chunks each selection costs
    several times more (measured: 30 s instead of 12 s for the suite on 200,000 rows).
    """
    text = values.astype("str")
    arrow = getattr(text.array, "__arrow_array__", None)
    if arrow is None:
        return text.mask(text.str.strip().eq(""))
    data = arrow()
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    # Whitespace-only or empty; computed without building stripped copies of a million strings.
    blank = pc.or_(pc.equal(pc.binary_length(data), 0), pc.utf8_is_space(data))
    if pc.any(blank).as_py():
        data = pc.if_else(blank, pa.scalar(None, type=data.type), data)
    return pd.Series(pd.array(pa.chunked_array([data]), dtype=text.dtype), index=text.index)


def validate_charges(
    frame: pd.DataFrame,
    *,
    today: date,
    payer_rules: Mapping[str, PayerChargeRules] | None = None,
) -> ChargeValidation:
    """Validate a charge export (all values text) against the charges suite with GX."""
    prepared = prepare_charges(frame)
    suite = build_charges_suite(payer_rules, today=today)
    result = _run_suite(_gx_frame(prepared, suite), suite)
    collected = _collect(result.results, prepared)
    return replace(collected, gx_result=result)


def columns_read(suite: gx.ExpectationSuite) -> set[str] | None:
    """The columns the suite's expectations read (domains and row conditions); None when it cannot tell."""
    read: set[str] = set()
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        read.update(kwargs[key] for key in ("column", "column_A", "column_B") if kwargs.get(key))
        read.update(kwargs.get("column_list") or ())
        condition = kwargs.get("row_condition")
        if condition is None:
            continue
        if not hasattr(condition, "dict"):
            return None  # a condition string: its columns are not known without parsing it
        read.update(_condition_columns(condition.dict()))
    return read


def _condition_columns(node: Any) -> set[str]:
    if isinstance(node, list):
        return {name for item in node for name in _condition_columns(item)}
    if not isinstance(node, dict):
        return set()
    names = {node["column"]["name"]} if isinstance(node.get("column"), dict) else set()
    return names | {name for value in node.values() for name in _condition_columns(value)}


def _gx_frame(prepared: pd.DataFrame, suite: gx.ExpectationSuite) -> pd.DataFrame:
    """The frame GX validates: the columns some rule reads, indexed by row position (index named ``__row``).

    GX selects rows of the whole frame for some rules: every column it carries costs on each selection.
    With the row position as a named index GX lists failing rows by it without a per-row lookup.
    """
    read = columns_read(suite)
    narrow = prepared if read is None else prepared[[c for c in prepared.columns if c in read]]
    return narrow.set_axis(pd.RangeIndex(len(narrow), name=ROW_COLUMN), axis=0)


def _run_suite(prepared: pd.DataFrame, suite: gx.ExpectationSuite) -> Any:
    """The suite's result: pass or fail for every rule, failing rows for the rules that failed.

    Two passes: the whole suite with pass or fail only, then the failing rules again with their rows. The
    row lists cost GX a row selection and an index list per metric, paid by every rule in one pass: on a
    nightly export of a few lines they were 60 % of the validation (850 ms against 360 ms, 55 rules, on a
    2-core machine), and on a clean export no rule needs them.
    """
    with _no_data_fingerprint(), kwargs_read_once(), frame_batch("charges", "charge_export", prepared) as batch:
        verdicts = batch.validate(suite, result_format=_PASS_FAIL)
        failed = {_rule_key(r.expectation_config) for r in verdicts.results if not r.success}
        if not failed:
            return verdicts
        again = [e for e in suite.expectations if _rule_key(e.configuration) in failed]
        detailed = batch.validate(gx.ExpectationSuite(name=suite.name, expectations=again), result_format=_ROW_RESULTS)
    with_rows = {_rule_key(r.expectation_config): r for r in detailed.results}
    verdicts.results = [with_rows.get(_rule_key(r.expectation_config), r) for r in verdicts.results]
    return verdicts


def _rule_key(configuration: Any) -> tuple[str, str, str]:
    """What tells one expectation of the suite from another: its type, its arguments and its meta (the rule).

    A result's configuration also names the batch (``batch_id``), which the suite's does not.
    """
    arguments = {name: value for name, value in configuration.kwargs.items() if name != "batch_id"}
    return (
        configuration.type,
        json.dumps(arguments, sort_keys=True, default=str),
        json.dumps(configuration.meta, sort_keys=True, default=str),
    )


@contextmanager
def _no_data_fingerprint() -> Iterator[None]:
    """Keep GX from hashing every value of a frame under 1 GB into a batch marker, twice per validation.

    The fingerprint (an md5 over the data, so derived from PHI) is not used by any rule, yet costs 10 s
    on a million charge lines. GX skips it above ``HASH_THRESHOLD`` bytes; this lowers the threshold for
    the duration of the validation. Without that constant (another GX release) nothing changes.
    """
    if not hasattr(_pandas_engine, "HASH_THRESHOLD"):
        yield
        return
    with mock.patch.object(_pandas_engine, "HASH_THRESHOLD", 0):
        yield


_PASS_FAIL: dict[str, Any] = {"result_format": "BOOLEAN_ONLY"}
_ROW_RESULTS: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [ROW_COLUMN],
    "exclude_unexpected_values": True,
    # The query string costs a whole-frame row selection per rule and is never used.
    "return_unexpected_index_query": False,
}


def _raised(exception_info: Any) -> bool:
    if not isinstance(exception_info, dict):
        return False
    if "raised_exception" in exception_info:
        return bool(exception_info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in exception_info.values())


def _collect(results: Iterable[Any], prepared: pd.DataFrame) -> ChargeValidation:
    results = list(results)
    _check_structure(results)
    rejections: list[Rejection] = []
    warnings: list[Rejection] = []
    summary: list[RuleSummary] = []
    rows_total = len(prepared)
    for result in results:
        meta = result.expectation_config.meta
        rule, column, severity = meta["rule"], meta["column"], meta["severity"]
        expectation_type = result.expectation_config.type
        if rule == _STRUCTURE_RULE:
            continue
        if _raised(result.exception_info):
            # Only names go in the message: the traceback may quote data.
            raise ChargeRuleNotEvaluated(f"GX could not evaluate rule {rule!r} on column {column!r}")
        rows = _failing_rows(result.result)
        if judges_cells(expectation_type) and meta.get("columns"):
            found = _cell_findings(rows, prepared, result.expectation_config.kwargs, rule, severity, expectation_type)
            # One summary line per judged column, as if each were its own rule: counts per column.
            failing_by_column = {name: 0 for name in meta["columns"]}
            for finding in found:
                failing_by_column[finding.column] = failing_by_column.get(finding.column, 0) + 1
        else:
            found = _findings(rows, prepared, rule, column, severity, expectation_type)
            failing_by_column = {column: int(result.result.get("unexpected_count") or 0)}
        (rejections if severity == ERROR else warnings).extend(found)
        for name, failing in failing_by_column.items():
            share = failing / rows_total if rows_total else 0.0
            summary.append(RuleSummary(rule, name, severity, expectation_type, failing, share))
    rejections.sort(key=lambda r: (r.row, r.rule, r.column))
    warnings.sort(key=lambda r: (r.row, r.rule, r.column))
    summary.sort(key=lambda s: (s.severity, s.rule, s.column))
    logger.info(
        "validated %d charge rows: %d rows rejected, %d warnings",
        rows_total,
        len({r.row for r in rejections}),
        len(warnings),
    )
    return ChargeValidation(rejections, warnings, summary, rows_total)


def _check_structure(results: list[Any]) -> None:
    for result in results:
        if result.expectation_config.meta.get("rule") != _STRUCTURE_RULE or result.success:
            continue
        details = (result.result or {}).get("details", {}).get("mismatched", {})
        missing = sorted(details.get("missing", [])) or "unknown"
        raise MissingChargeColumns(f"charge export lacks required columns: {missing}")


def _failing_rows(gx_result: Mapping[str, Any]) -> list[int]:
    indexed = gx_result.get("unexpected_index_list") or []
    # With exclude_unexpected_values and a named index GX gives one dict: {"__row": [..]}.
    return [int(r) for entry in indexed for r in entry[ROW_COLUMN]]


def _rejection(
    prepared: pd.DataFrame, row: int, rule: str, expectation_type: str, column: str, severity: str
) -> Rejection:
    charge_id = prepared["charge_id"].iat[row] if "charge_id" in prepared.columns else None
    value = prepared[column].iat[row] if column in prepared.columns else None
    return Rejection(
        charge_id=charge_id if isinstance(charge_id, str) else None,
        rule=rule,
        expectation_type=expectation_type,
        column=column,
        severity=severity,
        masked_value=mask_value(column, value),
        row=row,
    )


def _findings(
    rows: list[int],
    prepared: pd.DataFrame,
    rule: str,
    column: str,
    severity: str,
    expectation_type: str,
) -> list[Rejection]:
    if not rows:
        return []
    # Only the failing rows are read: a whole column as Python objects costs a second per million rows.
    charge_ids = prepared["charge_id"].take(rows).to_numpy() if "charge_id" in prepared.columns else [None] * len(rows)
    values = prepared[column].take(rows).to_numpy()
    found: list[Rejection] = []
    for row, charge_id, value in zip(rows, charge_ids, values, strict=True):
        found.append(
            Rejection(
                charge_id=None if not isinstance(charge_id, str) else charge_id,
                rule=rule,
                expectation_type=expectation_type,
                column=column,
                severity=severity,
                masked_value=mask_value(column, value),
                row=row,
            )
        )
    return found


def _cell_findings(
    rows: list[int],
    prepared: pd.DataFrame,
    kwargs: Mapping[str, Any],
    rule: str,
    severity: str,
    expectation_type: str,
) -> list[Rejection]:
    """One rejection per failing cell of the rows GX failed: the rule's own cell check names the columns."""
    if not rows:
        return []
    judged = prepared[list(kwargs["column_list"])].iloc[rows]
    cells = failing_cells(expectation_type, judged, kwargs)
    flags = cells.to_numpy(dtype=bool)
    found: list[Rejection] = []
    for position, row in enumerate(rows):
        columns = [str(name) for name, failed in zip(cells.columns, flags[position], strict=True) if failed]
        if not columns:
            raise ChargeRuleNotEvaluated(f"rule {rule!r} failed row {row} but names no failing column")
        found += [_rejection(prepared, row, rule, expectation_type, name, severity) for name in columns]
    return found


def validation_summary_markdown(validation: ChargeValidation) -> str:
    """A markdown report of the validation (rules, columns, severities, counts; no values) for an artifact."""
    rejected = len(validation.rejected_rows)
    flagged = len({w.row for w in validation.warnings})
    lines = [
        "## Charge validation",
        "",
        f"Rows evaluated: {validation.evaluated_rows}. Rows rejected: {rejected} "
        f"({validation.rejected_share:.2%}). Rows with warnings: {flagged}.",
        "",
    ]
    failing = [s for s in validation.summary if s.failing]
    if failing:
        lines += ["| rule | column | severity | failures | share of rows |", "|---|---|---|---:|---:|"]
        lines += [f"| {s.rule} | {s.column} | {s.severity} | {s.failing} | {s.failing_share:.2%} |" for s in failing]
        lines.append("")
    lines.append(f"{len(validation.summary) - len(failing)} of {len(validation.summary)} rules passed on every row.")
    return "\n".join(lines) + "\n"
