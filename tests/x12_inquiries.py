"""Varied synthetic 270, 271, 276 and 277 documents for the writer tests, deterministic per seed.

Names carry accents and delimiter characters (the writer's value rule must cope); members are subscribers
or dependents; 271 answers mix active, inactive, cost shares with remaining amounts, other payers in every
order, EB01 U and V, and AAA rejections at 2100A, 2100B, 2100C/D and 2110; 277 answers mix not found,
pending, paid and denied claims with service lines.
"""

from __future__ import annotations

import functools
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from revcycle.x12.write270 import VERSION_270, EligibilityInquiry, EligibilityQuery, InquiredPerson, write_270
from revcycle.x12.write271 import (
    VERSION_271,
    BenefitReply,
    CoverageAnswer,
    DateSpan,
    EntityReply,
    RejectionReply,
    answer_270,
    write_271,
)
from revcycle.x12.write276 import (
    VERSION_276,
    ClaimStatusInquiry,
    ClaimStatusQuery,
    ProviderQueries,
    StatusPerson,
    write_276,
)
from revcycle.x12.write277 import (
    STATUS_OF_STAGE,
    VERSION_277,
    ClaimAnswer,
    LineAnswer,
    StatusAnswer,
    answer_276,
    write_277,
)
from revcycle.x12.write277ca import ClaimStatus
from revcycle.x12.writer import Envelope
from revcycle.x12.x270 import InquiredMember, read_270
from revcycle.x12.x276 import QueriedClaim, read_276

_LAST = ("Ashdown", "Brightwater", "O'Neil", "Núñez", "Dunmore*Smith", "Fair~banks", "Glen:wood", "Éverly")
_FIRST = ("Avery", "Blake", "José", "Dana^Lee", "Émile", "Frankie", "Harper", "Casey")
SERVICE_TYPES = ("30", "1", "33", "35", "47", "48", "50", "86", "88", "98", "AL", "MH", "UC", "BZ")
PROCEDURES = ("99213", "99214", "93000", "80053", "36415", "97110", "J1885")
_CREATED = datetime(2024, 3, 4, 21, 5)


def envelope(functional_id: str, version: str, control: int = 7) -> Envelope:
    """A test envelope for one interchange."""
    return Envelope("REVCYCLE01", "CLEARINGHOUSE", control, control, "T", _CREATED, functional_id, version)


def _person(rng: random.Random, born: int, with_birth: bool = True) -> tuple[str, str, date | None, str]:
    birth = date(born, rng.randint(1, 12), rng.randint(1, 28)) if with_birth else None
    return rng.choice(_LAST), rng.choice(_FIRST), birth, rng.choice("MFU")


def eligibility_inquiry(seed: int) -> EligibilityInquiry:
    """A 270's content: 1-8 queries, about a third for dependents, one to three service types each."""
    rng = random.Random(seed)
    queries = []
    for n in range(rng.randint(1, 8)):
        last, first, birth, gender = _person(rng, rng.randint(1940, 2000))
        subscriber = InquiredPerson(last, first, birth if rng.random() < 0.9 else None, gender)
        patient = None
        if rng.random() < 0.35:
            plast, pfirst, pbirth, pgender = _person(rng, rng.randint(2001, 2020))
            patient = InquiredPerson(plast, pfirst, pbirth, pgender)
        day = date(2024, rng.randint(1, 12), rng.randint(1, 28))
        end = day + timedelta(days=rng.randint(1, 30)) if rng.random() < 0.2 else None
        queries.append(
            EligibilityQuery(
                trace=f"E{seed:05d}{n:02d}",
                member_id=f"M{rng.randint(10**8, 10**9 - 1)}",
                subscriber=subscriber,
                service_date=day,
                service_date_end=end,
                service_types=tuple(rng.sample(SERVICE_TYPES[:13], rng.randint(1, 3))),
                patient=patient,
            )
        )
    person = rng.random() < 0.2
    return EligibilityInquiry(
        payer_name=rng.choice(("SUMMIT HEALTH", "LAKESHORE MUTUAL", "BLUE RIVER PLAN")),
        payer_id=str(rng.randint(10000, 99999)),
        provider_name="JONES" if person else "RIVERSIDE CLINIC & ASSOCIATES",
        provider_first_name="MARCUS" if person else None,
        provider_npi="1234567893",
        originator_id="1" + str(rng.randint(10**8, 10**9 - 1)),
        reference=f"R{seed}",
        queries=tuple(queries),
    )


def _money(rng: random.Random, high: int = 500_000) -> Decimal:
    return Decimal(rng.randint(0, high)) / 100


def _other_payers(rng: random.Random) -> list[BenefitReply]:
    orders = rng.sample(("PRP", "SEP", "TTP", "PR"), rng.randint(1, 3))
    return [
        BenefitReply(
            "R",
            service_types=("30",),
            insurance_type=rng.choice(("C1", "MB", "MC", "HM")),
            references=(("1W", f"W{rng.randint(10**7, 10**8)}"),) if rng.random() < 0.5 else (),  # member id there
            dates=(DateSpan("290", date(2024, 1, 1)),) if rng.random() < 0.5 else (),
            entities=(EntityReply(entity, f"OTHER PAYER {entity}", "PI", str(rng.randint(10000, 99999))),),
        )
        for entity in orders
    ]


def coverage(rng: random.Random) -> CoverageAnswer:
    """One member's answer: a random mix of the shapes a payer sends."""
    roll = rng.random()
    if roll < 0.1:
        reason, follow_up = rng.choice((("72", "C"), ("75", "C"), ("42", "R"), ("58", "W"), ("73", "N"), ("76", "Y")))
        return CoverageAnswer(rejections=(RejectionReply(reason, follow_up, rng.random() < 0.5),))
    if roll < 0.15:
        return CoverageAnswer(benefits=(BenefitReply("V"),))
    if roll < 0.2:
        return CoverageAnswer(
            benefits=(
                BenefitReply(
                    "U", service_types=("30",), entities=(EntityReply("PR", "CARVE OUT PLAN", "PI", "55555"),)
                ),
            )
        )
    active = roll < 0.85
    plan = date(2024, 1, 1)
    dates = [DateSpan("346", plan)]
    if rng.random() < 0.5:
        dates.append(DateSpan("347", date(2024, 12, 31)))
    if rng.random() < 0.3:
        dates = [DateSpan("291", plan, date(2024, 12, 31)), DateSpan("356", date(2023, 7, 1))]
    benefits = [BenefitReply("1" if active else rng.choice("678"), "IND", ("30",), plan_description="GOLD PLAN")]
    if active:
        deductible = _money(rng, 300_000)
        remaining = (deductible * Decimal(rng.randint(0, 100)) / 100).quantize(Decimal("0.01"))
        network = rng.choice(("Y", "N", "W", None))
        benefits += [
            BenefitReply("C", "IND", ("30",), time_period="23", amount=deductible, network=network),
            BenefitReply("C", "IND", ("30",), time_period="29", amount=remaining, network=network),
            BenefitReply("B", None, tuple(rng.sample(SERVICE_TYPES, 2)), time_period="27", amount=_money(rng, 10_000)),
            BenefitReply("A", "IND", ("30",), percent=Decimal(rng.randint(0, 50)) / 100, network="Y"),
            BenefitReply("G", "FAM", ("30",), time_period="23", amount=_money(rng), authorization=rng.choice("YNU")),
        ]
        if rng.random() < 0.3:
            benefits.append(BenefitReply("B", "IND", ("48",), amount=_money(rng), authorization="Y", network="Y"))
        if rng.random() < 0.35:
            benefits += _other_payers(rng)
        if rng.random() < 0.1:
            benefits.append(BenefitReply("I", service_types=("AL",), rejections=(RejectionReply("AG", "C"),)))
    return CoverageAnswer(benefits=tuple(benefits), dates=tuple(dates))


@functools.cache
def eligibility_documents(seed: int) -> tuple[bytes, bytes]:
    """A 270 and the sandbox's 271 answer to it (read back, answered, written)."""
    rng = random.Random(seed * 7919)
    data_270 = write_270(eligibility_inquiry(seed), envelope("HS", VERSION_270, seed % 900 + 1))
    inquiry = read_270(data_270).inquiries[0]

    def coverage_of(member: InquiredMember, subscriber: InquiredMember | None) -> CoverageAnswer:
        return coverage(random.Random(f"{seed}|{member.trace.number if member.trace else member.hl_id}"))

    roll = rng.random()
    payer_aaa = (RejectionReply("42", "R", False),) if roll < 0.05 else ()
    provider_aaa = (RejectionReply(rng.choice(("43", "50", "51")), rng.choice("CN")),) if 0.05 <= roll < 0.1 else ()
    reply = answer_270(inquiry, coverage_of, payer_rejections=payer_aaa, provider_rejections=provider_aaa)
    return data_270, write_271(reply, envelope("HB", VERSION_271, seed % 900 + 2))


def claim_status_inquiry(seed: int) -> ClaimStatusInquiry:
    """A 276's content: one to three providers, one to five claims each, some for dependents."""
    rng = random.Random(seed)
    providers = []
    n = 0
    for k in range(rng.randint(1, 3)):
        queries = []
        for _ in range(rng.randint(1, 5)):
            n += 1
            last, first, birth, gender = _person(rng, rng.randint(1940, 2000))
            patient = None
            if rng.random() < 0.3:
                plast, pfirst, pbirth, pgender = _person(rng, rng.randint(2001, 2020))
                patient = StatusPerson(plast, pfirst, pbirth, pgender)
            day = date(2024, rng.randint(1, 12), rng.randint(1, 28))
            queries.append(
                ClaimStatusQuery(
                    trace=f"S{seed:05d}{n:03d}",
                    claim_key=f"C{seed}K{n}",
                    member_id=f"M{rng.randint(10**8, 10**9 - 1)}",
                    subscriber=StatusPerson(last, first, birth, gender),
                    total_charge=_money(rng) + Decimal("1"),
                    service_date=day,
                    service_date_end=day + timedelta(days=rng.randint(1, 5)) if rng.random() < 0.3 else None,
                    payer_claim_number=f"PCN{rng.randint(10**6, 10**7)}" if rng.random() < 0.5 else None,
                    bill_type=rng.choice(("131", "111", "851")) if rng.random() < 0.3 else None,
                    patient=patient,
                )
            )
        person = rng.random() < 0.2
        providers.append(
            ProviderQueries(
                f"12345678{k}3",
                "JONES" if person else f"CLINIC {k} & PARTNERS",
                tuple(queries),
                first_name="ANNA" if person else None,
            )
        )
    return ClaimStatusInquiry("SUMMIT HEALTH", "12345", "REVCYCLE BILLING", "REVCYCLE01", f"Q{seed}", tuple(providers))


def claim_answer(rng: random.Random, claim: QueriedClaim) -> ClaimAnswer | None:
    """The status of one claim asked about: not found, in process, awaiting payment, paid or denied."""
    stage = rng.choice(("not_found", "in_process", "awaiting_payment", "paid", "denied"))
    if stage == "not_found":
        return None
    charge = claim.total_charge or Decimal("100")
    today = date(2024, 12, 30)
    if stage == "in_process":
        return ClaimAnswer((StatusAnswer(STATUS_OF_STAGE[stage], today, charge),))
    paid = (charge * Decimal(rng.randint(0, 100)) / 100).quantize(Decimal("0.01")) if stage != "denied" else Decimal(0)
    finished = StatusAnswer(
        STATUS_OF_STAGE[stage],
        today,
        charge,
        paid,
        date(2024, 12, 20),
        date(2024, 12, 22) if stage != "awaiting_payment" else None,
        f"EFT{rng.randint(10**5, 10**6)}" if stage != "awaiting_payment" else None,
        extra_statuses=(ClaimStatus("F2", "88", "QC"),) if stage == "denied" and rng.random() < 0.5 else (),
    )
    lines = tuple(
        LineAnswer(
            rng.choice(PROCEDURES),
            charge,
            paid,
            Decimal(rng.randint(1, 4)),
            date(2024, 12, 1),
            (StatusAnswer(STATUS_OF_STAGE[stage], today),),
            modifiers=tuple(rng.sample(("25", "59", "GT"), rng.randint(0, 2))),
        )
        for _ in range(rng.randint(0, 2))
    )
    return ClaimAnswer((finished,), f"PCN{rng.randint(10**6, 10**7)}", lines)


@functools.cache
def claim_status_documents(seed: int) -> tuple[bytes, bytes]:
    """A 276 and the sandbox's 277 answer to it (read back, answered, written)."""
    data_276 = write_276(claim_status_inquiry(seed), envelope("HR", VERSION_276, seed % 900 + 3))
    request = read_276(data_276).requests[0]
    reply = answer_276(request, lambda c: claim_answer(random.Random(f"{seed}|{c.trace}"), c), today=date(2024, 12, 30))
    return data_276, write_277(reply, envelope("HN", VERSION_277, seed % 900 + 4))
