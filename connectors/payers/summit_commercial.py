"""A commercial PPO plan (sandbox ids).

Companion-guide rules encoded here: member ids are three letters and nine digits; modifier 25 is accepted
only on an evaluation-and-management code; 90-day timely filing.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from dataclasses import replace

from revcycle.codes.catalog import EVALUATION_AND_MANAGEMENT
from revcycle.domain import Claim, ClaimType
from revcycle.payers import PayerProfile


def _make_member_id(rng: random.Random) -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    return letters + "".join(str(rng.randrange(10)) for _ in range(9))


def _modifier_25_on_em_only(claim: Claim) -> Iterator[str]:
    for line in claim.lines:
        if "25" in line.modifiers and line.procedure_code not in EVALUATION_AND_MANAGEMENT:
            yield (
                f"claim {claim.claim_key} line {line.line_number}: modifier 25 on non-E/M code {line.procedure_code}"
            )


PAYER = PayerProfile(
    payer_id="SUMMT",
    name="Summit Health PPO (commercial sandbox)",
    filing_indicator="CI",
    interchange_receiver_id="SUMMITSANDBOX",
    group_receiver_code="SUMMT",
    claim_types=frozenset({ClaimType.PROFESSIONAL, ClaimType.INSTITUTIONAL}),
    timely_filing_days=90,
    member_id_pattern=r"[A-Z]{3}\d{9}",
    make_member_id=_make_member_id,
    claim_rules=(_modifier_25_on_em_only,),
    notes="Commercial PPO companion guide: modifier 25 on E/M only, 90-day timely filing.",
)

# For the contract test (tests/contract/test_payer_contract.py): per rule above, how to turn a valid
# claim into one that breaks it. The rule must be quiet on the valid claim and bite on the broken one.
RULE_VIOLATIONS: dict[str, Callable[[Claim], Claim]] = {
    # 20610 (arthrocentesis) is a procedure, not an evaluation-and-management visit
    _modifier_25_on_em_only.__name__: lambda claim: replace(
        claim, lines=(replace(claim.lines[0], procedure_code="20610", modifiers=("25",)), *claim.lines[1:])
    ),
}
