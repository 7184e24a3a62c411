"""Publish the run's KPI summary as Prefect artifacts (counts and dollars only, never PHI)."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from revcycle.warehouse.kpi import kpi_summary
from tasks.runtime import warehouse


@task(name="publish-kpis")
def publish_kpis(warehouse_url: str, run_summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Compute the KPI summary and publish it as a table and a markdown artifact."""
    with warehouse(warehouse_url).connect() as conn:
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
