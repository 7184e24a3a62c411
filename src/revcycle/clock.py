"""The one source of "now" and "today" (DESIGN.md §12): handed to the core, never read from the wall directly.

Every timestamp the warehouse stores is timezone-aware UTC (``Clock.now``). Every date a billing person
reads (batch dates, submission dates, deadlines, aging) is a date in the practice's timezone
(``Clock.today``, ``Clock.local_date``): a claim uploaded at 21:30 in Chicago was submitted that day, not
the next UTC day.

``SystemClock`` reads the wall clock; ``SimulatedClock`` is set and advanced by its owner (the multi-night
demo, tests), so a run on a simulated calendar stamps every row with simulated time. The composition root
hands a run its clock with ``running_on``; the ledger, flows and tasks read it with ``clock_in_force``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "America/Chicago"


class Clock(Protocol):
    """Where the core learns the time."""

    @property
    def timezone(self) -> tzinfo:
        """The practice's timezone."""
        ...

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def today(self) -> date:
        """Today's date in the practice's timezone."""
        ...

    def local_date(self, moment: datetime) -> date:
        """The practice-timezone date of an instant (a naive instant is taken as UTC)."""
        ...


class _ZonedClock:
    """Shared arithmetic of the clocks: dates in the practice's timezone."""

    def __init__(self, timezone: str | tzinfo = DEFAULT_TIMEZONE) -> None:
        self._timezone: tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone

    @property
    def timezone(self) -> tzinfo:
        """The practice's timezone."""
        return self._timezone

    def now(self) -> datetime:  # pragma: no cover - overridden
        """The current instant (UTC)."""
        raise NotImplementedError

    def today(self) -> date:
        """Today's date in the practice's timezone."""
        return self.local_date(self.now())

    def local_date(self, moment: datetime) -> date:
        """The practice-timezone date of ``moment`` (a naive ``moment`` is UTC, as SQLite returns it)."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(self._timezone).date()

    def at_local(self, day: date, at: time) -> datetime:
        """The UTC instant of ``at`` o'clock on ``day`` in the practice's timezone."""
        return datetime.combine(day, at, tzinfo=self._timezone).astimezone(UTC)


class SystemClock(_ZonedClock):
    """The wall clock (production)."""

    def now(self) -> datetime:
        """The current instant, from the system clock, in UTC."""
        return datetime.now(UTC)


class SimulatedClock(_ZonedClock):
    """A clock its owner sets and advances: the multi-night demo and tests run on simulated calendars."""

    def __init__(self, start: datetime, timezone: str | tzinfo = DEFAULT_TIMEZONE) -> None:
        super().__init__(timezone)
        self._now = _as_utc(start)

    def now(self) -> datetime:
        """The simulated instant, in UTC."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Move the clock to ``moment``; it never goes backwards."""
        moment = _as_utc(moment)
        if moment < self._now:
            raise ValueError("a simulated clock does not go backwards")
        self._now = moment

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new instant."""
        self.set(self._now + delta)
        return self._now


# The clock the composition root handed to this run (``running_on``); None means the wall clock. Flows and
# tasks run in Prefect's worker threads and take no Clock parameter (flow parameters must be JSON), so the
# root hands it in here once and every edge reads it through ``clock_in_force``.
_handed_in: Clock | None = None


@contextmanager
def running_on(clock: Clock) -> Iterator[Clock]:
    """Run the block on ``clock``: the ledger, the flows and the tasks take "now" from it until the block ends."""
    global _handed_in
    before, _handed_in = _handed_in, clock
    try:
        yield clock
    finally:
        _handed_in = before


def clock_in_force(timezone: str | tzinfo = DEFAULT_TIMEZONE) -> Clock:
    """The clock handed in with ``running_on``, else the wall clock in ``timezone``."""
    return _handed_in if _handed_in is not None else SystemClock(timezone)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a clock needs a timezone-aware instant")
    return moment.astimezone(UTC)
