"""The content digest of a claim version (revcycle.claim_versions.claim_digest).

Two builds of the same charges digest the same; any change a payer reads (an amount, a code, a modifier,
units, a diagnosis, the payer's routing ids) digests differently; how it is sent (CLM05-3, REF*F8) does not.
"""

from __future__ import annotations

import re
from dataclasses import replace

from test_claims import PAYERS, _payer, _row

from revcycle.claim_versions import claim_digest
from revcycle.claims import build_claims
from revcycle.domain import Claim


def _claim(**overrides: str) -> Claim:
    built = build_claims([_row("C1", **overrides), _row("C2", procedure_code="36415", charge_amount="12.00")], PAYERS)
    assert built.held == [] and len(built.claims) == 1
    return built.claims[0]


def test_the_same_charges_digest_the_same_and_the_digest_is_a_sha256_hex() -> None:
    payer = PAYERS["PAYR1"]
    first, second = claim_digest(_claim(), payer), claim_digest(_claim(), payer)
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    # 135.00 and 135 are one amount
    assert claim_digest(_claim(charge_amount="135"), payer) == first


def test_every_change_the_payer_reads_changes_the_digest() -> None:
    payer = PAYERS["PAYR1"]
    base = claim_digest(_claim(), payer)
    changed = [
        _claim(charge_amount="140.00"),
        _claim(procedure_code="99214"),
        _claim(modifier1="25"),
        _claim(units="2"),
        _claim(diagnosis1="E119"),
    ]
    digests = {claim_digest(c, payer) for c in changed}
    assert base not in digests and len(digests) == len(changed)
    # a fixed payer configuration (another ISA08 receiver id) is a different claim as written
    assert claim_digest(_claim(), _payer("PAYR1", interchange_receiver_id="NEWRECEIVER")) != base


def test_frequency_code_and_ref_f8_are_not_content() -> None:
    payer = PAYERS["PAYR1"]
    original = _claim()
    replacement = replace(original, frequency_code="7", original_claim_number="PCN123")
    assert claim_digest(replacement, payer) == claim_digest(original, payer)
