"""A deployment-style run keeps PHI private: REVCYCLE_WORKDIR names a folder that does not exist yet, the
umask is the usual 022, and the nightly flow runs in-process as a worker would run it (not `revcycle demo`).

Every folder the run creates is 0700 and every file 0600: the SQLite warehouse and its WAL and shared-memory
files, outbound 837s, inbound responses, the report and the Data Docs. A mistyped setting in the worker's
environment is reported in the flow run's log, naming the setting it resembles.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from log_records import RecordList

import revcycle.settings as settings_module
from connectors.clearinghouse.sandbox import EmbeddedClearinghouse
from connectors.payers import registered_payers
from revcycle.synth import generate_charge_rows, write_charge_export

pytestmark = pytest.mark.e2e


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_deployment_style_run_creates_everything_private(
    prefect_api: None,
    usual_umask: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.nightly import nightly_revenue_cycle

    workdir = tmp_path / "srv" / "revcycle-data"  # neither folder exists yet
    export_dir = tmp_path / "ehr-drop"  # where the EHR drops its exports, outside the workdir
    rows = generate_charge_rows(list(registered_payers().values()), encounters=12, seed=41, as_of=date(2025, 3, 3))
    write_charge_export(rows, export_dir / "charges_41.csv")
    clearinghouse = EmbeddedClearinghouse(tmp_path / "clearinghouse")
    connection = clearinghouse.start()
    for name in [n for n in os.environ if n.startswith("REVCYCLE_") and n != "REVCYCLE_SHARED"]:
        monkeypatch.delenv(name)
    for name, value in connection.environment(
        clearinghouse.upload_dir, clearinghouse.inbox_dir, clearinghouse.archive_dir
    ).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REVCYCLE_WORKDIR", str(workdir))
    monkeypatch.setenv("REVCYCLE_SFTP_UPLOAD_DIR", "claims-typo")  # meant: REVCYCLE_REMOTE_UPLOAD_DIR
    monkeypatch.setattr(settings_module, "_warned", set())  # as in a fresh worker process
    monkeypatch.chdir(tmp_path)
    # Prefect may reconfigure the root logger during the run (pytest's caplog handler with it): listen on the
    # flow-run logger itself.
    flow_log = RecordList()
    logging.getLogger("prefect.flow_runs").addHandler(flow_log)
    try:
        result = nightly_revenue_cycle(export_dir=str(export_dir), batch_date="2025-03-03")
    finally:
        logging.getLogger("prefect.flow_runs").removeHandler(flow_log)
        clearinghouse.stop()
    assert result["run"]["interchanges uploaded"] >= 1 and result["run"]["response files loaded"] >= 1

    present = {str(p.relative_to(workdir)) for p in workdir.rglob("*")}
    for expected in ("warehouse.db", "warehouse.db-wal", "warehouse.db-shm", "report.html", "data-docs/index.html"):
        assert expected in present, f"{expected} was not written: the mode check would prove nothing"
    assert any(p.startswith("outbound/") for p in present) and any(p.startswith("inbound/") for p in present)
    wider = {
        str(path.relative_to(tmp_path)): oct(stat.S_IMODE(path.lstat().st_mode))
        for path in [workdir.parent, workdir, *workdir.rglob("*")]
        if stat.S_IMODE(path.lstat().st_mode) != (0o700 if path.is_dir() else 0o600)
    }
    assert wider == {}

    warned = [r for r in flow_log.records if "REVCYCLE_SFTP_UPLOAD_DIR" in r.getMessage()]
    assert len(warned) == 1, "the mistyped variable is reported once"
    assert warned[0].levelno == logging.WARNING
    assert getattr(warned[0], "flow_run_id", None), "in the flow run's log, which the Prefect UI shows"
    assert "did you mean REVCYCLE_REMOTE_UPLOAD_DIR?" in warned[0].getMessage()
    assert "claims-typo" not in warned[0].getMessage()
