"""Masked Data Docs render without an error: GX logged an ERROR with a traceback for every rule before.

GX's unexpected-statement renderer reads ``exception_message`` and ``exception_traceback`` whenever
``exception_info`` holds ``raised_exception`` (true or false); the masked results kept only the flag, so each
rendered rule logged ``KeyError: 'exception_message'`` with a traceback, even on a clean validation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
import pytest

from expectations.data_docs import build_data_docs, mask_result
from expectations.frames import run_gx

PLANTED = "QQPLANTED77"

pytestmark = pytest.mark.usefixtures("gx_context")  # a suite needs an active GX context


def _validation(frame: pd.DataFrame) -> Any:
    suite = gx.ExpectationSuite(name="members")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="member_id"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToMatchRegex(column="member_id", regex=r"^[A-Z]\d{8}$"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeInSet(column="payer_id", value_set=["MCRPB", "SUMMT"]))
    return run_gx(frame, suite, ["charge_id"])


def _render(result: Any, site: Path, caplog: pytest.LogCaptureFixture) -> tuple[str, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        index = build_data_docs([("members", result)], site)
    assert index.is_file()
    pages = [p.read_text(encoding="utf-8") for p in (site / "validations").rglob("*.html")]
    assert len(pages) == 1
    problems = [f"{r.levelname} {r.name}: {r.getMessage()[:200]}" for r in caplog.records]
    return pages[0], problems


def test_a_clean_validation_renders_without_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = pd.DataFrame(
        {"charge_id": ["c1", "c2"], "member_id": ["A12345678", "B87654321"], "payer_id": ["MCRPB"] * 2}
    )
    result = _validation(frame)
    assert result.success
    page, problems = _render(result, tmp_path / "docs", caplog)
    assert problems == []
    assert "member_id" in page


def test_failing_rules_render_counts_without_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = pd.DataFrame(
        {
            "charge_id": ["c1", "c2", "c3"],
            "member_id": ["A12345678", PLANTED, None],
            "payer_id": ["MCRPB", "XX", "SUMMT"],
        }
    )
    result = _validation(frame)
    assert not result.success
    page, problems = _render(result, tmp_path / "docs", caplog)
    assert problems == []
    assert PLANTED not in page
    assert "payer_id" in page


@pytest.mark.parametrize("per_metric", [False, True], ids=["flat", "per-metric"])
def test_a_rule_that_raised_shows_that_it_raised_but_not_the_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, per_metric: bool
) -> None:
    frame = pd.DataFrame({"charge_id": ["c1"], "member_id": ["A12345678"], "payer_id": ["MCRPB"]})
    result = _validation(frame)
    # GX gives exception_info in two shapes: flat, or one entry per metric that failed.
    info = {
        "raised_exception": True,
        "exception_message": f"could not parse {PLANTED}",
        "exception_traceback": f'Traceback (most recent call last):\n  value = "{PLANTED}"',
    }
    result.results[1].exception_info = {"column_values.match_regex": info} if per_metric else info
    page, problems = _render(result, tmp_path / "docs", caplog)
    assert problems == []
    assert "raised an exception" in page
    assert PLANTED not in page
    masked = mask_result(result).results[1].exception_info
    assert masked["raised_exception"] is True and PLANTED not in repr(masked)
