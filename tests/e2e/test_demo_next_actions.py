"""After one demo night the rejections worklist holds every claim the 999 or 277CA rejected (the nightly flow
decides each open claim's next action after the loads)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from revcycle.warehouse.kpi.worklists import rejections

pytestmark = pytest.mark.e2e

# Claims whose latest front-end answer is a rejection: a rejected event from a 999 or a 277CA with no later
# submission, acceptance or adjudication. Counted from claim_event alone, not from claim_action.
REJECTED_AT_THE_FRONT_END = text(
    """
    SELECT DISTINCT e.claim_key FROM claim_event e
    WHERE e.status = 'rejected' AND (e.detail LIKE '999 %' OR e.detail LIKE '277CA %')
      AND NOT EXISTS (
        SELECT 1 FROM claim_event later
        WHERE later.claim_key = e.claim_key AND later.id > e.id
          AND later.status IN ('submitted', 'accepted', 'paid', 'partially_paid', 'denied'))
    """
)


def test_the_rejections_worklist_after_a_demo_night_counts_every_front_end_rejection(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVCYCLE_"))}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "revcycle"), "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    engine = create_engine(f"sqlite:///{workdir / 'warehouse.db'}")
    try:
        with engine.connect() as conn:
            rejected = {str(key) for key in conn.execute(REJECTED_AT_THE_FRONT_END).scalars()}
            work = rejections(conn)
    finally:
        engine.dispose()
    assert rejected, "the demo night rejected no claim at the front end: nothing to check"
    assert work.count == len(rejected)
    assert {key for _kind, key in work.keys} == rejected
