"""The multi-night demo's calendar: nights at the evening hour, visits before the night, settling nights."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.payers import registered_payers
from revcycle.clock import SimulatedClock, clock_in_force, running_on
from revcycle.demo_nights import NightOutcome, NightsPlan, run_nights, visits_of_night
from revcycle.warehouse.ledger import utcnow


class FakeSandbox:
    """Answers due at fixed instants; ``release_due`` drops those at or before the clock's now."""

    def __init__(self, clock: SimulatedClock, due: list[datetime]) -> None:
        self.clock = clock
        self.due = sorted(due)
        self.released: list[datetime] = []

    def release_due(self) -> list[str]:
        now = self.clock.now()
        ready = [d for d in self.due if d <= now]
        self.due = [d for d in self.due if d > now]
        self.released += ready
        return [d.isoformat() for d in ready]

    @property
    def pending_count(self) -> int:
        return len(self.due)

    @property
    def next_release_at(self) -> datetime | None:
        return self.due[0] if self.due else None


def _run(plan: NightsPlan, clock: SimulatedClock, sandbox: FakeSandbox) -> tuple[list[NightOutcome], list[datetime]]:
    seen: list[datetime] = []
    dropped: list[int] = []

    def run_night(night: date, number: int) -> Mapping[str, Any]:
        seen.append(clock.now())
        return {"claims built": 1 if number <= plan.nights else 0}

    def drop_visits(index: int, night: date) -> int:
        dropped.append(index)
        return 3

    outcomes = run_nights(
        plan,
        clock,
        sandbox=sandbox,
        drop_visits=drop_visits,
        run_night=run_night,
        progress=lambda outcome: None,
    )
    assert dropped == list(range(plan.nights))
    return outcomes, seen


def test_each_night_runs_at_2130_in_the_practice_timezone() -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC), "America/Chicago")
    plan = NightsPlan(nights=3, first_night=date(2026, 3, 7))
    outcomes, seen = _run(plan, clock, FakeSandbox(clock, []))
    # 21:30 CST (UTC-6) on 03-07 is 03:30 UTC on 03-08; after the change to CDT (UTC-5) on 03-08 it is 02:30.
    assert seen == [
        datetime(2026, 3, 8, 3, 30, tzinfo=UTC),
        datetime(2026, 3, 9, 2, 30, tzinfo=UTC),
        datetime(2026, 3, 10, 2, 30, tzinfo=UTC),
    ]
    assert [o.night for o in outcomes] == [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    assert [o.visits for o in outcomes] == [3, 3, 3]


def test_without_settling_the_demo_stops_at_its_last_night_with_answers_still_due() -> None:
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC), "America/Chicago")
    due = [datetime(2026, 2, 1, 12, tzinfo=UTC)]
    outcomes, _ = _run(NightsPlan(nights=2, first_night=date(2026, 1, 5)), clock, FakeSandbox(clock, due))
    assert len(outcomes) == 2 and outcomes[-1].pending == 1


def test_settling_runs_only_the_nights_an_answer_falls_due_until_nothing_is_pending() -> None:
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC), "America/Chicago")
    # Due at 06:00 Chicago (12:00 UTC): one on 01-06 (during the visit nights), two on 01-20, one on 02-10.
    due = [datetime(2026, 1, 6, 12, tzinfo=UTC), *[datetime(2026, 1, 20, 12, tzinfo=UTC)] * 2]
    due.append(datetime(2026, 2, 10, 12, tzinfo=UTC))
    sandbox = FakeSandbox(clock, due)
    plan = NightsPlan(nights=2, first_night=date(2026, 1, 5), settle=True)
    outcomes, _ = _run(plan, clock, sandbox)
    # Visit nights 01-05 and 01-06, then only 01-20 and 02-10: nothing falls due on the nights between.
    assert [o.night for o in outcomes] == [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 20), date(2026, 2, 10)]
    assert [o.visits for o in outcomes] == [3, 3, 0, 0]
    # After 01-05 all four wait; the 01-06 answer goes on 01-06, the two of 01-20 then, the last on 02-10.
    assert [o.pending for o in outcomes] == [4, 3, 1, 0]
    assert sandbox.released == sorted(due)
    assert "settling" in outcomes[2].progress_line(plan.nights) and "2/2" in outcomes[1].progress_line(plan.nights)


def test_settling_gives_up_past_its_limit() -> None:
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC), "America/Chicago")
    far = datetime(2026, 1, 5, 12, tzinfo=UTC) + timedelta(days=40)
    plan = NightsPlan(nights=1, first_night=date(2026, 1, 5), settle=True, max_settle_nights=30)
    outcomes, _ = _run(plan, clock, FakeSandbox(clock, [far]))
    assert [o.night for o in outcomes] == [date(2026, 1, 5)]


def test_visits_of_a_night_are_dated_before_it_and_ids_differ_between_nights() -> None:
    payers = list(registered_payers().values())
    plan = NightsPlan(nights=2, claims_per_night=15, first_night=date(2026, 1, 5))
    first, second = visits_of_night(payers, plan, 0), visits_of_night(payers, plan, 1)
    assert {r["encounter_id"] for r in first}.isdisjoint({r["encounter_id"] for r in second})
    assert {r["charge_id"] for r in first}.isdisjoint({r["charge_id"] for r in second})
    assert len({r["encounter_id"] for r in first}) == 15
    assert max(date.fromisoformat(r["service_date_to"]) for r in first) < date(2026, 1, 5)
    assert max(date.fromisoformat(r["service_date_to"]) for r in second) < date(2026, 1, 6)
    assert visits_of_night(payers, plan, 1) == second  # the same seed gives the same night


def test_the_ledger_stamps_the_clock_handed_in_and_the_wall_clock_after() -> None:
    clock = SimulatedClock(datetime(2026, 1, 6, 3, 30, tzinfo=UTC), "America/Chicago")
    with running_on(clock):
        assert utcnow() == datetime(2026, 1, 6, 3, 30, tzinfo=UTC)
        assert clock_in_force().today() == date(2026, 1, 5)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(minutes=1)
