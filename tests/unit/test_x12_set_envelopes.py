"""Per-set integrity from the reader: each ST..SE gets its envelope, its own problems and its group's and
interchange's, and ``revcycle.refusals`` turns them into one refusal code (or none).

The files are written by hand here; the comments count their segments.
"""

from __future__ import annotations

import pytest

from revcycle.refusals import MESSAGES, envelope_refusal
from revcycle.x12.reader import TransactionSetEnvelope, read_segments
from revcycle.x12.x835 import iter_835, read_835

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*000000007*0*T*:~"


def _set(control: str, body: list[str], se01: int | None = None, se02: str | None = None) -> list[str]:
    # ST + body + SE: the SE01 count is len(body) + 2 unless told otherwise
    count = len(body) + 2 if se01 is None else se01
    return [f"ST*835*{control}", *body, f"SE*{count}*{se02 or control}"]


BODY = ["BPR*I*10*C*CHK************20260101", "TRN*1*T{n}*1123456789", "N1*PR*PAYER", "N1*PE*CLINIC*XX*1234567893"]


def _body(n: int) -> list[str]:
    return [s.replace("{n}", str(n)) for s in BODY]


def _file(*groups: list[list[str]], ge01: list[int] | None = None, iea01: int | None = None) -> str:
    segments = [ISA]
    for number, sets in enumerate(groups, start=1):
        segments.append(f"GS*HP*S*R*20260101*1200*{number}*X*005010X221A1")
        for one in sets:
            segments.extend(one)
        count = len(sets) if ge01 is None else ge01[number - 1]
        segments.append(f"GE*{count}*{number}")
    segments.append(f"IEA*{len(groups) if iea01 is None else iea01}*000000007")
    return "~".join(s.rstrip("~") for s in segments) + "~"


def _envelopes(text: str) -> list[TransactionSetEnvelope]:
    sets: list[TransactionSetEnvelope] = []
    list(read_segments(text, [], sets))
    return sets


def _codes(sets: list[TransactionSetEnvelope]) -> list[str | None]:
    return [None if (r := envelope_refusal(s)) is None else r.code for s in sets]


def test_intact_sets_have_no_refusal_and_know_their_place() -> None:
    sets = _envelopes(_file([_set("0001", _body(1)), _set("0002", _body(2))]))
    assert [(s.ordinal, s.set_id, s.control_number) for s in sets] == [(1, "835", "0001"), (2, "835", "0002")]
    # ISA=0, GS=1, ST=2 .. SE=7 (six segments), ST=8 .. SE=13
    assert [(s.start, s.end) for s in sets] == [(2, 7), (8, 13)]
    assert _codes(sets) == [None, None]
    assert sets[0].group is sets[1].group and sets[0].interchange is sets[1].interchange


@pytest.mark.parametrize(
    ("second", "code"),
    [
        (_set("0002", _body(2), se01=5), "SE01_COUNT"),  # six segments, SE01 says five
        (_set("0002", _body(2), se02="0009"), "SE02_MISMATCH"),
        (["ST*835*0002", *_body(2)], "MISSING_SE"),  # the next GE closes it
        (_set("0002", [*_body(2)[:2], "N1*PR*PAYER", "1X*BAD"]), "BAD_SEGMENT_ID"),
    ],
)
def test_a_broken_set_is_refused_alone(second: list[str], code: str) -> None:
    sets = _envelopes(_file([_set("0001", _body(1)), second, _set("0003", _body(3))], ge01=[3]))
    assert _codes(sets) == [None, code, None]
    assert code in MESSAGES


def test_a_file_cut_inside_a_segment_refuses_the_set_it_cuts() -> None:
    text = _file([_set("0001", _body(1)), _set("0002", _body(2))])
    cut = text[: text.index("N1*PR*PAYER", text.index("ST*835*0002")) + len("N1*PR*PA")]
    sets = _envelopes(cut)
    # the first set is intact in itself, but its group and interchange have no trailers
    assert [s.problems and s.problems[0].code for s in sets] == [[], "MISSING_TERMINATOR"]
    assert [p.code for p in sets[1].problems] == ["MISSING_TERMINATOR", "MISSING_SE"]
    assert _codes(sets) == ["MISSING_GE", "MISSING_TERMINATOR"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [({"ge01": [1, 1]}, "GE01_COUNT"), ({"iea01": 3}, "IEA01_COUNT")],
)
def test_a_group_or_interchange_error_covers_exactly_its_sets(kwargs: dict[str, object], code: str) -> None:
    # group 1 holds two sets and group 2 one; GE01 of group 1 says one
    text = _file([_set("0001", _body(1)), _set("0002", _body(2))], [_set("0003", _body(3))], **kwargs)  # type: ignore[arg-type]
    expected = {"GE01_COUNT": [code, code, None], "IEA01_COUNT": [code, code, code]}[code]
    assert _codes(_envelopes(text)) == expected


def test_a_set_outside_any_group_is_refused() -> None:
    text = ISA + "~".join(_set("0001", _body(1))) + "~IEA*0*000000007~"
    assert _codes(_envelopes(text)) == ["ST_OUTSIDE_GROUP"]


def test_damage_lands_in_the_right_set_across_many_read_batches() -> None:
    # 400 sets of six segments are read in many batches; set 250 has a bad segment id, set 399 a wrong SE01
    sets_in = [_set(f"{n:04d}", _body(n)) for n in range(1, 401)]
    sets_in[249] = _set("0250", [*_body(250)[:3], "1X*BAD"])
    sets_in[398] = _set("0399", _body(399), se01=9)
    sets = _envelopes(_file(sets_in))
    assert len(sets) == 400
    refused = {s.ordinal: code for s, code in zip(sets, _codes(sets), strict=True) if code is not None}
    assert refused == {250: "BAD_SEGMENT_ID", 399: "SE01_COUNT"}


def test_the_835_readers_hand_out_the_envelopes_too() -> None:
    text = _file([_set("0001", _body(1)), _set("0002", _body(2), se01=3)])
    parsed = read_835(text)
    assert [s.control_number for s in parsed.sets] == ["0001", "0002"]
    assert [r.segment for r in parsed.remittances] == [s.start for s in parsed.sets]
    streamed: list[TransactionSetEnvelope] = []
    for _event in iter_835(text, [], streamed):
        pass
    assert _codes(streamed) == [None, "SE01_COUNT"]
