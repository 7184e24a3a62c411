"""``revcycle ingest`` of an 835 keeps its memory flat: a file 10x larger, one transaction set each, costs less
than 20% more peak memory (issue 15).

Each ingest runs in a fresh interpreter of its own and reports its own peak resident memory (``ru_maxrss``),
so what is measured is that run alone: imports, migrations, parsing and posting included. A loader that holds
the file, or one of its transaction sets, grows with it: the one this replaced peaked at about 28 times the
file size (346 MB for 10 MB), so 50 MB would have cost well over a gigabyte against some 200 MB for 5 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from warehouse_databases import empty_warehouse_url

from benchmarks.bench_x12_835 import make_835
from revcycle.warehouse.schema import remittance_claim

MB = 1024 * 1024
SMALL_MB = 3
LARGE_MB = 10 * SMALL_MB
# "peak memory grows less than 20% when the file grows 10x" (issue 15, what to build)
ALLOWED_GROWTH = 1.20

_RUN = """
import json, resource, sys
from revcycle.cli import main
code = main(["ingest", sys.argv[1]])
print(json.dumps({"exit": code, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _ingest(path: Path, warehouse_url: str, workdir: Path) -> float:
    """Run ``revcycle ingest path`` in a fresh interpreter; its peak RSS in MB."""
    env = dict(os.environ, REVCYCLE_WAREHOUSE_URL=warehouse_url, REVCYCLE_WORKDIR=str(workdir))
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(path)], capture_output=True, text=True, env=env, check=False, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exit"] == 0, done.stdout[-2000:]
    return float(result["peak_mb"])


def _posted_claims(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(remittance_claim)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_ingest_peak_memory_stays_flat_when_the_835_grows_tenfold(
    dialect: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    peaks: dict[int, float] = {}
    for size_mb in (SMALL_MB, LARGE_MB):
        path = tmp_path / f"era-{size_mb}mb.835"
        counts = make_835(path, size_mb * MB)
        with empty_warehouse_url(dialect, tmp_path_factory) as url:
            peaks[size_mb] = _ingest(path, url, tmp_path / f"work-{size_mb}")
            # the whole set posted: a run that skipped the work would be flat for nothing
            assert _posted_claims(url) == int(counts["claims"])
        path.unlink()

    growth = peaks[LARGE_MB] / peaks[SMALL_MB]
    assert growth < ALLOWED_GROWTH, (
        f"peak memory {peaks[SMALL_MB]:.0f} MB for {SMALL_MB} MB, {peaks[LARGE_MB]:.0f} MB for {LARGE_MB} MB "
        f"(x{growth:.2f}, allowed x{ALLOWED_GROWTH})"
    )
