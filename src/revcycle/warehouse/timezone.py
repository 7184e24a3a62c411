"""The practice's timezone inside the warehouse, so SQL (views included) dates instants the way Clock does.

SQLite has no timezone database, so the UTC offsets of the practice's timezone are kept in the table
``practice_timezone_offset``: one row per change of offset (daylight saving time starts and ends) from 1970 to
2100, computed from the IANA database by ``zoneinfo``. ``revcycle.warehouse.sqlfunc.local_date`` looks the
offset up on both databases, so SQLite and PostgreSQL give the same dates, and the same as
``Clock.local_date``: an upload at 21:30 in Chicago is dated that day, not the next UTC day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, insert, select

from revcycle.warehouse.schema import practice_timezone_offset

FIRST_YEAR = 1970
LAST_YEAR = 2100


def timezone_name(timezone: tzinfo | str) -> str:
    """The IANA name of a timezone (``America/Chicago``)."""
    return timezone if isinstance(timezone, str) else str(getattr(timezone, "key", timezone))


def _offset_minutes(zone: tzinfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


# Offsets are sampled weekly and each change is found to the minute by bisection: no zone changes its offset
# twice within a week (the closest changes, around Ramadan in some zones, are about a month apart).
_STEP = timedelta(days=7)


def offset_changes(
    timezone: tzinfo | str, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR
) -> list[tuple[datetime, int]]:
    """(UTC instant, offset in minutes from then on) for every change of offset, the first at the range start."""
    return list(_offset_changes(timezone_name(timezone), first_year, last_year))


@lru_cache(maxsize=8)
def _offset_changes(name: str, first_year: int, last_year: int) -> tuple[tuple[datetime, int], ...]:
    zone = ZoneInfo(name)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    changes = [(start, _offset_minutes(zone, start))]
    moment = start
    steps = int(_STEP.total_seconds() // 60)
    while moment < end:
        following = moment + _STEP
        if _offset_minutes(zone, following) != changes[-1][1]:
            low, high = 0, steps  # the change lies in (moment, following]
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_minutes(zone, moment + timedelta(minutes=middle)) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            changed = moment + timedelta(minutes=high)
            changes.append((changed, _offset_minutes(zone, changed)))
        moment = following
    return tuple(changes)


def sync_practice_timezone(conn: Connection, timezone: tzinfo | str) -> bool:
    """Make ``practice_timezone_offset`` describe ``timezone``; False when it already did."""
    name = timezone_name(timezone)
    stored = set(conn.execute(select(practice_timezone_offset.c.timezone).distinct()).scalars())
    if stored == {name}:
        return False
    conn.execute(delete(practice_timezone_offset))
    conn.execute(
        insert(practice_timezone_offset),
        [
            {"starts_at": moment, "utc_offset_minutes": minutes, "timezone": name}
            for moment, minutes in offset_changes(timezone)
        ],
    )
    return True


def practice_timezone(conn: Connection) -> str | None:
    """The timezone the warehouse dates instants in (None before the first sync)."""
    return conn.execute(select(practice_timezone_offset.c.timezone).limit(1)).scalar_one_or_none()
