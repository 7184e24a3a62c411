"""835 parsing and the three balancing levels, against corpus files and hand-made remittances."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from corpus import corpus_dir

from revcycle.x12 import reader
from revcycle.x12.x835 import Adjustment, ClaimPayment, iter_835, read_835


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


def _one_claim(claim_body: str) -> tuple:  # type: ignore[type-arg]
    """Read a remittance whose only claim is ``CLP*K1*1*100*80**12*PCN1~`` followed by ``claim_body``."""
    result = read_835(_remit("80", "CLP*K1*1*100*80**12*PCN1~" + claim_body))
    [remit] = result.remittances
    [claim] = remit.claims
    return claim, result.problems


def test_cas_with_quantities_and_several_triples() -> None:
    # CAS01 group, then reason/amount/quantity triples (TR3 2100/2110 CAS): PR-1 15 (quantity 1), PR-2 5
    claim, problems = _one_claim("SVC*HC:99213*100*80**1~CAS*PR*1*15*1*2*5~")
    assert claim.services[0].adjustments == [
        Adjustment("PR", "1", Decimal("15"), Decimal("1")),
        Adjustment("PR", "2", Decimal("5")),
    ]
    assert problems == [] and claim.balance_problems == []


def test_cas_with_padded_codes_and_trailing_empty_quantity() -> None:
    claim, problems = _one_claim("SVC*HC:99213*100*80**1~CAS* CO * 45 *20*~")
    assert claim.services[0].adjustments == [Adjustment("CO", "45", Decimal("20"))]
    assert problems == []


def test_cas_with_a_bad_amount_is_a_problem_not_an_adjustment() -> None:
    claim, problems = _one_claim("SVC*HC:99213*100*80**1~CAS*CO*45*2O~")  # letter O, not zero
    assert claim.services[0].adjustments == []
    assert {p.code for p in problems} == {"BAD_NUMBER", "CAS_INCOMPLETE"}
    assert [b.level for b in claim.balance_problems] == ["service", "claim"]  # 100 - 0 != 80, twice


def test_cas_outside_a_claim_is_reported() -> None:
    result = read_835(_remit("0", "CAS*CO*45*5~"))
    assert "UNEXPECTED_SEGMENT" in {p.code for p in result.problems}


def test_service_line_elements() -> None:
    # SVC01 composite with four modifiers, SVC04 revenue code, SVC05 units, SVC06 the submitted procedure;
    # DTM 150/151 service period, AMT B6 allowed, QTY, REF, LQ remark at line level (loop 2110)
    claim, problems = _one_claim(
        "SVC*HC:99214:25:59:GT:XU*100*80*0450*1.5*HC:99215~DTM*150*20240102~DTM*151*20240103~"
        "CAS*CO*45*20~AMT*B6*80~QTY*ZK*2~REF*6R*LINE1~LQ*HE*N130~"
    )
    [svc] = claim.services
    assert (svc.qualifier, svc.code, svc.modifiers) == ("HC", "99214", ("25", "59", "GT", "XU"))
    assert (svc.charge, svc.paid, svc.revenue_code, svc.units) == (
        Decimal("100"),
        Decimal("80"),
        "0450",
        Decimal("1.5"),
    )
    assert (svc.original_qualifier, svc.original_code, svc.original_modifiers) == ("HC", "99215", ())
    assert (svc.service_date, svc.service_date_end) == (date(2024, 1, 2), date(2024, 1, 3))
    assert svc.amounts == {"B6": Decimal("80")} and svc.quantities == {"ZK": Decimal("2")}
    assert svc.references == [("6R", "LINE1")] and svc.remarks == ["N130"]
    assert problems == [] and claim.balance_problems == []


def test_service_line_without_modifiers_or_units() -> None:
    claim, problems = _one_claim("SVC*HC:99213*100*80~CAS*CO*45*20~")
    [svc] = claim.services
    assert (svc.code, svc.modifiers, svc.units, svc.revenue_code) == ("99213", (), None, None)
    assert problems == []


def test_service_line_with_a_bad_charge_leaves_the_claim_unbalanced() -> None:
    claim, problems = _one_claim("SVC*HC:99213*1OO*80**1~")  # letter O twice
    assert claim.incomplete
    assert {p.code for p in problems} == {"BAD_NUMBER", "MISSING_ELEMENT"}
    assert [b.level for b in claim.balance_problems] == ["service", "claim"]
    assert "missing or invalid" in claim.balance_problems[1].message


def test_bad_amt_and_units_are_problems() -> None:
    claim, problems = _one_claim("SVC*HC:99213*100*80**x~CAS*CO*45*20~AMT*B6*abc~")
    [svc] = claim.services
    assert svc.units is None and svc.amounts == {}
    assert [p.code for p in problems] == ["BAD_NUMBER", "BAD_NUMBER"]
    assert claim.balance_problems == []  # units and AMT are not part of balancing


def test_claim_level_amounts_dates_names_and_remarks() -> None:
    claim, problems = _one_claim(
        "NM1*QC*1*DOE*JANE****MI*W1~NM1*82*1*SMITH*ANN****XX*1234567893~MOA***MA01*MA02~"
        "DTM*232*20240101~REF*EA*MR1~AMT*AU*80~CAS*CO*45*20~"
    )
    assert [(n[0], n[3]) for n in claim.names] == [("QC", "W1"), ("82", "1234567893")]
    assert claim.outpatient_remarks == ["MA01", "MA02"]
    assert claim.dates == {"232": date(2024, 1, 1)}
    assert claim.references == [("EA", "MR1")]
    assert claim.amounts == {"AU": Decimal("80")}
    assert claim.adjustments == [Adjustment("CO", "45", Decimal("20"))]
    assert problems == [] and claim.balance_problems == []


def _events(source: bytes, monkeypatch: pytest.MonkeyPatch, block: int, chunk: int) -> tuple:  # type: ignore[type-arg]
    monkeypatch.setattr(reader, "BLOCK_SIZE", block)
    monkeypatch.setattr(reader, "CHUNK_SIZE", chunk)
    found: list[reader.Problem] = []
    events = list(iter_835(source, found))
    return events, sorted(found, key=lambda p: (-1 if p.segment is None else p.segment, p.code))


@pytest.mark.parametrize("name", ["oopfactory__835_WithMultipleInterchanges.txt", "lfh__medicare-part-a.835"])
def test_results_do_not_depend_on_where_batches_end(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (corpus_dir() / "835" / name).read_bytes()
    # with the terminator doubled after IEA, a batch may end between the two: a blank segment, nothing more
    data = data.rstrip().replace(b"IEA*", b"\n IEA*") + b"~ \n"
    expected = _events(data, monkeypatch, reader.BLOCK_SIZE, reader.CHUNK_SIZE)
    assert sum(isinstance(e, ClaimPayment) for e in expected[0]) == _count_segments(data, "CLP")
    assert "TEXT_OUTSIDE_INTERCHANGE" not in {p.code for p in expected[1]}
    for block, chunk in ((1, 7), (13, 64), (97, 50), (400, 1000)):
        assert _events(data, monkeypatch, block, chunk) == expected, (block, chunk)


@pytest.mark.parametrize("huge", ["9E+999999", "1E+18", "-1000000000000000000", "1" * 19])
def test_an_amount_beyond_18_digits_is_a_problem_not_a_crash(huge: str) -> None:
    """X12 amounts are R 1/18. Two CLP04 of 9E+999999 once overflowed the balancing sum (decimal.Overflow,
    found by the fuzz harness): now each is a BAD_NUMBER and its claim is left unbalanced."""
    text = _remit("0", f"CLP*K1*1*100*{huge}**12*PCN1~CLP*K2*1*100*{huge}**12*PCN2~SVC*HC:99213*100*{huge}**1~")
    result = read_835(text)
    [remit] = result.remittances
    assert [c.paid for c in remit.claims] == [Decimal(0), Decimal(0)]
    assert [c.incomplete for c in remit.claims] == [True, True]
    assert [p.code for p in result.problems].count("BAD_NUMBER") == 3  # two CLP04 and one SVC03
    streamed = [e for e in iter_835(text.encode()) if isinstance(e, ClaimPayment)]
    assert [c.incomplete for c in streamed] == [True, True]


def test_the_largest_18_digit_amount_is_still_read() -> None:
    claim, problems = _one_claim("AMT*AU*999999999999999999~")
    assert claim.amounts == {"AU": Decimal("999999999999999999")}
    assert problems == []
