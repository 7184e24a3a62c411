"""Bulk-load 1,000,000 remittance service lines (and their claims) into SQLite and PostgreSQL, then load them again.

This is the database half of the 835 loader (``revcycle.responses``): ids reserved per transaction, rows
inserted with ``revcycle.warehouse.bulk.insert_ignoring_duplicates`` (executemany on SQLite; COPY into a
staging table then INSERT ... ON CONFLICT DO NOTHING on PostgreSQL). The second load of the same rows is the
idempotent path: every row conflicts and nothing changes. Parsing the 835 is measured by bench_x12_835.

PostgreSQL: REVCYCLE_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test); skipped
when unreachable.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, text

from benchmarks import Measurement, peak_rss_mb, timed
from revcycle.responses import _CLAIM_COLUMNS, _SERVICE_COLUMNS
from revcycle.warehouse.bulk import insert_ignoring_duplicates, reserve_ids
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.ledger import utcnow
from revcycle.warehouse.schema import remittance, remittance_claim, remittance_service, source_file

POSTGRES_URL = os.environ.get("REVCYCLE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LINES_PER_CLAIM = 5


def _rows(engine: Engine, lines: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Claim and service rows as the loader builds them, with ids reserved in the warehouse."""
    claims = lines // LINES_PER_CLAIM
    with engine.begin() as conn:
        file_id = conn.execute(
            insert(source_file).values(
                kind="835",
                name="bench.x12",
                sha256=uuid.uuid4().hex * 2,
                size=1,
                origin="manual",
                status="loaded",
                received_at=utcnow(),
                problem_count=0,
            )
        ).inserted_primary_key
        assert file_id is not None
        remittance_id = conn.execute(
            insert(remittance).values(
                source_file_id=file_id[0],
                trace_number="BENCH",
                payer_identifier="1123456789",
                payment_cents=0,
                balance_problem_count=0,
            )
        ).inserted_primary_key
        assert remittance_id is not None
        claim_ids = reserve_ids(conn, remittance_claim, claims)
        service_ids = iter(reserve_ids(conn, remittance_service, lines))
    claim_rows = []
    service_rows = []
    for sequence, claim_id in enumerate(claim_ids, start=1):
        claim_rows.append(
            (claim_id, remittance_id[0], sequence, f"K{sequence:09d}", "1", 50000, 40000, 1000, f"P{sequence}", True)
        )
        for line in range(1, LINES_PER_CLAIM + 1):
            service_rows.append((next(service_ids), claim_id, line, "HC", "99213", "", 10000, 8000, "1"))
    return claim_rows, service_rows


def _load(engine: Engine, claim_rows: list[tuple[Any, ...]], service_rows: list[tuple[Any, ...]]) -> None:
    with engine.begin() as conn:
        insert_ignoring_duplicates(conn, remittance_claim, _CLAIM_COLUMNS, claim_rows)
        insert_ignoring_duplicates(conn, remittance_service, _SERVICE_COLUMNS, service_rows)


def _measure(backend: str, engine: Engine, lines: int) -> list[Measurement]:
    upgrade_warehouse(engine)
    claim_rows, service_rows = _rows(engine, lines)
    _none, first = timed(lambda: _load(engine, claim_rows, service_rows))
    _none, again = timed(lambda: _load(engine, claim_rows, service_rows))
    with engine.connect() as conn:
        stored = int(conn.execute(select(func.count()).select_from(remittance_service)).scalar_one())
    assert stored == len(service_rows), "the second load must not add rows"
    notes = {"claims": str(len(claim_rows)), "stored service lines": str(stored)}
    return [
        Measurement(f"warehouse load {backend}", first, len(service_rows), "rows", peak_rss_mb(), notes),
        Measurement(f"warehouse reload {backend} (idempotent)", again, len(service_rows), "rows", peak_rss_mb(), notes),
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
