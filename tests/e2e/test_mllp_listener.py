"""The MLLP listener (`revcycle ehr listen`) against real clients: a raw-socket MLLP client and python-hl7's.

- 1,000 DFT messages are ACKed AA and each is stored once (0600 files in a 0700 folder), and the nightly reader
  reads every stored file;
- a malformed message gets AE, another message type AR, a failed store AR; nothing is stored for them;
- the listener killed (SIGKILL) mid-stream and restarted loses no message it ACKed; the client resends what was
  not ACKed (and a few that were), duplicates are recognised by (MSH-3, MSH-4, MSH-10) and stored once;
- TLS with a certificate the test makes with ``cryptography``;
- the listener's log carries no PHI.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connectors.ehr.intake import list_exports
from connectors.ehr.mllp import END_BLOCK, START_BLOCK, MessageStore, MllpListener
from connectors.ehr.registry import read_export
from connectors.payers import registered_payers
from revcycle.synth import generate_charge_rows
from revcycle.synth_hl7 import dft_messages

pytestmark = pytest.mark.e2e
REVCYCLE = str(Path(sys.executable).with_name("revcycle"))
STARTUP_LIMIT = 90.0


@dataclass
class Listener:
    """A `revcycle ehr listen` subprocess."""

    process: subprocess.Popen[str]
    port: int
    workdir: Path
    stderr_path: Path

    @property
    def drop(self) -> Path:
        return self.workdir / "exports"

    def stored(self) -> list[Path]:
        return sorted(self.drop.glob("mllp-*.hl7"))

    def stop(self) -> str:
        """SIGTERM and wait; returns what the command printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=60)
        return out

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        self.process.kill()
        self.process.wait(timeout=60)


def start_listener(workdir: Path, *extra: str) -> Listener:
    stderr_path = workdir.parent / f"{workdir.name}-listener-{time.monotonic_ns()}.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [REVCYCLE, "ehr", "listen", "--port", "0", "--workdir", str(workdir), *extra],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert process.stdout is not None
    line = ""
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline and "listening on" not in line:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise AssertionError(f"the listener exited: {stderr_path.read_text()}")
    if "listening on" not in line:
        process.kill()
        process.wait(timeout=60)
        raise AssertionError("the listener did not start in time")
    port = int(line.split("listening on ", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1])
    return Listener(process, port, workdir, stderr_path)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    running = start_listener(tmp_path / "work")
    yield running
    if running.process.poll() is None:
        running.kill()


def _messages(count: int, seed: int = 17) -> list[bytes]:
    rows = list(
        generate_charge_rows(list(registered_payers().values()), encounters=count, seed=seed, as_of=dt.date(2024, 6, 3))
    )
    built = dft_messages(rows, sent=dt.datetime(2024, 6, 3, 21, 0), control_prefix=f"T{seed}-")
    assert len(built) == count
    return [("\r".join(segments) + "\r").encode() for segments in built]


class MllpConnection:
    """A raw-socket MLLP client: sends one framed message, reads one framed ACK."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock = tls.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
        self.buffer = b""

    def send(self, message: bytes) -> bytes:
        self.sock.sendall(START_BLOCK + message + END_BLOCK)
        while END_BLOCK not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the listener closed the connection")
            self.buffer += chunk
        block, self.buffer = self.buffer.split(END_BLOCK, 1)
        return block[block.index(START_BLOCK) + 1 :]

    def close(self) -> None:
        self.sock.close()


def _msa(ack: bytes) -> list[str]:
    segments = ack.decode().split("\r")
    return next(s for s in segments if s.startswith("MSA")).split("|")


def _control_id(message: bytes) -> str:
    return message.split(b"\r", 1)[0].decode().split("|")[9]


def test_a_thousand_messages_are_acked_and_each_stored_once(listener: Listener) -> None:
    messages = _messages(1000)
    client = MllpConnection(listener.port)
    try:
        for message in messages:
            msa = _msa(client.send(message))
            assert msa[1] == "AA" and msa[2] == _control_id(message)
        for message in messages[:25]:  # the same messages again: recognised, nothing new stored
            assert _msa(client.send(message))[1] == "AA"
    finally:
        client.close()
    stored = listener.stored()
    assert len(stored) == 1000
    assert sorted(p.read_bytes() for p in stored) == sorted(messages)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in stored)
    assert stat.S_IMODE(listener.drop.stat().st_mode) == 0o700
    assert stat.S_IMODE((listener.workdir / "mllp").stat().st_mode) == 0o700
    index = (listener.workdir / "mllp" / "received.idx").read_text().splitlines()
    assert len(index) == len(set(index)) == 1000
    printed = listener.stop()
    assert "1000 stored, 25 duplicates" in printed
    # The nightly flow reads the folder like any other export: it lists every stored message (and nothing
    # else), and every one maps to contract rows.
    listing = list_exports(listener.drop)
    assert sorted(listing.exports) == sorted(stored) and listing.unread == []
    lines = sum(len(read_export(p).rows) for p in stored)
    assert lines == sum(m.count(b"\rFT1|") for m in messages)
    # No PHI in the listener's log: names and member ids of the synthetic patients never appear.
    log = listener.stderr_path.read_text()
    assert "stored as" in log
    rows = generate_charge_rows(list(registered_payers().values()), encounters=1000, seed=17, as_of=dt.date(2024, 6, 3))
    for row in rows:
        for column in ("patient_last_name", "member_id", "patient_mrn", "patient_address1"):
            assert row[column] not in log


def test_python_hl7_client_gets_aa(listener: Listener) -> None:
    from hl7.client import MLLPClient

    message = _messages(1, seed=5)[0]
    with MLLPClient("127.0.0.1", listener.port) as client:
        ack = client.send_message(message)
    assert b"MSA|AA|" + _control_id(message).encode() in ack
    assert len(listener.stored()) == 1


def test_malformed_and_foreign_messages_are_refused_and_not_stored(listener: Listener) -> None:
    good = _messages(1, seed=9)[0]
    client = MllpConnection(listener.port)
    try:
        no_msh = _msa(client.send(b"PID|1||X\r"))
        assert no_msh[1] == "AE" and "MSH" in no_msh[3]
        no_control = good.replace(b"|" + _control_id(good).encode() + b"|", b"||", 1)
        missing = _msa(client.send(no_control))
        assert missing[1] == "AE" and "MSH-10" in missing[3]
        adt = _msa(client.send(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5.1\rPID|1\r"))
        assert adt[1] == "AR" and adt[2] == "X1" and "ADT" in adt[3]
        assert listener.stored() == []
        assert _msa(client.send(good))[1] == "AA"  # the connection goes on after a refusal
    finally:
        client.close()
    assert len(listener.stored()) == 1


def test_a_failed_store_is_answered_ar_and_nothing_is_acked(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "drop", tmp_path / "state")

    def broken(key: str, data: bytes) -> bool:
        raise OSError(28, "No space left on device")

    store.store = broken  # type: ignore[method-assign]
    listener = MllpListener(store, port=0)
    ack = asyncio.run(listener.handle(_messages(1, seed=4)[0]))
    msa = _msa(ack)
    assert msa[1] == "AR" and "could not be stored" in msa[3]
    assert "207" in ack.decode()  # ERR-3: HL7 table 0357 code 207, application internal error
    assert list((tmp_path / "drop").iterdir()) == []


@dataclass
class StreamResult:
    acked: list[int] = field(default_factory=list)
    failed_at: int | None = None


def _stream(port: int, messages: list[bytes], indexes: list[int], result: StreamResult) -> None:
    try:
        client = MllpConnection(port)
    except OSError:
        result.failed_at = indexes[0]
        return
    try:
        for index in indexes:
            try:
                msa = _msa(client.send(messages[index]))
            except (OSError, ConnectionError, StopIteration, ValueError):
                result.failed_at = index
                return
            assert msa[1] == "AA"
            result.acked.append(index)
    finally:
        client.close()


def test_killed_mid_stream_and_restarted_loses_no_acked_message(tmp_path: Path) -> None:
    messages = _messages(400, seed=23)
    workdir = tmp_path / "work"
    first = start_listener(workdir)
    result = StreamResult()
    sender = threading.Thread(target=_stream, args=(first.port, messages, list(range(len(messages))), result))
    sender.start()
    deadline = time.monotonic() + 120
    while len(first.stored()) < 120 and time.monotonic() < deadline and sender.is_alive():
        time.sleep(0.005)
    first.kill()  # SIGKILL while the client is sending
    sender.join(timeout=120)
    assert not sender.is_alive()
    assert result.failed_at is not None, "the stream ended before the kill; kill earlier"
    acked = set(result.acked)
    assert 100 <= len(acked) < len(messages)
    stored_after_kill = {p.read_bytes() for p in first.stored()}
    assert all(messages[i] in stored_after_kill for i in acked), "an ACKed message was lost"

    second = start_listener(workdir)
    try:
        # The client resends everything it has no ACK for, and the last ten it had (their ACKs might have been lost).
        resend = sorted(acked)[-10:] + [i for i in range(len(messages)) if i not in acked]
        again = StreamResult()
        _stream(second.port, messages, resend, again)
        assert again.failed_at is None and again.acked == resend
    finally:
        printed = second.stop()
    stored = second.stored()
    assert sorted(p.read_bytes() for p in stored) == sorted(messages), "each message stored exactly once"
    index = (workdir / "mllp" / "received.idx").read_text().splitlines()
    assert len(index) == len(set(index)) == len(messages)
    assert not list((workdir / "exports").glob(".mllp-*.part"))
    duplicates = int(printed.split(" duplicates")[0].rsplit(", ", 1)[1])
    assert duplicates >= 10  # the ten ACKed ones (and the one stored but not ACKed when killed, if any)


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "revcycle-mllp-test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "listener.crt", folder / "listener.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def test_tls_listener(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    running = start_listener(tmp_path / "work", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        client = MllpConnection(running.port, tls=context)
        message = _messages(1, seed=31)[0]
        try:
            assert _msa(client.send(message))[1] == "AA"
        finally:
            client.close()
        # A client that does not trust the certificate gets no session, and a plain-TCP client no ACK.
        with pytest.raises(ssl.SSLCertVerificationError):
            MllpConnection(running.port, tls=ssl.create_default_context())
        plain = socket.create_connection(("127.0.0.1", running.port), timeout=30)
        try:
            plain.sendall(START_BLOCK + message + END_BLOCK)
            reply = b""
            with contextlib.suppress(OSError):
                reply = plain.recv(65536)
            assert b"MSA|AA" not in reply
        finally:
            plain.close()
    finally:
        running.stop()
    assert len(running.stored()) == 1
