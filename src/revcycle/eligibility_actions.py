"""What to do with a 271 answer that is neither active nor inactive coverage, or that rejects the inquiry.

Each named action comes from one X12 source (an EB01 code, an AAA03 reason or an AAA04 follow-up code of
the 005010X279A1 271) and says in plain words what happens next, whether the same 270 may go again
without a person, and after how long. The rules are data (``ACTION_RULES``) so a report, a worklist and
the docs all read the same table. ``docs/eligibility-and-claim-status.md`` lists them.

Order of precedence for an AAA segment: the reason first when it means "try again later" (AAA03 42
unable to respond at current time, 80 no response received), otherwise the follow-up code AAA04, because
AAA04 is the payer's own instruction about resubmitting (CAQH CORE rule 259 pairs each error condition
with one AAA03/AAA04 combination).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EligibilityAction(StrEnum):
    """A named next step for one 271 answer."""

    VERIFY_ANOTHER_WAY = "verify_another_way"
    CONTACT_ENTITY = "contact_entity"
    RETRY_LATER = "retry_later"
    CORRECT_AND_RESEND = "correct_and_resend"
    DO_NOT_RESEND = "do_not_resend"
    WAIT_10_DAYS_AND_RESEND = "wait_10_days_and_resend"
    WAIT_30_DAYS_AND_RESEND = "wait_30_days_and_resend"
    AWAIT_PAYER = "await_payer"
    REVIEW_REJECTION = "review_rejection"


@dataclass(frozen=True)
class ActionRule:
    """One named action, the X12 code that calls for it, and what it means for the next inquiry."""

    action: EligibilityAction
    source: str  # the element and code, e.g. "EB01 V" or "AAA04 C"
    meaning: str  # the code's meaning in the implementation guide
    what_to_do: str  # plain words for the person working the list
    resend: bool  # the same 270 may be sent again without a person
    resend_after_days: int | None = None  # wait this long first (None: no automatic resend)
    needs_person: bool = False


ACTION_RULES: tuple[ActionRule, ...] = (
    ActionRule(
        EligibilityAction.VERIFY_ANOTHER_WAY,
        "EB01 V",
        "Cannot Process",
        "The payer could not answer this inquiry electronically: verify coverage by the payer's portal or phone.",
        resend=False,
        needs_person=True,
    ),
    ActionRule(
        EligibilityAction.CONTACT_ENTITY,
        "EB01 U",
        "Contact Following Entity for Eligibility or Benefit Information",
        "Ask the entity named in loop 2120 (another payer, a benefit manager) for the coverage.",
        resend=False,
        needs_person=True,
    ),
    ActionRule(
        EligibilityAction.RETRY_LATER,
        "AAA03 42",
        "Unable to Respond at Current Time",
        "The payer's system was unavailable: send the same inquiry again in the next batch.",
        resend=True,
        resend_after_days=1,
    ),
    ActionRule(
        EligibilityAction.RETRY_LATER,
        "AAA03 80",
        "No Response received - Transaction Terminated",
        "The inquiry timed out between clearinghouse and payer: send the same inquiry again in the next batch.",
        resend=True,
        resend_after_days=1,
    ),
    ActionRule(
        EligibilityAction.CORRECT_AND_RESEND,
        "AAA04 C",
        "Please Correct and Resubmit",
        "Correct the data the reason (AAA03) names, from the patient's card or registration, then send again.",
        resend=False,
        needs_person=True,
    ),
    ActionRule(
        EligibilityAction.DO_NOT_RESEND,
        "AAA04 N",
        "Resubmission Not Allowed",
        "Do not send this inquiry again: verify coverage by the payer's portal or phone.",
        resend=False,
        needs_person=True,
    ),
    ActionRule(
        EligibilityAction.RETRY_LATER,
        "AAA04 P",
        "Please Resubmit Original Transaction",
        "Send the same inquiry again in the next batch.",
        resend=True,
        resend_after_days=1,
    ),
    ActionRule(
        EligibilityAction.RETRY_LATER,
        "AAA04 R",
        "Resubmission Allowed",
        "Send the same inquiry again in the next batch.",
        resend=True,
        resend_after_days=1,
    ),
    ActionRule(
        EligibilityAction.AWAIT_PAYER,
        "AAA04 S",
        "Do Not Resubmit; Inquiry Initiated to a Third Party",
        "Do not send again: the answer comes later from the third party the payer asked.",
        resend=False,
    ),
    ActionRule(
        EligibilityAction.WAIT_30_DAYS_AND_RESEND,
        "AAA04 W",
        "Please Wait 30 Days and Resubmit",
        "Send the same inquiry again after 30 days.",
        resend=True,
        resend_after_days=30,
    ),
    ActionRule(
        EligibilityAction.WAIT_10_DAYS_AND_RESEND,
        "AAA04 X",
        "Please Wait 10 Days and Resubmit",
        "Send the same inquiry again after 10 days.",
        resend=True,
        resend_after_days=10,
    ),
    ActionRule(
        EligibilityAction.AWAIT_PAYER,
        "AAA04 Y",
        "Do Not Resubmit; We Will Hand Over Your Request",
        "Do not send again: the payer forwards the request and answers later.",
        resend=False,
    ),
)

_BY_SOURCE: dict[str, ActionRule] = {rule.source: rule for rule in ACTION_RULES}

UNKNOWN_FOLLOW_UP = ActionRule(
    EligibilityAction.REVIEW_REJECTION,
    "AAA04 missing or unknown",
    "No usable follow-up action code",
    "Read the rejection reason (AAA03) and decide by hand; nothing is resent automatically.",
    resend=False,
    needs_person=True,
)


def rule_for_benefit(eb01: str) -> ActionRule | None:
    """The action an EB01 code calls for (V cannot process, U contact entity), or None for any other code."""
    return _BY_SOURCE.get(f"EB01 {eb01.strip()}")


def rule_for_rejection(reason: str, follow_up: str) -> ActionRule:
    """The action an AAA segment calls for: a "try later" reason first, then the follow-up code AAA04."""
    by_reason = _BY_SOURCE.get(f"AAA03 {reason.strip()}")
    if by_reason is not None:
        return by_reason
    return _BY_SOURCE.get(f"AAA04 {follow_up.strip()}", UNKNOWN_FOLLOW_UP)
