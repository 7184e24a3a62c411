"""Eligibility before the claim (270/271) and status after it (276/277): thin tasks over the core modules."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from connectors.payers import registered_payers
from revcycle.clock import clock_in_force
from revcycle.eligibility_batch import review_eligibility
from revcycle.status_inquiry import stage_status_inquiries
from revcycle.submission import SenderIdentity
from tasks.runtime import retry_on_transient, settings, warehouse


@task(name="review-eligibility", retries=2, retry_delay_seconds=10, retry_condition_fn=retry_on_transient)
def review_claims_eligibility(
    warehouse_url: str, outbound_dir: str, batch_date: date, created: datetime
) -> dict[str, Any]:
    """Hold or release unsent claims by their 271s and stage 270s for the pairs not verified in the window.

    Holds are logged as WARNINGs (claim key and reason, no PHI) except those only awaiting their 271.
    """
    config = settings()
    clock = clock_in_force(config.timezone)
    review = review_eligibility(
        warehouse(warehouse_url),
        payers=registered_payers(),
        sender=SenderIdentity.of(config),
        outbound_dir=Path(outbound_dir),
        batch_date=batch_date,
        created=created,
        now=clock.now(),
        today=clock.today(),
        window_days=config.eligibility_window_days,
        unverified_payers=frozenset(p.strip() for p in config.unverified_payers.split(",") if p.strip()),
        send_inquiries=config.batch_eligibility,
    )
    logger = get_run_logger()
    logger.info(
        "eligibility: %d inquiries staged in %d files, %d claims held for coverage, %d released",
        review.inquiries,
        len(review.files),
        len(review.held),
        len(review.released),
    )
    for hold in review.held:
        if not hold.reason.endswith("awaiting eligibility"):
            logger.warning("claim %s held for coverage: %s", hold.claim_key, hold.reason)
    return {
        "inquiries": review.inquiries,
        "files": review.files,
        "held": len(review.held),
        "released": len(review.released),
    }


@task(name="stage-status-inquiries", retries=2, retry_delay_seconds=10, retry_condition_fn=retry_on_transient)
def stage_claim_status_inquiries(
    warehouse_url: str, outbound_dir: str, batch_date: date, created: datetime
) -> dict[str, Any]:
    """Stage one 276 per payer and provider for the claims silent past their lag (at most one per period)."""
    config = settings()
    staged = stage_status_inquiries(
        warehouse(warehouse_url),
        payers=registered_payers(),
        sender=SenderIdentity.of(config),
        outbound_dir=Path(outbound_dir),
        batch_date=batch_date,
        created=created,
        now=clock_in_force(config.timezone).now(),
        after_days=config.status_inquiry_after_days,
        every_days=config.status_inquiry_every_days,
    )
    get_run_logger().info("claim status: %d claims asked in %d 276 files", len(staged.claims), len(staged.files))
    return {"claims": len(staged.claims), "files": staged.files}
