"""Pick up 999 / 277CA / 835 files from the clearinghouse and load them into the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from connectors.clearinghouse.delivery import collect_responses
from connectors.clearinghouse.factory import sftp_transport_from_settings
from revcycle.responses import load_response
from tasks.runtime import retry_on_transient, settings, warehouse


@task(
    name="collect-responses",
    retries=3,
    retry_delay_seconds=[10, 60, 300],
    retry_condition_fn=retry_on_transient,
)
def collect(warehouse_url: str, inbound_dir: str) -> dict[str, Any]:
    """Download, load and archive every response file waiting in the clearinghouse inbox."""
    config = settings()
    with sftp_transport_from_settings(config) as transport:
        report = collect_responses(
            warehouse(warehouse_url),
            transport,
            inbox_dir=config.remote_inbox_dir,
            archive_dir=config.remote_archive_dir or None,
            inbound_local_dir=Path(inbound_dir),
            load=load_response,
        )
    logger = get_run_logger()
    logger.info(
        "collected %d files (%d already loaded before), archived %d",
        len(report.loaded),
        len(report.skipped_duplicates),
        len(report.archived),
    )
    if report.refused_names:
        logger.warning("refused %d inbound files with unsafe names", len(report.refused_names))
    kinds: dict[str, int] = {}
    for _name, kind in report.loaded:
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"loaded": kinds, "duplicates": len(report.skipped_duplicates), "refused": report.refused_names}
