"""Bulk-load 1,000,000 remittance service lines (and their claims) into SQLite and PostgreSQL, as the 835 loader does.

This is the database half of the 835 loader (``revcycle.responses``), one transaction per load: claim the
remittance by its payer trace number (``insert_once``), reserve the claim and service ids, then write the rows
straight into their tables (``insert_new_rows``: executemany on SQLite, binary COPY on PostgreSQL, where
migration 0003's statement-level triggers check every reference in bulk). Row tuples are built in the timed
part from prepared values (the loader builds them from the parsed 835; parsing is measured by bench_x12_835).

- first load: into empty tables;
- reload: the same payment again: the trace number is found and nothing is written (the idempotent path);
- second file: another payment of 1,000,000 lines into tables that already hold the first;
- the reference audit (``reference_violations``) over all of it must find nothing;
- the driver's raw limit at that moment, for scale: the same 1,000,000 service rows into a table of the
  same columns with a primary key only (executemany on SQLite, binary COPY on PostgreSQL). The machine is
  shared, so compare a load with the raw limit of the same run rather than across runs.

PostgreSQL: REVCYCLE_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test); skipped
when unreachable.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, create_engine, func, insert, select, text

from benchmarks import Measurement, peak_rss_mb, timed
from revcycle.remittance_rows import CLAIM_COLUMNS, REMITTANCE_KEY, SERVICE_COLUMNS
from revcycle.warehouse.bulk import insert_new_rows, insert_once, reference_violations, reserve_ids
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.ledger import utcnow
from revcycle.warehouse.schema import remittance, remittance_claim, remittance_service, source_file

POSTGRES_URL = os.environ.get("REVCYCLE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LINES_PER_CLAIM = 5


def _source_file(engine: Engine) -> int:
    with engine.begin() as conn:
        inserted = conn.execute(
            insert(source_file).values(
                kind="835",
                name="bench.x12",
                sha256=uuid.uuid4().hex * 2,
                size=1,
                origin="manual",
                status="received",
                received_at=utcnow(),
                problem_count=0,
            )
        ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def _load(engine: Engine, file_id: int, trace: str, claims: int) -> dict[str, float] | None:
    """Post one payment of ``claims`` claims: seconds per phase, or None when its trace was posted before."""
    with engine.begin() as conn:
        started = time.perf_counter()
        remittance_id = insert_once(
            conn,
            remittance,
            {
                "source_file_id": file_id,
                "trace_number": trace,
                "payer_identifier": "1123456789",
                "payment_cents": 40000 * claims,
                "balance_problem_count": 0,
            },
            REMITTANCE_KEY,
        )
        if remittance_id is None:
            return None
        claim_ids = reserve_ids(conn, remittance_claim, claims)
        service_ids = iter(reserve_ids(conn, remittance_service, claims * LINES_PER_CLAIM))
        reserved = time.perf_counter()
        claim_rows: list[tuple[Any, ...]] = []
        service_rows: list[tuple[Any, ...]] = []
        for sequence, claim_id in enumerate(claim_ids, start=1):
            claim_rows.append(
                (claim_id, remittance_id, sequence, f"K{sequence:09d}", "1", 50000, 40000, 1000, f"P{sequence}", True)
            )
            for line in range(1, LINES_PER_CLAIM + 1):
                service_rows.append((next(service_ids), claim_id, line, "HC", "99213", "", 10000, 8000, "1"))
        built = time.perf_counter()
        insert_new_rows(conn, remittance_claim, CLAIM_COLUMNS, claim_rows)
        insert_new_rows(conn, remittance_service, SERVICE_COLUMNS, service_rows)
        inserted = time.perf_counter()
    return {
        "claim+reserve s": reserved - started,
        "build s": built - reserved,
        "insert s": inserted - built,
        "commit s": time.perf_counter() - inserted,
    }


def _phases(phases: dict[str, float] | None) -> dict[str, str]:
    assert phases is not None
    return {name: f"{seconds:.2f}" for name, seconds in phases.items()}


def _raw_limit(engine: Engine, lines: int) -> float:
    """Seconds to insert ``lines`` service-shaped rows into a bare table: the driver's limit for the loads."""
    bare = Table(
        "bench_raw",
        MetaData(),
        *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in remittance_service.columns),
    )
    rows = [(line, line // 5, line % 5, "HC", "99213", "", 10000, 8000, "1") for line in range(1, lines + 1)]
    with engine.begin() as conn:
        bare.create(conn)
    try:
        with engine.begin() as conn:
            _none, seconds = timed(lambda: insert_new_rows(conn, bare, SERVICE_COLUMNS, rows))
    finally:
        with engine.begin() as conn:
            bare.drop(conn)
    return seconds


def _measure(backend: str, engine: Engine, lines: int) -> list[Measurement]:
    upgrade_warehouse(engine)
    claims = lines // LINES_PER_CLAIM
    file_id = _source_file(engine)
    first_phases, first = timed(lambda: _load(engine, file_id, "BENCH1", claims))
    skipped, again = timed(lambda: _load(engine, file_id, "BENCH1", claims))
    assert skipped is None, "the same payment must not be posted twice"
    second_phases, second = timed(lambda: _load(engine, file_id, "BENCH2", claims))
    with engine.connect() as conn:
        stored = int(conn.execute(select(func.count()).select_from(remittance_service)).scalar_one())
        violations, audit = timed(lambda: reference_violations(conn))
    assert stored == 2 * lines, "the reload must not add rows"
    assert violations == {}, violations
    raw = _raw_limit(engine, lines)
    notes = {"claims per load": str(claims), "stored service lines": str(stored), "reference audit s": f"{audit:.2f}"}
    return [
        Measurement(f"warehouse load {backend}", first, lines, "rows", peak_rss_mb(), notes | _phases(first_phases)),
        Measurement(f"warehouse reload {backend} (idempotent)", again, lines, "rows", peak_rss_mb(), notes),
        Measurement(
            f"warehouse load {backend} (2nd file, 1M there)",
            second,
            lines,
            "rows",
            peak_rss_mb(),
            notes | _phases(second_phases),
        ),
        Measurement(f"raw limit {backend} (bare table, same run)", raw, lines, "rows", peak_rss_mb(), notes),
    ]


def run(scale: float) -> list[Measurement]:
    """Load ``1_000_000 × scale`` service lines into each backend, twice."""
    lines = max(LINES_PER_CLAIM, int(1_000_000 * scale) // LINES_PER_CLAIM * LINES_PER_CLAIM)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        engine = create_warehouse_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            results += _measure("sqlite", engine, lines)
        finally:
            engine.dispose()
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as problem:  # the benchmark runs without PostgreSQL too
        print(f"PostgreSQL unreachable ({type(problem).__name__}): skipped")
        admin.dispose()
        return results
    engine = create_warehouse_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        results += _measure("postgresql", engine, lines)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return results
