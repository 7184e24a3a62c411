"""The COB balance check the 60-night test applies to every secondary claim, on an 837P and an 837I line."""

from __future__ import annotations

import pytest
from cob_balance import cob_balance_problems

# One secondary claim of 100.00 with one line, adjudicated by payer P1: the line's 2430 takes 20.00 to the
# patient (PR-1) and 20.00 contractual (CO-45), so by hand 100 - 0 (2320 CAS) - 40 (2430 CAS) = 60 = AMT*D, and
# 100 - 40 = 60 = SVD02.
_CLAIM = "CLM*K1*100***11:B:1~SBR*P*18*******CI~AMT*D*{paid}~NM1*PR*2*PAYER ONE*****PI*P1~LX*1~"
_SVD = "SVD*P1*{paid}*HC:99213**1~CAS*PR*1*20~CAS*CO*45*20~"
LINES = {
    "837P": "SV1*HC:99213*100*UN*1***1~",
    "837I": "SV2*0450*HC:99213*100*UN*1~",
}


@pytest.mark.parametrize("kind", sorted(LINES))
def test_a_balanced_secondary_passes_and_a_cent_off_fails(kind: str) -> None:
    balanced = _CLAIM.format(paid="60") + LINES[kind] + _SVD.format(paid="60") + "SE*9*0001~"
    assert cob_balance_problems(balanced.encode()) == []
    line_off = _CLAIM.format(paid="60") + LINES[kind] + _SVD.format(paid="60.01") + "SE*9*0001~"
    assert cob_balance_problems(line_off.encode()) == ["claim K1: a 2430 of P1: SV102 - CAS != SVD02"]
    claim_off = _CLAIM.format(paid="60.01") + LINES[kind] + _SVD.format(paid="60") + "SE*9*0001~"
    assert cob_balance_problems(claim_off.encode()) == ["claim K1: 2320 of P1: CLM02 - 2320 CAS - 2430 CAS != AMT*D"]
