"""Eligibility and silence: claims held for coverage, 271s late, claims past their lag, verification rate.

- **Insurance verification rate**: of the claims the eligibility step reviewed (``claim_coverage``), the share
  whose member and payer pair had a 271 within the window at their latest review.
- **Eligibility holds**: open ``claim_hold`` rows at stage ``coverage``, counted by kind (inactive, another
  primary payer, no coverage answer, awaiting a 271).
- **Late 271s**: inquiries still unanswered ``LATE_AFTER`` after they were staged.
- **Claims past their lag**: submitted or accepted claims (no 835) uploaded at least ``after_days`` ago, with
  their latest 276 and the status its 277 gave.

Keys, payer ids, dates and codes only: no PHI.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, func, select

from revcycle.clock import Clock
from revcycle.eligibility import AWAITING, HOLD_STAGE, LATE_AFTER
from revcycle.status_inquiry import SILENT_STATUSES
from revcycle.warehouse.schema import claim, claim_coverage, claim_hold, eligibility_check, status_inquiry


@dataclass(frozen=True)
class PastLag:
    """A claim with no 835 past its lag: key, payer, upload date, days since, its latest 276 and 277 status."""

    claim_key: str
    payer_id: str
    submitted_on: date
    days: int
    inquired_on: date | None
    status: str  # the 277's STC01 category:code, "" when none yet


@dataclass(frozen=True)
class CoverageReport:
    """Everything the report shows about eligibility and silent claims."""

    reviewed: int
    verified: int
    holds: list[tuple[str, str, str, date]]  # claim key, payer, reason, held since
    hold_counts: dict[str, int]
    late_271: int
    past_lag: list[PastLag]

    @property
    def verification_rate(self) -> Decimal | None:
        """Verified claims over reviewed claims, as a percentage to one decimal (None when none reviewed)."""
        if not self.reviewed:
            return None
        return (Decimal(100) * self.verified / self.reviewed).quantize(Decimal("0.1"))


def hold_kind(reason: str) -> str:
    """The kind of a coverage hold from its reason (the reasons ``revcycle.eligibility.decide`` writes)."""
    if reason.endswith(AWAITING):
        return "awaiting 271"
    if "coverage is inactive" in reason:
        return "inactive"
    if "as the primary payer" in reason:
        return "another primary payer"
    return "no coverage answer"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def coverage_report(conn: Connection, clock: Clock, after_days: int) -> CoverageReport:
    """Read the figures at ``clock.now()``, claims past ``after_days`` days without an 835 (local dates)."""
    now = clock.now()
    reviewed = conn.execute(select(func.count()).select_from(claim_coverage)).scalar_one()
    verified = conn.execute(
        select(func.count()).select_from(claim_coverage).where(claim_coverage.c.verified.is_(True))
    ).scalar_one()
    holds = [
        (r.claim_key, r.payer_id, r.reason, clock.local_date(_utc(r.created_at)))
        for r in conn.execute(
            select(claim_hold)
            .where(claim_hold.c.stage == HOLD_STAGE, claim_hold.c.released_at.is_(None))
            .order_by(claim_hold.c.created_at, claim_hold.c.claim_key)
        )
    ]
    counts = Counter(hold_kind(reason) for _key, _payer, reason, _since in holds)
    late = sum(
        1
        for (requested,) in conn.execute(
            select(eligibility_check.c.requested_at).where(eligibility_check.c.answered_at.is_(None))
        )
        if now - _utc(requested) >= LATE_AFTER
    )
    latest: dict[str, tuple[datetime, str]] = {}
    for r in conn.execute(select(status_inquiry).order_by(status_inquiry.c.requested_at)):
        code = f"{r.category}:{r.status_code}" if r.category else ""
        latest[r.claim_key] = (_utc(r.requested_at), code)
    past: list[PastLag] = []
    for r in conn.execute(
        select(claim.c.claim_key, claim.c.payer_id, claim.c.submitted_at)
        .where(claim.c.status.in_(SILENT_STATUSES), claim.c.submitted_at.is_not(None))
        .order_by(claim.c.submitted_at, claim.c.claim_key)
    ):
        age = now - _utc(r.submitted_at)
        if age < timedelta(days=after_days):
            continue
        asked = latest.get(r.claim_key)
        past.append(
            PastLag(
                r.claim_key,
                r.payer_id,
                clock.local_date(_utc(r.submitted_at)),
                age.days,
                clock.local_date(asked[0]) if asked else None,
                asked[1] if asked else "",
            )
        )
    return CoverageReport(reviewed, verified, holds, dict(counts), late, past)
