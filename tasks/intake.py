"""Extract and validate charge exports, then record them (rows, rejections, claims) in the warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from connectors.ehr.csv_export import read_charge_export
from connectors.payers import registered_payers
from expectations.claims import claim_hold_reasons
from expectations.gate import charge_rejections, failures_by_rule, payer_charge_rules, publish_data_docs
from expectations.runner import ChargeValidation, validate_charges, validation_summary_markdown
from revcycle.errors import ThresholdExceeded
from revcycle.intake import ChargeRejection, record_intake
from revcycle.warehouse.ledger import register_source_file
from tasks.runtime import retry_on_transient, settings, warehouse

SUITE = "charges"


def discover_exports(export_dir: Path) -> list[Path]:
    """The charge export files waiting in ``export_dir``, oldest name first."""
    return sorted(p for p in export_dir.glob("*.csv") if p.is_file())


@task(
    name="intake-charge-export",
    retries=3,
    retry_delay_seconds=[5, 30, 120],
    retry_condition_fn=retry_on_transient,
)
def intake_export(path: str, warehouse_url: str, batch_date: date, reject_threshold: float) -> dict[str, Any]:
    """Read, validate (GX) and record one export; a file read before is skipped by its sha256."""
    logger = get_run_logger()
    export = read_charge_export(Path(path))
    engine = warehouse(warehouse_url)
    with engine.begin() as conn:
        entry = register_source_file(
            conn,
            kind="charges",
            name=export.path.name,
            sha256=export.sha256,
            size=export.size,
            origin="export",
        )
    if entry.already_loaded:
        logger.info("export %s was loaded before (same sha256); skipped", export.path.name)
        return {"file": export.path.name, "skipped": True}
    payers = registered_payers()
    validation = validate_charges(export.frame, today=batch_date, payer_rules=payer_charge_rules(payers))
    create_markdown_artifact(
        key="charge-validation",
        markdown=f"# Charge validation: {export.path.name}\n\n" + validation_summary_markdown(validation),
        description="Failures by rule (counts only, no values)",
    )
    _publish_validation_reports(export.path.name, validation)
    # The threshold is judged before anything is recorded: a broken export loads nothing, and the corrected
    # file (same charge ids, new content hash) loads whole on the Retry.
    share = validation.rejected_share
    if share > reject_threshold:
        raise ThresholdExceeded(
            f"{export.path.name}: {len(validation.rejected_rows)} of {validation.evaluated_rows} charge lines "
            f"({share:.1%}) failed validation, above the {reject_threshold:.0%} threshold. Nothing from this "
            "file was loaded. Fix the export (see the charge-validation artifact for the rules that failed), "
            "replace the file, and retry the run."
        )
    rejections: list[ChargeRejection] = charge_rejections(validation)
    rows = export.frame.to_dict("records")
    result = record_intake(
        engine,
        source_file_id=entry.id,
        rows=rows,
        rejections=rejections,
        payers=payers,
        batch_date=batch_date,
        claim_check=claim_hold_reasons,
    )
    logger.info(
        "export %s: %d lines, %d rejected, %d held, %d claims built",
        export.path.name,
        result.rows,
        result.rejected_charges,
        result.held_charges,
        len(result.claim_keys),
    )
    return {
        "file": export.path.name,
        "skipped": False,
        "rows": result.rows,
        "rejected": result.rejected_charges,
        "held": result.held_charges,
        "claims": len(result.claim_keys),
    }


def _publish_validation_reports(file_name: str, validation: ChargeValidation) -> None:
    """A table artifact of failures by rule, and masked GX Data Docs in the workdir linked from an artifact."""
    table = failures_by_rule([(SUITE, validation.summary)])
    create_table_artifact(
        key="charge-failures-by-rule",
        table=table or [{"suite": SUITE, "rule": "(none)", "column": "", "severity": "", "failures": 0, "share": ""}],
        description=f"{file_name}: failing rules with counts (no values)",
    )
    index = publish_data_docs(settings().workdir / "data-docs", charges=validation)
    if index is not None:
        create_link_artifact(
            key="charge-data-docs",
            link=index.resolve().as_uri(),
            link_text="GX Data Docs (counts only, failing values masked)",
            description=f"Validation of {file_name}",
        )
