"""``revcycle ingest`` of one large 835 into SQLite and into PostgreSQL: MB/s end to end and peak memory.

The file is the synthetic 835 of ``bench_x12_835`` (one transaction set, about 1 GB at scale 1; ``--scale 0.2``
gives 200 MB): the whole file is a single set, so it is also the largest set a loader must post whole. Each
ingest runs ``revcycle ingest`` in a fresh interpreter into an empty warehouse (a SQLite file; a PostgreSQL
schema of its own in the database of ``REVCYCLE_BENCH_POSTGRES_URL``) and reports its own wall time, CPU
time and peak RSS. Start-up and migrations are inside the figure, as a user sees them. The CPU time is given
beside the wall time because the benchmark machine may be shared: under load the wall time grows, the CPU
time much less. PostgreSQL's own CPU (COPY, indexes) is not in the client's CPU figure.

Goals (issue 13): peak memory under 300 MB and at least 8 MB/s for a 1 GB 835.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks import Measurement
from benchmarks.bench_x12_835 import make_835

MB = 1024 * 1024
FULL_SIZE_MB = 1024
POSTGRES_URL = os.environ.get("REVCYCLE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

_RUN = """
import json, resource, sys, time
started, cpu = time.perf_counter(), time.process_time()
from revcycle.cli import main
code = main(["ingest", sys.argv[1]])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"exit": code, "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                  "peak_mb": usage.ru_maxrss / 1024}))
"""


@contextmanager
def _warehouse(dialect: str, folder: Path) -> Iterator[str]:
    """An empty warehouse: a SQLite file, or a PostgreSQL schema of its own, dropped afterwards."""
    if dialect == "sqlite":
        yield f"sqlite:///{folder / 'warehouse.db'}"
        return
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _ingest(path: Path, url: str, workdir: Path) -> dict[str, Any]:
    env = dict(os.environ, DO_NOT_TRACK="1", REVCYCLE_WAREHOUSE_URL=url, REVCYCLE_WORKDIR=str(workdir))
    done = subprocess.run([sys.executable, "-c", _RUN, str(path)], capture_output=True, text=True, env=env, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"exit": done.returncode or 1, "seconds": float("nan"), "cpu": float("nan"), "error": last}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run(scale: float) -> list[Measurement]:
    """Ingest a synthetic 835 of ``1 GB x scale`` into SQLite and into PostgreSQL; one figure each."""
    size_mb = max(1, round(FULL_SIZE_MB * scale))
    dialects = [d for d in os.environ.get("REVCYCLE_BENCH_DIALECTS", "sqlite,postgresql").split(",") if d]
    out: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        root = Path(folder)
        path = root / "era.835"
        counts = make_835(path, size_mb * MB)
        actual_mb = path.stat().st_size / MB
        for dialect in dialects:
            work = root / f"work-{dialect}"
            work.mkdir()
            with _warehouse(dialect, work) as url:
                result = _ingest(path, url, work)
            cpu = result["cpu"]
            notes = dict(
                counts,
                transaction_sets="1",
                exit=str(int(result["exit"])),
                cpu_seconds=f"{cpu:.1f}",
                cpu_mb_per_s=f"{actual_mb / cpu:.1f}" if cpu == cpu and cpu else "",
            )
            if "error" in result:
                notes["error"] = str(result["error"])[:200]
            out.append(
                Measurement(
                    f"revcycle ingest 835 {actual_mb:.0f} MB into {dialect}",
                    result["seconds"],
                    actual_mb,
                    "MB",
                    result.get("peak_mb", float("nan")),
                    notes,
                )
            )
            print(json.dumps(out[-1].__dict__, default=str), flush=True)
    return out
