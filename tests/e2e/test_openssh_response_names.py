"""Against a real OpenSSH sshd: uploads land 0600, a response name reused by the payer loses nothing, and a
run that lost the clearinghouse lease sends nothing.

Issue 9, case 6 (uploaded 837s were created 0666 and landed 0644), case 4 (a second ``ERA.835`` replaced
the first one locally, and the first remote archive copy was deleted) and case 7 (the lease).
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from delivery_world import StagedWorld, interchange_states, simulated_responses, staged_world
from sqlalchemy import select
from sshd import OpenSshServer

from connectors.clearinghouse.delivery import collect_responses, upload_interchanges
from revcycle.clock import SimulatedClock
from revcycle.responses import load_response
from revcycle.warehouse.lease import CLEARINGHOUSE_LEASE, LeaseLost, acquire_lease, held_lease
from revcycle.warehouse.schema import remittance, source_file

pytestmark = pytest.mark.e2e

UPLOAD, INBOX, ARCHIVE = "claims", "responses", "archive"


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def world(tmp_path: Path) -> StagedWorld:
    return staged_world(tmp_path / "revcycle", encounters=12)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_uploaded_837s_are_created_0600_on_the_server(sshd: OpenSshServer, world: StagedWorld) -> None:
    with sshd.transport() as transport:
        transport.makedirs(UPLOAD)
        # Control: a file created the plain way (paramiko's open, no attributes) shows what the server's umask
        # lets through; if it were already 0600 this test could not tell the fix from the server's settings.
        sftp = transport._ensure()
        control = str(sshd.served / UPLOAD / "control.txt")
        with sftp.open(control, "wb") as handle:
            handle.write(b"x")
        assert int(_mode(Path(control)), 8) & 0o044, "the server's umask hides group and other bits already"
        # A leftover .part of an interrupted upload, created readable by others: the resend must not keep it so.
        leftover = sshd.served / UPLOAD / f"{world.names[0]}.part"
        with sftp.open(str(leftover), "wb") as handle:
            handle.write(b"partial")
        upload_interchanges(world.engine, transport, outbound_dir=world.outbound_dir, upload_dir=UPLOAD)

    uploaded = {p.name: _mode(p) for p in (sshd.served / UPLOAD).iterdir() if p.name != "control.txt"}
    assert uploaded == dict.fromkeys(world.names, "0o600")
    for name in world.names:
        assert (sshd.served / UPLOAD / name).read_bytes() == world.staged_bytes(name)


def test_two_different_era_835_files_both_survive_byte_for_byte_and_both_load(
    sshd: OpenSshServer, world: StagedWorld
) -> None:
    with sshd.transport() as transport:
        transport.makedirs(UPLOAD)
        upload_interchanges(world.engine, transport, outbound_dir=world.outbound_dir, upload_dir=UPLOAD)
    eras = [r.content for r in simulated_responses(world) if r.kind == "835"][:2]
    assert len(eras) == 2 and eras[0] != eras[1]
    inbox = sshd.served / INBOX
    inbox.mkdir()

    for era in eras:  # one night each, under the same name
        (inbox / "ERA.835").write_bytes(era)
        with sshd.transport() as transport:
            collect_responses(
                world.engine,
                transport,
                inbox_dir=INBOX,
                archive_dir=ARCHIVE,
                inbound_local_dir=world.inbound_dir,
                load=load_response,
            )

    local = [p.read_bytes() for p in world.inbound_dir.iterdir()]
    assert eras[0] in local, "the first ERA.835 is gone from inbound/"
    assert sorted(local) == sorted(eras)
    archived = {p.name: p.read_bytes() for p in (sshd.served / ARCHIVE).iterdir()}
    assert eras[0] in archived.values(), "the first ERA.835 is gone from the remote archive"
    assert sorted(archived.values()) == sorted(eras)
    assert list(inbox.iterdir()) == []
    assert set(archived) == {f"ERA.{hashlib.sha256(era).hexdigest()}.835" for era in eras}
    with world.engine.connect() as conn:
        files = conn.execute(select(source_file.c.name, source_file.c.status).where(source_file.c.origin == "sftp"))
        assert sorted(tuple(row) for row in files) == [("ERA.835", "loaded"), ("ERA.835", "loaded")]
        posted = len(conn.execute(select(remittance.c.id)).all())
    # each simulated 835 pays with one TRN: counted in the files themselves
    assert posted == sum(era.count(b"\nTRN*") + era.startswith(b"TRN*") for era in eras)


def test_the_same_file_delivered_twice_is_archived_once_and_leaves_the_inbox(
    sshd: OpenSshServer, world: StagedWorld
) -> None:
    # The second archive move meets its own stored name: OpenSSH refuses the rename (link fails), the copy
    # there is the very same bytes, so the inbox copy is removed and nothing is archived twice.
    era = next(r.content for r in simulated_responses(world) if r.kind == "835")
    inbox = sshd.served / INBOX
    inbox.mkdir()
    for _night in range(2):
        (inbox / "ERA.835").write_bytes(era)
        with sshd.transport() as transport:
            report = collect_responses(
                world.engine,
                transport,
                inbox_dir=INBOX,
                archive_dir=ARCHIVE,
                inbound_local_dir=world.inbound_dir,
                load=load_response,
            )
    assert report.skipped_duplicates == ["ERA.835"]
    assert list(inbox.iterdir()) == []
    assert [p.read_bytes() for p in (sshd.served / ARCHIVE).iterdir()] == [era]
    assert [p.read_bytes() for p in world.inbound_dir.iterdir()] == [era]


def test_an_upload_whose_lease_was_lost_sends_nothing_and_the_next_holder_sends_everything(
    sshd: OpenSshServer, world: StagedWorld
) -> None:
    clock = SimulatedClock(datetime(2026, 11, 20, 21, 30, tzinfo=UTC))
    with held_lease(world.engine, CLEARINGHOUSE_LEASE, "nightly-1", 60, clock, renew_every=3600) as lease:
        clock.advance(timedelta(seconds=61))  # the run stalled past its lease, and the next run took it
        assert acquire_lease(world.engine, CLEARINGHOUSE_LEASE, "nightly-2", 60, now=clock.now())
        with sshd.transport() as transport, pytest.raises(LeaseLost):
            transport.makedirs(UPLOAD)
            upload_interchanges(
                world.engine, transport, outbound_dir=world.outbound_dir, upload_dir=UPLOAD, guard=lease.check
            )
    assert list((sshd.served / UPLOAD).iterdir()) == []  # not even a .part
    assert [sshd.opens_for_write(sshd.served / UPLOAD / f"{name}.part") for name in world.names] == [0] * len(
        world.names
    )  # the server saw no write at all
    assert set(interchange_states(world.engine).values()) == {"staged"}

    with (
        held_lease(world.engine, CLEARINGHOUSE_LEASE, "nightly-2", 60, clock, renew_every=3600) as lease,
        sshd.transport() as transport,
    ):
        report = upload_interchanges(
            world.engine, transport, outbound_dir=world.outbound_dir, upload_dir=UPLOAD, guard=lease.check
        )
    assert report.uploaded == world.names
    assert sorted(p.name for p in (sshd.served / UPLOAD).iterdir()) == sorted(world.names)
    parts = [sshd.opens_for_write(sshd.served / UPLOAD / f"{name}.part") for name in world.names]
    assert parts == [1] * len(world.names)  # the count above can see a write
