"""A state Medicaid plan (sandbox ids).

Companion-guide rules encoded here: the member id is a 9-digit recipient id; Medicaid covers the
subscriber or a dependent child only; prior authorization (REF*G1) is required for physical therapy.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace

from revcycle.domain import Claim, ClaimType
from revcycle.payers import PayerProfile

PRIOR_AUTH_PROCEDURES = frozenset({"97110"})


def _make_recipient_id(rng: random.Random) -> str:
    return str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(8))


def _self_or_child(claim: Claim) -> Iterator[str]:
    if claim.relationship not in {"18", "19"}:
        yield f"claim {claim.claim_key}: Medicaid covers the recipient or a dependent child (18 or 19)"


def _prior_authorization(claim: Claim) -> Iterator[str]:
    needs = sorted({line.procedure_code for line in claim.lines} & PRIOR_AUTH_PROCEDURES)
    if needs and not claim.prior_authorization:
        yield f"claim {claim.claim_key}: prior authorization (REF*G1) required for {', '.join(needs)}"


PAYER = PayerProfile(
    payer_id="MCDST",
    name="State Medicaid (sandbox)",
    filing_indicator="MC",
    interchange_receiver_id="MCDSTSANDBOX",
    group_receiver_code="MCDST",
    claim_types=frozenset({ClaimType.PROFESSIONAL, ClaimType.INSTITUTIONAL}),
    timely_filing_days=180,
    appeal_days=60,
    member_id_pattern=r"[1-9]\d{8}",
    make_member_id=_make_recipient_id,
    claim_rules=(_self_or_child, _prior_authorization),
    notes="State Medicaid 5010 companion guide: 9-digit recipient id, PA for therapy codes.",
)

# For the contract test (tests/contract/test_payer_contract.py): per rule above, how to turn a valid
# claim into one that breaks it. The rule must be quiet on the valid claim and bite on the broken one.
RULE_VIOLATIONS: dict[str, Callable[[Claim], Claim]] = {
    _self_or_child.__name__: lambda claim: replace(claim, relationship="01"),
    _prior_authorization.__name__: lambda claim: replace(
        claim,
        lines=(replace(claim.lines[0], procedure_code="97110"), *claim.lines[1:]),
        prior_authorization=None,
    ),
}
