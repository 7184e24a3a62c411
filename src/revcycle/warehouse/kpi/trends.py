"""Weekly trends for the report: initial denial rate per payer, clean-claim rate, cash, days to payment, A/R > 90.

Weeks run Monday to Sunday in the practice's timezone. Each week's value comes from the same queries as the
figures of the registry, grouped by week; A/R over 90 days is measured at each week's last day (or the
reference date for the current week), all weeks from one read of the account ledger (``ar_history``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection

from revcycle.warehouse.kpi import claims, denials, payments
from revcycle.warehouse.kpi.ar_history import open_ar_on_days
from revcycle.warehouse.kpi.common import Period

TREND_WEEKS = 13  # a quarter


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Trends:
    """One value per week (None: nothing to measure that week), oldest week first."""

    weeks: list[date]
    denial_rate_by_payer: dict[str, list[Decimal | None]]  # initial denials over claims remitted, by count
    clean_claim_rate: list[Decimal | None]
    cash_collected: list[Decimal]
    days_to_payment: list[Decimal | None]  # median
    ar_over_90: list[Decimal | None]  # share of open A/R more than 90 days from the date of service

    def points(self, series: list[Decimal | None] | list[Decimal]) -> int:
        """How many weeks of ``series`` have a value."""
        return sum(1 for value in series if value is not None)


def _median(days: dict[date, payments.DaysToPayment], monday: date) -> Decimal | None:
    median = days[monday].median if monday in days else None
    return None if median is None else Decimal(median)


def weekly_trends(conn: Connection, as_of: date, weeks: int = TREND_WEEKS) -> Trends:
    """The ``weeks`` weeks ending with the week of ``as_of``."""
    last = week_of(as_of)
    mondays = [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    period = Period(mondays[0], as_of)
    remitted = denials.initial_denials_by_week(conn, denials.REMITTED, period)
    payers = sorted({payer for _week, payer in remitted})
    clean = claims.clean_claims_by_week(conn, period)
    cash = payments.cash_by_week(conn, period)
    days = payments.days_to_payment_by_week(conn, period)
    ends = [min(monday + timedelta(days=6), as_of) for monday in mondays]
    open_ar = open_ar_on_days(conn, ends)
    return Trends(
        weeks=mondays,
        denial_rate_by_payer={
            payer: [remitted[(m, payer)].claim_rate if (m, payer) in remitted else None for m in mondays]
            for payer in payers
        },
        clean_claim_rate=[clean[m].rate if m in clean else None for m in mondays],
        cash_collected=[cash[m].total if m in cash else Decimal(0) for m in mondays],
        days_to_payment=[_median(days, m) for m in mondays],
        ar_over_90=[open_ar[end].share_over_90 for end in ends],
    )
