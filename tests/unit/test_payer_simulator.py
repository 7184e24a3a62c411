"""The sandbox payer simulator: deterministic, balanced, pyx12-clean answers to an 837."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal

from pyx12_check import balance_problems, pyx12_errors, split_segments

from revcycle.domain import Address, Claim, ClaimLine, ClaimType, Person, Provider
from revcycle.sandbox.payer_simulator import (
    DENY_SHARE,
    REJECT_SHARE,
    adjudicate,
    claim_acknowledgment,
    payer_claim_number,
    respond,
)
from revcycle.x12.write835 import Remittance, ServicePayment, write_835
from revcycle.x12.write837p import Submitter, write_837p
from revcycle.x12.writer import Envelope
from revcycle.x12.x837 import ReceivedClaim, ReceivedServiceLine

NOW = datetime(2024, 3, 11, 8, 0)
DOS = date(2024, 3, 4)


def _received(key: str, npi: str = "1234567893", lines: int = 3, total: Decimal | None = None) -> ReceivedClaim:
    service = tuple(
        ReceivedServiceLine(
            i, "HC", f"9921{i}", ("25",) if i == 1 else (), Decimal("100.00") + i, Decimal("1"), DOS, None
        )
        for i in range(1, lines + 1)
    )
    return ReceivedClaim(
        claim_key=key,
        total_charge=total if total is not None else sum((s.charge for s in service), Decimal("0")),
        frequency_code="1",
        place_of_service="11",
        payer_id="87726",
        payer_name="SUMMIT HEALTH",
        member_id="W1",
        subscriber_last_name="Doe",
        subscriber_first_name="John",
        patient_last_name="Doe",
        patient_first_name="Emma",
        billing_npi=npi,
        billing_name="Riverside Clinic",
        billing_tax_id="123456789",
        diagnoses=("J449",),
        lines=service,
        original_claim_number=None,
        transaction_control_number="0001",
    )


KEYS = [f"K{i:05d}" for i in range(1000)]


def test_acknowledgment_rates_and_determinism() -> None:
    verdicts = [claim_acknowledgment(_received(k)) for k in KEYS]
    rejected = [status for ok, status in verdicts if not ok]
    assert 0.5 * REJECT_SHARE * len(KEYS) < len(rejected) < 1.5 * REJECT_SHARE * len(KEYS)
    assert {s.category for s in rejected} <= {"A3", "A7"}
    assert {(s.category, s.code, s.entity) for ok, s in verdicts if ok} == {("A2", "20", "PR")}
    assert verdicts == [claim_acknowledgment(_received(k)) for k in KEYS]
    salted = [claim_acknowledgment(_received(k), "other salt") for k in KEYS]
    assert salted != verdicts


def test_invalid_billing_npi_is_rejected_with_562() -> None:
    ok, status = claim_acknowledgment(_received("K1", npi="1234567890"))  # wrong check digit
    assert not ok
    assert (status.category, status.code, status.entity) == ("A7", "562", "85")


def test_adjudication_mix_and_balance() -> None:
    claims = [adjudicate(_received(k), today=NOW.date()) for k in KEYS]
    statuses = Counter(c.status_code for c in claims)
    assert 0.5 * DENY_SHARE * len(KEYS) < statuses["4"] < 1.5 * DENY_SHARE * len(KEYS)
    assert statuses["1"] + statuses["4"] == len(KEYS)
    reasons = Counter(
        (a.group, a.reason) for c in claims for a in (*c.adjustments, *(x for s in c.services for x in s.adjustments))
    )
    for expected in [
        ("CO", "45"),
        ("CO", "50"),
        ("CO", "29"),
        ("CO", "197"),
        ("CO", "97"),
        ("PR", "1"),
        ("PR", "2"),
        ("PR", "3"),
    ]:
        assert reasons[expected] > 0, expected

    def denied_line(s: ServicePayment) -> bool:
        return any(a.group == "CO" and a.reason != "45" for a in s.adjustments)

    partly = [c for c in claims if c.status_code == "1" and any(denied_line(s) for s in c.services)]
    assert partly, "some claims must be partly paid"
    assert all(s.remark_codes and s.paid == 0 for c in partly for s in c.services if denied_line(s))
    # write them and check the balance from the written segments, independently of the simulator
    rem = Remittance(
        payer_name="SUMMIT HEALTH",
        payer_tax_id="987654321",
        payer_address=Address("1 A St", "X", "IL", "62701"),
        payer_contact_phone="8005551212",
        payee_name="Riverside",
        payee_npi="1234567893",
        payee_tax_id="123456789",
        trace_number="T1",
        payment_date=NOW.date(),
        production_date=NOW.date(),
        claims=tuple(claims),
    )
    data = write_835([rem], _env("HP", "005010X221A1"))
    assert balance_problems(data) == []
    segs = split_segments(data)
    for clp in (s for s in segs if s[0] == "CLP"):  # CLP05 = the PR adjustments of that claim
        assert Decimal(clp[3]) >= Decimal(clp[4])


def test_claim_total_that_disagrees_with_its_lines_still_balances() -> None:
    claim = adjudicate(_received("K00001", total=Decimal("500")), today=NOW.date())
    rem = Remittance(
        payer_name="P",
        payer_tax_id="987654321",
        payer_address=Address("1 A St", "X", "IL", "62701"),
        payer_contact_phone="8005551212",
        payee_name="R",
        payee_npi="1234567893",
        payee_tax_id="1",
        trace_number="T",
        payment_date=NOW.date(),
        production_date=NOW.date(),
        claims=(claim,),
    )
    assert balance_problems(write_835([rem], _env("HP", "005010X221A1"))) == []


def test_payer_claim_number_is_deterministic() -> None:
    a = payer_claim_number(_received("K1"))
    assert a == payer_claim_number(_received("K1"))
    assert a != payer_claim_number(_received("K2"))
    assert re.fullmatch(r"SB\d{14}", a)


# -- round trip through the 837P writer ------------------------------------------------------------

HOME = Address("5 Oak Ave", "Springfield", "IL", "62702")
SUBSCRIBER = Person("Doe", "John", date(1980, 5, 1), "M", HOME)
CHILD = Person("Doe", "Emma", date(2015, 2, 3), "F", HOME)
BILLING = Provider(
    npi="1234567893",
    last_or_org_name="Riverside Clinic",
    tax_id="123456789",
    address=Address("100 Main St", "Springfield", "IL", "627011234"),
)
OTHER_BILLING = Provider(
    npi="1497758544",
    last_or_org_name="Lakeside Group",
    tax_id="987654321",
    address=Address("9 Lake Rd", "Springfield", "IL", "627021111"),
)


def _claim(i: int) -> Claim:
    dependent = i % 3 == 0
    return Claim(
        claim_key=f"RT{i:05d}",
        claim_type=ClaimType.PROFESSIONAL,
        encounter_id=f"E{i}",
        payer_id="MCRB" if i % 4 == 0 else "87726",
        payer_name="MEDICARE B" if i % 4 == 0 else "SUMMIT HEALTH",
        filing_indicator="MB" if i % 4 == 0 else "CI",
        billing_provider=OTHER_BILLING if i % 5 == 0 else BILLING,
        subscriber=SUBSCRIBER,
        member_id=f"M{i % 7}",
        relationship="19" if dependent else "18",
        patient=CHILD if dependent else SUBSCRIBER,
        diagnoses=("J449", "I10"),
        lines=tuple(
            ClaimLine(
                n,
                f"C{i}-{n}",
                ("99213", "93000", "36415")[n - 1],
                Decimal(("125.00", "40.50", "12.00")[n - 1]),
                Decimal("1"),
                DOS,
                ("25",) if n == 1 else (),
                (1, 2) if n == 1 else (1,),
            )
            for n in range(1, 1 + 1 + i % 3)
        ),
    )


def _env(gs01: str, version: str, icn: int = 42) -> Envelope:
    return Envelope(
        sender_id="SUBMIT01",
        receiver_id="SANDBOXCH",
        interchange_control_number=icn,
        group_control_number=icn,
        usage_indicator="T",
        created=datetime(2024, 3, 10, 14, 30),
        functional_id_code=gs01,
        version=version,
    )


CLAIMS = [_claim(i) for i in range(120)]
SENT = write_837p(
    CLAIMS,
    _env("HC", "005010X222A1"),
    Submitter("Riverside", "SUBMIT01", "Jane", phone="5555551234"),
    "SANDBOX CLEARINGHOUSE",
    max_claims_per_transaction=50,
)


def _respond(data: bytes = SENT, salt: str = "") -> list:  # type: ignore[type-arg]
    return respond(data, seed_salt=salt, usage_indicator="T", now=NOW, control_numbers=itertools.count(500).__next__)


def test_round_trip_files_are_named_valid_and_balanced() -> None:
    files = _respond()
    assert [(f.name, f.kind) for f in files] == [
        ("999_000000042.x12", "999"),
        ("277CA_000000042.x12", "277CA"),
        ("835_87726_000000042.x12", "835"),
        ("835_MCRB_000000042.x12", "835"),
    ]
    for f in files:
        assert pyx12_errors(f.content) == [], f.name
    isa13 = [split_segments(f.content)[0][13] for f in files]
    assert isa13 == ["000000500", "000000501", "000000502", "000000503"]
    assert all(split_segments(f.content)[0][15] == "T" for f in files)

    ack = split_segments(files[0].content)
    assert [s for s in ack if s[0] == "IK5"] == [["IK5", "A"]] * 3  # 120 claims, 50 per set
    assert [s for s in ack if s[0] == "AK9"] == [["AK9", "A", "3", "3", "3"]]

    ca = split_segments(files[1].content)
    keys = [s[2] for s in ca if s[0] == "TRN" and s[2].startswith("RT")]
    assert sorted(keys) == sorted(c.claim_key for c in CLAIMS)
    verdicts = {}
    trn = None
    for s in ca:
        if s[0] == "TRN" and s[2].startswith("RT"):
            trn = s[2]
        elif s[0] == "STC" and trn is not None:
            verdicts[trn], trn = s[3], None
    rejected = {k for k, action in verdicts.items() if action == "U"}
    assert 0 < len(rejected) < 20

    paid_keys: list[str] = []
    for f in files[2:]:
        assert balance_problems(f.content) == []
        segs = split_segments(f.content)
        paid_keys += [s[1] for s in segs if s[0] == "CLP"]
        assert len([s for s in segs if s[0] == "ST"]) == 2  # two billing providers per payer
        payees = [s[4] for s in segs if s[0] == "N1" and s[1] == "PE"]
        assert sorted(payees) == ["1234567893", "1497758544"]
        clp06 = {s[6] for s in segs if s[0] == "CLP"}
        # SBR09 reaches CLP06 only when the 837 reader carries it; commercial CI is reported as 12
        medicare = "MB" if "filing_indicator" in ReceivedClaim.__dataclass_fields__ else "12"
        assert clp06 == ({medicare} if "MCRB" in f.name else {"12"})
    assert sorted(paid_keys) == sorted(set(verdicts) - rejected)
    # CLP07 matches the 277CA REF*1K of the same claim
    ref1k = [s[2] for s in ca if s[0] == "REF" and s[1] == "1K"]
    clp07 = [s[7] for f in files[2:] for s in split_segments(f.content) if s[0] == "CLP"]
    assert sorted(ref1k) == sorted(clp07)


def test_same_input_gives_identical_bytes() -> None:
    assert [f.content for f in _respond()] == [f.content for f in _respond()]
    assert [f.content for f in _respond()] != [f.content for f in _respond(salt="x")]


def test_envelope_problem_rejects_every_transaction_set() -> None:
    broken = re.sub(rb"SE\*\d+\*0002", b"SE*3*0002", SENT)
    assert broken != SENT
    files = _respond(broken)
    assert [f.kind for f in files] == ["999"]
    segs = split_segments(files[0].content)
    assert [s[1] for s in segs if s[0] == "IK5"] == ["R", "R", "R"]
    assert [s for s in segs if s[0] == "AK9"] == [["AK9", "R", "3", "3", "0"]]
    assert pyx12_errors(files[0].content) == []


def test_interchange_without_a_group_gets_a_ta1() -> None:
    lines = SENT.split(b"\n")
    only_envelope = b"\n".join([lines[0], b"IEA*0*000000042~"])
    files = _respond(only_envelope)
    assert [(f.name, f.kind) for f in files] == [("TA1_000000042.x12", "TA1")]
    segs = split_segments(files[0].content)
    assert segs[1] == ["TA1", "000000042", "240310", "1430", "R", "024"]


def test_unreadable_input_gets_no_answer() -> None:
    assert _respond(b"not an x12 file") == []
