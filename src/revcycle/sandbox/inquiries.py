"""The sandbox payer's answers to 270 eligibility and 276 claim status inquiries, from its own state.

Timing follows the CAQH CORE batch rule: a batch inquiry is answered by 7 am Eastern the next morning
(``caqh_morning``); in ``instant`` timing at once. Each inquiry interchange also gets its 999.

Coverage is decided per payer and member id by a seeded roll (``coverage_verdict``): a share of members
inactive (EB01 6), a share with another payer primary (EB01 1 plus EB01 R with a 2120 NM1*PRP), the rest
active (EB01 1). A claim's status comes from where the claim really is in the simulated payer's process:
not on file (A4:35), in process until its 835 is released (P1:20), then paid (F1:65) or denied (F2:1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from revcycle.sandbox.rolls import fraction
from revcycle.sandbox.state import PayerState
from revcycle.x12.write271 import BenefitReply, CoverageAnswer, DateSpan, EntityReply
from revcycle.x12.write277 import STATUS_OF_STAGE, ClaimAnswer, StatusAnswer
from revcycle.x12.x270 import InquiredMember
from revcycle.x12.x276 import QueriedClaim

CAQH_ZONE = ZoneInfo("America/New_York")
CAQH_ANSWER_TIME = time(7, 0)
ACTIVE, INACTIVE, OTHER_PRIMARY = "active", "inactive", "other_primary"
OTHER_PAYER_NAME = "SANDBOX OTHER HEALTH PLAN"
OTHER_PAYER_ID = "OTHPLAN01"
HEALTH_BENEFIT_PLAN = "30"


@dataclass(frozen=True)
class CoverageShares:
    """The share of members the sandbox reports inactive, and with another primary payer."""

    inactive: float = 0.08
    other_primary: float = 0.07


def caqh_morning(now: datetime) -> datetime:
    """The first 7 am Eastern after ``now`` (UTC): when a batch inquiry received at ``now`` is answered."""
    local = now.astimezone(CAQH_ZONE)
    candidate = datetime.combine(local.date(), CAQH_ANSWER_TIME, tzinfo=CAQH_ZONE)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), CAQH_ANSWER_TIME, tzinfo=CAQH_ZONE)
    return candidate.astimezone(UTC)


def coverage_verdict(salt: str, payer_id: str, member_id: str, shares: CoverageShares) -> str:
    """Active, inactive or other_primary for one member of one payer (the same answer every time)."""
    roll = fraction(salt, "coverage", payer_id, member_id)
    if roll < shares.inactive:
        return INACTIVE
    if roll < shares.inactive + shares.other_primary:
        return OTHER_PRIMARY
    return ACTIVE


def coverage_answer(verdict: str, today: date) -> CoverageAnswer:
    """The 2110 benefits that say ``verdict`` (plan begin DTP 346 on the first of the year when active)."""
    plan = (DateSpan("346", date(today.year, 1, 1)),)
    if verdict == INACTIVE:
        return CoverageAnswer((BenefitReply("6", service_types=(HEALTH_BENEFIT_PLAN,)),))
    active = BenefitReply("1", coverage_level="IND", service_types=(HEALTH_BENEFIT_PLAN,), dates=plan)
    if verdict == OTHER_PRIMARY:
        other = BenefitReply(
            "R",
            service_types=(HEALTH_BENEFIT_PLAN,),
            entities=(EntityReply("PRP", OTHER_PAYER_NAME, "PI", OTHER_PAYER_ID),),
        )
        return CoverageAnswer((active, other))
    return CoverageAnswer((active,))


def answer_member(
    salt: str, payer_id: str, shares: CoverageShares, today: date
) -> Callable[[InquiredMember, InquiredMember | None], CoverageAnswer]:
    """``coverage_of`` for ``answer_270``: a dependent is covered as its subscriber is (same member id)."""

    def coverage_of(member: InquiredMember, subscriber: InquiredMember | None) -> CoverageAnswer:
        holder = subscriber or member
        return coverage_answer(coverage_verdict(salt, payer_id, holder.member_id, shares), today)

    return coverage_of


def claim_status(state: PayerState, payer_id: str, queried: QueriedClaim, *, now: datetime) -> ClaimAnswer | None:
    """Where the claim is in the payer's process (None: not on file, answered A4:35)."""
    number = state.current.get(f"{payer_id}|{queried.claim_key}")
    record = state.records.get(number) if number else None
    if record is None:
        return None
    today = now.astimezone(CAQH_ZONE).date()
    if record.finalized_at > now:
        status = StatusAnswer(STATUS_OF_STAGE["in_process"], today, queried.total_charge)
    else:
        stage = "paid" if record.remittance.paid > 0 else "denied"
        status = StatusAnswer(
            STATUS_OF_STAGE[stage],
            today,
            queried.total_charge,
            paid=record.remittance.paid,
            adjudicated=record.finalized_at.astimezone(CAQH_ZONE).date(),
        )
    return ClaimAnswer((status,), payer_claim_number=record.payer_claim_number)
