"""The one clock: instants in UTC, dates in the practice's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from revcycle.clock import SimulatedClock, SystemClock


def test_a_2130_chicago_upload_is_dated_that_day_not_the_next_utc_day() -> None:
    # 2026-12-04 21:30 CST (UTC-6) is 2026-12-05 03:30 UTC: the UTC date is one day later.
    clock = SimulatedClock(datetime(2026, 12, 5, 3, 30, tzinfo=UTC), "America/Chicago")
    assert clock.now().date() == date(2026, 12, 5)
    assert clock.today() == date(2026, 12, 4)


def test_naive_instants_are_read_as_utc_as_sqlite_returns_them() -> None:
    clock = SimulatedClock(datetime(2026, 7, 1, tzinfo=UTC), "America/Chicago")
    # 2026-07-02 02:00 UTC is 2026-07-01 21:00 CDT (UTC-5).
    assert clock.local_date(datetime(2026, 7, 2, 2, 0)) == date(2026, 7, 1)


def test_at_local_crosses_daylight_saving_time() -> None:
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC), "America/Chicago")
    # 21:30 local is 03:30 UTC in winter (CST, UTC-6) and 02:30 UTC in summer (CDT, UTC-5).
    assert clock.at_local(date(2026, 3, 7), time(21, 30)) == datetime(2026, 3, 8, 3, 30, tzinfo=UTC)
    assert clock.at_local(date(2026, 3, 9), time(21, 30)) == datetime(2026, 3, 10, 2, 30, tzinfo=UTC)


def test_a_simulated_clock_advances_and_never_goes_back() -> None:
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    clock = SimulatedClock(start)
    assert clock.advance(timedelta(days=2)) == start + timedelta(days=2)
    with pytest.raises(ValueError):
        clock.set(start)
    with pytest.raises(ValueError):
        SimulatedClock(datetime(2026, 1, 1))


def test_the_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=5)
