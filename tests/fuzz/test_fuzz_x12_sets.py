"""The independent splitter behind the set-grain invariant: intact, broken and undecided, judged by hand."""

from __future__ import annotations

import pytest

from fuzz import x12_sets

ISA = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *240501*0800*^*00501*000000001*0*T*:~"


def _file(*sets: str, ge01: str = "1", iea01: str = "1") -> bytes:
    return (
        ISA
        + "GS*HP*PAYER*CLINIC*20240501*0800*1*X*005010X221A1~"
        + "".join(sets)
        + f"GE*{ge01}*1~IEA*{iea01}*000000001~"
    ).encode()


# ST, BPR, TRN, CLP, SE: five segments from ST to SE
GOOD = "ST*835*0001~BPR*I*10*C*CHK************20240501~TRN*1*CHK1*1999999999~CLP*K1*1*10*10**12*P1~SE*5*0001~"


def test_an_intact_set_and_its_trace() -> None:
    parts = x12_sets.split(_file(GOOD))
    assert parts.decided
    [found] = parts.sets
    assert (found.set_id, found.control, found.state, found.trace, found.payer) == (
        "835",
        "0001",
        "intact",
        "CHK1",
        "1999999999",
    )


@pytest.mark.parametrize(
    ("body", "state"),
    [
        (GOOD.replace("SE*5*", "SE*6*"), "broken"),  # SE01 says 6, the set has 5
        (GOOD.replace("SE*5*0001", "SE*5*0002"), "broken"),  # SE02 is not the ST02
        (GOOD.replace("SE*5*0001~", ""), "broken"),  # no SE before the GE
        (GOOD.replace("SE*5*", "SE*005*"), "intact"),  # leading zeros are the same count
        (GOOD.replace("SE*5*", "SE*\u00b9*"), "undecided"),  # not plain digits: another reader may differ
    ],
)
def test_set_states(body: str, state: str) -> None:
    [found] = x12_sets.split(_file(body)).sets
    assert found.state == state


def test_a_file_cut_inside_a_claim_leaves_its_set_broken() -> None:
    data = _file(GOOD)
    [found] = x12_sets.split(data[: data.index(b"CLP") + 6]).sets
    assert found.state == "broken"


def test_a_set_cut_off_by_the_next_st_is_broken_and_the_next_one_intact() -> None:
    cut = GOOD.replace("SE*5*0001~", "")
    second = GOOD.replace("0001", "0002").replace("CHK1", "CHK2")
    assert [(s.control, s.state) for s in x12_sets.split(_file(cut, second)).sets] == [
        ("0001", "broken"),
        ("0002", "intact"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        _file(GOOD.replace("~SE*", "~xSE*")),  # a damaged id that a lenient reader may still read as SE
        _file(GOOD).decode().encode("utf-16-le"),  # UTF-16: not this splitter's job
        b"junk before the interchange " + _file(GOOD),
        b"no interchange at all",
    ],
)
def test_what_the_splitter_cannot_judge_is_undecided(data: bytes) -> None:
    assert not x12_sets.split(data).decided


def test_blank_segments_and_line_ends_are_not_counted() -> None:
    body = GOOD.replace("~", "~\r\n").replace("TRN", "\x00~TRN")
    [found] = x12_sets.split(_file(body)).sets
    assert found.state == "intact"


def test_recount_makes_every_trailer_agree() -> None:
    data = _file(GOOD.replace("SE*5*0001", "SE*9*0007"), GOOD.replace("0001", "0002"), ge01="7", iea01="3")
    parts = x12_sets.split(data, exact=True)
    x12_sets.recount(parts)
    again = x12_sets.split(x12_sets.join(parts))
    assert [s.state for s in again.sets] == ["intact", "intact"]
    trailers = {seg[0]: seg[1] for seg in again.segments if seg[0] in ("GE", "IEA")}
    assert trailers == {"GE": "2", "IEA": "1"}


def test_an_exact_split_writes_the_same_bytes_back() -> None:
    data = _file(GOOD.replace("~", "~\n"))
    assert x12_sets.join(x12_sets.split(data, exact=True)) == data
