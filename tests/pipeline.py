"""Test helpers that run the real pipeline: a sandbox clearinghouse and the nightly flow in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from connectors.clearinghouse.sandbox import EmbeddedClearinghouse
from connectors.payers import registered_payers
from revcycle.synth import generate_charge_rows, write_charge_export

QUIET = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"}


@dataclass
class PipelineWorld:
    """One workdir, its export folder and the sandbox clearinghouse serving it."""

    workdir: Path
    export_dir: Path
    clearinghouse: EmbeddedClearinghouse
    last_state: Any = None

    def write_export(self, *, seed: int, encounters: int, as_of: date) -> Path:
        """Write a synthetic export with ids unique to ``seed`` into the export folder."""
        path = self.export_dir / f"charges_{seed}.csv"
        rows = generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=seed, as_of=as_of)
        write_charge_export(rows, path)
        return path

    def run_nightly(self, batch_date: date | None = None) -> dict[str, Any]:
        """Run the nightly flow (Prefect must be reachable: a harness or a server); its final state is kept
        in ``last_state`` (Completed, or Failed named NeedsAttention with the result all the same)."""
        from flows.nightly import nightly_revenue_cycle
        from tasks.attention import run_result

        self.last_state = nightly_revenue_cycle(
            export_dir=str(self.export_dir),
            workdir=str(self.workdir),
            batch_date=batch_date.isoformat() if batch_date else None,
            return_state=True,
        )
        return run_result(self.last_state)

    @property
    def uploaded_files(self) -> list[str]:
        """The 837 files on the SFTP server's upload folder (what the clearinghouse holds)."""
        folder = self.clearinghouse.root / self.clearinghouse.upload_dir
        return sorted(p.name for p in folder.iterdir() if p.is_file())


@contextmanager
def pipeline_world(workdir: Path, **clearinghouse_options: Any) -> Iterator[PipelineWorld]:
    """A sandbox clearinghouse started for ``workdir`` with REVCYCLE_* pointing at it; restored after.

    ``clearinghouse_options`` go to ``EmbeddedClearinghouse`` (e.g. a timing and a clock that keep it silent).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    clearinghouse = EmbeddedClearinghouse(workdir / "clearinghouse", **clearinghouse_options)
    connection = clearinghouse.start()
    saved = dict(os.environ)
    os.environ.update(QUIET)
    os.environ["REVCYCLE_WORKDIR"] = str(workdir)
    os.environ.pop("REVCYCLE_WAREHOUSE_URL", None)
    os.environ.update(
        connection.environment(clearinghouse.upload_dir, clearinghouse.inbox_dir, clearinghouse.archive_dir)
    )
    try:
        yield PipelineWorld(workdir=workdir, export_dir=workdir / "exports", clearinghouse=clearinghouse)
    finally:
        clearinghouse.stop()
        os.environ.clear()
        os.environ.update(saved)
