"""Which runner takes the nightly's exports: Dask only when asked for and on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.intake import runs_on_dask
from revcycle.clock import SimulatedClock, SystemClock
from revcycle.settings import Settings


@pytest.mark.parametrize(
    ("task_runner", "simulated", "expected"),
    [
        ("thread", False, False),  # the default: nothing changes
        ("dask", False, True),
        # A simulated clock lives in this process only: Dask's worker processes would use the wall clock.
        ("dask", True, False),
        ("thread", True, False),
    ],
)
def test_dask_only_when_asked_for_and_on_the_wall_clock(task_runner: str, simulated: bool, expected: bool) -> None:
    config = Settings(task_runner=task_runner)
    clock = SimulatedClock(datetime(2026, 11, 20, 3, tzinfo=UTC)) if simulated else SystemClock()
    assert runs_on_dask(config, clock) is expected


def test_an_unknown_runner_is_refused() -> None:
    with pytest.raises(ValueError, match="task_runner"):
        Settings(task_runner="process")
