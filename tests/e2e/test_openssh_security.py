"""Against a real OpenSSH sshd: a changed host key stops everything before a credential or byte is sent, refused
credentials are not retried, and hostile inbox entries are refused, reported, and never written anywhere."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_world import StagedWorld, interchange_states, simulated_responses, staged_world
from sqlalchemy import func, select
from sshd import OpenSshServer

from connectors.clearinghouse.delivery import collect_responses, upload_interchanges
from connectors.clearinghouse.factory import operator_guidance
from connectors.clearinghouse.keys import generate_ed25519_private_key
from revcycle.errors import AuthenticationFailed, HostKeyMismatch, TransientError
from revcycle.responses import load_response
from revcycle.warehouse.schema import source_file

pytestmark = pytest.mark.e2e


class SleepRecorder:
    """Stands in for time.sleep: retry delays are observed, not waited for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd", password_authentication=True) as server:
        yield server


@pytest.fixture
def world(tmp_path: Path) -> StagedWorld:
    return staged_world(tmp_path / "revcycle", encounters=12)


def new_log(sshd: OpenSshServer, since: int) -> str:
    return sshd.log_text()[since:]


# -- Done when 2: host keys and credentials --------------------------------------------------------------


def test_changed_host_key_uploads_nothing_sends_no_credential_and_tells_the_operator_what_to_do(
    sshd: OpenSshServer, world: StagedWorld
) -> None:
    pinned = sshd.known_hosts_line()
    sshd.set_host_key(generate_ed25519_private_key())  # the server now presents another key
    sshd.restart()
    assert sshd.known_hosts_line() != pinned
    mark = len(sshd.log_text())
    sleep = SleepRecorder()
    transport = sshd.transport(known_host_key=pinned, retries=3, sleep=sleep)

    with pytest.raises(HostKeyMismatch) as caught, operator_guidance(), transport:
        transport.makedirs("claims")
        upload_interchanges(world.engine, transport, outbound_dir=world.outbound_dir, upload_dir="claims")

    message = str(caught.value)
    assert "host key" in message
    assert "does not match the pinned key" in message
    assert "update the pinned known_hosts line in REVCYCLE_SFTP_KNOWN_HOST" in message
    assert "Nothing was uploaded" in message
    assert transport.connect_attempts == 1 and sleep.delays == []  # a host-key problem is never retried
    log = new_log(sshd, mark)
    assert log.count("Connection from 127.0.0.1") == 1
    assert "Accepted" not in log and "Failed" not in log and "publickey" not in log  # no credential offered
    assert sshd.sftp_log_text() == ""  # no SFTP session ever started
    assert not (sshd.served / "claims").exists()
    assert set(interchange_states(world.engine).values()) == {"staged"}


def test_wrong_client_key_fails_once_without_retry(sshd: OpenSshServer) -> None:
    mark = len(sshd.log_text())
    sleep = SleepRecorder()
    transport = sshd.transport(private_key=generate_ed25519_private_key(), retries=3, sleep=sleep)
    with pytest.raises(AuthenticationFailed) as caught, operator_guidance():
        transport.stat("claims")
    transport.close()
    assert "refused the credentials" in str(caught.value)
    assert "Not retried" in str(caught.value)
    assert transport.connect_attempts == 1 and sleep.delays == []
    log = new_log(sshd, mark)
    assert log.count("Connection from 127.0.0.1") == 1  # sshd saw one login attempt, not four
    assert "Accepted" not in log


def test_wrong_password_fails_once_without_retry(sshd: OpenSshServer) -> None:
    mark = len(sshd.log_text())
    sleep = SleepRecorder()
    transport = sshd.transport(private_key=None, password="not the password", retries=3, sleep=sleep)
    with pytest.raises(AuthenticationFailed):
        transport.stat("claims")
    transport.close()
    assert transport.connect_attempts == 1 and sleep.delays == []
    log = new_log(sshd, mark)
    assert log.count("Connection from 127.0.0.1") == 1
    assert "Accepted" not in log


def test_stopped_server_is_transient_and_retried_with_growing_backoff(sshd: OpenSshServer) -> None:
    sshd.stop()
    sleep = SleepRecorder()
    transport = sshd.transport(retries=3, sleep=sleep, backoff_base=1.0)
    with pytest.raises(TransientError):
        transport.stat("claims")
    assert transport.connect_attempts == 4
    assert len(sleep.delays) == 3
    # Exponential with jitter in [0.5, 1.5): attempt n waits between 0.5 * 2**n and 1.5 * 2**n seconds.
    for attempt, delay in enumerate(sleep.delays):
        assert 0.5 * 2**attempt <= delay < 1.5 * 2**attempt


# -- Done when 3: hostile inbox entries ------------------------------------------------------------------


def snapshot(root: Path, server_logs: Path) -> set[str]:
    """Every path under ``root`` (symlinks not followed), relative, as text; the test server's logs left out."""
    found = set()
    for directory, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(directory, name)
            if not (Path(path).parent == server_logs and name.endswith(".log")):
                found.add(os.path.relpath(path, root))
    return found


def test_hostile_inbox_entries_are_refused_reported_and_nothing_is_written_outside_the_inbox(
    sshd: OpenSshServer, world: StagedWorld, tmp_path: Path
) -> None:
    valid = simulated_responses(world)[0]
    inbox = sshd.served / "responses"
    inbox.mkdir()
    (inbox / valid.name).write_bytes(valid.content)
    hostile_names = [
        "evil\nname.x12",
        "-rf.x12",
        "tab\tname.x12",
        "back\\..\\x.x12",
        "esc\x1b[2J.x12",
    ]
    for name in hostile_names:
        (inbox / name).write_bytes(valid.content)
    # A name that is not UTF-8 at all (paramiko's own listing fails on it).
    with open(os.fsencode(inbox) + b"/latin\xff.x12", "wb") as handle:
        handle.write(valid.content)
    # Symlinks out of the inbox: to a file outside the served tree, and to the filesystem root.
    outside = tmp_path / "outside" / "secret.x12"
    outside.parent.mkdir()
    outside.write_bytes(valid.content)
    (inbox / "escape.x12").symlink_to(outside)
    (inbox / "up.x12").symlink_to("/")
    world.inbound_dir.mkdir()
    before = snapshot(tmp_path, sshd.base)

    with sshd.transport() as transport:
        report = collect_responses(
            world.engine,
            transport,
            inbox_dir="responses",
            archive_dir="archive",
            inbound_local_dir=world.inbound_dir,
            load=load_response,
        )

    # Reported as escaped text: no raw control character reaches a report or a log.
    assert sorted(report.refused_names) == sorted(
        [
            "evil\\nname.x12",
            "-rf.x12",
            "tab\\tname.x12",
            "back\\\\..\\\\x.x12",
            "esc\\x1b[2J.x12",
            "latin\\udcff.x12",
            "escape.x12",
            "up.x12",
        ]
    )
    assert report.loaded == [(valid.name, valid.kind)]
    assert report.archived == [valid.name]

    after = snapshot(tmp_path, sshd.base)
    revcycle_dir = os.path.relpath(world.root, tmp_path)
    served = os.path.relpath(sshd.served, tmp_path)
    # kept under its stored name (the content's sha256 before the extension), locally and in the archive
    stem, extension = valid.name.rsplit(".", 1)
    stored = f"{stem}.{hashlib.sha256(valid.content).hexdigest()}.{extension}"
    assert after - before == {
        f"{revcycle_dir}/inbound/{stored}",
        f"{served}/archive",
        f"{served}/archive/{stored}",
    }
    assert before - after == {f"{served}/responses/{valid.name}"}  # the hostile entries stay where they were
    assert outside.read_bytes() == valid.content
    with world.engine.connect() as conn:
        received = conn.execute(
            select(func.count()).select_from(source_file).where(source_file.c.origin == "sftp")
        ).scalar_one()
    assert received == 1
