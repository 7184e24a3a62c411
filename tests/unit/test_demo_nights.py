"""The multi-night demo's calendar: nights at the evening hour, visits before the night, settling nights."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

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


def test_the_ehr_changes_visits_already_sent_at_its_seeded_rates_the_same_for_a_seed() -> None:
    from revcycle.demo_nights import LATE_CHARGE, change_rows, ehr_changes

    payers = list(registered_payers().values())
    plan = NightsPlan(nights=1, claims_per_night=400, seed=11, correction_rate=0.1, late_rate=0.05)
    rows = visits_of_night(payers, plan, 0)
    changes = ehr_changes(plan, 0, rows)
    assert changes == ehr_changes(plan, 0, rows)  # the same for a seed
    assert ehr_changes(NightsPlan(nights=1, claims_per_night=400, seed=11), 0, rows) == []  # rates 0: none
    corrected = [c for c in changes if c.kind == "corrected"]
    late = [c for c in changes if c.kind == "late"]
    # 400 visits at 10 % and 5 %: 40 and 20 expected; a binomial spread of about 6 and 4.4 each side
    assert 25 <= len(corrected) <= 55 and 8 <= len(late) <= 32
    first_night = plan.night(0)
    assert all(first_night + timedelta(days=3) <= c.due <= first_night + timedelta(days=40) for c in changes)
    by_charge = {r["charge_id"]: r for r in rows}
    for change in corrected[:5]:
        sent = change_rows(plan, change, rows)
        visit = sorted(r["charge_id"] for r in rows if r["encounter_id"] == change.encounter_id)
        assert [r["charge_id"] for r in sent] == visit  # the encounter again, same charge ids
        for r in sent:
            before = Decimal(by_charge[r["charge_id"]]["charge_amount"])
            if r["charge_id"] == change.charge_id == visit[0]:
                assert Decimal("1.05") * before <= Decimal(r["charge_amount"]) <= Decimal("1.25") * before + 1
            else:
                assert Decimal(r["charge_amount"]) == before
            unchanged = {k: v for k, v in r.items() if k != "charge_amount"}
            assert unchanged == {k: v for k, v in by_charge[r["charge_id"]].items() if k != "charge_amount"}
    for change in late[:5]:
        (line,) = change_rows(plan, change, rows)
        assert line["charge_id"] not in by_charge and line["encounter_id"] == change.encounter_id
        assert {k: line[k] for k in LATE_CHARGE} == {"procedure_code": "36415", "charge_amount": "15.00", "units": "1"}
        first = by_charge[min(r["charge_id"] for r in rows if r["encounter_id"] == change.encounter_id)]
        for column in ("patient_mrn", "member_id", "payer_id", "billing_npi", "service_date_from"):
            assert line[column] == first[column]


def test_settling_keeps_running_while_ehr_changes_are_due_and_one_night_after_answers() -> None:
    from revcycle.demo_nights import ChangeSchedule, EhrChange

    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC), "America/Chicago")
    sandbox = FakeSandbox(clock, [datetime(2026, 1, 20, 12, tzinfo=UTC)])  # 06:00 Chicago on 01-20
    plan = NightsPlan(nights=1, first_night=date(2026, 1, 5), settle=True)
    schedule = ChangeSchedule()
    schedule.add([EhrChange("late", "E1", "C1L", 0, date(2026, 2, 2))])
    sent: list[tuple[date, int]] = []

    def run_night(night: date, number: int) -> Mapping[str, Any]:
        return {"response files loaded": 1 if night == date(2026, 1, 20) else 0}

    def drop_changes(night: date, due: list[EhrChange]) -> int:
        sent.append((night, len(due)))
        return len(due)

    outcomes = run_nights(
        plan,
        clock,
        sandbox=sandbox,
        drop_visits=lambda index, night: 1,
        run_night=run_night,
        progress=lambda outcome: None,
        changes=schedule,
        drop_changes=drop_changes,
    )
    # 01-20 (an answer), 02-02 (the change, the next thing due: a replacement the 01-20 answer made due goes
    # out then), 02-03 (nothing is due, but the night before sent a change: what it made due goes out).
    assert [o.night for o in outcomes] == [date(2026, 1, 5), date(2026, 1, 20), date(2026, 2, 2), date(2026, 2, 3)]
    assert sent == [(date(2026, 2, 2), 1)] and [o.changes for o in outcomes] == [0, 0, 1, 0]


def test_the_ehr_cancels_visits_at_its_seeded_rate_resending_them_with_visit_status_cancelled() -> None:
    from revcycle.demo_nights import change_rows, ehr_changes

    payers = list(registered_payers().values())
    base = NightsPlan(nights=1, claims_per_night=400, seed=11, correction_rate=0.1, late_rate=0.05)
    plan = NightsPlan(nights=1, claims_per_night=400, seed=11, correction_rate=0.1, late_rate=0.05, cancel_rate=0.1)
    rows = visits_of_night(payers, plan, 0)
    changes = ehr_changes(plan, 0, rows)
    cancelled = [c for c in changes if c.kind == "cancelled"]
    # 400 visits at 10 %: 40 expected, a binomial spread of about 6 each side
    assert 25 <= len(cancelled) <= 55
    # the cancellation share sits after the others on the roll: the other visits' changes are unchanged
    assert [c for c in changes if c.kind != "cancelled"] == ehr_changes(base, 0, rows)
    by_charge = {r["charge_id"]: r for r in rows}
    for change in cancelled[:5]:
        sent = change_rows(plan, change, rows)
        visit = sorted(r["charge_id"] for r in rows if r["encounter_id"] == change.encounter_id)
        assert [r["charge_id"] for r in sent] == visit  # every line of the visit, same charge ids
        assert all(r == by_charge[r["charge_id"]] | {"visit_status": "cancelled"} for r in sent)
    with pytest.raises(ValueError, match="together <= 1"):
        NightsPlan(nights=1, correction_rate=0.5, late_rate=0.4, cancel_rate=0.2)
