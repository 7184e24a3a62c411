"""Publish the run's KPIs and the warehouse report as Prefect artifacts (counts, keys and dollars only, never PHI)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from connectors.payers import registered_payers
from revcycle.warehouse.kpi import kpi_summary
from revcycle.warehouse.reference import payer_row, sync_payers
from revcycle.warehouse.report import collect_report, render_html
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


@task(name="publish-report")
def publish_report(warehouse_url: str, workdir: str, as_of: str | None = None) -> str:
    """Write ``workdir/report.html`` (payers synced from their profiles first) and link it as an artifact."""
    engine = warehouse(warehouse_url)
    with engine.begin() as conn:
        sync_payers(conn, [payer_row(p) for p in registered_payers().values()])
    with engine.connect() as conn:
        data = collect_report(conn, date.fromisoformat(as_of) if as_of else date.today())
    path = Path(workdir).resolve() / "report.html"
    path.write_text(render_html(data), encoding="utf-8")
    path.chmod(0o600)
    create_link_artifact(
        key="warehouse-report",
        link=path.as_uri(),
        link_text="Warehouse report (HTML, charts)",
        description="KPIs, denials, A/R aging, payments and the payer scorecard; no PHI",
    )
    return str(path)
