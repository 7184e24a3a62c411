"""read_837 reads the coordination-of-benefits loops (2320, 2330B, 2430) back as they were written."""

from __future__ import annotations

from decimal import Decimal

from x12_claims import SUBMITTER, envelope, varied_claims

from revcycle.domain import Claim
from revcycle.x12.write837p import write_837p
from revcycle.x12.x837 import read_837


def _triples(items: object) -> list[tuple[str, str, Decimal]]:
    return [(a.group, a.reason, a.amount) for a in items]  # type: ignore[attr-defined]


def test_secondary_claims_come_back_with_their_other_payers() -> None:
    claims = varied_claims(60, 5)
    secondaries = [c for c in claims if c.other_payers]
    assert len(secondaries) >= 5, "the sample must hold secondary claims"
    received = read_837(write_837p(claims, envelope("005010X222A1"), SUBMITTER, "RECEIVER"))
    assert received.problems == []
    by_key = {c.claim_key: c for c in received.claims}
    for sent in claims:
        got = by_key[sent.claim_key]
        assert got.payer_responsibility == sent.payer_responsibility
        assert len(got.other_payers) == len(sent.other_payers)
        for mine, theirs in zip(got.other_payers, sent.other_payers, strict=True):
            assert (mine.responsibility, mine.filing_indicator, mine.payer_id) == (
                theirs.responsibility,
                theirs.filing_indicator,
                theirs.payer_id,
            )
            assert mine.paid == theirs.paid
            assert _triples(mine.adjustments) == _triples(theirs.adjustments)
            assert [(a.line_number, a.paid, a.procedure_code) for a in mine.lines] == [
                (a.line_number, a.paid, a.procedure_code) for a in theirs.lines
            ]
            for line_got, line_sent in zip(mine.lines, theirs.lines, strict=True):
                assert _triples(line_got.adjustments) == _triples(line_sent.adjustments)
                assert line_got.adjudication_date == (line_sent.adjudication_date or theirs.adjudication_date)


def test_primary_claims_have_no_other_payer_and_responsibility_p() -> None:
    claims: list[Claim] = [c for c in varied_claims(30, 9) if not c.other_payers]
    received = read_837(write_837p(claims, envelope("005010X222A1"), SUBMITTER, "RECEIVER"))
    assert {c.payer_responsibility for c in received.claims} == {"P"}
    assert all(c.other_payers == () for c in received.claims)


def test_a_line_adjudication_naming_no_other_payer_is_reported_not_raised() -> None:
    claims = [c for c in varied_claims(60, 5) if c.other_payers][:1]
    data = write_837p(claims, envelope("005010X222A1"), SUBMITTER, "RECEIVER")
    payer_id = claims[0].other_payers[0].payer_id
    tampered = data.replace(f"SVD*{payer_id}*".encode(), b"SVD*NOSUCHPAYER*", 1)
    assert tampered != data
    received = read_837(tampered)
    assert [p.code for p in received.problems] == ["UNKNOWN_OTHER_PAYER"]
    assert len(received.claims) == 1
