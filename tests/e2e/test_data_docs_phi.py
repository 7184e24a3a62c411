"""Data Docs and the failures table of a validation with planted defects hold no PHI and no quarantined value.

GX writes failing values and batch details into validation results and Data Docs by default; the docs
are built from masked summary results. The scan is itself tested: it finds a value planted in the site.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connectors.ehr.csv_export import read_charge_export
from connectors.payers import registered_payers
from expectations.gate import failures_by_rule, payer_charge_rules, publish_data_docs
from expectations.runner import ChargeValidation, validate_charges
from revcycle.synth import generate_charge_rows, inject_defects, write_charge_export
from tests.phi_scan import phi_needles, scan

# Far from the day the docs are rendered, whose date GX prints: a planted future service date cannot equal it.
AS_OF = date(2025, 6, 2)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ChargeValidation, set[str]]:
    """Masked Data Docs of a synthetic export with 10 % defects, plus the raw values that were quarantined."""
    root = tmp_path_factory.mktemp("docs")
    payers = registered_payers()
    clean = list(generate_charge_rows(list(payers.values()), encounters=80, seed=17, as_of=AS_OF))
    rows, _defects = inject_defects(clean, 0.1, 17, payers=payers, as_of=AS_OF)
    # Plant PHI where a rule fails on it: a member id of the wrong format is quarantined and must not leak.
    rows[0]["member_id"] = "QQPLANTED77"
    export_path = root / "charges.csv"
    write_charge_export(rows, export_path)
    frame = read_charge_export(export_path).frame
    validation = validate_charges(frame, today=AS_OF, payer_rules=payer_charge_rules(payers))
    assert validation.rejections, "the export must have quarantined rows for the scan to mean anything"
    by_row = frame.to_dict("records")
    quarantined = {by_row[r.row][r.column] for r in validation.rejections if r.column in by_row[r.row]}
    index = publish_data_docs(root / "data-docs", charges=validation)
    assert index is not None and index.is_file()
    return root / "data-docs", export_path, validation, {v for v in quarantined if v}


def _site_texts(site_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(site_dir)): p.read_text(encoding="utf-8", errors="replace")
        for p in site_dir.rglob("*")
        if p.is_file() and p.suffix in {".html", ".json"} and "static" not in p.parts
    }


def test_data_docs_show_the_failing_rules(site: tuple[Path, Path, ChargeValidation, set[str]]) -> None:
    site_dir, _export, validation, _values = site
    texts = _site_texts(site_dir)
    pages = [t for name, t in texts.items() if name.startswith("validations")]
    assert pages, "a validation page was rendered"
    failing = {s.column for s in validation.summary if s.failing}
    assert any(column in pages[0] for column in failing)


def test_no_phi_and_no_quarantined_value_in_data_docs(site: tuple[Path, Path, ChargeValidation, set[str]]) -> None:
    site_dir, export, validation, quarantined = site
    needles = phi_needles(export)
    assert "QQPLANTED77" in needles["member_id"]
    # Quarantined values that are PHI or free text; codes an operator must see (a bad CPT) are not PHI.
    needles["quarantined"] = {v for v in quarantined if len(v) >= 4 and not v.replace(".", "").isdigit()}
    texts = _site_texts(site_dir)
    texts["failures-table"] = repr(failures_by_rule([("charges", validation.summary)]))
    assert scan(texts, needles) == []


def test_the_scan_finds_a_planted_value(site: tuple[Path, Path, ChargeValidation, set[str]]) -> None:
    site_dir, export, _validation, _values = site
    planted = site_dir / "validations" / "planted.html"
    planted.write_text("<p>member QQPLANTED77</p>", encoding="utf-8")
    try:
        hits = scan(_site_texts(site_dir), phi_needles(export))
    finally:
        planted.unlink()
    assert [(h.source, h.kind) for h in hits] == [("validations/planted.html", "member_id")]
