"""The embedded sandbox clearinghouse: the SFTP server plus the sandbox payer behind it, with its memory.

An 837, 270 or 276 landing in the upload folder is handed to the sandbox payer (``revcycle.sandbox.payer``), which
decides every answer at once. Answers are dropped into the response folder when they fall due, under a
temporary dot-name and then renamed, as a clearinghouse would:

- ``timing="instant"`` (the default, what the delivery tests need): everything the moment the file lands;
- ``timing="realistic"``: the 999 the next morning, the 277CA in 1 to 3 days, the 835 in weeks, released
  whenever the response folder is listed over SFTP and whenever ``release_due()`` is called (the demo calls
  it each night), always against ``clock.now()``.

Every call (landing, listing, ``release_due``) runs under one lock, so the SFTP server's connection threads
and the demo never release a file twice or half. The sandbox's state (interchanges seen, claims adjudicated,
answers not yet released, deductibles met, forward balances) lives in ``sandbox-state.db`` (SQLite) in the
state folder and is saved after every change, writing only what changed, so a restarted sandbox carries on;
``remittance-ledger.csv`` beside it records every CLP loop it released (claim key, frequency, received date,
835 date, lag): the ground truth of the lags it applied.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Self

from connectors.clearinghouse.keys import generate_ed25519_private_key, load_private_key
from connectors.clearinghouse.sandbox_server import SandboxSftpServer
from connectors.payers import registered_payers
from revcycle.clock import Clock, SystemClock
from revcycle.filemodes import private_dir, private_file
from revcycle.sandbox.codec import decode_as, encode
from revcycle.sandbox.inquiries import CoverageShares
from revcycle.sandbox.payer import SandboxConfig, SandboxPayer, Timing
from revcycle.sandbox.profiles import PayerTerms, kind_for_filing_indicator
from revcycle.sandbox.render import ResponseFile
from revcycle.sandbox.state import ClaimRecord, LedgerRow, PayerState, decode_pending, encode_pending

log = logging.getLogger(__name__)

SANDBOX_USER = "revcycle"
STATE_FILE = "sandbox-state.db"
LEDGER_FILE = "remittance-ledger.csv"


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


def payer_terms() -> dict[str, PayerTerms]:
    """What the sandbox takes from the payer files: each payer's behaviour and timely-filing limit."""
    return {
        payer_id: PayerTerms(kind_for_filing_indicator(profile.filing_indicator), profile.timely_filing_days)
        for payer_id, profile in registered_payers().items()
    }


def _write_private(path: Path, data: bytes) -> None:
    """Write ``path`` atomically (a dot-named temporary file, then a rename), readable by its owner only."""
    tmp = path.with_name("." + path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def ledger_csv(rows: list[LedgerRow], header: bool = True) -> str:
    """The remittance ledger as CSV text (one row per released CLP loop)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(LedgerRow.FIELDS)
    for row in rows:
        writer.writerow(
            [
                row.claim_key,
                row.frequency_code,
                row.payer_id,
                row.payer_kind,
                row.payer_claim_number,
                row.status_code,
                f"{row.paid:.2f}",
                row.received_date.isoformat(),
                row.payment_date.isoformat(),
                row.lag_days,
                row.event,
                row.file_name,
            ]
        )
    return out.getvalue()


class SandboxStore:
    """The sandbox's state in SQLite (0600): each save writes only what changed since the last one.

    Tables: ``meta`` (counters, interchanges seen, forward balances, names received), ``record`` (claims
    adjudicated, by payer claim number), ``current`` (each payer and claim key's latest payer claim number),
    ``accumulator`` (deductibles met, by payer, member and year), ``pending`` (answers not yet released, by
    decision sequence) and ``ledger`` (every CLP loop released, in order). Everything that grows with the
    claims has a table of its own and is written key by key, so a save costs what changed, not the night so
    far. The remittance ledger CSV is appended beside it and rewritten whole when the store is opened.
    """

    def __init__(self, path: Path, ledger_file: Path) -> None:
        """Open (or create) the store at ``path``."""
        self.path = path
        self.ledger_file = ledger_file
        self._pending_saved: set[int] = set()
        self._ledger_saved = 0
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        with self._connect() as conn:
            # WAL: a save costs one append, not a rewrite and two fsyncs (an application crash loses nothing)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS record (number TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS ledger (position INTEGER PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS current (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS accumulator (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            )

    def _connect(self) -> sqlite3.Connection:
        # one connection per call: the SFTP server's threads and the demo's share the store (under a lock)
        private_file(self.path)  # created 0600 before SQLite opens it; its -wal and -shm inherit the mode
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def load(self) -> tuple[list[str], PayerState]:
        """The names received and the payer's state, as last saved (empty for a new store)."""
        conn = self._connect()
        try:
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
            records = [decode_as(ClaimRecord, json.loads(v)) for (v,) in conn.execute("SELECT value FROM record")]
            pending = [decode_pending(json.loads(v)) for (v,) in conn.execute("SELECT value FROM pending ORDER BY seq")]
            ledger = [
                decode_as(LedgerRow, json.loads(v))
                for (v,) in conn.execute("SELECT value FROM ledger ORDER BY position")
            ]
            current = dict(conn.execute("SELECT key, value FROM current").fetchall())
            accumulators = {key: Decimal(v) for key, v in conn.execute("SELECT key, value FROM accumulator")}
        finally:
            conn.close()
        state = (
            PayerState.assemble(json.loads(meta["state"]), records, pending, ledger, current, accumulators)
            if meta
            else PayerState()
        )
        self._pending_saved = {item.seq for item in state.pending}
        self._ledger_saved = len(state.ledger)
        _write_private(self.ledger_file, ledger_csv(state.ledger).encode())
        return json.loads(meta.get("received", "[]")), state

    def save(self, received: list[str], state: PayerState) -> None:
        """Write what changed since the last save, in one transaction."""
        pending = {item.seq: item for item in state.pending}
        new_rows = state.ledger[self._ledger_saved :]
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('state', ?)", (json.dumps(state.meta()),))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('received', ?)", (json.dumps(received),))
            for number in sorted(state.changed):
                record = state.records.get(number)
                if record is None:
                    conn.execute("DELETE FROM record WHERE number = ?", (number,))
                else:
                    conn.execute("INSERT OR REPLACE INTO record VALUES (?, ?)", (number, json.dumps(encode(record))))
            _write_keyed(conn, "current", state.unsaved_current())
            _write_keyed(conn, "accumulator", state.unsaved_accumulators())
            conn.executemany(
                "DELETE FROM pending WHERE seq = ?", [(seq,) for seq in self._pending_saved - set(pending)]
            )
            conn.executemany(
                "INSERT INTO pending VALUES (?, ?)",
                [(seq, json.dumps(encode_pending(pending[seq]))) for seq in sorted(set(pending) - self._pending_saved)],
            )
            conn.executemany(
                "INSERT INTO ledger VALUES (?, ?)",
                [(self._ledger_saved + n, json.dumps(encode(row))) for n, row in enumerate(new_rows)],
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        state.mark_saved()
        self._pending_saved = set(pending)
        self._ledger_saved = len(state.ledger)
        if new_rows:
            with self.ledger_file.open("a") as handle:
                handle.write(ledger_csv(new_rows, header=False))


def _write_keyed(conn: sqlite3.Connection, table: str, unsaved: Mapping[str, object]) -> None:
    """Write the entries of a key-value table that changed (a None value: the key was removed)."""
    conn.executemany(f"DELETE FROM {table} WHERE key = ?", [(k,) for k, v in unsaved.items() if v is None])
    conn.executemany(
        f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", [(k, str(v)) for k, v in unsaved.items() if v is not None]
    )


class EmbeddedClearinghouse:
    """A sandbox clearinghouse on 127.0.0.1 that answers every 837 it receives, at once or over time."""

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
        clock: Clock | None = None,
        timing: Timing = "instant",
        payers: Mapping[str, PayerTerms] | None = None,
        coverage: CoverageShares | None = None,
    ) -> None:
        """Keep the sandbox's files, keys and state under ``state_dir``; nothing listens until ``start``.

        ``clock`` gives the sandbox its "now" (the system clock by default, a ``SimulatedClock`` for the
        multi-night demo); ``payers`` the terms of each payer id (by default from the payer files);
        ``coverage`` the shares of members its 271s report inactive or with another primary payer.
        """
        self.state_dir = Path(state_dir)
        self.root = self.state_dir / "sftp-root"
        self.usage_indicator = usage_indicator
        self.upload_dir = upload_dir
        self.inbox_dir = inbox_dir
        self.archive_dir = archive_dir
        self.seed_salt = seed_salt
        self.clock: Clock = clock or SystemClock()
        self.timing: Timing = timing
        self._state_file = self.state_dir / STATE_FILE
        self.ledger_file = self.state_dir / LEDGER_FILE
        self._lock = threading.Lock()
        private_dir(self.state_dir)
        private_dir(self.root)
        for folder in (upload_dir, inbox_dir, archive_dir):
            private_dir(self.root / folder)  # the clearinghouse holds PHI too: folders 0700, files 0600
        self._store = SandboxStore(self._state_file, self.ledger_file)
        self._received, state = self._store.load()
        config = SandboxConfig(
            seed_salt=seed_salt,
            usage_indicator=usage_indicator,
            timing=timing,
            timezone=self.clock.timezone,
            payers=dict(payers) if payers is not None else payer_terms(),
            coverage=coverage or CoverageShares(),
        )
        self.payer = SandboxPayer(config, state)
        client_key_text = generate_ed25519_private_key()
        self.client_key_file = self.state_dir / "client_ed25519"
        _write_private(self.client_key_file, client_key_text.encode())
        self.server = SandboxSftpServer(
            self.root,
            username=SANDBOX_USER,
            authorized_public_key=load_private_key(client_key_text),
            on_file_landed=self._answer,
            upload_dir=upload_dir,
            pickup_at_once=pickup_at_once,
            on_list=self._on_list,
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

    # -- what tests and the demo ask ---------------------------------------------------------------------

    @property
    def received(self) -> list[str]:
        """Names of the interchanges that reached the upload folder, in order (duplicates included)."""
        with self._lock:
            return list(self._received)

    @property
    def next_release_at(self) -> datetime | None:
        """When the next answer falls due (None when nothing is pending)."""
        with self._lock:
            return self.payer.next_release_at()

    @property
    def pending_count(self) -> int:
        """How many answers (acknowledgments and payments) wait for their release."""
        with self._lock:
            return len(self.payer.state.pending)

    def release_due(self) -> list[str]:
        """Drop every answer due at ``clock.now()`` into the response folder; returns their file names."""
        with self._lock:
            files = self._guarded(lambda: self.payer.release_due(self.clock.now()), changed=False)
            return [f.name for f in files]

    # -- internals -----------------------------------------------------------------------------------------

    def _guarded(self, action: Callable[[], list[ResponseFile]], *, changed: bool) -> list[ResponseFile]:
        """Run a payer call and deliver its files; on any failure go back to the last saved state."""
        try:
            files = action()
            self._deliver(files, changed=changed)
        except Exception:
            self._received, self.payer.state = self._store.load()
            raise
        return files

    def _deliver(self, files: list[ResponseFile], *, changed: bool) -> None:
        """Put ``files`` in the response folder, then persist the state that no longer holds them."""
        for response in files:
            _write_private(self.root / self.inbox_dir / response.name, response.content)
        if files or changed:
            self._store.save(self._received, self.payer.state)

    def _on_list(self, relative: str) -> None:
        if relative == self.inbox_dir:
            released = self.release_due()
            if released:
                log.info("sandbox: released %d answers on listing", len(released))

    def _answer(self, relative_path: str, absolute_path: Path) -> None:
        data = absolute_path.read_bytes()
        with self._lock:
            self._received.append(Path(relative_path).name)
            files = self._guarded(lambda: self.payer.receive(data, self.clock.now()), changed=True)
        log.info("sandbox: %s received; %d answers released at once", Path(relative_path).name, len(files))
