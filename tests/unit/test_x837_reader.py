"""Reading 837P / 837I files back into claims."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from corpus import corpus_dir

from revcycle.x12.x837 import read_837


def _clm01_values(path: Path) -> list[str]:
    """CLM01 of every CLM segment, found with a plain regex (element separator '*', '~' or '|')."""
    text = (
        path.read_bytes().decode("utf-8-sig")
        if path.read_bytes()[1:2] != b"\x00"
        else path.read_bytes().decode("utf-16-le")
    )
    return [m.group(2) for m in re.finditer(r"(?<![A-Za-z0-9])CLM([*~|])(.*?)\1", text)]


def _files() -> list[Path]:
    root = corpus_dir()
    return sorted([*(root / "837p").iterdir(), *(root / "837i").iterdir()])


def test_claim_keys_equal_clm01_in_every_837() -> None:
    for path in _files():
        received = read_837(path)
        assert [c.claim_key for c in received.claims] == _clm01_values(path), path.name


def test_transaction_type_from_st03_and_gs08() -> None:
    root = corpus_dir()
    assert read_837(root / "837p/lfh__demo.837").transaction_type == "837P"
    assert read_837(root / "837i/lfh__institutional-claim.837i").transaction_type == "837I"
    # GS08 says 005010X222 but ST03 says 005010X223: the transaction set wins
    assert read_837(root / "837i/oopfactory__InstitutionalClaim5010.txt").transaction_type == "837I"


def test_institutional_two_claims_values() -> None:
    received = read_837(corpus_dir() / "837i/lfh__two-claims-single-provider.837i")
    first, second = received.claims
    # CLM*756048Q*89.95***13:A:1 ; HI*BK:3669 ; HI*BF:4019*BF:79431 ; SV2*0305*HC:85025*13.39*UN*1.00
    assert (first.claim_key, first.total_charge, first.place_of_service, first.frequency_code) == (
        "756048Q",
        Decimal("89.95"),
        "13",
        "1",
    )
    assert first.diagnoses == ("3669", "4019", "79431")
    line = first.lines[0]
    assert (line.revenue_code, line.qualifier, line.procedure_code, line.charge, line.units) == (
        "0305",
        "HC",
        "85025",
        Decimal("13.39"),
        Decimal("1.00"),
    )
    # NM1*85*2*JONES HOSPITAL*****XX*1234567890 ; REF*EI*123456789 ; NM1*PR*2*TRICARE*****PI*99999
    assert (first.billing_npi, first.billing_name, first.billing_tax_id) == (
        "1234567890",
        "JONES HOSPITAL",
        "123456789",
    )
    assert (first.payer_id, first.payer_name) == ("99999", "TRICARE")
    # the second claim belongs to another subscriber: NM1*IL*1*SMITH*JOE****MI*123405074
    assert (second.claim_key, second.member_id, second.subscriber_last_name) == (
        "756049Q",
        "123405074",
        "SMITH",
    )
    assert (second.patient_last_name, second.patient_first_name) == ("SMITH", "JOE")
    assert received.transaction_control_numbers == [first.transaction_control_number]


def test_professional_claim_with_dependent_patient() -> None:
    received = read_837(corpus_dir() / "837p/badx12__X222-commercial-health-insurance.edi")
    [claim] = received.claims
    # NM1*IL*1*SMITH*JANE****MI*JS00111223333 ; 2000C NM1*QC*1*SMITH*TED ; CLM*26463774*100***11:B:1
    assert (claim.subscriber_first_name, claim.member_id) == ("JANE", "JS00111223333")
    assert (claim.patient_last_name, claim.patient_first_name) == ("SMITH", "TED")
    assert (claim.place_of_service, claim.frequency_code, claim.total_charge) == ("11", "1", Decimal("100"))
    assert claim.diagnoses == ("0340", "V7389")
    # four SV1 lines, the last SV1*HC:86663*10*UN*1***2 with DTP*472*D8*20061010
    assert [ln.procedure_code for ln in claim.lines] == ["99213", "87070", "99214", "86663"]
    assert claim.lines[3].charge == Decimal("10") and claim.lines[3].service_date == date(2006, 10, 10)
    assert received.usage_indicator in ("T", "P")


def test_modifiers_and_envelope() -> None:
    received = read_837(corpus_dir() / "837p/badx12__X222-ambulance.edi")
    [claim] = received.claims
    assert claim.lines[0].modifiers == ("RH",)  # SV1*HC:A0427:RH
    assert received.version == "005010X222A1"


def test_truncated_and_garbage_input_do_not_raise() -> None:
    received = read_837(corpus_dir() / "837p/staedi__837-header-ref-only.edi")
    assert received.claims == []
    received = read_837(b"\x00\x01garbage")
    assert received.claims == [] and received.problems


def test_an_lx01_that_is_not_a_plain_number_numbers_the_line_by_position() -> None:
    """LX01 is N0 1/6. A superscript digit (a digit to ``str.isdigit`` but not to ``int``) or an LX01 of 5000
    digits once crashed the reader (found by the fuzz harness); the line is numbered by its position instead."""
    base = (
        "ISA*00*          *00*          *ZZ*SUB            *ZZ*RCV            *240501*0800*^*00501*000000001*0*T*:~"
        "GS*HC*SUB*RCV*20240501*0800*1*X*005010X222A1~ST*837*0001*005010X222A1~"
        "CLM*KEY1*50***11:B:1~LX*{lx}~SV1*HC:99213*30*UN*1***1~LX*2~SV1*HC:93000*20*UN*1***1~"
        "SE*8*0001~GE*1*1~IEA*1*000000001~"
    )
    for lx01 in ("\u00b2", "1" * 5000, "1234567"):
        received = read_837(base.format(lx=lx01).encode("utf-8"))
        [claim] = received.claims
        # the second line keeps its LX01 of 2; the odd first one is numbered 1, its position
        assert [line.line_number for line in claim.lines] == [1, 2], lx01[:10]
