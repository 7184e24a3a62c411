"""Test helpers for the sandbox payer: claims to its three kinds of payer, written as real 837Ps.

Payers (filing indicator decides the sandbox's behaviour): MCRPB Medicare Part B (MB), MCDST a state
Medicaid (MC), SUMMT a commercial PPO (CI). Everything is deterministic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from revcycle.domain import Address, Claim, ClaimLine, ClaimType, OtherPayer, Person, Provider
from revcycle.x12.cob import Coverage, secondary_claim
from revcycle.x12.write837p import Submitter, write_837p
from revcycle.x12.writer import Envelope
from revcycle.x12.x835 import ClaimPayment, read_835

CHICAGO = ZoneInfo("America/Chicago")
PAYERS = {
    "MCRPB": ("MEDICARE PART B", "MB"),
    "MCDST": ("STATE MEDICAID", "MC"),
    "SUMMT": ("SUMMIT HEALTH", "CI"),
}
HOME = Address("5 Oak Ave", "Springfield", "IL", "62702")
BILLING = Provider(
    npi="1234567893",
    last_or_org_name="Riverside Clinic",
    tax_id="123456789",
    address=Address("100 Main St", "Springfield", "IL", "627011234"),
)
OTHER_BILLING = Provider(
    npi="1497758544",
    last_or_org_name="Lakeside Group",
    tax_id="987654321",
    address=Address("9 Lake Rd", "Springfield", "IL", "627021111"),
)
SUBMITTER = Submitter("RIVERSIDE BILLING", "SUBMIT01", "Billing Office", phone="5555551234")
DEFAULT_LINES: tuple[tuple[str, str], ...] = (("99213", "125.00"), ("93000", "40.50"), ("36415", "12.00"))


def person(member: str) -> Person:
    """A subscriber whose name follows the member id (so different members are different people)."""
    return Person("Doe", f"Pat{member[-4:]}", date(1950, 5, 1), "F", HOME)


def make_claim(
    key: str,
    *,
    payer_id: str = "SUMMT",
    member: str = "M0001",
    lines: Sequence[tuple[str, str]] = DEFAULT_LINES,
    service_date: date = date(2026, 3, 2),
    frequency: str = "1",
    original: str | None = None,
    billing: Provider = BILLING,
    supplemental: str | None = None,
) -> Claim:
    """A professional claim; ``supplemental`` names a second payer in loop 2320 (not yet adjudicated)."""
    name, filing = PAYERS[payer_id]
    subscriber = person(member)
    others: tuple[OtherPayer, ...] = ()
    if supplemental is not None:
        other_name, other_filing = PAYERS[supplemental]
        others = (OtherPayer(supplemental, other_name, other_filing, member + "S", subscriber, "18", "S"),)
    return Claim(
        claim_key=key,
        claim_type=ClaimType.PROFESSIONAL,
        encounter_id=f"E-{key}",
        payer_id=payer_id,
        payer_name=name,
        filing_indicator=filing,
        billing_provider=billing,
        subscriber=subscriber,
        member_id=member,
        relationship="18",
        patient=subscriber,
        diagnoses=("J449", "I10"),
        lines=tuple(
            ClaimLine(n, f"{key}-{n}", code, Decimal(charge), Decimal("1"), service_date)
            for n, (code, charge) in enumerate(lines, start=1)
        ),
        frequency_code=frequency,
        original_claim_number=original,
        other_payers=others,
    )


def secondary_of(claim: Claim, primary: ClaimPayment, payer_id: str, paid_on: date) -> Claim:
    """``claim`` billed to ``payer_id`` as secondary, from the primary's 835 claim (x12/cob.py)."""
    name, filing = PAYERS[payer_id]
    coverage = Coverage(payer_id, name, filing, claim.member_id + "S", claim.subscriber, "18")
    return secondary_claim(dataclasses.replace(claim, other_payers=()), primary, coverage, paid_on)


def interchange(claims: Sequence[Claim], icn: int, created: datetime | None = None) -> bytes:
    """An 837P interchange holding ``claims`` (ISA13 = ``icn``)."""
    envelope = Envelope(
        sender_id="SUBMIT01",
        receiver_id="SANDBOXCH",
        interchange_control_number=icn,
        group_control_number=icn,
        usage_indicator="T",
        created=created or datetime(2026, 3, 9, 21, 30),
        functional_id_code="HC",
        version="005010X222A1",
    )
    return write_837p(claims, envelope, SUBMITTER, "SANDBOX CLEARINGHOUSE", max_claims_per_transaction=200)


def night(day: date, at: time = time(21, 30)) -> datetime:
    """The UTC instant of ``at`` o'clock on ``day`` in Chicago (the nightly run's upload time)."""
    return datetime.combine(day, at, tzinfo=CHICAGO).astimezone(UTC)


def morning(day: date) -> datetime:
    """The UTC instant of 06:00 on ``day`` in Chicago (when the sandbox releases answers)."""
    return datetime.combine(day, time(6, 0), tzinfo=CHICAGO).astimezone(UTC)


def claim_payments(content: bytes) -> list[ClaimPayment]:
    """Every CLP loop of an 835 file, in order."""
    return [claim for remit in read_835(content).remittances for claim in remit.claims]
