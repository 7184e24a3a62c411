"""The report, worklist and ingest commands: terminal tables, the HTML page in headless Chromium (Done-when 3 on
the multi-week KPI dataset), the patient-identifying worklist file, ingest."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cdp import open_page
from kpi_data import AS_OF, PHI_VALUES, build_kpi_dataset
from sqlalchemy import Engine, func, insert, select
from warehouse_data import add_claim, cas, clp, remittance, svc, write_remittances
from warehouse_databases import migrated

from revcycle.cli import main
from revcycle.warehouse.kpi.worklists import WORKLIST_NAMES
from revcycle.warehouse.report import CHART_IDS, TREND_IDS, WORKLIST_ROWS
from revcycle.warehouse.schema import charge, claim, remittance_claim, source_file


@pytest.fixture
def cli_warehouse(warehouse: Engine, warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The migrated test warehouse, named by REVCYCLE_WAREHOUSE_URL for the command."""
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", warehouse_url)
    return warehouse


@pytest.fixture
def sqlite_cli_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated SQLite warehouse named by REVCYCLE_WAREHOUSE_URL: for the tests of the HTML page itself,
    whose figures test_the_same_figures_on_sqlite_and_postgresql shows equal on both databases."""
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", url)
    with migrated(url) as engine:
        yield engine


def _table_rows(out: str) -> set[tuple[str, ...]]:
    return {tuple(cell.strip() for cell in line.split("│")[1:-1]) for line in out.splitlines() if line.startswith("│")}


def test_report_prints_the_registry_figures_and_the_worklists(
    cli_warehouse: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    build_kpi_dataset(cli_warehouse)
    assert main(["report", "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    # The hand-computed figures of test_warehouse_kpi.py, over 2026-04-02 to 2026-06-30.
    assert ("Clean-claim rate", "75.0% (1 pending)", "HFMA MAP Key CL-1") in rows
    assert ("First-pass acceptance", "91.7%", "ours (X12 999, 277CA)") in rows
    assert ("Initial denial rate over claims remitted (count)", "20.0%", "HFMA MAP Key AR-5") in rows
    assert ("Net collection rate (MGMA)", "28.2% (insurance only: no patient payments loaded)", "MGMA") in rows
    assert ("Days in A/R (MGMA gross)", "72.4 (insurance only: no patient payments loaded)", "MGMA") in rows
    assert ("Days to payment, median", "16.0 (6 claims)", "ours") in rows
    assert "period 2026-04-02 to 2026-06-30" in out
    # Denial reasons: CO-50 and CO-16 only, never CO-45 or PR-50.
    reasons = {r[0] for r in rows if re.fullmatch(r"[A-Z]{2}-\w+", r[0])}
    assert reasons == {"CO-50", "CO-16"}
    for heading in (
        "Worklist rejections: Front-end rejections (999, TA1, 277CA): 1 item, oldest 2026-03-23",
        "Worklist denials: Denials to appeal or correct: 1 item, oldest 2026-06-10",
        "Worklist held: Held and rejected charges: 2 items, oldest 2026-06-10",
        "Worklist silent: Claims past their payer's usual lag with no answer: 2 items, oldest 2026-01-12",
        "Worklist credits: Credit balances and overpayments: 2 items, oldest 2026-06-15",
    ):
        assert heading in out
    assert not any(value in out for value in PHI_VALUES)


def test_report_html_opens_in_headless_chromium_with_worklists_and_trends(
    sqlite_cli_warehouse: Engine, tmp_path: Path
) -> None:
    build_kpi_dataset(sqlite_cli_warehouse)
    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out), "--as-of", AS_OF.isoformat()]) == 0
    html = out.read_text(encoding="utf-8")
    assert not any(value in html for value in PHI_VALUES)
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    with open_page(out.as_uri(), tmp_path / "profile") as page:
        ids = json.dumps([*CHART_IDS, *TREND_IDS])
        sizes = page.evaluate(
            f"JSON.stringify({ids}.map(id => {{ const e = document.getElementById(id);"
            " if (!e) return [id, 0, 0]; const r = e.getBoundingClientRect(); return [id, r.width, r.height]; }))"
        )
        points = page.evaluate(
            f"JSON.stringify({json.dumps(list(TREND_IDS))}.map(id => "
            "[id, document.querySelectorAll('#' + id + ' circle.point').length]))"
        )
        worklists = page.evaluate(
            "JSON.stringify([...document.querySelectorAll('section.worklist')].map(s => "
            "[s.id, s.dataset.count, s.querySelector('h3').textContent, s.querySelectorAll('tbody tr').length]))"
        )
        bars = page.evaluate("document.querySelectorAll('#chart-denials-reason rect').length")
        screenshot = tmp_path / "report.png"
        page.screenshot(screenshot)
        requests = list(page.requests)
    for element_id, width, height in json.loads(sizes):
        assert width > 0 and height > 0, f"{element_id} is missing or has no size"
    # Every trend has more than one week with a value: denial rate P1 5 weeks (04-20, 05-25, 06-01, 06-15,
    # 06-22) + P2 3 (05-18, 06-08, 06-29); clean-claim rate 7 weeks (04-27, 05-04, 05-11, 05-18, 06-01, 06-08,
    # 06-15; nothing entered in the week of 05-25, only the pending A9 in that of 06-22); cash 13 weeks (a week
    # with no money is a point at $0); days to payment 5 weeks (05-25, 06-01, 06-15, 06-22, 06-29); A/R over
    # 90 days 13 weeks.
    assert dict(json.loads(points)) == {
        "trend-denial-rate": 8,
        "trend-clean-claim-rate": 7,
        "trend-cash": 13,
        "trend-days-to-payment": 5,
        "trend-ar-over-90": 13,
    }
    shown = {name: (count, heading, body) for name, count, heading, body in json.loads(worklists)}
    assert list(shown) == [f"worklist-{name}" for name in WORKLIST_NAMES]
    assert shown["worklist-rejections"] == ("1", "Front-end rejections (999, TA1, 277CA): 1 item, oldest 2026-03-23", 1)
    assert shown["worklist-denials"][0:2] == ("1", "Denials to appeal or correct: 1 item, oldest 2026-06-10")
    assert shown["worklist-held"][0] == "2" and shown["worklist-silent"][0] == "2"
    assert shown["worklist-credits"] == ("2", "Credit balances and overpayments: 2 items, oldest 2026-06-15", 2)
    assert bars == 2  # CO-50 and CO-16
    assert requests == [out.as_uri()], f"the page requested more than itself: {requests}"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000


def test_a_long_worklist_says_how_much_it_leaves_out(sqlite_cli_warehouse: Engine, tmp_path: Path) -> None:
    build_kpi_dataset(sqlite_cli_warehouse)
    with sqlite_cli_warehouse.begin() as conn:
        export = conn.execute(select(source_file.c.id).where(source_file.c.name == "export.csv")).scalar_one()
        conn.execute(
            insert(charge),
            [
                {
                    "charge_id": f"X{n:02d}",
                    "source_file_id": export,
                    "encounter_id": "EX",
                    "patient_mrn": "MRN-SYNTH",
                    "payer_id": "P1",
                    "procedure_code": "99213",
                    "charge_cents": 1000,
                    "status": "held",
                    "row_json": "{}",
                }
                for n in range(30)
            ],
        )
    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out), "--as-of", AS_OF.isoformat()]) == 0
    html = out.read_text(encoding="utf-8")
    section = html[html.index('id="worklist-held"') : html.index('id="worklist-silent"')]
    # 2 + 30 held charges: 25 shown, and the page says so.
    assert 'data-count="32"' in section and "32 items" in section
    assert section.count("<tr>") == 1 + WORKLIST_ROWS
    assert f"Showing the first {WORKLIST_ROWS} of 32 rows." in section and "revcycle worklist held" in section


def test_the_worklist_command_lists_prints_and_writes_patients_to_a_private_file(
    cli_warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_kpi_dataset(cli_warehouse)
    assert main(["worklist", "--as-of", AS_OF.isoformat()]) == 0
    listed = _table_rows(capsys.readouterr().out)
    assert ("denials", "Denials to appeal or correct", "1", "2026-06-10") in listed
    assert ("silent", "Claims past their payer's usual lag with no answer", "2", "2026-01-12") in listed
    assert main(["worklist", "silent", "--as-of", AS_OF.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert "A7" in printed and "S1" in printed and not any(value in printed for value in PHI_VALUES)
    target = tmp_path / "private" / "denials.csv"
    assert main(["worklist", "denials", "--out", str(target), "--as-of", AS_OF.isoformat()]) == 0
    message = capsys.readouterr().out
    assert "1 rows of worklist denials written" in message and not any(v in message for v in PHI_VALUES)
    assert target.stat().st_mode & 0o777 == 0o600
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["Claim"], r["Reason"][:5], r["patient_last_name"], r["patient_birth_date"]) for r in rows] == [
        ("A3", "CO-50", "DOE", "1980-02-03")
    ]
    assert main(["worklist", "nonsense"]) == 2


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
