"""SQL the same on SQLite and PostgreSQL: days between dates, a date plus days, local dates, weeks, JSON fields."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import JSON, ColumnElement, Date, FromClause, Integer, String, Text, cast, column, func, literal, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[int]):
    """Whole days from the second date (or timestamp) to the first: ``days_between(later, earlier)``."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


class add_days(FunctionElement[Any]):
    """A date plus a whole number of days: ``add_days(a_date, days)``."""

    type = Date()
    inherit_cache = True
    name = "add_days"


def _arguments(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(argument, **kw) for argument in element.clauses]


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _arguments(element, compiler, **kw)
    return f"CAST(julianday(date({later})) - julianday(date({earlier})) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _arguments(element, compiler, **kw)
    return f"(CAST({later} AS DATE) - CAST({earlier} AS DATE))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = _arguments(element, compiler, **kw)
    return f"date({day}, '+' || ({days}) || ' days')"


@compiles(add_days, "postgresql")
def _add_days_postgresql(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = _arguments(element, compiler, **kw)
    return f"(CAST({day} AS DATE) + ({days}))"


# The practice's UTC offset at an instant, from the table ``practice_timezone_offset`` (filled from the
# practice's timezone by revcycle.warehouse.timezone.sync_practice_timezone): the same lookup on SQLite, which
# has no timezone database, and on PostgreSQL, so both give the same dates.
_OFFSET_AT = (
    "COALESCE((SELECT tzo.utc_offset_minutes FROM practice_timezone_offset tzo "
    "WHERE tzo.starts_at <= {moment} ORDER BY tzo.starts_at DESC LIMIT 1), 0)"
)


class local_date(FunctionElement[Any]):
    """The practice-timezone date of a UTC timestamp: ``local_date(claim_event.c.occurred_at)``."""

    type = Date()
    inherit_cache = True
    name = "local_date"


class week_start(FunctionElement[Any]):
    """The Monday of the week of a date: ``week_start(a_date)``."""

    type = Date()
    inherit_cache = True
    name = "week_start"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = _arguments(element, compiler, **kw)
    return f"date({moment}, {_OFFSET_AT.format(moment=moment)} || ' minutes')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = _arguments(element, compiler, **kw)
    offset = _OFFSET_AT.format(moment=moment)
    return f"CAST(({moment} AT TIME ZONE 'UTC') + {offset} * INTERVAL '1 minute' AS DATE)"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _arguments(element, compiler, **kw)
    # 'weekday 0' moves to the next Sunday (or stays on one): six days before it is the week's Monday.
    return f"date({day}, 'weekday 0', '-6 days')"


@compiles(week_start, "postgresql")
def _week_start_postgresql(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _arguments(element, compiler, **kw)
    return f"(CAST({day} AS DATE) - CAST(EXTRACT(ISODOW FROM CAST({day} AS DATE)) AS INTEGER) + 1)"


class json_field(FunctionElement[Any]):
    """One top-level field of a JSON object held as text: ``json_field(column, "payer_id")``; NULL when absent.

    The database takes the field out, so the rest of the object (a charge row's JSON is about 1 KB of PHI) never
    reaches Python. The field's name is a bound parameter (a JSON path on SQLite, a key on PostgreSQL).
    """

    inherit_cache = True
    name = "json_field"

    def __init__(self, column: Any, field: str) -> None:
        if not _FIELD_NAME.fullmatch(field):  # a path on SQLite: no quoting of other characters here
            raise ValueError(f"not a field name json_field takes: {field!r}")
        super().__init__(column, literal(field, String()))


_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+")


@compiles(json_field, "sqlite")
def _json_field_sqlite(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    column, field = _arguments(element, compiler, **kw)
    return f"json_extract({column}, '$.' || {field})"


@compiles(json_field, "postgresql")
def _json_field_postgresql(element: json_field, compiler: SQLCompiler, **kw: Any) -> str:
    column, field = _arguments(element, compiler, **kw)
    return f"(CAST({column} AS JSON) ->> {field})"


def json_fields(
    dialect: str, table: FromClause, column_: ColumnElement[Any], names: tuple[str, ...]
) -> tuple[FromClause, list[ColumnElement[Any]]]:
    """Several top-level fields of ``column_`` (a JSON object held as text): the FROM clause to select from
    (``table``, joined on PostgreSQL with the record the fields come from) and one column per name, as text.

    On PostgreSQL each ``->>`` parses the whole text again: ``json_to_record`` parses it once for all the names
    (about half the time for three fields of a 3 KB charge row). On SQLite each field is a ``json_field``.
    """
    if dialect != "postgresql":
        return table, [json_field(column_, name) for name in names]
    for name in names:
        if not _FIELD_NAME.fullmatch(name):  # a column name of the record: no quoting of other characters here
            raise ValueError(f"not a field name json_fields takes: {name!r}")
    record = (
        func.json_to_record(cast(column_, JSON))
        .table_valued(*(column(name, Text) for name in names))
        .render_derived(name="json_record", with_types=True)
    )
    return table.join(record, true()), [record.c[name] for name in names]
