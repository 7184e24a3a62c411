"""Response pickup flow: collect 999 / 277CA / 835 files and load them into the warehouse."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows.alerts import emit_responses_found
from flows.common import RunPaths, clearinghouse_lease
from tasks.collect import collect, flag_overdue_acknowledgments
from tasks.runtime import settings


@flow(name="ingest-responses")
def ingest_responses(
    workdir: str | None = None, lease_holder: str | None = None, clearinghouse_block: str | None = None
) -> dict[str, Any]:
    """Pick up and load every response waiting at the clearinghouse (under the clearinghouse lease).

    Under the nightly flow, ``lease_holder`` is the nightly run: its lease is joined, not taken again, and
    leaving this flow releases nothing.

    Interchanges still without a 999 after REVCYCLE_ACK_OVERDUE_HOURS are flagged (warning and artifact).
    ``clearinghouse_block`` names a saved Clearinghouse SFTP block; without it the REVCYCLE_SFTP_* settings apply.
    """
    config = settings()
    paths = RunPaths.resolve(config, workdir)
    holder = lease_holder or str(flow_run.id or "local")
    with clearinghouse_lease(paths.warehouse_url, holder, config.lock_lease_seconds):
        collected = collect(paths.warehouse_url, str(paths.inbound_dir), clearinghouse_block, holder)
    # The quiet-window alert (flows/alerts.py) fires when this event stays away.
    emit_responses_found(sum(collected["loaded"].values()) + collected["duplicates"] + len(collected["refused"]))
    overdue = flag_overdue_acknowledgments(paths.warehouse_url, config.ack_overdue_hours)
    return {**collected, "overdue_acknowledgments": len(overdue)}
