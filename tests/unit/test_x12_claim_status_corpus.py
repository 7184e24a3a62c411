"""The corpus 276s and 277s (005010X212) read with the values written by hand from the files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from corpus import corpus_dir

from revcycle.x12.document import parse_document, to_json
from revcycle.x12.x276 import read_276
from revcycle.x12.x277 import read_277

# lfh__claim-level-status.277, positions:
#  2 ST*277*0001*005010X212  3 BHT*0010*08*277X212*20050916*0810*DG
#  4 HL*1**20*1  5 NM1*PR*2*ABC INSURANCE*****PI*12345  6 HL*2*1*21*1  7 NM1*41*...*46*X67E
#  8 HL*3*2*19*1  9 NM1*1P*...*XX*1666666661
# 10 HL*4*3*22*0 11 NM1*IL*1*SMITH*FRED****MI*123456789A 12 TRN*2*ABCXYZ1 13 STC*P3:317*20050913**8513.88
# 14 REF*1K*05347006051 15 REF*BLT*111 16 REF*EJ*SM123456 17 DTP*472*RD8*20050831-20050906
# 18 HL*5*3*22*0 19 NM1*IL (JONES MARY) 20 TRN*2*ABCXYZ2 21 STC*F0:3*20050915**7599.00*7599.00
# 22 REF*1K*0529675341 23 REF*BLT*111 24 REF*EJ*J0234567 25 DTP*472*RD8*20050731-20050809
# 26 HL*6*2*19*1 27 NM1*1P ... XX*166666666 28 HL*7*6*22*1 29 NM1*IL (MANN JOHN) 30 HL*8*7*23
# 31 NM1*QC*1*MANN*JOSEPH 32 TRN*2*ABCXYC3 33 STC*F2:88:QC*20050612**150.00*0.00 34 REF*1K*051681010827
# 35 REF*EJ*MA345678 36 SVC*HC:99203*150.00*0.00****1.00 37 STC*F2:88:QC*20050612 38 DTP*472*D8*20050501
# 39 SE*38*0001 (39 - 2 + 1 = 38)
LFH_277 = "276_277/lfh__claim-level-status.277"
LFH_276 = "276_277/lfh__claim-level-status.276"
IMSWEB_277 = "276_277/imsweb__x12_277_x212.txt"


def test_lfh_277_claims() -> None:
    read = read_277(corpus_dir() / LFH_277)
    assert read.problems == []
    [response] = read.responses
    assert (response.control_number, response.reference) == ("0001", "277X212")
    assert response.payer is not None and response.payer.identifier == "12345"
    pending, finalized, denied = response.claims
    # STC*P3:317*20050913**8513.88: STC03 empty, STC04 total charge, no STC05
    assert (pending.segment, pending.level, pending.trace, pending.claim_key) == (
        12,
        "subscriber",
        "ABCXYZ1",
        "SM123456",
    )
    assert (pending.payer_claim_number, pending.bill_type) == ("05347006051", "111")
    assert (pending.category, pending.stage, pending.statuses[0].code) == ("P3", "pending", "317")
    assert pending.reports[0].effective_date == date(2005, 9, 13)
    assert (pending.total_charge, pending.paid, pending.adjudicated) == (Decimal("8513.88"), None, None)
    assert pending.service_period is not None
    assert (pending.service_period.start, pending.service_period.end) == (date(2005, 8, 31), date(2005, 9, 6))
    assert pending.provider is not None and pending.provider.identifier == "1666666661"
    # STC*F0:3*20050915**7599.00*7599.00: charge and paid both 7599.00
    assert (finalized.trace, finalized.claim_key, finalized.payer_claim_number) == ("ABCXYZ2", "J0234567", "0529675341")
    assert (finalized.category, finalized.stage) == ("F0", "finalized")
    assert (finalized.total_charge, finalized.paid) == (Decimal("7599.00"), Decimal("7599.00"))
    # under HL*8*7*23: the dependent's claim; the TRN02 reads ABCXYC3 in the file (not ABCXYZ3 as asked)
    assert (denied.level, denied.trace, denied.claim_key, denied.payer_claim_number) == (
        "dependent",
        "ABCXYC3",
        "MA345678",
        "051681010827",
    )
    [status] = denied.statuses
    assert (status.category, status.code, status.entity) == ("F2", "88", "QC")
    assert (denied.total_charge, denied.paid) == (Decimal("150.00"), Decimal("0.00"))
    assert denied.provider is not None and denied.provider.identifier == "166666666"
    assert denied.service_period is None  # its only DTP*472 belongs to the service line
    [line] = denied.lines
    assert (line.segment, line.qualifier, line.procedure) == (36, "HC", "99203")
    assert (line.charge, line.paid, line.units) == (Decimal("150.00"), Decimal("0.00"), Decimal("1.00"))
    assert [s.category for r in line.reports for s in r.statuses] == ["F2"]
    assert line.service_period is not None and line.service_period.start == date(2005, 5, 1)


def test_imsweb_277_eight_acknowledged_claims_and_the_iea02_fault() -> None:
    # 8 blocks of 13 segments (HL 20, NM1, HL 21, NM1, HL 19, NM1, HL 22, NM1, TRN, STC, REF*EJ, REF*D9,
    # DTP) from position 4: 4 + 8 * 13 = 108 is SE*107 (108 - 2 + 1 = 107), 109 GE, 110 IEA*1*842928883,
    # which is not ISA13 000000001
    read = read_277(corpus_dir() / IMSWEB_277)
    assert [(p.segment, p.code) for p in read.problems] == [(110, "CONTROL_MISMATCH")]
    [response] = read.responses
    claims = response.claims
    assert [c.trace for c in claims] == [f"000000{n}" for n in range(1, 9)]
    assert [c.claim_key for c in claims] == ["12345", "12346", "12347", "12348", "12349", "12340", "12341", "12342"]
    assert [c.clearinghouse_trace for c in claims] == [c.claim_key for c in claims]  # REF*D9 repeats REF*EJ
    assert {(c.category, c.statuses[0].code) for c in claims} == {("A1", "704")}
    # STC04: 600 + 400 + 100 + 180 + 100 + 450 + 100 + 100 = 2030
    charges = [c.total_charge for c in claims]
    assert charges == [Decimal(x) for x in ("600", "400", "100", "180", "100", "450", "100", "100")]
    assert sum((c for c in charges if c is not None), Decimal("0")) == Decimal("2030")
    # STC03 WQ and STC12 free text are "not used" in X212 but read as they come
    assert {c.reports[0].action_code for c in claims} == {"WQ"}
    assert claims[0].reports[0].message == "PAYER ACKNOWLEDGED RECEIPT OF THE CLAIM"
    assert all(c.payer_claim_number == "" for c in claims)  # no REF*1K
    assert claims[1].service_period is not None and claims[1].service_period.start == date(2020, 8, 20)


def test_lfh_276_claims_asked_about() -> None:
    # 10 HL*4*3*22*0 11 DMG*D8*19301210*M 12 NM1*IL 13 TRN*1*ABCXYZ1 14 REF*BLT*111 15 REF*EJ*SM123456
    # 16 AMT*T3*8513.88 17 DTP*472*RD8*20050831-20050906; 18 HL*5 ... 21 TRN*1*ABCXYZ2 ... 24 AMT*T3*7599.00;
    # 26 HL*6*2*19 27 NM1*1P ... 166666666 28 HL*7*6*22*1 29 NM1*IL 30 HL*8*7*23 31 DMG 32 NM1*QC
    # 33 TRN*1*ABCXYZ3 34 REF*EJ*MA345678 35 SVC*HC:99203*150.00*****1.00 36 DTP*472 37 SE*36 (37 - 2 + 1)
    read = read_276(corpus_dir() / LFH_276)
    assert read.problems == []
    [request] = read.requests
    first, second, third = request.claims
    assert (first.trace, first.claim_key, first.bill_type, first.total_charge) == (
        "ABCXYZ1",
        "SM123456",
        "111",
        Decimal("8513.88"),
    )
    assert first.patient is None and first.patient_birth_date == date(1930, 12, 10)  # the subscriber is the patient
    assert (second.trace, second.claim_key, second.total_charge) == ("ABCXYZ2", "J0234567", Decimal("7599.00"))
    assert second.service_period is not None and second.service_period.end == date(2005, 8, 9)
    assert (third.level, third.trace, third.claim_key, third.total_charge) == ("dependent", "ABCXYZ3", "MA345678", None)
    assert third.patient is not None and third.patient.entity == "QC"
    assert third.patient_birth_date == date(1995, 11, 1)
    assert third.lines == [("HC:99203", Decimal("150.00"))]
    assert third.provider is not None and third.provider.identifier == "166666666"


def test_277_and_276_json_without_phi() -> None:
    path = corpus_dir() / LFH_277
    doc = parse_document(path, path.name)
    [tx] = doc["transactions"]
    assert tx["type"] == "277"
    assert [(c["claim_key"], c["category"], c["stage"], c["charge"], c["paid"]) for c in tx["claims"]] == [
        ("SM123456", "P3", "pending", "8513.88", None),
        ("J0234567", "F0", "finalized", "7599.00", "7599.00"),
        ("MA345678", "F2", "finalized", "150.00", "0.00"),
    ]
    assert tx["claims"][2]["lines"][0]["statuses"][0]["statuses"] == [
        {"category": "F2", "code": "88", "entity": "QC", "stage": "finalized"}
    ]
    text = to_json(doc)
    for phi in ("SMITH", "FRED", "123456789A", "JONES", "234567890A", "MANN", "JOSEPH", "345678901"):
        assert phi not in text
    path = corpus_dir() / LFH_276
    text = to_json(parse_document(path, path.name))
    for phi in ("SMITH", "19301210", "1930-12-10", "MANN", "123456789A"):
        assert phi not in text


def test_imsweb_277_json_leaves_the_free_text_out() -> None:
    path = corpus_dir() / IMSWEB_277
    doc = parse_document(path, path.name)
    [tx] = doc["transactions"]
    assert len(tx["claims"]) == 8
    text = to_json(doc)
    assert "PAYER ACKNOWLEDGED" not in text  # STC12 free text may hold anything: never in the view
    for phi in ("DOEONE", "JANEONE", "0000000001", "DIMMER", "MARTIN"):
        assert phi not in text


def test_lfh_276_header_parties_and_every_claim() -> None:
    # 2 ST*276*0001*005010X212 3 BHT*0010*13*ABC276XXX*20050915*1425 5 NM1*PR*2*ABC INSURANCE*****PI*12345
    # 7 NM1*41*2*XYZ SERVICE*****46*X67E 9 NM1*1P*2*HOME HOSPITAL*****XX*1666666661
    # 12 NM1*IL*1*SMITH*FRED****MI*123456789A 13 TRN*1*ABCXYZ1 ... 17 DTP*472*RD8*20050831-20050906
    # 19 DMG*D8*19301115*F 20 NM1*IL*1*JONES*MARY****MI*234567890A 21 TRN*1*ABCXYZ2 ... 25 DTP*472*RD8*20050731-20050809
    # 27 NM1*1P*2*HOME HOSPITAL PHYSICANS*****XX*166666666 29 NM1*IL*1*MANN*JOHN****MI*345678901
    # 32 NM1*QC*1*MANN*JOSEPH 33 TRN*1*ABCXYZ3 34 REF*EJ 35 SVC 36 DTP*472*D8*20050501 (the line's date)
    [request] = read_276(corpus_dir() / LFH_276).requests
    assert (request.control_number, request.segment, request.version, request.reference) == (
        "0001",
        2,
        "005010X212",
        "ABC276XXX",
    )
    assert request.payer is not None and (request.payer.last, request.payer.identifier) == ("ABC INSURANCE", "12345")
    assert request.receiver is not None
    assert (request.receiver.entity, request.receiver.id_qualifier, request.receiver.identifier) == ("41", "46", "X67E")
    first, second, third = request.claims
    assert [c.segment for c in request.claims] == [13, 21, 33]  # each claim's TRN
    assert [c.provider.identifier if c.provider else None for c in request.claims] == [
        "1666666661",
        "1666666661",
        "166666666",
    ]
    assert [
        (c.subscriber.last, c.subscriber.first, c.subscriber.identifier) for c in request.claims if c.subscriber
    ] == [
        ("SMITH", "FRED", "123456789A"),
        ("JONES", "MARY", "234567890A"),
        ("MANN", "JOHN", "345678901"),
    ]
    assert third.patient is not None and (third.patient.last, third.patient.first) == ("MANN", "JOSEPH")
    assert first.service_period is not None
    assert (first.service_period.qualifier, first.service_period.start, first.service_period.end) == (
        "472",
        date(2005, 8, 31),
        date(2005, 9, 6),
    )
    assert second.service_period is not None and second.service_period.start == date(2005, 7, 31)
    assert (second.bill_type, second.patient_birth_date, second.lines) == ("111", date(1930, 11, 15), [])
    assert (third.bill_type, third.service_period) == ("", None)  # its only DTP*472 follows the SVC
    assert [c.payer_claim_number for c in request.claims] == ["", "", ""]  # a 276 from the provider has no REF*1K


def test_imsweb_277_repeated_payer_loops_every_claim_by_hand() -> None:
    # each of the 8 blocks repeats HL 20 NM1*PR*2*UTD HEALTHCARE*****PI*877260000, HL 21
    # NM1*41*2*WONDER HEALTHCARE*****46*123456789, HL 19 NM1*1P*2*HAPPY DOCTORS GROUP*****XX*1111111111,
    # HL 22 (HL04 0) NM1*IL ... MI*<id>, then TRN*2 at positions 12, 25, ..., 103 (13 apart);
    # STC02 20201116 everywhere, STC05 empty; DTP*472*RD8 one day each
    read = read_277(corpus_dir() / IMSWEB_277)
    [response] = read.responses
    assert (response.control_number, response.version, response.reference) == ("0001", "005010X212", "000000001")
    assert response.payer is not None and (response.payer.last, response.payer.identifier) == (
        "UTD HEALTHCARE",
        "877260000",
    )
    assert response.receiver is not None and response.receiver.identifier == "123456789"
    claims = response.claims
    assert [c.segment for c in claims] == [12 + 13 * n for n in range(8)]
    assert {c.level for c in claims} == {"subscriber"}
    assert {(c.provider.id_qualifier, c.provider.identifier) for c in claims if c.provider} == {("XX", "1111111111")}
    assert [c.subscriber.identifier for c in claims if c.subscriber] == [
        "0000000001",
        "0000000000",
        "0000000001",
        "0000000000",
        "0000000002",
        "0000000003",
        "0000000004",
        "0000000004",
    ]
    days = [13, 20, 13, 14, 13, 13, 15, 13]
    months = [11, 8, 11, 11, 11, 11, 11, 11]
    assert [(c.service_period.start, c.service_period.end) for c in claims if c.service_period] == [
        (date(2020, m, d), date(2020, m, d)) for m, d in zip(months, days, strict=True)
    ]
    assert {(len(c.reports), c.reports[0].effective_date, c.reports[0].paid) for c in claims} == {
        (1, date(2020, 11, 16), None)
    }
    assert all(c.lines == [] for c in claims)
