"""Adjudication rules of the sandbox payer, checked on the 835s it writes, read back with the 835 reader.

Expected values come from the rules and figures documented in docs/sandbox.md (deductibles, CARC mix,
secondary pricing), computed here by hand, never from the simulator's own output.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import pytest
from pyx12_check import balance_problems, pyx12_errors, split_segments
from sandbox_claims import claim_payments, interchange, make_claim, secondary_of

from revcycle.domain import Address, Claim
from revcycle.sandbox.adjudication import Context, adjudicate, corrected, reversal
from revcycle.sandbox.payer_simulator import respond
from revcycle.sandbox.profiles import BEHAVIOURS, PayerKind, PayerTerms
from revcycle.x12.write835 import Remittance, RemittanceClaim, write_835
from revcycle.x12.writer import Envelope
from revcycle.x12.x835 import ClaimPayment
from revcycle.x12.x837 import ReceivedClaim, ReceivedServiceLine, read_837

ZERO = Decimal("0")
PAYER_OF: dict[PayerKind, str] = {"medicare": "MCRPB", "medicaid": "MCDST", "commercial": "SUMMT"}
NOW = datetime(2026, 3, 10, 3, 30)  # 9 March 21:30 in Chicago
RECEIVED = date(2026, 3, 9)


def received(claims: Sequence[Claim]) -> list[ReceivedClaim]:
    """The claims as the payer reads them (through the 837 writer and reader)."""
    read = read_837(interchange(claims, 7))
    assert read.problems == []
    return read.claims


def context(claim: ReceivedClaim, kind: PayerKind, *, judge_time: bool = True, limit: int | None = None) -> Context:
    return Context(
        seed_salt="adjudication tests",
        behaviour=BEHAVIOURS[kind],
        terms=PayerTerms(kind, limit),
        received_date=RECEIVED,
        payer_claim_number="SB" + claim.claim_key,
        digest=claim.claim_key,
        judge_time=judge_time,
    )


def as_835(remittances: Sequence[RemittanceClaim]) -> bytes:
    envelope = Envelope("SANDBOXCH", "SUBMIT01", 9, 9, "T", datetime(2026, 3, 30, 6, 0), "HP", "005010X221A1")
    remittance = Remittance(
        payer_name="SANDBOX PAYER",
        payer_tax_id="123456789",
        payer_address=Address("1 SANDBOX WAY", "SPRINGFIELD", "IL", "62701"),
        payer_contact_phone="8005550100",
        payee_name="RIVERSIDE",
        payee_npi="1234567893",
        payee_tax_id="123456789",
        trace_number="T1",
        payment_date=date(2026, 3, 30),
        production_date=date(2026, 3, 30),
        claims=tuple(remittances),
    )
    return write_835([remittance], envelope)


def amounts(payment: ClaimPayment, group: str, reason: str) -> Decimal:
    adjustments = [*payment.adjustments, *(a for s in payment.services for a in s.adjustments)]
    return sum((a.amount for a in adjustments if (a.group, a.reason) == (group, reason)), ZERO)


def allowed(payment: ClaimPayment) -> Decimal:
    return sum((s.amounts["B6"] for s in payment.services), ZERO)


def denial_carcs(payment: ClaimPayment) -> list[str]:
    adjustments = [*payment.adjustments, *(a for s in payment.services for a in s.adjustments)]
    return sorted({a.reason for a in adjustments if a.group == "CO" and a.reason != "45"})


# -- patient responsibility: processed, not denied ----------------------------------------------------------


def test_a_claim_whose_allowed_amount_all_went_to_the_deductible_is_processed_with_nothing_paid() -> None:
    # Medicare Part B's 2026 deductible is $283 (docs/sandbox.md). On 2 January 1/365 of the year has passed:
    # other providers can have met at most 283 x 1/365 = $0.78 of it (or all of it, for 1 member in 365).
    # A first $150 visit is allowed at most 55 % of its charge ($82.50): all of it goes to the deductible.
    early = date(2026, 1, 2)
    first, second = received(
        [
            make_claim(
                "DED1", payer_id="MCRPB", member="1EG4TE5MK73", lines=(("99213", "150.00"),), service_date=early
            ),
            make_claim(
                "DED2", payer_id="MCRPB", member="1EG4TE5MK73", lines=(("99215", "600.00"),), service_date=early
            ),
        ]
    )
    accumulators: dict[str, Decimal] = {}
    one = adjudicate(first, context(first, "medicare"), accumulators)
    two = adjudicate(second, context(second, "medicare"), accumulators)
    payments = claim_payments(as_835([one.remittance, two.remittance]))
    assert balance_problems(as_835([one.remittance, two.remittance])) == []

    paid_nothing = payments[0]
    assert paid_nothing.status == "1"  # processed as primary, not denied (4)
    assert paid_nothing.paid == 0
    assert allowed(paid_nothing) > 0
    assert amounts(paid_nothing, "PR", "1") == allowed(paid_nothing)
    assert paid_nothing.patient_responsibility == allowed(paid_nothing)
    assert denial_carcs(paid_nothing) == []

    # the second visit meets the rest of the deductible, then 20 % coinsurance on what is left
    later = payments[1]
    left = Decimal("283") - allowed(paid_nothing)
    deductible = amounts(later, "PR", "1")
    assert min(allowed(later), left - Decimal("0.78")) <= deductible <= min(allowed(later), left)
    coinsurance = ((allowed(later) - deductible) * Decimal("0.20")).quantize(Decimal("0.01"))
    assert amounts(later, "PR", "2") == coinsurance
    assert later.paid == allowed(later) - deductible - coinsurance > 0
    assert later.status == "1"


@pytest.mark.parametrize(("first_service", "share_met"), [(date(2026, 1, 1), 0.0), (date(2026, 7, 1), 181 / 365)])
def test_other_providers_have_met_a_share_of_deductibles_that_grows_through_the_year(
    first_service: date, share_met: float
) -> None:
    claims = [
        dataclasses.replace(c, lines=tuple(dataclasses.replace(ln, service_date=first_service) for ln in c.lines))
        for c in _population("medicare", 3000, "Y")
    ]
    first_seen = {c.member_id: c for c in reversed(claims)}  # one claim per member: the payer's first
    outcomes = [adjudicate(c, context(c, "medicare"), {}).remittance for c in first_seen.values()]
    priced = [o for o in outcomes if not _denial_carcs(o)]
    met = sum(1 for o in priced if not any(a.reason == "1" for s in o.services for a in s.adjustments))
    # documented: met in full with probability f (the share of the year passed); else at most f x $283 is,
    # so the claim still pays deductible. 4 sd of a binomial share over ~460 members
    sd = (share_met * (1 - share_met) / len(priced)) ** 0.5
    assert abs(met / len(priced) - share_met) <= 4 * sd + 1 / len(priced)


def test_a_visit_whose_allowed_amount_all_went_to_the_copay_is_processed_with_nothing_paid() -> None:
    commercial = BEHAVIOURS["commercial"]
    # a member on the $40-copay plan: a $30 visit is allowed at most 80 % of its charge ($24)
    member = next(
        m
        for m in (f"W{n:06d}" for n in itertools.count())
        if commercial.plan_for("adjudication tests", "SUMMT", m).copay == 40
    )
    (claim,) = received([make_claim("COPAY1", payer_id="SUMMT", member=member, lines=(("99212", "30.00"),))])
    outcome = adjudicate(claim, context(claim, "commercial"), {})
    (payment,) = claim_payments(as_835([outcome.remittance]))
    assert payment.status == "1"
    assert payment.paid == 0
    assert amounts(payment, "PR", "3") == allowed(payment) > 0
    assert denial_carcs(payment) == []


def _population(kind: PayerKind, count: int, seed: str) -> list[ReceivedClaim]:
    """``count`` claims of 1 to 4 lines to one payer, 500 members (built directly: no 837 round trip)."""
    codes = ("99213", "99214", "93000", "80053", "36415", "71046", "97110", "90471")
    payer_id = PAYER_OF[kind]
    claims = []
    for n in range(count):
        lines = tuple(
            ReceivedServiceLine(
                k + 1,
                "HC",
                codes[(n + k) % len(codes)],
                (),
                Decimal(60 + (n * 37 + k * 11) % 240),
                Decimal("1"),
                date(2026, 3, 2),
                None,
            )
            for k in range(1 + n % 4)
        )
        claims.append(
            ReceivedClaim(
                claim_key=f"{seed}{n:06d}",
                total_charge=sum((line.charge for line in lines), ZERO),
                frequency_code="1",
                place_of_service="11",
                payer_id=payer_id,
                payer_name=payer_id,
                member_id=f"M{n % 500:05d}",
                subscriber_last_name="Doe",
                subscriber_first_name=f"Pat{n % 500}",
                patient_last_name="Doe",
                patient_first_name=f"Pat{n % 500}",
                billing_npi="1234567893",
                billing_name="Riverside Clinic",
                billing_tax_id="123456789",
                diagnoses=("J449",),
                lines=lines,
                original_claim_number=None,
                transaction_control_number="0001",
                filing_indicator={"medicare": "MB", "medicaid": "MC", "commercial": "CI"}[kind],
            )
        )
    return claims


@pytest.mark.parametrize("kind", ["medicare", "medicaid", "commercial"])
def test_clp02_says_denied_only_when_every_line_is_denied(kind: PayerKind) -> None:
    accumulators: dict[str, Decimal] = {}
    claims = _population(kind, 1500, "C")
    payments = claim_payments(as_835([adjudicate(c, context(c, kind), accumulators).remittance for c in claims]))
    assert len(payments) == 1500
    processed_for_nothing = 0
    for payment in payments:
        every_line_denied = all(
            s.paid == 0
            and not any(a.group == "PR" for a in s.adjustments)
            and any(a.reason != "45" for a in s.adjustments)
            for s in payment.services
        )
        assert (payment.status == "4") == every_line_denied, payment.patient_control_number
        if payment.status == "4":
            assert payment.paid == 0 and payment.patient_responsibility == 0
        elif payment.paid == 0:
            processed_for_nothing += 1
            assert (payment.patient_responsibility or ZERO) > 0  # all to the patient: processed (1), not denied
    if kind != "medicaid":  # Medicaid's nominal copays never take a whole claim
        assert processed_for_nothing > 0


# -- denials: CARC mix and RARCs --------------------------------------------------------------------------

# The documented denial rates and CARC mixes (docs/sandbox.md, "Denials").
DENIAL_RATE = {"medicare": 0.08, "medicaid": 0.13, "commercial": 0.11}
CARC_MIX = {
    "medicare": {"16": 0.26, "197": 0.06, "50": 0.26, "97": 0.16, "4": 0.13, "11": 0.13},
    "medicaid": {"16": 0.26, "197": 0.20, "50": 0.16, "97": 0.12, "4": 0.13, "11": 0.13},
    "commercial": {"16": 0.22, "197": 0.22, "50": 0.16, "97": 0.14, "4": 0.13, "11": 0.13},
}
RARC = {"16": "MA130", "197": "M62", "50": "N115", "97": "M15", "4": "N519", "11": "M76"}
CLAIM_SCOPE = {"16", "197"}


def _denial_carcs(claim: RemittanceClaim) -> list[str]:
    adjustments = [*claim.adjustments, *(a for s in claim.services for a in s.adjustments)]
    return sorted({a.reason for a in adjustments if a.group == "CO" and a.reason != "45"})


@pytest.mark.parametrize("kind", ["medicare", "medicaid", "commercial"])
def test_denials_follow_the_documented_rate_carc_mix_and_remarks(kind: PayerKind) -> None:
    count = 12000
    claims = [adjudicate(c, context(c, kind), {}).remittance for c in _population(kind, count, "D")]
    denied = [c for c in claims if _denial_carcs(c)]
    # binomial standard deviation of the rate over 12,000 claims is under 0.31 percentage points: 4 sd
    assert abs(len(denied) / count - DENIAL_RATE[kind]) < 0.0125
    carcs = Counter(carc for c in denied for carc in _denial_carcs(c))
    assert sum(carcs.values()) == len(denied)  # one denial reason per claim
    for carc, share in CARC_MIX[kind].items():
        # about 1,000-1,560 denials: a share's standard deviation is at most 1.6 points; 3.5 sd
        assert abs(carcs[carc] / len(denied) - share) < 0.055, (carc, carcs)
    for claim in denied:
        (carc,) = _denial_carcs(claim)
        line_remarks = [r for s in claim.services for r in s.remark_codes]
        if carc in CLAIM_SCOPE or len(claim.services) == 1:
            assert claim.status_code == "4"
            assert claim.remark_codes == (RARC[carc],)
            assert line_remarks == []
        else:  # one line denied, the others priced: processed
            assert claim.status_code == "1"
            assert line_remarks == [RARC[carc]]
            denied_lines = [i for i, s in enumerate(claim.services) if s.paid == 0 and s.remark_codes]
            assert len(denied_lines) == 1
            if carc == "97":  # bundled into another, earlier line
                assert denied_lines[0] > 0
    # the written 835 carries them where a reader finds them: MOA for claim-scope, LQ for a line
    sample = claim_payments(as_835(denied[:200]))
    assert [p.remarks + [r for s in p.services for r in s.remarks] for p in sample] == [
        [*c.remark_codes, *(r for s in c.services for r in s.remark_codes)] for c in denied[:200]
    ]


def test_timely_filing_and_duplicates_are_denied_at_claim_level() -> None:
    old = date(2025, 2, 1)  # 401 days before 9 March 2026
    late, recent = received(
        [
            make_claim("LATE1", payer_id="MCRPB", member="1EG4TE5MK73", service_date=old),
            make_claim("OK1", payer_id="SUMMT", member="W1", service_date=date(2026, 1, 1)),  # 67 days
        ]
    )
    denied = adjudicate(late, context(late, "medicare"), {}).remittance  # Medicare: 365 days
    assert (denied.status_code, [(a.group, a.reason) for a in denied.adjustments], denied.services) == (
        "4",
        [("CO", "29")],
        (),
    )
    # the payer file's 60-day limit makes the 67-day-old claim late; 90 days does not
    assert adjudicate(recent, context(recent, "commercial", limit=60), {}).remittance.adjustments[0].reason == "29"
    assert all(
        a.reason != "29" for a in adjudicate(recent, context(recent, "commercial", limit=90), {}).remittance.adjustments
    )
    # the instant timing does not judge time: no CO-29 however old the claim
    undated = adjudicate(late, context(late, "medicare", judge_time=False), {}).remittance
    assert "29" not in _denial_carcs(undated)


# -- reversals and corrections ----------------------------------------------------------------------------


def test_a_reversal_negates_every_amount_and_a_payer_correction_keeps_the_patient_share() -> None:
    claims = _population("commercial", 200, "R")
    originals = [adjudicate(c, context(c, "commercial"), {}).remittance for c in claims]
    paid = [o for o in originals if o.paid > 10]
    reversals = [reversal(o) for o in paid]
    fixes = [corrected(o, Decimal("0.9"), o.payer_claim_number + "C") for o in paid]
    data = as_835([*paid, *reversals, *fixes])
    assert balance_problems(data) == []
    read = claim_payments(data)
    n = len(paid)
    for original, undone, fixed in zip(read[:n], read[n : 2 * n], read[2 * n :], strict=True):
        assert undone.status == "22"
        assert undone.payer_claim_number == original.payer_claim_number
        assert (undone.charge, undone.paid, undone.patient_responsibility) == (
            -original.charge,
            -original.paid,
            -original.patient_responsibility,  # type: ignore[operator]
        )
        for a, b in zip(undone.services, original.services, strict=True):
            assert (a.charge, a.paid) == (-b.charge, -b.paid)
            assert [(x.group, x.reason, x.amount) for x in a.adjustments] == [
                (x.group, x.reason, -x.amount) for x in b.adjustments
            ]
        assert fixed.patient_responsibility == original.patient_responsibility
        assert fixed.paid < original.paid
        assert fixed.payer_claim_number == original.payer_claim_number + "C"


# -- secondary claims and crossovers ------------------------------------------------------------------------


def _primaries(
    count: int, payer_id: str, supplemental: str | None = None
) -> tuple[list[Claim], dict[str, ClaimPayment]]:
    claims = [
        make_claim(
            f"P{payer_id[:2]}{n:05d}",
            payer_id=payer_id,
            member=f"1EG4TE5M{n % 25:03d}",  # members come back: deductibles get met
            lines=(("99214", f"{150 + n % 90}.00"), ("93000", "60.00"), ("80053", f"{40 + n % 25}.00"))[: 1 + n % 3],
            supplemental=supplemental,
        )
        for n in range(count)
    ]
    numbers = itertools.count(100)
    files = respond(interchange(claims, 11), usage_indicator="T", now=NOW, control_numbers=lambda: next(numbers))
    payments = {p.patient_control_number: p for f in files if f.kind == "835" for p in claim_payments(f.content)}
    return claims, payments


@pytest.mark.parametrize("secondary", ["SUMMT", "MCDST"])
def test_a_secondary_pays_toward_the_patient_responsibility_the_primary_left(secondary: str) -> None:
    claims, primary = _primaries(300, "MCRPB")
    paid_primary = [c for c in claims if c.claim_key in primary and primary[c.claim_key].status != "4"]
    sent = [secondary_of(c, primary[c.claim_key], secondary, date(2026, 3, 30)) for c in paid_primary]
    numbers = itertools.count(500)
    files = respond(interchange(sent, 12), usage_indicator="T", now=NOW, control_numbers=lambda: next(numbers))
    remits = [f for f in files if f.kind == "835"]
    assert remits and all(balance_problems(f.content) == [] for f in remits)
    answers = [p for f in remits for p in claim_payments(f.content)]
    assert len(answers) > 200  # most are accepted at the front end
    some_paid = 0
    for answer in answers:
        first = primary[answer.patient_control_number]
        if answer.status == "4":
            continue
        assert answer.status == "2"
        for line, before in zip(answer.services, first.services, strict=True):
            left = sum((a.amount for a in before.adjustments if a.group == "PR"), ZERO)
            assert 0 <= line.paid <= left  # never more than what the primary left to the patient
            if any(a.group == "CO" and a.reason != "45" for a in line.adjustments):
                continue  # a line the secondary denied itself (its own denial roll)
            assert amounts_of(line, "OA", "23") == line.charge - left  # the primary's payment and write-offs
            rest = left - line.paid
            if secondary == "MCDST":  # payer of last resort: the rest is written off, never billed
                assert amounts_of(line, "CO", "45") == rest
                assert not any(a.group == "PR" for a in line.adjustments)
            else:
                assert sum((a.amount for a in line.adjustments if a.group == "PR"), ZERO) == rest
            some_paid += line.paid > 0
    assert some_paid > 0


def amounts_of(service: object, group: str, reason: str) -> Decimal:
    return sum(
        (a.amount for a in service.adjustments if (a.group, a.reason) == (group, reason)),  # type: ignore[attr-defined]
        ZERO,
    )


def test_a_secondary_whose_cob_amounts_do_not_balance_is_rejected_at_the_277ca() -> None:
    claims, primary = _primaries(80, "MCRPB")
    paid = [c for c in claims if c.claim_key in primary and primary[c.claim_key].paid > 0]
    sent = secondary_of(paid[0], primary[paid[0].claim_key], "SUMMT", date(2026, 3, 30))
    data = interchange([sent], 13)
    amount = primary[paid[0].claim_key].paid
    tampered = data.replace(f"AMT*D*{amount.normalize():f}".encode(), f"AMT*D*{amount + 1:f}".encode(), 1)
    assert tampered != data
    numbers = itertools.count(700)
    files = respond(tampered, usage_indicator="T", now=NOW, control_numbers=lambda: next(numbers))
    ca = next(f for f in files if f.kind == "277CA").content.decode()
    assert "STC*A7:672*" in ca  # other payer's payment information is out of balance
    assert not any(f.kind == "835" for f in files)
    untouched = respond(data, usage_indicator="T", now=NOW, control_numbers=lambda: next(numbers))
    assert "STC*A7:672*" not in next(f for f in untouched if f.kind == "277CA").content.decode()


def test_medicare_crosses_most_claims_over_to_the_supplemental_payer_and_fails_some() -> None:
    _, named = _primaries(700, "MCRPB", supplemental="SUMMT")
    _, unnamed = _primaries(200, "MCRPB")
    processed = [p for p in named.values() if p.status != "4"]
    crossed = [p for p in processed if p.status == "19"]
    failed = [p for p in processed if "MA19" in p.remarks]
    # documented shares: 80 % crossed over (CLP02 19, MA18, NM1*TT), 10 % failed (MA19); 4 sd over ~650 claims
    assert abs(len(crossed) / len(processed) - 0.80) < 0.065
    assert abs(len(failed) / len(processed) - 0.10) < 0.05
    for payment in crossed:
        assert "MA18" in payment.remarks
        assert [(n[0], n[3]) for n in payment.names if n[0] == "TT"] == [("TT", "SUMMT")]
    for payment in failed:
        assert payment.status == "1" and not [n for n in payment.names if n[0] == "TT"]
    assert not [p for p in unnamed.values() if p.status == "19" or {"MA18", "MA19"} & set(p.remarks)]
    assert re.fullmatch(r"SB\d{14}", crossed[0].payer_claim_number)


def test_an_inpatient_bill_gets_its_remarks_in_mia_and_revenue_code_lines_in_svc_nu() -> None:
    (claim,) = _population("commercial", 1, "I")
    inpatient = dataclasses.replace(
        claim,
        place_of_service="11",  # CLM05-1 of a 111 bill: hospital inpatient
        lines=(dataclasses.replace(claim.lines[0], qualifier="", procedure_code="", revenue_code="0120"),),
        total_charge=claim.lines[0].charge,
    )
    base = dataclasses.replace(context(inpatient, "commercial"), institutional=True)
    paid = adjudicate(inpatient, base, {}).remittance
    duplicate = adjudicate(inpatient, dataclasses.replace(base, duplicate=True), {}).remittance
    data = as_835([paid, duplicate])
    assert pyx12_errors(data) == []
    segments = split_segments(data)
    assert [s[1] for s in segments if s[0] == "SVC"] == ["NU:0120"]
    assert [s for s in segments if s[0] in ("MIA", "MOA")] == [["MIA", "0", "", "", "", "N111"]]
