"""The sandbox clearinghouse's SFTP server against the real SFTP client: keys, logins, landings, escapes."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import paramiko
import pytest
from sandbox_claims import interchange, make_claim, morning, night

from connectors.clearinghouse.keys import (
    generate_ed25519_key,
    generate_ed25519_private_key,
    generate_rsa_key,
    load_private_key,
    rsa_private_key_text,
)
from connectors.clearinghouse.sandbox import EmbeddedClearinghouse, SandboxConnection, payer_terms
from connectors.clearinghouse.sandbox_server import SandboxSftpServer
from connectors.clearinghouse.sftp import SftpTransport
from revcycle.clock import SimulatedClock
from revcycle.errors import AuthenticationFailed, HostKeyMismatch, LedgerConflict, TransientError
from revcycle.sandbox.payer import SandboxConfig, SandboxPayer

pytestmark = pytest.mark.e2e

os.environ.setdefault("DO_NOT_TRACK", "1")

USER = "biller"
PASSWORD = "correct horse battery staple"


class SleepRecorder:
    """Stands in for time.sleep so retry delays are observed, not waited for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "clearinghouse"


@pytest.fixture
def password_server(root: Path) -> Iterator[SandboxSftpServer]:
    with SandboxSftpServer(root, username=USER, password=PASSWORD) as server:
        yield server


def password_transport(server: SandboxSftpServer, **kwargs: object) -> SftpTransport:
    options: dict[str, object] = {
        "password": PASSWORD,
        "known_host_key": server.known_hosts_line(),
        "retries": 3,
        "sleep": SleepRecorder(),
    }
    options.update(kwargs)
    return SftpTransport("127.0.0.1", server.port, USER, **options)  # type: ignore[arg-type]


def files_under(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


# -- host keys -------------------------------------------------------------------------------------------


def test_changed_host_key_is_refused_before_anything_is_sent(password_server: SandboxSftpServer, root: Path) -> None:
    impostor_line = f"[127.0.0.1]:{password_server.port} ssh-ed25519 {generate_ed25519_key().get_base64()}"
    sleep = SleepRecorder()
    transport = password_transport(password_server, known_host_key=impostor_line, sleep=sleep)
    with pytest.raises(HostKeyMismatch) as caught:
        transport.write("upload/CLM1.x12.part", b"ISA*00*secret~")
    transport.close()
    assert transport.connect_attempts == 1
    assert sleep.delays == []
    assert password_server.auth_attempts == 0  # the password was never offered to the impostor
    assert files_under(root) == []
    assert "secret" not in str(caught.value)


def test_pinned_key_of_another_type_is_a_mismatch_not_a_network_error(root: Path) -> None:
    with SandboxSftpServer(root, username=USER, password=PASSWORD, host_key=generate_rsa_key()) as server:
        pin = f"[127.0.0.1]:{server.port} ssh-ed25519 {generate_ed25519_key().get_base64()}"
        transport = password_transport(server, known_host_key=pin)
        with pytest.raises(HostKeyMismatch):
            transport.stat("upload/x")
        assert transport.connect_attempts == 1
        assert server.auth_attempts == 0


def test_rsa_host_key_pinned_correctly_connects(root: Path) -> None:
    with SandboxSftpServer(root, username=USER, password=PASSWORD, host_key=generate_rsa_key()) as server:
        assert server.known_hosts_line().split()[1] == "ssh-rsa"
        with password_transport(server) as transport:
            assert transport.list_dir("upload") == []


# -- authentication --------------------------------------------------------------------------------------


def test_wrong_password_fails_once_without_retry(password_server: SandboxSftpServer) -> None:
    sleep = SleepRecorder()
    transport = password_transport(password_server, password="wrong", sleep=sleep)
    with pytest.raises(AuthenticationFailed) as caught:
        transport.list_dir("upload")
    assert password_server.connections_accepted == 1
    assert transport.connect_attempts == 1
    assert sleep.delays == []
    assert "wrong" not in str(caught.value)


def test_wrong_key_fails_once_without_retry(root: Path) -> None:
    authorized = load_private_key(generate_ed25519_private_key())
    with SandboxSftpServer(root, username=USER, authorized_public_key=authorized) as server:
        sleep = SleepRecorder()
        transport = SftpTransport(
            "127.0.0.1",
            server.port,
            USER,
            private_key=generate_ed25519_private_key(),
            known_host_key=server.known_hosts_line(),
            retries=3,
            sleep=sleep,
        )
        with pytest.raises(AuthenticationFailed):
            transport.stat("upload/x")
        assert server.connections_accepted == 1
        assert server.auth_attempts >= 1
        assert sleep.delays == []


def test_rsa_client_key_logs_in(root: Path) -> None:
    client_key = generate_rsa_key()
    with SandboxSftpServer(root, username=USER, authorized_public_key=client_key) as server:
        with SftpTransport(
            "127.0.0.1",
            server.port,
            USER,
            private_key=rsa_private_key_text(client_key),
            known_host_key=server.known_hosts_line(),
        ) as transport:
            transport.write("upload/A.part", b"abc")
        assert (root / "upload" / "A.part").read_bytes() == b"abc"


def test_unreachable_server_is_transient_and_retried_with_growing_backoff() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on ``port`` now: every attempt is refused.
    sleep = SleepRecorder()
    transport = SftpTransport(
        "127.0.0.1",
        port,
        USER,
        password=PASSWORD,
        known_host_key=f"ssh-ed25519 {generate_ed25519_key().get_base64()}",
        retries=3,
        backoff_base=0.5,
        connect_timeout=2,
        sleep=sleep,
    )
    with pytest.raises(TransientError):
        transport.list_dir("upload")
    assert transport.connect_attempts == 4
    assert len(sleep.delays) == 3
    for attempt, delay in enumerate(sleep.delays):
        # base * 2**attempt, with jitter of ±50 %
        assert 0.25 * 2**attempt <= delay <= 0.75 * 2**attempt


# -- landings --------------------------------------------------------------------------------------------


def test_on_file_landed_is_called_once_per_landed_file(root: Path) -> None:
    landed: list[tuple[str, bytes]] = []

    def on_landed(relative: str, absolute: Path) -> None:
        landed.append((relative, absolute.read_bytes()))

    with SandboxSftpServer(root, username=USER, password=PASSWORD, on_file_landed=on_landed) as server:
        root.joinpath("elsewhere").mkdir()
        with password_transport(server) as transport:
            transport.write("upload/CLM1.x12.part", b"first")
            assert landed == []  # a .part file is not a landing
            transport.rename("upload/CLM1.x12.part", "upload/CLM1.x12")
            transport.write("upload/CLM2.x12", b"second")  # written directly under its final name
            transport.write("elsewhere/NOT.x12", b"not in upload")
            transport.write("upload/CLM3.x12.part", b"third")
            transport.rename("upload/CLM3.x12.part", "upload/CLM3.x12.part2.part")
    assert landed == [("upload/CLM1.x12", b"first"), ("upload/CLM2.x12", b"second")]
    assert server.landed == ["upload/CLM1.x12", "upload/CLM2.x12"]


def test_pickup_at_once_moves_landed_files_to_processed(root: Path) -> None:
    seen: list[str] = []
    with (
        SandboxSftpServer(
            root,
            username=USER,
            password=PASSWORD,
            pickup_at_once=True,
            on_file_landed=lambda relative, absolute: seen.append(relative),
        ) as server,
        password_transport(server) as transport,
    ):
        transport.write("upload/CLM1.x12.part", b"v1")
        transport.rename("upload/CLM1.x12.part", "upload/CLM1.x12")
        assert transport.stat("upload/CLM1.x12") is None
        assert transport.list_dir("upload") == []
        transport.write("upload/CLM1.x12.part", b"v1 resent")
        transport.rename("upload/CLM1.x12.part", "upload/CLM1.x12")
    assert seen == ["upload/CLM1.x12", "upload/CLM1.x12"]
    assert (root / "processed" / "CLM1.x12").read_bytes() == b"v1"
    assert (root / "processed" / "CLM1.x12.1").read_bytes() == b"v1 resent"
    assert files_under(root / "upload") == []


def test_a_failing_landing_hook_does_not_fail_the_upload(root: Path) -> None:
    def broken(relative: str, absolute: Path) -> None:
        raise ValueError("simulator bug")

    server = SandboxSftpServer(root, username=USER, password=PASSWORD, on_file_landed=broken)
    with server, password_transport(server) as transport:
        transport.write("upload/X.part", b"x")
        transport.rename("upload/X.part", "upload/X")
    assert (root / "upload" / "X").read_bytes() == b"x"


# -- connection drops ------------------------------------------------------------------------------------


def test_reads_reconnect_after_a_drop(password_server: SandboxSftpServer, root: Path) -> None:
    (root / "upload" / "R.835").write_bytes(b"remit")
    with password_transport(password_server) as transport:
        assert transport.read("upload/R.835") == b"remit"
        assert password_server.drop_connections() == 1
        assert [f.name for f in transport.list_dir("upload")] == ["R.835"]
        assert transport.connect_attempts == 2


def test_rename_whose_reply_is_lost_raises_transient_and_is_not_repeated(root: Path) -> None:
    server_box: list[SandboxSftpServer] = []

    def drop_after_landing(relative: str, absolute: Path) -> None:
        server_box[0].drop_connections()

    with SandboxSftpServer(root, username=USER, password=PASSWORD, on_file_landed=drop_after_landing) as server:
        server_box.append(server)
        transport = password_transport(server)
        transport.write("upload/CLM1.x12.part", b"claim")
        with pytest.raises(TransientError):
            transport.rename("upload/CLM1.x12.part", "upload/CLM1.x12")
        assert transport.connect_attempts == 1  # not silently retried
        # The rename did happen: the caller reconciles with stat on a fresh connection.
        found = transport.stat("upload/CLM1.x12")
        assert found is not None and found.size == 5
        assert transport.connect_attempts == 2
        assert server.landed == ["upload/CLM1.x12"]
        transport.close()


# -- servers without posix-rename ------------------------------------------------------------------------


def test_rename_fallback_without_posix_rename(root: Path) -> None:
    server = SandboxSftpServer(root, username=USER, password=PASSWORD, posix_rename=False)
    with server, password_transport(server) as transport:
        transport.write("upload/A.part", b"12345")
        transport.rename("upload/A.part", "upload/A")
        # same deterministic bytes sent again: the target is replaced
        transport.write("upload/A.part", b"12345")
        transport.rename("upload/A.part", "upload/A")
        assert [f.name for f in transport.list_dir("upload")] == ["A"]
        # a target of another size is not clobbered
        transport.write("upload/A.part", b"1234567")
        with pytest.raises(LedgerConflict):
            transport.rename("upload/A.part", "upload/A")
    assert (root / "upload" / "A").read_bytes() == b"12345"
    assert (root / "upload" / "A.part").read_bytes() == b"1234567"


# -- confinement -----------------------------------------------------------------------------------------


def raw_sftp(server: SandboxSftpServer) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.get_host_keys().add(f"[127.0.0.1]:{server.port}", server.host_key.get_name(), server.host_key)
    client.connect("127.0.0.1", server.port, USER, password=PASSWORD, allow_agent=False, look_for_keys=False)
    return client, client.open_sftp()


def test_server_refuses_paths_escaping_its_root(password_server: SandboxSftpServer, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"do not read")
    os.symlink(outside, root / "upload" / "link")
    before = files_under(tmp_path)
    client, sftp = raw_sftp(password_server)
    try:
        for path in ["../escape.txt", "/../escape.txt", "upload/../../escape.txt", "upload/link/new.txt"]:
            with pytest.raises(IOError), sftp.open(path, "wb") as handle:
                handle.write(b"escaped")
        with pytest.raises(IOError):
            sftp.open("upload/link/secret.txt", "rb")
        with pytest.raises(IOError):
            sftp.listdir("..")
        with pytest.raises(IOError):
            sftp.mkdir("../made")
        (root / "upload" / "in.txt").write_bytes(b"inside")
        with pytest.raises(IOError):
            sftp.rename("upload/in.txt", "../moved.txt")
        with pytest.raises(IOError):
            sftp.symlink("/", "upload/root-link")
        assert sorted(sftp.listdir("/")) == ["processed", "upload"]
    finally:
        client.close()
    after = files_under(tmp_path)
    assert after == sorted([*before, "clearinghouse/upload/in.txt"])
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "made").exists()


# -- the embedded clearinghouse over simulated time -------------------------------------------------------

START = date(2026, 3, 2)


def _sandbox_claims(count: int) -> bytes:
    claims = [
        make_claim(f"E{n:04d}", payer_id=("MCRPB", "MCDST", "SUMMT")[n % 3], member=f"M{n % 7:04d}")
        for n in range(count)
    ]
    return interchange(claims, 901)


def _login(clearinghouse: EmbeddedClearinghouse, connection: SandboxConnection) -> SftpTransport:
    return SftpTransport(
        connection.host,
        connection.port,
        connection.username,
        private_key=connection.private_key_file.read_text(),
        known_host_key=connection.known_host,
        retries=2,
        sleep=SleepRecorder(),
    )


def _upload(transport: SftpTransport, clearinghouse: EmbeddedClearinghouse, name: str, data: bytes) -> None:
    transport.write(f"{clearinghouse.upload_dir}/{name}.part", data)
    transport.rename(f"{clearinghouse.upload_dir}/{name}.part", f"{clearinghouse.upload_dir}/{name}")


def _reference(data: bytes, received_at: datetime, until: datetime, clock: SimulatedClock) -> dict[str, bytes]:
    """What the sandbox payer alone answers to the same file at the same instant (no SFTP, no threads)."""
    payer = SandboxPayer(
        SandboxConfig(seed_salt="e2e", timing="realistic", timezone=clock.timezone, payers=payer_terms())
    )
    files = payer.receive(data, received_at) + payer.release_due(until)
    return {f.name: f.content for f in files}


def _inbox(clearinghouse: EmbeddedClearinghouse) -> dict[str, bytes]:
    folder = clearinghouse.root / clearinghouse.inbox_dir
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_realistic_answers_appear_in_the_inbox_when_due_and_only_then(tmp_path: Path) -> None:
    clock = SimulatedClock(night(START))
    clearinghouse = EmbeddedClearinghouse(tmp_path / "ch", clock=clock, timing="realistic", seed_salt="e2e")
    connection = clearinghouse.start()
    data = _sandbox_claims(30)
    try:
        with _login(clearinghouse, connection) as transport:
            _upload(transport, clearinghouse, "CLAIMS1.x12", data)
            assert transport.list_dir(clearinghouse.inbox_dir) == []  # nothing is due at once
            clock.set(morning(START + timedelta(days=1)) - timedelta(minutes=1))
            assert transport.list_dir(clearinghouse.inbox_dir) == []
            clock.set(morning(START + timedelta(days=1)))
            listed = [f.name for f in transport.list_dir(clearinghouse.inbox_dir)]
            assert "999_000000901.x12" in listed  # the next morning
            assert not [n for n in listed if n.startswith("835")]
            clock.set(morning(START + timedelta(days=9)))
            assert not [f.name for f in transport.list_dir(clearinghouse.inbox_dir) if f.name.startswith("835")]
            clock.set(morning(START + timedelta(days=150)))
            final = {f.name for f in transport.list_dir(clearinghouse.inbox_dir)}
        assert clearinghouse.pending_count == 0
    finally:
        clearinghouse.stop()
    expected = _reference(data, night(START), clock.now(), clock)
    assert final == set(expected)
    assert _inbox(clearinghouse) == expected  # byte for byte what the payer decides, however it was asked
    for path in (clearinghouse.root / clearinghouse.inbox_dir).iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    ledger = clearinghouse.ledger_file.read_text().splitlines()
    assert ledger[0].startswith("claim_key,frequency_code,payer_id")
    assert len(ledger) - 1 == len(clearinghouse.payer.state.ledger) > 20
    assert clearinghouse.ledger_file.stat().st_mode & 0o777 == 0o600


def test_listings_and_release_calls_racing_release_each_answer_exactly_once(tmp_path: Path) -> None:
    clock = SimulatedClock(night(START))
    clearinghouse = EmbeddedClearinghouse(tmp_path / "ch", clock=clock, timing="realistic", seed_salt="e2e")
    connection = clearinghouse.start()
    data = _sandbox_claims(60)
    released_by_calls: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_listing() -> None:
        try:
            with _login(clearinghouse, connection) as transport:
                while not stop.is_set():
                    transport.list_dir(clearinghouse.inbox_dir)
        except BaseException as exc:  # reported below: a thread must not fail silently
            errors.append(exc)

    try:
        with _login(clearinghouse, connection) as transport:
            _upload(transport, clearinghouse, "CLAIMS1.x12", data)
        listers = [threading.Thread(target=keep_listing) for _ in range(3)]
        for thread in listers:
            thread.start()
        for _ in range(150):
            clock.advance(timedelta(hours=23))
            released_by_calls += clearinghouse.release_due()
        stop.set()
        for thread in listers:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in listers)
    finally:
        clearinghouse.stop()
    assert errors == []
    expected = _reference(data, night(START), clock.now(), clock)
    assert _inbox(clearinghouse) == expected  # every answer once, whole, no temporary file left
    assert len(released_by_calls) == len(set(released_by_calls))
    assert set(released_by_calls) <= set(expected)


def test_a_restarted_clearinghouse_still_releases_what_it_had_decided(tmp_path: Path) -> None:
    clock = SimulatedClock(night(START))
    first = EmbeddedClearinghouse(tmp_path / "ch", clock=clock, timing="realistic", seed_salt="e2e")
    connection = first.start()
    data = _sandbox_claims(30)
    try:
        with _login(first, connection) as transport:
            _upload(transport, first, "CLAIMS1.x12", data)
            clock.set(morning(START + timedelta(days=2)))
            early = {f.name for f in transport.list_dir(first.inbox_dir)}
    finally:
        first.stop()
    assert early and first.pending_count > 0
    clock.set(morning(START + timedelta(days=150)))
    second = EmbeddedClearinghouse(tmp_path / "ch", clock=clock, timing="realistic", seed_salt="e2e")
    assert second.received == ["CLAIMS1.x12"]
    assert second.pending_count == first.pending_count
    later = second.release_due()
    assert later and not set(later) & early
    assert _inbox(second) == _reference(data, night(START), clock.now(), clock)
    rows = second.ledger_file.read_text().splitlines()[1:]
    assert len(rows) == len(second.payer.state.ledger)  # rewritten whole on start, then appended
    assert len({row.split(",")[4] + row.split(",")[5] for row in rows}) == len(rows)


def test_a_failing_payer_call_leaves_the_last_saved_state_and_the_next_upload_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimulatedClock(night(START))
    clearinghouse = EmbeddedClearinghouse(tmp_path / "ch", clock=clock, timing="realistic", seed_salt="e2e")
    connection = clearinghouse.start()
    data = _sandbox_claims(12)
    real_receive = clearinghouse.payer.receive

    def half_then_fail(received: bytes, now: datetime) -> object:
        clearinghouse.payer.state.pending.clear()  # a change that must not be kept
        clearinghouse.payer.state.next_control_number += 100
        raise RuntimeError("simulator bug")

    try:
        with _login(clearinghouse, connection) as transport:
            _upload(transport, clearinghouse, "FIRST.x12", data)
            saved = (clearinghouse.pending_count, clearinghouse.payer.state.next_control_number)
            assert saved[0] > 0
            monkeypatch.setattr(clearinghouse.payer, "receive", half_then_fail)
            _upload(transport, clearinghouse, "SECOND.x12", _sandbox_claims(3))  # the upload itself succeeds
            assert (clearinghouse.pending_count, clearinghouse.payer.state.next_control_number) == saved
            assert clearinghouse.received == ["FIRST.x12"]
            monkeypatch.setattr(clearinghouse.payer, "receive", real_receive)
            clock.set(morning(START + timedelta(days=150)))
            assert clearinghouse.release_due()
    finally:
        clearinghouse.stop()
    assert _inbox(clearinghouse) == _reference(data, night(START), clock.now(), clock)
