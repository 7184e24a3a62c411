"""Fixtures for the clearinghouse transport contract: the same behaviours over every implementation."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.clearinghouse.keys import generate_ed25519_private_key, load_private_key
from connectors.clearinghouse.memory import MemoryTransport
from connectors.clearinghouse.sandbox_server import SandboxSftpServer
from connectors.clearinghouse.sftp import SftpTransport
from connectors.clearinghouse.transport import Transport

os.environ.setdefault("DO_NOT_TRACK", "1")


@dataclass
class RemoteHarness:
    """A transport plus a back door to its remote side, for planting files and checking what arrived."""

    kind: str
    transport: Transport
    plant: Callable[[str, bytes], None]
    exists: Callable[[str], bool]
    contacted: Callable[[], bool]


def _memory_harness() -> Iterator[RemoteHarness]:
    transport = MemoryTransport()

    def plant(path: str, data: bytes) -> None:
        transport.files[path] = data
        transport.mtimes[path] = 0

    yield RemoteHarness(
        kind="memory",
        transport=transport,
        plant=plant,
        exists=lambda path: path in transport.files,
        contacted=lambda: bool(transport.operations),
    )
    transport.close()


def _sftp_harness(root: Path) -> Iterator[RemoteHarness]:
    client_key_text = generate_ed25519_private_key()
    server = SandboxSftpServer(root, username="biller", authorized_public_key=load_private_key(client_key_text))
    server.start()
    transport = SftpTransport(
        "127.0.0.1",
        server.port,
        "biller",
        private_key=client_key_text,
        known_host_key=server.known_hosts_line(),
        retries=0,
    )

    def plant(path: str, data: bytes) -> None:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    try:
        yield RemoteHarness(
            kind="sftp",
            transport=transport,
            plant=plant,
            exists=lambda path: (root / path).exists(),
            contacted=lambda: server.connections_accepted > 0,
        )
    finally:
        transport.close()
        server.stop()


@pytest.fixture(params=["memory", "sftp"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RemoteHarness]:
    """A ``RemoteHarness`` for each Transport implementation (the SFTP one against a sandbox server)."""
    if request.param == "memory":
        yield from _memory_harness()
    else:
        root = tmp_path / "remote"
        yield from _sftp_harness(root)
