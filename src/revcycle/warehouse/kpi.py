"""The KPIs a billing manager reads: the run summary and the HFMA set (docs/warehouse.md has the formulas).

Each KPI is a SQLAlchemy query built by a ``*_query`` function; ``revcycle.warehouse.views`` creates the same
queries as SQL views for BI tools (with ``CURRENT_DATE`` as the reference date). The functions here run them
and turn integer cents into ``Decimal`` dollars and counts into ``Decimal`` rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    Numeric,
    Select,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    text,
)

from revcycle.domain import ClaimStatus
from revcycle.money import from_cents
from revcycle.warehouse.schema import (
    adjustment,
    charge,
    charge_rejection,
    claim,
    claim_event,
    claim_status,
    denial_reason,
    fee_schedule,
    payer,
    remittance,
    remittance_claim,
    remittance_service,
)
from revcycle.warehouse.sqlfunc import add_days, days_between

_ADJUDICATED = (ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED)


@dataclass(frozen=True)
class KpiSummary:
    """Counts, rates and dollars over every claim in the warehouse (no PHI)."""

    claims_built: int
    claims_submitted: int
    claims_accepted: int
    claims_rejected: int
    claims_paid: int
    claims_partially_paid: int
    claims_denied: int
    clean_claim_rate: Decimal | None
    denial_rate: Decimal | None
    charged: Decimal
    paid: Decimal
    patient_responsibility: Decimal

    def rows(self) -> list[tuple[str, str]]:
        """The summary as (label, value) rows for a table."""

        def rate(value: Decimal | None) -> str:
            return "n/a" if value is None else f"{value:.1%}"

        return [
            ("Claims built", str(self.claims_built)),
            ("Claims submitted", str(self.claims_submitted)),
            ("Accepted (277CA)", str(self.claims_accepted)),
            ("Rejected (999/277CA)", str(self.claims_rejected)),
            ("Paid", str(self.claims_paid)),
            ("Partially paid", str(self.claims_partially_paid)),
            ("Denied", str(self.claims_denied)),
            ("Clean-claim rate", rate(self.clean_claim_rate)),
            ("Denial rate", rate(self.denial_rate)),
            ("Charged", f"${self.charged:,.2f}"),
            ("Paid by payers", f"${self.paid:,.2f}"),
            ("Patient responsibility", f"${self.patient_responsibility:,.2f}"),
        ]


def kpi_summary(conn: Connection) -> KpiSummary:
    """Compute the run summary.

    Clean-claim rate (HFMA) = claims accepted on their first submission with no edit ÷ claims submitted.
    Denial rate = claims whose current status is denied ÷ claims adjudicated (paid, partly paid, denied).
    Dollars come from the posted 835 claims that matched a claim we sent.
    """
    counts: dict[str, int] = {
        str(status): int(n) for status, n in conn.execute(select(claim.c.status, func.count()).group_by(claim.c.status))
    }

    def count_of(*statuses: ClaimStatus) -> int:
        return sum(counts.get(s.value, 0) for s in statuses)

    def ever(status: ClaimStatus) -> int:
        return int(
            conn.execute(
                select(func.count(distinct(claim_event.c.claim_key))).where(claim_event.c.status == status.value)
            ).scalar_one()
        )

    rates = claim_rates(conn)
    adjudicated = count_of(*_ADJUDICATED)
    denied = count_of(ClaimStatus.DENIED)
    charged = conn.execute(select(func.coalesce(func.sum(claim.c.total_charge_cents), 0))).scalar_one()
    paid, patient = conn.execute(
        select(
            func.coalesce(func.sum(remittance_claim.c.paid_cents), 0),
            func.coalesce(
                func.sum(case((remittance_claim.c.matched, remittance_claim.c.patient_responsibility_cents), else_=0)),
                0,
            ),
        ).where(remittance_claim.c.matched)
    ).one()
    return KpiSummary(
        claims_built=sum(counts.values()),
        claims_submitted=rates.submitted,
        claims_accepted=ever(ClaimStatus.ACCEPTED),
        claims_rejected=count_of(ClaimStatus.REJECTED),
        claims_paid=count_of(ClaimStatus.PAID),
        claims_partially_paid=count_of(ClaimStatus.PARTIALLY_PAID),
        claims_denied=denied,
        clean_claim_rate=rates.clean_claim_rate,
        denial_rate=(Decimal(denied) / Decimal(adjudicated)) if adjudicated else None,
        charged=from_cents(int(charged)),
        paid=from_cents(int(paid)),
        patient_responsibility=from_cents(int(patient)),
    )


# --- the HFMA set -------------------------------------------------------------------------------------------

OPEN_STATUSES = (
    ClaimStatus.SUBMITTED.value,
    ClaimStatus.ACCEPTED.value,
    ClaimStatus.REJECTED.value,
    ClaimStatus.REVERSED.value,
)
AGING_BUCKETS = ("0-30", "31-60", "61-90", "91-120", "over 120")
DEFAULT_APPEAL_DAYS = 90
DEFAULT_RECOVERABILITY_PCT = 50

DateArg = date | ColumnElement[Any]


def _as_of(value: DateArg) -> ColumnElement[Any]:
    return literal(value, Date) if isinstance(value, date) else value


def _rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def _sql_rate(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    """numerator ÷ denominator as a decimal in SQL (NULL when the denominator is 0), for the views."""
    return case(
        (denominator == 0, null()),
        else_=cast(numerator, Numeric(18, 6)) / cast(denominator, Numeric(18, 6)),
    )


def _denied(row: Any) -> ColumnElement[bool]:
    """A remittance claim that denies the claim: CLP02 4, or nothing paid and nothing owed by the patient."""
    return or_(row.c.status_code == "4", and_(row.c.paid_cents == 0, row.c.patient_responsibility_cents == 0))


def _effective(row: Any) -> ColumnElement[bool]:
    """A posting that stands: matched to our claim, not a reversal, not reversed since."""
    return and_(row.c.matched, row.c.status_code != "22", row.c.reversed_by_id.is_(None))


def _first_adjudications() -> Any:
    """Per claim, the id of its first adjudication (the first matched, non-reversal remittance claim)."""
    return (
        select(remittance_claim.c.claim_key, func.min(remittance_claim.c.id).label("id"))
        .where(remittance_claim.c.matched, remittance_claim.c.status_code != "22")
        .group_by(remittance_claim.c.claim_key)
        .subquery("first_adjudication")
    )


def _count(query: Select[Any]) -> ColumnElement[Any]:
    return func.coalesce(query.scalar_subquery(), 0)


@dataclass(frozen=True)
class ClaimRates:
    """Clean-claim rate and first-pass acceptance over every submitted claim."""

    submitted: int
    clean: int
    first_pass_accepted: int

    @property
    def clean_claim_rate(self) -> Decimal | None:
        """Claims accepted on their first submission with no edit ÷ claims submitted."""
        return _rate(self.clean, self.submitted)

    @property
    def first_pass_acceptance(self) -> Decimal | None:
        """Claims accepted by their first 277CA ÷ claims submitted (first submissions)."""
        return _rate(self.first_pass_accepted, self.submitted)


def claim_rates_query() -> Select[Any]:
    """One row: submitted, clean and first-pass-accepted claim counts, and both rates."""
    submissions = (
        select(claim_event.c.claim_key, func.count().label("n"))
        .where(claim_event.c.status == ClaimStatus.SUBMITTED.value)
        .group_by(claim_event.c.claim_key)
        .subquery("submissions")
    )
    rejected = select(claim_event.c.claim_key).where(claim_event.c.status == ClaimStatus.REJECTED.value)
    accepted = select(claim_event.c.claim_key).where(claim_event.c.status == ClaimStatus.ACCEPTED.value)
    edited = (
        select(charge.c.claim_key)
        .join(charge_rejection, charge_rejection.c.charge_id == charge.c.charge_id)
        .where(charge.c.claim_key.is_not(None))
    )
    submitted = _count(select(func.count()).select_from(submissions))
    clean = _count(
        select(func.count())
        .select_from(submissions.join(claim, claim.c.claim_key == submissions.c.claim_key))
        .where(
            submissions.c.n == 1,
            claim.c.frequency_code == "1",
            submissions.c.claim_key.in_(accepted),
            submissions.c.claim_key.not_in(rejected),
            submissions.c.claim_key.not_in(edited),
        )
    )
    first_status = (
        select(claim_status.c.claim_key, func.min(claim_status.c.id).label("id"))
        .where(claim_status.c.matched)
        .group_by(claim_status.c.claim_key)
        .subquery("first_status")
    )
    first_pass = _count(
        select(func.count())
        .select_from(
            first_status.join(claim_status, claim_status.c.id == first_status.c.id).join(
                submissions, submissions.c.claim_key == first_status.c.claim_key
            )
        )
        .where(claim_status.c.accepted)
    )
    return select(
        submitted.label("claims_submitted"),
        clean.label("clean_claims"),
        first_pass.label("first_pass_accepted"),
        _sql_rate(clean, submitted).label("clean_claim_rate"),
        _sql_rate(first_pass, submitted).label("first_pass_acceptance"),
    )


def claim_rates(conn: Connection) -> ClaimRates:
    """Clean-claim rate and first-pass acceptance (HFMA), over the whole warehouse."""
    row = conn.execute(claim_rates_query()).one()
    return ClaimRates(int(row.claims_submitted), int(row.clean_claims), int(row.first_pass_accepted))


@dataclass(frozen=True)
class DenialRate:
    """Initial denials of one payer: claims and dollars denied on first adjudication ÷ adjudicated."""

    payer_id: str
    adjudicated_claims: int
    denied_claims: int
    adjudicated: Decimal
    denied: Decimal

    @property
    def claim_rate(self) -> Decimal | None:
        """Claims denied on first adjudication ÷ claims adjudicated."""
        return _rate(self.denied_claims, self.adjudicated_claims)

    @property
    def dollar_rate(self) -> Decimal | None:
        """Charges of claims denied on first adjudication ÷ charges adjudicated."""
        return _rate(self.denied, self.adjudicated)


def denials_by_payer_query() -> Select[Any]:
    """Per payer: claims and charge cents adjudicated and denied on first adjudication, and the rates."""
    first = _first_adjudications()
    fa = remittance_claim.alias("fa")
    denied_claims = func.sum(case((_denied(fa), 1), else_=0))
    denied_cents = func.sum(case((_denied(fa), fa.c.charge_cents), else_=0))
    return (
        select(
            claim.c.payer_id,
            func.count().label("adjudicated_claims"),
            denied_claims.label("denied_claims"),
            func.sum(fa.c.charge_cents).label("adjudicated_cents"),
            denied_cents.label("denied_cents"),
            _sql_rate(denied_claims, func.count()).label("claim_rate"),
            _sql_rate(denied_cents, func.sum(fa.c.charge_cents)).label("dollar_rate"),
        )
        .select_from(first.join(fa, fa.c.id == first.c.id).join(claim, claim.c.claim_key == first.c.claim_key))
        .group_by(claim.c.payer_id)
    )


def initial_denials_by_payer(conn: Connection) -> list[DenialRate]:
    """Initial denial rate by payer, claims and dollars, ordered by payer id."""
    rows = conn.execute(denials_by_payer_query().order_by(claim.c.payer_id))
    return [
        DenialRate(
            str(r.payer_id),
            int(r.adjudicated_claims),
            int(r.denied_claims),
            from_cents(int(r.adjudicated_cents)),
            from_cents(int(r.denied_cents)),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class ReasonDenialRate:
    """Initial denials carrying one CAS group and reason ÷ everything adjudicated."""

    group_code: str
    reason_code: str
    denied_claims: int
    denied: Decimal  # the CAS amounts of this group and reason on the denied claims
    adjudicated_claims: int
    adjudicated: Decimal

    @property
    def claim_rate(self) -> Decimal | None:
        """Claims denied on first adjudication with this reason ÷ claims adjudicated."""
        return _rate(self.denied_claims, self.adjudicated_claims)

    @property
    def dollar_rate(self) -> Decimal | None:
        """This reason's denied amounts ÷ charges adjudicated."""
        return _rate(self.denied, self.adjudicated)


def denials_by_reason_query() -> Select[Any]:
    """Per CAS group and reason on first-adjudication denials: claims, cents and the rates."""
    first = _first_adjudications()
    fa = remittance_claim.alias("fa")
    totals_first = _first_adjudications()
    ta = remittance_claim.alias("ta")
    adjudicated_claims = _count(select(func.count()).select_from(totals_first))
    adjudicated_cents = _count(
        select(func.sum(ta.c.charge_cents)).select_from(totals_first.join(ta, ta.c.id == totals_first.c.id))
    )
    denied_claims = func.count(distinct(fa.c.claim_key))
    denied_cents = func.sum(adjustment.c.amount_cents)
    return (
        select(
            adjustment.c.group_code,
            adjustment.c.reason_code,
            denied_claims.label("denied_claims"),
            denied_cents.label("denied_cents"),
            adjudicated_claims.label("adjudicated_claims"),
            adjudicated_cents.label("adjudicated_cents"),
            _sql_rate(denied_claims, adjudicated_claims).label("claim_rate"),
            _sql_rate(denied_cents, adjudicated_cents).label("dollar_rate"),
        )
        .select_from(
            first.join(fa, fa.c.id == first.c.id).join(adjustment, adjustment.c.remittance_claim_id == fa.c.id)
        )
        .where(_denied(fa))
        .group_by(adjustment.c.group_code, adjustment.c.reason_code)
    )


def initial_denials_by_reason(conn: Connection) -> list[ReasonDenialRate]:
    """Initial denial rate by CAS group and reason (claims and dollars), most denied dollars first."""
    query = denials_by_reason_query().order_by(
        func.sum(adjustment.c.amount_cents).desc(), adjustment.c.group_code, adjustment.c.reason_code
    )
    return [
        ReasonDenialRate(
            str(r.group_code),
            str(r.reason_code),
            int(r.denied_claims),
            from_cents(int(r.denied_cents)),
            int(r.adjudicated_claims),
            from_cents(int(r.adjudicated_cents)),
        )
        for r in conn.execute(query)
    ]


@dataclass(frozen=True)
class NetCollection:
    """Net collection rate = payments ÷ (charges − contractual adjustments, CAS group CO)."""

    payments: Decimal
    charges: Decimal
    contractual: Decimal

    @property
    def rate(self) -> Decimal | None:
        """payments ÷ (charges − contractual)."""
        return _rate(self.payments, self.charges - self.contractual)


def net_collection_query() -> Select[Any]:
    """One row: payment, charge and CO-adjustment cents of the standing postings, and the rate."""
    payments = _count(select(func.sum(remittance_claim.c.paid_cents)).where(_effective(remittance_claim)))
    charges = _count(select(func.sum(remittance_claim.c.charge_cents)).where(_effective(remittance_claim)))
    contractual = _count(
        select(func.sum(adjustment.c.amount_cents))
        .select_from(adjustment.join(remittance_claim, remittance_claim.c.id == adjustment.c.remittance_claim_id))
        .where(_effective(remittance_claim), adjustment.c.group_code == "CO")
    )
    return select(
        payments.label("payment_cents"),
        charges.label("charge_cents"),
        contractual.label("contractual_cents"),
        _sql_rate(payments, charges - contractual).label("net_collection_rate"),
    )


def net_collection_rate(conn: Connection) -> NetCollection:
    """The net collection rate over every standing posting."""
    row = conn.execute(net_collection_query()).one()
    return NetCollection(
        from_cents(int(row.payment_cents)), from_cents(int(row.charge_cents)), from_cents(int(row.contractual_cents))
    )


@dataclass(frozen=True)
class DaysInAR:
    """Days in A/R = open insurance A/R ÷ (charges of the last 90 days ÷ 90)."""

    open_ar: Decimal
    charges_90_days: Decimal

    @property
    def days(self) -> Decimal | None:
        """open A/R ÷ average daily charges of the last 90 days."""
        return _rate(self.open_ar, self.charges_90_days / 90) if self.charges_90_days else None


def _open_claims() -> ColumnElement[bool]:
    return and_(claim.c.status.in_(OPEN_STATUSES), claim.c.submitted_at.is_not(None))


def days_in_ar_query(as_of: DateArg) -> Select[Any]:
    """One row: open insurance A/R cents, charge cents of the 90 days up to ``as_of``, and days in A/R."""
    day = _as_of(as_of)
    open_ar = _count(select(func.sum(claim.c.total_charge_cents)).where(_open_claims()))
    age = days_between(day, claim.c.first_service_date)
    recent = _count(select(func.sum(claim.c.total_charge_cents)).where(age >= 0, age < 90))
    return select(
        open_ar.label("open_ar_cents"),
        recent.label("charges_90_days_cents"),
        _sql_rate(open_ar * 90, recent).label("days_in_ar"),
    )


def days_in_ar(conn: Connection, as_of: date) -> DaysInAR:
    """Days in A/R on ``as_of``."""
    row = conn.execute(days_in_ar_query(as_of)).one()
    return DaysInAR(from_cents(int(row.open_ar_cents)), from_cents(int(row.charges_90_days_cents)))


@dataclass(frozen=True)
class AgingBucket:
    """Open insurance A/R of one payer in one age bucket (days since submission)."""

    payer_id: str
    bucket: str
    claims: int
    amount: Decimal


def ar_aging_query(as_of: DateArg) -> Select[Any]:
    """Per payer and bucket (0-30, 31-60, 61-90, 91-120, over 120 days since submission): claims and cents."""
    age = days_between(_as_of(as_of), claim.c.submitted_at)
    bucket = case(
        (age <= 30, AGING_BUCKETS[0]),
        (age <= 60, AGING_BUCKETS[1]),
        (age <= 90, AGING_BUCKETS[2]),
        (age <= 120, AGING_BUCKETS[3]),
        else_=AGING_BUCKETS[4],
    ).label("bucket")
    return (
        select(
            claim.c.payer_id,
            bucket,
            func.count().label("claims"),
            func.sum(claim.c.total_charge_cents).label("amount_cents"),
        )
        .where(_open_claims())
        .group_by(claim.c.payer_id, bucket)
    )


def ar_aging(conn: Connection, as_of: date) -> list[AgingBucket]:
    """A/R aging buckets by payer on ``as_of`` (only buckets holding claims), by payer then age."""
    rows = [
        AgingBucket(str(r.payer_id), str(r.bucket), int(r.claims), from_cents(int(r.amount_cents)))
        for r in conn.execute(ar_aging_query(as_of))
    ]
    return sorted(rows, key=lambda b: (b.payer_id, AGING_BUCKETS.index(b.bucket)))


@dataclass(frozen=True)
class DaysToPayment:
    """Average days from submission to payment of one payer's paid claims."""

    payer_id: str
    payments: int
    total_days: int

    @property
    def average_days(self) -> Decimal | None:
        """Total days ÷ payments."""
        return _rate(self.total_days, self.payments)


def days_to_payment_query() -> Select[Any]:
    """Per payer: standing postings that paid something, their summed and average days since submission."""
    days = days_between(remittance.c.payment_date, claim.c.submitted_at)
    return (
        select(
            claim.c.payer_id,
            func.count().label("payments"),
            func.sum(days).label("total_days"),
            _sql_rate(func.sum(days), func.count()).label("average_days"),
        )
        .select_from(
            remittance_claim.join(remittance, remittance.c.id == remittance_claim.c.remittance_id).join(
                claim, claim.c.claim_key == remittance_claim.c.claim_key
            )
        )
        .where(
            _effective(remittance_claim),
            remittance_claim.c.paid_cents > 0,
            claim.c.submitted_at.is_not(None),
            remittance.c.payment_date.is_not(None),
        )
        .group_by(claim.c.payer_id)
    )


def days_to_payment(conn: Connection) -> list[DaysToPayment]:
    """Average days from submission to payment, by payer."""
    return [
        DaysToPayment(str(r.payer_id), int(r.payments), int(r.total_days))
        for r in conn.execute(days_to_payment_query().order_by(claim.c.payer_id))
    ]


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
            _effective(remittance_claim),
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
            from_cents(int(r.contracted_cents)),
            from_cents(int(r.patient_responsibility_cents)),
            from_cents(int(r.expected_cents)),
            from_cents(int(r.paid_cents)),
        )
        for r in conn.execute(query)
    ]


@dataclass(frozen=True)
class WorklistItem:
    """A denied claim to work: its reason, amount, appeal deadline and priority (amount × recoverability)."""

    claim_key: str
    payer_id: str
    reason: str  # CAS group-reason of the largest denial adjustment, e.g. CO-16
    amount: Decimal
    payment_date: date | None
    appeal_deadline: date | None
    days_left: int | None
    recoverability_pct: int
    priority: Decimal


def denial_worklist_query(as_of: DateArg) -> Select[Any]:
    """Claims whose current status is denied, with their standing denial posting, reason and deadline."""
    day = _as_of(as_of)
    latest = (
        select(remittance_claim.c.claim_key, func.max(remittance_claim.c.id).label("id"))
        .where(_effective(remittance_claim))
        .group_by(remittance_claim.c.claim_key)
        .subquery("latest_posting")
    )
    rc = remittance_claim.alias("rc")
    top = adjustment.alias("top")
    top_reason = (
        select(top.c.group_code + "-" + top.c.reason_code)
        .where(top.c.remittance_claim_id == rc.c.id, top.c.group_code != "PR")
        .order_by(top.c.amount_cents.desc(), top.c.sequence)
        .limit(1)
        .scalar_subquery()
    )
    pct_adjustment = adjustment.alias("pct_adjustment")
    top_pct = (
        select(func.coalesce(denial_reason.c.recoverability_pct, DEFAULT_RECOVERABILITY_PCT))
        .select_from(
            pct_adjustment.outerjoin(denial_reason, denial_reason.c.reason_code == pct_adjustment.c.reason_code)
        )
        .where(pct_adjustment.c.remittance_claim_id == rc.c.id, pct_adjustment.c.group_code != "PR")
        .order_by(pct_adjustment.c.amount_cents.desc(), pct_adjustment.c.sequence)
        .limit(1)
        .scalar_subquery()
    )
    deadline = add_days(remittance.c.payment_date, func.coalesce(payer.c.appeal_days, DEFAULT_APPEAL_DAYS))
    days_left = days_between(deadline, day)
    # Past its deadline a denial is no longer recoverable by appeal.
    recoverability = case((days_left < 0, 0), else_=func.coalesce(top_pct, DEFAULT_RECOVERABILITY_PCT))
    return (
        select(
            claim.c.claim_key,
            claim.c.payer_id,
            func.coalesce(top_reason, "").label("reason"),
            rc.c.charge_cents.label("amount_cents"),
            remittance.c.payment_date,
            deadline.label("appeal_deadline"),
            days_left.label("days_left"),
            recoverability.label("recoverability_pct"),
            (rc.c.charge_cents * recoverability).label("priority_cent_pct"),
        )
        .select_from(
            claim.join(latest, latest.c.claim_key == claim.c.claim_key)
            .join(rc, rc.c.id == latest.c.id)
            .join(remittance, remittance.c.id == rc.c.remittance_id)
            .outerjoin(payer, payer.c.payer_id == claim.c.payer_id)
        )
        .where(claim.c.status == ClaimStatus.DENIED.value)
    )


def denial_worklist(conn: Connection, as_of: date) -> list[WorklistItem]:
    """Denied claims, worth working first first: amount × recoverability, then nearest deadline."""
    query = denial_worklist_query(as_of).order_by(
        text("priority_cent_pct DESC"), text("appeal_deadline"), claim.c.claim_key
    )
    items = []
    for r in conn.execute(query):
        payment_date = r.payment_date
        deadline = r.appeal_deadline
        if isinstance(deadline, str):
            deadline = date.fromisoformat(deadline)
        items.append(
            WorklistItem(
                claim_key=str(r.claim_key),
                payer_id=str(r.payer_id),
                reason=str(r.reason),
                amount=from_cents(int(r.amount_cents)),
                payment_date=payment_date,
                appeal_deadline=deadline,
                days_left=None if r.days_left is None else int(r.days_left),
                recoverability_pct=int(r.recoverability_pct),
                priority=(Decimal(int(r.priority_cent_pct)) / 10000).quantize(Decimal("0.01")),
            )
        )
    return items


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
    return [(r.payment_date, from_cents(int(r.paid_cents))) for r in rows]


def _pairs(result: Any) -> dict[str, int]:
    return {str(key): int(value or 0) for key, value in result}


@dataclass(frozen=True)
class PayerScore:
    """One payer's scorecard line."""

    payer_id: str
    submitted: int
    first_pass_acceptance: Decimal | None
    initial_denial_rate: Decimal | None
    paid: Decimal
    average_days_to_payment: Decimal | None
    open_ar: Decimal


def payer_scorecard(conn: Connection) -> list[PayerScore]:
    """Per payer: claims submitted, first-pass acceptance, initial denial rate, paid, days to pay, open A/R."""
    submitted: dict[str, int] = _pairs(
        conn.execute(
            select(claim.c.payer_id, func.count(distinct(claim_event.c.claim_key)))
            .join(claim, claim.c.claim_key == claim_event.c.claim_key)
            .where(claim_event.c.status == ClaimStatus.SUBMITTED.value)
            .group_by(claim.c.payer_id)
        ).all()
    )
    first_status = (
        select(claim_status.c.claim_key, func.min(claim_status.c.id).label("id"))
        .where(claim_status.c.matched)
        .group_by(claim_status.c.claim_key)
        .subquery()
    )
    accepted_first: dict[str, int] = _pairs(
        conn.execute(
            select(claim.c.payer_id, func.count())
            .select_from(
                first_status.join(claim_status, claim_status.c.id == first_status.c.id).join(
                    claim, claim.c.claim_key == first_status.c.claim_key
                )
            )
            .where(claim_status.c.accepted)
            .group_by(claim.c.payer_id)
        ).all()
    )
    paid: dict[str, int] = _pairs(
        conn.execute(
            select(claim.c.payer_id, func.sum(remittance_claim.c.paid_cents))
            .join(claim, claim.c.claim_key == remittance_claim.c.claim_key)
            .where(remittance_claim.c.matched)
            .group_by(claim.c.payer_id)
        ).all()
    )
    open_ar: dict[str, int] = _pairs(
        conn.execute(
            select(claim.c.payer_id, func.sum(claim.c.total_charge_cents))
            .where(_open_claims())
            .group_by(claim.c.payer_id)
        ).all()
    )
    denials = {d.payer_id: d for d in initial_denials_by_payer(conn)}
    days = {d.payer_id: d for d in days_to_payment(conn)}
    payers = sorted(set(submitted) | set(paid) | set(open_ar) | set(denials))
    return [
        PayerScore(
            payer_id=str(p),
            submitted=int(submitted.get(p, 0)),
            first_pass_acceptance=_rate(int(accepted_first.get(p, 0)), int(submitted.get(p, 0))),
            initial_denial_rate=denials[p].claim_rate if p in denials else None,
            paid=from_cents(int(paid.get(p, 0) or 0)),
            average_days_to_payment=days[p].average_days if p in days else None,
            open_ar=from_cents(int(open_ar.get(p, 0) or 0)),
        )
        for p in payers
    ]
