"""Extract and validate charge exports, then record them (rows, rejections, claims) in the warehouse.

Every export format an EHR reader is registered for (CSV, HL7 v2 DFT^P03, FHIR R4) is read by the reader its
content names (``connectors.ehr.intake``); after the reader everything is shared. An export that cannot be used
is refused (moved to ``exports/refused/`` with its reason, a WARNING) and the night goes on; see
``revcycle.exports``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from connectors.ehr.csv_export import UnreadableExport, scan_export
from connectors.ehr.intake import (
    defect_share,
    held_rejections,
    intake_rows,
    list_exports,
    read_for_intake,
    rejection_sources,
)
from connectors.ehr.registry import export_suffixes
from connectors.payers import registered_payers
from revcycle import exports
from revcycle.clock import clock_in_force
from revcycle.holds import open_holds
from revcycle.intake import ChargeRejection, record_intake
from revcycle.memory import release_freed_memory
from revcycle.warehouse.ledger import register_source_file
from tasks.runtime import retry_on_transient, settings, warehouse

if TYPE_CHECKING:
    from expectations.runner import ChargeValidation

SUITE = "charges"


def discover_exports(export_dir: Path) -> exports.ExportListing:
    """The exports waiting in ``export_dir`` (every registered format's extensions, any case), and the rest."""
    return list_exports(export_dir)


@task(name="report-unread-files")
def report_unread_files(names: list[str]) -> list[str]:
    """Warn about files in the export folder that are not read (no export extension, or text of no known format)."""
    logger = get_run_logger()
    known = " ".join(sorted(export_suffixes()))
    for name in names:
        logger.warning(
            "export folder: %s is not read (exports end in %s; a .txt or .dat file must hold CSV, HL7 or FHIR); "
            "move it away or rename it",
            name,
            known,
        )
    return names


@task(
    name="intake-charge-export",
    retries=3,
    retry_delay_seconds=[5, 30, 120],
    retry_condition_fn=retry_on_transient,
)
def intake_export(path: str, warehouse_url: str, batch_date: date, reject_threshold: float) -> dict[str, Any]:
    """Read, validate (GX) and record one export; a file read before is skipped by its sha256.

    An export that cannot be read as the contract, or whose rejected share passes ``reject_threshold``, is
    refused: recorded, moved to ``refused/`` with a reason file, logged as a WARNING; nothing of it is loaded.
    """
    logger = get_run_logger()
    source = Path(path)
    try:
        scan = scan_export(source)
    except FileNotFoundError:
        logger.warning("export %s disappeared before it was read (moved by another process?); skipped", source.name)
        return {"file": source.name, "skipped": True}
    engine = warehouse(warehouse_url)
    with engine.begin() as conn:
        entry = register_source_file(
            conn, kind="charges", name=source.name, sha256=scan.sha256, size=scan.size, origin="export"
        )
    if entry.already_loaded:
        logger.info("export %s was loaded before (same sha256); skipped", source.name)
        return {"file": source.name, "skipped": True}
    config = settings()
    try:
        export = read_for_intake(source, config_path=config.ehr_config, workdir=config.workdir)
    except UnreadableExport as unreadable:
        return _refuse(source, unreadable.refusal, entry.id, scan.sha256, warehouse_url)
    release_freed_memory()  # what the reader parsed with, before the gate builds its frames
    for problem in export.problems[:20]:
        logger.warning("export %s: %s", source.name, problem)
    if len(export.problems) > 20:
        logger.warning("export %s: %d more notes like these", source.name, len(export.problems) - 20)
    # Great Expectations is imported here, not at module level: a flow run with no export to take (a pickup,
    # a Retry after the upload) then starts without its ~7 s import.
    from expectations.gate import charge_rejections, payer_charge_rules
    from expectations.runner import ChargeValidation, validate_charges, validation_summary_markdown

    payers = registered_payers()
    validation = (
        validate_charges(export.frame(), today=batch_date, payer_rules=payer_charge_rules(payers))
        if export.rows
        else ChargeValidation()
    )
    release_freed_memory()  # the gate's frames, before the claims are built
    create_markdown_artifact(
        key="charge-validation",
        markdown=f"# Charge validation: {source.name} ({export.format})\n\n" + validation_summary_markdown(validation),
        description="Failures by rule (counts only, no values)",
    )
    if export.rows:
        _publish_validation_reports(source.name, validation, batch_date)
    # The threshold is judged before anything is recorded: a broken export loads nothing, and the corrected
    # file (same charge ids, new content hash) loads whole when it is put back in the export folder.
    gate_failing = [(s.rule, s.column, s.failing) for s in validation.summary if s.failing and s.severity == "error"]
    share = defect_share(export, len(validation.rejected_rows), gate_failing)
    if share.share > reject_threshold:
        refusal = exports.over_threshold(share.flagged, share.evaluated, reject_threshold, share.failing_rules)
        return _refuse(source, refusal, entry.id, scan.sha256, warehouse_url)
    rejections: list[ChargeRejection] = charge_rejections(validation) + held_rejections(export)
    _publish_rejection_sources(source.name, rejection_sources(export, rejections))
    rows = intake_rows(export)
    # the rows to record hold the reader's value tuples and their sources as text: the reader's wrappers and
    # source objects go before the claims are built (memory)
    export.rows.clear()
    export.sources.clear()
    result = record_intake(
        engine,
        source_file_id=entry.id,
        rows=rows,
        rejections=rejections,
        payers=payers,
        batch_date=batch_date,
        now=clock_in_force().now(),
    )
    logger.info(
        "export %s (%s): %d lines, %d rejected (%d held by the reader), %d held, %d claims built, "
        "%d lines revised (of %d claims already built)",
        source.name,
        export.format,
        result.rows,
        result.rejected_charges,
        len(export.held),
        result.held_charges,
        len(result.claim_keys),
        result.revised_charges,
        len(result.revised_claims),
    )
    if result.held_claims:
        logger.warning(
            "export %s: %d claim(s) held (claim_hold, stage intake): %s",
            source.name,
            len(result.held_claims),
            ", ".join(result.held_claims[:20]) + (" ..." if len(result.held_claims) > 20 else ""),
        )
    return {
        "file": source.name,
        "skipped": False,
        "rows": result.rows,
        "rejected": result.rejected_charges,
        "held": result.held_charges,
        "claims": len(result.claim_keys),
        "revised": result.revised_charges,
    }


def _refuse(
    source: Path, refusal: exports.ExportRefusal, source_file_id: int, sha256: str, warehouse_url: str
) -> dict[str, Any]:
    refused = exports.refuse_export(
        warehouse(warehouse_url),
        source,
        refusal=refusal,
        source_file_id=source_file_id,
        sha256=sha256,
        refused_at=clock_in_force().now(),
    )
    if refused.moved:
        where = f"moved to {exports.REFUSED_FOLDER}/{refused.moved_to.name} with its reason"
    else:
        where = "left in place (the export folder does not let it be moved; it is refused again each run)"
    get_run_logger().warning("export %s refused, %s: %s", source.name, where, refusal.detail)
    return {"file": source.name, "skipped": False, "refused": True, "reason": refusal.problem}


@task(name="list-held-claims")
def held_claims(warehouse_url: str) -> list[dict[str, str]]:
    """Every claim held and not yet released: key, payer, stage and reason (no PHI)."""
    with warehouse(warehouse_url).connect() as conn:
        holds = open_holds(conn)
    return [{"claim_key": h.claim_key, "payer_id": h.payer_id, "stage": h.stage, "reason": h.reason} for h in holds]


def _publish_rejection_sources(file_name: str, lines: list[dict[str, str]]) -> None:
    """A table artifact naming, for every quarantined charge, the file and message or resource it came from."""
    if lines:
        create_table_artifact(
            key="charge-rejection-sources",
            table=lines,
            description=f"{file_name}: quarantined charges, rule and where in the file (no values)",
        )


def _publish_validation_reports(file_name: str, validation: ChargeValidation, batch_date: date) -> None:
    """A table artifact of failures by rule, and masked GX Data Docs in the workdir linked from an artifact."""
    from expectations.gate import failures_by_rule, publish_data_docs

    table = failures_by_rule([(SUITE, validation.summary)])
    create_table_artifact(
        key="charge-failures-by-rule",
        table=table or [{"suite": SUITE, "rule": "(none)", "column": "", "severity": "", "failures": 0, "share": ""}],
        description=f"{file_name}: failing rules with counts (no values)",
    )
    index = publish_data_docs(
        settings().workdir / "data-docs", charges=validation, asset=file_name, run_name=batch_date.isoformat()
    )
    if index is not None:
        create_link_artifact(
            key="charge-data-docs",
            link=index.resolve().as_uri(),
            link_text="GX Data Docs (counts only, failing values masked)",
            description=f"Validation of {file_name}",
        )
