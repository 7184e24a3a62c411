"""Per-export intake for the nightly: one after another in the flow, or fanned out on the Dask task runner.

The task runner is chosen by a setting (``REVCYCLE_TASK_RUNNER``), read when the night starts, so the intake
runs as a subflow given that runner: a flow's own runner is fixed before its first line runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger
from prefect.task_runners import TaskRunner

from flows.dask_runner import dask_task_runner
from revcycle import progress
from revcycle.clock import Clock, SystemClock, clock_in_force
from revcycle.settings import Settings
from tasks.intake import intake_export
from tasks.runtime import warehouse


@flow(name="intake-exports")
def intake_exports(
    paths: list[str], warehouse_url: str, batch_date: date, reject_threshold: float
) -> list[dict[str, Any]]:
    """Take every export as its own task on this flow's task runner, concurrently; results in ``paths`` order."""
    futures = [intake_export.submit(path, warehouse_url, batch_date, reject_threshold) for path in paths]
    return [future.result() for future in futures]


def runs_on_dask(config: Settings, clock: Clock) -> bool:
    """Whether the intake fans out on Dask: the settings ask for it and the run is on the wall clock.

    A simulated clock (the multi-night demo) is handed in to this process only; Dask's worker processes would
    stamp the intake with the wall clock instead.
    """
    return config.task_runner == "dask" and isinstance(clock, SystemClock)


def take_exports(config: Settings, exports: list[Path], warehouse_url: str, batch_date: date) -> list[dict[str, Any]]:
    """Intake of every export, in ``exports`` order, on the task runner the settings name."""
    if not runs_on_dask(config, clock_in_force(config.timezone)):
        if config.task_runner == "dask":
            get_run_logger().warning(
                "REVCYCLE_TASK_RUNNER=dask is not used on a simulated clock; the exports are taken in this process"
            )
        progress.begin(progress.EXPORTS_READ, len(exports))
        taken = []
        for path in exports:
            taken.append(intake_export(str(path), warehouse_url, batch_date, config.reject_threshold))
            progress.advance(progress.EXPORTS_READ)
        progress.end(progress.EXPORTS_READ)
        progress.end(progress.CLAIMS_BUILT)
        return taken
    if not exports:
        return []
    # Migrated here, once: worker processes that each found a new warehouse would race to create its tables.
    warehouse(warehouse_url)
    runner = dask_task_runner(config.dask_address, config.dask_workers)
    # DaskTaskRunner is a TaskRunner of its own future type, which with_options' annotation does not admit.
    fanned_out = intake_exports.with_options(task_runner=cast(TaskRunner[Any], runner))
    return fanned_out([str(path) for path in exports], warehouse_url, batch_date, config.reject_threshold)
