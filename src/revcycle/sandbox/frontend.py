"""The payer's front end: whether a claim enters adjudication (277CA accepted) or is rejected, and why.

Rules, in order (the first that applies decides):

1. The billing NPI fails its check digit: rejected A7:562:85.
2. A secondary or tertiary claim (SBR01 S/T) names no other payer that adjudicated it: A7:171 (other
   insurance coverage information); a 2330B without a payer id: A7:479; COB amounts that do not balance
   (each line: SV102 - its 2430 CAS = SVD02; the claim: CLM02 - 2320 CAS - 2430 CAS = AMT*D): A7:672.
3. A replacement (7) or void (8): refused by a payer that takes no electronic corrections (A7:535); its
   REF*F8 must name a claim this payer adjudicated and still stands by (unknown or not yet adjudicated:
   A7:464; reversed since: A7:495, or A7:686 when voided; already being replaced or voided: A7:78).
4. Otherwise a roll on the claim key and the digest of the claim's content rejects a share of claims
   (eligibility and data errors the sandbox does not model one by one). The same content always rolls
   the same: an identical resend of a rejected claim is rejected again; a corrected claim rolls anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from revcycle.codes.npi import is_valid_npi
from revcycle.sandbox.profiles import Behaviour, PayerTerms
from revcycle.sandbox.rolls import ZERO, fraction, weighted
from revcycle.sandbox.state import ClaimRecord, PayerState
from revcycle.x12.write277ca import ClaimStatus
from revcycle.x12.x837 import ReceivedClaim

ACCEPTED = ClaimStatus("A2", "20", "PR")
INVALID_NPI = ClaimStatus("A7", "562", "85")
NO_OTHER_PAYER = ClaimStatus("A7", "171")
OTHER_PAYER_ID = ClaimStatus("A7", "479")
COB_OUT_OF_BALANCE = ClaimStatus("A7", "672")
NO_CORRECTIONS = ClaimStatus("A7", "535")
UNKNOWN_ORIGINAL = ClaimStatus("A7", "464")
ORIGINAL_REVERSED = ClaimStatus("A7", "495")
ORIGINAL_VOIDED = ClaimStatus("A7", "686")
ORIGINAL_IN_PROCESS = ClaimStatus("A7", "78")


@dataclass(frozen=True)
class Verdict:
    """The 277CA answer for one claim; ``original`` is the record a 7 or 8 replaces or voids."""

    accepted: bool
    status: ClaimStatus
    detail: ClaimStatus | None = None
    original: ClaimRecord | None = None


def cob_balances(claim: ReceivedClaim) -> bool:
    """True when every adjudicating other payer's amounts balance against the claim (837 TR3 COB rules)."""
    charges = {line.line_number: line.charge for line in claim.lines}
    for other in claim.other_payers:
        if other.paid is None:
            continue
        line_adjusted = ZERO
        for adj in other.lines:
            adjusted = sum((a.amount for a in adj.adjustments), ZERO)
            line_adjusted += adjusted
            if adj.line_number not in charges or charges[adj.line_number] - adjusted != adj.paid:
                return False
        claim_adjusted = sum((a.amount for a in other.adjustments), ZERO)
        if claim.total_charge - claim_adjusted - line_adjusted != other.paid:
            return False
    return True


def _cob_verdict(claim: ReceivedClaim) -> Verdict | None:
    if claim.payer_responsibility not in ("S", "T"):
        return None
    adjudicated = [other for other in claim.other_payers if other.paid is not None]
    if not adjudicated:
        return Verdict(False, NO_OTHER_PAYER)
    if any(not other.payer_id for other in claim.other_payers):
        return Verdict(False, OTHER_PAYER_ID)
    if not cob_balances(claim):
        return Verdict(False, COB_OUT_OF_BALANCE)
    return None


def correction_verdict(claim: ReceivedClaim, terms: PayerTerms, state: PayerState, now: datetime) -> Verdict | None:
    """The verdict on a replacement or void from what the payer has on file (None for an original)."""
    if claim.frequency_code not in ("7", "8"):
        return None
    if not terms.accepts_corrections:
        return Verdict(False, NO_CORRECTIONS)
    record = state.records.get(claim.original_claim_number or "")
    if record is None or record.payer_id != claim.payer_id or record.finalized_at > now or record.unprocessable:
        return Verdict(False, UNKNOWN_ORIGINAL)
    if record.superseded_at is not None:
        if record.superseded_at <= now:
            return Verdict(False, ORIGINAL_VOIDED if record.superseded_kind == "void" else ORIGINAL_REVERSED)
        if record.superseded_kind != "payer-correction":  # a replacement or void of it is in process
            return Verdict(False, ORIGINAL_IN_PROCESS)
    return Verdict(True, ACCEPTED, original=record)


def verdict(
    claim: ReceivedClaim,
    behaviour: Behaviour,
    terms: PayerTerms,
    state: PayerState,
    now: datetime,
    seed_salt: str,
    digest: str,
) -> Verdict:
    """The 277CA verdict on one claim (rules 1 to 4 of this module, in order)."""
    if not is_valid_npi(claim.billing_npi):
        return Verdict(False, INVALID_NPI)
    cob = _cob_verdict(claim)
    if cob is not None:
        return cob
    correction = correction_verdict(claim, terms, state, now)
    if correction is not None and not correction.accepted:
        return correction
    if fraction(seed_salt, "front-end", claim.payer_id, claim.claim_key, digest) < behaviour.front_end_reject_share:
        rejection = weighted(
            [(r, r.weight) for r in behaviour.front_end_rejections],
            fraction(seed_salt, "front-end-reason", claim.payer_id, claim.claim_key, digest),
        )
        return Verdict(False, rejection.status, rejection.detail)
    return correction or Verdict(True, ACCEPTED)
