"""GX Data Docs built from masked summary results: rule names, columns and counts, never a failing value.

GX puts failing values (``partial_unexpected_list``, ``unexpected_index_list`` ...) and batch details into
validation results and renders them in Data Docs; those values are PHI. ``mask_result`` keeps only counts
and the expectation's configuration, and ``build_data_docs`` renders what is left into a folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from revcycle.clock import clock_in_force
from revcycle.filemodes import private_dir, private_tree

SITE_NAME = "revcycle"
# Counts only: everything else GX may put in a result can quote the data.
SUMMARY_KEYS: frozenset[str] = frozenset(
    {
        "element_count",
        "unexpected_count",
        "unexpected_percent",
        "unexpected_percent_total",
        "unexpected_percent_nonmissing",
        "missing_count",
        "missing_percent",
    }
)

WITHHELD_EXCEPTION = (
    "the rule could not be evaluated; its error is left out of Data Docs because it can quote the data "
    "(the run failed naming the rule and column)"
)


def mask_result(result: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """A copy of ``result`` holding counts, rule configuration and statistics only (no values, no batch)."""
    copy = ExpectationSuiteValidationResult(
        success=result.success,
        results=[],
        suite_name=result.suite_name,
        statistics=dict(result.statistics),
        meta={"great_expectations_version": result.meta.get("great_expectations_version", "")},
    )
    for item in result.results:
        masked = type(item)(
            success=item.success,
            expectation_config=item.expectation_config,
            result={k: v for k, v in (item.result or {}).items() if k in SUMMARY_KEYS},
            exception_info=_masked_exception_info(item.exception_info),
        )
        copy.results.append(masked)
    return copy


def _masked_exception_info(info: Any) -> dict[str, Any]:
    """Whether the rule raised, in the flat shape GX's renderers read, without the message or traceback.

    GX's unexpected-statement renderer reads all three keys as soon as ``raised_exception`` is present (a
    missing one logs a KeyError with a traceback per rule, even on a clean run). The message and the
    traceback of a failed metric may quote data, so they are replaced by a fixed text.
    """
    if not _raised(info):
        return {"raised_exception": False, "exception_message": None, "exception_traceback": None}
    return {
        "raised_exception": True,
        "exception_message": WITHHELD_EXCEPTION,
        "exception_traceback": WITHHELD_EXCEPTION,
    }


def _raised(info: Any) -> bool:
    if not isinstance(info, dict):
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def build_data_docs(results: Sequence[tuple[str, ExpectationSuiteValidationResult]], site_dir: Path) -> Path:
    """Render masked results (batch name, result) as GX Data Docs in ``site_dir``; returns its index.html.

    The site lives in the workdir, whose folders are ``0700`` and files ``0600``: GX writes with the umask's
    modes, so the site is tightened after each build.
    """
    private_dir(site_dir)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.add_data_docs_site(
        site_name=SITE_NAME,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    now = clock_in_force().now()  # a run on a simulated calendar dates its validations on it
    for batch_name, result in results:
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=RunIdentifier(run_name=batch_name, run_time=now),
            batch_identifier=batch_name,
        )
        context.validation_results_store.set(key, mask_result(result))
    context.build_data_docs(site_names=[SITE_NAME])
    private_tree(site_dir)
    return site_dir / "index.html"
