"""``revcycle ingest`` of one large 835 into SQLite and into PostgreSQL: MB/s end to end and peak memory.

The file is the synthetic 835 of ``bench_x12_835`` (one transaction set, about 1 GB at scale 1; ``--scale 0.2``
gives 200 MB): the whole file is a single set, so it is also the largest set a loader must post whole. Each
ingest runs ``revcycle ingest`` in a fresh interpreter into an empty warehouse (a SQLite file; a PostgreSQL
schema of its own in the database of ``REVCYCLE_BENCH_POSTGRES_URL``) and reports its own wall time, CPU
time and peak RSS. Start-up and migrations are inside the figure, as a user sees them. The CPU time is given
beside the wall time because the benchmark machine may be shared: under load the wall time grows, the CPU
time much less. PostgreSQL's own CPU (COPY, indexes, triggers) is not in the client's figure: when the server
runs on this machine, the CPU of the ingest's server process is read from ``/proc`` every half second while it
runs (its last half second may be missed) and reported beside it.

Each figure also gives the fastest rate that CPU allows on this machine's cores (client and server CPU divided
by the cores): no schedule of the same work, however parallel, beats it, so it says how much of the goal
parallelism alone could reach.

Goals (issue 15, done-when 1): peak memory under 300 MB and at least 8 MB/s for a 1 GB 835.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
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
def empty_warehouse(dialect: str, folder: Path) -> Iterator[str]:
    """An empty warehouse: a SQLite file, or a PostgreSQL schema of its own, dropped afterwards."""
    if dialect == "sqlite":
        yield f"sqlite:///{folder / 'warehouse.db'}"
        return
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        # The application name lets the benchmark find the ingest's server process (see server_cpu_seconds).
        yield f"{POSTGRES_URL}?application_name={schema}&options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _ingest(path: Path, url: str, workdir: Path) -> dict[str, Any]:
    env = dict(os.environ, DO_NOT_TRACK="1", REVCYCLE_WAREHOUSE_URL=url, REVCYCLE_WORKDIR=str(workdir))
    # Output goes to files, not pipes: the loop in server_cpu_seconds reads nothing until the ingest exits.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-c", _RUN, str(path)], stdout=out, stderr=err, text=True, env=env)
        server_cpu = server_cpu_seconds(url, process) if url.startswith("postgresql") else None
        process.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        last = (stderr.strip().splitlines() or ["?"])[-1]
        return {"exit": process.returncode or 1, "seconds": float("nan"), "cpu": float("nan"), "error": last}
    result: dict[str, Any] = json.loads(lines[-1])
    if server_cpu is not None:
        result["server_cpu"] = server_cpu
    return result


def server_cpu_seconds(url: str, process: subprocess.Popen[str]) -> float | None:
    """CPU seconds of the PostgreSQL server processes serving ``process`` (found by the URL's application name),
    sampled until it exits; None when none of them could be read (a server on another machine: its pids may
    name unrelated local processes, so only local processes named postgres are counted)."""
    application = url.split("application_name=", 1)[1].split("&", 1)[0]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    seen: dict[int, float] = {}
    try:
        while process.poll() is None:
            with admin.connect() as conn:
                pids = conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": application}
                ).scalars()
                for pid in pids:
                    try:
                        server = psutil.Process(int(pid))
                        if "postgres" not in server.name():
                            continue
                        times = server.cpu_times()
                    except psutil.Error:
                        continue
                    seen[int(pid)] = times.user + times.system
            time.sleep(0.5)
    finally:
        admin.dispose()
    return sum(seen.values()) if seen else None


def cpu_bound_rate(work: float, cpu_seconds: float, cores: int) -> float:
    """The fastest rate at which ``work`` that took ``cpu_seconds`` of CPU could be done on ``cores`` cores:
    however the work is split, the cores cannot give it more than ``cores`` CPU seconds a second."""
    return work * cores / cpu_seconds


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
            with empty_warehouse(dialect, work) as url:
                result = _ingest(path, url, work)
            cpu = result["cpu"]
            notes = dict(
                counts,
                transaction_sets="1",
                exit=str(int(result["exit"])),
                cpu_seconds=f"{cpu:.1f}",
                cpu_mb_per_s=f"{actual_mb / cpu:.1f}" if cpu == cpu and cpu else "",
            )
            if "server_cpu" in result:
                notes["server_cpu_seconds"] = f"{result['server_cpu']:.1f}"
            if cpu == cpu and cpu and (dialect == "sqlite" or "server_cpu" in result):
                bound = cpu_bound_rate(actual_mb, cpu + result.get("server_cpu", 0.0), os.cpu_count() or 1)
                notes["cpu_bound_mb_per_s"] = f"{bound:.1f}"
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
