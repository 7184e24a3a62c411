"""The CPU bound the benchmarks print beside their times: CPU seconds over cores is the shortest wall time."""

from __future__ import annotations

import pytest

from benchmarks.bench_ingest_835 import cpu_bound_rate
from benchmarks.bench_nightly import cpu_bound


def test_the_nightly_states_its_cpu_and_the_shortest_time_on_the_cores() -> None:
    figures = {
        "flow_cpu_seconds": {"flow process": 90.0, "Prefect server": 10.0},
        "cores": 4,
        "lines_written": 50_000,
    }
    # by hand: 90 + 10 = 100 CPU s; 100 s / 50,000 lines = 2 ms a line; 100 s over 4 cores = 25 s at best
    line = cpu_bound(figures)
    assert "100.0 s (flow process 90.0, Prefect server 10.0)" in line
    assert "2.00 ms per line" in line
    assert "on 4 cores no schedule of this work takes under 25.0 s" in line


def test_a_night_measured_without_cpu_says_so() -> None:
    assert cpu_bound({"lines_written": 10}) == "CPU: not measured"


@pytest.mark.parametrize(
    ("work", "cpu_seconds", "cores", "rate"),
    [
        (1024.0, 218.1 + 0.0, 2, 9.39),  # 1,024 MB x 2 cores / 218.1 s = 9.39 MB/s
        (1024.0, 187.3 + 96.2, 2, 7.22),  # client and server CPU together: 2,048 / 283.5 = 7.22 MB/s
        (100.0, 25.0, 1, 4.0),  # one core: the rate of the CPU itself
    ],
)
def test_the_835_rate_bound_is_work_times_cores_over_cpu(
    work: float, cpu_seconds: float, cores: int, rate: float
) -> None:
    assert cpu_bound_rate(work, cpu_seconds, cores) == pytest.approx(rate, abs=0.005)
