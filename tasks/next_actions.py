"""Decide each open claim's next action after the night's loads (the worklists read ``claim_action``)."""

from __future__ import annotations

from prefect import task

from connectors.payers import registered_payers
from revcycle.clock import clock_in_force
from revcycle.warehouse.claim_snapshots import decide_open_claims
from revcycle.warehouse.timezone import sync_practice_timezone
from tasks.runtime import settings, warehouse


@task(name="decide-next-actions")
def decide_next_actions(warehouse_url: str) -> dict[str, int]:
    """Record the next action of every open claim on the run's clock; returns how many claims per action."""
    config = settings()
    clock = clock_in_force(config.timezone)
    engine = warehouse(warehouse_url)
    with engine.begin() as conn:
        sync_practice_timezone(conn, config.timezone)
    return decide_open_claims(engine, registered_payers().values(), clock.today(), clock.now())
