"""Write professional claims as an 837P interchange (005010X222A1).

The HL tree, parties, COB loops (2320/2330/2430), drug loop (2410), value rules and quarantine are shared
with the 837I writer (``write837``): see that module for the rules on delimiters inside values.
"""

from __future__ import annotations

from collections.abc import Sequence

from revcycle.domain import Claim, ClaimLine, ClaimType
from revcycle.x12.write837 import (
    MAX_CLAIMS_PER_HL,
    MAX_LINES_PER_CLAIM,
    ClaimBuilder,
    QuarantinedClaim,
    Submitter,
    check_common,
    split_quarantined,
    split_refused,
    write_837,
)
from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    format_amount,
    format_date_range,
    format_decimal,
)

__all__ = [
    "MAX_CLAIMS_PER_HL",
    "MAX_DIAGNOSES",
    "MAX_LINES_PER_CLAIM",
    "VERSION_837P",
    "QuarantinedClaim",
    "Submitter",
    "split_quarantined",
    "split_writable",
    "write_837p",
]

VERSION_837P = "005010X222A1"
MAX_DIAGNOSES = 12


def _check_claim(claim: Claim) -> None:
    if claim.claim_type is not ClaimType.PROFESSIONAL:
        raise ValueError(f"claim {claim.claim_key}: not a professional claim")
    check_common(claim, MAX_DIAGNOSES)
    for line in claim.lines:
        if any(not 1 <= p <= len(claim.diagnoses) for p in line.diagnosis_pointers[:4]):
            raise ValueError(f"claim {claim.claim_key} line {line.line_number}: bad diagnosis pointer")
        if not line.diagnosis_pointers:
            raise ValueError(f"claim {claim.claim_key} line {line.line_number}: no diagnosis pointer")


def split_writable(
    claims: Sequence[Claim], delimiters: Delimiters = DEFAULT_DELIMITERS
) -> tuple[list[Claim], list[QuarantinedClaim]]:
    """The claims ``write_837p`` takes, and those it would refuse, with reasons naming claim key and field."""
    return split_refused(claims, delimiters, _check_claim)


class _Professional(ClaimBuilder):
    def claim(self, claim: Claim) -> None:
        w = self.w
        w.segment(
            "CLM",
            claim.claim_key,
            format_amount(claim.total_charge),
            None,
            None,
            (claim.place_of_service, "B", claim.frequency_code),
            "Y",
            "A",
            "Y",
            "Y",
        )
        if claim.prior_authorization:
            w.segment("REF", "G1", claim.prior_authorization)
        if claim.frequency_code in ("7", "8") and claim.original_claim_number:
            w.segment("REF", "F8", claim.original_claim_number)
        self.diagnoses(claim)
        if claim.referring_provider is not None:
            self.name("DN", claim.referring_provider)
        rendering = claim.rendering_provider
        if rendering is not None and rendering.npi != claim.billing_provider.npi:
            self.name("82", rendering)
            if rendering.taxonomy_code:
                w.segment("PRV", "PE", "PXC", rendering.taxonomy_code)
        self.facility(claim.service_facility)
        self.other_payers(claim)
        for number, line in enumerate(claim.lines, start=1):
            self.line(claim, number, line)

    def line(self, claim: Claim, number: int, line: ClaimLine) -> None:
        pos = line.place_of_service if line.place_of_service not in (None, claim.place_of_service) else None
        self.w.segment("LX", str(number))
        self.w.segment(
            "SV1",
            ("HC", line.procedure_code, *line.modifiers[:4]),
            format_amount(line.charge),
            "UN",
            format_decimal(line.units),
            pos,
            None,
            tuple(str(p) for p in line.diagnosis_pointers[:4]),
        )
        qualifier, value = format_date_range(line.service_date, line.service_date_end)
        self.w.segment("DTP", "472", qualifier, value)
        self.drug(line)
        self.line_adjudications(claim, line)


def write_837p(
    claims: Sequence[Claim],
    envelope: Envelope,
    submitter: Submitter,
    receiver_name: str,
    transaction_control_start: int = 1,
    max_claims_per_transaction: int = 5000,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """One 837P interchange (one GS, one or more ST) holding ``claims``, all for the same receiver.

    Raises ValueError for a claim that cannot be written (``split_writable`` sets aside, before calling, those
    whose identifiers hold a delimiter or a non-ASCII character and those failing the 837P checks).
    """
    return write_837(
        claims,
        envelope,
        submitter,
        receiver_name,
        version=VERSION_837P,
        builder=_Professional,
        check=_check_claim,
        transaction_control_start=transaction_control_start,
        max_claims_per_transaction=max_claims_per_transaction,
        delimiters=delimiters,
        newline=newline,
    )
