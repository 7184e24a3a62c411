"""The three OopFactory 277CA samples (005010X214, corpus ``277ca/``) read with values written by hand.

Positions count from 0 at the ISA after the BOM, one segment a line. The two imsweb 277CAs are read by hand
in ``test_x12_document`` and ``test_cli_x12_answers``.
"""

from __future__ import annotations

from decimal import Decimal

from corpus import corpus_dir

from revcycle.x12.x277ca import read_277ca

ALEXBRODSKY = "277ca/oopfactory__277CA_FromAlexbrodsky.txt"
DEIDENTIFIED = "277ca/oopfactory__277CA_Deidentified_from_nth.txt"
LATITUDE = "277ca/oopfactory__277CA_FromLatitude81uk.txt"


def test_alexbrodsky_277ca_one_rejected_claim_with_a_pipe_component_separator() -> None:
    # ISA16 '|'; 2 ST*277*000001120*005010X214 12 STC*A1|20*20110311*WQ*199.14 (2200B)
    # 18 HL*4*3*PT 20 TRN*2*3920394930203 21 STC*A7|562|85*20110311*WQ*199.14 22 REF*1K*1107000000001120
    # 24 DTP*472*D8*20090311 25 SE*24*000001120 (25 - 2 + 1 = 24); IEA*1*000001120 = ISA13
    read = read_277ca(corpus_dir() / ALEXBRODSKY)
    assert read.problems == []
    [ack] = read.acks
    assert (ack.control_number, ack.segment, ack.version) == ("000001120", 2, "005010X214")
    [(level, receiver_status)] = ack.level_statuses
    assert (level, receiver_status.category, receiver_status.code, receiver_status.amount) == (
        "information_receiver",
        "A1",
        "20",
        Decimal("199.14"),
    )
    [claim] = ack.claims
    assert (claim.segment, claim.claim_key, claim.payer_claim_number, claim.service_date) == (
        18,
        "3920394930203",
        "1107000000001120",
        "20090311",
    )
    [status] = claim.statuses
    assert (status.category, status.code, status.entity, status.effective_date) == ("A7", "562", "85", "20110311")
    assert claim.accepted is False  # A7: rejected


def test_deidentified_277ca_three_patients_under_two_providers() -> None:
    # 12 STC*X9:99:XX*20120111*WQ*900 (2200B); 18 STC*X9:99:99**WQ*220 and 31 STC*X9:99:99**WQ*680 (2200C)
    # 21 HL*4*3*PT 23 TRN*2*99999999-99999, three STC*X9:999:..*20120111*U*220, 27 DTP*472*D8*20120109
    # 34 HL*6*5*PT ... *U*340, 40 DTP 20110316; 41 HL*7*5*PT ... *U*340, 47 DTP 20111010; 48 SE*47*0001
    # (de-identification replaced every STC code by X9: no category the reader knows, so neither
    # accepted nor rejected)
    [ack] = read_277ca(corpus_dir() / DEIDENTIFIED).acks
    assert [(level, s.amount) for level, s in ack.level_statuses] == [
        ("information_receiver", Decimal("900")),
        ("provider", Decimal("220")),
        ("provider", Decimal("680")),
    ]
    assert [(c.segment, c.claim_key, c.service_date) for c in ack.claims] == [
        (21, "99999999-99999", "20120109"),
        (34, "99999999-99999", "20110316"),
        (41, "99999999-99999", "20111010"),
    ]
    for claim, amount in zip(ack.claims, ("220", "340", "340"), strict=True):
        assert [(s.category, s.code, s.entity, s.action_code, s.amount) for s in claim.statuses] == [
            ("X9", "999", "99", "U", Decimal(amount)),
            ("X9", "999", "XX", "U", Decimal(amount)),
            ("X9", "999", "99", "U", Decimal(amount)),
        ]
        assert claim.accepted is None


def test_latitude_277ca_garbled_envelope() -> None:
    # 0 ISA ... *343434*43434343*0*P*: (ISA12 and ISA13 garbled) ... 30 IEA*1*000000002: not ISA13
    # 22 HL*4*3*PT 24 TRN*2*MVC132-0145454 25 STC*A2:20:PRP*5454545*WQ*442 26 REF*1K*545454
    read = read_277ca(corpus_dir() / LATITUDE)
    assert (30, "CONTROL_MISMATCH") in [(p.segment, p.code) for p in read.problems]
    [ack] = read.acks
    [claim] = ack.claims
    assert (claim.segment, claim.claim_key, claim.payer_claim_number) == (22, "MVC132-0145454", "545454")
    [status] = claim.statuses
    assert (status.category, status.code, status.entity, status.amount) == ("A2", "20", "PRP", Decimal("442"))
    assert claim.accepted is True  # A2: accepted into adjudication
