"""The patient-payments file (docs/patient-payments.md): loaded once, bad rows refused by line, no PHI in output."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from revcycle.cli import main
from revcycle.errors import RunFailure
from revcycle.warehouse.patient_payments import load_patient_payments
from revcycle.warehouse.schema import patient_payment, source_file

GOOD = "payment_id,encounter_id,payment_date,amount,method\nP-1,E1,2026-06-26,100.00,card\nP-2,E2,2026-06-01,-5.50,\n"


def test_a_file_loads_once_and_a_payment_is_kept_once(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        first = load_patient_payments(conn, GOOD.encode(), "a.csv")
    with warehouse.begin() as conn:
        again = load_patient_payments(conn, GOOD.encode(), "a-copy.csv")
    # The next export repeats P-2 unchanged, brings P-3, and P-1 with another amount (refused).
    later = (
        "payment_id,encounter_id,payment_date,amount\n"
        "P-2,E2,2026-06-01,-5.50\nP-3,E3,2026-06-27,20\nP-1,E1,2026-06-26,90\n"
    )
    with warehouse.begin() as conn:
        third = load_patient_payments(conn, later.encode(), "b.csv")
    assert (first.loaded, first.refused) == (2, [])
    assert again.skipped_file
    assert (third.loaded, third.already_loaded, third.refused) == (
        1,
        1,
        [(4, "payment_id was loaded before with other values; correct it in the source")],
    )
    with warehouse.connect() as conn:
        rows = dict(conn.execute(select(patient_payment.c.payment_id, patient_payment.c.amount_cents)).all())
        kinds = set(conn.execute(select(source_file.c.kind)).scalars())
    assert rows == {"P-1": 10000, "P-2": -550, "P-3": 2000}
    assert kinds == {"patient_payments"}


def test_bad_rows_are_refused_by_line_and_the_rest_loads(warehouse: Engine) -> None:
    text = (
        "payment_id,encounter_id,payment_date,amount,method\n"
        "P-1,E1,2026-06-26,100.00,card\n"
        ",E1,2026-06-26,1.00,\n"
        "P-3,E1,26/06/2026,1.00,\n"
        "P-4,E1,2026-06-26,abc,\n"
        "P-5,E1,2026-06-26,0,\n"
        "P-6,E1,2026-06-26,1.005,\n"
        "P-7,E1,2026-06-26,1.00,bitcoin\n"
        "P-1,E9,2026-06-27,5.00,\n"
    )
    with warehouse.begin() as conn:
        result = load_patient_payments(conn, text.encode(), "bad.csv")
    assert result.loaded == 1
    assert [line for line, _reason in result.refused] == [3, 4, 5, 6, 7, 8, 9]
    assert "payment_id appears twice" in result.refused[-1][1]
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(patient_payment)).scalar_one() == 1


def test_a_file_missing_a_column_is_refused_whole(warehouse: Engine) -> None:
    with warehouse.begin() as conn, pytest.raises(RunFailure, match="lacks the columns amount"):
        load_patient_payments(conn, b"payment_id,encounter_id,payment_date\nP-1,E1,2026-06-26\n", "short.csv")


def test_the_command_reports_lines_not_values(
    warehouse: Engine,
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", warehouse_url)
    path = tmp_path / "patients.csv"
    path.write_text(
        "payment_id,encounter_id,payment_date,amount\nP-1,ENC-SECRET-7,2026-06-26,12.34\nP-2,ENC-SECRET-8,bad,1\n"
    )
    assert main(["patient-payments", str(path)]) == 1
    out = capsys.readouterr().out
    assert "1 payments loaded" in out and "line 3: payment_date is not a date" in out
    assert "ENC-SECRET" not in out and "12.34" not in out
    assert main(["patient-payments", str(path)]) == 0
    assert "loaded before" in capsys.readouterr().out
