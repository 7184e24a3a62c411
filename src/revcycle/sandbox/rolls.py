"""Deterministic rolls: every decision of the sandbox payer is a number in [0, 1) drawn from a hash.

A roll is ``sha256`` of the seed salt and the parts that name the decision (payer, claim key, content digest,
purpose), so the same claims answered with the same salt always get the same decisions, whatever order or
process answers them. Rolls that must not change when a claim is resent unchanged (front-end rejections,
denials) use the claim's content digest and never the interchange it came in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from revcycle.x12.x835 import Adjustment
from revcycle.x12.x837 import ReceivedClaim, ReceivedOtherPayer

T = TypeVar("T")
CENT = Decimal("0.01")
ZERO = Decimal("0")


def fraction(*parts: str) -> float:
    """A deterministic number in [0, 1) for the decision named by ``parts`` (the salt first)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return int(digest[:13], 16) / float(16**13)


def weighted(choices: Sequence[tuple[T, float]], roll: float) -> T:
    """The choice whose cumulative weight band holds ``roll`` (weights need not sum to 1)."""
    total = sum(weight for _, weight in choices)
    point = roll * total
    running = 0.0
    for choice, weight in choices:
        running += weight
        if point < running:
            return choice
    return choices[-1][0]


def between(low: int, high: int, roll: float) -> int:
    """An integer in ``low..high`` (both included), uniform in ``roll``."""
    return min(low + int(roll * (high - low + 1)), high)


def cents(value: Decimal) -> Decimal:
    """Money rounded half up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def claim_digest(claim: ReceivedClaim) -> str:
    """A digest of what the claim says (parties, codes, amounts, dates, COB), not of how it was sent.

    Two sends of the same claim content (same claim key, payer, member, provider, lines, diagnoses,
    frequency, REF*F8 and COB loops) have the same digest whatever their ISA13, ST02 or creation date;
    any correction to that content changes it.
    """
    lines = ";".join(
        f"{ln.line_number},{ln.qualifier},{ln.procedure_code},{':'.join(ln.modifiers)},{ln.charge},{ln.units},"
        f"{ln.service_date},{ln.revenue_code}"
        for ln in claim.lines
    )
    others = ";".join(_other_payer_text(other) for other in claim.other_payers)
    text = "|".join(
        (
            claim.claim_key,
            str(claim.total_charge),
            claim.frequency_code,
            claim.place_of_service,
            claim.payer_id,
            claim.payer_responsibility,
            claim.filing_indicator,
            claim.member_id,
            claim.subscriber_last_name,
            claim.subscriber_first_name,
            claim.patient_last_name,
            claim.patient_first_name,
            claim.billing_npi,
            claim.billing_tax_id,
            ",".join(claim.diagnoses),
            claim.original_claim_number or "",
            lines,
            others,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _adjustments_text(adjustments: Sequence[Adjustment]) -> str:
    return ",".join(f"{a.group}-{a.reason}-{a.amount}" for a in adjustments)


def _other_payer_text(other: ReceivedOtherPayer) -> str:
    lines = ",".join(f"{a.line_number}-{a.paid}-{_adjustments_text(a.adjustments)}" for a in other.lines)
    return (
        f"{other.responsibility},{other.filing_indicator},{other.payer_id},{other.paid},"
        f"{_adjustments_text(other.adjustments)},{lines}"
    )
