"""How each kind of payer behaves in the sandbox: lags, rejection and denial rates, CARC mix, benefits.

Three behaviours (Medicare, Medicaid, commercial) are chosen by payer: from the payer file when the sandbox
is told about it (``PayerTerms``), else from the claim's filing indicator (SBR09 MA/MB Medicare, MC Medicaid,
anything else commercial). Every figure is illustrative: shaped after public rules and reports named in
``docs/sandbox.md``, not measured from any payer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from revcycle.sandbox.rolls import fraction, weighted
from revcycle.x12.write277ca import ClaimStatus

PayerKind = Literal["medicare", "medicaid", "commercial"]
SecondaryRule = Literal["standard", "last_resort", "msp"]
DenialScope = Literal["claim", "line"]

TAIL_FROM = 46  # the first day of every lag tail: bodies end at or before day 45


@dataclass(frozen=True)
class LagDistribution:
    """Days from the day an 837 is received to the day its 835 is released.

    The body is triangular over ``low..high`` with its peak at ``mode``; a share ``tail_share`` of claims
    (pended for review, records requested) falls instead in the tail, uniform over ``TAIL_FROM..tail_high``.
    """

    low: int
    mode: int
    high: int
    tail_share: float
    tail_high: int

    def days(self, tail_roll: float, body_roll: float) -> int:
        """The lag for one claim from two independent rolls in [0, 1)."""
        if tail_roll < self.tail_share:
            return min(TAIL_FROM + int(body_roll * (self.tail_high - TAIL_FROM + 1)), self.tail_high)
        a, c, b = float(self.low), float(self.mode), float(self.high)
        if body_roll < (c - a) / (b - a):
            x = a + math.sqrt(body_roll * (b - a) * (c - a))
        else:
            x = b - math.sqrt((1 - body_roll) * (b - a) * (b - c))
        return max(self.low, min(self.high, math.floor(x + 0.5)))


@dataclass(frozen=True)
class DenialReason:
    """One denial CARC (group CO) with its RARC, whether it hits the whole claim or one line, and its weight."""

    carc: str
    rarc: str | None
    scope: DenialScope
    weight: float
    unprocessable: bool = False  # the claim never counts as adjudicated (MA130): a new claim may be sent


@dataclass(frozen=True)
class FrontEndRejection:
    """One 277CA rejection status (STC01 and an optional STC10) with its weight."""

    status: ClaimStatus
    detail: ClaimStatus | None
    weight: float


@dataclass(frozen=True)
class Plan:
    """A member's benefit design: yearly deductible, coinsurance on the rest, copay per visit."""

    name: str
    weight: float
    deductible: Decimal = Decimal("0")
    coinsurance: Decimal = Decimal("0")
    copay: Decimal = Decimal("0")
    copay_on_visits_only: bool = True  # the copay is taken on an E/M line (99202-99499) only
    deductible_by_year: tuple[tuple[int, Decimal], ...] = ()  # overrides ``deductible`` (Medicare Part B)

    def deductible_for(self, year: int) -> Decimal:
        """The deductible of benefit year ``year`` (the nearest listed year when not listed)."""
        if not self.deductible_by_year:
            return self.deductible
        return min(self.deductible_by_year, key=lambda item: (abs(item[0] - year), -item[0]))[1]


@dataclass(frozen=True)
class Behaviour:
    """Everything that makes one kind of payer answer the way it does."""

    kind: PayerKind
    ack_delay_weights: tuple[float, float, float]  # 277CA after 1, 2 or 3 days
    remit_lag: LagDistribution
    front_end_reject_share: float
    front_end_rejections: tuple[FrontEndRejection, ...]
    denial_share: float
    denials: tuple[DenialReason, ...]
    allowed_rate: tuple[Decimal, Decimal]  # allowed amount as a share of the charge, per procedure code
    plans: tuple[Plan, ...]
    timely_filing_days: int
    interest_after_days: int | None  # prompt-pay interest on claims paid later than this
    interest_rate: Decimal  # yearly
    payer_correction_share: float  # paid claims the payer reverses and pays again, corrected, weeks later
    payer_correction_days: tuple[int, int]  # after the original 835
    recoupment_share: float  # paid claims whose overpayment is recovered later through PLB WO
    recoupment_days: tuple[int, int]
    crossover_shares: tuple[float, float]  # (crossed over MA18, failed MA19) of claims naming a supplemental
    secondary_rule: SecondaryRule

    def plan_for(self, seed_salt: str, payer_id: str, member_id: str) -> Plan:
        """The benefit design of one member of this payer (fixed per member)."""
        return weighted([(plan, plan.weight) for plan in self.plans], fraction(seed_salt, "plan", payer_id, member_id))


@dataclass(frozen=True)
class PayerTerms:
    """What the sandbox learns from a payer file: its behaviour, timely-filing limit, corrections accepted."""

    kind: PayerKind
    timely_filing_days: int | None = None  # None: the behaviour's default
    accepts_corrections: bool = True  # frequency 7 and 8 accepted electronically


# Front-end (277CA) rejections: eligibility and data errors a corrected claim can fix.
_REJECTIONS = (
    FrontEndRejection(ClaimStatus("A7", "33", "IL"), None, 0.35),  # subscriber and subscriber id not found
    FrontEndRejection(ClaimStatus("A7", "21"), ClaimStatus("A7", "164", "IL"), 0.25),  # member number invalid
    FrontEndRejection(ClaimStatus("A3", "21"), ClaimStatus("A3", "255"), 0.25),  # diagnosis code invalid
    FrontEndRejection(ClaimStatus("A7", "562", "85"), None, 0.15),  # billing NPI not on file
)

# Denial CARCs (group CO) and their RARCs. CO-29 (timely filing) and CO-18 (duplicate) are not rolled: they
# follow from the claim itself (see adjudication.py).
_CO16 = ("16", "MA130", "claim", True)  # lacks information; unprocessable, submit a new claim
_CO197 = ("197", "M62", "claim", False)  # precertification/authorization absent
_CO50 = ("50", "N115", "line", False)  # not medically necessary (LCD)
_CO97 = ("97", "M15", "line", False)  # bundled into another service
_CO4 = ("4", "N519", "line", False)  # procedure inconsistent with modifier
_CO11 = ("11", "M76", "line", False)  # diagnosis inconsistent with procedure


def _mix(*weights: tuple[tuple[str, str, str, bool], float]) -> tuple[DenialReason, ...]:
    return tuple(
        DenialReason(carc, rarc, "claim" if scope == "claim" else "line", weight, unprocessable)
        for (carc, rarc, scope, unprocessable), weight in weights
    )


MEDICARE = Behaviour(
    kind="medicare",
    ack_delay_weights=(0.6, 0.3, 0.1),
    remit_lag=LagDistribution(low=14, mode=16, high=30, tail_share=0.02, tail_high=90),
    front_end_reject_share=0.03,
    front_end_rejections=_REJECTIONS,
    denial_share=0.08,
    denials=_mix((_CO16, 0.26), (_CO197, 0.06), (_CO50, 0.26), (_CO97, 0.16), (_CO4, 0.13), (_CO11, 0.13)),
    allowed_rate=(Decimal("0.35"), Decimal("0.55")),
    plans=(
        Plan(
            "Part B",
            1.0,
            coinsurance=Decimal("0.20"),
            deductible_by_year=((2024, Decimal("240")), (2025, Decimal("257")), (2026, Decimal("283"))),
        ),
    ),
    timely_filing_days=365,
    interest_after_days=30,
    interest_rate=Decimal("0.04625"),
    payer_correction_share=0.01,
    payer_correction_days=(14, 42),
    recoupment_share=0.005,
    recoupment_days=(30, 75),
    crossover_shares=(0.80, 0.10),
    secondary_rule="msp",
)

MEDICAID = Behaviour(
    kind="medicaid",
    ack_delay_weights=(0.3, 0.4, 0.3),
    remit_lag=LagDistribution(low=12, mode=20, high=45, tail_share=0.06, tail_high=120),
    front_end_reject_share=0.06,
    front_end_rejections=_REJECTIONS,
    denial_share=0.13,
    denials=_mix((_CO16, 0.26), (_CO197, 0.20), (_CO50, 0.16), (_CO97, 0.12), (_CO4, 0.13), (_CO11, 0.13)),
    allowed_rate=(Decimal("0.25"), Decimal("0.45")),
    plans=(
        Plan("no copay", 0.50),
        Plan("copay 1", 0.20, copay=Decimal("1"), copay_on_visits_only=False),
        Plan("copay 2", 0.15, copay=Decimal("2"), copay_on_visits_only=False),
        Plan("copay 4", 0.15, copay=Decimal("4"), copay_on_visits_only=False),
    ),
    timely_filing_days=365,
    interest_after_days=None,
    interest_rate=Decimal("0"),
    payer_correction_share=0.03,
    payer_correction_days=(14, 42),
    recoupment_share=0.01,
    recoupment_days=(30, 75),
    crossover_shares=(0.0, 0.0),
    secondary_rule="last_resort",
)

COMMERCIAL = Behaviour(
    kind="commercial",
    ack_delay_weights=(0.5, 0.35, 0.15),
    remit_lag=LagDistribution(low=10, mode=16, high=40, tail_share=0.04, tail_high=100),
    front_end_reject_share=0.05,
    front_end_rejections=_REJECTIONS,
    denial_share=0.11,
    denials=_mix((_CO16, 0.22), (_CO197, 0.22), (_CO50, 0.16), (_CO97, 0.14), (_CO4, 0.13), (_CO11, 0.13)),
    allowed_rate=(Decimal("0.50"), Decimal("0.80")),
    plans=(
        Plan("copay 20", 0.10, copay=Decimal("20")),
        Plan("copay 25", 0.10, copay=Decimal("25")),
        Plan("copay 30", 0.10, copay=Decimal("30")),
        Plan("copay 40", 0.10, copay=Decimal("40")),
        Plan("deductible 500", 0.15, deductible=Decimal("500"), coinsurance=Decimal("0.20")),
        Plan("deductible 1000", 0.15, deductible=Decimal("1000"), coinsurance=Decimal("0.20")),
        Plan("deductible 1500", 0.10, deductible=Decimal("1500"), coinsurance=Decimal("0.10")),
        Plan("deductible 3000", 0.10, deductible=Decimal("3000"), coinsurance=Decimal("0.30")),
        Plan("coinsurance only", 0.10, coinsurance=Decimal("0.20")),
    ),
    timely_filing_days=180,
    interest_after_days=30,
    interest_rate=Decimal("0.12"),
    payer_correction_share=0.02,
    payer_correction_days=(14, 42),
    recoupment_share=0.01,
    recoupment_days=(30, 75),
    crossover_shares=(0.0, 0.0),
    secondary_rule="standard",
)

BEHAVIOURS: dict[PayerKind, Behaviour] = {"medicare": MEDICARE, "medicaid": MEDICAID, "commercial": COMMERCIAL}


def kind_for_filing_indicator(filing_indicator: str) -> PayerKind:
    """Medicare for SBR09 MA/MB, Medicaid for MC, commercial for anything else."""
    if filing_indicator in ("MA", "MB"):
        return "medicare"
    if filing_indicator == "MC":
        return "medicaid"
    return "commercial"


def terms_for(payer_id: str, filing_indicator: str, payers: dict[str, PayerTerms]) -> PayerTerms:
    """The terms of a payer: from the payer files when known, else from the claim's filing indicator."""
    return payers.get(payer_id) or PayerTerms(kind_for_filing_indicator(filing_indicator))


def timely_filing_limit(terms: PayerTerms) -> int:
    """Days from the first date of service within which the payer accepts the claim."""
    return (
        terms.timely_filing_days if terms.timely_filing_days is not None else BEHAVIOURS[terms.kind].timely_filing_days
    )


def is_visit(procedure_code: str) -> bool:
    """True for an evaluation-and-management code (99202-99499): the services a per-visit copay applies to."""
    return procedure_code.isdigit() and len(procedure_code) == 5 and 99202 <= int(procedure_code) <= 99499


def benefit_year(service_date: date | None, fallback: date) -> int:
    """The calendar year whose deductible a service counts against."""
    return (service_date or fallback).year
