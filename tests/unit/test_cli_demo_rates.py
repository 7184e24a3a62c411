"""`revcycle demo --days N` refuses rates that are not shares before it creates anything in the workdir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REVCYCLE = str(Path(sys.executable).with_name("revcycle"))


def demo(tmp_path: Path, *rates: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REVCYCLE, "demo", "--days", "2", "--workdir", str(tmp_path / "nights"), *rates],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_rates_that_sum_over_one_exit_2_in_one_line_and_leave_no_workdir(tmp_path: Path) -> None:
    # 0.6 + 0.6 = 1.2: one roll per visit cannot fall in shares that add up to more than the whole
    done = demo(tmp_path, "--correction-rate", "0.6", "--late-rate", "0.6")

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "revcycle demo: the correction, late-charge and cancellation rates are shares: each >= 0, together <= 1"
    ]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "nights").exists()  # no logs/ or prefect/ left behind by a refused command


def test_a_rate_above_one_is_refused_by_the_argument_parser(tmp_path: Path) -> None:
    done = demo(tmp_path, "--correction-rate", "1.5")

    assert done.returncode == 2
    assert "--correction-rate" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "nights").exists()
