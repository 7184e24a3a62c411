"""What happens next to a claim: the written rules of docs/claim-rules.md, as one pure function.

After every load the pipeline takes a ``ClaimSnapshot`` of each open claim (its versions and their outcomes,
the standing adjudication, what the EHR says now) and asks ``decide`` for its next action. An action is one
of three kinds:

- the pipeline acts: send an original, resend a corrected original, send a replacement (7) or a void (8),
  bill the next payer (COB), or inquire about a silent claim (276);
- the pipeline waits for the payer (a response is due and not yet late);
- a person acts (a named worklist action), or the claim is in a final state.

Every rule names its source (``Decision.source``); docs/claim-rules.md is the same table in prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from revcycle.domain import ClaimStatus


class Kind(StrEnum):
    """Who moves the claim on."""

    PIPELINE = "pipeline"  # the next nightly run does it
    WAIT = "wait"  # a response from the payer is due, not late yet
    PERSON = "person"  # a named action on a worklist
    FINAL = "final"  # nothing more to do


class Action(StrEnum):
    """The next action on a claim (docs/claim-rules.md)."""

    SEND_ORIGINAL = "send_original"
    RESEND_ORIGINAL = "resend_original"
    SEND_REPLACEMENT = "send_replacement"
    SEND_VOID = "send_void"
    BILL_NEXT_PAYER = "bill_next_payer"
    INQUIRE = "inquire"
    UPLOAD = "upload"
    AWAIT_RESPONSE = "await_response"
    AWAIT_ADJUDICATION = "await_adjudication"
    FIX_HELD_CHARGES = "fix_held_charges"
    CORRECT_REJECTION = "correct_rejection"
    WORK_DENIAL = "work_denial"
    REQUEST_REOPENING = "request_reopening"
    CORRECTION_PAST_LIMIT = "correction_past_limit"
    TIMELY_FILING_EXPIRED = "timely_filing_expired"
    PAID_IN_FULL = "paid_in_full"
    PATIENT_BALANCE = "patient_balance"
    CROSSED_OVER = "crossed_over"
    WRITTEN_OFF = "written_off"
    VOIDED = "voided"
    WITHDRAWN = "withdrawn"


KIND: dict[Action, Kind] = {
    Action.SEND_ORIGINAL: Kind.PIPELINE,
    Action.RESEND_ORIGINAL: Kind.PIPELINE,
    Action.SEND_REPLACEMENT: Kind.PIPELINE,
    Action.SEND_VOID: Kind.PIPELINE,
    Action.BILL_NEXT_PAYER: Kind.PIPELINE,
    Action.INQUIRE: Kind.PIPELINE,
    Action.UPLOAD: Kind.PIPELINE,
    Action.AWAIT_RESPONSE: Kind.WAIT,
    Action.AWAIT_ADJUDICATION: Kind.WAIT,
    Action.FIX_HELD_CHARGES: Kind.PERSON,
    Action.CORRECT_REJECTION: Kind.PERSON,
    Action.WORK_DENIAL: Kind.PERSON,
    Action.REQUEST_REOPENING: Kind.PERSON,
    Action.CORRECTION_PAST_LIMIT: Kind.PERSON,
    Action.TIMELY_FILING_EXPIRED: Kind.PERSON,
    Action.PAID_IN_FULL: Kind.FINAL,
    Action.PATIENT_BALANCE: Kind.FINAL,
    Action.CROSSED_OVER: Kind.FINAL,
    Action.WRITTEN_OFF: Kind.FINAL,
    Action.VOIDED: Kind.FINAL,
    Action.WITHDRAWN: Kind.FINAL,
}

# CLP02 values meaning "processed and forwarded to an additional payer" (X12 835 TR3, CLP02).
CROSSOVER_CLAIM_STATUS = frozenset({"19", "20", "21"})
# Remarks meaning the payer forwarded the claim to the next payer itself (RARC list, X12 / CMS):
# MA18 forwarded to the supplemental insurer, N89 forwarded to more than one other payer, MA07 forwarded
# to Medicaid.
CROSSOVER_REMARKS = frozenset({"MA18", "N89", "MA07"})
# MA19: information was NOT sent to the supplemental insurer: bill the secondary directly.
FAILED_CROSSOVER_REMARKS = frozenset({"MA19"})


class VersionState(StrEnum):
    """Where one submitted version stands (DESIGN.md §5)."""

    BUILT = "built"  # staged into an interchange, not yet uploaded
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"  # accepted by the 277CA (or a 999 with no 277CA yet)
    REJECTED = "rejected"  # rejected at the front end (TA1, 999 or 277CA): never entered adjudication
    ADJUDICATED = "adjudicated"  # an 835 posting stands for it


@dataclass(frozen=True)
class Version:
    """One submission of the claim: its frequency (1, 7, 8), content digest and outcome."""

    number: int
    frequency_code: str
    digest: str
    state: VersionState
    submitted_on: date | None = None


@dataclass(frozen=True)
class Adjudication:
    """The standing 835 adjudication of the claim (after reversals are netted out)."""

    status: ClaimStatus  # PAID, PARTIALLY_PAID or DENIED
    digest: str  # the content digest of the version it adjudicated
    claim_status_code: str  # CLP02
    payer_claim_number: str | None  # CLP07: REF*F8 of a replacement or void
    paid: Decimal
    patient_responsibility: Decimal  # CAS group PR
    denied: Decimal  # CO/OA/PI amounts on denied lines or a denied claim (contractual CO-45 excluded)
    payment_date: date
    remarks: frozenset[str] = frozenset()
    crossover_carrier: bool = False  # the 835 named a crossover carrier (NM1*TT)


@dataclass(frozen=True)
class PayerPolicy:
    """What the payer file says about corrections, deadlines and lags (connectors/payers/)."""

    timely_filing_days: int  # for an original: days from the filing clock start (date of service)
    accepts_replacement: bool = True  # takes frequency 7 electronically
    accepts_void: bool = True  # takes frequency 8 electronically
    correction_filing_days: int = 365  # for a 7 or 8: days from the adjudication's payment date
    appeal_days: int = 90  # for a denial: days from the payment date
    usual_lag_days: int = 30  # from submission to the 835, beyond which the claim is "silent"
    inquiry_interval_days: int = 14  # between two 276 inquiries about one silent claim


@dataclass(frozen=True)
class ClaimSnapshot:
    """Everything the rules read about one claim (encounter x payer x billing provider)."""

    claim_key: str
    filing_clock_start: date  # first date of service; for a secondary, the primary's payment date
    versions: tuple[Version, ...] = ()
    adjudication: Adjudication | None = None
    ehr_digest: str | None = None  # the claim as the EHR has it now; None when no active charge is left
    cancelled: bool = False  # the visit was cancelled in the EHR
    held: tuple[str, ...] = ()  # why the current charges cannot become a claim (no PHI)
    next_payer_id: str | None = None  # the coverage billed after this payer, if any
    next_payer_billed: bool = False
    last_inquiry_on: date | None = None


@dataclass(frozen=True)
class Decision:
    """The next action, why, and the source of the rule that chose it."""

    action: Action
    reason: str
    source: str
    frequency_code: str | None = None  # for the send actions: CLM05-3 of the version to build
    payer_claim_number: str | None = None  # for 7 and 8: REF*F8

    @property
    def kind(self) -> Kind:
        """Who acts next."""
        return KIND[self.action]


# Sources, quoted in every decision and in docs/claim-rules.md.
SRC_FREQUENCY = "X12 005010X222A1/X223A2 CLM05-3 (NUBC frequency codes 1, 7, 8) and 2300 REF*F8"
SRC_REJECTED = (
    "X12 999/277CA: a rejected claim was not accepted for adjudication and is not on the payer's file; "
    "CMS MLN 'rejected claims must be corrected and resubmitted' as new (frequency 1) claims"
)
SRC_TIMELY = "payer file timely_filing_days (Medicare: 42 CFR 424.44, one calendar year from the date of service)"
SRC_CORRECTION = "payer file correction_filing_days and accepts_replacement/accepts_void (companion guide)"
SRC_COB = (
    "X12 005010X222A1 loops 2320/2330/2430 (COB); 835 CLP02 19/20/21 and RARC MA18, N89, MA07 (forwarded), "
    "MA19 (not forwarded)"
)
SRC_DENIAL = "payer file appeal_days (Medicare redetermination: 120 days, 42 CFR 405.942)"
SRC_SILENT = "payer file usual_lag_days; X12 005010X212 276/277 claim status inquiry"
SRC_FINAL = "835 CLP04 (paid) and CAS group PR (patient responsibility), X12 005010X221A1"


def _days_since(start: date | None, today: date) -> int:
    return (today - start).days if start is not None else 0


def _adjudicated_version_digest(snapshot: ClaimSnapshot) -> str | None:
    return snapshot.adjudication.digest if snapshot.adjudication is not None else None


def _correction(snapshot: ClaimSnapshot, policy: PayerPolicy, today: date, *, void: bool) -> Decision:
    """A replacement or void of the standing adjudication, if the payer takes it and it is not too late."""
    adjudication = snapshot.adjudication
    assert adjudication is not None
    what = "void (visit cancelled)" if void else "replacement (charges changed after adjudication)"
    accepted = policy.accepts_void if void else policy.accepts_replacement
    if not accepted:
        return Decision(
            Action.REQUEST_REOPENING,
            f"claim {snapshot.claim_key}: the payer takes no electronic {what}; ask it to reopen the claim",
            SRC_CORRECTION,
        )
    deadline = adjudication.payment_date + timedelta(days=policy.correction_filing_days)
    if today > deadline:
        return Decision(
            Action.CORRECTION_PAST_LIMIT,
            f"claim {snapshot.claim_key}: the {what} is past the payer's correction limit ({deadline.isoformat()})",
            SRC_CORRECTION,
        )
    if not adjudication.payer_claim_number:
        return Decision(
            Action.REQUEST_REOPENING,
            f"claim {snapshot.claim_key}: the 835 gave no payer claim number (CLP07) for REF*F8; ask the payer",
            SRC_FREQUENCY,
        )
    return Decision(
        Action.SEND_VOID if void else Action.SEND_REPLACEMENT,
        f"claim {snapshot.claim_key}: {what}",
        SRC_FREQUENCY,
        frequency_code="8" if void else "7",
        payer_claim_number=adjudication.payer_claim_number,
    )


def _timely(snapshot: ClaimSnapshot, policy: PayerPolicy, today: date) -> Decision | None:
    deadline = snapshot.filing_clock_start + timedelta(days=policy.timely_filing_days)
    if today > deadline:
        return Decision(
            Action.TIMELY_FILING_EXPIRED,
            f"claim {snapshot.claim_key}: past the payer's timely filing limit ({deadline.isoformat()})",
            SRC_TIMELY,
        )
    return None


def _never_adjudicated(snapshot: ClaimSnapshot, policy: PayerPolicy, today: date) -> Decision:
    """No version was sent yet, or every version sent was rejected at the front end."""
    rejected = [v for v in snapshot.versions if v.state is VersionState.REJECTED]
    if snapshot.cancelled or snapshot.ehr_digest is None:
        return Decision(
            Action.WITHDRAWN,
            f"claim {snapshot.claim_key}: cancelled before the payer adjudicated it; nothing is on its file",
            SRC_REJECTED if rejected else SRC_FREQUENCY,
        )
    if snapshot.held:
        return Decision(Action.FIX_HELD_CHARGES, "; ".join(snapshot.held), "charges suite and claim checks")
    late = _timely(snapshot, policy, today)
    if late is not None:
        return late
    if not rejected:
        return Decision(
            Action.SEND_ORIGINAL, f"claim {snapshot.claim_key}: not sent yet", SRC_FREQUENCY, frequency_code="1"
        )
    if snapshot.ehr_digest in {v.digest for v in rejected}:
        return Decision(
            Action.CORRECT_REJECTION,
            f"claim {snapshot.claim_key}: rejected at the front end and a rebuild is identical to a rejected "
            "version; correct the charges or the payer configuration, then it is resent",
            SRC_REJECTED,
        )
    return Decision(
        Action.RESEND_ORIGINAL,
        f"claim {snapshot.claim_key}: corrected after a front-end rejection; resent as an original",
        SRC_REJECTED,
        frequency_code="1",
    )


def _in_process(snapshot: ClaimSnapshot, latest: Version, policy: PayerPolicy, today: date) -> Decision:
    """The latest version is with the payer and not adjudicated yet."""
    key = snapshot.claim_key
    if latest.state is VersionState.BUILT:
        return Decision(Action.UPLOAD, f"claim {key}: staged, not uploaded yet", SRC_FREQUENCY)
    silent = _days_since(latest.submitted_on, today) > policy.usual_lag_days
    inquired = snapshot.last_inquiry_on is not None and (
        _days_since(snapshot.last_inquiry_on, today) < policy.inquiry_interval_days
    )
    if silent and not inquired:
        return Decision(
            Action.INQUIRE, f"claim {key}: no answer {policy.usual_lag_days} days after submission", SRC_SILENT
        )
    changed = latest.frequency_code != "8" and (snapshot.cancelled or snapshot.ehr_digest != latest.digest)
    if changed:
        return Decision(
            Action.AWAIT_ADJUDICATION,
            f"claim {key}: changed while in process; corrected after the payer adjudicates it",
            SRC_FREQUENCY,
        )
    return Decision(Action.AWAIT_RESPONSE, f"claim {key}: with the payer", SRC_SILENT)


def _crossed_over(adjudication: Adjudication) -> bool:
    if adjudication.remarks & FAILED_CROSSOVER_REMARKS:
        return False
    return (
        adjudication.claim_status_code in CROSSOVER_CLAIM_STATUS
        or bool(adjudication.remarks & CROSSOVER_REMARKS)
        or adjudication.crossover_carrier
    )


def _settled(snapshot: ClaimSnapshot, adjudication: Adjudication, policy: PayerPolicy, today: date) -> Decision:
    """The standing adjudication matches what the EHR says: denial work, the next payer, or a final state."""
    key = snapshot.claim_key
    balance = adjudication.patient_responsibility
    if snapshot.next_payer_id and not snapshot.next_payer_billed and (balance > 0 or adjudication.denied > 0):
        if _crossed_over(adjudication):
            return Decision(Action.CROSSED_OVER, f"claim {key}: the payer forwarded it to the next payer", SRC_COB)
        return Decision(Action.BILL_NEXT_PAYER, f"claim {key}: a balance is left for {snapshot.next_payer_id}", SRC_COB)
    if adjudication.denied > 0:
        deadline = adjudication.payment_date + timedelta(days=policy.appeal_days)
        if today <= deadline:
            return Decision(
                Action.WORK_DENIAL,
                f"claim {key}: denied amounts to appeal or correct by {deadline.isoformat()}",
                SRC_DENIAL,
            )
        return Decision(
            Action.WRITTEN_OFF, f"claim {key}: the appeal window closed on {deadline.isoformat()}", SRC_DENIAL
        )
    if balance > 0:
        return Decision(Action.PATIENT_BALANCE, f"claim {key}: the patient owes the balance", SRC_FINAL)
    return Decision(Action.PAID_IN_FULL, f"claim {key}: paid, nothing left to collect from payers", SRC_FINAL)


def decide(snapshot: ClaimSnapshot, policy: PayerPolicy, today: date) -> Decision:
    """The next action on one claim under the written rules (docs/claim-rules.md)."""
    versions = snapshot.versions
    latest = versions[-1] if versions else None
    adjudication = snapshot.adjudication
    if latest is not None and latest.frequency_code == "8":
        if latest.state in (VersionState.ACCEPTED, VersionState.ADJUDICATED):
            return Decision(Action.VOIDED, f"claim {snapshot.claim_key}: void accepted by the payer", SRC_FREQUENCY)
        if latest.state is not VersionState.REJECTED:
            return _in_process(snapshot, latest, policy, today)
    if adjudication is None:
        if latest is None or latest.state is VersionState.REJECTED:
            return _never_adjudicated(snapshot, policy, today)
        return _in_process(snapshot, latest, policy, today)
    # An adjudication stands. A later version (a replacement or void) may be in process or rejected.
    assert latest is not None
    if latest.state in (VersionState.BUILT, VersionState.SUBMITTED, VersionState.ACCEPTED):
        return _in_process(snapshot, latest, policy, today)
    cancelled = snapshot.cancelled or snapshot.ehr_digest is None
    if cancelled:
        if adjudication.paid == 0:
            return Decision(
                Action.WITHDRAWN,
                f"claim {snapshot.claim_key}: cancelled; the payer paid nothing, so there is nothing to void",
                SRC_FREQUENCY,
            )
        return _correction(snapshot, policy, today, void=True)
    if snapshot.held:
        return Decision(Action.FIX_HELD_CHARGES, "; ".join(snapshot.held), "charges suite and claim checks")
    if snapshot.ehr_digest != _adjudicated_version_digest(snapshot):
        if latest.state is VersionState.REJECTED and latest.digest == snapshot.ehr_digest:
            return Decision(
                Action.CORRECT_REJECTION,
                f"claim {snapshot.claim_key}: the replacement was rejected and a rebuild is identical; correct it",
                SRC_REJECTED,
            )
        return _correction(snapshot, policy, today, void=False)
    return _settled(snapshot, adjudication, policy, today)
