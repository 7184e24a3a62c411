"""The MLLP listener: receives HL7 v2 DFT messages from an interface engine and stores each before its ACK.

``revcycle ehr listen`` runs it (a small asyncio service, not a Prefect flow). For every framed message
(``<VT> message <FS><CR>``) it:

1. checks the MSH (field separator, MSH-9, MSH-10); a malformed message gets AE naming the problem, a message
   that is not a DFT gets AR;
2. recognises a message whose (MSH-3, MSH-4, MSH-10) it stored before: AA, nothing new stored;
3. otherwise writes it durably into the EHR drop folder (temporary file, fsync, rename, fsync the folder; files
   0600, folders 0700), records its key in the dedup index (append, fsync), and only then answers AA. A message it
   cannot store gets AR ("resend later").

The dedup index (``<state>/received.idx``) survives restarts, and the stored file's name is derived from the key, so
a crash between the rename and the index append is healed at start-up by scanning the drop folder. Logs carry the
control id, counts and key prefixes, never message content (no PHI). TLS: pass an ``ssl.SSLContext``
(``server_tls_context``); docs/ehr-feeds.md explains the certificate set-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import ssl
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from revcycle.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
STORED_PREFIX = "mllp-"
STORED_SUFFIX = ".hl7"
INDEX_NAME = "received.idx"


class MalformedMessage(ValueError):
    """The message's header cannot be read; the text names the field, never a value."""


class UnsupportedMessage(ValueError):
    """A readable message this listener does not take (not a DFT)."""


@dataclass(frozen=True)
class Header:
    """What the listener reads of an MSH: separators and the ids that make the dedup key."""

    field_separator: str
    encoding_characters: str
    sending_application: str
    sending_facility: str
    message_type: str
    control_id: str

    @property
    def key(self) -> str:
        """The dedup key of (MSH-3, MSH-4, MSH-10) as hex."""
        text = "\x1f".join((self.sending_application, self.sending_facility, self.control_id))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decode(data: bytes) -> str:
    """The message as text: UTF-8, else Latin-1 (every byte decodes, so nothing is refused for its charset)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_header(text: str) -> Header:
    """Read and check the MSH of a message (MSH-3, MSH-4, MSH-9 and MSH-10)."""
    stripped = text.lstrip("\r\n\t ")
    if not stripped.startswith("MSH") or len(stripped) < 8:
        raise MalformedMessage("the message does not start with an MSH segment")
    separator = stripped[3]
    if separator.isalnum() or separator in "\r\n ":
        raise MalformedMessage("MSH-1 is not a field separator")
    first = stripped.replace("\r\n", "\r").replace("\n", "\r").split("\r", 1)[0]
    fields = first.split(separator)
    encoding = fields[1] if len(fields) > 1 else ""
    if len(encoding) < 4 or len(set(encoding[:4] + separator)) != 5:
        raise MalformedMessage("MSH-2 does not hold four distinct encoding characters")

    def field(number: int) -> str:
        return fields[number - 1].strip() if len(fields) >= number else ""

    message_type = field(9).split(encoding[0])[0].upper()
    if not message_type:
        raise MalformedMessage("MSH-9 (message type) is empty")
    if not field(10):
        raise MalformedMessage("MSH-10 (message control id) is empty")
    return Header(separator, encoding[:4], field(3), field(4), message_type, field(10))


def build_ack(
    header: Header | None,
    code: str,
    now: datetime,
    *,
    error: str | None = None,
    error_code: str = "",
) -> bytes:
    """An ACK (MSH + MSA [+ ERR]) for ``header`` with acknowledgment ``code`` (AA, AE, AR)."""
    separator = header.field_separator if header else "|"
    encoding = header.encoding_characters if header else "^~\\&"
    component = encoding[0]
    escape = encoding[2]

    def clean(value: str) -> str:
        out = value.replace(escape, f"{escape}E{escape}").replace(separator, f"{escape}F{escape}")
        return out.replace(component, f"{escape}S{escape}").replace(encoding[1], f"{escape}R{escape}")

    msh = separator.join(
        [
            "MSH",
            encoding,
            "REVCYCLE",
            "BILLING",
            clean(header.sending_application) if header else "",
            clean(header.sending_facility) if header else "",
            now.strftime("%Y%m%d%H%M%S"),
            "",
            component.join(("ACK", "P03", "ACK")),
            "A" + uuid.uuid4().hex[:19].upper(),
            "P",
            "2.5.1",
        ]
    )
    msa = ["MSA", code, clean(header.control_id) if header else ""]
    segments = [msh]
    if error:
        msa.append(clean(error))
        segments.append(separator.join(msa))
        hl7_code = component.join((error_code, clean(error), "HL70357"))
        segments.append(separator.join(["ERR", "", "", hl7_code, "E"]))
    else:
        segments.append(separator.join(msa))
    return ("\r".join(segments) + "\r").encode("utf-8")


def frame(message: bytes) -> bytes:
    """``message`` wrapped in an MLLP block."""
    return START_BLOCK + message + END_BLOCK


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _private_directory(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


class MessageStore:
    """Durable, deduplicated message storage: one file per message in the drop folder, and the key index."""

    def __init__(self, drop_dir: Path, state_dir: Path) -> None:
        self.drop_dir = drop_dir
        self.state_dir = state_dir
        _private_directory(drop_dir)
        _private_directory(state_dir)
        self.index_path = state_dir / INDEX_NAME
        self.seen: set[str] = set()
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        if self.index_path.exists():
            for line in self.index_path.read_text(encoding="ascii", errors="replace").splitlines():
                if len(line) == 64:
                    self.seen.add(line)
        healed = []
        for path in self.drop_dir.glob(f"{STORED_PREFIX}*{STORED_SUFFIX}"):
            key = path.name[len(STORED_PREFIX) : -len(STORED_SUFFIX)]
            if len(key) == 64 and key not in self.seen:
                healed.append(key)
        if healed:
            # A crash fell between a message's rename and its index append: the file is there, so it is stored.
            self._append(healed)
            self.seen.update(healed)
            logger.info("dedup index healed with %d stored messages found in the drop folder", len(healed))
        for leftover in self.drop_dir.glob(f".{STORED_PREFIX}*.part"):
            leftover.unlink(missing_ok=True)  # never ACKed: the sender resends it

    def _append(self, keys: list[str]) -> None:
        descriptor = os.open(self.index_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, "".join(f"{key}\n" for key in keys).encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def path_for(self, key: str) -> Path:
        """Where the message with this key is stored."""
        return self.drop_dir / f"{STORED_PREFIX}{key}{STORED_SUFFIX}"

    def store(self, key: str, data: bytes) -> bool:
        """Store ``data`` durably under ``key``; False (and nothing written) when the key was stored before."""
        with self._lock:
            if key in self.seen:
                return False
            target = self.path_for(key)
            temporary = self.drop_dir / f".{STORED_PREFIX}{key}.part"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(descriptor, view)
                    view = view[written:]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, target)
            _fsync_directory(self.drop_dir)
            self._append([key])
            self.seen.add(key)
            return True


@dataclass
class ListenerCounts:
    """What the listener did since it started (for logs and tests; no content)."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0


class MllpListener:
    """An asyncio MLLP server storing every DFT before acknowledging it."""

    def __init__(
        self,
        store: MessageStore,
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        tls: ssl.SSLContext | None = None,
        clock: Clock | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.tls = tls
        self.clock: Clock = clock or SystemClock()
        self.max_message_bytes = max_message_bytes
        self.counts = ListenerCounts()
        # One writer thread: stores are serialised (the dedup check and the write are one step) off the event loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp-store")
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(
            self._serve_client, self.host, self.port, ssl=self.tls, limit=self.max_message_bytes + 16
        )
        sockets = self._server.sockets or ()
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        logger.info("MLLP listener on %s:%d (%s)", self.host, self.port, "TLS" if self.tls else "plain TCP")
        return self.port

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        """Stop accepting, close the server and the writer thread."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._executor.shutdown(wait=True)

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    block = await reader.readuntil(END_BLOCK)
                except asyncio.IncompleteReadError:
                    break  # the client closed (a partial block was never ACKed; it resends it)
                except asyncio.LimitOverrunError:
                    ack = build_ack(None, "AE", self.clock.now(), error="message too large", error_code="100")
                    writer.write(frame(ack))
                    await writer.drain()
                    break
                start = block.find(START_BLOCK)
                payload = block[start + 1 : -len(END_BLOCK)] if start >= 0 else b""
                ack = await self.handle(payload if start >= 0 else b"", framed=start >= 0)
                writer.write(frame(ack))
                await writer.drain()
        except (ConnectionError, ssl.SSLError) as problem:
            logger.info("MLLP connection closed: %s", type(problem).__name__)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    async def handle(self, payload: bytes, *, framed: bool = True) -> bytes:
        """The ACK for one received message, after storing it when it is new."""
        now = self.clock.now()
        if not framed:
            self.counts.rejected += 1
            return build_ack(None, "AE", now, error="no MLLP start block before the message", error_code="100")
        text = decode(payload)
        try:
            header = read_header(text)
        except MalformedMessage as problem:
            self.counts.rejected += 1
            logger.warning("MLLP message refused (AE): %s", problem)
            return build_ack(None, "AE", now, error=f"malformed message: {problem}", error_code="100")
        if header.message_type != "DFT":
            self.counts.rejected += 1
            logger.warning("MLLP message %s refused (AR): type %s", header.control_id, header.message_type)
            return build_ack(
                header, "AR", now, error=f"message type {header.message_type} is not taken here", error_code="200"
            )
        loop = asyncio.get_running_loop()
        try:
            stored = await loop.run_in_executor(self._executor, self.store.store, header.key, payload)
        except OSError as problem:
            self.counts.failed += 1
            logger.error("MLLP message %s not stored (%s): AR", header.control_id, type(problem).__name__)
            return build_ack(
                header, "AR", now, error="the message could not be stored; resend it later", error_code="207"
            )
        if stored:
            self.counts.stored += 1
            logger.info("MLLP message %s stored as %s", header.control_id, header.key[:12])
        else:
            self.counts.duplicates += 1
            logger.info("MLLP message %s is a duplicate of %s: AA, nothing stored", header.control_id, header.key[:12])
        return build_ack(header, "AA", now)


def server_tls_context(certificate: Path, private_key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 or newer); with ``client_ca`` clients must present a certificate it signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, private_key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def run_listener(listener: MllpListener, on_started: Callable[[int], None] | None = None) -> None:
    """Start ``listener``, report its port, and serve until cancelled (SIGINT/SIGTERM in the command)."""
    port = await listener.start()
    if on_started is not None:
        on_started(port)
    try:
        await listener.serve_forever()
    finally:
        await listener.stop()
