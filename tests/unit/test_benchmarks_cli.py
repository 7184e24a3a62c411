"""``python -m benchmarks``: ``--lines N`` reaches the benchmarks sized in lines (the nightly) and no other."""

from __future__ import annotations

import pytest

import benchmarks.bench_nightly
from benchmarks.__main__ import main


class _Called(Exception):
    """Raised by the stand-in ``run`` so that nothing is measured or written."""


def test_lines_reach_the_nightly_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    def record(scale: float, lines: int | None = None, profile: str | None = None) -> list[object]:
        raise _Called(scale, lines)

    monkeypatch.setattr(benchmarks.bench_nightly, "run", record)
    with pytest.raises(_Called) as called:
        main(["nightly", "--lines", "100000"])
    assert called.value.args == (1.0, 100000)


def test_lines_for_a_benchmark_not_sized_in_lines_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lines", "10", "x12_835"]) == 2
    assert capsys.readouterr().err.strip() == "--lines applies to: nightly; not to x12_835"
