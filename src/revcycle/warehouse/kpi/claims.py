"""Claims family: clean-claim rate, first-pass acceptance and first-pass resolution (docs/kpis.md).

The unit is the claim (encounter x payer x billing provider), first version only; a held encounter is a
claim that entered the edits and was not clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, func, select

from revcycle.warehouse.kpi.common import (
    ALL_TIME,
    Period,
    as_date,
    first_adjudications,
    flag,
    integer,
    rate,
    sql_rate,
    total,
)
from revcycle.warehouse.kpi.units import ACCEPTED, REJECTED, claim_units, first_pass_outcomes
from revcycle.warehouse.schema import claim
from revcycle.warehouse.sqlfunc import week_start


@dataclass(frozen=True)
class CleanClaims:
    """Claims that entered the edits in a period, and how many were clean on first pass."""

    entered: int  # built claims and held encounters
    held: int
    edited: int  # a finding of the charges suite (error or warning) on one of its charges
    rejected: int  # first submission rejected by a TA1, the 999 or the 277CA
    pending: int  # not known yet: sent and waiting for the 277CA, or not sent yet, with no edit
    clean: int

    @property
    def decided(self) -> int:
        """The claims the rate counts: every claim entered except those still pending."""
        return self.entered - self.pending

    @property
    def rate(self) -> Decimal | None:
        """Clean ÷ decided."""
        return rate(self.clean, self.decided)


def clean_claims_query(period: Period = ALL_TIME, *, by_week: bool = False, by_payer: bool = False) -> Select[Any]:
    """Clean-claim counts of the claims that entered the edits in ``period`` (optionally per week, payer)."""
    units = claim_units()
    keys: list[Any] = []
    if by_week:
        keys.append(week_start(units.c.entered_on).label("week"))
    if by_payer:
        keys.append(units.c.payer_id)
    entered = func.count()
    decided = total(units.c.decided)
    clean = total(units.c.clean)
    query = select(
        *keys,
        entered.label("entered"),
        total(units.c.held).label("held"),
        total(flag((units.c.held == 0) & (units.c.edited == 1))).label("edited"),
        total(flag((units.c.edited == 0) & (units.c.outcome == REJECTED))).label("rejected"),
        (entered - decided).label("pending"),
        clean.label("clean"),
        sql_rate(clean, decided).label("clean_claim_rate"),
    ).where(period.contains(units.c.entered_on))
    return query.group_by(*keys) if keys else query


def _clean(row: Any) -> CleanClaims:
    return CleanClaims(
        integer(row.entered),
        integer(row.held),
        integer(row.edited),
        integer(row.rejected),
        integer(row.pending),
        integer(row.clean),
    )


def clean_claims(conn: Connection, period: Period = ALL_TIME) -> CleanClaims:
    """Clean-claim counts and rate of the claims that entered the edits in ``period``."""
    return _clean(conn.execute(clean_claims_query(period)).one())


def clean_claims_by_week(conn: Connection, period: Period) -> dict[date, CleanClaims]:
    """Clean-claim counts per week (Monday) of entry into the edits."""
    rows = conn.execute(clean_claims_query(period, by_week=True))
    return {d: _clean(r) for r in rows if (d := as_date(r.week)) is not None}


@dataclass(frozen=True)
class FirstPass:
    """First submissions of a period and how the front end (TA1, 999, 277CA) answered them."""

    submitted: int
    accepted: int
    rejected: int

    @property
    def pending(self) -> int:
        """Sent, no answer yet."""
        return self.submitted - self.accepted - self.rejected

    @property
    def rate(self) -> Decimal | None:
        """Accepted ÷ answered."""
        return rate(self.accepted, self.accepted + self.rejected)


def first_pass_query(period: Period = ALL_TIME, *, by_payer: bool = False) -> Select[Any]:
    """First-pass acceptance counts of the claims first submitted in ``period`` (optionally per payer)."""
    fp = first_pass_outcomes()
    keys: list[Any] = [claim.c.payer_id] if by_payer else []
    accepted = total(flag(fp.c.outcome == ACCEPTED))
    rejected = total(flag(fp.c.outcome == REJECTED))
    query = (
        select(
            *keys,
            func.count().label("submitted"),
            accepted.label("accepted"),
            rejected.label("rejected"),
            sql_rate(accepted, accepted + rejected).label("first_pass_acceptance"),
        )
        .select_from(fp.join(claim, claim.c.claim_key == fp.c.claim_key))
        .where(period.contains(fp.c.submitted_on))
    )
    return query.group_by(*keys) if keys else query


def first_pass(conn: Connection, period: Period = ALL_TIME) -> FirstPass:
    """First-pass acceptance of the claims first submitted in ``period``."""
    row = conn.execute(first_pass_query(period)).one()
    return FirstPass(integer(row.submitted), integer(row.accepted), integer(row.rejected))


def first_pass_by_payer(conn: Connection, period: Period = ALL_TIME) -> dict[str, FirstPass]:
    """First-pass acceptance per payer."""
    rows = conn.execute(first_pass_query(period, by_payer=True))
    return {str(r.payer_id): FirstPass(integer(r.submitted), integer(r.accepted), integer(r.rejected)) for r in rows}


@dataclass(frozen=True)
class Resolution:
    """First adjudications of a period, and how many resolved the claim (no denial-category adjustment)."""

    adjudicated: int
    resolved: int

    @property
    def rate(self) -> Decimal | None:
        """Resolved ÷ adjudicated."""
        return rate(self.resolved, self.adjudicated)


def first_pass_resolution_query(period: Period = ALL_TIME) -> Select[Any]:
    """Claims whose first adjudication was posted in ``period``, and those it resolved."""
    first = first_adjudications()
    resolved = total(flag(first.c.denial_cents == 0))
    return select(
        func.count().label("adjudicated"),
        resolved.label("resolved"),
        sql_rate(resolved, func.count()).label("first_pass_resolution"),
    ).where(period.contains(first.c.posted_on))


def first_pass_resolution(conn: Connection, period: Period = ALL_TIME) -> Resolution:
    """First-pass resolution: paid, or moved to the patient, on the first adjudication."""
    row = conn.execute(first_pass_resolution_query(period)).one()
    return Resolution(integer(row.adjudicated), integer(row.resolved))


def claim_units_view() -> Select[Any]:
    """Every claim that entered the edits (held encounters without a claim key), for BI tools."""
    units = claim_units()
    return select(units)
