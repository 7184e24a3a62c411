"""Generated X12: random but valid inputs written by the project's own writers (then mutated by the caller).

Every value is synthetic. Claim keys and interchange control numbers come from the caller (``Pool``), so a
scratch warehouse seeded with the same pool matches what the responses name: the loaders' matching, event
and reversal paths run, not only their suspense path.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache

from revcycle.domain import Address, Claim, ClaimType, Provider
from revcycle.payers import PayerProfile
from revcycle.x12.write277ca import (
    VERSION_277CA,
    ClaimAck,
    ClaimAcknowledgment,
    ProviderAck,
    write_277ca,
)
from revcycle.x12.write277ca import ClaimStatus as AckStatus
from revcycle.x12.write835 import (
    VERSION_835,
    Adjustment,
    ProviderAdjustment,
    Remittance,
    RemittanceClaim,
    ServicePayment,
    write_835,
)
from revcycle.x12.write837 import Submitter, split_quarantined
from revcycle.x12.write837i import VERSION_837I, write_837i
from revcycle.x12.write837p import VERSION_837P, write_837p
from revcycle.x12.write999 import (
    VERSION_999,
    ElementError,
    GroupAck,
    InterchangeAck,
    SegmentError,
    TransactionAck,
    write_999,
    write_ta1,
)
from revcycle.x12.writer import Delimiters, Envelope

BASE_DAY = date(2024, 5, 1)
_NAMES = ("FUZZMAN", "TESTER", "SAMPLE", "EXAMPLE", "SYNTH", "PLACEHOLDER", "Ëxample", "O'TEST", "DÜMMY")
_FIRST = ("ALEX", "SAM", "JO", "RÉMI", None)
_CODES = ("99213", "99214", "93000", "80053", "J1885", "97110", "G0008", "A0425", "36415", "D0120")
_MODIFIERS = ("25", "59", "GT", "RT", "LT", "76", "91", "TC")
_CARC = ("45", "1", "2", "3", "16", "97", "B7", "29", "253", "A1")
_RARC = ("N130", "M15", "MA130", "N362")
_PLB_REASONS = ("WO", "L6", "FB", "CS", "72", "J1", "IR")
_DELIMITER_CHARS = "*|~^:!`>{}\\@#$%&+\x1d\x1c\x1e\x1f"
SUBMITTER = Submitter("FUZZ BILLING", "FUZZSUB01", "Billing Office", phone="5555550100")


@dataclass(frozen=True)
class Pool:
    """What generated files may name: claim keys known to the warehouse, and our interchange control numbers."""

    claim_keys: tuple[str, ...]
    interchange_numbers: tuple[int, ...]


def _money(rng: random.Random, top: int = 200_000) -> Decimal:
    return Decimal(rng.randint(0, top)) / 100


def random_delimiters(rng: random.Random) -> Delimiters:
    """Mostly the usual ``* : ^ ~``, sometimes four other distinct separators."""
    if rng.random() < 0.7:
        return Delimiters()
    element, component, repetition, segment = rng.sample(_DELIMITER_CHARS, 4)
    return Delimiters(element, component, repetition, segment)


def _envelope(rng: random.Random, gs01: str, version: str, control: int | None = None) -> Envelope:
    number = control if control is not None else rng.randint(1, 999_999_999)
    return Envelope(
        sender_id=rng.choice(("PAYER01", "CLEARHOUSE", "SANDBOX", "X")),
        receiver_id=rng.choice(("FUZZSUB01", "REVCYCLE01")),
        interchange_control_number=number,
        group_control_number=rng.randint(1, 999_999_999),
        usage_indicator=rng.choice("TP"),
        created=datetime(2024, 5, 1, 8, 0) + timedelta(minutes=rng.randint(0, 200_000)),
        functional_id_code=gs01,
        version=version,
    )


def _key(rng: random.Random, pool: Pool) -> str:
    if pool.claim_keys and rng.random() < 0.8:
        return rng.choice(pool.claim_keys)
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(rng.randint(1, 20)))


def _service(rng: random.Random, day: date, denied: bool) -> ServicePayment:
    charge = _money(rng, 50_000) + Decimal("0.01")
    paid = Decimal(0) if denied else (charge * Decimal(rng.randint(0, 100)) / 100).quantize(Decimal("0.01"))
    adjustments: list[Adjustment] = []
    rest = charge - paid
    if rest and rng.random() < 0.9:  # usually balanced, sometimes not
        patient = (rest * Decimal(rng.randint(0, 100)) / 100).quantize(Decimal("0.01")) if not denied else Decimal(0)
        if patient:
            adjustments.append(Adjustment("PR", rng.choice(("1", "2", "3")), patient))
        if rest - patient:
            adjustments.append(Adjustment(rng.choice(("CO", "OA", "PI")), rng.choice(_CARC), rest - patient))
    return ServicePayment(
        procedure_code=rng.choice(_CODES),
        charge=charge,
        paid=paid,
        units=Decimal(rng.randint(1, 4)),
        service_date=day,
        modifiers=tuple(rng.sample(_MODIFIERS, rng.randint(0, 3))),
        adjustments=tuple(adjustments),
        allowed=paid if rng.random() < 0.3 else None,
        remark_codes=tuple(rng.sample(_RARC, rng.randint(0, 2))),
    )


def _remittance_claim(rng: random.Random, pool: Pool, day: date) -> RemittanceClaim:
    status = rng.choices(("1", "2", "3", "4", "19", "22", "23"), (40, 8, 2, 12, 4, 8, 2))[0]
    services = tuple(_service(rng, day, status == "4") for _ in range(rng.randint(0, 5)))
    if services:
        charge = sum((s.charge for s in services), Decimal(0))
        paid = sum((s.paid for s in services), Decimal(0))
    else:
        charge = _money(rng) + Decimal("0.01")
        paid = Decimal(0) if status == "4" else (charge * Decimal(rng.randint(0, 100)) / 100).quantize(Decimal("0.01"))
    claim_adjustments: tuple[Adjustment, ...] = ()
    if not services and charge - paid and rng.random() < 0.9:
        claim_adjustments = (Adjustment("CO", rng.choice(_CARC), charge - paid),)
    patient = sum((a.amount for s in services for a in s.adjustments if a.group == "PR"), Decimal(0))
    if status == "22":  # a reversal carries the amounts negated
        charge, paid, patient = -charge, -paid, -patient
        services = tuple(
            replace(
                s,
                charge=-s.charge,
                paid=-s.paid,
                adjustments=tuple(replace(a, amount=-a.amount) for a in s.adjustments),
            )
            for s in services
        )
        claim_adjustments = tuple(replace(a, amount=-a.amount) for a in claim_adjustments)
    subscriber = rng.random() < 0.3
    return RemittanceClaim(
        claim_key=_key(rng, pool),
        status_code=status,
        charge=charge,
        paid=paid,
        patient_responsibility=patient,
        filing_indicator=rng.choice(("12", "MB", "MC", "CI", "HM")),
        payer_claim_number=f"PCN{rng.randrange(10**10):010d}",
        patient_last_name=rng.choice(_NAMES),
        patient_first_name=rng.choice(_FIRST),
        member_id=f"M{rng.randrange(10**9):09d}",
        adjustments=claim_adjustments,
        services=services,
        subscriber_last_name=rng.choice(_NAMES) if subscriber else None,
        subscriber_first_name=rng.choice(_FIRST) if subscriber else None,
        statement_from=day if rng.random() < 0.5 else None,
        statement_to=day if rng.random() < 0.3 else None,
    )


def generate_835(rng: random.Random, pool: Pool) -> bytes:
    """An 835 interchange of one to three remittances (payments, denials, reversals, PLB, unbalanced BPR)."""
    remittances = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        day = BASE_DAY + timedelta(days=rng.randint(0, 400))
        claims = tuple(_remittance_claim(rng, pool, day) for _ in range(rng.randint(0, 8)))
        plbs = tuple(
            ProviderAdjustment(
                rng.choice(_PLB_REASONS),
                _money(rng, 20_000) * rng.choice((1, -1)),
                f"REF{rng.randrange(10**6)}" if rng.random() < 0.6 else None,
            )
            for _ in range(rng.choices((0, 1, 2, 7), (70, 20, 8, 2))[0])
        )
        remittance = Remittance(
            payer_name=rng.choice(("SUMMIT HEALTH PLAN", "STATE MEDICAID", "MEDICARE B", "PAYER & CO")),
            payer_tax_id=f"{rng.randrange(10**9):09d}",
            payer_address=Address("1 PAYER WAY", "SPRINGFIELD", "IL", "62701"),
            payer_contact_phone="8005550100",
            payee_name="FUZZ CLINIC",
            payee_npi="1234567893",
            payee_tax_id=f"{rng.randrange(10**9):09d}",
            trace_number=f"{rng.randrange(10 ** rng.randint(3, 15))}",
            payment_date=day,
            production_date=day,
            claims=claims,
            payment_method=rng.choice(("ACH", "CHK")),
            provider_adjustments=plbs,
        )
        if rng.random() < 0.1:  # a payer that does not balance: BPR02 off by some cents
            remittance = replace(remittance, payment_amount=remittance.balanced_total + _money(rng, 500))
        remittances.append(remittance)
    return write_835(
        remittances,
        _envelope(rng, "HP", VERSION_835),
        transaction_control_start=rng.randint(1, 9999),
        delimiters=random_delimiters(rng),
        newline=rng.random() < 0.5,
    )


def generate_999(rng: random.Random, pool: Pool) -> bytes:
    """A 999 acknowledging one of our interchanges (or an unknown one): accepted, partly or wholly rejected."""
    group = rng.choice(pool.interchange_numbers) if pool.interchange_numbers and rng.random() < 0.8 else None
    transactions = []
    for number in range(1, rng.randint(1, 4) + 1):
        accepted = rng.random() < 0.6
        errors: tuple[SegmentError, ...] = ()
        if not accepted:
            errors = tuple(
                SegmentError(
                    rng.choice(("NM1", "CLM", "SV1", "HI", "REF")),
                    rng.randint(2, 300),
                    rng.choice(("8", "3", "2", None)),
                    rng.choice(("2010", "2300", None)),
                    tuple(
                        ElementError(rng.randint(1, 9), rng.choice(("1", "7", "8"))) for _ in range(rng.randint(0, 2))
                    ),
                )
                for _ in range(rng.randint(0, 3))
            )
        transactions.append(TransactionAck("837", f"{number:04d}", accepted, VERSION_837P, errors))
    ack = GroupAck("HC", group or rng.randint(1, 999_999_999), VERSION_837P, tuple(transactions))
    return write_999(
        ack,
        _envelope(rng, "FA", VERSION_999),
        transaction_control_number=rng.randint(1, 9999),
        delimiters=random_delimiters(rng),
        newline=rng.random() < 0.5,
    )


def generate_ta1(rng: random.Random, pool: Pool) -> bytes:
    """A TA1 on one of our interchanges: accepted, rejected, or the duplicate-interchange note 025."""
    number = rng.choice(pool.interchange_numbers) if pool.interchange_numbers else rng.randint(1, 999_999_999)
    code = rng.choice("AER")
    note = "000" if code == "A" else rng.choice(("024", "025", "001", "006"))
    return write_ta1(
        InterchangeAck(number, datetime(2024, 5, 1, 8, 0), code, note),
        _envelope(rng, "HC", VERSION_837P),
        delimiters=random_delimiters(rng),
        newline=rng.random() < 0.5,
    )


def generate_277ca(rng: random.Random, pool: Pool) -> bytes:
    """A 277CA accepting or rejecting some of our claims (and maybe a claim we never sent)."""
    providers = []
    for _ in range(rng.randint(1, 2)):
        acks = []
        for _ in range(rng.randint(1, 6)):
            accepted = rng.random() < 0.7
            status = (
                AckStatus("A2", "20")
                if accepted
                else AckStatus(
                    rng.choice(("A3", "A7")), rng.choice(("21", "33", "562")), rng.choice(("85", "IL", None))
                )
            )
            acks.append(
                ClaimAck(
                    claim_key=_key(rng, pool),
                    total_charge=_money(rng) + Decimal("0.01"),
                    accepted=accepted,
                    status=status,
                    patient_last_name=rng.choice(_NAMES),
                    patient_first_name=rng.choice(_FIRST),
                    member_id=f"M{rng.randrange(10**9):09d}",
                    service_date=BASE_DAY - timedelta(days=rng.randint(0, 60)),
                    payer_claim_number=f"PCN{rng.randrange(10**8)}" if accepted and rng.random() < 0.7 else None,
                )
            )
        providers.append(ProviderAck("1234567893", "FUZZ CLINIC", tuple(acks)))
    ack = ClaimAcknowledgment(
        source_name="FUZZ CLEARINGHOUSE",
        source_id="CLEARHOUSE",
        source_trace=f"{rng.randrange(10**9)}",
        receiver_name="FUZZ BILLING",
        receiver_id="FUZZSUB01",
        batch_trace=f"{rng.randrange(10**9)}",
        received=BASE_DAY,
        processed=BASE_DAY,
        providers=tuple(providers),
        reference=f"277CA{rng.randrange(10**6)}",
    )
    return write_277ca(
        ack,
        _envelope(rng, "HN", VERSION_277CA),
        transaction_control_number=rng.randint(1, 9999),
        delimiters=random_delimiters(rng),
        newline=rng.random() < 0.5,
    )


@cache
def _payers() -> tuple[PayerProfile, ...]:
    from connectors.payers import registered_payers

    return tuple(registered_payers().values())


def claims_from_synth(rng: random.Random, encounters: int) -> list[Claim]:
    """Professional claims built by the project's claim builder from a synthetic charge export."""
    from revcycle.claims import build_claims
    from revcycle.synth import generate_charge_rows

    payers = _payers()
    rows = generate_charge_rows(list(payers), encounters=encounters, seed=rng.randrange(10**9), as_of=BASE_DAY)
    return build_claims(rows, {p.payer_id: p for p in payers}).claims


def _institutional(rng: random.Random, claim: Claim) -> Claim:
    bill = rng.choice(("131", "137", "111", "851"))
    attending = claim.rendering_provider or Provider("1234567893", "ATTENDING", first_name="PAT")
    lines = tuple(replace(line, revenue_code=rng.choice(("0300", "0450", "0510", "0250"))) for line in claim.lines)
    return replace(
        claim,
        claim_type=ClaimType.INSTITUTIONAL,
        type_of_bill=bill,
        attending_provider=attending if attending.first_name else replace(attending, first_name="PAT"),
        lines=lines,
        original_claim_number="PCN1" if bill[2] in "78" else claim.original_claim_number,
        # an inpatient bill (111) needs its admission date (DTP*435)
        admission_date=claim.lines[0].service_date if bill[1] == "1" else None,
    )


def generate_837(rng: random.Random, pool: Pool) -> bytes:
    """An 837P or 837I of synthetic claims (built by the claim builder, quarantined ones set aside)."""
    claims = claims_from_synth(rng, rng.randint(1, 6))
    delimiters = random_delimiters(rng)
    institutional = rng.random() < 0.3
    if institutional:
        claims = [_institutional(rng, c) for c in claims]
    kept, _quarantined = split_quarantined(claims, delimiters)
    if not kept:
        claims = claims_from_synth(rng, 1)
        delimiters = Delimiters()
        kept, _quarantined = split_quarantined(claims, delimiters)
        institutional = False
    writer = write_837i if institutional else write_837p
    version = VERSION_837I if institutional else VERSION_837P
    return writer(
        kept,
        _envelope(rng, "HC", version, rng.choice(pool.interchange_numbers) if pool.interchange_numbers else None),
        SUBMITTER,
        "FUZZ PAYER",
        max_claims_per_transaction=rng.randint(1, 5),
        delimiters=delimiters,
        newline=rng.random() < 0.5,
    )


GENERATORS: dict[str, Callable[[random.Random, Pool], bytes]] = {
    "835": generate_835,
    "999": generate_999,
    "TA1": generate_ta1,
    "277CA": generate_277ca,
    "837": generate_837,
}


def generate(rng: random.Random, pool: Pool, kinds: Sequence[str] | None = None) -> tuple[str, bytes]:
    """A generated file of a random kind (or one of ``kinds``): its kind and bytes."""
    kind = rng.choice(list(kinds or GENERATORS))
    return kind, GENERATORS[kind](rng, pool)
