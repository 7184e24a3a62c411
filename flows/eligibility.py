"""Eligibility and claim status over the clearinghouse mailbox (when it takes batch 270s and 276s)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from prefect import flow

from flows.common import RunPaths
from tasks.collect import collect
from tasks.eligibility import review_claims_eligibility, stage_claim_status_inquiries
from tasks.runtime import settings
from tasks.submit import upload_claims

# What each subflow returns with batch eligibility off (the nightly then does not run it).
NO_ELIGIBILITY_REVIEW: dict[str, Any] = {"inquiries": 0, "files": [], "held": 0, "released": 0, "loaded": {}}
NO_STATUS_INQUIRY: dict[str, Any] = {"claims": 0, "files": []}


@flow(name="verify-eligibility")
def verify_eligibility(
    batch_date: date,
    created: datetime,
    workdir: str | None = None,
    clearinghouse_block: str | None = None,
    lease_holder: str | None = None,
) -> dict[str, Any]:
    """Collect the 271s waiting (REVCYCLE_BATCH_ELIGIBILITY), then hold or release claims and stage 270s.

    Runs under the nightly's clearinghouse lease (``lease_holder``); the 270s go up with the night's 837s.
    """
    config = settings()
    if not config.batch_eligibility:
        # nothing is asked, so nothing can hold a claim: skip rebuilding every unsent claim
        return dict(NO_ELIGIBILITY_REVIEW)
    paths = RunPaths.resolve(config, workdir)
    loaded = collect(paths.warehouse_url, str(paths.inbound_dir), clearinghouse_block, lease_holder)["loaded"]
    review = review_claims_eligibility(paths.warehouse_url, str(paths.outbound_dir), batch_date, created)
    return {**review, "loaded": loaded}


@flow(name="inquire-claim-status")
def inquire_claim_status(
    batch_date: date,
    created: datetime,
    workdir: str | None = None,
    clearinghouse_block: str | None = None,
    lease_holder: str | None = None,
) -> dict[str, Any]:
    """Stage and upload a 276 for the claims silent past their lag (REVCYCLE_BATCH_ELIGIBILITY)."""
    config = settings()
    if not config.batch_eligibility:
        return dict(NO_STATUS_INQUIRY)
    paths = RunPaths.resolve(config, workdir)
    staged = stage_claim_status_inquiries(paths.warehouse_url, str(paths.outbound_dir), batch_date, created)
    if staged["files"]:
        upload_claims(paths.warehouse_url, str(paths.outbound_dir), clearinghouse_block, lease_holder)
    return staged
