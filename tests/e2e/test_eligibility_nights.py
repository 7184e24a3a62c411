"""Tracker issue 14, Done-when 2: eligibility before the claim and status after it, over a few simulated nights.

The real nightly flow runs seven nights on one simulated clock against the embedded sandbox in realistic
timing (271s and 277s by 7 am Eastern the next morning, 835s 10 days or more after the 837), with batch
eligibility on and a status-inquiry lag of 3 days. Expectations come from the sandbox's own seeded verdict
per member (``coverage_verdict``), not from the pipeline:

- a member the sandbox reports inactive: the claim is held with that reason and no 837 ever carries it;
- a member with another primary payer: held, the reason naming that payer;
- an active member's claim goes out on night 2 (after its 271), and, silent 3 days later (no 835 before day
  10), gets exactly one 276 whose 277 status is recorded; no second 276 the nights after;
- (Done-when 4) the report counts the eligibility holds and the claims past their lag.
"""

from __future__ import annotations

import csv
import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pipeline import pipeline_world
from sqlalchemy import select

from revcycle.clock import SimulatedClock, running_on
from revcycle.sandbox.inquiries import (
    INACTIVE,
    OTHER_PAYER_NAME,
    OTHER_PRIMARY,
    CoverageShares,
    coverage_verdict,
)
from revcycle.warehouse.db import create_warehouse_engine
from revcycle.warehouse.schema import claim, claim_hold, eligibility_check, interchange, status_inquiry

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo("America/Chicago")
FIRST_NIGHT = date(2026, 1, 12)  # a Monday
EVENING = time(21, 30)
SALT = "issue14"
# Large shares so eight encounters hold each case (the verdicts are fixed by the salt and member ids).
SHARES = CoverageShares(inactive=0.3, other_primary=0.3)
NIGHTS = 7


def _night(clock: SimulatedClock, index: int) -> date:
    day = FIRST_NIGHT + timedelta(days=index)
    clock.set(datetime.combine(day, EVENING, tzinfo=ZONE))
    return day


def test_inactive_and_other_primary_are_held_and_a_silent_claim_gets_one_276(prefect_api: None, tmp_path: Path) -> None:
    clock = SimulatedClock(datetime.combine(FIRST_NIGHT, time(0), tzinfo=ZONE), ZONE)
    settings = {
        "REVCYCLE_BATCH_ELIGIBILITY": "true",
        "REVCYCLE_STATUS_INQUIRY_AFTER_DAYS": "3",
        "REVCYCLE_STATUS_INQUIRY_EVERY_DAYS": "30",
        "REVCYCLE_TIMEZONE": "America/Chicago",
    }
    per_night: list[dict[str, object]] = []
    with (
        running_on(clock),
        pipeline_world(tmp_path / "work", clock=clock, timing="realistic", seed_salt=SALT, coverage=SHARES) as world,
    ):
        os.environ.update(settings)
        export = world.write_export(seed=1414, encounters=8, as_of=FIRST_NIGHT - timedelta(days=1))
        for index in range(NIGHTS):
            day = _night(clock, index)
            result = world.run_nightly(day)
            per_night.append(result)
        uploaded = world.uploaded_files
        upload_dir = world.clearinghouse.root / world.clearinghouse.upload_dir
        sent_837 = b"".join((upload_dir / name).read_bytes() for name in uploaded if name.startswith("837"))

    with export.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    verdict = {r["encounter_id"]: coverage_verdict(SALT, r["payer_id"], r["member_id"], SHARES) for r in rows}
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'work' / 'warehouse.db'}")
    with engine.connect() as conn:
        claims = {r.encounter_id: r for r in conn.execute(select(claim))}
        holds = {
            r.claim_key: r.reason
            for r in conn.execute(
                select(claim_hold).where(claim_hold.c.stage == "coverage", claim_hold.c.released_at.is_(None))
            )
        }
        checks = list(conn.execute(select(eligibility_check)))
        inquiries = list(conn.execute(select(status_inquiry)))
        sent = [(r.transaction_type, r.batch_date) for r in conn.execute(select(interchange))]

    inactive = [e for e, v in verdict.items() if v == INACTIVE]
    other = [e for e, v in verdict.items() if v == OTHER_PRIMARY]
    active = [e for e, v in verdict.items() if v not in (INACTIVE, OTHER_PRIMARY)]
    assert inactive and other and active, verdict  # the salt gives every case at least once

    # night 1: one 270 per payer and billing provider, and no 837 (every claim awaits its 271); night 2: the 837s
    assert sorted(d for t, d in sent if t == "270") == [FIRST_NIGHT] * len(
        {(r["payer_id"], r["billing_npi"]) for r in rows}
    )
    assert {d for t, d in sent if t == "837P"} == {FIRST_NIGHT + timedelta(days=1)}
    # every pair asked once, answered by the 271 of the next morning
    assert len(checks) == len(verdict)
    assert all(c.answered_at is not None for c in checks)

    for encounter in inactive:
        c = claims[encounter]
        assert c.interchange_id is None and c.status == "built"
        assert "coverage is inactive" in holds[c.claim_key]
        assert f"CLM*{c.claim_key}*".encode() not in sent_837
    for encounter in other:
        c = claims[encounter]
        assert c.interchange_id is None
        assert OTHER_PAYER_NAME in holds[c.claim_key]
        assert f"CLM*{c.claim_key}*".encode() not in sent_837
    for encounter in active:
        c = claims[encounter]
        assert c.claim_key not in holds
        assert f"CLM*{c.claim_key}*".encode() in sent_837

    asked = [i.claim_key for i in inquiries]
    silent = [claims[e].claim_key for e in active if claims[e].status in ("submitted", "accepted")]
    assert silent, "at least one active claim stays silent (the sandbox's 835s come 10 days or more later)"
    # each silent claim asked exactly once in seven nights (sent night 2, lag 3 days: asked on night 5)
    assert sorted(asked) == sorted(silent)
    for inquiry in inquiries:
        assert inquiry.answered_at is not None
        assert (inquiry.category, inquiry.status_code) == ("P1", "20")  # in process: no 835 yet
    # a 277 never changes the claim's status
    assert all(claims[e].status in ("submitted", "accepted", "rejected") for e in active)

    # Done-when 4: the last night's report shows the eligibility holds and the claims past their lag, counted
    html = (tmp_path / "work" / "report.html").read_text(encoding="utf-8")
    assert f'id="eligibility-holds" data-count="{len(inactive) + len(other)}"' in html
    assert f'id="past-lag" data-count="{len(silent)}"' in html
    assert "insurance verification rate" in html
    for key in silent:
        assert f"<td>{key}</td>" in html
