"""New rows of a loader's batch, written while the loader reads its next batch (PostgreSQL), or at once (SQLite).

On PostgreSQL a loader that posts a batch with ``COPY`` waits while the server takes the rows in, updates the
indexes and runs the reference triggers: about a third of a large 835's load went there, with the other core
idle (docs/scale.md, "Tenth pass"). ``NewRows`` formats each table's rows in the caller's thread and hands
the ``COPY`` statements, with their data, to one worker thread, which sends them in order and waits for the
server while the caller reads on. The worker needs the GIL only to start a statement, to hand over its data
and to take its result; a writer thread that formats row by row takes far more from the reader ("Eighth
pass").

Nothing can run on the connection between or before those ``COPY`` statements: every statement, savepoint,
commit or rollback through the SQLAlchemy connection first waits for them (a connection event), and an error
of theirs is raised there, in the caller's thread, so the caller's transaction fails as it would have. The
rows go into the same transaction and savepoint as before; only the moment the caller waits for them moves.

On SQLite the rows are inserted at once: its driver runs in the caller's thread, and a second thread would
only fight it for the GIL (``python -m benchmarks writer_beside_thread``).
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Table, event

from revcycle.warehouse.bulk import Row, bulk_memory, copy_statement, copy_types, insert_new_rows

_EVENTS = ("before_cursor_execute", "commit", "rollback")
# How long the worker may wait for the GIL when its statement has answered (Python's default is 5 ms). At the
# default it waited that long a dozen times a batch and the caller waited for it in turn; at 1 ms a 100 MB
# 835 loaded 24 % faster, at 0.2 ms no faster and with more CPU spent switching (docs/scale.md, "Tenth pass").
HANDOVER_SWITCH_INTERVAL = 0.001


class NewRows:
    """Inserts rows that cannot exist yet (as ``insert_new_rows``), batch by batch; use it as a context manager.

    ``add`` takes a table's rows; ``send`` writes every row added since the last ``send``. On PostgreSQL they
    are written in the background and the connection waits for them before its next statement; when the
    ``with`` block is left every write has ended (and the error of one that failed has been raised).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.background = conn.dialect.name == "postgresql"
        self._copies: list[tuple[str, bytes]] = []
        self._pending: Future[None] | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._format_cursor: Any = None
        self._cleanup = ExitStack()

    def __enter__(self) -> NewRows:
        if not self.background:
            return self
        with ExitStack() as cleanup:
            self._worker = cleanup.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="revcycle-copy"))
            # A cursor of its own formats the rows; it runs no statement.
            self._format_cursor = self.conn.connection.cursor()
            cleanup.callback(self._format_cursor.close)
            cleanup.enter_context(_prompt_handover())
            for name in _EVENTS:
                event.listen(self.conn, name, self._wait_before_statement)
                cleanup.callback(event.remove, self.conn, name, self._wait_before_statement)
            self._cleanup = cleanup.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._cleanup:
            if exc is None:
                self.wait()
                return
            # Leaving on the caller's error: that is the one to report, and the transaction is lost anyway.
            with suppress(Exception):
                self.wait()

    def add(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Take ``rows`` (tuples in ``columns`` order) of ``table``, to be written at the next ``send``.

        On SQLite they are inserted now; on PostgreSQL they are formatted now, for the worker.
        """
        if not rows:
            return
        if not self.background:
            insert_new_rows(self.conn, table, columns, rows)
            return
        # Formatting reads the connection's settings: never while the worker uses the connection.
        self.wait()
        self._copies.append((copy_statement(self.conn, table, columns), self._binary_copy(table, columns, rows)))

    def send(self) -> None:
        """Write the rows added since the last ``send`` (PostgreSQL: hand them to the worker and return)."""
        if not self._copies:
            return
        copies, self._copies = self._copies, []
        bulk_memory(self.conn)
        assert self._worker is not None
        self._pending = self._worker.submit(_run_copies, self.conn.connection.dbapi_connection, copies)

    def wait(self) -> None:
        """Wait until the rows handed over have been written; raise the error that stopped them, if any."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except Exception as error:
            error.add_note("raised by a COPY of new rows sent in the background before this statement")
            raise

    def _wait_before_statement(self, *_args: Any) -> None:
        self.wait()

    def _binary_copy(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> bytes:
        # psycopg's documented way to format COPY data without running the COPY: a Copy with a FileWriter.
        from psycopg import Copy
        from psycopg.copy import FileWriter

        out = io.BytesIO()
        with Copy(self._format_cursor, binary=True, writer=FileWriter(out)) as copy:
            copy.set_types(copy_types(table, columns))
            for row in rows:
                copy.write_row(row)
        return out.getvalue()


def _run_copies(dbapi_connection: Any, copies: list[tuple[str, bytes]]) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for statement, data in copies:
            with cursor.copy(statement) as copy:
                copy.write(data)
    finally:
        cursor.close()


_handover_lock = threading.Lock()
_handover_users = 0
_interval_before = 0.0


@contextmanager
def _prompt_handover() -> Iterator[None]:
    """Shorten the interval at which a thread waiting for the GIL gets it, while any loader needs that.

    The interval is the process's: counted, so that loaders in several threads restore it once, at the end.
    """
    global _handover_users, _interval_before
    with _handover_lock:
        if _handover_users == 0:
            _interval_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_interval_before, HANDOVER_SWITCH_INTERVAL))
        _handover_users += 1
    try:
        yield
    finally:
        with _handover_lock:
            _handover_users -= 1
            if _handover_users == 0:
                sys.setswitchinterval(_interval_before)
