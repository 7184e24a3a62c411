"""Varied synthetic claims for the 837 writer tests: dependents, COB secondaries, corrections and voids, NDC
lines, four modifiers, twelve diagnoses, institutional bills with revenue codes. Deterministic per seed.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from revcycle.codes.catalog import DIAGNOSES
from revcycle.codes.npi import npi_check_digit
from revcycle.domain import Address, Claim, ClaimLine, ClaimType, Person, Provider
from revcycle.x12.cob import Coverage, secondary_claim
from revcycle.x12.write837 import Submitter
from revcycle.x12.writer import Envelope
from revcycle.x12.x835 import Adjustment, ClaimPayment, ServicePayment

SUBMITTER = Submitter("RIVERSIDE BILLING", "SUBMIT01", "Billing Office", phone="3125550100")
PROFESSIONAL_CODES = ("99213", "99214", "93000", "80053", "36415", "71046", "97110", "90471")
DRUG_CODES = ("J1885", "J0696", "J3301", "J7030")
MODIFIERS = ("25", "59", "GT", "RT", "LT", "76", "91", "XS", "26", "TC")
REVENUE_CODES = ("0300", "0320", "0450", "0510", "0636", "0250", "0730", "0360")
OUTPATIENT_BILLS = ("131", "137", "138", "851", "141")
INPATIENT_BILLS = ("111", "117", "118")
_STATES = ("IL", "WI", "IN", "MI", "OH")
_LAST = ("Ashdown", "Brightwater", "Calloway", "Dunmore", "Éverly", "Fairbanks", "Glenwood", "Núñez")
_FIRST = ("Avery", "Blake", "Casey", "Dana", "Émile", "Frankie", "José", "Harper")


def npi(rng: random.Random) -> str:
    """A valid NPI (Luhn check digit over 80840 + the stem)."""
    stem = "1" + "".join(rng.choice("0123456789") for _ in range(8))
    return stem + npi_check_digit(stem)


def _address(rng: random.Random, zip9: bool = False) -> Address:
    zip_code = f"{rng.randint(60000, 69999)}" + (f"{rng.randint(1000, 9999)}" if zip9 else "")
    return Address(f"{rng.randint(1, 999)} Main St", "Springfield", rng.choice(_STATES), zip_code)


def _person(rng: random.Random, born: int) -> Person:
    return Person(
        rng.choice(_LAST),
        rng.choice(_FIRST),
        date(born, rng.randint(1, 12), rng.randint(1, 28)),
        rng.choice("MF"),
        _address(rng),
    )


def _providers(rng: random.Random, n: int) -> list[Provider]:
    return [
        Provider(
            npi(rng),
            f"Clinic {k} & Associates",
            tax_id=f"{rng.randint(100000000, 999999999)}",
            taxonomy_code="207Q00000X",
            address=_address(rng, zip9=True),
        )
        for k in range(n)
    ]


def _payment(claim: Claim, rng: random.Random) -> ClaimPayment:
    """A primary payer's 835 answer to ``claim``: contractual and patient-responsibility adjustments."""
    services = []
    for line in claim.lines:
        contractual = (line.charge * Decimal(rng.randint(5, 40)) / 100).quantize(Decimal("0.01"))
        patient = Decimal(rng.choice((0, 0, 10, 20)))
        patient = min(patient, line.charge - contractual)
        adjustments = [Adjustment("CO", "45", contractual)]
        if patient:
            adjustments.append(Adjustment("PR", "2", patient))
        services.append(
            ServicePayment(
                segment=0,
                qualifier="HC",
                code=line.procedure_code,
                modifiers=line.modifiers,
                charge=line.charge,
                paid=line.charge - contractual - patient,
                units=line.units,
                adjustments=adjustments,
            )
        )
    paid = sum((s.paid for s in services), Decimal(0))
    return ClaimPayment(
        segment=0,
        patient_control_number=claim.claim_key,
        status="1",
        charge=claim.total_charge,
        paid=paid,
        patient_responsibility=sum((a.amount for s in services for a in s.adjustments if a.group == "PR"), Decimal(0)),
        filing_indicator="CI",
        payer_claim_number=f"PCN{rng.randint(10**8, 10**9 - 1)}",
        services=services,
    )


def varied_claims(count: int, seed: int, claim_type: ClaimType = ClaimType.PROFESSIONAL) -> list[Claim]:
    """``count`` claims covering every shape the writers support (see the module docstring)."""
    rng = random.Random(seed)
    institutional = claim_type is ClaimType.INSTITUTIONAL
    providers = _providers(rng, 3)
    subscribers = [(_person(rng, rng.randint(1950, 1995)), f"W{rng.randint(10**8, 10**9 - 1)}") for _ in range(40)]
    claims: list[Claim] = []
    for n in range(count):
        kind = n % 10
        subscriber, member_id = subscribers[rng.randrange(len(subscribers))]
        dependent = kind in (1, 5)
        patient = _person(rng, rng.randint(2005, 2020)) if dependent else subscriber
        day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 300))
        diagnoses = tuple(rng.sample(DIAGNOSES, 12 if kind in (2, 6) else rng.randint(1, 4)))
        lines = []
        for ln in range(1, rng.randint(1, 6) + 1):
            drug = kind in (3, 8) and ln == 1
            code = rng.choice(DRUG_CODES) if drug else rng.choice(PROFESSIONAL_CODES)
            modifiers = tuple(rng.sample(MODIFIERS, 4)) if kind in (4, 9) and ln == 1 else ()
            units = Decimal(rng.randint(1, 3))
            lines.append(
                ClaimLine(
                    line_number=ln,
                    charge_id=f"CH{n}-{ln}",
                    procedure_code=code,
                    charge=Decimal(rng.randint(2000, 90000)) / 100,
                    units=units,
                    service_date=day,
                    modifiers=modifiers,
                    diagnosis_pointers=tuple(range(1, min(len(diagnoses), 4) + 1)),
                    revenue_code=("0636" if drug else rng.choice(REVENUE_CODES)) if institutional else None,
                    ndc=f"{rng.randint(10**10, 10**11 - 1):011d}" if drug else None,
                    ndc_quantity=Decimal(rng.choice(("1", "2.5", "10"))) if drug else None,
                    ndc_unit=rng.choice(("UN", "ML", "ME")) if drug else "UN",
                )
            )
        frequency = "7" if kind == 7 else "8" if kind == 8 and n % 20 == 8 else "1"
        bill = None
        if institutional:
            inpatient = kind in (0, 5)
            base = rng.choice(INPATIENT_BILLS if inpatient else OUTPATIENT_BILLS)[:2]
            bill = base + (frequency if frequency != "1" else "1")
        provider = providers[rng.randrange(len(providers))]
        claim = Claim(
            claim_key=f"S{seed % 1000:03d}K{n:07d}",
            claim_type=claim_type,
            encounter_id=f"ENC{n}",
            payer_id=rng.choice(("60054", "87726", "SX123")),
            payer_name=rng.choice(("Aetna", "UnitedHealthcare", "Summit Health")),
            filing_indicator=rng.choice(("CI", "MB", "MC", "BL")),
            billing_provider=provider,
            subscriber=subscriber,
            member_id=member_id,
            relationship=rng.choice(("19", "01")) if dependent else "18",
            patient=patient,
            diagnoses=diagnoses,
            lines=tuple(lines),
            frequency_code=frequency,
            original_claim_number=f"ORIG{rng.randint(10**6, 10**7 - 1)}" if frequency != "1" else None,
            prior_authorization=f"PA{rng.randint(1000, 9999)}" if kind == 2 else None,
            group_number=f"G{rng.randint(100, 999)}" if kind % 3 == 0 else None,
            rendering_provider=Provider(npi(rng), "Smith", first_name="Anna", taxonomy_code="207Q00000X")
            if kind in (1, 4)
            else None,
            referring_provider=Provider(npi(rng), "Jones", first_name="Lee") if kind == 6 else None,
            type_of_bill=bill,
            pay_to_address=Address("PO Box 77", "Chicago", "IL", "606010077") if kind == 3 else None,
            service_facility=Provider(npi(rng), "Riverside Surgery Center", address=_address(rng, zip9=True))
            if kind in (2, 7)
            else None,
            attending_provider=Provider(npi(rng), "Wells", first_name="Morgan", taxonomy_code="207R00000X")
            if institutional
            else None,
            admission_date=day if institutional and kind in (0, 5) else None,
            admission_type="1" if institutional and kind in (0, 5) else None,
            admission_source="7" if institutional and kind in (0, 5) else None,
            patient_status="01" if institutional else None,
        )
        if kind in (5, 9):  # secondary claims built from the primary's 835
            coverage = Coverage(
                payer_id="MEDIGAP1",
                payer_name="Medigap Mutual",
                filing_indicator="CI",
                member_id=f"M{rng.randint(10**6, 10**7 - 1)}",
                subscriber=claim.subscriber,
                relationship=claim.relationship,
            )
            claim = secondary_claim(claim, _payment(claim, rng), coverage, day + timedelta(days=20))
        claims.append(claim)
    return claims


def envelope(version: str, icn: int = 101) -> Envelope:
    """A test envelope for an 837 with ``version`` in GS08."""
    return Envelope("SUBMIT01", "PAYER01", icn, icn, "T", datetime(2024, 11, 5, 9, 30), "HC", version)
