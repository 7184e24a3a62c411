"""The X12 tokenizer: delimiters, encodings, layouts, envelope checks, streaming, and no exceptions."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from corpus import corpus_dir

import revcycle.x12.reader as reader
from revcycle.x12.reader import Delimiters, Problem, read_segments


def _read(source: object) -> tuple[list[reader.Segment], list[Problem]]:
    problems: list[Problem] = []
    segments = list(read_segments(source, problems))  # type: ignore[arg-type]
    return segments, problems


def _naive_ids(text: str, terminator: str, element: str) -> list[str]:
    """Segment ids by plain splitting: valid only for files whose delimiters are known beforehand."""
    return [part.strip().split(element)[0] for part in text.split(terminator) if part.strip()]


def _isa(
    element: str = "*",
    repetition: str = "^",
    component: str = ":",
    terminator: str = "~",
    control: str = "000000001",
    version: str = "00501",
) -> str:
    e = element
    return (
        f"ISA{e}00{e}          {e}00{e}          {e}ZZ{e}SENDER         {e}ZZ{e}RECEIVER       {e}"
        f"240101{e}1200{e}{repetition}{e}{version}{e}{control}{e}0{e}T{e}{component}{terminator}"
    )


def _interchange(
    st_count: str = "4", se02: str = "0001", ge01: str = "1", iea01: str = "1", iea02: str = "000000001"
) -> str:
    return (
        _isa() + "GS*HC*S*R*20240101*1200*7*X*005010X222A1~ST*837*0001*005010X222A1~"
        "BHT*0019*00*1*20240101*1200*CH~REF*87*X~" + f"SE*{st_count}*{se02}~GE*{ge01}*7~"
        f"IEA*{iea01}*{iea02}~"
    )


# -------------------------------------------------------------------------------------------------------
# hand-made envelopes


def test_standard_isa_delimiters_and_elements() -> None:
    segments, problems = _read(_interchange())
    assert problems == []
    assert [s.id for s in segments] == ["ISA", "GS", "ST", "BHT", "REF", "SE", "GE", "IEA"]
    isa = segments[0]
    assert isa.delimiters == Delimiters("*", ":", "^", "~")
    assert len(isa.elements) == 16 and isa.get(13) == "000000001" and isa.get(16) == ":"
    assert [s.index for s in segments] == list(range(8))


def test_segment_accessors() -> None:
    text = (
        _isa() + "GS*HC*S*R*20240101*1200*7*X*005010X222A1~ST*837*0001~SV1*HC:99213:25:59*100*UN*1~"
        "EB*1**1^33^35~SE*4*0001~GE*1*7~IEA*1*000000001~"
    )
    segments, problems = _read(text)
    assert problems == []
    sv1 = next(s for s in segments if s.id == "SV1")
    assert sv1.get(1) == "HC:99213:25:59"
    assert sv1.components(1) == ["HC", "99213", "25", "59"]
    assert sv1.get(9) == "" and sv1.get(9, "x") == "x" and sv1.components(9) == []
    eb = next(s for s in segments if s.id == "EB")
    assert eb.repetitions(3) == ["1", "33", "35"]


def test_wrong_se01_count_is_a_problem() -> None:
    # ST, BHT, REF, SE = 4 segments; the trailer claims 5
    _, problems = _read(_interchange(st_count="5"))
    assert [p.code for p in problems] == ["SE01_COUNT"]
    assert problems[0].segment == 5  # the SE is the 6th segment


def test_control_number_and_count_mismatches() -> None:
    _, problems = _read(_interchange(se02="0002", ge01="2", iea01="3", iea02="000000009"))
    codes = sorted(p.code for p in problems)
    assert codes == ["CONTROL_MISMATCH", "CONTROL_MISMATCH", "GE01_COUNT", "IEA01_COUNT"]


def test_truncated_file_reports_missing_trailers() -> None:
    text = _interchange()
    cut = text[: text.index("SE*")]
    segments, problems = _read(cut)
    assert [s.id for s in segments] == ["ISA", "GS", "ST", "BHT", "REF"]
    assert {"MISSING_SE", "MISSING_GE", "MISSING_IEA"} <= {p.code for p in problems}


def test_truncated_inside_isa() -> None:
    segments, problems = _read(_interchange()[:60])
    assert segments == []
    assert {p.code for p in problems} & {"BAD_ISA", "ISA_NOT_FOUND"}


def test_no_isa_at_all() -> None:
    segments, problems = _read(b"hello, this is not X12\n")
    assert segments == []
    assert "ISA_NOT_FOUND" in {p.code for p in problems}


def test_empty_input() -> None:
    segments, problems = _read(b"")
    assert segments == [] and [p.code for p in problems] == ["ISA_NOT_FOUND"]


def test_random_bytes_never_raise() -> None:
    rnd = random.Random(20240101)
    good = _interchange().encode()
    for i in range(400):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
        if i % 4 == 1:
            data = b"ISA" + data
        elif i % 4 == 2:  # a real interchange with a random slice of bytes overwritten
            at = rnd.randrange(len(good))
            data = good[:at] + data + good[at + len(data) :]
        segments, problems = _read(data)
        if b"ISA" not in data:
            assert segments == [] and "ISA_NOT_FOUND" in {p.code for p in problems}


def test_two_interchanges_with_different_delimiters() -> None:
    first = _interchange()
    second = (
        _isa(element="|", repetition="!", component="^", terminator="\n", control="000000002")
        + "GS|HC|S|R|20240101|1200|8|X|005010X222A1\nST|837|0002\nSE|2|0002\nGE|1|8\nIEA|1|000000002\n"
    )
    segments, problems = _read(first + "\r\n" + second)
    assert problems == []
    isas = [s for s in segments if s.id == "ISA"]
    assert [s.delimiters for s in isas] == [Delimiters("*", ":", "^", "~"), Delimiters("|", "^", "!", "\n")]
    assert [s.id for s in segments][8:] == ["ISA", "GS", "ST", "SE", "GE", "IEA"]


def test_alphanumeric_isa11_means_no_repetition_separator() -> None:
    segments, _ = _read(_isa(repetition="U") + "IEA*0*000000001~")
    assert segments[0].delimiters.repetition is None
    segments, _ = _read(_isa(repetition="^", version="00401") + "IEA*0*000000001~")
    assert segments[0].delimiters.repetition is None


def test_control_character_repetition_separator() -> None:
    # ISA11 0x1D (group separator): Python counts it as whitespace, X12 allows it as a delimiter
    text = _isa(repetition="\x1d") + "GS*HB*S*R*20240101*1200*7*X*005010X279A1~ST*271*0001~EB*1**30\x1d1\x1d98~"
    segments, _ = _read(text + "SE*3*0001~GE*1*7~IEA*1*000000001~")
    assert segments[0].delimiters.repetition == "\x1d"
    assert segments[3].repetitions(3) == ["30", "1", "98"]


def test_utf16_with_bom_both_byte_orders() -> None:
    text = _interchange()
    for encoding in ("utf-16", "utf-16-be", "utf-16-le"):
        data = text.encode(encoding)
        if encoding != "utf-16":
            data = ("\ufeff" + text).encode(encoding)
        segments, problems = _read(data)
        assert problems == [], encoding
        assert [s.id for s in segments] == ["ISA", "GS", "ST", "BHT", "REF", "SE", "GE", "IEA"]


def test_leading_whitespace_indentation_and_blank_lines() -> None:
    text = "\n\n   " + _interchange().replace("~", "~\r\n\r\n\t    ")
    segments, problems = _read(("\ufeff" + text).encode("utf-8"))
    assert problems == []
    assert len(segments) == 8


def test_streaming_reads_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "".join(f"REF*87*{i:08d}~" for i in range(200_000))
    data = (
        _isa()
        + "GS*HC*S*R*20240101*1200*7*X*005010X222A1~ST*837*0001~"
        + body
        + "SE*200002*0001~GE*1*7~IEA*1*000000001~"
    ).encode()
    handle = io.BytesIO(data)
    segments = read_segments(handle)
    for _ in range(10):
        next(segments)
    assert handle.tell() <= 2 * reader.CHUNK_SIZE < len(data)
    problems: list[Problem] = []
    # ISA, GS, ST, 200 000 REF, SE, GE, IEA
    assert sum(1 for _ in read_segments(io.BytesIO(data), problems)) == 200_006
    assert problems == []


# -------------------------------------------------------------------------------------------------------
# corpus files with odd delimiters and encodings


def _corpus(relative: str) -> Path:
    return corpus_dir() / relative


def test_utf8_bom_crlf_indented() -> None:
    path = _corpus("837p/oopfactory__Example1_HealthInsurance.txt")
    text = path.read_bytes().decode("utf-8-sig")
    segments, problems = _read(path)
    assert [s.id for s in segments] == _naive_ids(text, "~", "*")
    assert problems == []


def test_utf16le_without_bom() -> None:
    path = _corpus("837p/oopfactory__UnicodeExample.txt")
    raw = path.read_bytes()
    assert raw[1] == 0 and raw[:2] != b"\xff\xfe"  # really UTF-16LE without a byte-order mark
    segments, problems = _read(path)
    # the file ends after "NM1*41~" followed by a lone U+00A0 (read off the decoded file)
    assert [s.id for s in segments] == ["ISA", "GS", "ST", "BHT", "NM1"]
    assert segments[1].get(2) == "t393447"
    assert {"MISSING_SE", "MISSING_GE", "MISSING_IEA"} <= {p.code for p in problems}


def test_cr_segment_terminator() -> None:
    path = _corpus("837p/oopfactory__ST1309-XX.txt")
    text = path.read_bytes().decode("utf-8-sig")
    segments, _ = _read(path)
    assert segments[0].delimiters.segment == "\r"
    assert [s.id for s in segments] == _naive_ids(text, "\r", "*")
    assert segments[-1].id == "IEA"


def test_tilde_element_separator_underscore_terminator() -> None:
    path = _corpus("837p/imsweb__x12_valid_different_separators.txt")
    segments, _ = _read(path)
    assert segments[0].delimiters == Delimiters("~", "^", None, "_")
    assert [s.id for s in segments] == _naive_ids(path.read_text(), "_", "~")
    assert [s.get(1) for s in segments if s.id == "CLM"] == ["A37YH556", "A37YH667"]


def test_unpadded_isa() -> None:
    path = _corpus("envelope/tigershark__837-example_unpadded-ISA.txt")
    segments, problems = _read(path)
    assert segments[0].delimiters == Delimiters("*", ":", None, "~")
    assert segments[0].get(13) == "000000002"
    assert [s.id for s in segments] == _naive_ids(path.read_text(), "~", "*")
    assert [p.code for p in problems] == ["ISA_LENGTH"]


def test_isa_of_105_characters() -> None:
    segments, problems = _read(_corpus("envelope/imsweb__x12_bad_first_line.txt"))
    assert segments[0].get(2) == " " * 9  # ISA02 is one character short of its 10
    assert segments[0].get(4) == "SECRET    "
    assert "ISA_LENGTH" in {p.code for p in problems}


def test_control_character_terminator() -> None:
    path = _corpus("270_271/oopfactory__270_Example1_IG_0x1D.txt")
    segments, _ = _read(path)
    assert segments[0].delimiters == Delimiters("*", ":", None, "\x1d")
    assert [s.id for s in segments] == _naive_ids(path.read_text(), "\x1d", "*")


def test_lf_terminator_isa_only() -> None:
    segments, problems = _read(_corpus("envelope/badx12__segment_terminator.edi"))
    assert [s.id for s in segments] == ["ISA"]
    assert segments[0].delimiters.segment == "\n"
    assert "MISSING_IEA" in {p.code for p in problems}


def test_multiple_interchanges_and_groups() -> None:
    segments, _ = _read(_corpus("837p/imsweb__x12_multiple_isa.txt"))
    assert [s.id for s in segments].count("ISA") == 2
    assert [s.id for s in segments].count("IEA") == 2
    segments, problems = _read(_corpus("837p/imsweb__x12_multiple_gs.txt"))
    assert [s.id for s in segments].count("GS") == 3
    # the file's IEA01 says 1 although it holds three groups
    assert "IEA01_COUNT" in {p.code for p in problems}


def test_junk_before_segment_ids_is_skipped() -> None:
    # this file's terminator is LF and every line starts with '~'
    segments, problems = _read(_corpus("835/tigershark__835-example.txt"))
    assert [s.id for s in segments][:4] == ["ISA", "GS", "ST", "BPR"]
    assert "JUNK_BEFORE_SEGMENT" in {p.code for p in problems}


@pytest.mark.parametrize("chunk", [1, 3, 17, 4096])
def test_chunk_boundaries_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    names = [
        "835/oopfactory__835_WithMultipleInterchanges.txt",
        "837p/oopfactory__UnicodeExample.txt",
        "837p/imsweb__x12_multiple_isa.txt",
        "837p/oopfactory__ST1309-XX.txt",
        "270_271/oopfactory__270_Example1_IG_0x1D.txt",
        "835/tigershark__835-example.txt",
    ]
    expected = {name: _read(_corpus(name)) for name in names}
    monkeypatch.setattr(reader, "CHUNK_SIZE", chunk)
    for name in names:
        assert _read(_corpus(name)) == expected[name], name


def test_every_corpus_file_reads_without_exception() -> None:
    for path in sorted(corpus_dir().glob("*/*")):
        if path.parent.name == "LICENSES" or path.suffix == ".md":
            continue
        segments, problems = _read(path)
        assert segments or problems, path.name
        assert segments[0].id == "ISA", path.name
