"""Submit flow: stage built claims into 837 interchanges and upload them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows.common import RunPaths, clearinghouse_lease
from tasks.runtime import settings
from tasks.submit import stage_claims, upload_claims


@flow(name="submit-claims", log_prints=False)
def submit_claims(
    batch_date: date,
    created: datetime,
    workdir: str | None = None,
    clearinghouse_block: str | None = None,
    lease_holder: str | None = None,
) -> dict[str, Any]:
    """Stage every built claim not yet sent, then upload (or reconcile) every staged interchange.

    ``clearinghouse_block`` names a saved Clearinghouse SFTP block; without it the REVCYCLE_SFTP_* settings apply.
    The upload runs under the clearinghouse lease; under the nightly flow, ``lease_holder`` is the nightly
    run and its lease is joined, not taken again.
    """
    config = settings()
    paths = RunPaths.resolve(config, workdir)
    staged = stage_claims(paths.warehouse_url, str(paths.outbound_dir), batch_date, created)
    holder = lease_holder or str(flow_run.id or "local")
    with clearinghouse_lease(paths.warehouse_url, holder, config.lock_lease_seconds):
        uploaded = upload_claims(paths.warehouse_url, str(paths.outbound_dir), clearinghouse_block, holder)
    return {"staged": len(staged), **{k: len(v) for k, v in uploaded.items()}}
