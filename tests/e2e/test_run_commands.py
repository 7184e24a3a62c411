"""`revcycle run nightly` as an operator meets its failures: a wrong argument (exit 2, before anything
starts), a clearinghouse whose host key is not the pinned one (exit 1, one line naming the setting, no
traceback, nothing uploaded), and the same command again after the fix resuming the night."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sshd import OpenSshServer

from connectors.clearinghouse.keys import generate_ed25519_private_key, load_private_key, public_key_line
from connectors.payers import registered_payers
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.warehouse.schema import claim_event, interchange

pytestmark = pytest.mark.e2e

REVCYCLE = str(Path(sys.executable).with_name("revcycle"))
ENCOUNTERS = 8


def session_api() -> dict[str, str]:
    """``PREFECT_API_URL`` of the session's Prefect server (``prefect_api``), so a command starts no temporary
    server of its own: tests/e2e/test_operator_sequence.py runs the commands the way an operator does, on one."""
    from prefect.settings import get_current_settings

    return {"PREFECT_API_URL": str(get_current_settings().api.url)}


def revcycle(args: list[str], settings: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVCYCLE_", "PREFECT_"))}
    env.update(settings)
    return subprocess.run([REVCYCLE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900, check=False)


def test_a_batch_date_that_is_no_date_is_refused_before_anything_starts(tmp_path: Path) -> None:
    done = revcycle(["run", "nightly", "--workdir", "clinic", "--batch-date", "2026-13-01"], {}, tmp_path)

    assert done.returncode == 2
    assert done.stderr == "revcycle: --batch-date '2026-13-01' is not a date (YYYY-MM-DD)\n"
    assert not (tmp_path / "clinic").exists()


def test_an_export_dir_that_is_no_folder_is_refused(tmp_path: Path) -> None:
    done = revcycle(["run", "nightly", "--export-dir", "exprots"], {}, tmp_path)

    assert done.returncode == 2
    assert done.stderr == "revcycle: --export-dir exprots is not a folder\n"


@pytest.mark.usefixtures("prefect_api")
def test_a_host_key_that_is_not_pinned_fails_in_one_line_and_the_same_command_resumes_after_the_fix(
    tmp_path: Path,
) -> None:
    exports = tmp_path / "exports"
    rows = generate_charge_rows(
        list(registered_payers().values()), encounters=ENCOUNTERS, seed=3, as_of=date(2026, 11, 20)
    )
    write_charge_export(list(rows), exports / "charges.csv")
    with OpenSshServer(tmp_path / "sshd") as sshd:
        for folder in ("claims", "responses", "archive"):
            (sshd.served / folder).mkdir()
        # The pin of another key, as when the server was rebuilt or someone sits in the middle.
        other = public_key_line(load_private_key(generate_ed25519_private_key()))
        wrong_pin = {
            **sshd.environment(),
            **session_api(),
            "REVCYCLE_SFTP_KNOWN_HOST": f"[127.0.0.1]:{sshd.port} {other}",
        }
        command = ["run", "nightly", "--workdir", "clinic", "--export-dir", str(exports), "--batch-date", "2026-11-20"]

        failed = revcycle(command, wrong_pin, tmp_path)

        assert failed.returncode == 1
        assert "Traceback" not in failed.stdout + failed.stderr
        last = failed.stderr.splitlines()[-1]
        assert last.startswith("revcycle: nightly cycle failed: SFTP host key of 127.0.0.1:")
        assert "REVCYCLE_SFTP_KNOWN_HOST" in last and "run the same command" in last
        assert list((sshd.served / "claims").iterdir()) == []

        resumed = revcycle(command, {**sshd.environment(), **session_api()}, tmp_path)

        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'clinic' / 'warehouse.db'}")
    with engine.connect() as conn:
        uploaded = set(conn.scalars(select(interchange.c.file_name).where(interchange.c.state == "uploaded")))
        submitted = conn.scalar(
            select(func.count()).select_from(claim_event).where(claim_event.c.status == "submitted")
        )
    engine.dispose()
    assert uploaded == {p.name for p in (sshd.served / "claims").iterdir()}
    assert submitted == ENCOUNTERS  # one claim per encounter, each submitted once over the two runs


@pytest.mark.usefixtures("prefect_api")
def test_a_one_shot_pickup_takes_the_same_lease_and_waits_for_the_run_that_holds_it(tmp_path: Path) -> None:
    from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
    from revcycle.warehouse.lease import CLEARINGHOUSE_LEASE, acquire_lease
    from revcycle.warehouse.schema import lease, source_file

    workdir = tmp_path / "clinic"
    workdir.mkdir(mode=0o700)
    engine = create_warehouse_engine(f"sqlite:///{workdir / 'warehouse.db'}")
    upgrade_warehouse(engine)
    # A deployment's nightly run is working the clearinghouse: it holds the lease for the next hour.
    assert acquire_lease(engine, CLEARINGHOUSE_LEASE, "deployment-run", 3600, now=datetime.now(UTC))
    unused = socket.create_server(("127.0.0.1", 0))  # a port where nothing answers: nothing may connect anyway
    port = unused.getsockname()[1]
    unused.close()
    pin = public_key_line(load_private_key(generate_ed25519_private_key()))
    settings = {
        "REVCYCLE_SFTP_HOST": "127.0.0.1",
        "REVCYCLE_SFTP_PORT": str(port),
        "REVCYCLE_SFTP_USERNAME": "clinic",
        "REVCYCLE_SFTP_PASSWORD": "not-used",
        "REVCYCLE_SFTP_KNOWN_HOST": f"[127.0.0.1]:{port} {pin}",
        **session_api(),
    }

    result = revcycle(["run", "pickup", "--workdir", str(workdir)], settings, tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("revcycle: response pickup failed: another run is working the clearinghouse")
    assert "after the fix" not in last  # nothing to fix: wait for the other run
    with engine.connect() as conn:
        holders = [tuple(row) for row in conn.execute(select(lease.c.name, lease.c.holder))]
        loaded = conn.scalar(select(func.count()).select_from(source_file))
    engine.dispose()
    assert holders == [(CLEARINGHOUSE_LEASE, "deployment-run")]  # the other run's lease is untouched
    assert loaded == 0
