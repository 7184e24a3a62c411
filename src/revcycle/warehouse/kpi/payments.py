"""Payments family: cash collected, net collection rate (MGMA), days to payment, payments by date, underpayments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, Numeric, Select, and_, case, cast, func, literal, select, text, true
from sqlalchemy.sql import Subquery

from revcycle.warehouse.kpi.common import (
    ALL_TIME,
    Period,
    as_date,
    cents,
    first_of_each,
    integer,
    posted_on,
    posting_facts,
    rate,
    sql_rate,
    standing,
    total,
)
from revcycle.warehouse.kpi.denials import period_charges_query, period_contractual_query
from revcycle.warehouse.kpi.units import first_submissions
from revcycle.warehouse.schema import (
    adjustment,
    claim,
    fee_schedule,
    patient_payment,
    remittance,
    remittance_claim,
    remittance_service,
    source_file,
)
from revcycle.warehouse.sqlfunc import days_between, week_start

INSURANCE = "insurance"
PATIENT = "patient"


def money_received() -> Subquery:
    """Every payment received: each 835's BPR02 (source insurance) and each patient payment, with its date."""
    insurance = select(
        posted_on().label("received_on"),
        literal(INSURANCE).label("source"),
        remittance.c.payment_cents.label("cents"),
    ).select_from(remittance.join(source_file, source_file.c.id == remittance.c.source_file_id))
    patients = select(patient_payment.c.payment_date, literal(PATIENT), patient_payment.c.amount_cents)
    return insurance.union_all(patients).subquery("money_received")


def cash_collected_query(period: Period = ALL_TIME, *, by_week: bool = False) -> Select[Any]:
    """Insurance and patient cents received in ``period`` (optionally per week)."""
    received = money_received()
    keys: list[Any] = [week_start(received.c.received_on).label("week")] if by_week else []
    query = select(
        *keys,
        total(case((received.c.source == INSURANCE, received.c.cents), else_=0)).label("insurance_cents"),
        total(case((received.c.source == PATIENT, received.c.cents), else_=0)).label("patient_cents"),
    ).where(period.contains(received.c.received_on))
    return query.group_by(*keys) if keys else query


@dataclass(frozen=True)
class Cash:
    """Money received in a period."""

    insurance: Decimal
    patient: Decimal

    @property
    def total(self) -> Decimal:
        """Insurance and patient."""
        return self.insurance + self.patient


def cash_collected(conn: Connection, period: Period = ALL_TIME) -> Cash:
    """Cash collected in ``period``: 835 payments (BPR02) and patient payments."""
    row = conn.execute(cash_collected_query(period)).one()
    return Cash(cents(row.insurance_cents), cents(row.patient_cents))


def cash_by_week(conn: Connection, period: Period) -> dict[date, Cash]:
    """Cash collected per week (Monday)."""
    rows = conn.execute(cash_collected_query(period, by_week=True))
    return {d: Cash(cents(r.insurance_cents), cents(r.patient_cents)) for r in rows if (d := as_date(r.week))}


@dataclass(frozen=True)
class NetCollection:
    """MGMA adjusted (net) collection rate: payments ÷ (charges − contractual adjustments), over a period."""

    insurance_payments: Decimal
    patient_payments: Decimal
    charges: Decimal
    contractual: Decimal
    patient_included: bool

    @property
    def payments(self) -> Decimal:
        """The payments the rate counts: insurance and patient, or insurance only without patient payments."""
        return self.insurance_payments + (self.patient_payments if self.patient_included else Decimal(0))

    @property
    def rate(self) -> Decimal | None:
        """payments ÷ (charges − contractual)."""
        return rate(self.payments, self.charges - self.contractual)

    @property
    def qualifier(self) -> str:
        """What the payments include, for the label."""
        return (
            "insurance and patient payments" if self.patient_included else "insurance only: no patient payments loaded"
        )


def net_collection_query(period: Period = ALL_TIME) -> Select[Any]:
    """One row: payment cents (insurance, on our claims, net of reversals; patient), charges, contractual."""
    posting = posting_facts()
    # Four one-row aggregates joined: each is computed once (an inlined scalar subquery would be computed
    # again for every expression that reads it).
    insurance = (
        select(total(posting.c.paid_cents).label("cents")).where(period.contains(posting.c.posted_on)).subquery("ins")
    )
    patient = (
        select(total(patient_payment.c.amount_cents).label("cents"))
        .where(period.contains(patient_payment.c.payment_date))
        .subquery("pat")
    )
    charges = period_charges_query(period).subquery("chg")
    contractual = period_contractual_query(period).subquery("con")
    net = charges.c.cents - contractual.c.cents
    return select(
        insurance.c.cents.label("insurance_cents"),
        patient.c.cents.label("patient_cents"),
        charges.c.cents.label("charge_cents"),
        contractual.c.cents.label("contractual_cents"),
        sql_rate(insurance.c.cents, net).label("insurance_only_rate"),
        sql_rate(insurance.c.cents + patient.c.cents, net).label("net_collection_rate"),
    ).select_from(insurance.join(patient, true()).join(charges, true()).join(contractual, true()))


def net_collection_rate(conn: Connection, period: Period = ALL_TIME, *, patient_included: bool) -> NetCollection:
    """The net collection rate over ``period``."""
    row = conn.execute(net_collection_query(period)).one()
    return NetCollection(
        cents(row.insurance_cents),
        cents(row.patient_cents),
        cents(row.charge_cents),
        cents(row.contractual_cents),
        patient_included,
    )


# --- days to payment --------------------------------------------------------------------------------------------


def first_payments() -> Subquery:
    """Per claim: its first payment (the earliest posting paying something) and days since first submission."""
    posting = posting_facts()
    first = first_submissions()
    undated_last = case((posting.c.posted_on.is_(None), 1), else_=0)
    ranked = (
        select(
            posting.c.claim_key,
            posting.c.posted_on,
            func.row_number()
            .over(partition_by=posting.c.claim_key, order_by=(undated_last, posting.c.posted_on, posting.c.id))
            .label("rank"),
        )
        .where(posting.c.reversal == 0, posting.c.paid_cents > 0)
        .subquery("ranked_payment")
    )
    paid = first_of_each(ranked, "claim_key", "first_paying_posting")
    return (
        select(
            paid.c.claim_key,
            claim.c.payer_id,
            paid.c.posted_on.label("paid_on"),
            days_between(paid.c.posted_on, first.c.submitted_on).label("days"),
        )
        .select_from(
            paid.join(first, first.c.claim_key == paid.c.claim_key).join(claim, claim.c.claim_key == paid.c.claim_key)
        )
        .where(paid.c.posted_on.is_not(None))
        .subquery("first_payment")
    )


def percentile(column: Any, rank: Any, count: Any, percent: int) -> Any:
    """The nearest-rank percentile: the smallest value with at least ``percent`` % of the values at or below it.

    Integer arithmetic on ranks, so SQLite and PostgreSQL agree exactly: rank r qualifies when 100 r >= p n.
    """
    return func.min(case((rank * 100 >= count * percent, column)))


def days_to_payment_query(period: Period = ALL_TIME, *, by: str | None = "payer") -> Select[Any]:
    """Median and 90th percentile of days from first submission to first payment, of the claims first paid in
    ``period``: per payer (``by="payer"``), per week of payment (``by="week"``), or overall (``by=None``)."""
    paid = first_payments()
    if by == "payer":
        group: Any = paid.c.payer_id
    elif by == "week":
        group = week_start(paid.c.paid_on)
    else:
        group = literal("all")
    ranked = (
        select(
            group.label("grp"),
            paid.c.days,
            func.row_number().over(partition_by=group, order_by=paid.c.days).label("rank"),
            func.count().over(partition_by=group).label("n"),
        )
        .where(period.contains(paid.c.paid_on))
        .subquery("ranked_days")
    )
    return select(
        ranked.c.grp.label("payer_id" if by == "payer" else "week" if by == "week" else "scope"),
        func.count().label("claims"),
        percentile(ranked.c.days, ranked.c.rank, ranked.c.n, 50).label("median_days"),
        percentile(ranked.c.days, ranked.c.rank, ranked.c.n, 90).label("p90_days"),
    ).group_by(ranked.c.grp)


@dataclass(frozen=True)
class DaysToPayment:
    """Days from first submission to first payment of the claims first paid in a period."""

    scope: str  # a payer id, or "all"
    claims: int
    median: int | None
    p90: int | None


def _days(scope: str, row: Any) -> DaysToPayment:
    return DaysToPayment(
        scope,
        integer(row.claims),
        None if row.median_days is None else int(row.median_days),
        None if row.p90_days is None else int(row.p90_days),
    )


def days_to_payment(conn: Connection, period: Period = ALL_TIME) -> DaysToPayment:
    """Median and 90th percentile over every payer."""
    row = conn.execute(days_to_payment_query(period, by=None)).first()
    return _days("all", row) if row is not None else DaysToPayment("all", 0, None, None)


def days_to_payment_by_payer(conn: Connection, period: Period = ALL_TIME) -> list[DaysToPayment]:
    """Median and 90th percentile per payer, by payer id."""
    rows = conn.execute(days_to_payment_query(period, by="payer"))
    return sorted((_days(str(r.payer_id), r) for r in rows), key=lambda d: d.scope)


def days_to_payment_by_week(conn: Connection, period: Period) -> dict[date, DaysToPayment]:
    """Median and 90th percentile per week (Monday) of first payment."""
    rows = conn.execute(days_to_payment_query(period, by="week"))
    return {d: _days(d.isoformat(), r) for r in rows if (d := as_date(r.week)) is not None}


# --- payments by date, underpayments ---------------------------------------------------------------------------


def payments_by_date_query() -> Select[Any]:
    """Per payment date (BPR16): cents paid on our claims, net of reversals."""
    return (
        select(remittance.c.payment_date, func.sum(remittance_claim.c.paid_cents).label("paid_cents"))
        .select_from(remittance_claim.join(remittance, remittance.c.id == remittance_claim.c.remittance_id))
        .where(remittance_claim.c.matched, remittance.c.payment_date.is_not(None))
        .group_by(remittance.c.payment_date)
    )


def payments_by_date(conn: Connection) -> list[tuple[date, Decimal]]:
    """Payments over time: (payment date, dollars), oldest first."""
    rows = conn.execute(payments_by_date_query().order_by(remittance.c.payment_date))
    return [(d, cents(r.paid_cents)) for r in rows if (d := as_date(r.payment_date)) is not None]


@dataclass(frozen=True)
class Underpayment:
    """A paid service line below its contract: expected = contracted × units − patient responsibility."""

    claim_key: str
    payer_id: str
    procedure_code: str
    units: str
    contracted: Decimal
    patient_responsibility: Decimal
    expected: Decimal
    paid: Decimal

    @property
    def shortfall(self) -> Decimal:
        """Expected minus paid."""
        return self.expected - self.paid


def underpayments_query() -> Select[Any]:
    """Service lines of standing postings paid below contracted × units minus their PR adjustments."""
    pr = (
        select(func.coalesce(func.sum(adjustment.c.amount_cents), 0))
        .where(adjustment.c.remittance_service_id == remittance_service.c.id, adjustment.c.group_code == "PR")
        .scalar_subquery()
    )
    units = func.coalesce(remittance_service.c.units, "1")
    contracted_total = cast(func.round(fee_schedule.c.contracted_cents * cast(units, Numeric(12, 3))), BigInteger)
    expected = contracted_total - pr
    return (
        select(
            remittance_claim.c.claim_key,
            claim.c.payer_id,
            remittance_service.c.procedure_code,
            units.label("units"),
            fee_schedule.c.contracted_cents,
            pr.label("patient_responsibility_cents"),
            expected.label("expected_cents"),
            remittance_service.c.paid_cents,
            (expected - remittance_service.c.paid_cents).label("shortfall_cents"),
        )
        .select_from(
            remittance_service.join(remittance_claim, remittance_claim.c.id == remittance_service.c.remittance_claim_id)
            .join(claim, claim.c.claim_key == remittance_claim.c.claim_key)
            .join(
                fee_schedule,
                and_(
                    fee_schedule.c.payer_id == claim.c.payer_id,
                    fee_schedule.c.procedure_code == remittance_service.c.procedure_code,
                ),
            )
        )
        .where(
            standing(remittance_claim),
            remittance_service.c.paid_cents > 0,
            remittance_service.c.paid_cents < expected,
        )
    )


def underpayments(conn: Connection) -> list[Underpayment]:
    """Paid lines below the payer's fee schedule, largest shortfall first."""
    query = underpayments_query().order_by(
        text("shortfall_cents DESC"), remittance_claim.c.claim_key, remittance_service.c.sequence
    )
    return [
        Underpayment(
            str(r.claim_key),
            str(r.payer_id),
            str(r.procedure_code),
            str(r.units),
            cents(r.contracted_cents),
            cents(r.patient_responsibility_cents),
            cents(r.expected_cents),
            cents(r.paid_cents),
        )
        for r in conn.execute(query)
    ]
