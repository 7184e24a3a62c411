"""The one-shot commands' console shows our one-line messages, never a library's traceback.

paramiko's transport thread logs a failed connection at ERROR, one record per traceback line ("Error reading
SSH protocol banner", "Traceback (most recent call last):", each frame...). Our transport turns the same
failure into its own message (and retries transient ones), so on the console these lines are noise that
breaks the "no traceback" promise of `revcycle run`; they stay in the run log.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from pathlib import Path

import paramiko
import pytest
from log_records import RecordList
from prefect._internal.concurrency.services import QueueService

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


class _SlowService(QueueService[int]):
    """A Prefect queue service, as the ones that send a run's logs and events, slow to work its queue."""

    async def _handle(self, item: int) -> None:
        await asyncio.sleep(0.05)


def test_prefect_services_backlog_warnings_stay_in_the_log_not_on_the_console(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # On a busy machine the run's last logs and events are still queued when the command ends; the services
    # then warn "Still processing items" after our one-line error or summary, which must stay the last line.
    console = _progress_to_console()  # bound to the captured stderr
    kept = RecordList()  # stands for the run log
    root = logging.getLogger()
    root.addHandler(kept)
    try:
        service = _SlowService.instance()
        for item in range(20):
            service.send(item)
        # Stopping it with 20 items of 50 ms queued: it warns about what is left as it works through them.
        assert service.drain() is True
        logging.getLogger("revcycle.cli").warning("clearinghouse: could not connect")
    finally:
        root.removeHandler(console)
        root.removeHandler(kept)
    backlog = [r for r in kept.records if r.getMessage().startswith("Still processing items")]
    assert backlog != [], "the service did not warn: the test no longer shows what the console must hide"
    shown = capsys.readouterr().err
    assert "Still processing items" not in shown
    assert "clearinghouse: could not connect" in shown


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
