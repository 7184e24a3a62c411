"""The revenue-cycle vocabulary: charges grouped into claims, and the claim lifecycle.

Money is ``Decimal`` everywhere in the core (integer cents only inside the warehouse tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class ClaimType(StrEnum):
    """Which 837 a claim is sent on."""

    PROFESSIONAL = "professional"  # 837P, 005010X222A1
    INSTITUTIONAL = "institutional"  # 837I, 005010X223A2


class ClaimStatus(StrEnum):
    """Where a claim stands in its lifecycle (DESIGN.md §5)."""

    BUILT = "built"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    REVERSED = "reversed"
    CORRECTED = "corrected"
    VOIDED = "voided"


_ADJUDICATED = {ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED}

# Files arrive out of order (an 835 before its 277CA), so transitions are permissive about order
# but never leave the lifecycle: e.g. nothing goes back to BUILT.
ALLOWED_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.BUILT: frozenset({ClaimStatus.SUBMITTED}),
    ClaimStatus.SUBMITTED: frozenset(
        {ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.REJECTED, *_ADJUDICATED}
    ),
    ClaimStatus.ACCEPTED: frozenset({ClaimStatus.ACCEPTED, ClaimStatus.REJECTED, *_ADJUDICATED}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, *_ADJUDICATED}),
    ClaimStatus.PAID: frozenset({ClaimStatus.REVERSED, ClaimStatus.CORRECTED, ClaimStatus.VOIDED}),
    ClaimStatus.PARTIALLY_PAID: frozenset({ClaimStatus.REVERSED, ClaimStatus.CORRECTED, ClaimStatus.VOIDED}),
    ClaimStatus.DENIED: frozenset(
        {ClaimStatus.SUBMITTED, ClaimStatus.REVERSED, ClaimStatus.CORRECTED, ClaimStatus.VOIDED}
    ),
    ClaimStatus.REVERSED: frozenset({*_ADJUDICATED, ClaimStatus.CORRECTED, ClaimStatus.VOIDED}),
    ClaimStatus.CORRECTED: frozenset({ClaimStatus.SUBMITTED, *_ADJUDICATED}),
    ClaimStatus.VOIDED: frozenset(),
}


def can_transition(current: ClaimStatus, new: ClaimStatus) -> bool:
    """Whether a claim in ``current`` may move to ``new``."""
    return new in ALLOWED_TRANSITIONS[current]


@dataclass(frozen=True, slots=True)
class Address:
    """A US postal address; ``zip_code`` is 5 or 9 digits."""

    line1: str
    city: str
    state: str
    zip_code: str
    line2: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """A subscriber or patient as the claim carries them."""

    last_name: str
    first_name: str
    birth_date: date
    sex: str  # M, F or U
    address: Address
    middle_name: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """A billing, rendering or referring provider; ``first_name`` is None for an organisation."""

    npi: str
    last_or_org_name: str
    first_name: str | None = None
    tax_id: str | None = None
    taxonomy_code: str | None = None
    address: Address | None = None

    @property
    def is_person(self) -> bool:
        """True for an individual (NM102 = 1), False for an organisation (NM102 = 2)."""
        return self.first_name is not None


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One service line (SV1 on an 837P, SV2 on an 837I), built from one charge row."""

    line_number: int
    charge_id: str
    procedure_code: str
    charge: Decimal
    units: Decimal
    service_date: date
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = (1,)
    service_date_end: date | None = None
    place_of_service: str | None = None
    revenue_code: str | None = None
    ndc: str | None = None
    ndc_quantity: Decimal | None = None  # CTP04 of the 2410 drug loop; the line's units when None
    ndc_unit: str = "UN"  # CTP05-1: UN unit, ML millilitre, GR gram, F2 international unit, ME milligram


@dataclass(frozen=True, slots=True)
class ClaimAdjustment:
    """One adjustment another payer made (CAS triple): group (CO, PR, OA, PI, CR), reason (CARC), amount."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """How another payer adjudicated one service line (837 loop 2430, from its 835 SVC loop)."""

    line_number: int  # the claim line (ClaimLine.line_number) it answers
    procedure_code: str
    paid: Decimal
    units: Decimal
    modifiers: tuple[str, ...] = ()
    adjustments: tuple[ClaimAdjustment, ...] = ()
    adjudication_date: date | None = None


@dataclass(frozen=True, slots=True)
class OtherPayer:
    """A payer that adjudicated the claim before this one (837 loops 2320/2330A/2330B), for COB."""

    payer_id: str
    payer_name: str
    filing_indicator: str  # SBR09 of that coverage
    member_id: str
    subscriber: Person
    relationship: str  # the patient's relationship to that subscriber (X12 code, 18 self)
    responsibility: str = "P"  # SBR01: P primary, S secondary, T tertiary
    group_number: str | None = None
    paid: Decimal | None = None  # AMT*D: what that payer paid
    adjustments: tuple[ClaimAdjustment, ...] = ()  # claim-level CAS
    adjudication_date: date | None = None  # DTP*573
    payer_claim_number: str | None = None  # its CLP07, kept for reference
    lines: tuple[LineAdjudication, ...] = ()


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim: the charges of one patient's encounter with one billing provider for one payer."""

    claim_key: str  # CLM01: generated, at most 20 characters, never an MRN or account number
    claim_type: ClaimType
    encounter_id: str
    payer_id: str
    payer_name: str
    filing_indicator: str  # SBR09: MB Medicare B, MC Medicaid, CI commercial ...
    billing_provider: Provider
    subscriber: Person
    member_id: str
    relationship: str  # patient's relationship to subscriber, X12 code: 18 self, 01 spouse, 19 child, G8 other
    patient: Person
    diagnoses: tuple[str, ...]  # ICD-10-CM without the dot, principal first
    lines: tuple[ClaimLine, ...]
    place_of_service: str = "11"
    frequency_code: str = "1"  # 1 original, 7 replacement, 8 void
    original_claim_number: str | None = None  # the payer's claim number (REF*F8) for 7 and 8
    prior_authorization: str | None = None
    group_number: str | None = None
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    type_of_bill: str | None = None  # 837I only, e.g. 131
    payer_responsibility: str = "P"  # SBR01 of the payer billed: P primary, S secondary, T tertiary
    other_payers: tuple[OtherPayer, ...] = ()  # COB: payers that adjudicated the claim already
    pay_to_address: Address | None = None  # 2010AB, when payments go elsewhere than the billing address
    service_facility: Provider | None = None  # 837P 2310C / 837I 2310E
    attending_provider: Provider | None = None  # 837I 2310A
    statement_from: date | None = None  # 837I DTP*434; defaults to the first and last line dates
    statement_to: date | None = None
    admission_date: date | None = None  # 837I DTP*435 (inpatient)
    admission_type: str | None = None  # 837I CL101
    admission_source: str | None = None  # 837I CL102
    patient_status: str | None = None  # 837I CL103, e.g. 01 discharged home
    admitting_diagnosis: str | None = None  # 837I HI*ABJ (inpatient), ICD-10-CM without the dot
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def total_charge(self) -> Decimal:
        """CLM02: the sum of the line charges."""
        return sum((line.charge for line in self.lines), Decimal("0"))

    @property
    def patient_is_subscriber(self) -> bool:
        """True when no 2000C patient loop is needed."""
        return self.relationship == "18"
