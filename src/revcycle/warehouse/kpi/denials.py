"""Denials family: initial denial rates (over claims submitted, over claims remitted), reasons, write-offs.

A denial is payment withheld by a denial-category adjustment (``revcycle.codes.adjustments``): a claim is an
initial denial when its first adjudication paid nothing and carries a denial-category adjustment, on the
claim or on a line. CLP02 is recorded but never decides alone: CLP02 1 or 4 with $0 paid and only the
deductible (PR-1) is patient responsibility, not a denial.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select
from sqlalchemy.sql import Subquery

from revcycle.codes.adjustments import Category
from revcycle.next_action import Action
from revcycle.warehouse.kpi.common import (
    ALL_TIME,
    Period,
    as_date,
    categorized_adjustments,
    cents,
    first_adjudications,
    flag,
    integer,
    posting_facts,
    rate,
    sql_rate,
    total,
)
from revcycle.warehouse.kpi.units import first_submissions, primary_claims
from revcycle.warehouse.schema import claim, claim_action, remark
from revcycle.warehouse.sqlfunc import local_date, week_start


def initial_outcomes() -> Subquery:
    """Per submitted claim: payer, first submission (date, charges) and its first adjudication, if any.

    ``denied`` is 1 when the first adjudication denied the claim (nothing paid, a denial adjustment);
    ``adjudicated_on`` is NULL while no 835 has answered.
    """
    first = first_submissions()
    adjudication = first_adjudications()
    return (
        select(
            first.c.claim_key,
            claim.c.payer_id,
            first.c.submitted_on,
            first.c.charge_cents.label("submitted_cents"),
            adjudication.c.id.label("remittance_claim_id"),
            adjudication.c.posted_on.label("adjudicated_on"),
            adjudication.c.charge_cents.label("adjudicated_cents"),
            func.coalesce(adjudication.c.denied_claim, 0).label("denied"),
            func.coalesce(adjudication.c.denial_cents, 0).label("denial_cents"),
        )
        .select_from(
            first.join(claim, claim.c.claim_key == first.c.claim_key).outerjoin(
                adjudication, adjudication.c.claim_key == first.c.claim_key
            )
        )
        .subquery("initial_outcome")
    )


@dataclass(frozen=True)
class DenialRate:
    """Initial denials over a base (claims submitted, or claims remitted), by count and by charges."""

    base: str  # "submitted" or "remitted"
    claims: int
    denied_claims: int
    charges: Decimal
    denied_charges: Decimal
    pending: int = 0  # submitted claims no 835 has answered yet (base "submitted" only)

    @property
    def claim_rate(self) -> Decimal | None:
        """Denied claims ÷ claims."""
        return rate(self.denied_claims, self.claims)

    @property
    def dollar_rate(self) -> Decimal | None:
        """Charges of denied claims ÷ charges."""
        return rate(self.denied_charges, self.charges)


SUBMITTED = "submitted"
REMITTED = "remitted"


def initial_denials_query(
    base: str, period: Period = ALL_TIME, *, by_payer: bool = False, by_week: bool = False
) -> Select[Any]:
    """Initial denial counts and charges over claims submitted (by first submission date) or remitted (by
    the first adjudication's payment date), optionally per payer and week."""
    outcomes = initial_outcomes()
    if base == SUBMITTED:
        day, charge_cents = outcomes.c.submitted_on, outcomes.c.submitted_cents
        counted = outcomes.c.claim_key.is_not(None)
    elif base == REMITTED:
        day, charge_cents = outcomes.c.adjudicated_on, outcomes.c.adjudicated_cents
        counted = outcomes.c.remittance_claim_id.is_not(None)
    else:
        raise ValueError(f"unknown base {base!r}")
    keys: list[Any] = []
    if by_week:
        keys.append(week_start(day).label("week"))
    if by_payer:
        keys.append(outcomes.c.payer_id)
    claims = func.count()
    denied = total(outcomes.c.denied)
    charges = total(charge_cents)
    denied_charges = total(flag(outcomes.c.denied == 1) * charge_cents)
    query = select(
        *keys,
        claims.label("claims"),
        denied.label("denied_claims"),
        charges.label("charge_cents"),
        denied_charges.label("denied_cents"),
        total(flag(outcomes.c.remittance_claim_id.is_(None))).label("pending"),
        sql_rate(denied, claims).label("claim_rate"),
        sql_rate(denied_charges, charges).label("dollar_rate"),
    ).where(counted, period.contains(day))
    return query.group_by(*keys) if keys else query


def _denial_rate(base: str, row: Any) -> DenialRate:
    return DenialRate(
        base,
        integer(row.claims),
        integer(row.denied_claims),
        cents(row.charge_cents),
        cents(row.denied_cents),
        integer(row.pending) if base == SUBMITTED else 0,
    )


def initial_denial_rate(conn: Connection, base: str, period: Period = ALL_TIME) -> DenialRate:
    """The initial denial rate of ``period`` over claims submitted or remitted."""
    return _denial_rate(base, conn.execute(initial_denials_query(base, period)).one())


def initial_denials_by_payer(conn: Connection, base: str, period: Period = ALL_TIME) -> dict[str, DenialRate]:
    """The initial denial rate per payer, ordered by payer id."""
    return initial_denials_with_total(conn, base, period)[1]


@dataclass(frozen=True)
class _Sums:
    claims: int
    denied_claims: int
    charge_cents: int
    denied_cents: int
    pending: int


def initial_denials_with_total(
    conn: Connection, base: str, period: Period = ALL_TIME
) -> tuple[DenialRate, dict[str, DenialRate]]:
    """``initial_denial_rate`` and ``initial_denials_by_payer`` from one query: the payers' rows partition the
    claims the overall rate counts, so its counts and cents are their sums (integers, added exactly)."""
    query = initial_denials_query(base, period, by_payer=True)
    rows = sorted(conn.execute(query), key=lambda r: str(r.payer_id))
    fields = ("claims", "denied_claims", "charge_cents", "denied_cents", "pending")
    sums = _Sums(*(sum(integer(getattr(r, name)) for r in rows) for name in fields))
    return _denial_rate(base, sums), {str(r.payer_id): _denial_rate(base, r) for r in rows}


def initial_denials_by_week(conn: Connection, base: str, period: Period) -> dict[tuple[date, str], DenialRate]:
    """The initial denial rate per (week, payer)."""
    rows = conn.execute(initial_denials_query(base, period, by_payer=True, by_week=True))
    return {(d, str(r.payer_id)): _denial_rate(base, r) for r in rows if (d := as_date(r.week)) is not None}


@dataclass(frozen=True)
class ReasonDenials:
    """One denial reason (CAS group and CARC, denial category only) on the first adjudications of a period."""

    group_code: str
    reason_code: str
    denial_kind: str
    claims: int  # claims whose first adjudication carries it (claim or line level)
    amount: Decimal  # its adjustment amounts
    remarks: tuple[str, ...]  # RARCs on the same claims (a CARC 16 is read with its RARC)

    @property
    def label(self) -> str:
        """CO-50 style."""
        return f"{self.group_code}-{self.reason_code}"


def denials_by_reason_query(period: Period = ALL_TIME) -> Select[Any]:
    """Per denial-category (group, CARC): claims and amounts on first adjudications posted in ``period``."""
    first = first_adjudications()
    cats = categorized_adjustments()
    return (
        select(
            cats.c.group_code,
            cats.c.reason_code,
            cats.c.denial_kind,
            func.count(func.distinct(first.c.claim_key)).label("claims"),
            total(cats.c.amount_cents).label("amount_cents"),
        )
        .select_from(first.join(cats, cats.c.remittance_claim_id == first.c.id))
        .where(cats.c.category == Category.DENIAL.value, period.contains(first.c.posted_on))
        .group_by(cats.c.group_code, cats.c.reason_code, cats.c.denial_kind)
    )


def denials_by_reason(conn: Connection, period: Period = ALL_TIME) -> list[ReasonDenials]:
    """Denial reasons of the first adjudications posted in ``period``, most denied dollars first."""
    first = first_adjudications()
    cats = categorized_adjustments()
    remark_rows = conn.execute(
        select(cats.c.group_code, cats.c.reason_code, remark.c.code)
        .distinct()
        .select_from(
            first.join(cats, cats.c.remittance_claim_id == first.c.id).join(
                remark,
                and_(
                    remark.c.remittance_claim_id == first.c.id,
                    # a line's remark goes with that line's adjustments; a claim-level remark with all of them
                    (remark.c.remittance_service_id.is_(None))
                    | (remark.c.remittance_service_id == cats.c.remittance_service_id),
                ),
            )
        )
        .where(cats.c.category == Category.DENIAL.value, period.contains(first.c.posted_on))
    )
    remarks: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in remark_rows:
        remarks[(str(r.group_code), str(r.reason_code))].add(str(r.code))
    rows = [
        ReasonDenials(
            str(r.group_code),
            str(r.reason_code),
            str(r.denial_kind or ""),
            integer(r.claims),
            cents(r.amount_cents),
            tuple(sorted(remarks[(str(r.group_code), str(r.reason_code))])),
        )
        for r in conn.execute(denials_by_reason_query(period))
    ]
    return sorted(rows, key=lambda r: (-r.amount, r.group_code, r.reason_code))


@dataclass(frozen=True)
class DenialWriteOffs:
    """Denied amounts written off in a period, against net revenue and against gross charges."""

    written_off: Decimal
    claims: int
    charges: Decimal  # gross charges of the period (primary claims, by date of service)
    contractual: Decimal  # contractual adjustments posted in the period

    @property
    def net_revenue(self) -> Decimal:
        """Charges − contractual adjustments."""
        return self.charges - self.contractual

    @property
    def share_of_net_revenue(self) -> Decimal | None:
        """Write-offs ÷ (charges − contractual)."""
        return rate(self.written_off, self.net_revenue)

    @property
    def share_of_charges(self) -> Decimal | None:
        """Write-offs ÷ gross charges."""
        return rate(self.written_off, self.charges)


def standing_denials() -> Subquery:
    """Per claim: the denial-category amounts of its postings, netted over reversals (what stands denied)."""
    posting = posting_facts()
    return (
        select(posting.c.claim_key, total(posting.c.denial_cents).label("denial_cents"))
        .group_by(posting.c.claim_key)
        .subquery("standing_denial")
    )


def period_charges_query(period: Period) -> Select[Any]:
    """Gross charges of the primary claims whose first date of service is in ``period``."""
    primary = primary_claims()
    return select(total(primary.c.charge_cents).label("cents")).where(period.contains(primary.c.first_service_date))


def period_contractual_query(period: Period) -> Select[Any]:
    """Contractual adjustments of the primary claims' postings dated in ``period`` (net of reversals)."""
    posting = posting_facts()
    primary = primary_claims()
    return (
        select(total(posting.c.contractual_cents).label("cents"))
        .select_from(posting.join(primary, primary.c.claim_key == posting.c.claim_key))
        .where(period.contains(posting.c.posted_on))
    )


def denial_write_offs(conn: Connection, period: Period = ALL_TIME) -> DenialWriteOffs:
    """Denied amounts of the claims written off in ``period`` (next action ``written_off``, decided then)."""
    denied = standing_denials()
    row = conn.execute(
        select(func.count().label("claims"), total(denied.c.denial_cents).label("cents"))
        .select_from(claim_action.join(denied, denied.c.claim_key == claim_action.c.claim_key))
        .where(
            claim_action.c.action == Action.WRITTEN_OFF.value,
            period.contains(local_date(claim_action.c.decided_at)),
        )
    ).one()
    charges = conn.execute(period_charges_query(period)).scalar_one()
    contractual = conn.execute(period_contractual_query(period)).scalar_one()
    return DenialWriteOffs(cents(row.cents), integer(row.claims), cents(charges), cents(contractual))
