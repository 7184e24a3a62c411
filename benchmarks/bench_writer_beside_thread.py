"""Why the 835 loader does not parse in a second thread: the warehouse writes, alone and beside a busy thread.

A loader could parse the next claims in a second thread while its own thread writes the last ones, if the
writes gave the GIL away long enough for the parsing to run. This measures what the writes of the loader
(``warehouse.bulk.insert_new_rows``: INSERTs of 50 rows through ``executemany`` on SQLite, a binary COPY per
batch of 2,000 rows on PostgreSQL) do beside a thread that runs Python all the time, standing in for the parser.
SQLite is measured with one row per INSERT too, as the loader wrote until the ninth pass:

- ``alone``: the rows written with nothing else running in the process;
- ``beside``: the same rows written while the busy thread runs;
- ``busy thread kept``: how much of its own rate (counted alone, over the same time) the busy thread kept.

Parsing in a second thread pays only if ``beside`` stays near ``alone`` and the busy thread keeps most of its
rate. SQLite's driver gives the GIL away and takes it back around every statement it runs (every row, at one
row per INSERT), and each take-back from a busy thread can wait up to the switch interval (5 ms by default);
PostgreSQL's gives it away for each round trip.
docs/scale.md ("Eighth pass", "Ninth pass") has the figures and the measured loader.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from benchmarks import Measurement, peak_rss_mb
from benchmarks.bench_ingest_835 import POSTGRES_URL
from revcycle.warehouse.bulk import sqlite_insert_rows

# SQLite beside a busy thread writes a few hundred rows a second: it gets a tenth of the rows.
ROWS = {"sqlite": 10_000, "postgresql": 100_000}
COPY_BATCH = 2000
Row = tuple[int, int, str, int, str]


def _rows(count: int) -> list[Row]:
    # The shape of an adjustment row: ids, a short code, an amount in cents, a quantity.
    return [(i, i * 7 % 100_003, f"CO{i % 50}", i * 3, "1") for i in range(1, count + 1)]


def _busy_rate(seconds: float) -> float:
    """Loop iterations per second of a thread running Python alone, counted over ``seconds``."""
    count, _ = _with_busy_thread(lambda: time.sleep(seconds))
    return count / seconds


def _with_busy_thread(work: Callable[[], None]) -> tuple[int, float]:
    """Run ``work`` while a second thread counts in a Python loop; the count and the seconds ``work`` took."""
    stop = threading.Event()
    counted = [0]

    def spin() -> None:
        count = 0
        while not stop.is_set():
            for _ in range(10_000):
                count += 1
        counted[0] = count

    spinner = threading.Thread(target=spin)
    spinner.start()
    started = time.perf_counter()
    try:
        work()
    finally:
        seconds = time.perf_counter() - started
        stop.set()
        spinner.join()
    return counted[0], seconds


@contextmanager
def _sqlite_writer(folder: Path, rows: list[Row], many: bool) -> Iterator[Callable[[], None]]:
    """One row per INSERT, or (``many``) the loader's statements of many rows."""
    connection = sqlite3.connect(folder / f"bench-{many}.db")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c INTEGER, d TEXT)")
    connection.execute("CREATE INDEX t_a ON t (a)")
    connection.execute("CREATE INDEX t_b ON t (b)")

    def write() -> None:
        connection.execute("DELETE FROM t")
        if many:
            sqlite_insert_rows(connection.cursor(), "INSERT INTO t", len(rows[0]), rows)
        else:
            connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
        connection.commit()

    with closing(connection):
        yield write


@contextmanager
def _postgres_writer(rows: list[Row]) -> Iterator[Callable[[], None]]:
    # The psycopg connection under SQLAlchemy's, as ``insert_new_rows`` writes through it.
    engine = create_engine(POSTGRES_URL)
    pooled = engine.raw_connection()
    connection: Any = pooled.driver_connection
    connection.autocommit = True
    connection.execute("CREATE TEMP TABLE t (id int8 PRIMARY KEY, a int8, b text, c int8, d text)")
    connection.execute("CREATE INDEX ON t (a)")
    connection.execute("CREATE INDEX ON t (b)")

    def write() -> None:
        with connection.transaction():
            connection.execute("TRUNCATE t")
            for start in range(0, len(rows), COPY_BATCH):
                with connection.cursor().copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "int8", "text", "int8", "text"])
                    for row in rows[start : start + COPY_BATCH]:
                        copy.write_row(row)

    try:
        yield write
    finally:
        pooled.close()
        engine.dispose()


def _measure(name: str, write: Callable[[], None], count: int) -> Measurement:
    write()  # warm: the table's pages and the driver's statement cache, as in a loader's later batches
    started = time.perf_counter()
    write()
    alone = time.perf_counter() - started
    counted, beside = _with_busy_thread(write)
    kept = counted / (_busy_rate(beside) * beside)
    return Measurement(
        f"writer_beside_thread[{name}]",
        beside,
        count,
        "rows",
        peak_rss_mb(),
        notes={
            "alone_seconds": f"{alone:.2f}",
            "slower_beside_a_busy_thread": f"{beside / alone:.1f}x",
            "busy_thread_kept": f"{kept:.0%}",
        },
    )


def run(scale: float) -> list[Measurement]:
    """The rows written alone and beside a busy thread, into SQLite and into PostgreSQL."""
    counts = {name: max(1000, int(rows * scale)) for name, rows in ROWS.items()}
    results = []
    with tempfile.TemporaryDirectory() as folder:
        rows = _rows(counts["sqlite"])
        with _sqlite_writer(Path(folder), rows, many=False) as write:
            results.append(_measure("sqlite, one row per INSERT", write, len(rows)))
        with _sqlite_writer(Path(folder), rows, many=True) as write:
            results.append(_measure("sqlite, 50 rows per INSERT", write, len(rows)))
    rows = _rows(counts["postgresql"])
    with _postgres_writer(rows) as write:
        results.append(_measure("postgresql", write, len(rows)))
    for result in results:
        print(f"  {result.name}: {', '.join(f'{k} {v}' for k, v in result.notes.items())}", flush=True)
    return results
