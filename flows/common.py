"""Flow-level helpers: run paths, the batch date, and the clearinghouse lease."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect.runtime import flow_run

from revcycle.clock import clock_in_force
from revcycle.filemodes import private_dir
from revcycle.settings import Settings
from revcycle.warehouse.lease import CLEARINGHOUSE_LEASE, Lease, held_lease
from tasks.runtime import warehouse

__all__ = ["CLEARINGHOUSE_LEASE", "RunPaths", "batch_date_of_run", "clearinghouse_lease"]


@dataclass(frozen=True)
class RunPaths:
    """Where a run reads and writes: the workdir's folders and the warehouse URL."""

    workdir: Path
    export_dir: Path
    outbound_dir: Path
    inbound_dir: Path
    warehouse_url: str

    @classmethod
    def resolve(cls, settings: Settings, workdir: str | None = None, export_dir: str | None = None) -> RunPaths:
        """Paths from the settings, overridden by flow parameters; the workdir is created or tightened ``0700``."""
        root = private_dir(Path(workdir) if workdir else settings.workdir)
        if workdir:
            settings = settings.model_copy(update={"workdir": root})
        return cls(
            workdir=root,
            export_dir=Path(export_dir) if export_dir else root / "exports",
            outbound_dir=root / "outbound",
            inbound_dir=root / "inbound",
            warehouse_url=settings.resolved_warehouse_url(),
        )


def batch_date_of_run(settings: Settings, override: str | None = None) -> tuple[date, datetime]:
    """The batch date (and time) of this run: from its scheduled start in the practice's timezone.

    A retry the next morning keeps the scheduled start, so it still processes the right night. A run given its
    batch date (``override``: a rerun, the multi-night demo) is created now, by the clock in force.
    """
    clock = clock_in_force(settings.timezone)
    if override:
        return date.fromisoformat(override), clock.now().astimezone(ZoneInfo(settings.timezone))
    scheduled = flow_run.scheduled_start_time
    moment = datetime.fromisoformat(str(scheduled)) if scheduled is not None else clock.now()
    local = moment.astimezone(ZoneInfo(settings.timezone))
    return local.date(), local


@contextmanager
def clearinghouse_lease(warehouse_url: str, holder: str, seconds: int) -> Iterator[Lease]:
    """Hold the clearinghouse lease for the block (renewed by a heartbeat), or fail the run (``LeaseHeld``).

    A subflow holding it for the same holder inside the block (submit and ingest under the nightly flow)
    joins the holding and releases nothing; the tasks find it with ``lease_guard`` and check it before each
    remote rename or archive move.
    """
    with held_lease(warehouse(warehouse_url), CLEARINGHOUSE_LEASE, holder, seconds, clock_in_force()) as lease:
        yield lease
