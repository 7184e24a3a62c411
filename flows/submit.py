"""Submit flow: stage built claims into 837 interchanges and upload them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from prefect import flow

from flows.common import RunPaths
from tasks.runtime import settings
from tasks.submit import stage_claims, upload_claims


@flow(name="submit-claims", log_prints=False)
def submit_claims(
    batch_date: date, created: datetime, workdir: str | None = None, clearinghouse_block: str | None = None
) -> dict[str, Any]:
    """Stage every built claim not yet sent, then upload (or reconcile) every staged interchange.

    ``clearinghouse_block`` names a saved Clearinghouse SFTP block; without it the REVCYCLE_SFTP_* settings apply.
    """
    paths = RunPaths.resolve(settings(), workdir)
    staged = stage_claims(paths.warehouse_url, str(paths.outbound_dir), batch_date, created)
    uploaded = upload_claims(paths.warehouse_url, str(paths.outbound_dir), clearinghouse_block)
    return {"staged": len(staged), **{k: len(v) for k, v in uploaded.items()}}
