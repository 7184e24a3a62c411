"""Property tests: what the writers write, the readers read back, whatever the claims and the delimiters."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from x12_claims import SUBMITTER, envelope, varied_claims

from revcycle.domain import Address, Claim, ClaimType
from revcycle.x12.write835 import (
    Adjustment,
    ProviderAdjustment,
    Remittance,
    RemittanceClaim,
    ServicePayment,
    write_835,
)
from revcycle.x12.write837i import write_837i
from revcycle.x12.write837p import VERSION_837P, write_837p
from revcycle.x12.writer import Delimiters, Envelope
from revcycle.x12.x835 import ClaimPayment, iter_835, read_835
from revcycle.x12.x837 import read_837

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

codes = st.sampled_from(("99213", "99214", "93000", "80053", "J1885", "97110", "G0008", "A0425"))
modifiers = st.lists(st.sampled_from(("25", "59", "GT", "RT", "LT", "76", "91", "TC")), max_size=4, unique=True)
money = st.integers(min_value=1, max_value=999_999).map(lambda cents: Decimal(cents) / 100)
units = st.integers(min_value=1, max_value=99).map(Decimal)
keys = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
diagnoses = st.lists(
    st.sampled_from(("E119", "E785", "I10", "J069", "J209", "M545", "R079", "Z0000", "Z23", "R519", "K219", "N390")),
    min_size=1,
    max_size=12,
    unique=True,
)


@st.composite
def claims_strategy(draw: st.DrawFn, claim_type: ClaimType) -> list[Claim]:
    count = draw(st.integers(min_value=1, max_value=6))
    base = varied_claims(count, seed=draw(st.integers(0, 10_000)), claim_type=claim_type)
    out = []
    claim_keys = draw(st.lists(keys, min_size=count, max_size=count, unique=True))
    for claim, key in zip(base, claim_keys, strict=True):
        dx = tuple(draw(diagnoses))
        lines = tuple(
            replace(
                line,
                procedure_code=draw(codes),
                modifiers=tuple(draw(modifiers)),
                charge=draw(money),
                units=draw(units),
                diagnosis_pointers=tuple(range(1, min(len(dx), 4) + 1)),
            )
            for line in claim.lines
        )
        out.append(replace(claim, claim_key=key, diagnoses=dx, lines=lines))
    return out


def _expected(claims: list[Claim]) -> dict[str, tuple[object, ...]]:
    return {
        c.claim_key: (
            c.total_charge,
            c.diagnoses,
            tuple((ln.procedure_code, ln.modifiers, ln.charge, ln.units, ln.revenue_code) for ln in c.lines),
        )
        for c in claims
    }


@SETTINGS
@given(claims_strategy(ClaimType.PROFESSIONAL))
def test_837p_round_trip(claims: list[Claim]) -> None:
    data = write_837p(claims, envelope(VERSION_837P), SUBMITTER, "PAYER", max_claims_per_transaction=2)
    read = read_837(data)
    assert read.problems == []
    got = {
        c.claim_key: (
            c.total_charge,
            c.diagnoses,
            tuple((ln.procedure_code, ln.modifiers, ln.charge, ln.units, ln.revenue_code) for ln in c.lines),
        )
        for c in read.claims
    }
    assert got == _expected(claims)
    by_key = {c.claim_key: c for c in claims}
    for c in read.claims:
        assert c.frequency_code == by_key[c.claim_key].frequency_code
        assert c.original_claim_number == (
            by_key[c.claim_key].original_claim_number if c.frequency_code in ("7", "8") else None
        )
        assert c.member_id == by_key[c.claim_key].member_id


@SETTINGS
@given(claims_strategy(ClaimType.INSTITUTIONAL))
def test_837i_round_trip(claims: list[Claim]) -> None:
    data = write_837i(claims, envelope("005010X223A2"), SUBMITTER, "PAYER")
    read = read_837(data)
    assert read.problems == [] and read.transaction_type == "837I"
    got = {
        c.claim_key: (
            c.total_charge,
            c.diagnoses,
            tuple((ln.procedure_code, ln.modifiers, ln.charge, ln.units, ln.revenue_code) for ln in c.lines),
        )
        for c in read.claims
    }
    assert got == _expected(claims)
    assert {c.claim_key: c.frequency_code for c in read.claims} == {
        c.claim_key: (c.type_of_bill or "")[2] for c in claims
    }


# -- 835 with random delimiters --------------------------------------------------------------------------

_SAFE = "*|^~:!>{}#@\x1d"
delimiters = st.permutations(list(_SAFE)).map(lambda chars: Delimiters(chars[0], chars[1], chars[2], chars[3]))
adjustments = st.lists(
    st.builds(Adjustment, st.sampled_from(("CO", "PR", "OA", "PI")), st.sampled_from(("45", "2", "1", "97")), money),
    max_size=8,
)


@st.composite
def services(draw: st.DrawFn) -> ServicePayment:
    return ServicePayment(
        draw(codes),
        draw(money),
        draw(money),
        draw(units),
        date(2024, 3, 4),
        tuple(draw(modifiers)),
        tuple(draw(adjustments)),
    )


@st.composite
def remittance_claims(draw: st.DrawFn, key: str) -> RemittanceClaim:
    return RemittanceClaim(
        key,
        draw(st.sampled_from(("1", "2", "4", "22"))),
        draw(money),
        draw(money),
        draw(money),
        "12",
        "PCN" + key,
        "DOE",
        "JANE",
        "W1",
        adjustments=tuple(draw(adjustments)),
        services=tuple(draw(st.lists(services(), max_size=4))),
    )


@st.composite
def remittances(draw: st.DrawFn) -> Remittance:
    claim_keys = draw(st.lists(keys, min_size=0, max_size=5, unique=True))
    return Remittance(
        payer_name="SUMMIT",
        payer_tax_id="987654321",
        payer_address=Address("1 Way", "Chicago", "IL", "606010001"),
        payer_contact_phone="8005551212",
        payee_name="CLINIC",
        payee_npi="1234567893",
        payee_tax_id="123456789",
        trace_number=draw(keys),
        payment_date=date(2024, 3, 21),
        production_date=date(2024, 3, 20),
        claims=tuple(draw(remittance_claims(k)) for k in claim_keys),
        provider_adjustments=tuple(
            draw(st.lists(st.builds(ProviderAdjustment, st.sampled_from(("L6", "WO", "FB")), money, keys), max_size=6))
        ),
    )


def _claim_values(c: RemittanceClaim | ClaimPayment) -> tuple[object, ...]:
    if isinstance(c, RemittanceClaim):
        return (
            c.claim_key,
            c.status_code,
            c.charge,
            c.paid,
            sorted((a.group, a.reason, a.amount) for a in c.adjustments),
            [
                (
                    s.procedure_code,
                    s.modifiers,
                    s.charge,
                    s.paid,
                    s.units,
                    sorted((a.group, a.reason, a.amount) for a in s.adjustments),
                )
                for s in c.services
            ],
        )
    return (
        c.patient_control_number,
        c.status,
        c.charge,
        c.paid,
        sorted((a.group, a.reason, a.amount) for a in c.adjustments),
        [
            (
                s.code,
                s.modifiers,
                s.charge,
                s.paid,
                s.units,
                sorted((a.group, a.reason, a.amount) for a in s.adjustments),
            )
            for s in c.services
        ],
    )


@SETTINGS
@given(st.lists(remittances(), min_size=1, max_size=3), delimiters, st.booleans())
def test_835_round_trip_with_random_delimiters(rems: list[Remittance], delims: Delimiters, newline: bool) -> None:
    env = Envelope("PAYER", "CLINIC", 9, 9, "T", datetime(2024, 3, 20, 8, 0), "HP", "005010X221A1")
    data = write_835(rems, env, delimiters=delims, newline=newline)
    read = read_835(data)
    assert read.problems == []
    assert len(read.remittances) == len(rems)
    for written, got in zip(rems, read.remittances, strict=True):
        assert [_claim_values(c) for c in got.claims] == [_claim_values(c) for c in written.claims]
        assert [(p.reason, p.reference, p.amount) for p in got.provider_adjustments] == [
            (p.reason, p.reference, p.amount) for p in written.provider_adjustments
        ]
        assert got.payment.amount == written.balanced_total
        assert got.payment.trace_number == written.trace_number
    streamed = [e for e in iter_835(data) if isinstance(e, ClaimPayment)]
    assert [_claim_values(c) for c in streamed] == [_claim_values(c) for r in rems for c in r.claims]
