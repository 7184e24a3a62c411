"""Adjudication: the 835 CLP loop the payer sends for one accepted claim, always balanced.

Primary claims (SBR01 P):

- Claims that are denied whatever the roll: a first date of service older than the payer's timely-filing
  limit (CO-29, only when the sandbox judges time) and an original (frequency 1) for a claim the payer
  already has on file (CO-18 with N111). Both at claim level, no service lines.
- A share of claims (the payer's denial rate) is denied with a CARC from the payer's mix. Claim-scope
  reasons (CO-16 MA130, CO-197 M62) deny every line, the remark in MOA; line-scope reasons (CO-50 N115,
  CO-97 M15, CO-4 N519, CO-11 M76) deny one line (never the first for CO-97) with the remark in LQ, or
  the whole claim when it has a single line.
- Every other line is priced: allowed = charge x the payer's rate for that procedure code; CO-45 for
  the rest; then the member's plan: deductible (PR-1, drawing on the member's yearly accumulator), copay
  (PR-3, once per claim), coinsurance (PR-2). Paid = allowed - patient responsibility. The first time the
  payer sees a member in a year, part of the deductible may be met already at other providers
  (``met_elsewhere``).
- CLP02 is 4 only when every line is denied; a claim whose whole allowed amount went to deductible or
  copay is processed (1) with $0 paid. Medicare primaries naming a supplemental payer in 2320 are mostly
  crossed over (CLP02 19, MOA MA18, NM1*TT naming that payer); a share fails (MA19, CLP02 1).

Secondary and tertiary claims (SBR01 S/T) are priced from the prior payers' 2320/2430 loops: per line,
the payer pays toward the patient responsibility the previous payer left (R), at most its own allowed
minus what the prior payers paid, and (Medicare as secondary) at most 80 % of its allowed. OA-23 carries
the prior payers' part (charge - R); what it does not pay of R stays PR (its reason codes kept) or, for
Medicaid (payer of last resort, no balance billing), becomes CO-45. CLP02 2 or 3.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revcycle.sandbox.profiles import (
    Behaviour,
    DenialReason,
    PayerTerms,
    benefit_year,
    is_visit,
    timely_filing_limit,
)
from revcycle.sandbox.rolls import ZERO, between, cents, fraction, weighted
from revcycle.x12.write835 import Adjustment, RemittanceClaim, ServicePayment
from revcycle.x12.x837 import ReceivedClaim, ReceivedLineAdjudication, ReceivedOtherPayer, ReceivedServiceLine

CROSSED_OVER = "MA18"
CROSSOVER_FAILED = "MA19"
DUPLICATE = ("18", "N111")
TIMELY_FILING = ("29", None)

# CLP06 takes a narrower code list than SBR09: commercial and Blue Cross plans are reported as PPO (12)
_CLP06 = frozenset(
    {"12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"}
)
_PR_ORDER = {"1": 0, "2": 1, "3": 2}  # deductible, coinsurance, copay: the order a secondary pays them in


@dataclass(frozen=True)
class Context:
    """What the adjudication of one claim depends on besides the claim."""

    seed_salt: str
    behaviour: Behaviour
    terms: PayerTerms
    received_date: date
    payer_claim_number: str
    digest: str
    judge_time: bool = True  # apply the timely-filing limit (the instant mode does not judge time)
    duplicate: bool = False  # an original for a claim the payer already has on file
    institutional: bool = False


@dataclass(frozen=True)
class Outcome:
    """The CLP loop, and what the payer must remember about it."""

    remittance: RemittanceClaim
    deductible: Decimal = ZERO
    accumulator: str | None = None
    unprocessable: bool = False

    @property
    def paid(self) -> Decimal:
        """CLP04."""
        return self.remittance.paid


def payer_claim_number(seed_salt: str, payer_id: str, claim_key: str, frequency_code: str, interchange: str) -> str:
    """CLP07 / REF*1K: one per claim send (claim key, frequency and the interchange it came in)."""
    text = f"{seed_salt}|{payer_id}|{claim_key}|{frequency_code}|{interchange}|pcn"
    return "SB" + str(int(hashlib.sha256(text.encode()).hexdigest()[:15], 16) % 10**14).zfill(14)


def service_dates(claim: ReceivedClaim, fallback: date) -> tuple[date, date]:
    """The first and last dates of service (``fallback`` when no line carries one)."""
    dates = [line.service_date for line in claim.lines if line.service_date is not None]
    if not dates:
        return fallback, fallback
    return min(dates), max(dates)


def is_inpatient(claim: ReceivedClaim, institutional: bool) -> bool:
    """An institutional inpatient bill (facility type x1: hospital, SNF ... inpatient): remarks go in MIA."""
    return institutional and len(claim.place_of_service) == 2 and claim.place_of_service[1] == "1"


def past_timely_filing(claim: ReceivedClaim, received_date: date, terms: PayerTerms) -> bool:
    """True when the claim's first date of service is older than the payer's timely-filing limit."""
    dates = [line.service_date for line in claim.lines if line.service_date is not None]
    return bool(dates) and (received_date - min(dates)).days > timely_filing_limit(terms)


def allowed_rate(ctx: Context, payer_id: str, procedure_code: str) -> Decimal:
    """The share of the charge this payer allows for a procedure code (fixed per payer and code)."""
    low, high = ctx.behaviour.allowed_rate
    step = Decimal(between(0, 100, fraction(ctx.seed_salt, "fee", payer_id, procedure_code))) / 100
    return low + (high - low) * step


def _code(line: ReceivedServiceLine) -> str:
    return line.procedure_code or line.revenue_code or ""


def _service(
    line: ReceivedServiceLine,
    fallback: date,
    paid: Decimal,
    adjustments: list[Adjustment],
    allowed: Decimal,
    remarks: tuple[str, ...] = (),
) -> ServicePayment:
    revenue_only = not line.procedure_code and bool(line.revenue_code)
    return ServicePayment(
        procedure_code=(line.revenue_code or "") if revenue_only else line.procedure_code,
        charge=line.charge,
        paid=paid,
        units=line.units,
        service_date=line.service_date or fallback,
        modifiers=line.modifiers,
        adjustments=tuple(a for a in adjustments if a.amount != 0),
        allowed=allowed,
        remark_codes=remarks,
        qualifier="NU" if revenue_only else (line.qualifier or "HC"),
        revenue_code=None if revenue_only else line.revenue_code,
    )


def _denied(line: ReceivedServiceLine, reason: DenialReason, fallback: date, with_remark: bool) -> ServicePayment:
    remarks = (reason.rarc,) if with_remark and reason.rarc else ()
    return _service(line, fallback, ZERO, [Adjustment("CO", reason.carc, line.charge)], ZERO, remarks)


def met_elsewhere(deductible: Decimal, first_service: date, seed_salt: str, payer_id: str, member_id: str) -> Decimal:
    """How much of a member's yearly deductible other providers' claims had met before this practice's first.

    A share ``f`` of the year has passed on the first date of service: the deductible is already met in full
    with probability ``f``, else a uniform share of ``f`` x the deductible is (nothing on 1 January; by
    1 July half the members have met it).
    """
    passed = Decimal(first_service.timetuple().tm_yday - 1) / 365
    year = str(first_service.year)
    if fraction(seed_salt, "met-elsewhere", payer_id, member_id, year) < passed:
        return deductible
    share = Decimal(str(round(fraction(seed_salt, "met-share", payer_id, member_id, year), 4)))
    return cents(deductible * passed * share)


class _Benefits:
    """A member's plan applied line by line: deductible from the yearly accumulator, one copay, coinsurance."""

    def __init__(self, claim: ReceivedClaim, ctx: Context, accumulators: dict[str, Decimal], first: date) -> None:
        self.plan = ctx.behaviour.plan_for(ctx.seed_salt, claim.payer_id, claim.member_id)
        year = benefit_year(first, ctx.received_date)
        self.key = f"{claim.payer_id}|{claim.member_id}|{year}"
        self.accumulators = accumulators
        deductible = self.plan.deductible_for(year)
        if self.key in accumulators:
            self.met = accumulators[self.key]
        else:
            self.met = met_elsewhere(deductible, first, ctx.seed_salt, claim.payer_id, claim.member_id)
        self.remaining = max(ZERO, deductible - self.met)
        self.copay_left = self.plan.copay
        self.applied = ZERO

    def share(self, allowed: Decimal, code: str) -> list[Adjustment]:
        """The PR adjustments of one line's allowed amount."""
        deductible = min(allowed, self.remaining)
        self.remaining -= deductible
        self.applied += deductible
        rest = allowed - deductible
        copay = ZERO
        if self.copay_left and (not self.plan.copay_on_visits_only or is_visit(code)):
            copay = min(self.copay_left, rest)
            self.copay_left = ZERO
            rest -= copay
        coinsurance = cents(rest * self.plan.coinsurance)
        return [Adjustment("PR", "1", deductible), Adjustment("PR", "2", coinsurance), Adjustment("PR", "3", copay)]

    def commit(self) -> None:
        """Record the deductible this claim met."""
        if self.applied:
            self.accumulators[self.key] = self.met + self.applied


def _priced(
    line: ReceivedServiceLine, ctx: Context, payer_id: str, fallback: date, benefits: _Benefits
) -> ServicePayment:
    allowed = cents(line.charge * allowed_rate(ctx, payer_id, _code(line)))
    patient = benefits.share(allowed, line.procedure_code)
    paid = allowed - sum((a.amount for a in patient), ZERO)
    return _service(line, fallback, paid, [Adjustment("CO", "45", line.charge - allowed), *patient], allowed)


def _allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` split in proportion to ``weights`` to the cent, the rounding left on the last share."""
    whole = sum(weights, ZERO)
    if not weights:
        return []
    if whole == 0:
        return [ZERO] * (len(weights) - 1) + [total]
    shares = [cents(total * w / whole) for w in weights[:-1]]
    return [*shares, total - sum(shares, ZERO)]


def _previous_payer(claim: ReceivedClaim) -> ReceivedOtherPayer | None:
    """The payer that adjudicated the claim just before this one (P before S, S before T)."""
    adjudicated = [other for other in claim.other_payers if other.paid is not None]
    wanted = {"S": "P", "T": "S"}.get(claim.payer_responsibility)
    for other in adjudicated:
        if other.responsibility == wanted:
            return other
    return adjudicated[-1] if adjudicated else None


def _prior_per_line(claim: ReceivedClaim) -> dict[int, tuple[Decimal, list[Adjustment]]]:
    """Per line: what every prior payer paid, and the PR adjustments the previous payer left to the patient."""
    previous = _previous_payer(claim)
    numbers = [line.line_number for line in claim.lines]
    paid = dict.fromkeys(numbers, ZERO)
    for other in claim.other_payers:
        if other.paid is None:
            continue
        if other.lines:
            for adj in other.lines:
                if adj.line_number in paid:
                    paid[adj.line_number] += adj.paid
        else:  # claim-level adjudication only: its payment spread over the lines by charge
            for number, share in zip(numbers, _allocate(other.paid, [ln.charge for ln in claim.lines]), strict=True):
                paid[number] += share
    left: dict[int, list[Adjustment]] = {number: [] for number in numbers}
    if previous is not None:
        if previous.lines:
            for adj in previous.lines:
                if adj.line_number in left:
                    left[adj.line_number] += _patient_part(adj)
        else:
            for reason in sorted({a.reason for a in previous.adjustments if a.group == "PR"}, key=_pr_rank):
                amount = sum((a.amount for a in previous.adjustments if a.group == "PR" and a.reason == reason), ZERO)
                for number, share in zip(numbers, _allocate(amount, [ln.charge for ln in claim.lines]), strict=True):
                    left[number].append(Adjustment("PR", reason, share))
    return {number: (paid[number], left[number]) for number in numbers}


def _pr_rank(reason: str) -> tuple[int, str]:
    return _PR_ORDER.get(reason, 9), reason


def _patient_part(adj: ReceivedLineAdjudication) -> list[Adjustment]:
    parts = [Adjustment("PR", a.reason, a.amount) for a in adj.adjustments if a.group == "PR"]
    return sorted(parts, key=lambda a: _pr_rank(a.reason))


def _secondary_line(
    line: ReceivedServiceLine,
    ctx: Context,
    payer_id: str,
    fallback: date,
    prior_paid: Decimal,
    left: list[Adjustment],
) -> ServicePayment:
    """One line priced as a secondary: toward the patient responsibility the previous payer left."""
    owed_parts: list[Adjustment] = []
    room = line.charge
    for part in left:  # never more than the line's charge, whatever the prior payer reported
        take = max(ZERO, min(part.amount, room))
        room -= take
        if take:
            owed_parts.append(Adjustment("PR", part.reason, take))
    owed = sum((a.amount for a in owed_parts), ZERO)
    allowed = cents(line.charge * allowed_rate(ctx, payer_id, _code(line)))
    cap = max(ZERO, allowed - prior_paid)
    if ctx.behaviour.secondary_rule == "msp":
        cap = min(cap, cents(allowed * Decimal("0.8")))
    paid = min(owed, cap)
    to_apply = paid
    unpaid: list[Adjustment] = []
    for part in owed_parts:  # the payment goes to deductible first, then coinsurance, then copay
        covered = min(part.amount, to_apply)
        to_apply -= covered
        if part.amount - covered:
            unpaid.append(Adjustment("PR", part.reason, part.amount - covered))
    adjustments = [Adjustment("OA", "23", line.charge - owed)]
    if ctx.behaviour.secondary_rule == "last_resort":
        adjustments.append(Adjustment("CO", "45", owed - paid))
    else:
        adjustments += _merge(unpaid)
    return _service(line, fallback, paid, adjustments, allowed)


def _merge(adjustments: list[Adjustment]) -> list[Adjustment]:
    totals: dict[tuple[str, str], Decimal] = {}
    for adj in adjustments:
        totals[(adj.group, adj.reason)] = totals.get((adj.group, adj.reason), ZERO) + adj.amount
    return [Adjustment(group, reason, amount) for (group, reason), amount in totals.items()]


def _clp06(claim: ReceivedClaim) -> str:
    # CLP06 takes fewer codes than SBR09 (no CI, BL ...): those are reported as 12 (PPO)
    return claim.filing_indicator if claim.filing_indicator in _CLP06 else "12"


def _rolled_denial(claim: ReceivedClaim, ctx: Context) -> tuple[DenialReason, int | None] | None:
    """The denial the roll gives this claim's content, with the denied line's index (None: every line)."""
    b = ctx.behaviour
    if fraction(ctx.seed_salt, "deny", claim.payer_id, claim.claim_key, ctx.digest) >= b.denial_share:
        return None
    reason = weighted(
        [(r, r.weight) for r in b.denials], fraction(ctx.seed_salt, "carc", claim.payer_id, claim.claim_key, ctx.digest)
    )
    if reason.scope == "claim" or len(claim.lines) < 2:
        return reason, None
    first = 1 if reason.carc == "97" else 0  # a bundled line is bundled into another, earlier one
    roll = fraction(ctx.seed_salt, "denied-line", claim.payer_id, claim.claim_key, ctx.digest)
    return reason, between(first, len(claim.lines) - 1, roll)


def adjudicate(claim: ReceivedClaim, ctx: Context, accumulators: dict[str, Decimal]) -> Outcome:
    """The CLP loop for one accepted claim (this module's rules), updating the deductible accumulators."""
    start, end = service_dates(claim, ctx.received_date)
    base = RemittanceClaim(
        claim_key=claim.claim_key,
        status_code="4",
        charge=claim.total_charge,
        paid=ZERO,
        patient_responsibility=ZERO,
        filing_indicator=_clp06(claim),
        payer_claim_number=ctx.payer_claim_number,
        patient_last_name=claim.patient_last_name,
        patient_first_name=claim.patient_first_name or None,
        member_id=claim.member_id,
        facility_code=claim.place_of_service or "11",
        frequency_code=claim.frequency_code or "1",
        subscriber_last_name=claim.subscriber_last_name if _patient_differs(claim) else None,
        subscriber_first_name=(claim.subscriber_first_name or None) if _patient_differs(claim) else None,
        statement_from=start,
        statement_to=end,
        inpatient=is_inpatient(claim, ctx.institutional),
    )
    if ctx.judge_time and past_timely_filing(claim, ctx.received_date, ctx.terms):
        return _claim_level_denial(base, *TIMELY_FILING)
    if ctx.duplicate:
        return _claim_level_denial(base, *DUPLICATE)

    denial = _rolled_denial(claim, ctx)
    services: list[ServicePayment] = []
    benefits = _Benefits(claim, ctx, accumulators, start)
    secondary = claim.payer_responsibility in ("S", "T")
    prior = _prior_per_line(claim) if secondary else {}
    for index, line in enumerate(claim.lines):
        if denial is not None and denial[1] in (None, index):
            services.append(_denied(line, denial[0], start, with_remark=denial[1] is not None))
        elif secondary:
            paid, left = prior[line.line_number]
            services.append(_secondary_line(line, ctx, claim.payer_id, start, paid, left))
        else:
            services.append(_priced(line, ctx, claim.payer_id, start, benefits))
    if not secondary:
        benefits.commit()

    claim_adjustments: tuple[Adjustment, ...] = ()
    line_charges = sum((s.charge for s in services), ZERO)
    if services and line_charges != claim.total_charge:
        # CLM02 disagrees with the line sum: the difference is not covered (claim-level CO-45 keeps balance)
        claim_adjustments = (Adjustment("CO", "45", claim.total_charge - line_charges),)
    paid = sum((s.paid for s in services), ZERO)
    patient = sum((a.amount for s in services for a in s.adjustments if a.group == "PR"), ZERO)
    every_line_denied = all(
        s.paid == 0 and not any(a.group == "PR" for a in s.adjustments) and s.allowed == 0 for s in services
    )
    status = "4" if every_line_denied else {"S": "2", "T": "3"}.get(claim.payer_responsibility, "1")
    remarks: tuple[str, ...] = ()
    if denial is not None and denial[1] is None and denial[0].rarc:
        remarks = (denial[0].rarc,)
    carrier: tuple[str, str] | None = None
    if status == "1" and ctx.behaviour.kind == "medicare":
        status, remarks, carrier = _crossover(claim, ctx, status, remarks)
    remittance = dataclasses.replace(
        base,
        status_code=status,
        paid=paid,
        patient_responsibility=patient,
        adjustments=claim_adjustments,
        services=tuple(services),
        remark_codes=remarks,
        crossover_carrier=carrier,
    )
    unprocessable = denial is not None and denial[1] is None and denial[0].unprocessable
    return Outcome(
        remittance,
        deductible=benefits.applied if not secondary else ZERO,
        accumulator=benefits.key if not secondary and benefits.applied else None,
        unprocessable=unprocessable,
    )


def _patient_differs(claim: ReceivedClaim) -> bool:
    return (claim.patient_last_name, claim.patient_first_name) != (
        claim.subscriber_last_name,
        claim.subscriber_first_name,
    )


def _claim_level_denial(base: RemittanceClaim, carc: str, rarc: str | None) -> Outcome:
    return Outcome(
        dataclasses.replace(
            base,
            status_code="4",
            adjustments=(Adjustment("CO", carc, base.charge),),
            remark_codes=(rarc,) if rarc else (),
        )
    )


def _crossover(
    claim: ReceivedClaim, ctx: Context, status: str, remarks: tuple[str, ...]
) -> tuple[str, tuple[str, ...], tuple[str, str] | None]:
    """Medicare forwards a processed claim to the supplemental payer the claim names (COBA crossover)."""
    supplemental = next(
        (o for o in claim.other_payers if o.responsibility in ("S", "T") and o.paid is None and o.payer_id), None
    )
    if supplemental is None:
        return status, remarks, None
    crossed, failed = ctx.behaviour.crossover_shares
    roll = fraction(ctx.seed_salt, "crossover", claim.payer_id, claim.claim_key, ctx.digest)
    if roll < crossed:
        return "19", (*remarks, CROSSED_OVER), (supplemental.payer_name or supplemental.payer_id, supplemental.payer_id)
    if roll < crossed + failed:
        return status, (*remarks, CROSSOVER_FAILED), None
    return status, remarks, None


def reversal(original: RemittanceClaim) -> RemittanceClaim:
    """CLP02 22: the original's CLP loop with every amount negated (its remarks and crossover dropped)."""

    def negated(items: tuple[Adjustment, ...]) -> tuple[Adjustment, ...]:
        return tuple(Adjustment(a.group, a.reason, -a.amount, a.quantity) for a in items)

    return dataclasses.replace(
        original,
        status_code="22",
        charge=-original.charge,
        paid=-original.paid,
        patient_responsibility=-original.patient_responsibility,
        adjustments=negated(original.adjustments),
        services=tuple(
            dataclasses.replace(
                s,
                charge=-s.charge,
                paid=-s.paid,
                adjustments=negated(s.adjustments),
                allowed=-s.allowed if s.allowed is not None else None,
                remark_codes=(),
            )
            for s in original.services
        ),
        remark_codes=(),
        crossover_carrier=None,
    )


def corrected(original: RemittanceClaim, factor: Decimal, payer_claim_number: str) -> RemittanceClaim:
    """A payer's own correction: each paid line's payment scaled by ``factor``, its CO-45 absorbing the change.

    A line is never paid below $0 nor allowed above its charge; patient responsibility is unchanged.
    """
    services = []
    for s in original.services:
        if s.paid <= 0 or s.allowed is None:
            services.append(s)
            continue
        contractual = sum((a.amount for a in s.adjustments if (a.group, a.reason) == ("CO", "45")), ZERO)
        delta = max(-s.paid, min(contractual, cents(s.paid * (factor - 1))))
        others = [a for a in s.adjustments if (a.group, a.reason) != ("CO", "45")]
        services.append(
            dataclasses.replace(
                s,
                paid=s.paid + delta,
                allowed=s.allowed + delta,
                adjustments=tuple(a for a in (Adjustment("CO", "45", contractual - delta), *others) if a.amount),
            )
        )
    return dataclasses.replace(
        original,
        status_code={"19": "1", "20": "2", "21": "3"}.get(original.status_code, original.status_code),
        paid=sum((s.paid for s in services), ZERO),
        services=tuple(services),
        payer_claim_number=payer_claim_number,
        remark_codes=(),
        crossover_carrier=None,
    )


def interest_due(paid: Decimal, lag_days: int, behaviour: Behaviour) -> Decimal:
    """Prompt-pay interest on a claim paid ``lag_days`` after receipt (0 when on time or nothing paid)."""
    after = behaviour.interest_after_days
    if after is None or lag_days <= after or paid <= 0:
        return ZERO
    return cents(paid * behaviour.interest_rate * (lag_days - after) / 365)
