"""What a front-end rejection says and what to fix: 277CA claim status category and status codes, 999 codes.

Source: the Health Care Claim Status Category Codes and Claim Status Codes (STC01-1 and STC01-2 of the
277CA, X12 005010X214, lists maintained by the X12 Code Maintenance Committee, published on x12.org /
wpc-edi.com) and the 999 implementation acknowledgment codes (IK5/AK9, X12 005010X231A1). The texts are
short summaries in our own words with the fix a billing person usually makes; they are not the official
texts. Codes without a description here are shown with a pointer to the official list.
"""

from __future__ import annotations

# STC01-1: the claim status category code.
CATEGORY_DESCRIPTIONS: dict[str, str] = {
    "A0": "Forwarded: the clearinghouse passed the claim on to another entity",
    "A1": "Received: the claim arrived, not yet accepted into adjudication",
    "A2": "Accepted into the payer's adjudication system",
    "A3": "Returned as unprocessable: rejected, not entered into adjudication",
    "A4": "Not found",
    "A5": "Split: the payer split the claim",
    "A6": "Rejected for missing information",
    "A7": "Rejected for invalid information",
    "A8": "Rejected for a relational field in error (two values that do not fit together)",
    "E0": "Response not possible: a system status error",
    "E1": "Response not possible: the system is unavailable",
    "F0": "Finalized: the claim has completed the adjudication cycle",
    "F1": "Finalized and paid",
    "F2": "Finalized and denied",
    "F3": "Finalized and revised",
    "F4": "Finalized: adjudication complete, no payment forthcoming",
    "P0": "Pending: adjudication or detail being checked",
    "P1": "Pending: in process",
    "P2": "Pending: under payer review",
    "P3": "Pending: the payer requests information",
    "P4": "Pending: the patient requests information",
    "P5": "Pending: payer administrative or system hold",
}

# STC01-2: the claim status code, with what to fix when it comes with a rejection.
STATUS_DESCRIPTIONS: dict[str, str] = {
    "0": "No further status electronically",
    "1": "See the remittance advice",
    "3": "Adjudicated, waiting for the payment cycle",
    "16": "Forwarded to the entity named",
    "19": "The entity acknowledges receipt",
    "20": "Accepted for processing",
    "21": "Missing or invalid information: correct the element the entity code points at and send again",
    "33": "Subscriber or subscriber id not found: check the member id and name against the card, or eligibility",
    "562": "The entity's NPI: check the NPI (billing provider when the entity is 85) and its enrollment",
    "78": "Duplicate of a claim already on file and awaiting processing: wait for the original's outcome",
    "164": "The entity's contract or member number: check it against the card, or run eligibility",
    "255": "Diagnosis code: check the ICD-10-CM codes and their release for the date of service",
    "464": "The payer's claim control number (REF*F8) of the claim being replaced or voided",
    "535": "Claim frequency code (CLM05-3): the payer does not take this kind of correction here",
}

ENTITY_DESCRIPTIONS: dict[str, str] = {
    "85": "billing provider",
    "82": "rendering provider",
    "DN": "referring provider",
    "IL": "insured (subscriber)",
    "QC": "patient",
    "PR": "payer",
    "41": "submitter",
}

# 999 IK5 / AK9 transaction-set and group acknowledgment codes.
ACK_999_DESCRIPTIONS: dict[str, str] = {
    "A": "Accepted",
    "E": "Accepted with errors noted",
    "M": "Rejected: the message authentication code failed",
    "P": "Partially accepted: some transaction sets rejected",
    "R": "Rejected: the file broke an X12 syntax or implementation rule; fix the segment named and send again",
    "W": "Rejected: assurance failed validity tests",
    "X": "Rejected: the content could not be analysed after decryption",
}


def category_description(code: str) -> str:
    """Our short description of a claim status category code."""
    return CATEGORY_DESCRIPTIONS.get(code, f"category {code}: no description on file (see the X12 list)")


def status_description(code: str) -> str:
    """Our short description of a claim status code, with the usual fix."""
    return STATUS_DESCRIPTIONS.get(code, f"status {code}: no description on file (see the X12 claim status codes)")


def what_to_fix(category: str, status: str | None, entity: str | None) -> str:
    """One line for the rejection worklist: what the 277CA says and where to look."""
    parts = [category_description(category)]
    if status:
        parts.append(status_description(status))
    if entity:
        parts.append(f"entity: {ENTITY_DESCRIPTIONS.get(entity, entity)}")
    return "; ".join(parts)
