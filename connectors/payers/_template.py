"""Template for a new payer: copy to ``connectors/payers/<payer_name>.py`` and fill in.

The file is found automatically (files starting with ``_`` are skipped); the contract test in
``tests/contract/test_payer_contract.py`` then checks it: sample charges build into an 837 that passes
pyx12, your rules hold, and an 835 from the payer loads. See docs/adding-a-payer.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace

from revcycle.domain import Claim, ClaimType
from revcycle.payers import PayerProfile


def _make_member_id(rng: random.Random) -> str:
    # Must produce ids that match member_id_pattern below: the contract test checks it.
    return "XYZ" + "".join(str(rng.randrange(10)) for _ in range(9))


def _example_rule(claim: Claim) -> Iterator[str]:
    # A companion-guide rule: yield one message per problem; name codes and the claim key, never PHI.
    if len(claim.lines) > 50:
        yield f"claim {claim.claim_key}: more than 50 service lines"


PAYER = PayerProfile(
    payer_id="TEMPLATE",  # the clearinghouse's payer id (2010BB NM109)
    name="Template Health Plan",
    filing_indicator="CI",  # SBR09
    interchange_receiver_id="TEMPLATE",  # ISA08
    group_receiver_code="TEMPLATE",  # GS03
    claim_types=frozenset({ClaimType.PROFESSIONAL}),
    timely_filing_days=90,
    member_id_pattern=r"XYZ\d{9}",
    make_member_id=_make_member_id,
    claim_rules=(_example_rule,),
    notes="Where the companion guide lives and which version these rules follow.",
)

# Required by the contract test (tests/contract/test_payer_contract.py): per rule above, how to turn a
# valid claim into one that breaks it. The rule must be quiet on the valid claim and bite on the broken one.
# Every function in claim_rules needs an entry, keyed by the function's name.
RULE_VIOLATIONS: dict[str, Callable[[Claim], Claim]] = {
    _example_rule.__name__: lambda claim: replace(
        claim, lines=tuple(replace(claim.lines[0], line_number=n) for n in range(1, 52))
    ),
}

# Optional: a check of the contract that does not apply to this payer, with the written reason why.
# Check names: ids, member_ids, sample_claims, rule_violations, pyx12_837, remittance_loads.
CONTRACT_EXEMPTIONS: dict[str, str] = {}
