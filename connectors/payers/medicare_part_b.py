"""Medicare Part B through a Medicare Administrative Contractor (sandbox ids).

Companion-guide rules encoded here: the member id is a Medicare Beneficiary Identifier (MBI); a claim
billed by an organisation names its rendering provider (2310B), and the patient is always the subscriber.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace

from revcycle.domain import Claim, ClaimType
from revcycle.payers import PayerProfile

# MBI characters: digits and letters other than S, L, O, I, B and Z.
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_MBI_ALNUM = _MBI_LETTERS + "0123456789"
_MBI_PATTERN = (
    rf"[1-9][{_MBI_LETTERS}][{_MBI_ALNUM}][0-9][{_MBI_LETTERS}][{_MBI_ALNUM}][0-9]"
    rf"[{_MBI_LETTERS}][{_MBI_LETTERS}][0-9][0-9]"
)


def _make_mbi(rng: random.Random) -> str:
    return "".join(
        (
            rng.choice("123456789"),
            rng.choice(_MBI_LETTERS),
            rng.choice(_MBI_ALNUM),
            rng.choice("0123456789"),
            rng.choice(_MBI_LETTERS),
            rng.choice(_MBI_ALNUM),
            rng.choice("0123456789"),
            rng.choice(_MBI_LETTERS),
            rng.choice(_MBI_LETTERS),
            rng.choice("0123456789"),
            rng.choice("0123456789"),
        )
    )


def _rendering_provider_required(claim: Claim) -> Iterator[str]:
    if not claim.billing_provider.is_person and claim.rendering_provider is None:
        yield f"claim {claim.claim_key}: Medicare needs the rendering provider (2310B) on a group's claim"


def _patient_is_beneficiary(claim: Claim) -> Iterator[str]:
    if not claim.patient_is_subscriber:
        yield f"claim {claim.claim_key}: Medicare claims are filed for the beneficiary (relationship 18)"


PAYER = PayerProfile(
    payer_id="MCRPB",
    name="Medicare Part B (MAC sandbox)",
    filing_indicator="MB",
    interchange_receiver_id="MCRPBSANDBOX",
    group_receiver_code="MCRPB",
    claim_types=frozenset({ClaimType.PROFESSIONAL}),
    timely_filing_days=365,
    appeal_days=120,  # Medicare redetermination: 120 days from the initial determination
    # MACs take no frequency 7 or 8 on Part B claims: a change after adjudication is a reopening
    # (Medicare Claims Processing Manual, Pub. 100-04, ch. 34), worked by a person.
    accepts_replacement=False,
    accepts_void=False,
    # Clean electronic claims are paid no sooner than day 14 and within 30 days (payment floor and ceiling,
    # Social Security Act §1842(c)); 30 days is when a Part B claim has gone quiet.
    usual_lag_days=30,
    member_id_pattern=_MBI_PATTERN,
    make_member_id=_make_mbi,
    claim_rules=(_rendering_provider_required, _patient_is_beneficiary),
    notes="MAC 5010 837P companion guide: MBI format, 2310B required for groups, patient = subscriber.",
)

# For the contract test (tests/contract/test_payer_contract.py): per rule above, how to turn a valid
# claim into one that breaks it. The rule must be quiet on the valid claim and bite on the broken one.
RULE_VIOLATIONS: dict[str, Callable[[Claim], Claim]] = {
    _rendering_provider_required.__name__: lambda claim: replace(
        claim, billing_provider=replace(claim.billing_provider, first_name=None), rendering_provider=None
    ),
    _patient_is_beneficiary.__name__: lambda claim: replace(claim, relationship="19"),
}
