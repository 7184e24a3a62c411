"""The 270/271/276/277 readers report what is wrong with its segment position, and keep reading.

Each file is written out by hand; positions count from 0 at the ISA (GS 1, ST 2, BHT 3 ...).
"""

from __future__ import annotations

from revcycle.x12.document import parse_document
from revcycle.x12.x271 import read_271
from revcycle.x12.x276 import read_276
from revcycle.x12.x277 import read_277

ISA = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *240305*0700*^*00501*000000042*0*T*:~"


def _file(functional_id: str, version: str, set_id: str, *segments: str) -> str:
    body = [f"ST*{set_id}*0001*{version}", *segments]
    return (
        ISA
        + f"GS*{functional_id}*PAYER*PROVIDER*20240305*0700*42*X*{version}~"
        + "~".join(body)
        + f"~SE*{len(body) + 1}*0001~GE*1*42~IEA*1*000000042~"
    )


def _codes(problems: list) -> list[tuple[int | None, str]]:  # type: ignore[type-arg]
    return [(p.segment, p.code) for p in problems]


def test_271_structure_problems_have_positions() -> None:
    text = _file(
        "HB",
        "005010X279A1",
        "271",
        "BHT*0022*11*R*20240305*0700",  # 3
        "HL*1**20*1",  # 4
        "NM1*PR*2*PAYER*****PI*1",  # 5
        "HL*2*1*21*1",  # 6
        "NM1*1P*2*CLINIC*****XX*1234567893",  # 7
        "HL*3*9*22*0",  # 8: HL02 9 names no earlier HL
        "NM1*IL*1*DOE*JANE****MI*M1",  # 9
        "DTP*346*RD8*20240301-20240101",  # 10: a range that ends before it starts
        "EB*1**30",  # 11
        "LS*2120",  # 12: never closed
        "NM1*PRP*2*OTHER*****PI*2",  # 13
        "EB*C**30***29*ABC",  # 14: EB06 29 remaining, EB07 is not a number
        "HL*4*3*23*0",  # 15
        "NM1*03*1*DOE*KID",  # 16: a dependent with no EB and no AAA
    )
    read = read_271(text)
    assert _codes(read.problems) == [
        (8, "BAD_HL_PARENT"),
        (10, "BAD_DATE"),
        (14, "MISSING_LE"),
        (14, "BAD_NUMBER"),
        (15, "MISSING_SEGMENT"),
    ]
    [response] = read.responses
    subscriber, dependent = response.members
    # reading went on: the entity inside the open LS still belongs to the first EB, the second EB is read
    assert [e.name.entity for e in subscriber.benefits[0].entities] == ["PRP"]
    assert subscriber.benefits[1].amount is None and subscriber.benefits[1].remaining
    assert dependent.level == "dependent"


def test_271_segments_out_of_place() -> None:
    text = _file(
        "HB",
        "005010X279A1",
        "271",
        "BHT*0022*11*R*20240305*0700",  # 3
        "HL*1**20*1",  # 4
        "EB*1**30",  # 5: EB before any member
        "NM1*PR*2*PAYER*****PI*1",  # 6
        "HL*2*1*21*1",  # 7
        "NM1*1P*2*CLINIC*****XX*1234567893",  # 8
        "HL*3*2*22*0",  # 9
        "NM1*IL*1*DOE*JANE****MI*M1",  # 10
        "EB*6**30",  # 11
        "LE*2120",  # 12: LE with no LS
        "EB**",  # 13: no EB01
        "AAA*N**",  # 14: no AAA03
    )
    read = read_271(text)
    assert _codes(read.problems) == [
        (5, "UNEXPECTED_SEGMENT"),
        (12, "UNEXPECTED_SEGMENT"),
        (13, "MISSING_ELEMENT"),
        (14, "MISSING_ELEMENT"),
    ]
    [member] = read.responses[0].members
    assert member.coverage.value == "inactive"


def test_277_claim_without_status_and_a_duplicate_hl() -> None:
    text = _file(
        "HN",
        "005010X212",
        "277",
        "BHT*0010*08*R*20240305*0700*DG",  # 3
        "HL*1**20*1",  # 4
        "NM1*PR*2*PAYER*****PI*1",  # 5
        "HL*2*1*21*1",  # 6
        "NM1*41*2*US*****46*ETIN",  # 7
        "HL*3*2*19*1",  # 8
        "NM1*1P*2*CLINIC*****XX*1234567893",  # 9
        "HL*4*3*22*0",  # 10
        "NM1*IL*1*DOE*JANE****MI*M1",  # 11
        "TRN*2*T1",  # 12: no STC follows
        "REF*EJ*CK1",  # 13
        "HL*4*3*22*0",  # 14: HL01 4 again
        "NM1*IL*1*ROE*RICH****MI*M2",  # 15
        "TRN*2*T2",  # 16
        "STC*F1:65*2024133*WQ*100",  # 17: STC02 not a date
        "SVC*HC:99213*100*80****1",  # 18: a line without STC
        "DTP*472*D8*20240301",  # 19
    )
    read = read_277(text)
    assert _codes(read.problems) == [
        (12, "MISSING_SEGMENT"),
        (14, "DUPLICATE_HL"),
        (17, "BAD_DATE"),
        (18, "MISSING_SEGMENT"),
    ]
    first, second = read.responses[0].claims
    assert (first.claim_key, first.reports) == ("CK1", [])
    assert (second.category, second.total_charge, second.reports[0].action_code) == ("F1", 100, "WQ")
    # the document view lists the same problems, in order
    doc = parse_document(text, "bad.277")
    assert [(p["segment"], p["code"]) for p in doc["problems"]] == _codes(read.problems)


def test_276_claim_segments_outside_a_claim_loop() -> None:
    text = _file(
        "HR",
        "005010X212",
        "276",
        "BHT*0010*13*R*20240305*0700",  # 3
        "HL*1**20*1",  # 4
        "NM1*PR*2*PAYER*****PI*1",  # 5
        "HL*2*1*21*1",  # 6
        "NM1*41*2*US*****46*ETIN",  # 7
        "HL*3*2*19*1",  # 8
        "REF*EJ*CK0",  # 9: REF before any TRN
        "NM1*1P*2*CLINIC*****XX*1234567893",  # 10
        "HL*4*3*22*0",  # 11
        "NM1*IL*1*DOE*JANE****MI*M1",  # 12
        "TRN*1*T1",  # 13
        "AMT*T3*12.3.4",  # 14: not a number
        "DTP*472*D8*2024-03-01",  # 15: not CCYYMMDD
    )
    read = read_276(text)
    assert _codes(read.problems) == [(9, "UNEXPECTED_SEGMENT"), (14, "BAD_NUMBER"), (15, "BAD_DATE")]
    [claim] = read.requests[0].claims
    assert (claim.trace, claim.claim_key, claim.total_charge) == ("T1", "", None)


def test_a_271_reader_given_a_277_reports_it() -> None:
    text = _file("HN", "005010X212", "277", "BHT*0010*08*R*20240305*0700*DG")
    read = read_271(text)
    assert read.responses == []
    assert _codes(read.problems) == [(2, "UNEXPECTED_TRANSACTION")]
