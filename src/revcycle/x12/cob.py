"""Coordination of benefits: the claim to the next payer, built from the claim and the primary's 835.

The secondary claim is the same claim (same key, lines, diagnoses) sent to the next payer, carrying the
payer that adjudicated it as an ``OtherPayer``: its claim-level adjustments and paid amount (837 loop
2320) and, for each service line the 835 reported, its line adjudication (loop 2430).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from revcycle.domain import Claim, ClaimAdjustment, ClaimLine, LineAdjudication, OtherPayer, Person
from revcycle.x12.x835 import Adjustment, ClaimPayment, ServicePayment


@dataclass(frozen=True)
class Coverage:
    """The coverage a claim is sent to next: payer, member and the patient's relationship to its subscriber."""

    payer_id: str
    payer_name: str
    filing_indicator: str
    member_id: str
    subscriber: Person
    relationship: str  # X12 individual relationship code, 18 = the patient is this subscriber
    group_number: str | None = None
    responsibility: str = "S"  # SBR01: S secondary, T tertiary


def _adjustments(items: list[Adjustment]) -> tuple[ClaimAdjustment, ...]:
    return tuple(ClaimAdjustment(a.group, a.reason, a.amount, a.quantity) for a in items)


def _match_lines(
    lines: tuple[ClaimLine, ...], services: list[ServicePayment]
) -> list[tuple[ClaimLine, ServicePayment]]:
    """Pair each 835 service with a claim line: same code and modifiers first, then same code, in order."""
    free = list(lines)
    pairs: list[tuple[ClaimLine, ServicePayment]] = []
    for exact in (True, False):
        for svc in services:
            if any(s is svc for _, s in pairs):
                continue
            code = svc.original_code or svc.code
            modifiers = svc.original_modifiers if svc.original_code else svc.modifiers
            for line in free:
                if line.procedure_code == code and (not exact or tuple(line.modifiers) == tuple(modifiers)):
                    pairs.append((line, svc))
                    free.remove(line)
                    break
    return pairs


def secondary_claim(
    claim: Claim, primary: ClaimPayment, coverage: Coverage, adjudication_date: date | None = None
) -> Claim:
    """``claim`` addressed to ``coverage`` with the payer that paid it (``primary``, its 835) as other payer.

    ``adjudication_date`` is the primary's payment date (835 BPR16), written as DTP*573. Raises ValueError
    when the 835 claim is not this claim's, or is a reversal (CLP02 22) or a denial-only status without
    amounts.
    """
    if primary.patient_control_number != claim.claim_key:
        raise ValueError(f"claim {claim.claim_key}: the 835 claim answers another claim")
    if primary.status == "22":
        raise ValueError(f"claim {claim.claim_key}: the 835 claim is a reversal")
    if primary.incomplete:
        raise ValueError(f"claim {claim.claim_key}: the 835 claim's amounts are incomplete")
    lines = tuple(
        LineAdjudication(
            line_number=line.line_number,
            procedure_code=svc.code,
            paid=svc.paid,
            units=svc.units if svc.units is not None else line.units,
            modifiers=tuple(svc.modifiers[:4]),
            adjustments=_adjustments(svc.adjustments),
            adjudication_date=adjudication_date,
        )
        for line, svc in _match_lines(claim.lines, primary.services)
    )
    other = OtherPayer(
        payer_id=claim.payer_id,
        payer_name=claim.payer_name,
        filing_indicator=claim.filing_indicator,
        member_id=claim.member_id,
        subscriber=claim.subscriber,
        relationship=claim.relationship,
        responsibility=claim.payer_responsibility,
        group_number=claim.group_number,
        paid=primary.paid,
        adjustments=_adjustments(primary.adjustments),
        adjudication_date=adjudication_date,
        payer_claim_number=primary.payer_claim_number or None,
        lines=lines,
    )
    return dataclasses.replace(
        claim,
        payer_id=coverage.payer_id,
        payer_name=coverage.payer_name,
        filing_indicator=coverage.filing_indicator,
        member_id=coverage.member_id,
        subscriber=coverage.subscriber,
        relationship=coverage.relationship,
        group_number=coverage.group_number,
        payer_responsibility=coverage.responsibility,
        # the payers that adjudicated it first, then the coverages still to come (the one now billed is none)
        other_payers=(
            *(o for o in claim.other_payers if o.paid is not None),
            other,
            *(o for o in claim.other_payers if o.paid is None and o.payer_id != coverage.payer_id),
        ),
    )
