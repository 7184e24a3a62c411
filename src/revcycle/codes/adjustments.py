"""What an 835 adjustment means: the (CAS group, CARC) category table, and short descriptions of the codes.

Source of the codes: the Claim Adjustment Group Codes (X12 835 CAS01: CO, PR, OA, PI, and CR from before
version 5010), the Claim Adjustment Reason Codes (CARC, maintained by the X12 Code Maintenance Committee) and
the Remittance Advice Remark Codes (RARC, maintained by CMS), all published on x12.org / wpc-edi.com. The
descriptions below are short summaries in our own words, written for a billing person, of the codes the
sandbox payer and the public X12 corpus use; they are not the official texts. The categories are ours: they
say what an adjustment does to the money, read with its group, because the group decides who carries it
(CO-50 is a medical-necessity denial the provider writes off, PR-50 is the same reason billed to a patient
who signed an advance beneficiary notice, and OA-23 only says a prior payer already paid part).

A **denial** is payment withheld by a denial-category adjustment, on the claim or on a line; CLP02 alone
never makes one (a payer sends CLP02 1 or 4 with $0 paid when the whole allowed amount went to the
deductible: that is patient responsibility, not a denial).

``docs/denial-codes.md`` is generated from this module (``python -m revcycle.warehouse.kpi.docs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """What an adjustment does to the money."""

    CONTRACTUAL = "contractual"  # the payer's contract lowers the amount due: written off, not owed by anyone
    PATIENT_RESPONSIBILITY = "patient_responsibility"  # moved to the patient (deductible, coinsurance, copay)
    DENIAL = "denial"  # payment withheld for a reason the provider can often correct or appeal
    OTHER = "other"  # payer adjustments and bookkeeping: prior payer's share, withholds, corrections


class DenialKind(StrEnum):
    """The sub-category of a denial: where the fix usually lies."""

    ELIGIBILITY = "eligibility_coverage"
    COORDINATION_OF_BENEFITS = "coordination_of_benefits"
    AUTHORIZATION = "authorization"
    CODING = "coding_bundling"
    MEDICAL_NECESSITY = "medical_necessity"
    TIMELY_FILING = "timely_filing"
    DUPLICATE = "duplicate"
    MISSING_INFORMATION = "missing_information"
    NON_COVERED = "non_covered"
    UNCLASSIFIED = "unclassified"


DENIAL_KIND_LABELS: dict[DenialKind, str] = {
    DenialKind.ELIGIBILITY: "eligibility and coverage",
    DenialKind.COORDINATION_OF_BENEFITS: "coordination of benefits",
    DenialKind.AUTHORIZATION: "authorization",
    DenialKind.CODING: "coding and bundling",
    DenialKind.MEDICAL_NECESSITY: "medical necessity",
    DenialKind.TIMELY_FILING: "timely filing",
    DenialKind.DUPLICATE: "duplicate",
    DenialKind.MISSING_INFORMATION: "missing information (read with its RARC)",
    DenialKind.NON_COVERED: "non-covered service",
    DenialKind.UNCLASSIFIED: "not classified yet (a CO code missing from the table)",
}

CATEGORY_LABELS: dict[Category, str] = {
    Category.CONTRACTUAL: "contractual",
    Category.PATIENT_RESPONSIBILITY: "patient responsibility",
    Category.DENIAL: "denial",
    Category.OTHER: "payer adjustment or other",
}

GROUP_CODES: dict[str, str] = {
    "CO": "Contractual obligation: the provider carries the amount and may not bill the patient",
    "PR": "Patient responsibility: the amount may be billed to the patient",
    "OA": "Other adjustment: neither the provider's nor the patient's responsibility by contract",
    "PI": "Payer-initiated reduction: the payer lowered the amount, no contract behind it",
    "CR": "Correction or reversal (a pre-5010 group, still seen in old files)",
}

# (group, CARC) not listed below fall back on their group: CO to a denial not classified yet (so a new code
# shows up on the denial worklist instead of hiding as a write-off), PR to patient responsibility, OA, PI and
# CR to payer adjustment or other.
GROUP_DEFAULTS: dict[str, tuple[Category, DenialKind | None]] = {
    "CO": (Category.DENIAL, DenialKind.UNCLASSIFIED),
    "PR": (Category.PATIENT_RESPONSIBILITY, None),
    "OA": (Category.OTHER, None),
    "PI": (Category.OTHER, None),
    "CR": (Category.OTHER, None),
}

# Short descriptions of the CARCs in our own words (not the official X12 texts).
CARC_DESCRIPTIONS: dict[str, str] = {
    "1": "Deductible: the patient's deductible absorbed this amount",
    "2": "Coinsurance: the patient's percentage share",
    "3": "Copay: the patient's fixed share",
    "4": "The procedure code does not fit the modifier used, or a needed modifier is missing",
    "11": "The diagnosis does not support the procedure billed",
    "15": "The authorization number is missing, invalid or does not apply to this provider",
    "16": "The claim or line lacks information or has a billing error; the remark code says what to fix",
    "18": "Exact duplicate of a claim or line already processed",
    "22": "Another payer may be primary under coordination of benefits",
    "23": "The prior payer's adjudication (its payment or adjustments) reduces what this payer owes",
    "24": "Covered under a capitation agreement or managed-care plan",
    "26": "The service was before the coverage started",
    "27": "The service was after the coverage ended",
    "29": "The payer's time limit for filing has passed",
    "31": "The payer cannot identify the patient as its member",
    "42": "The charge exceeds the fee schedule or maximum allowable amount",
    "45": "The charge exceeds the contracted or allowed amount (fee-schedule write-off)",
    "50": "The payer does not consider the service medically necessary",
    "59": "Reduced under multiple or concurrent procedure payment rules",
    "62": "Denied for lack of precertification",
    "93": "No claim-level adjustment (a placeholder some payers send)",
    "94": "Processed above the charges",
    "96": "A non-covered charge",
    "97": "Bundled: paid as part of another service or procedure on the claim or an earlier one",
    "104": "Managed-care withholding",
    "109": "Not covered by this payer; bill the right payer or contractor",
    "119": "The benefit maximum for the period has been reached",
    "131": "A discount negotiated for this claim",
    "140": "The patient's and the insured's identifiers do not match",
    "141": "The claim spans periods with and without eligibility",
    "151": "The information sent does not support this many services or this frequency",
    "165": "The referral is missing or was exceeded",
    "167": "The diagnosis is not covered",
    "181": "The procedure code was not valid on the date of service",
    "182": "The modifier was not valid on the date of service",
    "197": "Precertification, authorization or notification was absent",
    "204": "The service is not covered under the patient's current benefit plan",
    "226": "Information the payer asked the billing provider for was not received",
    "227": "Information the payer asked the patient or insured for was not received",
    "234": "The procedure is not paid separately",
    "251": "The attachment or documentation received was incomplete or deficient",
    "252": "An attachment or other documentation is required",
    "253": "Sequestration: the federal across-the-board reduction of Medicare payments",
    "A7": "Presumptive payment adjustment",
}

C, P, D, X = Category.CONTRACTUAL, Category.PATIENT_RESPONSIBILITY, Category.DENIAL, Category.OTHER
K = DenialKind

# The category table: (group, CARC) -> (category, denial sub-category). Codes of the sandbox payer
# (src/revcycle/sandbox/payer_simulator.py), of the public X12 corpus, and the common denials of a practice.
CATEGORY_TABLE: dict[tuple[str, str], tuple[Category, DenialKind | None]] = {
    # contractual
    ("CO", "45"): (C, None),
    ("CO", "253"): (C, None),
    ("CO", "42"): (C, None),
    ("CO", "24"): (C, None),
    ("CO", "131"): (C, None),
    ("CO", "59"): (C, None),
    # patient responsibility (every PR code is; these are listed for their descriptions)
    ("PR", "1"): (P, None),
    ("PR", "2"): (P, None),
    ("PR", "3"): (P, None),
    ("PR", "50"): (P, None),  # a signed advance beneficiary notice makes the patient liable
    ("PR", "96"): (P, None),
    ("PR", "204"): (P, None),
    # denials, by sub-category
    ("CO", "26"): (D, K.ELIGIBILITY),
    ("CO", "27"): (D, K.ELIGIBILITY),
    ("CO", "31"): (D, K.ELIGIBILITY),
    ("CO", "140"): (D, K.ELIGIBILITY),
    ("CO", "141"): (D, K.ELIGIBILITY),
    ("OA", "141"): (D, K.ELIGIBILITY),
    ("CO", "22"): (D, K.COORDINATION_OF_BENEFITS),
    ("CO", "109"): (D, K.COORDINATION_OF_BENEFITS),
    ("OA", "22"): (D, K.COORDINATION_OF_BENEFITS),
    ("OA", "109"): (D, K.COORDINATION_OF_BENEFITS),
    ("CO", "15"): (D, K.AUTHORIZATION),
    ("CO", "62"): (D, K.AUTHORIZATION),
    ("CO", "165"): (D, K.AUTHORIZATION),
    ("CO", "197"): (D, K.AUTHORIZATION),
    ("CO", "4"): (D, K.CODING),
    ("CO", "11"): (D, K.CODING),
    ("CO", "97"): (D, K.CODING),
    ("CO", "181"): (D, K.CODING),
    ("CO", "182"): (D, K.CODING),
    ("CO", "234"): (D, K.CODING),
    ("CO", "50"): (D, K.MEDICAL_NECESSITY),
    ("CO", "151"): (D, K.MEDICAL_NECESSITY),
    ("CO", "29"): (D, K.TIMELY_FILING),
    ("CO", "18"): (D, K.DUPLICATE),
    ("OA", "18"): (D, K.DUPLICATE),
    ("CO", "16"): (D, K.MISSING_INFORMATION),
    ("CO", "226"): (D, K.MISSING_INFORMATION),
    ("CO", "227"): (D, K.MISSING_INFORMATION),
    ("CO", "251"): (D, K.MISSING_INFORMATION),
    ("CO", "252"): (D, K.MISSING_INFORMATION),
    ("CO", "96"): (D, K.NON_COVERED),
    ("CO", "119"): (D, K.NON_COVERED),
    ("CO", "167"): (D, K.NON_COVERED),
    ("CO", "204"): (D, K.NON_COVERED),
    # payer adjustment or other: not denials
    ("OA", "23"): (X, None),
    ("CO", "23"): (X, None),
    ("OA", "93"): (X, None),
    ("CO", "94"): (X, None),
    ("OA", "94"): (X, None),
    ("PI", "104"): (X, None),
    ("CO", "104"): (X, None),
    ("OA", "A7"): (X, None),
}

del C, P, D, X, K


@dataclass(frozen=True)
class AdjustmentMeaning:
    """The category of one (group, CARC) and what it says."""

    group_code: str
    reason_code: str
    category: Category
    denial_kind: DenialKind | None
    description: str
    listed: bool  # False when only the group's default applies

    @property
    def is_denial(self) -> bool:
        """True for a denial-category adjustment."""
        return self.category is Category.DENIAL

    @property
    def label(self) -> str:
        """CO-50 style."""
        return f"{self.group_code}-{self.reason_code}"


def carc_description(reason_code: str) -> str:
    """Our short description of a CARC, or a pointer to the official list when we have none."""
    return CARC_DESCRIPTIONS.get(reason_code, f"CARC {reason_code}: no description on file (see the X12 CARC list)")


def meaning(group_code: str, reason_code: str) -> AdjustmentMeaning:
    """The category of an adjustment, from the table or its group's default."""
    group = group_code.strip().upper()
    reason = reason_code.strip().upper()
    listed = CATEGORY_TABLE.get((group, reason))
    category, kind = listed or GROUP_DEFAULTS.get(group, (Category.OTHER, None))
    return AdjustmentMeaning(group, reason, category, kind, carc_description(reason), listed is not None)


# Remittance Advice Remark Codes seen with the denials above, in our own words (not the official CMS texts).
RARC_DESCRIPTIONS: dict[str, str] = {
    "M15": "Billed separately but bundled into another procedure of the same service; no separate payment",
    "M51": "Procedure code missing, incomplete or invalid",
    "M62": "Treatment authorization code missing, incomplete or invalid",
    "M76": "Diagnosis or condition missing, incomplete or invalid",
    "MA130": "Incomplete or invalid information: unprocessable, no appeal rights; send a new, corrected claim",
    "N111": "Already billed and adjudicated on an earlier claim: no appeal except on the duplicate question",
    "N519": "Invalid combination of HCPCS modifiers",
    "M80": "Not covered when done in the same session or on the same date as another service already paid",
    "MA02": "The decision can be appealed (appeal rights)",
    "MA07": "The claim was forwarded to Medicaid",
    "MA18": "The claim was forwarded to the patient's supplemental insurer",
    "MA19": "The claim was NOT forwarded to the supplemental insurer: bill it directly",
    "MA92": "Information on the primary (other) insurance is missing",
    "N1": "Alert: the decision can be appealed; see the payer's appeal process",
    "N14": "Paid under a contract, fee schedule or maximum allowable amount",
    "N20": "Not payable together with another service on the same date",
    "N36": "The primary payer's requirements must be met before this payer considers the claim",
    "N54": "The claim does not match the services that were pre-certified or authorized",
    "N89": "The claim was forwarded to more than one other payer",
    "N115": "Decided under a Local Coverage Determination (LCD)",
    "N206": "The documentation sent does not match the claim",
    "N290": "Rendering provider identifier missing, incomplete or invalid",
}


def rarc_description(code: str) -> str:
    """Our short description of a RARC, or a pointer to the official list when we have none."""
    return RARC_DESCRIPTIONS.get(code, f"RARC {code}: no description on file (see the CMS RARC list)")


# PLB provider-level adjustment reasons (835 PLB03-1) that take money back or hold a debt to the payer:
# they create credit balances and overpayments to reconcile.
RECOUPMENT_PLB_REASONS: dict[str, str] = {
    "WO": "Overpayment recovery: the payer takes back an earlier overpayment",
    "FB": "Forwarding balance: a debt carried from an earlier remittance",
    "72": "Authorized return: a refund the provider sent for an overpayment",
    "B2": "Rebate: the payer returns a refund larger than it asked for",
    "J1": "Non-reimbursable amount taken back",
}

PLB_DESCRIPTIONS: dict[str, str] = {
    **RECOUPMENT_PLB_REASONS,
    "L6": "Interest the payer owes for paying late",
    "CV": "Capital pass-through",
    "CS": "Adjustment (see the reference)",
    "50": "Late filing penalty",
    "51": "Interest penalty charge",
}
