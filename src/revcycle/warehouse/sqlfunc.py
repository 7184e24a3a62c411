"""Date arithmetic the same on SQLite and PostgreSQL: whole days between two dates, a date plus days."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer
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
