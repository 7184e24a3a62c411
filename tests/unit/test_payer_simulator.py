"""The sandbox payer's one-shot answer (``respond``): deterministic, balanced, pyx12-clean answers to an 837."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from decimal import Decimal

from pyx12_check import balance_problems, pyx12_errors, split_segments
from x12_claims import SUBMITTER as X12_SUBMITTER
from x12_claims import envelope, varied_claims

from revcycle.domain import Address, Claim, ClaimLine, ClaimType, Person, Provider
from revcycle.sandbox.payer_simulator import respond
from revcycle.x12.write837i import write_837i
from revcycle.x12.write837p import Submitter, write_837p
from revcycle.x12.writer import Envelope

NOW = datetime(2024, 3, 11, 8, 0)
DOS = date(2024, 3, 4)


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
    # 835s are named by payer, payment date and their own ISA13; NOW (08:00 UTC) is 11 March in Chicago
    assert [(f.name, f.kind) for f in files] == [
        ("999_000000042.x12", "999"),
        ("277CA_000000042.x12", "277CA"),
        ("835_87726_20240311_000000502.x12", "835"),
        ("835_MCRB_20240311_000000503.x12", "835"),
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
        # SBR09 reaches CLP06; commercial CI is reported as 12 (CLP06 has no CI)
        assert clp06 == ({"MB"} if "MCRB" in f.name else {"12"})
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


def test_institutional_claims_are_answered_with_revenue_codes_and_pyx12_clean_files() -> None:
    claims = varied_claims(60, 4, ClaimType.INSTITUTIONAL)
    sent = write_837i(claims, envelope("005010X223A2", 77), X12_SUBMITTER, "SANDBOX CLEARINGHOUSE")
    files = respond(sent, usage_indicator="T", now=NOW, control_numbers=itertools.count(900).__next__)
    assert [f.kind for f in files][:2] == ["999", "277CA"]
    assert {tuple(s) for s in split_segments(files[0].content) if s[0] == "IK5"} == {("IK5", "A")}
    remits = [f for f in files if f.kind == "835"]
    assert remits
    by_key = {c.claim_key: c for c in claims}
    for f in files:
        assert pyx12_errors(f.content) == [], f.name
    for f in remits:
        assert balance_problems(f.content) == []
        key = None
        for seg in split_segments(f.content):
            if seg[0] == "CLP":
                key = seg[1]
                assert seg[8] == by_key[key].type_of_bill[:2]  # CLP08: the facility type of the bill
            elif seg[0] == "SVC" and key is not None:
                qualifier, code = seg[1].split(":")[:2]
                lines = by_key[key].lines
                if qualifier == "NU":  # a line billed with a revenue code only
                    assert code in {line.revenue_code for line in lines if not line.procedure_code}
                else:  # SVC04 carries the line's revenue code
                    assert seg[4] in {line.revenue_code for line in lines if line.procedure_code == code}
