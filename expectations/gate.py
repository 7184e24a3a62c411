"""What the tasks need from the suites, as plain functions: rejections to record, reports to publish.

Reports (the failures table, the Data Docs) carry suite, rule, column, severity and counts, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from expectations.charges import PayerChargeRules
from expectations.data_docs import build_data_docs
from expectations.frames import FrameValidation
from expectations.runner import ChargeValidation, RuleSummary
from revcycle.intake import ChargeRejection
from revcycle.payers import PayerProfile

CHARGES_SUITE = "charges"


def payer_charge_rules(payers: Mapping[str, PayerProfile]) -> dict[str, PayerChargeRules]:
    """The payer rules the charges suite takes, from the payer connectors' profiles (data, not code)."""
    return {
        p.payer_id: PayerChargeRules(p.payer_id, p.member_id_pattern, p.timely_filing_days) for p in payers.values()
    }


def charge_rejections(validation: ChargeValidation) -> list[ChargeRejection]:
    """Every error and warning of a charge validation, as the warehouse stores them (values masked)."""
    return [
        ChargeRejection(
            charge_id=r.charge_id or f"row-{r.row}",
            suite=CHARGES_SUITE,
            rule=r.rule,
            expectation=r.expectation_type,
            column=r.column,
            severity=r.severity,
            masked_value=r.masked_value,
        )
        for r in [*validation.rejections, *validation.warnings]
    ]


def failures_by_rule(suites: Iterable[tuple[str, Sequence[RuleSummary]]]) -> list[dict[str, Any]]:
    """One table row per failing rule and column: suite, rule, column, severity, failures, share (no values)."""
    return [
        {
            "suite": suite,
            "rule": s.rule,
            "column": s.column,
            "severity": s.severity,
            "failures": s.failing,
            "share": f"{s.failing_share:.2%}",
        }
        for suite, summary in suites
        for s in summary
        if s.failing
    ]


def publish_data_docs(
    site_dir: Path,
    charges: ChargeValidation | None = None,
    frames: Iterable[tuple[str, FrameValidation]] = (),
    *,
    asset: str = CHARGES_SUITE,
    run_name: str = "",
) -> Path | None:
    """Build masked Data Docs for the validations that kept a GX result; returns index.html (None if none).

    ``asset`` names the charge validation's data asset (the export file's name); ``run_name`` the run (the
    batch date). Earlier validations in ``site_dir`` stay listed.
    """
    results = []
    if charges is not None and charges.gx_result is not None:
        results.append((asset, charges.gx_result))
    results += [(name, v.gx_result) for name, v in frames if v.gx_result is not None]
    if not results:
        return None
    return build_data_docs(results, site_dir, run_name=run_name)
