"""`revcycle demo --days N --settle`: nights on a simulated calendar against the sandbox in realistic timing.

One small run (5 nights of 3 visits, then the nights on which a payer answer falls due, until none is
pending) is checked against the sandbox's own ground truth, its remittance ledger, and opened in headless
Chromium (tracker issue 11, Done-when 3).
"""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
from collections import defaultdict
from contextlib import closing
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from cdp import open_page
from demo_nights_run import run_demo_nights
from sqlalchemy import Engine

from revcycle.warehouse.db import create_warehouse_engine
from revcycle.warehouse.kpi.ar import ar_aging
from revcycle.warehouse.kpi.payments import days_to_payment_by_payer, payments_by_date
from revcycle.warehouse.kpi.worklists import WORKLIST_NAMES
from revcycle.warehouse.report import TREND_IDS, default_period

pytestmark = pytest.mark.e2e

VISIT_NIGHTS = 5
VISITS_A_NIGHT = 3
# A Thursday: the five visit nights (Thu to Mon) fall in two weeks, so claims enter in two weeks.
FIRST_NIGHT = date(2026, 1, 8)


@pytest.fixture(scope="module")
def nights_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One real `revcycle demo --days 5 --claims 3 --settle` (its own temporary Prefect API and sandbox)."""
    options = ["--days", str(VISIT_NIGHTS), "--claims", str(VISITS_A_NIGHT), "--settle"]
    options += ["--first-night", FIRST_NIGHT.isoformat()]
    return run_demo_nights(tmp_path_factory.mktemp("nights") / "work", options, timeout=1200)


def _nights(run: dict[str, object]) -> list[tuple[str, str, str, str]]:
    return cast(list[tuple[str, str, str, str]], run["nights"])


def _last_night(run: dict[str, object]) -> date:
    return date.fromisoformat(_nights(run)[-1][1])


def _ledger(run: dict[str, object]) -> list[dict[str, str]]:
    path = Path(str(run["workdir"])) / "clearinghouse" / "remittance-ledger.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _engine(run: dict[str, object]) -> Engine:
    return create_warehouse_engine(f"sqlite:///{Path(str(run['workdir'])) / 'warehouse.db'}")


def test_one_progress_line_a_night_and_the_run_settles(nights_run: dict[str, object]) -> None:
    nights = _nights(nights_run)
    numbers = [int(n) for n, _, _, _ in nights]
    assert numbers == list(range(1, len(nights) + 1))
    days = [date.fromisoformat(d) for _, d, _, _ in nights]
    assert days[:VISIT_NIGHTS] == [FIRST_NIGHT + timedelta(days=i) for i in range(VISIT_NIGHTS)]
    assert days == sorted(set(days)), "one night per date, in order"
    assert [int(v) for _, _, v, _ in nights] == [VISITS_A_NIGHT] * VISIT_NIGHTS + [0] * (len(nights) - VISIT_NIGHTS)
    # The 835s come 10 to 45 days (and a tail) after the 837: settling runs well past the visit nights and
    # ends when nothing is due any more.
    assert len(nights) > VISIT_NIGHTS and days[-1] - days[VISIT_NIGHTS - 1] >= timedelta(days=10)
    assert int(nights[-1][3]) == 0
    output = str(nights_run["stdout"]) + str(nights_run["stderr"])
    lines = output.splitlines()
    errors = [n for n, line in enumerate(lines) if "ERROR" in line or "Traceback" in line]
    # the run's output holds synthetic data only; on a failure the whole traceback says what went wrong
    assert errors == [], "\n".join(lines[errors[0] : errors[0] + 60])


def test_every_timestamp_is_on_the_simulated_calendar(nights_run: dict[str, object]) -> None:
    # The wall clock is in no row: every upload and every file received is dated within the demo's nights.
    first, last = FIRST_NIGHT, _last_night(nights_run)
    with _engine(nights_run).connect() as conn:
        uploaded = [r[0] for r in conn.exec_driver_sql("SELECT uploaded_at FROM interchange")]
        received = [r[0] for r in conn.exec_driver_sql("SELECT received_at FROM source_file")]
    # Stored in UTC: 21:30 Chicago is 03:30 UTC the next day.
    for stamp in [*uploaded, *received]:
        assert first <= date.fromisoformat(str(stamp)[:10]) - timedelta(days=1) <= last, stamp


def test_ar_is_in_more_than_one_aging_bucket(nights_run: dict[str, object]) -> None:
    with _engine(nights_run).connect() as conn:
        aging = ar_aging(conn, _last_night(nights_run))
    buckets = {b.bucket for b in aging if b.amount > 0}
    assert len(buckets) > 1, aging


def test_payments_are_spread_over_more_than_one_week(nights_run: dict[str, object]) -> None:
    with _engine(nights_run).connect() as conn:
        paid = [(day, amount) for day, amount in payments_by_date(conn) if amount > 0]
    weeks = {day - timedelta(days=day.weekday()) for day, _ in paid}
    assert len(weeks) > 1, paid
    # The same days the sandbox says it paid on (net of reversals, a day can net to zero or less).
    ledger_days = {date.fromisoformat(r["payment_date"]) for r in _ledger(nights_run) if Decimal(r["paid"]) > 0}
    assert {day for day, _ in paid} <= ledger_days


def _nearest_rank(values: list[int], percent: int) -> int:
    # The smallest value with at least `percent` % of the values at or below it.
    ordered = sorted(values)
    return ordered[math.ceil(percent * len(ordered) / 100) - 1]


def test_days_to_payment_per_payer_is_the_lag_the_sandbox_recorded(nights_run: dict[str, object]) -> None:
    last = _last_night(nights_run)
    period = default_period(last)
    # Expected, from the sandbox's ledger alone: per claim, its first paying row that is no reversal (the
    # original adjudication, or the payer's correction when the original paid nothing); its lag_days is the
    # payment date minus the day the 837 landed. Only claims first paid in the report's period count.
    first_paid: dict[tuple[str, str], tuple[date, int]] = {}
    for row in _ledger(nights_run):
        if row["event"] == "reversal" or Decimal(row["paid"]) <= 0:
            continue
        key, paid_on = (row["payer_id"], row["claim_key"]), date.fromisoformat(row["payment_date"])
        if key not in first_paid or paid_on < first_paid[key][0]:
            first_paid[key] = (paid_on, int(row["lag_days"]))
    lags: dict[str, list[int]] = defaultdict(list)
    for (payer, _), (paid_on, lag) in first_paid.items():
        if period.start <= paid_on <= period.end:
            lags[payer].append(lag)
    assert lags and all(lag >= 10 for values in lags.values() for lag in values)
    with _engine(nights_run).connect() as conn:
        measured = {d.scope: d for d in days_to_payment_by_payer(conn, period)}
    assert set(measured) == set(lags)
    for payer, values in lags.items():
        figure = measured[payer]
        assert figure.claims == len(values), payer
        assert figure.median is not None and abs(figure.median - _nearest_rank(values, 50)) <= 1, (payer, values)
        assert figure.p90 is not None and abs(figure.p90 - _nearest_rank(values, 90)) <= 1, (payer, values)


def test_the_report_in_headless_chromium_shows_every_worklist_count_and_five_trends(
    nights_run: dict[str, object], tmp_path: Path
) -> None:
    report = Path(str(nights_run["workdir"])) / "report.html"
    with open_page(report.as_uri(), tmp_path / "profile") as page:
        points = page.evaluate(
            f"JSON.stringify({json.dumps(list(TREND_IDS))}.map(id => "
            "[id, document.querySelectorAll('#' + id + ' circle.point').length]))"
        )
        worklists = page.evaluate(
            "JSON.stringify([...document.querySelectorAll('section.worklist')].map(s => "
            "[s.id, s.dataset.count, s.querySelector('h3').innerText]))"
        )
    counts = dict(json.loads(points))
    assert list(counts) == list(TREND_IDS)
    assert {trend: n for trend, n in counts.items() if n <= 1} == {}, counts
    shown = json.loads(worklists)
    assert [name for name, _, _ in shown] == [f"worklist-{name}" for name in WORKLIST_NAMES]
    for name, count, heading in shown:
        assert count is not None and count.isdigit(), name
        # The heading a person reads says the count: "<title>: 3 items, oldest ...", or "1 item".
        assert re.search(rf": {count} items?\b", heading), (name, heading)


def test_the_report_is_written_once_after_the_last_night_and_the_kpis_every_night(
    nights_run: dict[str, object],
) -> None:
    """Issue 10, Done-when 4 (the night's fixed cost): publish-report runs once, after the last night, dated by
    it; publish-kpis still runs each night; no flow run of the demo emits heartbeats (each waited for its thread).

    Read from the demo's own Prefect database (``<workdir>/prefect/prefect.db``, its temporary server's).
    """
    workdir = Path(str(nights_run["workdir"]))
    nights = len(_nights(nights_run))
    with closing(sqlite3.connect(workdir / "prefect" / "prefect.db")) as prefect_db:
        task_runs = prefect_db.execute("SELECT task_key, count(*) FROM task_run GROUP BY task_key").fetchall()
        heartbeats = prefect_db.execute(
            "SELECT count(*) FROM events WHERE event = 'prefect.flow-run.heartbeat'"
        ).fetchone()[0]
    # A task key is the task function's name and a hash of its code: publish_kpis-2354bec1.
    counts = {key.split("-")[0]: count for key, count in task_runs if key.startswith("publish_")}
    # One publish-kpis a night (the nights printed, settling ones included), one publish-report in all.
    assert counts == {"publish_kpis": nights, "publish_report": 1}, task_runs
    assert heartbeats == 0
    report = (workdir / "report.html").read_text(encoding="utf-8")
    assert f"as of {_last_night(nights_run).isoformat()}" in report
