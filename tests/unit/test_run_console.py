"""The one-shot commands' console shows our one-line messages, never a library's traceback.

paramiko's transport thread logs a failed connection at ERROR, one record per traceback line ("Error reading
SSH protocol banner", "Traceback (most recent call last):", each frame...). Our transport turns the same
failure into its own message (and retries transient ones), so on the console these lines are noise that
breaks the "no traceback" promise of `revcycle run`; they stay in the run log.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import paramiko
import pytest

from revcycle.cli_run import _progress_to_console


def _listener_that_hangs_up() -> tuple[socket.socket, threading.Thread]:
    """A loopback TCP server that accepts one connection and closes it before any SSH banner."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        peer, _ = server.accept()
        peer.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_a_failed_ssh_handshake_leaves_no_paramiko_traceback_on_the_console(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = _progress_to_console()  # bound to the captured stderr
    root = logging.getLogger()
    try:
        server, serving = _listener_that_hangs_up()
        transport = paramiko.Transport(socket.create_connection(server.getsockname()))
        with pytest.raises(paramiko.SSHException):
            transport.start_client(timeout=120)
        transport.join(120)  # paramiko logs from its own thread: wait until it has ended
        serving.join(120)
        server.close()
        assert not transport.is_alive()
        logging.getLogger("connectors.clearinghouse.sftp").warning("clearinghouse: could not connect")
    finally:
        root.removeHandler(console)
    shown = capsys.readouterr().err.splitlines()
    # Our own warning is shown, as one line; paramiko's banner error and its traceback lines are not.
    assert [line for line in shown if "clearinghouse: could not connect" in line] != []
    assert [line for line in shown if "Traceback" in line or "protocol banner" in line or "File " in line] == []


def test_a_run_that_found_the_lease_held_says_to_wait_not_to_fix_and_rerun(tmp_path: Path) -> None:
    from prefect.states import Failed

    from revcycle.cli_run import _finish
    from revcycle.errors import RunFailure
    from revcycle.warehouse.lease import LeaseHeld

    held = LeaseHeld("another run is working the clearinghouse; retry when it has finished")
    with pytest.raises(RunFailure) as failure:
        _finish("pickup", Failed(data=held), tmp_path / "run.log", started=0.0)
    message = str(failure.value)
    assert message.startswith("pickup failed: another run is working the clearinghouse")
    # Nothing needs fixing: the other run's message says to wait; "after the fix" would send the operator
    # looking for a fault that is not there.
    assert "after the fix" not in message
    assert len(message.splitlines()) == 1

    with pytest.raises(RunFailure) as other:
        _finish("pickup", Failed(data=RunFailure("clearinghouse: login refused")), tmp_path / "run.log", started=0.0)
    assert str(other.value).endswith("after the fix run the same command again: it resumes where this run stopped")
