"""The delivery fault matrix against a real OpenSSH sshd (docs/delivery-guarantees.md).

Each crash is a real SIGKILL of a worker process at a named step (tests/e2e/crash_worker.py); the rerun is a
fresh process without the hook. After every fault: exactly one final file per interchange on the server and
no ``.part``, sftp-server's own log shows one rename onto each final name, every interchange ``uploaded``,
one ``submitted`` event per claim, and every inbound file loaded exactly once.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from delivery_world import (
    StagedWorld,
    claims_by_interchange,
    interchange_states,
    segments,
    simulated_responses,
    staged_world,
    submitted_events,
    table_counts,
)
from sqlalchemy import select
from sshd import DroppingProxy, OpenSshServer

from connectors.clearinghouse.delivery import collect_responses, upload_interchanges
from connectors.clearinghouse.sandbox import EmbeddedClearinghouse
from connectors.clearinghouse.sftp import SftpTransport
from revcycle.errors import TransientError
from revcycle.responses import load_response
from revcycle.sandbox.payer_simulator import ResponseFile
from revcycle.warehouse.schema import acknowledgment, claim_event, interchange, remittance, source_file

pytestmark = pytest.mark.e2e

WORKER = Path(__file__).with_name("crash_worker.py")
UPLOAD, INBOX, ARCHIVE = "claims", "responses", "archive"
KILLED = -9  # the worker SIGKILLs itself


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def world(tmp_path: Path) -> StagedWorld:
    built = staged_world(tmp_path / "revcycle")
    assert len(built.staged) >= 3, "the synthetic export must spread over at least three payers"
    return built


def openssh_login(sshd: OpenSshServer) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": sshd.port,
        "username": sshd.user,
        "private_key_file": str(sshd.client_key_file),
        "known_host": sshd.known_hosts_line(),
        "remote_root": str(sshd.served),
    }


def run_worker(
    world: StagedWorld,
    sshd: OpenSshServer | dict[str, Any],
    mode: str,
    crash_step: str | None = None,
    crash_file: str | None = None,
) -> subprocess.CompletedProcess[str]:
    spec = {
        "mode": mode,
        "warehouse_url": world.warehouse_url,
        "outbound_dir": str(world.outbound_dir),
        "inbound_dir": str(world.inbound_dir),
        "upload_dir": UPLOAD,
        "inbox_dir": INBOX,
        "archive_dir": ARCHIVE,
        "crash_step": crash_step,
        "crash_file": crash_file,
        "sftp": sshd if isinstance(sshd, dict) else openssh_login(sshd),
    }
    spec_file = world.root / f"spec-{mode}-{crash_step}.json"
    spec_file.write_text(json.dumps(spec))
    return subprocess.run(
        [sys.executable, str(WORKER), str(spec_file)], capture_output=True, text=True, timeout=120, check=False
    )


def report_of(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def in_process(world: StagedWorld, sshd: OpenSshServer, mode: str) -> dict[str, Any]:
    """The same pass as the worker's, in this process (for the steps that are not under test)."""
    with sshd.transport() as transport:
        if mode == "upload":
            transport.makedirs(UPLOAD)
            report: Any = upload_interchanges(
                world.engine, transport, outbound_dir=world.outbound_dir, upload_dir=UPLOAD
            )
        else:
            report = collect_responses(
                world.engine,
                transport,
                inbox_dir=INBOX,
                archive_dir=ARCHIVE,
                inbound_local_dir=world.inbound_dir,
                load=load_response,
            )
    return asdict(report)


def remote_names(sshd: OpenSshServer, folder: str) -> list[str]:
    directory = sshd.served / folder
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def assert_uploads_converged(world: StagedWorld, sshd: OpenSshServer) -> None:
    """Exactly one final copy of each interchange, byte for byte; a consistent ledger."""
    assert remote_names(sshd, UPLOAD) == sorted(world.names)  # no .part, no stray copy
    for name in world.names:
        assert (sshd.served / UPLOAD / name).read_bytes() == world.staged_bytes(name)
        assert sshd.renames_onto(sshd.served / UPLOAD / name) == 1, f"{name} was put in place more than once"
    assert interchange_states(world.engine) == dict.fromkeys(world.names, "uploaded")
    claims = claims_by_interchange(world.engine)
    expected = sum(record.claim_count for record in world.staged)
    assert sum(len(keys) for keys in claims.values()) == expected
    events = submitted_events(world.engine)
    assert set(events) == set().union(*claims.values())
    assert set(events.values()) == {1}, "a claim was recorded as submitted more than once"


# -- upload: killed at every step ------------------------------------------------------------------------

UPLOAD_CRASHES = {
    # step: (what the server holds for the interchange, its ledger state, how the rerun treats it)
    "before_write": ("nothing", "uploading", "resent"),
    "before_rename": ("part", "uploading", "resent"),
    "after_rename": ("final", "uploading", "reconciled"),
    "after_ledger": ("final", "uploaded", None),
}


@pytest.mark.parametrize("step", list(UPLOAD_CRASHES))
def test_upload_killed_at_each_step_converges_on_rerun(step: str, world: StagedWorld, sshd: OpenSshServer) -> None:
    first, victim, *rest = world.names
    crashed = run_worker(world, sshd, "upload", crash_step=step, crash_file=victim)
    assert crashed.returncode == KILLED, crashed.stderr[-2000:]

    held, state, treatment = UPLOAD_CRASHES[step]
    on_server = {
        "nothing": [first],
        "part": [first, victim + ".part"],
        "final": [first, victim],
    }[held]
    assert remote_names(sshd, UPLOAD) == sorted(on_server)
    if held == "part":
        assert (sshd.served / UPLOAD / (victim + ".part")).read_bytes() == world.staged_bytes(victim)
    states = interchange_states(world.engine)
    assert (states[first], states[victim]) == ("uploaded", state)
    assert {states[name] for name in rest} == {"staged"}

    report = report_of(run_worker(world, sshd, "upload"))
    assert report["uploaded"] == ([victim] if treatment == "resent" else []) + rest
    assert report["reconciled"] == ([victim] if treatment == "reconciled" else [])
    assert report["resent"] == ([victim] if treatment == "resent" else [])
    assert_uploads_converged(world, sshd)

    # A third pass has nothing left to do and sends nothing.
    assert in_process(world, sshd, "upload") == {"uploaded": [], "reconciled": [], "resent": []}
    assert_uploads_converged(world, sshd)


def test_connection_dropped_mid_upload_is_transient_and_the_rerun_resends_the_same_bytes(
    world: StagedWorld, sshd: OpenSshServer
) -> None:
    proxy = DroppingProxy(sshd.port)
    victim = world.names[0]
    try:
        transport = sshd.transport(port=proxy.port)
        transport.makedirs(UPLOAD)  # logged in through the relay; the drop below hits the file data
        proxy.arm("up", world.staged[0].size // 2)
        with pytest.raises(TransientError):
            upload_interchanges(world.engine, transport, outbound_dir=world.outbound_dir, upload_dir=UPLOAD)
        transport.close()
    finally:
        proxy.close()
    assert proxy.drops == 1
    assert interchange_states(world.engine)[victim] == "uploading"
    assert victim not in remote_names(sshd, UPLOAD)
    part = sshd.served / UPLOAD / (victim + ".part")
    assert not part.exists() or part.stat().st_size < world.staged[0].size  # cut short, never renamed

    report = report_of(run_worker(world, sshd, "upload"))
    assert report["resent"] == [victim]
    assert report["uploaded"] == world.names
    assert_uploads_converged(world, sshd)


def test_server_restart_mid_upload_and_between_crash_and_rerun(world: StagedWorld, sshd: OpenSshServer) -> None:
    victim = world.names[1]

    def restart_before_rename(step: str, name: str) -> None:
        if (step, name) == ("before_rename", victim):
            sshd.restart()

    transport = sshd.transport()
    transport.makedirs(UPLOAD)
    try:
        upload_interchanges(
            world.engine,
            transport,
            outbound_dir=world.outbound_dir,
            upload_dir=UPLOAD,
            crash_hook=restart_before_rename,
        )
    except TransientError:
        pass  # the rename's connection died with the server: whether it happened is the ledger's question
    finally:
        transport.close()

    crashed = run_worker(world, sshd, "upload", crash_step="after_rename")
    assert crashed.returncode in (0, KILLED), crashed.stderr[-2000:]
    sshd.restart()
    report_of(run_worker(world, sshd, "upload"))
    assert_uploads_converged(world, sshd)


# -- collect: killed at every step -----------------------------------------------------------------------


def plant_responses(world: StagedWorld, sshd: OpenSshServer) -> list[ResponseFile]:
    """Upload everything cleanly, then put the simulator's answers in the server's inbox."""
    in_process(world, sshd, "upload")
    responses = simulated_responses(world)
    inbox = sshd.served / INBOX
    inbox.mkdir(exist_ok=True)
    for response in responses:
        (inbox / response.name).write_bytes(response.content)
    return responses


def expected_remittances(responses: list[ResponseFile]) -> int:
    """One remittance per 835 payment: TRN segments counted in the files themselves."""
    return sum(1 for r in responses if r.kind == "835" for segment in segments(r.content) if segment.startswith("TRN*"))


def stored_names(responses: list[ResponseFile]) -> list[str]:
    """The names collect keeps each response under, locally and in the archive: ``NAME.sha256.EXT``."""
    return sorted(
        "{0}.{2}.{1}".format(*r.name.rsplit(".", 1), hashlib.sha256(r.content).hexdigest()) for r in responses
    )


def assert_collect_converged(world: StagedWorld, sshd: OpenSshServer, responses: list[ResponseFile]) -> None:
    names = sorted(r.name for r in responses)
    assert remote_names(sshd, INBOX) == []
    assert remote_names(sshd, ARCHIVE) == stored_names(responses)
    assert sorted(p.name for p in world.inbound_dir.iterdir()) == stored_names(responses)  # no temp file left
    with world.engine.connect() as conn:
        files = conn.execute(
            select(source_file.c.name, source_file.c.status, source_file.c.archived_at).where(
                source_file.c.origin == "sftp"
            )
        ).all()
        remittances = len(conn.execute(select(remittance.c.id)).all())
    assert sorted(f.name for f in files) == names  # each file recorded once
    assert {f.status for f in files} == {"loaded"}
    assert remittances == expected_remittances(responses)


@pytest.mark.parametrize("step", ["after_download", "after_load"])
def test_collect_killed_at_each_step_loads_every_file_exactly_once(
    step: str, world: StagedWorld, sshd: OpenSshServer
) -> None:
    responses = plant_responses(world, sshd)
    names = sorted(r.name for r in responses)
    victim = names[1]
    crashed = run_worker(world, sshd, "collect", crash_step=step, crash_file=victim)
    assert crashed.returncode == KILLED, crashed.stderr[-2000:]

    assert victim in remote_names(sshd, INBOX), "a file must stay in the inbox until its load committed"
    first = next(r for r in responses if r.name == names[0])
    assert remote_names(sshd, ARCHIVE) == stored_names([first])
    with world.engine.connect() as conn:
        loaded = set(conn.execute(select(source_file.c.name).where(source_file.c.status == "loaded")).scalars())
    assert (victim in loaded) == (step == "after_load")

    report = report_of(run_worker(world, sshd, "collect"))
    assert report["skipped_duplicates"] == ([victim] if step == "after_load" else [])
    assert sorted(name for name, _kind in report["loaded"]) == [
        n for n in names[1:] if not (n == victim and step == "after_load")
    ]
    assert_collect_converged(world, sshd, responses)
    counts = table_counts(world.engine)

    # The clearinghouse sends the very same files again (a rerun on its side): nothing is loaded twice.
    for response in responses:
        (sshd.served / INBOX / response.name).write_bytes(response.content)
    again = in_process(world, sshd, "collect")
    assert again["loaded"] == []
    assert sorted(again["skipped_duplicates"]) == names
    assert table_counts(world.engine) == counts


def test_connection_dropped_mid_download_and_server_restart_before_archive(
    world: StagedWorld, sshd: OpenSshServer
) -> None:
    responses = plant_responses(world, sshd)
    largest = max(len(r.content) for r in responses)
    proxy = DroppingProxy(sshd.port)
    restarted: list[str] = []

    def restart_once_after_load(step: str, name: str) -> None:
        if step == "after_load" and not restarted:
            restarted.append(name)
            sshd.restart()

    try:
        transport = sshd.transport(port=proxy.port)
        transport.makedirs(ARCHIVE)
        proxy.arm("down", largest // 2)
        try:
            collect_responses(
                world.engine,
                transport,
                inbox_dir=INBOX,
                archive_dir=ARCHIVE,
                inbound_local_dir=world.inbound_dir,
                load=load_response,
                crash_hook=restart_once_after_load,
            )
        except TransientError:
            pass  # the archive rename's connection died with the server; the rerun finishes it
        finally:
            transport.close()
    finally:
        proxy.close()
    assert proxy.drops == 1
    assert len(restarted) == 1

    report_of(run_worker(world, sshd, "collect"))
    assert_collect_converged(world, sshd, responses)


# -- the sandbox's pick-up-at-once mode: the one at-least-once window ------------------------------------


def test_pickup_at_once_crash_after_rename_resends_once_and_ta1_025_is_recorded_as_already_received(
    world: StagedWorld, tmp_path: Path
) -> None:
    clearinghouse = EmbeddedClearinghouse(tmp_path / "sandbox", pickup_at_once=True)
    connection = clearinghouse.start()
    login = {
        "host": connection.host,
        "port": connection.port,
        "username": connection.username,
        "private_key_file": str(connection.private_key_file),
        "known_host": connection.known_host,
    }
    first, victim, *rest = world.names
    victim_isa13 = world.staged[1].control_number
    try:
        crashed = run_worker(world, login, "upload", crash_step="after_rename", crash_file=victim)
        assert crashed.returncode == KILLED, crashed.stderr[-2000:]
        assert clearinghouse.received == [first, victim]
        assert interchange_states(world.engine)[victim] == "uploading"
        assert list((clearinghouse.root / UPLOAD).iterdir()) == []  # taken the moment it landed: no trace

        report = report_of(run_worker(world, login, "upload"))
        assert report["resent"] == [victim]
        assert report["reconciled"] == []
        assert clearinghouse.received == [first, victim, victim, *rest]  # exactly one resend
        processed = clearinghouse.root / "processed"
        assert (processed / victim).read_bytes() == (processed / f"{victim}.1").read_bytes()
        assert (processed / victim).read_bytes() == world.staged_bytes(victim)  # the very same bytes

        transport = SftpTransport(
            connection.host,
            connection.port,
            connection.username,
            private_key=connection.private_key_file.read_text(),
            known_host_key=connection.known_host,
            retries=0,
        )
        with transport:
            collected = collect_responses(
                world.engine,
                transport,
                inbox_dir=clearinghouse.inbox_dir,
                archive_dir=clearinghouse.archive_dir,
                inbound_local_dir=world.inbound_dir,
                load=load_response,
            )
    finally:
        clearinghouse.stop()

    assert [kind for _name, kind in collected.loaded].count("TA1") == 1
    with world.engine.connect() as conn:
        ta1 = conn.execute(select(acknowledgment).where(acknowledgment.c.kind == "TA1")).all()
        victim_row = conn.execute(select(interchange).where(interchange.c.file_name == victim)).one()
        rejected_by_ta1 = conn.execute(select(claim_event.c.claim_key).where(claim_event.c.detail.like("TA1%"))).all()
        ack_999 = conn.execute(
            select(acknowledgment.c.code).where(
                acknowledgment.c.kind == "999", acknowledgment.c.interchange_control_number == victim_isa13
            )
        ).all()
    assert [(row.interchange_control_number, row.code, row.note_code) for row in ta1] == [(victim_isa13, "R", "025")]
    assert rejected_by_ta1 == []  # "already received": the duplicate's TA1 rejects no claim
    assert ack_999, "the first copy's 999 was loaded"
    assert victim_row.ack_code != "TR"
    assert victim_row.state in ("accepted", "rejected")  # what the first copy's 999 said, not the TA1
    assert set(submitted_events(world.engine).values()) == {1}
