"""Response pickup flow: collect 999 / 277CA / 835 files and load them into the warehouse."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows.common import RunPaths, clearinghouse_lease
from tasks.collect import collect
from tasks.runtime import settings


@flow(name="ingest-responses")
def ingest_responses(workdir: str | None = None, lease_holder: str | None = None) -> dict[str, Any]:
    """Pick up and load every response waiting at the clearinghouse (under the clearinghouse lease)."""
    config = settings()
    paths = RunPaths.resolve(config, workdir)
    holder = lease_holder or str(flow_run.id or "local")
    with clearinghouse_lease(paths.warehouse_url, holder, config.lock_lease_seconds):
        return collect(paths.warehouse_url, str(paths.inbound_dir))
