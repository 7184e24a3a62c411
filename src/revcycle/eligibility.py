"""Eligibility before the claim: which member and payer pairs get a 270, and what a 271 does to their claims.

Policy (docs/eligibility-pipeline.md): a pair is verified when charges for it first arrive (a built claim not
yet sent) and again once its last answer is older than the window (REVCYCLE_ELIGIBILITY_WINDOW_DAYS). A
claim whose pair has no answer within the window waits, held at stage ``coverage`` with the reason
"awaiting eligibility", unless its payer is one whose claims go out unverified (REVCYCLE_UNVERIFIED_PAYERS).
A 271 that says inactive, or that names another payer as primary, holds the claim with that reason; it is
never sent. An active answer releases the claim, and that night's staging sends it.

The rules here are pure (``needs_inquiry``, ``decide``); ``revcycle.eligibility_batch`` applies them to the
warehouse and writes the 270s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from revcycle.domain import Person

HOLD_STAGE = "coverage"
AWAITING = "awaiting eligibility"
ACTIVE, INACTIVE, OTHER_PRIMARY, NO_ANSWER = "active", "inactive", "other_primary", "no_answer"
LATE_AFTER = timedelta(hours=36)
"""A 270 still unanswered this long after it was staged is late (CAQH CORE: next business day, 7 am ET)."""
ASK_AGAIN_AFTER = timedelta(days=3)
"""An unanswered 270 is sent again (a new trace, a new interchange) this long after the first."""


def member_key(payer_id: str, member_id: str, patient: Person) -> str:
    """The pair's key: a digest of payer, member id and the patient's name and birth date (no PHI kept)."""
    text = "|".join(
        (payer_id, member_id, patient.last_name.upper(), patient.first_name.upper(), patient.birth_date.isoformat())
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Answer:
    """What the latest 271 of a pair said, and when it was loaded (the practice-timezone date)."""

    coverage: str  # active, inactive, other_primary or no_answer
    verified_on: date
    primary_payer: str | None = None
    primary_payer_id: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class PairState:
    """A pair's latest answer and its latest unanswered inquiry, as the warehouse holds them."""

    answer: Answer | None = None
    pending_since: datetime | None = None


def answer_is_current(answer: Answer | None, today: date, window_days: int) -> bool:
    """True when ``answer`` was loaded within the last ``window_days`` days (today counts as day 0)."""
    return answer is not None and (today - answer.verified_on).days < window_days


def needs_inquiry(state: PairState, today: date, now: datetime, window_days: int) -> bool:
    """True when the pair gets a 270 tonight: no current answer, and no inquiry out that is still young."""
    if answer_is_current(state.answer, today, window_days):
        return False
    return state.pending_since is None or now - state.pending_since >= ASK_AGAIN_AFTER


@dataclass(frozen=True)
class Decision:
    """What happens to one built claim: sent (``hold`` None) or held with ``hold`` as its reason."""

    hold: str | None


def decide(
    state: PairState,
    *,
    payer_name: str,
    today: date,
    window_days: int,
    may_go_unverified: bool,
    claim_primary_ids: frozenset[str] = frozenset(),
) -> Decision:
    """The claim's fate from its pair's state (no PHI in a reason: the payer named is an organisation).

    ``claim_primary_ids`` are the payers the claim itself names as primary (its coordination-of-benefits
    order, a secondary claim's 2320 SBR01 P): a 271 naming one of them as primary agrees with the claim.
    """
    answer = state.answer if answer_is_current(state.answer, today, window_days) else None
    agrees = answer is not None and answer.coverage == OTHER_PRIMARY and answer.primary_payer_id in claim_primary_ids
    if answer is not None and (answer.coverage == ACTIVE or agrees):
        return Decision(None)
    if answer is not None and answer.coverage == INACTIVE:
        return Decision(f"the 271 of {answer.verified_on.isoformat()} says the subscriber's coverage is inactive")
    if answer is not None and answer.coverage == OTHER_PRIMARY:
        return Decision(
            f"the 271 of {answer.verified_on.isoformat()} names {answer.primary_payer or 'another payer'} as the "
            f"primary payer, not {payer_name}: bill the primary first"
        )
    if may_go_unverified:
        return Decision(None)
    if answer is not None:
        return Decision(
            f"the 271 of {answer.verified_on.isoformat()} gave no coverage answer ({answer.action or 'none named'})"
        )
    return Decision(AWAITING)


def is_late(pending_since: datetime | None, now: datetime) -> bool:
    """True when an inquiry has waited for its 271 longer than the batch turnaround allows."""
    return pending_since is not None and now - pending_since >= LATE_AFTER
