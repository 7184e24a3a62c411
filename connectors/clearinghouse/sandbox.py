"""The embedded sandbox clearinghouse: the SFTP server plus the payer simulator behind it.

An 837 landing in the upload folder is answered at once: a TA1 with note 025 when its ISA13 was received
before (the clearinghouse's duplicate-interchange check), otherwise the simulator's 999, 277CA and 835s,
dropped into the response folder under a temporary dot-name and then renamed, as a clearinghouse would.
State (ISA13s seen, our own control numbers) lives in a JSON file so a restarted sandbox remembers it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict

from connectors.clearinghouse.keys import generate_ed25519_private_key, load_private_key
from connectors.clearinghouse.sandbox_server import SandboxSftpServer
from revcycle.filemodes import private_dir, private_file
from revcycle.sandbox.payer_simulator import ResponseFile, respond
from revcycle.x12.reader import Segment, read_segments
from revcycle.x12.write999 import InterchangeAck, write_ta1
from revcycle.x12.writer import Envelope

log = logging.getLogger(__name__)

SANDBOX_USER = "revcycle"


class _State(TypedDict):
    seen_isa13: list[str]  # ISA13s received, for the duplicate-interchange check
    received: list[str]  # names of every interchange that landed, in order
    next_control_number: int


@dataclass(frozen=True)
class SandboxConnection:
    """How a client reaches the running sandbox (as REVCYCLE_SFTP_* settings)."""

    host: str
    port: int
    username: str
    private_key_file: Path
    known_host: str

    def environment(self, upload_dir: str, inbox_dir: str, archive_dir: str) -> dict[str, str]:
        """The ``REVCYCLE_*`` variables that point a run at this sandbox."""
        return {
            "REVCYCLE_SFTP_HOST": self.host,
            "REVCYCLE_SFTP_PORT": str(self.port),
            "REVCYCLE_SFTP_USERNAME": self.username,
            "REVCYCLE_SFTP_PRIVATE_KEY_FILE": str(self.private_key_file),
            "REVCYCLE_SFTP_KNOWN_HOST": self.known_host,
            "REVCYCLE_REMOTE_UPLOAD_DIR": upload_dir,
            "REVCYCLE_REMOTE_INBOX_DIR": inbox_dir,
            "REVCYCLE_REMOTE_ARCHIVE_DIR": archive_dir,
        }


class EmbeddedClearinghouse:
    """A sandbox clearinghouse on 127.0.0.1 that answers every 837 it receives."""

    def __init__(
        self,
        state_dir: Path,
        *,
        usage_indicator: str = "T",
        upload_dir: str = "claims",
        inbox_dir: str = "responses",
        archive_dir: str = "archive",
        pickup_at_once: bool = False,
        seed_salt: str = "",
    ) -> None:
        """Keep the sandbox's files, keys and state under ``state_dir``; nothing listens until ``start``."""
        self.state_dir = Path(state_dir)
        self.root = self.state_dir / "sftp-root"
        self.usage_indicator = usage_indicator
        self.upload_dir = upload_dir
        self.inbox_dir = inbox_dir
        self.archive_dir = archive_dir
        self.seed_salt = seed_salt
        self._state_file = self.state_dir / "sandbox-state.json"
        self._lock = threading.Lock()
        private_dir(self.state_dir)
        for folder in (upload_dir, inbox_dir, archive_dir):
            private_dir(self.root / folder)  # the clearinghouse holds PHI too: folders 0700, files 0600
        client_key_text = generate_ed25519_private_key()
        self.client_key_file = self.state_dir / "client_ed25519"
        self.client_key_file.touch(mode=0o600, exist_ok=True)
        self.client_key_file.write_text(client_key_text)
        self.server = SandboxSftpServer(
            self.root,
            username=SANDBOX_USER,
            authorized_public_key=load_private_key(client_key_text),
            on_file_landed=self._answer,
            upload_dir=upload_dir,
            pickup_at_once=pickup_at_once,
        )

    def start(self) -> SandboxConnection:
        """Start listening and return how to connect."""
        port = self.server.start()
        return SandboxConnection(
            host="127.0.0.1",
            port=port,
            username=SANDBOX_USER,
            private_key_file=self.client_key_file,
            known_host=self.server.known_hosts_line(),
        )

    def stop(self) -> None:
        """Stop the SFTP server."""
        self.server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def received(self) -> list[str]:
        """Names of the interchanges that reached the upload folder, in order (duplicates included)."""
        return list(self._load_state()["received"])

    def _load_state(self) -> _State:
        if self._state_file.exists():
            loaded: _State = json.loads(self._state_file.read_text())
            return loaded
        return {"seen_isa13": [], "received": [], "next_control_number": 1}

    def _save_state(self, state: _State) -> None:
        tmp = private_file(self._state_file.with_suffix(".tmp"))
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self._state_file)

    def _duplicate_ta1(self, isa: Segment, control_number: int, now: datetime) -> ResponseFile:
        received_at = datetime.strptime(isa.get(9) + isa.get(10), "%y%m%d%H%M").replace(tzinfo=UTC)
        envelope = Envelope(
            sender_id=isa.get(8).strip(),
            receiver_id=isa.get(6).strip(),
            sender_qualifier=isa.get(7),
            receiver_qualifier=isa.get(5),
            interchange_control_number=control_number,
            group_control_number=control_number,
            usage_indicator=self.usage_indicator,
            created=now,
            functional_id_code="HC",
            version=isa.get(12),
        )
        content = write_ta1(InterchangeAck(int(isa.get(13)), received_at, "R", "025"), envelope)
        return ResponseFile(name=f"TA1_{isa.get(13)}_{control_number:09d}.x12", content=content, kind="TA1")

    def _answer(self, relative_path: str, absolute_path: Path) -> None:
        data = absolute_path.read_bytes()
        with self._lock:
            state = self._load_state()
            isa = next((s for s in read_segments(data) if s.id == "ISA"), None)
            isa13 = isa.get(13) if isa is not None else ""
            seen = list(state["seen_isa13"])
            received = list(state["received"])
            received.append(Path(relative_path).name)
            counter = state["next_control_number"]

            def next_number() -> int:
                nonlocal counter
                counter += 1
                return counter - 1

            now = datetime.now(UTC)
            if isa is not None and isa13 in seen:
                responses = [self._duplicate_ta1(isa, next_number(), now)]
                log.info("sandbox: interchange %s received again; answered TA1 025", isa13)
            else:
                responses = respond(
                    data,
                    seed_salt=self.seed_salt,
                    usage_indicator=self.usage_indicator,
                    now=now,
                    control_numbers=next_number,
                )
                if isa13:
                    seen.append(isa13)
            for response in responses:
                target = self.root / self.inbox_dir / response.name
                tmp = private_file(target.with_name("." + response.name + ".tmp"))
                tmp.write_bytes(response.content)
                os.replace(tmp, target)
            self._save_state({"seen_isa13": seen, "received": received, "next_control_number": counter})
