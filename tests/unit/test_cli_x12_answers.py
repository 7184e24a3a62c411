"""`revcycle x12 parse FILE` shows what a person reads first, and exits 1 when it lists problems.

Before: a rejected 999 printed ``999 │ 95832987 │ 0`` without its R, an 835 no payer and no amounts, and
the command exited 0 whatever it listed. Expected values below are read from the corpus files by eye.
"""

from __future__ import annotations

import json

import pytest
from corpus import corpus_dir

from revcycle.cli import main


def _parse(name: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["x12", "parse", str(corpus_dir() / name), *extra])
    return code, capsys.readouterr().out


def test_a_partly_rejected_999_shows_its_code_the_rejected_sets_and_their_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # staedi__simple999.edi: AK9*P*3*3*1; AK2*837*0001 IK5*A; AK2*837*0002 IK3*CLM*22**8 IK4*2*782*1 IK5*R*5;
    # AK2*837*0003 IK3*REF*57**3 IK5*R*5
    code, out = _parse("999/staedi__simple999.edi", capsys)
    assert code == 1
    assert "P partially accepted" in out
    assert "3 included, 3 received, 1 accepted" in out
    lines = out.splitlines()
    rejected = [line for line in lines if "rejected" in line and "set 837" in line]
    assert [line.split("set 837 ")[1].split(":")[0] for line in rejected] == ["0002", "0003"]
    assert "IK5 5" in rejected[0] and "CLM at segment 22: 8" in rejected[0] and "element 2 (782): 1" in rejected[0]
    assert "IK5 5" in rejected[1] and "REF at segment 57: 3" in rejected[1]
    assert "set 837 0001" not in out  # an accepted set is not a problem to list


def test_a_rejected_999_shows_r(capsys: pytest.CaptureFixture[str]) -> None:
    # imsweb__x12_999_rejected.txt: AK2*837*0028, IK3*NM*17**1, IK5*R*5, AK9*R*1*1*0
    code, out = _parse("999/imsweb__x12_999_rejected.txt", capsys)
    assert code == 1
    assert "R rejected" in out
    assert "set 837 0028: R rejected" in out


def test_an_accepted_999_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # pyx12__834_ls_le_ls_5010.999.txt: IK5*A, AK9*A*1*1*1, and the reader finds no problem in the file
    code, out = _parse("999/pyx12__834_ls_le_ls_5010.999.txt", capsys)
    assert code == 0
    assert "A accepted" in out
    assert "no problems" in out


def test_a_277ca_shows_accepted_and_rejected_claims(capsys: pytest.CaptureFixture[str]) -> None:
    # imsweb__x12_277CA_rejected.txt: one claim, TRN*2*3920394930203, STC*A7:562:85 (A7 = rejected)
    code, out = _parse("277ca/imsweb__x12_277CA_rejected.txt", capsys)
    assert code == 1
    assert "0 accepted, 1 rejected" in out
    assert "claim 3920394930203 rejected: A7:562 (entity 85)" in out
    # imsweb__x12_277CA_accepted.txt: the one claim (HL*4 PT, TRN*2*5781) has STC*A2:20 (A2 = accepted)
    code, out = _parse("277ca/imsweb__x12_277CA_accepted.txt", capsys)
    assert code == 0
    assert "1 accepted, 0 rejected" in out


def test_an_835_shows_payer_payee_payment_and_claim_totals(capsys: pytest.CaptureFixture[str]) -> None:
    # BPR*I*810.8*C*CHK...*20140331; TRN*1*12345; N1*PR*DENTAL OF ABC; N1*PE*BAN DDS LLC; nine CLP with
    # charges 226+119+226+1145+348+226+179+129+221 = 2819, paid 132+74+108+14+16.8+132+108+82+144 = 810.8,
    # patient responsibility 24+902+44.2 = 970.2
    code, out = _parse("835/badx12__X221-multiple-claims-single-check.edi", capsys)
    assert code == 0
    assert "payer DENTAL OF ABC" in out
    assert "payee BAN DDS LLC" in out
    assert "810.8 by CHK on 2014-03-31, trace 12345" in out
    assert "9 claims: charged 2819, paid 810.8, patient responsibility 970.2" in out


def test_problems_found_exit_1_in_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    # staedi__invalid999.edi has an IK5 out of place and a wrong SE01: the reader lists problems
    code, out = _parse("999/staedi__invalid999.edi", capsys, "--json")
    assert code == 1
    assert json.loads(out)["problems"]
    code, out = _parse("999/staedi__invalid999.edi", capsys)
    assert code == 1
    assert "UNEXPECTED_SEGMENT" in out and "SE01_COUNT" in out


def test_the_999_row_counts_the_transaction_sets_it_answers(capsys: pytest.CaptureFixture[str]) -> None:
    # oopfactory__999_DHS_Wisconsin_Sample.txt, counted by hand: one 999 (ST02 2870001) answering three 837s,
    # AK2*837*0001 (IK5*A), AK2*837*002 (IK5*R), AK2*837*0003 (IK5*R); AK9*P*3*3*1 agrees: 3 sets.
    _, out = _parse("999/oopfactory__999_DHS_Wisconsin_Sample.txt", capsys)
    header = next(line for line in out.splitlines() if "Transaction" in line)
    row = next(line for line in out.splitlines() if "2870001" in line and "│" in line)
    assert [cell.strip() for cell in row.strip("│").split("│")] == ["999", "2870001", "P partially accepted", "3"]
    assert [cell.strip() for cell in header.strip("│").split("│")][-1] == "Claims/sets/members"
