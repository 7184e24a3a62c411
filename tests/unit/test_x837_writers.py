"""837P depth and the 837I writer: pyx12 on 2,000 varied claims each, COB from an 835, NDC, quarantine."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from pyx12_check import pyx12_errors, split_segments
from x12_claims import SUBMITTER, envelope, varied_claims

from revcycle.domain import Address, ClaimType
from revcycle.x12.cob import Coverage, secondary_claim
from revcycle.x12.write835 import Adjustment, Remittance, RemittanceClaim, ServicePayment, write_835
from revcycle.x12.write837 import split_quarantined
from revcycle.x12.write837i import VERSION_837I, facility_code, write_837i
from revcycle.x12.write837p import VERSION_837P, write_837p
from revcycle.x12.writer import Delimiters, Envelope
from revcycle.x12.x835 import read_835
from revcycle.x12.x837 import read_837


def _find(segs: list[list[str]], seg_id: str, first: str | None = None) -> list[list[str]]:
    return [s for s in segs if s[0] == seg_id and (first is None or (len(s) > 1 and s[1] == first))]


def _variety(claims: list) -> dict[str, int]:  # type: ignore[type-arg]
    return {
        "dependents": sum(not c.patient_is_subscriber for c in claims),
        "secondaries": sum(bool(c.other_payers) for c in claims),
        "corrections": sum(c.original_claim_number is not None and c.frequency_code == "7" for c in claims),
        "voids": sum(c.frequency_code == "8" for c in claims),
        "ndc_lines": sum(1 for c in claims for ln in c.lines if ln.ndc),
        "four_modifiers": sum(1 for c in claims for ln in c.lines if len(ln.modifiers) == 4),
        "twelve_diagnoses": sum(len(c.diagnoses) == 12 for c in claims),
    }


@pytest.mark.parametrize(
    ("claim_type", "writer", "version"),
    [(ClaimType.PROFESSIONAL, write_837p, VERSION_837P), (ClaimType.INSTITUTIONAL, write_837i, VERSION_837I)],
)
def test_2000_varied_claims_pass_pyx12(claim_type: ClaimType, writer, version: str) -> None:  # type: ignore[no-untyped-def]
    claims = varied_claims(2000, seed=11, claim_type=claim_type)
    variety = _variety(claims)
    assert all(count >= 20 for count in variety.values()), variety
    data = writer(claims, envelope(version), SUBMITTER, "PAYER", max_claims_per_transaction=700)
    assert pyx12_errors(data) == []
    segs = split_segments(data)
    assert len(_find(segs, "ST")) == 3  # 2,000 claims at 700 per transaction set
    assert len(_find(segs, "CLM")) == 2000
    assert len(_find(segs, "SVD")) == sum(len(o.lines) for c in claims for o in c.other_payers)
    assert len(_find(segs, "LIN")) == variety["ndc_lines"]
    received = read_837(data)
    assert received.problems == []
    assert sorted(c.claim_key for c in received.claims) == sorted(c.claim_key for c in claims)


def _one(claim_type: ClaimType, **changes: object):  # type: ignore[no-untyped-def]
    return replace(varied_claims(1, seed=3, claim_type=claim_type)[0], **changes)


def test_facility_code_from_type_of_bill() -> None:
    assert facility_code("131") == ("13", "A", "1")
    assert facility_code("0117") == ("11", "A", "7")
    with pytest.raises(ValueError):
        facility_code("13")


def test_837i_claim_segments() -> None:
    claim = _one(
        ClaimType.INSTITUTIONAL,
        type_of_bill="137",
        original_claim_number="PAYER123",
        statement_from=date(2024, 3, 1),
        statement_to=date(2024, 3, 3),
        admission_date=date(2024, 3, 1),
        admission_type="2",
        admission_source="1",
        patient_status="01",
    )
    segs = split_segments(write_837i([claim], envelope(VERSION_837I), SUBMITTER, "PAYER"))
    clm = _find(segs, "CLM")[0]
    assert clm[5] == "13:A:7" and clm[7:10] == ["A", "Y", "Y"]
    assert _find(segs, "DTP", "434")[0][2:] == ["RD8", "20240301-20240303"]
    assert _find(segs, "DTP", "435")[0][2:] == ["D8", "20240301"]
    assert _find(segs, "CL1")[0][1:] == ["2", "1", "01"]
    assert _find(segs, "REF", "F8")[0][2] == "PAYER123"
    his = _find(segs, "HI")
    assert his[0][1:] == [f"ABK:{claim.diagnoses[0]}"]
    assert [h for s in his[1:] for h in s[1:]] == [f"ABF:{d}" for d in claim.diagnoses[1:]]
    assert _find(segs, "NM1", "71")[0][3] == "Wells"
    sv2 = _find(segs, "SV2")
    assert [s[1] for s in sv2] == [ln.revenue_code for ln in claim.lines]
    assert [Decimal(s[3]) for s in sv2] == [ln.charge for ln in claim.lines]
    assert all(s[4] == "UN" for s in sv2)


def test_837i_replacement_sent_by_the_rules_keeps_the_bill_type_and_says_7() -> None:
    # The rules send a replacement by setting the frequency code (revcycle.resend); the exported bill type
    # stays 131. CLM05 = facility 13, qualifier A, frequency 7, and REF*F8 carries the payer's claim number.
    claim = _one(
        ClaimType.INSTITUTIONAL,
        type_of_bill="131",
        frequency_code="7",
        original_claim_number="PAYER77",
        admission_date=None,
        admission_type=None,
        admission_source=None,
    )
    data = write_837i([claim], envelope(VERSION_837I), SUBMITTER, "PAYER")
    segs = split_segments(data)
    assert _find(segs, "CLM")[0][5] == "13:A:7"
    assert _find(segs, "REF", "F8")[0][2] == "PAYER77"
    assert pyx12_errors(data) == []
    # the same claim as an original: the bill's own third digit, no REF*F8
    original = split_segments(
        write_837i([replace(claim, frequency_code="1")], envelope(VERSION_837I), SUBMITTER, "PAYER")
    )
    assert _find(original, "CLM")[0][5] == "13:A:1" and _find(original, "REF", "F8") == []


def test_837i_inpatient_bill_without_admission_date_is_refused() -> None:
    claim = _one(ClaimType.INSTITUTIONAL, type_of_bill="111", admission_date=None)
    with pytest.raises(ValueError, match="admission date"):
        write_837i([claim], envelope(VERSION_837I), SUBMITTER, "PAYER")


def test_837p_four_modifiers_ndc_pay_to_and_facility() -> None:
    base = _one(ClaimType.PROFESSIONAL)
    line = replace(
        base.lines[0],
        procedure_code="J1885",
        modifiers=("25", "59", "RT", "76"),
        ndc="00409-1234-01",
        ndc_quantity=None,
    )
    claim = replace(
        base,
        lines=(line,),
        pay_to_address=Address("PO Box 7", "Chicago", "IL", "606010007"),
        service_facility=replace(base.billing_provider, last_or_org_name="Surgery Center"),
    )
    data = write_837p([claim], envelope(VERSION_837P), SUBMITTER, "PAYER")
    assert pyx12_errors(data) == []
    segs = split_segments(data)
    assert _find(segs, "SV1")[0][1] == "HC:J1885:25:59:RT:76"
    assert _find(segs, "LIN")[0][1:] == ["", "N4", "00409123401"]
    assert _find(segs, "CTP")[0][4:] == [str(line.units), "UN"]
    assert _find(segs, "NM1", "87")[0][:3] == ["NM1", "87", "2"]
    assert _find(segs, "NM1", "77")[0][3] == "Surgery Center"
    read = read_837(data).claims[0]
    assert read.lines[0].modifiers == ("25", "59", "RT", "76")


def test_secondary_claim_from_the_primary_835() -> None:
    primary_claim = _one(ClaimType.PROFESSIONAL, other_payers=(), payer_responsibility="P")
    lines = primary_claim.lines
    services = tuple(
        ServicePayment(
            ln.procedure_code,
            ln.charge,
            ln.charge - Decimal("10.00") - Decimal("5"),
            ln.units,
            ln.service_date,
            ln.modifiers,
            (Adjustment("CO", "45", Decimal("10.00")), Adjustment("PR", "2", Decimal("5"))),
        )
        for ln in lines
    )
    paid = sum((s.paid for s in services), Decimal(0))
    remit = Remittance(
        payer_name="PRIMARY",
        payer_tax_id="987654321",
        payer_address=Address("1 Way", "Chicago", "IL", "606010001"),
        payer_contact_phone="8005551212",
        payee_name="CLINIC",
        payee_npi="1234567893",
        payee_tax_id="123456789",
        trace_number="EFT1",
        payment_date=date(2024, 5, 2),
        production_date=date(2024, 5, 1),
        claims=(
            RemittanceClaim(
                primary_claim.claim_key,
                "1",
                primary_claim.total_charge,
                paid,
                Decimal(5) * len(lines),
                "CI",
                "PAYERCLM1",
                "DOE",
                "JANE",
                "W1",
                services=services,
            ),
        ),
    )
    env = Envelope("PAYER", "CLINIC", 5, 5, "T", datetime(2024, 5, 1, 8, 0), "HP", "005010X221A1")
    payment = read_835(write_835([remit], env)).remittances[0].claims[0]
    coverage = Coverage("SEC01", "Second Payer", "CI", "M777", primary_claim.subscriber, primary_claim.relationship)
    secondary = secondary_claim(primary_claim, payment, coverage, date(2024, 5, 2))
    assert secondary.payer_id == "SEC01" and secondary.payer_responsibility == "S"
    data = write_837p([secondary], envelope(VERSION_837P), SUBMITTER, "SECOND PAYER")
    assert pyx12_errors(data) == []
    segs = split_segments(data)
    assert _find(segs, "SBR")[0][1] == "S"
    assert _find(segs, "SBR")[1][1] == "P"  # 2320: the primary
    assert Decimal(_find(segs, "AMT", "D")[0][2]) == paid
    svds = _find(segs, "SVD")
    assert [Decimal(s[2]) for s in svds] == [s.paid for s in services]
    assert all(s[1] == primary_claim.payer_id for s in svds)
    assert len(_find(segs, "DTP", "573")) == len(lines)
    assert _find(segs, "NM1", "PR")[-1][9] == primary_claim.payer_id
    with pytest.raises(ValueError):
        secondary_claim(replace(primary_claim, claim_key="OTHER"), payment, coverage)


def test_corrections_and_voids_carry_ref_f8() -> None:
    claims = [
        _one(ClaimType.PROFESSIONAL, claim_key="K7", frequency_code="7", original_claim_number="P7"),
        _one(ClaimType.PROFESSIONAL, claim_key="K8", frequency_code="8", original_claim_number="P8"),
    ]
    segs = split_segments(write_837p(claims, envelope(VERSION_837P), SUBMITTER, "PAYER"))
    assert [c[5].split(":")[2] for c in _find(segs, "CLM")] == ["7", "8"]
    assert [r[2] for r in _find(segs, "REF", "F8")] == ["P7", "P8"]


def test_hl_numbering_and_parents_follow_the_data() -> None:
    claims = varied_claims(60, seed=5)
    segs = split_segments(write_837p(claims, envelope(VERSION_837P), SUBMITTER, "PAYER"))
    hls = _find(segs, "HL")
    assert [int(h[1]) for h in hls] == list(range(1, len(hls) + 1))
    levels = {h[1]: h[3] for h in hls}
    for h in hls:
        if h[3] == "20":
            assert h[2] == ""
        else:
            assert levels[h[2]] == {"22": "20", "23": "22"}[h[3]]
    with pytest.raises(ValueError):
        write_837p(claims, envelope(VERSION_837P), SUBMITTER, "PAYER", max_claims_per_transaction=5001)


def test_identifiers_with_a_delimiter_are_quarantined_not_rewritten() -> None:
    good = _one(ClaimType.PROFESSIONAL, claim_key="GOOD1")
    bad_key = _one(ClaimType.PROFESSIONAL, claim_key="BAD*1")
    bad_member = _one(ClaimType.PROFESSIONAL, claim_key="BAD2", member_id="W12~34")
    accented_member = _one(ClaimType.PROFESSIONAL, claim_key="BAD3", member_id="WÉ1234")
    kept, held = split_quarantined([good, bad_key, bad_member, accented_member], Delimiters())
    assert kept == [good]
    assert [(h.claim_key, h.reasons) for h in held] == [
        ("BAD*1", ("claim key (CLM01) contains an X12 delimiter",)),
        ("BAD2", ("member id contains an X12 delimiter",)),
        ("BAD3", ("member id contains a non-ASCII or control character",)),
    ]
    assert "W12" not in " ".join(held[1].reasons)  # the reason names the field, never the value
    with pytest.raises(ValueError, match="quarantined"):
        write_837p([good, bad_member], envelope(VERSION_837P), SUBMITTER, "PAYER")
    # with other delimiters the same member id is fine
    assert split_quarantined([bad_member], Delimiters("|", "^", "!", "\n"))[1] == []


def test_free_text_is_cleaned_and_transliterated() -> None:
    claim = _one(ClaimType.PROFESSIONAL)
    claim = replace(
        claim,
        billing_provider=replace(claim.billing_provider, last_or_org_name="Clinique Émile*Zoë:LLC"),
        subscriber=replace(claim.subscriber, last_name="Núñez~Díaz"),
        relationship="18",
        patient=replace(claim.subscriber, last_name="Núñez~Díaz"),
    )
    data = write_837p([claim], envelope(VERSION_837P), SUBMITTER, "PAYER")
    assert pyx12_errors(data) == []
    segs = split_segments(data)
    assert _find(segs, "NM1", "85")[0][3] == "Clinique Emile Zoe LLC"
    assert _find(segs, "NM1", "IL")[0][3] == "Nunez Diaz"
