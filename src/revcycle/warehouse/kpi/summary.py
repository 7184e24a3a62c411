"""The run summary (counts and headline rates over the whole warehouse) and the payer scorecard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, distinct, func, select

from revcycle.domain import ClaimStatus
from revcycle.warehouse.kpi import ar, claims, denials, payments
from revcycle.warehouse.kpi.common import ALL_TIME, Period, cents, posting_facts, total
from revcycle.warehouse.schema import claim, claim_event


def _rate(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@dataclass(frozen=True)
class KpiSummary:
    """Counts, rates and dollars over every claim in the warehouse (no PHI)."""

    claims_built: int
    claims_submitted: int
    claims_accepted: int
    claims_rejected: int
    claims_paid: int
    claims_partially_paid: int
    claims_denied: int  # initial denials: the first adjudication withheld payment by a denial code
    clean_claim_rate: Decimal | None
    denial_rate: Decimal | None  # initial denial rate over claims remitted, by count
    charged: Decimal
    paid: Decimal
    patient_responsibility: Decimal

    def rows(self) -> list[tuple[str, str]]:
        """The summary as (label, value) rows for a table."""
        return [
            ("Claims built", str(self.claims_built)),
            ("Claims submitted", str(self.claims_submitted)),
            ("Accepted (277CA)", str(self.claims_accepted)),
            ("Rejected (999/277CA)", str(self.claims_rejected)),
            ("Paid", str(self.claims_paid)),
            ("Partially paid", str(self.claims_partially_paid)),
            ("Denied on first adjudication (denial codes)", str(self.claims_denied)),
            ("Clean-claim rate (HFMA, held encounters included)", _rate(self.clean_claim_rate)),
            ("Denial rate (initial, over claims remitted)", _rate(self.denial_rate)),
            ("Charged", f"${self.charged:,.2f}"),
            ("Paid by payers", f"${self.paid:,.2f}"),
            ("Patient responsibility", f"${self.patient_responsibility:,.2f}"),
        ]


def kpi_summary(conn: Connection) -> KpiSummary:
    """The run summary over the whole warehouse (docs/kpis.md has the definitions)."""
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

    remitted = denials.initial_denial_rate(conn, denials.REMITTED)
    posting = posting_facts()
    paid, patient = conn.execute(select(total(posting.c.paid_cents), total(posting.c.patient_cents))).one()
    charged = conn.execute(select(total(claim.c.total_charge_cents))).scalar_one()
    return KpiSummary(
        claims_built=sum(counts.values()),
        claims_submitted=ever(ClaimStatus.SUBMITTED),
        claims_accepted=ever(ClaimStatus.ACCEPTED),
        claims_rejected=count_of(ClaimStatus.REJECTED),
        claims_paid=count_of(ClaimStatus.PAID),
        claims_partially_paid=count_of(ClaimStatus.PARTIALLY_PAID),
        claims_denied=remitted.denied_claims,
        clean_claim_rate=claims.clean_claims(conn).rate,
        denial_rate=remitted.claim_rate,
        charged=cents(charged),
        paid=cents(paid),
        patient_responsibility=cents(patient),
    )


@dataclass(frozen=True)
class PayerScore:
    """One payer's scorecard line over a period."""

    payer_id: str
    submitted: int
    first_pass_acceptance: Decimal | None
    initial_denial_rate: Decimal | None  # over claims remitted, by count
    paid: Decimal
    median_days_to_payment: int | None
    open_ar: Decimal  # insurance, on the reference date


def payer_scorecard(
    conn: Connection,
    period: Period = ALL_TIME,
    as_of: date | None = None,
    balances: ar.Balances | None = None,
    *,
    remitted: dict[str, denials.DenialRate] | None = None,
    days_to_payment: list[payments.DaysToPayment] | None = None,
) -> list[PayerScore]:
    """Per payer: first submissions, first-pass acceptance, initial denials, paid, days to pay, open A/R.

    What the caller read already is not read again: ``balances`` (``ar.balances_on(conn, as_of)``),
    ``remitted`` (``denials.initial_denials_by_payer(conn, denials.REMITTED, period)``) and ``days_to_payment``
    (``payments.days_to_payment_by_payer(conn, period)``).
    """
    day = as_of or period.end or date.max
    first = claims.first_pass_by_payer(conn, period)
    if remitted is None:
        remitted = denials.initial_denials_by_payer(conn, denials.REMITTED, period)
    if days_to_payment is None:
        days_to_payment = payments.days_to_payment_by_payer(conn, period)
    days = {d.scope: d for d in days_to_payment}
    open_ar = ar.open_by_payer(conn, day, balances) if day != date.max else {}
    posting = posting_facts()
    paid = {
        str(r.payer_id): cents(r.cents)
        for r in conn.execute(
            select(claim.c.payer_id, total(posting.c.paid_cents).label("cents"))
            .select_from(posting.join(claim, claim.c.claim_key == posting.c.claim_key))
            .where(period.contains(posting.c.posted_on))
            .group_by(claim.c.payer_id)
        )
    }
    payers = sorted(set(first) | set(remitted) | set(paid) | {p for p, v in open_ar.items() if v})
    return [
        PayerScore(
            payer_id=p,
            submitted=first[p].submitted if p in first else 0,
            first_pass_acceptance=first[p].rate if p in first else None,
            initial_denial_rate=remitted[p].claim_rate if p in remitted else None,
            paid=paid.get(p, Decimal(0)),
            median_days_to_payment=days[p].median if p in days else None,
            open_ar=open_ar.get(p, Decimal(0)),
        )
        for p in payers
    ]
