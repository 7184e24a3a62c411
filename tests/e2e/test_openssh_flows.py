"""The Prefect flows against a real OpenSSH sshd: the Clearinghouse SFTP block, run-level host-key and login
failures as the operator sees them, and overdue 999s flagged by the ingest flow."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from delivery_world import AS_OF, CREATED, StagedWorld, interchange_states, staged_world
from pydantic import SecretStr
from sqlalchemy import update
from sshd import OpenSshServer

from connectors.clearinghouse.block import ClearinghouseSftp
from connectors.clearinghouse.keys import generate_ed25519_private_key
from revcycle.warehouse.ledger import utcnow
from revcycle.warehouse.schema import interchange

pytestmark = pytest.mark.e2e


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def world(tmp_path: Path) -> StagedWorld:
    return staged_world(tmp_path / "revcycle", encounters=12)


@pytest.fixture
def run_env(monkeypatch: pytest.MonkeyPatch, world: StagedWorld) -> pytest.MonkeyPatch:
    """No REVCYCLE_* setting from the outside; the workdir is the world's."""
    import os

    for name in list(os.environ):
        if name.startswith("REVCYCLE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REVCYCLE_WORKDIR", str(world.root))
    return monkeypatch


def submit(world: StagedWorld, **parameters: Any) -> Any:
    from flows.submit import submit_claims

    return submit_claims(AS_OF, CREATED, workdir=str(world.root), return_state=True, **parameters)


def failure_message(state: Any) -> str:
    assert state.is_failed(), state
    with pytest.raises(Exception) as caught:
        state.result()
    return str(caught.value)


# -- the block -------------------------------------------------------------------------------------------


def test_block_registers_saves_loads_and_uploads_through_sshd(
    prefect_api: None, sshd: OpenSshServer, world: StagedWorld, run_env: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL

    registered = subprocess.run(
        [str(Path(sys.executable).with_name("prefect")), "block", "register", "-m", "connectors.clearinghouse.block"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**_clean_env(), "PREFECT_API_URL": str(PREFECT_API_URL.value())},
    )
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert "Clearinghouse SFTP" in registered.stdout

    ClearinghouseSftp(
        sftp_host="127.0.0.1",
        sftp_port=sshd.port,
        sftp_username=sshd.user,
        sftp_private_key_file=SecretStr(sshd.client_key_text),
        sftp_known_host=sshd.known_hosts_line(),
        sftp_remote_root=str(sshd.served),
        remote_upload_dir="to-payer",
    ).save("test-clearinghouse", overwrite=True)
    loaded = ClearinghouseSftp.load("test-clearinghouse")
    assert loaded.sftp_private_key_file is not None
    assert loaded.sftp_private_key_file.get_secret_value() == sshd.client_key_text
    assert sshd.client_key_text not in repr(loaded)  # the secret is masked when shown

    # The run has no REVCYCLE_SFTP_* at all: everything comes from the block.
    state = submit(world, clearinghouse_block="test-clearinghouse")
    assert state.is_completed(), state
    assert sorted(p.name for p in (sshd.served / "to-payer").iterdir()) == sorted(world.names)
    assert set(interchange_states(world.engine).values()) == {"uploaded"}


def test_a_missing_block_fails_the_run_with_a_clear_message(
    prefect_api: None, world: StagedWorld, run_env: pytest.MonkeyPatch
) -> None:
    message = failure_message(submit(world, clearinghouse_block="no-such-block"))
    assert "no clearinghouse block named 'no-such-block'" in message
    assert "prefect block register -m connectors.clearinghouse.block" in message


def _clean_env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVCYCLE_"))}
    env.update({"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    return env


# -- Done when 2, as the operator sees it ----------------------------------------------------------------


def test_changed_host_key_fails_the_run_with_what_to_do_and_uploads_nothing(
    prefect_api: None, sshd: OpenSshServer, world: StagedWorld, run_env: pytest.MonkeyPatch
) -> None:
    for name, value in sshd.environment().items():
        run_env.setenv(name, value)  # pins the current key
    sshd.set_host_key(generate_ed25519_private_key())
    sshd.restart()
    mark = len(sshd.log_text())

    message = failure_message(submit(world))

    assert "host key" in message and "does not match the pinned key" in message
    assert "Confirm the new key's fingerprint with the clearinghouse" in message
    assert "update the pinned known_hosts line in REVCYCLE_SFTP_KNOWN_HOST" in message
    log = sshd.log_text()[mark:]
    assert log.count("Connection from 127.0.0.1") == 1  # one attempt: the task did not retry it
    assert "publickey" not in log
    assert not (sshd.served / "claims").exists()
    assert set(interchange_states(world.engine).values()) == {"staged"}


def test_refused_key_fails_the_run_once_without_task_retries(
    prefect_api: None, sshd: OpenSshServer, world: StagedWorld, run_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wrong_key = tmp_path / "wrong_ed25519"
    wrong_key.write_text(generate_ed25519_private_key())
    for name, value in sshd.environment().items():
        run_env.setenv(name, value)
    run_env.setenv("REVCYCLE_SFTP_PRIVATE_KEY_FILE", str(wrong_key))
    mark = len(sshd.log_text())

    message = failure_message(submit(world))

    assert "refused the credentials" in message and "Not retried" in message
    log = sshd.log_text()[mark:]
    assert log.count("Connection from 127.0.0.1") == 1
    assert "Accepted" not in log
    assert set(interchange_states(world.engine).values()) == {"staged"}


# -- overdue 999s ----------------------------------------------------------------------------------------


def test_ingest_flags_interchanges_with_no_999_after_the_configured_hours(
    prefect_api: None, sshd: OpenSshServer, world: StagedWorld, run_env: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

    from flows.ingest import ingest_responses

    for name, value in sshd.environment().items():
        run_env.setenv(name, value)
    run_env.setenv("REVCYCLE_ACK_OVERDUE_HOURS", "6")
    (sshd.served / "responses").mkdir()
    assert submit(world).is_completed()
    late, recent = world.staged[0], world.staged[1]
    with world.engine.begin() as conn:
        conn.execute(
            update(interchange)
            .where(interchange.c.file_name == late.file_name)
            .values(uploaded_at=utcnow() - timedelta(hours=7))
        )

    state = ingest_responses(workdir=str(world.root), return_state=True)

    assert state.is_completed(), state
    assert state.result()["overdue_acknowledgments"] == 1
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["overdue-acknowledgments"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])),
        )
    assert len(artifacts) == 1
    data = artifacts[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    assert [(row["file"], row["isa13"]) for row in rows] == [(late.file_name, f"{late.control_number:09d}")]
    assert set(rows[0]) == {"file", "isa13", "uploaded_at"}  # names and control numbers only
    assert recent.file_name not in str(rows)
