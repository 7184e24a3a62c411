"""Write institutional claims as an 837I interchange (005010X223A2).

The HL tree, parties, COB loops (2320/2330/2430), drug loop (2410), value rules and quarantine are shared
with the 837P writer (``write837``). What is institutional: CLM05 from the type of bill (facility code =
its first two digits, qualifier A, frequency = its third digit unless the claim is sent as a replacement or
void), statement dates (DTP*434), admission (DTP*435 and CL1), HI with the principal diagnosis (ABK) apart
from the admitting one (ABJ, inpatient) and the others (ABF), the attending provider (2310A), and SV2 lines
with a revenue code.
"""

from __future__ import annotations

from collections.abc import Sequence

from revcycle.domain import Claim, ClaimLine, ClaimType
from revcycle.x12.write837 import ClaimBuilder, QuarantinedClaim, Submitter, check_common, split_refused, write_837
from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    format_amount,
    format_date,
    format_date_range,
    format_decimal,
)

VERSION_837I = "005010X223A2"
MAX_DIAGNOSES = 25  # principal + two HI segments of 12 other diagnoses
_DISCHARGED_HOME = "01"


def facility_code(type_of_bill: str) -> tuple[str, str, str]:
    """CLM05 from a type of bill: (facility type = digits 1-2, qualifier A, frequency = digit 3).

    A four-digit bill type with a leading zero (``0131``) is read without it.
    """
    tob = type_of_bill[1:] if len(type_of_bill) == 4 and type_of_bill.startswith("0") else type_of_bill
    if len(tob) != 3 or not tob.isalnum():
        raise ValueError("type of bill must be three characters (e.g. 131), optionally after a leading 0")
    return tob[:2], "A", tob[2]


def is_inpatient_bill(type_of_bill: str) -> bool:
    """An inpatient bill: its second digit (bill classification) is 1, e.g. 111 hospital or 211 SNF inpatient."""
    tob = type_of_bill[1:] if len(type_of_bill) == 4 and type_of_bill.startswith("0") else type_of_bill
    return len(tob) == 3 and tob[1] == "1"


def claim_frequency(claim: Claim) -> str:
    """CLM05-3 of an institutional claim: its frequency code when a replacement or void (7, 8), else the
    third digit of its type of bill.

    The next-action rules send a replacement or void by setting the claim's frequency code (revcycle.resend);
    the type of bill keeps what the EHR exported (an interim bill's 2, 3 or 4 included).
    """
    assert claim.type_of_bill is not None
    if claim.frequency_code in ("7", "8"):
        return claim.frequency_code
    return facility_code(claim.type_of_bill)[2]


def _statement_period(claim: Claim) -> tuple[str, str]:
    start = claim.statement_from or min(line.service_date for line in claim.lines)
    end = claim.statement_to or max((line.service_date_end or line.service_date) for line in claim.lines)
    return "RD8", f"{format_date(start)}-{format_date(end)}"


def _check_claim(claim: Claim) -> None:
    if claim.claim_type is not ClaimType.INSTITUTIONAL:
        raise ValueError(f"claim {claim.claim_key}: not an institutional claim")
    check_common(claim, MAX_DIAGNOSES)
    if not claim.type_of_bill:
        raise ValueError(f"claim {claim.claim_key}: an institutional claim needs a type of bill")
    try:
        facility_code(claim.type_of_bill)
    except ValueError as exc:
        raise ValueError(f"claim {claim.claim_key}: {exc}") from None
    frequency = claim_frequency(claim)
    if frequency in ("7", "8") and not claim.original_claim_number:
        raise ValueError(f"claim {claim.claim_key}: frequency {frequency} needs REF*F8")
    if is_inpatient_bill(claim.type_of_bill) and claim.admission_date is None:
        raise ValueError(f"claim {claim.claim_key}: an inpatient bill needs its admission date (DTP*435)")
    if claim.attending_provider is None or not claim.attending_provider.is_person:
        raise ValueError(f"claim {claim.claim_key}: an institutional claim needs an attending physician")
    for line in claim.lines:
        if not line.revenue_code or len(line.revenue_code) != 4 or not line.revenue_code.isdigit():
            raise ValueError(f"claim {claim.claim_key} line {line.line_number}: needs a 4-digit revenue code")


def split_writable(
    claims: Sequence[Claim], delimiters: Delimiters = DEFAULT_DELIMITERS
) -> tuple[list[Claim], list[QuarantinedClaim]]:
    """The claims ``write_837i`` takes, and those it would refuse, with reasons naming claim key and field."""
    return split_refused(claims, delimiters, _check_claim)


class _Institutional(ClaimBuilder):
    institutional = True

    def claim(self, claim: Claim) -> None:
        w = self.w
        assert claim.type_of_bill is not None
        w.segment(
            "CLM",
            claim.claim_key,
            format_amount(claim.total_charge),
            None,
            None,
            (*facility_code(claim.type_of_bill)[:2], claim_frequency(claim)),
            None,
            "A",
            "Y",
            "Y",
        )
        w.segment("DTP", "434", *_statement_period(claim))
        if claim.admission_date is not None:
            w.segment("DTP", "435", "D8", format_date(claim.admission_date))
        w.segment("CL1", claim.admission_type, claim.admission_source, claim.patient_status or _DISCHARGED_HOME)
        if claim.prior_authorization:
            w.segment("REF", "G1", claim.prior_authorization)
        if claim_frequency(claim) in ("7", "8") and claim.original_claim_number:
            w.segment("REF", "F8", claim.original_claim_number)
        self.diagnoses(claim)
        attending = claim.attending_provider
        assert attending is not None
        self.name("71", attending)
        if attending.taxonomy_code:
            w.segment("PRV", "AT", "PXC", attending.taxonomy_code)
        self.facility(claim.service_facility)
        if claim.referring_provider is not None:
            self.name("DN", claim.referring_provider)
        self.other_payers(claim)
        for number, line in enumerate(claim.lines, start=1):
            self.line(claim, number, line)

    def line(self, claim: Claim, number: int, line: ClaimLine) -> None:
        self.w.segment("LX", str(number))
        self.w.segment(
            "SV2",
            line.revenue_code,
            ("HC", line.procedure_code, *line.modifiers[:4]),
            format_amount(line.charge),
            "UN",
            format_decimal(line.units),
        )
        qualifier, value = format_date_range(line.service_date, line.service_date_end)
        self.w.segment("DTP", "472", qualifier, value)
        self.drug(line)
        self.line_adjudications(claim, line)


def write_837i(
    claims: Sequence[Claim],
    envelope: Envelope,
    submitter: Submitter,
    receiver_name: str,
    transaction_control_start: int = 1,
    max_claims_per_transaction: int = 5000,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """One 837I interchange (one GS, one or more ST) holding institutional ``claims`` for one receiver.

    CLM05-3 is the third digit of ``type_of_bill``, or the claim's ``frequency_code`` when 7 or 8
    (``claim_frequency``). Raises
    ValueError for a claim that cannot be written (see ``write837.split_quarantined``).
    """
    return write_837(
        claims,
        envelope,
        submitter,
        receiver_name,
        version=VERSION_837I,
        builder=_Institutional,
        check=_check_claim,
        transaction_control_start=transaction_control_start,
        max_claims_per_transaction=max_claims_per_transaction,
        delimiters=delimiters,
        newline=newline,
    )


__all__ = [
    "MAX_DIAGNOSES",
    "VERSION_837I",
    "Submitter",
    "claim_frequency",
    "facility_code",
    "is_inpatient_bill",
    "split_writable",
    "write_837i",
]
