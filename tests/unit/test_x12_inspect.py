"""`revcycle x12 inspect FILE`: loop tree, problems inline, PHI masked unless --show-values."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import corpus_dir

from revcycle.cli import main
from revcycle.x12.tree import inspect_lines

COB = "837p/badx12__X222-COB-claim-from-billing-provider-to-payer-b.edi"


def _lines(name: str, show_values: bool = False) -> list[str]:
    path = corpus_dir() / name
    return list(inspect_lines(path, path.name, show_values=show_values))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def test_phi_is_masked_by_default_and_shown_on_request() -> None:
    masked = "\n".join(_lines(COB))
    # values read from the file by eye: subscriber SMITH JACK, member id 222334444, DOB 19431022, street
    for value in ("SMITH", "JACK", "222334444", "19431022", "236 N MAIN ST"):
        assert value not in masked
    assert "NM1*IL*1*###*###****MI*###" in masked  # qualifiers stay visible
    shown = "\n".join(_lines(COB, show_values=True))
    assert "NM1*IL*1*SMITH*JACK****MI*222334444" in shown


def test_loops_are_nested_by_their_structure() -> None:
    lines = _lines(COB)

    def at(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.strip().startswith(prefix))

    billing, subscriber, patient = at("2000A billing provider"), at("2000B subscriber"), at("2000C patient")
    claim, other, line3 = at("2300 claim"), at("2320 other subscriber"), at("2400 service line 3")
    assert billing < subscriber < patient < claim < other < line3
    depths = [_indent(lines[i]) for i in (billing, subscriber, patient, claim)]
    assert depths == sorted(depths) and len(set(depths)) == 4
    assert _indent(lines[other]) == _indent(lines[line3]) == _indent(lines[claim]) + 2
    # the file has 66 segments (ISA..IEA, counted by splitting on '~'): each appears once, with its position
    assert sum(1 for line in lines if line.strip().startswith("[")) == 66


def test_problems_are_printed_under_their_segment() -> None:
    lines = _lines("999/staedi__invalid999.edi")
    ik5 = next(i for i, line in enumerate(lines) if "[3] IK5*A" in line)
    assert lines[ik5 + 1].strip().startswith("!! UNEXPECTED_SEGMENT")
    se = next(i for i, line in enumerate(lines) if "] SE*16*" in line)
    assert "SE01_COUNT" in lines[se + 1]


def test_cli_inspect(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_dir() / "835" / "lfh__secondary-payment.835"
    assert main(["x12", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2110 service payment" in out and "!! COMPONENT_SEPARATOR_MISMATCH" in out
    assert "TOWNSEND" not in out  # NM1*QC last name in the file
    assert main(["x12", "inspect", str(path), "--show-values"]) == 0
    assert "TOWNSEND" in capsys.readouterr().out
    assert main(["x12", "inspect", str(path) + ".missing"]) == 2


def test_271_and_277_loops_and_masking() -> None:
    lines = _lines("270_271/lfh__dependent-health-benefit-check.271")
    text = "\n".join(lines)
    # 2000C subscriber HL*3, 2000D dependent HL*4 under it, five EB (2110) and one LS*2120 loop
    subscriber = next(i for i, line in enumerate(lines) if line.strip() == "2000C subscriber")
    dependent = next(i for i, line in enumerate(lines) if line.strip() == "2000D dependent")
    assert _indent(lines[dependent]) == _indent(lines[subscriber]) + 2
    assert sum(1 for line in lines if line.strip() == "2110 eligibility or benefit") == 5
    assert sum(1 for line in lines if line.strip() == "2120 benefit related entity") == 1
    for value in ("SMITH", "JOHN", "123456789", "19630519", "BROADWAY", "MARCUS"):
        assert value not in text
    lines = _lines("276_277/lfh__claim-level-status.277")
    assert sum(1 for line in lines if line.strip() == "2200 claim status tracking") == 3  # three TRN*2
    assert sum(1 for line in lines if line.strip() == "2000E dependent") == 1
    assert "NM1*QC*1*###*###" in "\n".join(lines)


def test_isa_authorization_and_security_information_are_always_masked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # ISA02 (authorization information) and ISA04 (security information, the password) sit at fixed
    # offsets 7-17 and 21-31 of the 106-character ISA ("ISA*" + ISA01 2 + "*" ..., X12 5010 envelope).
    data = (corpus_dir() / "999" / "staedi__simple999.edi").read_bytes()
    assert data[:4] == b"ISA*" and data[17:18] == b"*" and data[20:21] == b"*"
    secret = data[:4] + b"03*AUTHOR0001*01*PASSW0RD42" + data[31:]
    path = tmp_path / "secret.999"
    path.write_bytes(secret)
    for flags in ([], ["--show-values"]):  # credentials are no PHI to show on request
        assert main(["x12", "inspect", str(path), *flags]) == 0
        out = capsys.readouterr().out
        assert "PASSW0RD42" not in out and "AUTHOR0001" not in out
        # the qualifiers stay, and the masked fields keep their width so the ISA stays 106 characters
        assert "ISA*03*##########*01*##########*" in out
