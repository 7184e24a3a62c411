"""Benchmarks: `make bench` (or `python -m benchmarks [NAME ...]`) runs every ``bench_*.py`` module here.

Each module defines ``run(scale: float) -> list[Measurement]``; figures are printed as a table and written to
``benchmarks/results/latest.json``. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Measurement:
    """One figure: what was measured, how long it took, how much, and the peak memory of the process."""

    name: str
    seconds: float
    work: float  # units of work done (rows, MB ...)
    unit: str  # what ``work`` counts, e.g. "rows" or "MB"
    peak_rss_mb: float
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Work per second."""
        return self.work / self.seconds if self.seconds else float("inf")


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """Run ``function`` once and return its result and the wall time it took."""
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started
