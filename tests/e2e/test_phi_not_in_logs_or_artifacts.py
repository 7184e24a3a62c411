"""No patient name, member id, birth date or address of the synthetic export in logs or Prefect artifacts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from phi_scan import phi_needles, scan

pytestmark = pytest.mark.e2e


def _haystacks(workdir: Path, demo_run: dict[str, object]) -> dict[str, str]:
    stacks = {"stdout": str(demo_run["stdout"]), "stderr": str(demo_run["stderr"])}
    for log in (workdir / "logs").glob("*.log"):
        stacks[f"logs/{log.name}"] = log.read_text(encoding="utf-8", errors="replace")
    database = workdir / "prefect" / "prefect.db"
    assert database.is_file(), "the demo's Prefect database is where its artifacts and run logs live"
    with sqlite3.connect(database) as conn:
        artifacts = conn.execute("select key, type, description, data from artifact").fetchall()
        logs = conn.execute("select message from log").fetchall()
        runs = (
            conn.execute("select parameters from flow_run").fetchall()
            + conn.execute("select name from task_run").fetchall()
        )
    assert artifacts, "the demo published no artifacts: nothing was scanned"
    assert logs, "the demo stored no run logs: nothing was scanned"
    stacks["prefect artifacts"] = "\n".join(" ".join(str(c) for c in row) for row in artifacts)
    stacks["prefect run logs"] = "\n".join(str(row[0]) for row in logs)
    stacks["prefect runs"] = "\n".join(str(row[0]) for row in runs)
    return stacks


def test_no_phi_in_logs_or_artifacts(demo_run: dict[str, object]) -> None:
    workdir = Path(str(demo_run["workdir"]))
    exports = list((workdir / "exports").glob("*.csv"))
    assert exports
    needles = phi_needles(exports[0])
    assert all(needles.values()), "the export must hold every kind of PHI the scan looks for"
    hits = scan(_haystacks(workdir, demo_run), needles)
    assert hits == []


def test_the_scan_finds_a_planted_value(demo_run: dict[str, object]) -> None:
    workdir = Path(str(demo_run["workdir"]))
    needles = phi_needles(next((workdir / "exports").glob("*.csv")))
    stacks = _haystacks(workdir, demo_run)
    planted_name = sorted(needles["name"])[0]
    planted_birth = sorted(d for d in needles["birth_date"] if "-" not in d)[0]
    planted_member = sorted(needles["member_id"])[0]
    stacks["prefect run logs"] += f"\nposting claim for {planted_name}"
    stacks["prefect artifacts"] += f"\n| dob | {planted_birth} |"
    stacks["stdout"] += f"\nmember={planted_member}."
    hits = {(h.source, h.kind) for h in scan(stacks, needles)}
    assert ("prefect run logs", "name") in hits
    assert ("prefect artifacts", "birth_date") in hits
    assert ("stdout", "member_id") in hits
