"""What every KPI family shares: periods, rates, figures, and the SQL pieces (postings, categories, dates).

Money is integer cents in SQL and ``Decimal`` dollars in Python; rates are exact ``Decimal`` quotients of
integer counts or cents, ``None`` when the denominator is 0. Every date is a date in the practice's timezone
(``revcycle.warehouse.sqlfunc.local_date``); the 835's own dates (BPR16) are dates already.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Numeric,
    Select,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.sql import Subquery

from revcycle.codes.adjustments import GROUP_DEFAULTS, Category
from revcycle.money import from_cents
from revcycle.warehouse.schema import (
    adjustment,
    adjustment_category,
    remittance,
    remittance_claim,
    remittance_service,
    source_file,
)
from revcycle.warehouse.sqlfunc import local_date

DateArg = date | ColumnElement[Any]
"""A reference date: a Python date (the functions) or a SQL expression (the views: today in the practice)."""

REVERSAL = "22"  # CLP02 of a reversal


@dataclass(frozen=True)
class Period:
    """The dates a figure covers, both ends included, in the practice's timezone; None is open-ended."""

    start: date | None = None
    end: date | None = None

    @classmethod
    def days_to(cls, end: date, days: int) -> Period:
        """The ``days`` days ending on ``end``."""
        return cls(end - timedelta(days=days - 1), end)

    def contains(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """SQL: ``column`` falls in the period (a NULL date never does)."""
        conditions: list[ColumnElement[bool]] = [column.is_not(None)]
        if self.start is not None:
            conditions.append(column >= literal(self.start, Date))
        if self.end is not None:
            conditions.append(column <= literal(self.end, Date))
        return and_(*conditions)

    def describe(self) -> str:
        """``2026-04-01 to 2026-06-30`` (or "all dates")."""
        if self.start is None and self.end is None:
            return "all dates"
        start = self.start.isoformat() if self.start else "the first record"
        end = self.end.isoformat() if self.end else "the last record"
        return f"{start} to {end}"


ALL_TIME = Period()


def reference_day(value: DateArg) -> ColumnElement[Any]:
    """A reference date as SQL."""
    return literal(value, Date) if isinstance(value, date) else value


def today_in_practice() -> ColumnElement[Any]:
    """SQL for today's date in the practice's timezone (the views' reference date)."""
    return local_date(func.current_timestamp())


def rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """numerator ÷ denominator, exactly; None when the denominator is 0."""
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def sql_rate(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    """numerator ÷ denominator as a decimal in SQL (NULL when the denominator is 0), for the views."""
    return case(
        (denominator == 0, null()),
        else_=cast(numerator, Numeric(18, 6)) / cast(denominator, Numeric(18, 6)),
    )


def flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """1 or 0: a boolean both databases sum and compare the same way."""
    return case((condition, 1), else_=0)


def total(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """SUM that is 0 (not NULL) over no rows."""
    return func.coalesce(func.sum(column), 0)


def count_of(query: Select[Any]) -> ColumnElement[Any]:
    """A scalar subquery, 0 when it finds nothing."""
    return func.coalesce(query.scalar_subquery(), 0)


def as_date(value: Any) -> date | None:
    """A date from a result row (SQLite hands back text for computed dates)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class Figure:
    """One KPI's value over a period, with what it was computed from."""

    key: str
    value: Decimal | None
    numerator: Decimal | int | None = None
    denominator: Decimal | int | None = None
    qualifier: str = ""  # e.g. "insurance only": printed beside the value
    note: str = ""  # why a value is missing, what is pending


# --- postings -------------------------------------------------------------------------------------------------


def posted_on() -> ColumnElement[Any]:
    """The date of a posting: the 835's payment date (BPR16), else the day its file was received."""
    return func.coalesce(remittance.c.payment_date, local_date(source_file.c.received_at))


def standing(row: Any) -> ColumnElement[bool]:
    """A posting that stands: matched to our claim, not a reversal, not reversed since."""
    return and_(row.c.matched, row.c.status_code != REVERSAL, row.c.reversed_by_id.is_(None))


def categorized_adjustments() -> Subquery:
    """Every CAS adjustment with its category and denial sub-category (table ``adjustment_category``).

    A (group, CARC) missing from the table takes its group's default (``revcycle.codes.adjustments``).
    """
    default_category = case(
        *[(adjustment.c.group_code == group, literal(cat.value)) for group, (cat, _kind) in GROUP_DEFAULTS.items()],
        else_=literal(Category.OTHER.value),
    )
    default_kind = case(
        *[
            (adjustment.c.group_code == group, literal(kind.value))
            for group, (_cat, kind) in GROUP_DEFAULTS.items()
            if kind is not None
        ],
        else_=null(),
    )
    listed = adjustment_category.c.category.is_not(None)
    return (
        select(
            adjustment.c.id,
            adjustment.c.remittance_claim_id,
            adjustment.c.remittance_service_id,
            adjustment.c.group_code,
            adjustment.c.reason_code,
            adjustment.c.amount_cents,
            adjustment.c.sequence,
            case((listed, adjustment_category.c.category), else_=default_category).label("category"),
            case((listed, adjustment_category.c.denial_kind), else_=default_kind).label("denial_kind"),
        )
        .select_from(
            adjustment.outerjoin(
                adjustment_category,
                and_(
                    adjustment_category.c.group_code == adjustment.c.group_code,
                    adjustment_category.c.reason_code == adjustment.c.reason_code,
                ),
            )
        )
        .subquery("categorized_adjustment")
    )


# The facts a report reads in many queries, computed once into temporary tables (``revcycle.warehouse.kpi.facts``)
# while a report is collected: by name, the table each fact function reads instead of computing it again.
READ_ONCE: ContextVar[Mapping[str, Table] | None] = ContextVar("kpi_facts_read_once", default=None)


def _read_once(name: str) -> Subquery | None:
    tables = READ_ONCE.get()
    table = tables.get(name) if tables is not None else None
    return select(table).subquery(name) if table is not None else None


def posting_facts() -> Subquery:
    """One row per matched remittance claim (posting): its date, amounts, and its adjustments by category.

    ``denial_cents`` sums the denial-category adjustments (claim and line level), ``denied_claim`` is 1 when
    the payer withheld the whole payment by a denial (nothing paid, a denial adjustment present) and
    ``denied_lines`` counts the lines paid nothing with a denial adjustment on them. Reversals carry
    negated amounts, so summing postings up to a date gives what stood on that date.
    """
    stored = _read_once("posting")
    if stored is not None:
        return stored
    cats = categorized_adjustments()
    by_category = (
        select(
            cats.c.remittance_claim_id,
            total(case((cats.c.category == Category.DENIAL.value, cats.c.amount_cents), else_=0)).label("denial"),
            total(case((cats.c.category == Category.CONTRACTUAL.value, cats.c.amount_cents), else_=0)).label(
                "contractual"
            ),
            total(case((cats.c.category == Category.PATIENT_RESPONSIBILITY.value, cats.c.amount_cents), else_=0)).label(
                "patient"
            ),
            total(case((cats.c.category == Category.OTHER.value, cats.c.amount_cents), else_=0)).label("other"),
        )
        .group_by(cats.c.remittance_claim_id)
        .subquery("posting_categories")
    )
    line_denials = (
        select(cats.c.remittance_service_id, total(cats.c.amount_cents).label("denial"))
        .where(cats.c.category == Category.DENIAL.value, cats.c.remittance_service_id.is_not(None))
        .group_by(cats.c.remittance_service_id)
        .subquery("line_denials")
    )
    denied_lines = (
        select(remittance_service.c.remittance_claim_id, func.count().label("lines"))
        .select_from(
            remittance_service.join(line_denials, line_denials.c.remittance_service_id == remittance_service.c.id)
        )
        .where(remittance_service.c.paid_cents == 0, line_denials.c.denial > 0)
        .group_by(remittance_service.c.remittance_claim_id)
        .subquery("denied_lines")
    )
    denial = func.coalesce(by_category.c.denial, 0)
    return (
        select(
            remittance_claim.c.id,
            remittance_claim.c.claim_key,
            remittance_claim.c.status_code,
            remittance_claim.c.reversed_by_id,
            remittance_claim.c.remittance_id,
            posted_on().label("posted_on"),
            remittance_claim.c.charge_cents,
            remittance_claim.c.paid_cents,
            denial.label("denial_cents"),
            func.coalesce(by_category.c.contractual, 0).label("contractual_cents"),
            func.coalesce(by_category.c.patient, 0).label("patient_cents"),
            func.coalesce(by_category.c.other, 0).label("other_cents"),
            func.coalesce(denied_lines.c.lines, 0).label("denied_lines"),
            flag(and_(remittance_claim.c.paid_cents == 0, denial > 0)).label("denied_claim"),
            flag(remittance_claim.c.status_code == REVERSAL).label("reversal"),
            flag(standing(remittance_claim)).label("standing"),
        )
        .select_from(
            remittance_claim.join(remittance, remittance.c.id == remittance_claim.c.remittance_id)
            .join(source_file, source_file.c.id == remittance.c.source_file_id)
            .outerjoin(by_category, by_category.c.remittance_claim_id == remittance_claim.c.id)
            .outerjoin(denied_lines, denied_lines.c.remittance_claim_id == remittance_claim.c.id)
        )
        .where(remittance_claim.c.matched)
        .subquery("posting")
    )


def first_adjudications() -> Subquery:
    """Per claim, its first adjudication: the earliest posting that is not a reversal (by date, then load order).

    It stays the first adjudication even when a later 835 reverses it: "initial" means what the payer said
    the first time.
    """
    stored = _read_once("first_adjudication")
    if stored is not None:
        return stored
    posting = posting_facts()
    undated_last = case((posting.c.posted_on.is_(None), 1), else_=0)
    ranked = (
        select(
            posting,
            func.row_number()
            .over(partition_by=posting.c.claim_key, order_by=(undated_last, posting.c.posted_on, posting.c.id))
            .label("rank"),
        )
        .where(posting.c.reversal == 0)
        .subquery("ranked_adjudication")
    )
    return first_of_each(ranked, "claim_key", "first_adjudication")


def first_of_each(ranked: Subquery, key: str, name: str) -> Subquery:
    """The rows ranked 1 of a ranked subquery (a ``rank`` column), one per ``key``, as a grouped subquery.

    Grouped on purpose: a plain ``WHERE rank = 1`` subquery is inlined into the query that joins it, and SQLite
    then indexes it on ``rank`` alone and scans every first row for every row joined (quadratic); a grouped
    subquery is computed once and joined on its key.
    """
    first = ranked.c.rank == 1
    return (
        select(
            ranked.c[key],
            *(
                func.max(case((first, column))).label(column.name)
                for column in ranked.c
                if column.name not in (key, "rank")
            ),
        )
        .group_by(ranked.c[key])
        .subquery(name)
    )


def integer(value: Any) -> int:
    """An integer from a result cell (NULL is 0)."""
    return int(value or 0)


def cents(value: Any) -> Decimal:
    """Dollars from integer cents in a result cell (NULL is 0)."""
    return from_cents(int(value or 0))
