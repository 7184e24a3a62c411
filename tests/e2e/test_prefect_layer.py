"""The Prefect layer's tasks called as plain functions (``.fn()``), as Prefect's own integrations test theirs.

One session-wide temporary API (``prefect_api``: artifacts are really created) and run logging disabled, so
each task's own code runs without a flow run around it: what it returns and what it leaves in the warehouse
and the export folder are checked, and each case takes a second, not a flow run's start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger
from prefect.states import Completed, Failed
from sqlalchemy import func, select

from connectors.ehr.csv_export import UnreadableExport
from connectors.payers import registered_payers
from revcycle import exports
from revcycle.errors import RevcycleError, TransientError
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.schema import charge, claim, source_file
from tasks.attention import list_needs_attention
from tasks.intake import held_claims, intake_export, report_unread_files
from tasks.runtime import retry_on_transient

pytestmark = pytest.mark.usefixtures("prefect_api")
AS_OF = date(2026, 11, 20)


@pytest.fixture
def warehouse_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("REVCYCLE_WORKDIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = create_warehouse_engine(url)
    upgrade_warehouse(engine)
    engine.dispose()
    yield url


def _counts(url: str) -> tuple[int, int, int]:
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (source_file, charge, claim)
            )
    finally:
        engine.dispose()


def test_intake_export_loads_a_good_export_and_skips_it_when_it_comes_again(tmp_path: Path, warehouse_url: str) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=8, seed=3, as_of=AS_OF))
    export = tmp_path / "exports" / "charges.csv"
    export.parent.mkdir()
    write_charge_export(rows, export)
    with disable_run_logger():
        first = intake_export.fn(str(export), warehouse_url, AS_OF, 0.05)
        again = intake_export.fn(str(export), warehouse_url, AS_OF, 0.05)
    # Every generated line is clean: all are loaded, one claim per encounter and payer.
    assert first["skipped"] is False
    assert first["rows"] == len(rows)
    assert first["rejected"] == 0
    assert first["claims"] == len({(r["encounter_id"], r["payer_id"]) for r in rows})
    assert again == {"file": "charges.csv", "skipped": True}  # same sha256: nothing loaded twice
    assert _counts(warehouse_url) == (1, len(rows), first["claims"])


def test_intake_export_refuses_an_unreadable_export_and_moves_it_aside(tmp_path: Path, warehouse_url: str) -> None:
    export = tmp_path / "exports" / "binary.csv"
    export.parent.mkdir()
    export.write_bytes(bytes(range(256)) * 8)
    with disable_run_logger():
        result = intake_export.fn(str(export), warehouse_url, AS_OF, 0.05)
    assert result["file"] == "binary.csv"
    assert not export.exists()
    refused = tmp_path / "exports" / "refused"
    assert (refused / "binary.csv").read_bytes() == bytes(range(256)) * 8  # moved, byte for byte
    assert list(refused.glob("binary.csv.reason.txt")), "no reason file beside the refused export"
    assert _counts(warehouse_url)[1:] == (0, 0)  # nothing of it loaded


def test_report_unread_files_returns_the_names_it_warned_about() -> None:
    with disable_run_logger():
        assert report_unread_files.fn(["notes.docx", "scan.pdf"]) == ["notes.docx", "scan.pdf"]


def test_held_claims_and_needs_attention_of_a_fresh_warehouse_are_empty(warehouse_url: str) -> None:
    with disable_run_logger():
        assert held_claims.fn(warehouse_url) == []
        since = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
        assert list_needs_attention.fn(warehouse_url, since, 24.0, [], []) == []


def test_list_needs_attention_names_an_unread_file_with_what_to_do(warehouse_url: str) -> None:
    since = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    with disable_run_logger():
        items = list_needs_attention.fn(warehouse_url, since, 24.0, ["scan.pdf"], [])
    assert len(items) == 1
    assert "scan.pdf" in " ".join(items[0].values())


@pytest.mark.parametrize(
    ("state", "retried"),
    [
        (Failed(data=TransientError("connection reset")), True),
        (Failed(data=UnreadableExport("binary.csv", exports.empty_file())), False),
        (Failed(data=RevcycleError("a documented refusal")), False),
        (Failed(data=ValueError("a bug")), False),
        (Completed(data=1), False),
    ],
)
def test_only_transient_errors_are_retried(state: object, retried: bool) -> None:
    assert retry_on_transient(None, None, state) is retried
