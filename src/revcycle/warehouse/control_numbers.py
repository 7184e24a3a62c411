"""Seeding the interchange control number (ISA13, also written as GS06) of a warehouse.

A new warehouse counts from 000000001. After a move (SQLite to PostgreSQL, a rebuilt server) the
clearinghouse has already seen those numbers and answers a reused one with TA1 025 (duplicate interchange
control number). Seeding sets the next number; it never goes backwards: a value at or below the highest
number this warehouse already used (the counter or any recorded interchange) is refused.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select, update

from revcycle.errors import RunFailure
from revcycle.warehouse.schema import control_counter, interchange

ISA13 = "isa13"
ISA13_MAXIMUM = 999_999_999  # nine digits


def highest_used(conn: Connection) -> int:
    """The highest ISA13 this warehouse allocated or recorded (0 when none)."""
    counter = conn.execute(select(control_counter.c.value).where(control_counter.c.name == ISA13)).scalar()
    recorded = conn.execute(select(func.max(interchange.c.control_number))).scalar()
    return max(int(counter or 0), int(recorded or 0))


def next_isa13(conn: Connection) -> int:
    """The ISA13 (and GS06) the next interchange gets, without allocating it."""
    counter = conn.execute(select(control_counter.c.value).where(control_counter.c.name == ISA13)).scalar()
    if counter is None:
        return 1
    return 1 if int(counter) >= ISA13_MAXIMUM else int(counter) + 1


def seed_isa13(conn: Connection, next_value: int) -> None:
    """Make ``next_value`` the next ISA13 and GS06; refused when it is at or below the highest used or not 9 digits."""
    if not 1 <= next_value <= ISA13_MAXIMUM:
        raise RunFailure(f"--isa13 {next_value} is not an interchange control number: give 1 to {ISA13_MAXIMUM}")
    used = highest_used(conn)
    if next_value <= used:
        raise RunFailure(
            f"--isa13 {next_value} refused: this warehouse already used ISA13 up to {used}; give a number above {used}"
        )
    # next_control_number adds one to the stored value: store the number before the next one.
    updated = conn.execute(update(control_counter).where(control_counter.c.name == ISA13).values(value=next_value - 1))
    if updated.rowcount == 0:
        conn.execute(insert(control_counter).values(name=ISA13, value=next_value - 1))
