"""The nightly revenue cycle: charges in, claims out, responses back, KPIs published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run

from flows.common import RunPaths, batch_date_of_run, clearinghouse_lease
from flows.eligibility import NO_ELIGIBILITY_REVIEW, NO_STATUS_INQUIRY, inquire_claim_status, verify_eligibility
from flows.ingest import ingest_responses
from flows.intake import take_exports
from flows.submit import submit_claims
from revcycle.clock import clock_in_force
from tasks.attention import list_needs_attention, needs_attention_state
from tasks.intake import discover_exports, held_claims, report_unread_files
from tasks.next_actions import decide_next_actions
from tasks.report import publish_kpis, publish_report
from tasks.runtime import settings


@flow(name="nightly-revenue-cycle")
def nightly_revenue_cycle(
    export_dir: str | None = None,
    workdir: str | None = None,
    batch_date: str | None = None,
    clearinghouse_block: str | None = None,
    html_report: bool = True,
) -> dict[str, Any] | State[Any]:
    """Run the whole cycle; every step is idempotent, so a Retry resumes instead of repeating.

    A bad export is refused and a bad claim held (each a WARNING, listed in the result) while the rest of
    the night goes on: ``refused_exports``, ``held_claims`` (open holds) and ``unread_files`` in the result.

    ``needs_attention`` lists what a person must act on (revcycle.attention); when it is not empty the run
    ends in the Failed-type state ``NeedsAttention`` with this result as its data (docs/needs-attention.md).

    ``clearinghouse_block`` names a saved Clearinghouse SFTP block; without it the REVCYCLE_SFTP_* settings apply.

    ``html_report=False`` skips writing ``report.html`` (``report`` is then None); the KPI summary and the run
    summary are still published. The multi-night demo writes the report once, after its last night.
    """
    started = clock_in_force().now()
    logger = get_run_logger()
    config = settings()
    paths = RunPaths.resolve(config, workdir, export_dir)
    batch, created = batch_date_of_run(config, batch_date)
    logger.info("batch date %s", batch.isoformat())
    listing = discover_exports(paths.export_dir)
    exports = listing.exports
    unread = report_unread_files([p.name for p in listing.unread]) if listing.unread else []
    intake = take_exports(config, exports, paths.warehouse_url, batch)
    refused = [{"file": i["file"], "reason": i["reason"]} for i in intake if i.get("refused")]
    holder = str(flow_run.id or "local")
    with clearinghouse_lease(paths.warehouse_url, holder, config.lock_lease_seconds):
        # Both inquiry subflows have nothing to do with batch eligibility off: not running them saves two
        # flow runs a night (about 0.4 s each on a 2-core machine; the multi-night demo runs 96 nights).
        eligibility = (
            verify_eligibility(batch, created, str(paths.workdir), clearinghouse_block, holder)
            if config.batch_eligibility
            else dict(NO_ELIGIBILITY_REVIEW)
        )
        submitted = submit_claims(
            batch, created, workdir=str(paths.workdir), clearinghouse_block=clearinghouse_block, lease_holder=holder
        )
        ingested = ingest_responses(
            workdir=str(paths.workdir), lease_holder=holder, clearinghouse_block=clearinghouse_block
        )
        status = (
            inquire_claim_status(batch, created, str(paths.workdir), clearinghouse_block, holder)
            if config.batch_eligibility
            else dict(NO_STATUS_INQUIRY)
        )
    decide_next_actions(paths.warehouse_url)
    held = held_claims(paths.warehouse_url)
    summary = {
        "exports": len(exports),
        "exports skipped (loaded before)": sum(1 for i in intake if i.get("skipped")),
        "exports refused": len(refused),
        "files not read": len(unread),
        "charge lines": sum(i.get("rows", 0) for i in intake),
        "rejected lines": sum(i.get("rejected", 0) for i in intake),
        "held lines": sum(i.get("held", 0) for i in intake),
        "claims built": sum(i.get("claims", 0) for i in intake),
        "revised lines": sum(i.get("revised", 0) for i in intake),
        "interchanges staged": submitted.get("staged", 0),
        "interchanges uploaded": submitted.get("uploaded", 0),
        "response files loaded": sum(ingested.get("loaded", {}).values()),
        "claims held (open)": len(held),
    }
    kpis = publish_kpis(paths.warehouse_url, summary)
    report = (
        publish_report(paths.warehouse_url, str(paths.workdir), batch.isoformat(), kpi_rows=kpis)
        if html_report
        else None
    )
    attention = list_needs_attention(
        paths.warehouse_url, started, config.ack_overdue_hours, unread, list(ingested.get("refused", []))
    )
    result = {
        "batch_date": batch.isoformat(),
        "run": summary,
        "kpis": dict(kpis),
        "workdir": str(Path(paths.workdir)),
        "report": report,
        "refused_exports": refused,
        "held_claims": held,
        "unread_files": unread,
        "needs_attention": attention,
        "eligibility": eligibility,
        "claim_status": status,
    }
    return needs_attention_state(result) if attention else result
