"""Template for a new payer: copy to ``connectors/payers/<payer_name>.py`` and fill in.

The file is found automatically (files starting with ``_`` are skipped); the contract test in
``tests/contract/test_payer_contract.py`` then checks it: sample charges build into an 837 that passes
pyx12, your rules hold, and an 835 from the payer loads. See docs/adding-a-payer.md.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

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
