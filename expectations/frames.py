"""Run a suite over any frame with GX and name the failing rows by a key column (claims, remittances).

Like the charges runner: row-level results (COMPLETE, failing values excluded) only name the rows; the
summary carries rule names, columns and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult

from expectations.batches import frame_batch
from expectations.gx_kwargs import kwargs_read_once
from expectations.runner import ChargeRuleNotEvaluated, RuleSummary

ROW_COLUMN = "__row"


@dataclass(frozen=True)
class Finding:
    """One failed rule on one row, named by the frame's key (a claim key, a remittance check id)."""

    key: str
    rule: str
    column: str
    severity: str
    expectation_type: str


@dataclass(frozen=True)
class FrameValidation:
    """The outcome of one suite over one frame; ``gx_result`` is kept for masked Data Docs only."""

    suite: str
    findings: list[Finding] = field(default_factory=list)
    summary: list[RuleSummary] = field(default_factory=list)
    evaluated_rows: int = 0
    gx_result: ExpectationSuiteValidationResult | None = field(default=None, repr=False, compare=False)

    def keys_failing(self, severity: str | None = None) -> dict[str, list[str]]:
        """Key -> sorted rule names that failed on it (of one severity when given)."""
        out: dict[str, set[str]] = {}
        for f in self.findings:
            if severity is None or f.severity == severity:
                out.setdefault(f.key, set()).add(f.rule)
        return {k: sorted(v) for k, v in sorted(out.items())}


def run_gx(frame: pd.DataFrame, suite: gx.ExpectationSuite, index_columns: list[str]) -> Any:
    """Validate ``frame`` against ``suite`` in an ephemeral context, row results indexed, values excluded."""
    with kwargs_read_once(), frame_batch(suite.name, suite.name, frame) as batch:
        return batch.validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": index_columns,
                "exclude_unexpected_values": True,
                # The query string costs a whole-frame row selection per rule and is never used.
                "return_unexpected_index_query": False,
            },
        )


def validate_frame(frame: pd.DataFrame, suite: gx.ExpectationSuite, *, key_column: str) -> FrameValidation:
    """Run ``suite`` over ``frame``; every expectation's meta names its rule, column and severity."""
    prepared = frame.reset_index(drop=True)
    prepared[ROW_COLUMN] = np.arange(len(prepared), dtype=np.int64)
    result = run_gx(prepared, suite, [ROW_COLUMN])
    keys = prepared[key_column].astype("str").to_numpy()
    findings: list[Finding] = []
    summary: list[RuleSummary] = []
    rows_total = len(prepared)
    for item in result.results:
        meta = item.expectation_config.meta
        rule, column, severity = meta["rule"], meta["column"], meta["severity"]
        if _raised(item.exception_info):
            raise ChargeRuleNotEvaluated(f"GX could not evaluate rule {rule!r} on column {column!r} ({suite.name})")
        indexed = (item.result or {}).get("unexpected_index_list") or []
        rows = sorted({int(r) for entry in indexed for r in entry[ROW_COLUMN]})
        for row in rows:
            findings.append(Finding(str(keys[row]), rule, column, severity, item.expectation_config.type))
        failing = int((item.result or {}).get("unexpected_count") or 0)
        share = failing / rows_total if rows_total else 0.0
        summary.append(RuleSummary(rule, column, severity, item.expectation_config.type, failing, share))
    summary.sort(key=lambda s: (s.severity, s.rule, s.column))
    return FrameValidation(suite.name, findings, summary, rows_total, result)


def _raised(info: Any) -> bool:
    if not isinstance(info, dict):
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())
