"""GX Data Docs built from masked summary results: rule names, columns and counts, never a failing value.

GX puts failing values (``partial_unexpected_list``, ``unexpected_index_list`` ...) and batch details into
validation results and renders them in Data Docs; those values are PHI. ``mask_result`` keeps only counts,
the expectation's configuration, the data asset's name (the export file's name) and the run, and
``build_data_docs`` renders what is left into a folder that opens offline (``data_docs_offline``) and keeps
every earlier validation: each build renders its new pages only and lists them all in the index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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

from expectations.data_docs_offline import IndexEntry, make_offline, render_index
from revcycle.clock import clock_in_force
from revcycle.filemodes import private_dir, private_file, private_tree

SITE_NAME = "revcycle"
# One small JSON per validation (what the index lists), so a build lists the earlier ones too.
HISTORY = "history"
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


def mask_result(
    result: ExpectationSuiteValidationResult, *, asset: str = "", run_id: RunIdentifier | None = None
) -> ExpectationSuiteValidationResult:
    """A copy of ``result`` holding counts, rule configuration and statistics only (no values, no batch).

    ``asset`` (a file name, never data) and ``run_id`` are what the page shows as data asset and run.
    """
    meta: dict[str, Any] = {"great_expectations_version": result.meta.get("great_expectations_version", "")}
    if asset:
        meta["batch_spec"] = {"data_asset_name": asset}
    if run_id is not None:
        meta["run_id"] = run_id
    copy = ExpectationSuiteValidationResult(
        success=result.success,
        results=[],
        suite_name=result.suite_name,
        statistics=dict(result.statistics),
        meta=meta,
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


def build_data_docs(
    results: Sequence[tuple[str, ExpectationSuiteValidationResult]],
    site_dir: Path,
    *,
    run_name: str = "",
    now: dt.datetime | None = None,
) -> Path:
    """Render masked results (data asset name, result) as GX Data Docs in ``site_dir``; returns its index.html.

    ``run_name`` names the run (the batch date; default the UTC date of ``now``). Earlier validations stay:
    only the new pages are rendered, and the index lists every validation of the history. The site lives
    in the workdir, whose folders are ``0700`` and files ``0600``: GX writes with the umask's modes, so the
    site is tightened after each build.
    """
    private_dir(site_dir)
    history = private_dir(site_dir / HISTORY)
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
    now = now or clock_in_force().now()  # a run on a simulated calendar dates its validations on it
    run_id = RunIdentifier(run_name=run_name or now.date().isoformat(), run_time=now)
    keys = []
    for asset, result in results:
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=run_id,
            batch_identifier=asset,
        )
        masked = mask_result(result, asset=asset, run_id=run_id)
        context.validation_results_store.set(key, masked)
        keys.append((key, masked))
    # GX's own index is a table that bootstrap-table fills from a CDN: ours replaces it (data_docs_offline).
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[k for k, _ in keys], build_index=False)
    for key, masked in keys:
        *folders, batch = _parts(key)
        page = Path("validations", *folders, batch + ".html")
        make_offline(site_dir / page)
        _record(history, key, _entry(page, key, masked, now))
    index = site_dir / "index.html"
    index.write_text(render_index(_history(history)), encoding="utf-8")
    private_tree(site_dir)
    return index


def _parts(key: ValidationResultIdentifier) -> tuple[str, ...]:
    """The key as GX lays it out on disk: suite name parts, run name, run time, batch identifier."""
    return tuple(str(part) for part in key.to_tuple())  # type: ignore[no-untyped-call]


def _entry(
    page: Path, key: ValidationResultIdentifier, result: ExpectationSuiteValidationResult, now: dt.datetime
) -> IndexEntry:
    statistics = result.statistics or {}
    return IndexEntry(
        page=page.as_posix(),
        suite=result.suite_name,
        asset=str(key.batch_identifier),
        run_name=str(key.run_id.run_name),
        run_time=now.astimezone(dt.UTC).isoformat(),
        success=bool(result.success),
        evaluated=int(statistics.get("evaluated_expectations") or 0),
        failing=int(statistics.get("unsuccessful_expectations") or 0),
    )


def _record(history: Path, key: ValidationResultIdentifier, entry: IndexEntry) -> None:
    name = "__".join(_parts(key)).replace("/", "_") + ".json"
    path = private_file(history / name)
    path.write_text(json.dumps(dataclasses.asdict(entry), sort_keys=True), encoding="utf-8")


def _history(history: Path) -> list[IndexEntry]:
    entries = []
    for path in sorted(history.glob("*.json")):
        try:
            entries.append(IndexEntry(**json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, TypeError):
            continue  # a file cut by a crash mid-write: its page is still on disk, only the listing misses it
    return entries
