"""Publish the run's KPIs and the warehouse report as Prefect artifacts (counts, keys and dollars only, never PHI)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from sqlalchemy import Engine

from connectors.payers import registered_payers
from revcycle.clock import clock_in_force
from revcycle.warehouse.kpi.summary import kpi_summary
from revcycle.warehouse.reference import payer_row, sync_adjustment_categories, sync_payers
from revcycle.warehouse.report import collect_report, render_html
from revcycle.warehouse.timezone import sync_practice_timezone
from tasks.runtime import settings, warehouse


def _sync_reference(engine: Engine, timezone: str) -> None:
    """Payers, adjustment categories and the practice's timezone, before any figure is read."""
    with engine.begin() as conn:
        sync_payers(conn, [payer_row(p) for p in registered_payers().values()])
        sync_adjustment_categories(conn)
        sync_practice_timezone(conn, timezone)


@task(name="publish-kpis")
def publish_kpis(warehouse_url: str, run_summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Compute the KPI summary and publish it as a table and a markdown artifact."""
    engine = warehouse(warehouse_url)
    _sync_reference(engine, settings().timezone)
    with engine.connect() as conn:
        rows = kpi_summary(conn).rows()
    create_table_artifact(
        key="kpi-summary",
        table=[{"kpi": label, "value": value} for label, value in rows],
        description="Revenue-cycle KPIs after this run",
    )
    lines = ["# Nightly revenue cycle", "", "| KPI | Value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    lines += ["", "## This run", "", "| Step | Result |", "|---|---|"]
    lines += [f"| {step} | {result} |" for step, result in run_summary.items()]
    create_markdown_artifact(key="nightly-summary", markdown="\n".join(lines), description="Run summary")
    return rows


@task(name="publish-report")
def publish_report(
    warehouse_url: str,
    workdir: str,
    as_of: str | None = None,
    kpi_rows: list[tuple[str, str]] | None = None,
) -> str:
    """Write ``workdir/report.html`` (payers synced from their profiles first) and link it as an artifact.

    ``kpi_rows``: the KPI summary ``publish_kpis`` just computed, shown as the report's run summary instead of
    being computed a second time.
    """
    engine = warehouse(warehouse_url)
    config = settings()
    _sync_reference(engine, config.timezone)
    day = date.fromisoformat(as_of) if as_of else clock_in_force(config.timezone).today()
    with engine.connect() as conn:
        data = collect_report(conn, day, status_lag_days=config.status_inquiry_after_days, run_summary=kpi_rows)
    path = Path(workdir).resolve() / "report.html"
    path.write_text(render_html(data), encoding="utf-8")
    path.chmod(0o600)
    create_link_artifact(
        key="warehouse-report",
        link=path.as_uri(),
        link_text="Warehouse report (HTML, charts)",
        description="KPIs with their sources, weekly trends, worklists, denials, A/R aging, payer scorecard; no PHI",
    )
    return str(path)
