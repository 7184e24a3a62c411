"""The patient's other coverages as the charge export names them (secondary, tertiary): the payers billed
after the primary's 835 (docs/charge-export.md, docs/claim-rules.md "Secondary coverage")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from revcycle.charge_export import OTHER_COVERAGES, RELATIONSHIP_CODES
from revcycle.domain import Address, OtherPayer, Person
from revcycle.payers import PayerProfile

# SBR01 of each coverage after the primary (X12 005010X222A1 2000B/2320 SBR01: S secondary, T tertiary).
RESPONSIBILITY: dict[str, str] = {"secondary": "S", "tertiary": "T"}


def _value(row: Mapping[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _subscriber(row: Mapping[str, str], rank: str, patient: Person) -> Person:
    """The coverage's subscriber; without an address of its own, the patient's (the 2330A N3/N4 is situational)."""
    prefix = f"{rank}_subscriber"
    line1 = _value(row, f"{prefix}_address1")
    address = (
        Address(
            line1=line1,
            city=_value(row, f"{prefix}_city"),
            state=_value(row, f"{prefix}_state"),
            zip_code=_value(row, f"{prefix}_zip"),
        )
        if line1
        else patient.address
    )
    return Person(
        last_name=_value(row, f"{prefix}_last_name"),
        first_name=_value(row, f"{prefix}_first_name"),
        birth_date=date.fromisoformat(_value(row, f"{prefix}_birth_date")),
        sex=_value(row, f"{prefix}_sex"),
        address=address,
    )


def other_coverages(
    row: Mapping[str, str], payers: Mapping[str, PayerProfile], patient: Person
) -> tuple[OtherPayer, ...]:
    """The row's secondary and tertiary coverages, in billing order, as other payers not yet adjudicated.

    A primary claim carries them as 2320/2330 loops without amounts (the payer learns of the other coverage
    and may cross the claim over); each is billed in turn from the previous payer's 835. Raises ValueError
    (naming the column, never a value) when a named coverage cannot be read.
    """
    found = []
    for rank in OTHER_COVERAGES:
        payer_id = _value(row, f"{rank}_payer_id")
        if not payer_id:
            break  # a tertiary without a secondary is no coverage order the pipeline can bill
        relationship = RELATIONSHIP_CODES.get(_value(row, f"{rank}_relationship"))
        if relationship is None:
            raise ValueError(f"{rank}_relationship cannot be read")
        try:
            subscriber = _subscriber(row, rank, patient)
        except ValueError:
            raise ValueError(f"{rank}_subscriber_birth_date cannot be read") from None
        profile = payers.get(payer_id)
        found.append(
            OtherPayer(
                payer_id=payer_id,
                payer_name=profile.name if profile is not None else payer_id,
                filing_indicator=_value(row, f"{rank}_claim_filing_indicator")
                or (profile.filing_indicator if profile is not None else "CI"),
                member_id=_value(row, f"{rank}_member_id"),
                subscriber=subscriber,
                relationship=relationship,
                responsibility=RESPONSIBILITY[rank],
                group_number=_value(row, f"{rank}_group_number") or None,
            )
        )
    return tuple(found)


def coverage_payers(row: Mapping[str, str]) -> tuple[str, ...]:
    """The payer ids billed in turn for the row's encounter: the primary (``payer_id``), then its other coverages."""
    chain = [_value(row, "payer_id")]
    for rank in OTHER_COVERAGES:
        payer_id = _value(row, f"{rank}_payer_id")
        if not payer_id:
            break
        chain.append(payer_id)
    return tuple(chain)
