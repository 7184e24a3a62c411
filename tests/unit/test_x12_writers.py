"""The X12 writers: values, envelopes, 837P, 999, TA1, 277CA and 835 pass pyx12 and say what they should."""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyx12_check import balance_problems, pyx12_errors, split_segments

from revcycle.domain import Address, Claim, ClaimLine, ClaimType, Person, Provider
from revcycle.x12.write277ca import ClaimAck, ClaimAcknowledgment, ClaimStatus, ProviderAck, write_277ca
from revcycle.x12.write835 import (
    Adjustment,
    ProviderAdjustment,
    Remittance,
    RemittanceClaim,
    ServicePayment,
    write_835,
)
from revcycle.x12.write837p import Submitter, write_837p
from revcycle.x12.write999 import (
    ElementError,
    GroupAck,
    InterchangeAck,
    SegmentError,
    TransactionAck,
    write_999,
    write_ta1,
)
from revcycle.x12.writer import Delimiters, Envelope, clean_value, format_amount

# Valid NPIs (Luhn over 80840 + 9 digits), checked by hand: 1234567893, 1497758544, 1245319599
BILLING = Provider(
    npi="1234567893",
    last_or_org_name="Riverside Clinic*LLC",
    tax_id="123456789",
    taxonomy_code="207Q00000X",
    address=Address("100 Main St", "Springfield", "IL", "627011234"),
)
RENDERING = Provider(npi="1497758544", last_or_org_name="Núñez", first_name="José", taxonomy_code="207Q00000X")
REFERRING = Provider(npi="1245319599", last_or_org_name="Smith", first_name="Anna")
HOME = Address("5 Oak Ave", "Springfield", "IL", "62702")
SUBSCRIBER = Person("Doe", "John", date(1980, 5, 1), "M", HOME)
CHILD = Person("Doe", "Emma", date(2015, 2, 3), "F", HOME)
DOS = date(2024, 3, 4)


def _line(
    n: int,
    code: str,
    amount: str,
    mods: tuple[str, ...] = (),
    ptr: tuple[int, ...] = (1,),
    day: date = DOS,
    service_date_end: date | None = None,
    place_of_service: str | None = None,
) -> ClaimLine:
    return ClaimLine(
        n, f"CH{n}", code, Decimal(amount), Decimal("1"), day, mods, ptr, service_date_end, place_of_service
    )


def _claim(key: str, **kw: object) -> Claim:
    args: dict[str, object] = dict(
        claim_key=key,
        claim_type=ClaimType.PROFESSIONAL,
        encounter_id="E" + key,
        payer_id="87726",
        payer_name="SUMMIT HEALTH",
        filing_indicator="CI",
        billing_provider=BILLING,
        subscriber=SUBSCRIBER,
        member_id="W123456789",
        relationship="18",
        patient=SUBSCRIBER,
        diagnoses=("J449", "I10"),
        lines=(_line(1, "99213", "125.00", ("25",), (1, 2)), _line(2, "93000", "40.50")),
    )
    args.update(kw)
    return Claim(**args)  # type: ignore[arg-type]


CLAIMS = [
    _claim("CLM0001", rendering_provider=RENDERING, referring_provider=REFERRING, prior_authorization="AUTH77"),
    _claim(
        "CLM0002",
        patient=CHILD,
        relationship="19",
        frequency_code="7",
        original_claim_number="PAYER998877",
        diagnoses=tuple(f"Z00{i:02d}" for i in range(12)),
        lines=(
            _line(
                1,
                "99392",
                "150",
                ("25", "59", "GT", "95"),
                (1, 2, 3, 12),
                day=date(2024, 3, 1),
                service_date_end=date(2024, 3, 2),
                place_of_service="02",
            ),
        ),
    ),
    _claim("CLM0003"),
]


def _envelope(gs01: str, version: str, icn: int = 42, usage: str = "T") -> Envelope:
    return Envelope(
        sender_id="SUBMIT01",
        receiver_id="CLEARHOUSE",
        interchange_control_number=icn,
        group_control_number=icn,
        usage_indicator=usage,
        created=datetime(2024, 3, 10, 14, 30),
        functional_id_code=gs01,
        version=version,
    )


ENV_837 = _envelope("HC", "005010X222A1")
SUBMITTER = Submitter("Riverside Billing", "SUBMIT01", "Jane Roe", phone="5555551234")


def _837(claims: list[Claim] = CLAIMS, **kw: int) -> bytes:
    return write_837p(claims, ENV_837, SUBMITTER, "SUMMIT CLEARINGHOUSE", **kw)


def _find(segs: list[list[str]], seg_id: str, first: str | None = None) -> list[list[str]]:
    return [s for s in segs if s[0] == seg_id and (first is None or s[1] == first)]


# -- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("É", "E"),
        ("Núñez José", "Nunez Jose"),
        ("Smith*Jones", "Smith Jones"),
        ("A~B:C^D", "A B C D"),
        ("O'Brien  *  ~ Jr", "O'Brien Jr"),
        ("  padded  ", "padded"),
        ("tab\there\r\n", "tabhere"),
        ("Straße", "Strae"),  # ß has no ASCII decomposition: dropped
        ("mixed Case", "mixed Case"),  # case is kept
        ("", ""),
    ],
)
def test_clean_value(raw: str, expected: str) -> None:
    assert clean_value(raw) == expected


def test_clean_value_uses_the_delimiters_in_force() -> None:
    bars = Delimiters(element="|", component=">", repetition="!", segment="~")
    assert clean_value("A*B|C>D", bars) == "A*B C D"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Smith Jones", "Smith Jones"),  # already clean: returned as it is
        ("99213", "99213"),
        ("Smith  Jones", "Smith Jones"),  # double space: collapsed (rule 5)
        (" Smith", "Smith"),  # leading space: stripped
        ("Smith ", "Smith"),  # trailing space: stripped
        ("A-B/C.D,E", "A-B/C.D,E"),  # extended punctuation that is no delimiter: kept
        ("Zoë", "Zoe"),  # one non-ASCII letter in an otherwise clean value
        ("A\tB", "AB"),  # a control character in an otherwise clean value: dropped
    ],
)
def test_clean_value_keeps_clean_values_and_rewrites_the_rest(raw: str, expected: str) -> None:
    assert clean_value(raw) == expected


def test_a_clean_value_under_other_delimiters_is_judged_by_those() -> None:
    bars = Delimiters(element="|", component=">", repetition="!", segment="~")
    # "*" and ":" are no delimiters here, so the value is clean as it is; "!" is one, so it becomes a space.
    assert clean_value("A*B:C", bars) == "A*B:C"
    assert clean_value("A!B", bars) == "A B"


@given(st.text(alphabet=st.characters(max_codepoint=0x17F), max_size=30))
def test_clean_value_follows_the_rule_character_by_character(raw: str) -> None:
    # The module docstring's rule, step by step, as the reference.
    delims = set("*:^~")
    allowed = set(string.ascii_letters + string.digits + " !\"&'()*+,-./:;?=%~@[]_{}\\|<>^`#$")
    kept = [
        " " if ch in delims else ch
        for ch in unicodedata.normalize("NFKD", raw)
        if not unicodedata.combining(ch) and ch.isascii() and (ch in delims or ch in allowed)
    ]
    assert clean_value(raw) == re.sub(" {2,}", " ", "".join(kept)).strip()


def test_delimiters_must_differ() -> None:
    with pytest.raises(ValueError):
        Delimiters(element="*", component="*")


def test_format_amount() -> None:
    assert format_amount(Decimal("100.00")) == "100"
    assert format_amount(Decimal("12.50")) == "12.5"
    assert format_amount(Decimal("-1.255")) == "-1.26"
    assert format_amount(Decimal("0")) == "0"


# -- envelope --------------------------------------------------------------------------------------


@pytest.mark.parametrize("usage", ["T", "P"])
def test_isa_is_fixed_width_and_takes_usage_from_the_caller(usage: str) -> None:
    data = write_837p(CLAIMS[:1], _envelope("HC", "005010X222A1", icn=7, usage=usage), SUBMITTER, "X")
    isa = data.split(b"\n", 1)[0]
    assert len(isa) == 106
    fields = isa[:-1].decode().split("*")
    assert fields[13] == "000000007"
    assert fields[15] == usage
    assert fields[16] == ":" and fields[11] == "^"
    assert data.rstrip().endswith(b"IEA*1*000000007~")


@pytest.mark.parametrize(
    "kw", [{"interchange_control_number": 0}, {"interchange_control_number": 10**9}, {"usage_indicator": "X"}]
)
def test_envelope_rejects_bad_values(kw: dict[str, object]) -> None:
    base: dict[str, object] = dict(
        sender_id="A",
        receiver_id="B",
        interchange_control_number=1,
        group_control_number=1,
        usage_indicator="T",
        created=datetime(2024, 1, 1),
        functional_id_code="HC",
        version="005010X222A1",
    )
    base.update(kw)
    with pytest.raises(ValueError):
        Envelope(**base)  # type: ignore[arg-type]


def test_newline_is_optional() -> None:
    with_nl = _837()
    without = write_837p(CLAIMS, ENV_837, SUBMITTER, "SUMMIT CLEARINGHOUSE", newline=False)
    assert b"\n" not in without
    assert with_nl.replace(b"\n", b"") == without
    assert pyx12_errors(without) == []


# -- 837P -------------------------------------------------------------------------------------------


def test_837p_passes_pyx12() -> None:
    assert pyx12_errors(_837()) == []


def test_pyx12_check_detects_a_broken_837() -> None:
    data = _837()
    broken_nm1 = data.replace(b"NM1*85*2*Riverside Clinic LLC*****XX*1234567893~", b"NM1*85*2~")
    assert broken_nm1 != data
    assert pyx12_errors(broken_nm1) != []
    wrong_count = data.replace(b"SE*", b"SE*9")
    assert pyx12_errors(wrong_count) != []
    bad_code = data.replace(b"CLM*CLM0003*165.5***11:B:1*Y*A*Y*Y~", b"CLM*CLM0003*165.5***11:B:1*Q*A*Y*Y~")
    assert bad_code != data
    assert pyx12_errors(bad_code) != []


def test_837p_structure() -> None:
    segs = split_segments(_837())
    st = next(i for i, s in enumerate(segs) if s[0] == "ST")
    se = next(i for i, s in enumerate(segs) if s[0] == "SE")
    assert int(segs[se][1]) == se - st + 1
    assert segs[st][1:] == ["837", "0001", "005010X222A1"]
    # HL tree: billing 20, self subscriber 22 (no child), dependent subscriber 22 with child 23
    hls = _find(segs, "HL")
    assert [h[3] for h in hls] == ["20", "22", "22", "23"]
    assert [h[4] for h in hls] == ["1", "0", "1", "0"]
    assert hls[3][2] == hls[2][1] and hls[1][2] == hls[0][1]
    sbr = _find(segs, "SBR")
    assert sbr[0][2] == "18" and sbr[1][2] == ""
    assert sbr[0][9] == "CI"
    assert _find(segs, "PAT") == [["PAT", "19"]]
    assert _find(segs, "NM1", "85")[0][3] == "Riverside Clinic LLC"  # '*' in the name became a space
    assert _find(segs, "NM1", "82")[0][3:5] == ["Nunez", "Jose"]
    assert _find(segs, "N4")[0][3] == "627011234"
    assert _find(segs, "REF", "EI") == [["REF", "EI", "123456789"]]
    assert _find(segs, "REF", "G1") == [["REF", "G1", "AUTH77"]]
    assert _find(segs, "REF", "F8") == [["REF", "F8", "PAYER998877"]]
    clm = {s[1]: s for s in _find(segs, "CLM")}
    assert clm["CLM0001"][2] == "165.5" and clm["CLM0001"][5] == "11:B:1"
    assert clm["CLM0002"][5] == "11:B:7"
    his = _find(segs, "HI")
    twelve = next(h for h in his if len(h) == 13)
    assert twelve[1] == "ABK:Z0000" and all(c.startswith("ABF:") for c in twelve[2:])
    sv1 = {s[1]: s for s in _find(segs, "SV1")}
    assert sv1["HC:99392:25:59:GT:95"][5] == "02"  # POS differs from the claim's 11
    assert sv1["HC:99392:25:59:GT:95"][7] == "1:2:3:12"
    assert len(sv1["HC:93000"]) == 8 and sv1["HC:93000"][5] == ""  # same POS as the claim: not repeated
    assert ["DTP", "472", "RD8", "20240301-20240302"] in segs


def test_837p_splits_transactions() -> None:
    data = _837(max_claims_per_transaction=1, transaction_control_start=5)
    segs = split_segments(data)
    assert [s[2] for s in _find(segs, "ST")] == ["0005", "0006", "0007"]
    assert _find(segs, "GE")[0][1] == "3"
    assert len(_find(segs, "CLM")) == 3
    assert pyx12_errors(data) == []


def test_837p_is_deterministic() -> None:
    assert _837() == _837()


def test_837p_refuses_a_billing_provider_without_zip4() -> None:
    provider = Provider(npi="1234567893", last_or_org_name="X", tax_id="1", address=HOME)
    with pytest.raises(ValueError, match="CLM9"):
        _837([_claim("CLM9", billing_provider=provider)])


def test_837p_refuses_a_replacement_without_the_payer_claim_number() -> None:
    with pytest.raises(ValueError, match="F8"):
        _837([_claim("CLM9", frequency_code="7")])


# -- 999 / TA1 -------------------------------------------------------------------------------------

ENV_999 = _envelope("FA", "005010X231A1", icn=7)


def test_999_accept() -> None:
    group = GroupAck("HC", 42, "005010X222A1", (TransactionAck("837", "0001", True, "005010X222A1"),))
    data = write_999(group, ENV_999)
    assert pyx12_errors(data) == []
    segs = split_segments(data)
    assert _find(segs, "IK5") == [["IK5", "A"]]
    assert _find(segs, "AK9") == [["AK9", "A", "1", "1", "1"]]
    assert _find(segs, "AK1") == [["AK1", "HC", "42", "005010X222A1"]]


def test_999_reject() -> None:
    error = SegmentError("NM1", 12, "8", "2010", (ElementError(9, "7", None, "67", "BAD"),))
    group = GroupAck(
        "HC",
        42,
        "005010X222A1",
        (
            TransactionAck("837", "0001", False, "005010X222A1", (error,)),
            TransactionAck("837", "0002", True, "005010X222A1"),
        ),
    )
    data = write_999(group, ENV_999)
    assert pyx12_errors(data) == []
    segs = split_segments(data)
    assert _find(segs, "IK5") == [["IK5", "R", "5"], ["IK5", "A"]]
    assert _find(segs, "IK3") == [["IK3", "NM1", "12", "2010", "8"]]
    assert _find(segs, "IK4") == [["IK4", "9", "67", "7", "BAD"]]
    assert _find(segs, "AK9") == [["AK9", "P", "2", "2", "1"]]
    all_rejected = write_999(GroupAck("HC", 42, "005010X222A1", group.transactions[:1]), ENV_999)
    assert _find(split_segments(all_rejected), "AK9") == [["AK9", "R", "1", "1", "0"]]


def test_ta1_duplicate_interchange() -> None:
    data = write_ta1(InterchangeAck(42, datetime(2024, 3, 10, 14, 30), "R", "025"), ENV_999)
    segs = split_segments(data)
    assert [s[0] for s in segs] == ["ISA", "TA1", "IEA"]
    assert segs[1] == ["TA1", "000000042", "240310", "1430", "R", "025"]
    assert segs[2] == ["IEA", "0", "000000007"]
    # pyx12 4.0.0's control map makes the GS loop mandatory, so an ISA/TA1/IEA interchange (legal X12)
    # always draws that one complaint; anything else would be a real error in the TA1
    errors = [e for e in pyx12_errors(data) if "(GS_LOOP) missing" not in e]
    assert errors == []
    bad = data.replace(b"*R*025~", b"*Z*025~")
    assert [e for e in pyx12_errors(bad) if "(GS_LOOP) missing" not in e] != []


# -- 277CA -----------------------------------------------------------------------------------------


def test_277ca_with_accepted_and_rejected_claims() -> None:
    ack = ClaimAcknowledgment(
        source_name="SANDBOX CLEARINGHOUSE",
        source_id="CLEARHOUSE",
        source_trace="000000042",
        receiver_name="Riverside Billing",
        receiver_id="SUBMIT01",
        batch_trace="000000042",
        received=date(2024, 3, 10),
        processed=date(2024, 3, 11),
        reference="R42",
        providers=(
            ProviderAck(
                "1234567893",
                "Riverside Clinic",
                (
                    ClaimAck(
                        "CLM0001",
                        Decimal("165.50"),
                        True,
                        ClaimStatus("A2", "20", "PR"),
                        "Doe",
                        "John",
                        "W123456789",
                        DOS,
                        None,
                        "PCN0001",
                    ),
                    ClaimAck(
                        "CLM0002",
                        Decimal("150"),
                        False,
                        ClaimStatus("A7", "562", "85"),
                        "Doe",
                        "Emma",
                        "W123456789",
                        date(2024, 3, 1),
                        date(2024, 3, 2),
                        "NOT-WRITTEN",
                    ),
                ),
            ),
            ProviderAck(
                "1497758544",
                "Nunez",
                (ClaimAck("CLM0003", Decimal("10"), False, ClaimStatus("A3", "21"), "Roe", "Ann", "M1", DOS),),
                first_name="Jose",
            ),
        ),
    )
    data = write_277ca(ack, _envelope("HN", "005010X214", icn=8))
    assert pyx12_errors(data) == []
    segs = split_segments(data)
    assert [h[3] for h in _find(segs, "HL")] == ["20", "21", "19", "PT", "PT", "19", "PT"]
    stc = _find(segs, "STC")
    assert stc[0][1:5] == ["A1:19:PR", "20240311", "WQ", "325.5"]
    # order: receiver, provider 1, its two claims, provider 2, its claim
    assert stc[1][1:5] == ["A1:20", "", "WQ", "315.5"]  # STC02 is not used at the provider level
    claim_stc = {s[1]: s for s in (stc[2], stc[3], stc[5])}
    assert claim_stc["A2:20:PR"][3] == "WQ"
    assert claim_stc["A7:562:85"][3] == "U" and claim_stc["A7:562:85"][4] == "150"
    assert claim_stc["A3:21"][3] == "U"
    assert _find(segs, "REF", "1K") == [["REF", "1K", "PCN0001"]]  # rejected claims get no payer number
    assert ["QTY", "90", "1"] in segs and ["QTY", "AA", "2"] in segs
    assert ["AMT", "YU", "165.5"] in segs and ["AMT", "YY", "160"] in segs
    assert [["TRN", "2", k] for k in ("CLM0001", "CLM0002", "CLM0003")] == [
        s for s in _find(segs, "TRN", "2") if s[2].startswith("CLM")
    ]


# -- 835 -------------------------------------------------------------------------------------------

PAYER_ADDRESS = Address("1 Payer Way", "Hartford", "CT", "061011234")


def _remittance(claims: tuple[RemittanceClaim, ...], **kw: object) -> Remittance:
    args: dict[str, object] = dict(
        payer_name="SUMMIT HEALTH",
        payer_tax_id="987654321",
        payer_address=PAYER_ADDRESS,
        payer_contact_phone="8005551212",
        payee_name="Riverside Clinic",
        payee_npi="1234567893",
        payee_tax_id="123456789",
        trace_number="EFT0001",
        payment_date=date(2024, 3, 21),
        production_date=date(2024, 3, 20),
        claims=claims,
        receiver_id="SUBMIT01",
    )
    args.update(kw)
    return Remittance(**args)  # type: ignore[arg-type]


PAID = RemittanceClaim(
    "CLM0001",
    "1",
    Decimal("165.50"),
    Decimal("100.00"),
    Decimal("20.00"),
    "12",
    "PCN1",
    "Doe",
    "John",
    "W123456789",
    services=(
        ServicePayment(
            "99213",
            Decimal("125"),
            Decimal("70"),
            Decimal("1"),
            DOS,
            ("25",),
            (Adjustment("CO", "45", Decimal("35")), Adjustment("PR", "3", Decimal("20"))),
            Decimal("90"),
        ),
        ServicePayment(
            "93000",
            Decimal("40.50"),
            Decimal("30"),
            Decimal("1"),
            DOS,
            (),
            (Adjustment("CO", "45", Decimal("10.50")),),
            Decimal("30"),
        ),
    ),
    statement_from=DOS,
    statement_to=DOS,
)
PARTIAL = RemittanceClaim(
    "CLM0003",
    "1",
    Decimal("165.50"),
    Decimal("80"),
    Decimal("0"),
    "12",
    "PCN3",
    "Doe",
    "John",
    "W123456789",
    services=(
        ServicePayment(
            "99213",
            Decimal("125"),
            Decimal("80"),
            Decimal("1"),
            DOS,
            ("25",),
            (Adjustment("CO", "45", Decimal("45")),),
            Decimal("80"),
        ),
        ServicePayment(
            "93000",
            Decimal("40.50"),
            Decimal("0"),
            Decimal("1"),
            DOS,
            (),
            (Adjustment("CO", "97", Decimal("40.50")),),
            remark_codes=("M80",),
        ),
    ),
)
DENIED = RemittanceClaim(
    "CLM0002",
    "4",
    Decimal("150"),
    Decimal("0"),
    Decimal("0"),
    "12",
    "PCN2",
    "Doe",
    "Emma",
    "W123456789",
    adjustments=(Adjustment("CO", "50", Decimal("150")),),
    subscriber_last_name="Doe",
    subscriber_first_name="John",
)


def test_835_paid_partial_denied_with_plb() -> None:
    rem = _remittance(
        (PAID, PARTIAL, DENIED),
        provider_adjustments=(
            ProviderAdjustment("WO", Decimal("5"), "PCN0"),
            ProviderAdjustment("L6", Decimal("-1.25")),
        ),
    )
    data = write_835([rem], _envelope("HP", "005010X221A1", icn=9))
    assert pyx12_errors(data) == []
    assert balance_problems(data) == []
    segs = split_segments(data)
    # 100 + 80 + 0 paid, minus a 5.00 withholding, plus 1.25 interest
    assert _find(segs, "BPR")[0][1:5] == ["C", "176.25", "C", "ACH"]
    assert _find(segs, "PLB") == [["PLB", "1234567893", "20241231", "WO:PCN0", "5", "L6", "-1.25"]]
    assert ["CAS", "CO", "50", "150"] in segs  # claim-level
    assert ["CAS", "PR", "3", "20"] in segs  # line-level patient responsibility
    assert ["LQ", "HE", "M80"] in segs
    assert ["AMT", "B6", "90"] in segs
    assert _find(segs, "NM1", "IL") == [["NM1", "IL", "1", "Doe", "John", "", "", "", "MI", "W123456789"]]
    assert [s[1:3] for s in _find(segs, "CLP")] == [["CLM0001", "1"], ["CLM0003", "1"], ["CLM0002", "4"]]
    assert _find(segs, "ST")[0] == ["ST", "835", "0001"]  # ST03 is not used in the 835


def test_835_without_payment_and_by_check() -> None:
    none_paid = write_835([_remittance((DENIED,))], _envelope("HP", "005010X221A1", icn=10))
    assert pyx12_errors(none_paid) == []
    assert _find(split_segments(none_paid), "BPR")[0][1:5] == ["H", "0", "C", "NON"]
    by_check = write_835([_remittance((PAID,), payment_method="CHK")], _envelope("HP", "005010X221A1", icn=11))
    assert pyx12_errors(by_check) == []
    assert _find(split_segments(by_check), "BPR")[0][1:5] == ["C", "100", "C", "CHK"]


def test_balance_check_catches_an_unbalanced_835() -> None:
    wrong_total = write_835([_remittance((PAID,), payment_amount=Decimal("99"))], _envelope("HP", "005010X221A1"))
    assert balance_problems(wrong_total) == ["transaction unbalanced: BPR02 99 != 100 - 0"]
    short_line = RemittanceClaim(
        "CLM9",
        "1",
        Decimal("10"),
        Decimal("5"),
        Decimal("0"),
        "12",
        "P9",
        "Doe",
        "John",
        "W1",
        services=(ServicePayment("99213", Decimal("10"), Decimal("5"), Decimal("1"), DOS),),
    )
    data = write_835([_remittance((short_line,))], _envelope("HP", "005010X221A1"))
    assert balance_problems(data) == ["service HC:99213 of claim CLM9 unbalanced", "claim CLM9 unbalanced"]


def test_837p_starts_a_new_subscriber_loop_after_100_claims() -> None:
    # the 2300 loop repeats at most 100 times under one HL (TR3 / pyx12 map)
    claims = [_claim(f"BULK{i:04d}") for i in range(101)]
    data = _837(claims)
    segs = split_segments(data)
    assert [h[3] for h in _find(segs, "HL")] == ["20", "22", "22"]
    assert len(_find(segs, "CLM")) == 101
    assert pyx12_errors(data) == []
