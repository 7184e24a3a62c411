"""835 parsing and the three balancing levels, against corpus files and hand-made remittances."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from corpus import corpus_dir

from revcycle.x12.x835 import Adjustment, read_835


def _corpus_835() -> list:  # type: ignore[type-arg]
    return sorted((corpus_dir() / "835").iterdir())


def _count_segments(raw: bytes, segment_id: str) -> int:
    """Occurrences of a segment id followed by an element separator, found by a plain regex."""
    text = raw.decode("utf-8-sig", errors="replace")
    return len(re.findall(rf"(?<![A-Za-z0-9]){segment_id}[*|]", text))


def test_claim_count_equals_clp_count_in_every_835() -> None:
    for path in _corpus_835():
        result = read_835(path)
        claims = sum(len(r.claims) for r in result.remittances)
        assert claims == _count_segments(path.read_bytes(), "CLP"), path.name
        assert claims > 0, path.name


def test_secondary_payments_values() -> None:
    result = read_835(corpus_dir() / "835/badx12__X221-secondary-payments.edi")
    [remit] = result.remittances
    # BPR*I*1222*C*CHK************20050412 ; TRN*1*0012524965*1559123456
    assert remit.payment.amount == Decimal("1222")
    assert remit.payment.method == "CHK"
    assert remit.payment.date == date(2005, 4, 12)
    assert remit.payment.trace_number == "0012524965"
    assert remit.payer.name == "YOUR TAX DOLLARS AT WORK"
    first, second = remit.claims
    # CLP*L0004828311*2*10323.64*912**12*05090256390*11*1 then CAS*OA*23*9411.64 (claim level, no SVC)
    assert (first.patient_control_number, first.status) == ("L0004828311", "2")
    assert (first.charge, first.paid) == (Decimal("10323.64"), Decimal("912"))
    assert first.adjustments == [Adjustment("OA", "23", Decimal("9411.64"))]
    assert first.services == []
    # second claim: SVC*HC:66543:26*585*280*220*1 with CAS*PR*1*150**2*70 and CAS*CO*42*85
    assert second.adjustments == []
    svc = second.services[1]
    assert (svc.qualifier, svc.code, svc.modifiers) == ("HC", "66543", ("26",))
    assert (svc.charge, svc.paid, svc.revenue_code, svc.units) == (
        Decimal("585"),
        Decimal("280"),
        "220",
        Decimal("1"),
    )
    assert svc.adjustments == [
        Adjustment("PR", "1", Decimal("150")),
        Adjustment("PR", "2", Decimal("70")),
        Adjustment("CO", "42", Decimal("85")),
    ]
    assert str(second.charge) == "751.50"  # written with two decimals, kept so
    assert remit.balance_problems == []


def test_multi_plb_has_every_provider_adjustment() -> None:
    result = read_835(corpus_dir() / "835/derived__multi_plb.edi")
    [remit] = result.remittances
    # PLB*6543210903*20021231*CV:CP*-1.27 and PLB*6543210903*20021231*L6*5.00
    got = [(p.reason, p.reference, p.amount, p.provider_id) for p in remit.provider_adjustments]
    assert got == [("CV", "CP", Decimal("-1.27"), "6543210903"), ("L6", "", Decimal("5.00"), "6543210903")]
    assert remit.provider_adjustments[0].fiscal_period_date == date(2002, 12, 31)
    # 138018.4 + 11980.33 - (-1.27) - 5.00 = 149995.00 = BPR02
    assert remit.payment.amount == Decimal("149995.00")
    assert remit.balance_problems == []


def test_plb_with_several_pairs_in_one_segment() -> None:
    result = read_835(corpus_dir() / "835/synthetic__x12sdk-2.2.0_835_seed7.x12")
    [remit] = result.remittances
    # PLB*1260181593*20251231*WO:PCN000001*73.16*WO:PCN000002*73.16
    assert [(p.reason, p.reference, p.amount) for p in remit.provider_adjustments] == [
        ("WO", "PCN000001", Decimal("73.16")),
        ("WO", "PCN000002", Decimal("73.16")),
    ]
    assert remit.balance_problems == []


def test_modifiers_other_component_separator_and_npi() -> None:
    [remit] = read_835(corpus_dir() / "835/keiron__emedny_sample.txt").remittances
    assert remit.payee.npi == "9999999995"  # N1*PE*...*XX*9999999995
    assert remit.claims[0].services[0].modifiers == ("RB",)  # SVC*HC:V2020:RB
    [remit] = read_835(corpus_dir() / "835/keiron__united_healthcare_legacy_sample.txt").remittances
    svc = remit.claims[0].services[0]  # ISA16 is '>': SVC*HC>B4152*156.42*88.92**234
    assert (svc.qualifier, svc.code, svc.units) == ("HC", "B4152", Decimal("234"))
    assert remit.payer_id == "87726"  # N1*PR*...*XV*87726


def test_reversals_keep_negative_amounts_and_report_truncated_claim() -> None:
    result = read_835(corpus_dir() / "835/oopfactory__835_Example1.txt")
    [remit] = result.remittances
    reversal = next(c for c in remit.claims if c.patient_control_number == "123456")
    assert (reversal.status, reversal.charge, reversal.paid) == ("22", Decimal("-42.58"), Decimal("-42.58"))
    # the last CLP*090909*22 has no amounts: a problem, not an exception
    assert any(p.code == "MISSING_ELEMENT" for p in result.problems)


def test_misplaced_component_separator_is_recovered_and_reported() -> None:
    result = read_835(corpus_dir() / "835/lfh__secondary-payment.835")
    svc = result.remittances[0].claims[1].services[0]  # SVC*HC>12345>26 while ISA16 is ':'
    assert (svc.qualifier, svc.code, svc.modifiers) == ("HC", "12345", ("26",))
    assert "COMPONENT_SEPARATOR_MISMATCH" in {p.code for p in result.problems}


_HEAD = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *240101*1200*^*00501*"
    "000000001*0*P*:~GS*HP*PAYER*PROVIDER*20240101*1200*1*X*005010X221A1~ST*835*0001~"
    "BPR*I*{total}*C*ACH*CCP*01*1*DA*1*1234567890**01*1*DA*1*20240105~TRN*1*TRACE1*1234567890~"
    "N1*PR*PAYER~N1*PE*CLINIC*XX*1234567893~LX*1~"
)


def _remit(total: str, body: str, plb: str = "") -> str:
    text = _HEAD.format(total=total) + body + plb
    count = text.count("~") - 2 + 1  # segments from ST to SE: all but ISA and GS, plus SE
    return text + f"SE*{count}*0001~GE*1*1~IEA*1*000000001~"


def _hand_made(total: str = "180.00", line_paid: str = "150", claim_cas: str = "") -> str:
    return _remit(
        total,
        f"CLP*K1*1*200*150**12*PCN1~{claim_cas}SVC*HC:99213*200*{line_paid}**1~CAS*CO*45*50~"
        "CLP*K2*1*100*40*60*12*PCN2~CAS*PR*1*60~",
        "PLB*1234567893*20241231*L6*10.00~",
    )


def test_balanced_hand_made_835_has_no_balance_problem() -> None:
    result = read_835(_hand_made())
    [remit] = result.remittances
    assert result.problems == []
    # line: 200 - 50 = 150; K1: 200 - 0 - 50 = 150; K2: 100 - 60 = 40; BPR02: 150 + 40 - 10 = 180
    assert remit.balance_problems == []
    assert [len(c.adjustments) for c in remit.claims] == [0, 1]  # K2's CAS is claim level
    assert remit.claims[1].patient_responsibility == Decimal("60")


def test_unbalanced_hand_made_835_reports_every_level() -> None:
    # line paid 155: 200 - 50 != 155; the claim (200 - 50 = 150 = CLP04) and the total still balance
    [remit] = read_835(_hand_made(line_paid="155")).remittances
    assert [(b.level, b.patient_control_number) for b in remit.balance_problems] == [("service", "K1")]
    # a claim-level CAS on top of the line CAS: 200 - 5 - 50 = 145 != 150; the line still balances
    [remit] = read_835(_hand_made(claim_cas="CAS*CO*45*5~")).remittances
    assert [(b.level, b.patient_control_number) for b in remit.balance_problems] == [("claim", "K1")]
    # BPR02 181 != 150 + 40 - 10
    [remit] = read_835(_hand_made(total="181.00")).remittances
    assert [(b.level, b.patient_control_number) for b in remit.balance_problems] == [("transaction", "")]
    # nothing is adjusted
    assert remit.payment.amount == Decimal("181.00")


def test_partial_lines_balance_on_reported_lines() -> None:
    # CLP03 300 but only a 200 line reported: the claim balances on the line's payment (150 = CLP04)
    text = _remit(
        "140.00",
        "CLP*K1*1*300*150**12*PCN1~SVC*HC:99213*200*150**1~CAS*CO*45*50~",
        "PLB*1234567893*20241231*L6*10.00~",
    )
    [remit] = read_835(text).remittances
    assert remit.balance_problems == []


@pytest.mark.parametrize("junk", ["CLP*K9~", "CAS*CO~", "SVC~", "PLB*1~", "BPR*I*abc~", "CLP*K1*1*x*y~"])
def test_odd_segments_never_raise(junk: str) -> None:
    result = read_835(_remit("0", junk))
    assert len(result.remittances) == 1
