"""The demo run: prints the KPI summary, and every X12 file it exchanged passes pyx12 with zero errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyx12_check import pyx12_errors

pytestmark = pytest.mark.e2e


def test_demo_prints_the_kpi_summary(demo_run: dict[str, object]) -> None:
    stdout = str(demo_run["stdout"])
    for label in (
        "Claims built",
        "Claims submitted",
        "Accepted",
        "Rejected",
        "Paid",
        "Denied",
        "Clean-claim rate",
        "Denial rate",
        "Charged",
        "Paid by payers",
        "Patient responsibility",
    ):
        assert label in stdout


def test_every_x12_file_of_the_demo_passes_pyx12(demo_run: dict[str, object]) -> None:
    workdir = Path(str(demo_run["workdir"]))
    outbound = sorted((workdir / "outbound").glob("*.x12"))
    inbound = sorted((workdir / "inbound").glob("*.x12"))
    assert outbound, "the demo sent no 837"
    kinds = {p.name.split("_")[0] for p in inbound}
    assert {"999", "277CA", "835"} <= kinds
    failures = {p.name: pyx12_errors(p.read_bytes())[:5] for p in [*outbound, *inbound]}
    assert {name: errors for name, errors in failures.items() if errors} == {}


def test_the_workdir_keeps_what_a_person_wants_to_see(demo_run: dict[str, object]) -> None:
    workdir = Path(str(demo_run["workdir"]))
    assert (workdir / "warehouse.db").is_file()
    assert (workdir / "report.html").is_file()
    assert "report.html" in str(demo_run["stdout"])
    assert list((workdir / "logs").glob("run-*.log"))
    assert (workdir / "outbound").stat().st_mode & 0o777 == 0o700
    assert (workdir / "inbound").stat().st_mode & 0o777 == 0o700
