"""Stage built claims into 837 interchanges and upload them with the ledger's exactly-once procedure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from connectors.clearinghouse.delivery import upload_interchanges
from connectors.clearinghouse.factory import clearinghouse_endpoint, operator_guidance
from connectors.payers import registered_payers
from revcycle import submission
from revcycle.clock import clock_in_force
from revcycle.submission import SenderIdentity, WrittenInterchange
from revcycle.warehouse.lease import CLEARINGHOUSE_LEASE, lease_guard
from tasks.runtime import retry_on_transient, settings, warehouse


@task(name="stage-interchanges", retries=2, retry_delay_seconds=10, retry_condition_fn=retry_on_transient)
def stage_claims(warehouse_url: str, outbound_dir: str, batch_date: date, created: datetime) -> list[str]:
    """Write an 837P and an 837I per payer for claims not yet in an interchange; returns the new file names.

    Each interchange is read back and checked by the claims suite before it is committed; a claim that
    fails it, that the writer refuses or that no longer rebuilds is held (claim_hold) and logged as a WARNING.
    """
    config = settings()
    sender = SenderIdentity.of(config)
    result = submission.stage_claims(
        warehouse(warehouse_url),
        payers=registered_payers(),
        sender=sender,
        outbound_dir=Path(outbound_dir),
        batch_date=batch_date,
        created=created,
        check=_written_claim_problems,
        now=clock_in_force(config.timezone).now(),
    )
    logger = get_run_logger()
    staged = result.interchanges
    logger.info("staged %d interchanges holding %d claims", len(staged), sum(r.claim_count for r in staged))
    if result.billed_next:
        logger.info("built %d claims to the next payer (COB) from the prior payers' 835s", len(result.billed_next))
    for hold in result.held:
        logger.warning("claim %s held at staging (%s): %s", hold.claim_key, hold.stage, hold.reason)
    return [r.file_name for r in staged]


def _written_claim_problems(interchanges: Sequence[WrittenInterchange]) -> Mapping[str, list[str]]:
    """The claims suite's check of written 837s, importing Great Expectations on the first interchange to check.

    A night with nothing new to stage, or a Retry that only uploads, then never pays GX's ~7 s import.
    """
    if not interchanges:
        return {}
    from expectations.claims import written_claim_problems

    return written_claim_problems(interchanges)


@task(
    name="upload-interchanges",
    retries=3,
    retry_delay_seconds=[10, 60, 300],
    retry_condition_fn=retry_on_transient,
)
def upload_claims(
    warehouse_url: str,
    outbound_dir: str,
    clearinghouse_block: str | None = None,
    lease_holder: str | None = None,
) -> dict[str, Any]:
    """Upload staged interchanges (and reconcile interrupted ones) to the clearinghouse.

    ``clearinghouse_block`` names a saved Clearinghouse SFTP block; without it the REVCYCLE_SFTP_* settings apply.
    ``lease_holder`` is the run holding the clearinghouse lease: it is checked before each remote step.
    """
    config = settings()
    engine = warehouse(warehouse_url)
    guard = (
        lease_guard(engine, CLEARINGHOUSE_LEASE, lease_holder, clock_in_force(config.timezone))
        if lease_holder
        else None
    )
    with operator_guidance(clearinghouse_block):
        endpoint = clearinghouse_endpoint(config, clearinghouse_block)
        with endpoint.transport as transport:
            transport.makedirs(endpoint.upload_dir)
            report = upload_interchanges(
                engine,
                transport,
                outbound_dir=Path(outbound_dir),
                upload_dir=endpoint.upload_dir,
                guard=guard,
            )
    get_run_logger().info(
        "uploaded %d, reconciled %d, resent %d interchanges",
        len(report.uploaded),
        len(report.reconciled),
        len(report.resent),
    )
    return {"uploaded": report.uploaded, "reconciled": report.reconciled, "resent": report.resent}
