"""The KPI summary a billing manager reads after each run (issue 6 adds the full HFMA set and views)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, and_, case, distinct, func, select

from revcycle.domain import ClaimStatus
from revcycle.money import from_cents
from revcycle.warehouse.schema import claim, claim_event, remittance_claim

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

    Clean-claim rate = claims accepted with no rejection event ÷ claims submitted.
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

    submitted = ever(ClaimStatus.SUBMITTED)
    rejected_ever = select(claim_event.c.claim_key).where(claim_event.c.status == ClaimStatus.REJECTED.value)
    clean = int(
        conn.execute(
            select(func.count(distinct(claim_event.c.claim_key))).where(
                and_(
                    claim_event.c.status == ClaimStatus.ACCEPTED.value,
                    claim_event.c.claim_key.not_in(rejected_ever),
                )
            )
        ).scalar_one()
    )
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
        claims_submitted=submitted,
        claims_accepted=ever(ClaimStatus.ACCEPTED),
        claims_rejected=count_of(ClaimStatus.REJECTED),
        claims_paid=count_of(ClaimStatus.PAID),
        claims_partially_paid=count_of(ClaimStatus.PARTIALLY_PAID),
        claims_denied=denied,
        clean_claim_rate=(Decimal(clean) / Decimal(submitted)) if submitted else None,
        denial_rate=(Decimal(denied) / Decimal(adjudicated)) if adjudicated else None,
        charged=from_cents(int(charged)),
        paid=from_cents(int(paid)),
        patient_responsibility=from_cents(int(patient)),
    )
