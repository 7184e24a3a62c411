"""`revcycle x12 parse` on every corpus 270, 271, 276 and 277: clean files exit 0, the two with a known
fault exit 1 and name it. Expected values read from the files by eye (see the comments)."""

from __future__ import annotations

import json

import pytest
from corpus import corpus_dir

from revcycle.cli import main

# file, ST01, ST02, members or claims counted by hand (HL 22/23 with a 270/271 member; TRN with a claim)
CLEAN = [
    ("270_271/lfh__dependent-health-benefit-check.270", "270", "1234", 2),  # HL*3 22, HL*4 23
    ("270_271/lfh__dependent-health-benefit-check.271", "271", "4321", 2),  # HL*3 22, HL*4 23
    ("270_271/oopfactory__270_Example1_IG_0x1D.txt", "270", "1234", 1),  # HL*3 22 only
    ("276_277/lfh__claim-level-status.276", "276", "0001", 3),  # TRN*1 ABCXYZ1, ABCXYZ2, ABCXYZ3
    ("276_277/lfh__claim-level-status.277", "277", "0001", 3),  # TRN*2 ABCXYZ1, ABCXYZ2, ABCXYC3
]
# file, the segment position of the fault (ISA = 0) and its message
FAULTY = [
    # SE*8*4323 at position 9 while ST*271*4321
    ("270_271/lfh__subscriber-health-benefit-check-error.271", 9, "SE02 '4323' does not match ST02 '4321'"),
    # IEA*1*842928883 at position 110 while ISA13 is 000000001
    ("276_277/imsweb__x12_277_x212.txt", 110, "IEA02 '842928883' does not match ISA13 '000000001'"),
]


def _run(name: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["x12", "parse", *extra, str(corpus_dir() / name)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(("name", "set_id", "control", "count"), CLEAN)
def test_a_clean_inquiry_file_exits_0(
    name: str, set_id: str, control: str, count: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(name, capsys)
    assert code == 0
    assert out.rstrip().endswith("no problems")
    code, out = _run(name, capsys, "--json")
    document = json.loads(out)
    assert document["problems"] == []
    [tx] = document["transactions"]
    assert (tx["type"], tx["control_number"]) == (set_id, control)
    held = tx.get("members") or tx.get("inquiries") or tx.get("claims")
    assert len(held) == count


@pytest.mark.parametrize(("name", "segment", "message"), FAULTY)
def test_a_known_fault_is_reported_and_exits_1(
    name: str, segment: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(name, capsys)
    assert code == 1
    assert f"problem at segment {segment}: CONTROL_MISMATCH: {message}" in out
    code, out = _run(name, capsys, "--json")
    assert [(p["code"], p["segment"]) for p in json.loads(out)["problems"]] == [("CONTROL_MISMATCH", segment)]
