"""Closing an SFTP connection ends it cleanly on the server's side: no TCP reset, so no error in any log.

A client that closes its socket while the server's closing messages are still in flight makes the kernel send
a reset; paramiko then logs ``ERROR Socket exception: Connection reset by peer`` (the sandbox clearinghouse,
in our own run log) and sshd logs ``Read error ... Connection reset by peer``. Before the fix about two
connections in three ended that way against the sandbox and every one against sshd, so 20 connections
without a single reset cannot be luck.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sshd import OpenSshServer

from connectors.clearinghouse.sandbox_server import SandboxSftpServer
from connectors.clearinghouse.sftp import SftpTransport

pytestmark = pytest.mark.e2e

CONNECTIONS = 20


def _wait_until(condition: object, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_closing_leaves_no_error_in_the_sandbox_servers_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="paramiko")
    with SandboxSftpServer(tmp_path / "root", username="biller", password="pw") as server:
        for number in range(CONNECTIONS):
            with SftpTransport(
                "127.0.0.1", server.port, "biller", password="pw", known_host_key=server.known_hosts_line()
            ) as transport:
                transport.write(f"upload/claim{number}.x12", b"ISA" * 100)
                assert len(transport.list_dir("upload")) == number + 1
        # The server notices each close on its own thread: wait until it has let go of every connection.
        _wait_until(lambda: server.open_connections() == 0, "the server to end every connection")
    problems = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []
    # The log was listening: the server logged each connection's end at DEBUG.
    assert sum("EOF in transport thread" in r.getMessage() for r in caplog.records) >= CONNECTIONS


def test_closing_leaves_no_read_error_in_the_sshd_log(tmp_path: Path) -> None:
    with OpenSshServer(tmp_path / "sshd") as server:
        for number in range(CONNECTIONS):
            with server.transport() as transport:
                transport.write(f"claim{number}.x12", b"ISA" * 100)

        def ended() -> int:
            log = server.log_text()
            return log.count("Connection closed by") + log.count("Read error from remote host")

        # Every connection sshd saw (the start-up banner probe too) ends with one of the two lines.
        _wait_until(lambda: ended() == server.connections(), "sshd to log the end of every connection")
        log = server.log_text()
        assert server.connections() > CONNECTIONS
    assert "Connection reset by peer" not in log
    assert log.count("Connection closed by") == server.connections()
