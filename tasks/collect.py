"""Pick up 999 / 277CA / 835 files from the clearinghouse and load them into the warehouse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from sqlalchemy import Connection

from connectors.clearinghouse.delivery import collect_responses
from connectors.clearinghouse.factory import clearinghouse_endpoint, operator_guidance
from revcycle.clock import clock_in_force
from revcycle.responses import LoadSummary, load_response
from revcycle.warehouse.ingest import refresh_response_statistics
from revcycle.warehouse.lease import CLEARINGHOUSE_LEASE, lease_guard
from revcycle.warehouse.ledger import overdue_interchanges
from tasks.runtime import retry_on_transient, settings, warehouse

if TYPE_CHECKING:
    from expectations.remittances import StreamedRemittanceChecks


@task(
    name="collect-responses",
    retries=3,
    retry_delay_seconds=[10, 60, 300],
    retry_condition_fn=retry_on_transient,
)
def collect(
    warehouse_url: str,
    inbound_dir: str,
    clearinghouse_block: str | None = None,
    lease_holder: str | None = None,
) -> dict[str, Any]:
    """Download, load and archive every response file waiting in the clearinghouse inbox.

    ``clearinghouse_block`` names a saved Clearinghouse SFTP block; without it the REVCYCLE_SFTP_* settings apply.
    ``lease_holder`` is the run holding the clearinghouse lease: it is checked before each archive move.
    Refused transaction sets are logged and published as the ``refused-transaction-sets`` table artifact
    (file, set, ST02, code: no values).
    """
    config = settings()
    engine = warehouse(warehouse_url)
    clock = clock_in_force(config.timezone)
    guard = lease_guard(engine, CLEARINGHOUSE_LEASE, lease_holder, clock) if lease_holder else None
    checks: dict[str, StreamedRemittanceChecks] = {}

    def load_and_check(conn: Connection, source_file_id: int, path: Path, name: str) -> LoadSummary:
        # The remittance checks see the claims of an 835 as the loader reads them: one pass over the file.
        # Great Expectations is imported only when an 835 is loaded: a pickup with nothing waiting skips it.
        from expectations.remittances import StreamedRemittanceChecks

        checks[name] = StreamedRemittanceChecks(today=clock.today())
        return load_response(conn, source_file_id, path, name, checks[name])

    with operator_guidance(clearinghouse_block):
        endpoint = clearinghouse_endpoint(config, clearinghouse_block)
        with endpoint.transport as transport:
            report = collect_responses(
                engine,
                transport,
                inbox_dir=endpoint.inbox_dir,
                archive_dir=endpoint.archive_dir,
                inbound_local_dir=Path(inbound_dir),
                load=load_and_check,
                guard=guard,
            )
    if report.loaded:  # the next actions are decided from these rows next (warehouse/statistics.py)
        refresh_response_statistics(engine)
    logger = get_run_logger()
    logger.info(
        "collected %d files (%d already loaded before), archived %d",
        len(report.loaded),
        len(report.skipped_duplicates),
        len(report.archived),
    )
    if report.refused_names:
        logger.warning(
            "refused %d inbound files with unsafe names or types (left on the server): %s",
            len(report.refused_names),
            ", ".join(report.refused_names),
        )
    if report.refused_sets:
        refused = [
            {"file": name, "set": item.ordinal, "kind": item.kind, "st02": item.control_number, "problem": item.code}
            for name, item in report.refused_sets
        ]
        logger.warning(
            "refused %d transaction set(s); nothing of them was posted and the files are kept: %s",
            len(refused),
            ", ".join(f"{r['file']} set {r['set']} ({r['problem']})" for r in refused),
        )
        create_table_artifact(
            key="refused-transaction-sets",
            table=refused,
            description="Transaction sets refused at this pickup (cut, miscounted or in a broken envelope)",
        )
    kinds: dict[str, int] = {}
    for _name, kind in report.loaded:
        kinds[kind] = kinds.get(kind, 0) + 1
    report_remittance_checks({report.stored[name]: checks[name] for name, kind in report.loaded if kind == "835"})
    return {
        "loaded": kinds,
        "duplicates": len(report.skipped_duplicates),
        "refused": report.refused_names,
        "refused_sets": len(report.refused_sets),
    }


@task(name="flag-overdue-acknowledgments", retries=2, retry_delay_seconds=10, retry_condition_fn=retry_on_transient)
def flag_overdue_acknowledgments(warehouse_url: str, overdue_hours: float) -> list[dict[str, Any]]:
    """Warn about uploaded interchanges with no 999 after ``overdue_hours`` and publish them as a table artifact.

    The artifact holds file names, ISA13 and upload times only (no claim contents).
    """
    with warehouse(warehouse_url).connect() as conn:
        overdue = overdue_interchanges(conn, timedelta(hours=overdue_hours))
    rows = [
        {
            "file": item.file_name,
            "isa13": f"{item.control_number:09d}",
            "uploaded_at": item.uploaded_at.isoformat(timespec="minutes"),
        }
        for item in overdue
    ]
    if rows:
        get_run_logger().warning(
            "%d interchange(s) have no 999 acknowledgment %g hours after upload: %s. Ask the clearinghouse "
            "whether they arrived; do not resend them blindly (a resend of the same ISA13 is a duplicate).",
            len(rows),
            overdue_hours,
            ", ".join(f"{r['file']} (ISA13 {r['isa13']})" for r in rows),
        )
        create_table_artifact(
            key="overdue-acknowledgments",
            table=rows,
            description=f"Uploaded interchanges with no 999 after {overdue_hours:g} hours",
        )
    return rows


def report_remittance_checks(checks: dict[str, StreamedRemittanceChecks]) -> list[dict[str, Any]]:
    """Publish the remittances suite's failures of the 835s just loaded (by stored name) as warnings and a table
    artifact.

    Amounts are reported as received, never adjusted. The artifact names files, rules and counts only.
    """
    if not checks:
        return []  # no 835 loaded: nothing to report, and no Great Expectations import
    from expectations.gate import failures_by_rule
    from expectations.remittances import SUITE_NAME

    rows: list[dict[str, Any]] = []
    for name, checked in checks.items():
        rows += [{"file": name, **row} for row in failures_by_rule([(SUITE_NAME, checked.summary())])]
    if rows:
        get_run_logger().warning(
            "%d remittance check(s) failed in %d 835 file(s); see the remittance-checks artifact",
            sum(int(r["failures"]) for r in rows),
            len({r["file"] for r in rows}),
        )
        create_table_artifact(
            key="remittance-checks", table=rows, description="835 balancing and code checks (counts, no values)"
        )
    return rows
