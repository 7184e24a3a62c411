"""What the core knows of a payer: ids, routing and companion-guide rules, as data and plain functions.

Payer files in ``connectors/payers/`` each declare one ``PayerProfile``; tasks hand the profiles to the
claim builder and the expectation suites, so neither imports ``connectors``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from revcycle.domain import Claim, ClaimType

ClaimRule = Callable[[Claim], Iterable[str]]
"""A companion-guide rule: yields one message per problem found (claim keys and codes only, no PHI)."""


_TRANSACTION = {ClaimType.PROFESSIONAL: "837P", ClaimType.INSTITUTIONAL: "837I"}


@dataclass(frozen=True)
class PayerProfile:
    """One payer's ids, accepted claim types, limits and companion-guide rules."""

    payer_id: str  # 2010BB NM109, the clearinghouse's payer id
    name: str
    filing_indicator: str  # default SBR09 for this payer's claims
    interchange_receiver_id: str  # ISA08
    group_receiver_code: str  # GS03
    claim_types: frozenset[ClaimType]
    timely_filing_days: int
    member_id_pattern: str  # a full-match regular expression
    make_member_id: Callable[[random.Random], str]  # a valid member id, for synthetic data and contract tests
    claim_rules: tuple[ClaimRule, ...] = ()
    appeal_days: int = 90  # how long after the denial an appeal is accepted (the denial worklist's deadline)
    # Corrections and follow-up (docs/claim-rules.md, "What a payer file says"):
    accepts_replacement: bool = True  # takes frequency 7 (CLM05-3) electronically
    accepts_void: bool = True  # takes frequency 8 electronically
    correction_filing_days: int = 365  # days from the adjudication's payment date for a 7 or 8
    usual_lag_days: int = 30  # submission to 835; past it a claim is "silent" and gets a 276
    inquiry_interval_days: int = 14  # between two 276 inquiries about one silent claim
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def member_id_is_valid(self, member_id: str) -> bool:
        """True when ``member_id`` has this payer's format."""
        return re.fullmatch(self.member_id_pattern, member_id) is not None

    def check_claim(self, claim: Claim) -> list[str]:
        """Every companion-guide problem of ``claim`` (empty when it may be sent)."""
        problems: list[str] = []
        if claim.claim_type not in self.claim_types:
            problems.append(
                f"claim {claim.claim_key}: {self.name} does not accept {claim.claim_type.value} claims "
                f"({_TRANSACTION[claim.claim_type]}); held"
            )
        for rule in self.claim_rules:
            problems.extend(rule(claim))
        return problems
