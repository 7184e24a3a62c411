"""The report and ingest commands: terminal tables, the HTML page in headless Chromium (Done-when 4), ingest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from cdp import open_page
from sqlalchemy import Engine, func, select
from warehouse_data import AS_OF, add_claim, build_kpi_dataset, cas, clp, remittance, svc, write_remittances

from revcycle.cli import main
from revcycle.warehouse.report import CHART_IDS
from revcycle.warehouse.schema import claim, remittance_claim, source_file

# Synthetic patient data written into the dataset's 835s and 277CAs (warehouse_data.py): never in a report.
PHI_VALUES = ("DOE", "JANE", "M0001")


@pytest.fixture
def cli_warehouse(warehouse: Engine, warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The migrated test warehouse, named by REVCYCLE_WAREHOUSE_URL for the command."""
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", warehouse_url)
    return warehouse


def test_report_prints_the_figures_as_tables(cli_warehouse: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    build_kpi_dataset(cli_warehouse)
    assert main(["report", "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    rows = {tuple(cell.strip() for cell in line.split("│")[1:-1]) for line in out.splitlines() if line.startswith("│")}
    # Figures of test_warehouse_kpi.py: clean 5/8, first pass 6/8, NCR 344/380, days in A/R 1150 / (1340 / 90).
    assert ("Clean-claim rate", "62.5%") in rows
    assert ("First-pass acceptance (277CA)", "75.0%") in rows
    assert ("Net collection rate", "90.5%") in rows
    assert ("Days in A/R", "77.2") in rows
    assert ("CO-50", "1", "$300.00", "20.0%", "33.0%") in rows  # 300 / 910 = 32.97 %
    assert ("P2", "91-120", "1", "$400.00") in rows
    assert ("C3", "P2", "CO-50", "$300.00", "2026-09-08", "70", "40%", "$120.00") in rows
    assert ("P1", "5", "100.0%", "25.0%", "$344.00", "20.7", "$250.00") in rows  # scorecard: 62 / 3 days
    assert not any(value in out for value in PHI_VALUES)


def test_report_html_opens_in_headless_chromium_without_any_request(cli_warehouse: Engine, tmp_path: Path) -> None:
    build_kpi_dataset(cli_warehouse)
    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out), "--as-of", AS_OF.isoformat()]) == 0
    html = out.read_text(encoding="utf-8")
    assert not any(value in html for value in PHI_VALUES)
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    with open_page(out.as_uri(), tmp_path / "profile") as page:
        ids = json.dumps(list(CHART_IDS))
        sizes = page.evaluate(
            f"JSON.stringify({ids}.map(id => {{ const e = document.getElementById(id);"
            " if (!e) return [id, 0, 0]; const r = e.getBoundingClientRect(); return [id, r.width, r.height]; }))"
        )
        bars = page.evaluate("document.querySelectorAll('#chart-denials-reason rect').length")
        screenshot = tmp_path / "report.png"
        page.screenshot(screenshot)
        requests = list(page.requests)
    for element_id, width, height in json.loads(sizes):
        assert width > 0 and height > 0, f"{element_id} is missing or has no size"
    assert bars == 2  # CO-50 and CO-16
    assert requests == [out.as_uri()], f"the page requested more than itself: {requests}"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000


def test_ingest_loads_each_file_once_through_the_loaders(
    cli_warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = date(2026, 6, 1)
    with cli_warehouse.begin() as conn:
        add_claim(conn, "K1", "P1", [("99213", "100")], served, date(2026, 6, 2))
    paid = tmp_path / "portal_835.x12"
    paid.write_bytes(
        write_remittances(
            7001,
            remittance(
                "PORTAL1",
                date(2026, 6, 20),
                (clp("K1", "1", "100", "80", services=(svc("99213", "100", "80", served, cas("CO", "45", "20")),)),),
            ),
        )
    )
    not_x12 = tmp_path / "notes.txt"
    not_x12.write_text("not an X12 file")

    assert main(["ingest", str(paid)]) == 0
    first = capsys.readouterr().out
    assert "portal_835.x12" in first and "loaded" in first
    assert main(["ingest", str(paid)]) == 0
    assert "loaded before" in capsys.readouterr().out
    assert main(["ingest", str(not_x12)]) == 1  # refused: not a response file
    assert main(["ingest", str(tmp_path / "missing.x12")]) == 2
    with cli_warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(remittance_claim)).scalar_one() == 1
        assert conn.execute(select(claim.c.status).where(claim.c.claim_key == "K1")).scalar_one() == "paid"
        files = conn.execute(select(source_file.c.name, source_file.c.origin, source_file.c.status)).all()
    assert [tuple(f) for f in files] == [("portal_835.x12", "manual", "loaded")]
