"""Pieces the HL-structured inquiry transactions share (270/271, 276/277): HL checks, names, traces, dates.

Everything reports into the caller's problem list and never raises; messages name segment ids, positions
and codes, never element values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from revcycle.x12.reader import Problem, Segment
from revcycle.x12.x835 import parse_date


@dataclass(frozen=True)
class Name:
    """An NM1 segment: entity code, entity type (1 person, 2 organisation), name parts and identifier."""

    entity: str
    entity_type: str = ""
    last: str = ""
    first: str = ""
    middle: str = ""
    suffix: str = ""
    id_qualifier: str = ""
    identifier: str = ""

    @property
    def is_person(self) -> bool:
        """NM102 1: a person (whose name is PHI when it is a patient or subscriber)."""
        return self.entity_type == "1"


def read_name(seg: Segment) -> Name:
    """The NM1 segment as a Name."""
    return Name(
        seg.get(1).strip(),
        seg.get(2).strip(),
        seg.get(3).strip(),
        seg.get(4).strip(),
        seg.get(5).strip(),
        seg.get(7).strip(),
        seg.get(8).strip(),
        seg.get(9).strip(),
    )


@dataclass(frozen=True)
class Trace:
    """A TRN segment: trace type (1 current transaction, 2 referenced transaction), number, originator."""

    trace_type: str
    number: str
    originator: str = ""
    secondary: str = ""


def read_trace(seg: Segment) -> Trace:
    """The TRN segment as a Trace."""
    return Trace(seg.get(1).strip(), seg.get(2).strip(), seg.get(3).strip(), seg.get(4).strip())


@dataclass(frozen=True)
class DatePeriod:
    """A DTP date or date range: qualifier (DTP01), first day and, for an RD8 range, the last day."""

    qualifier: str
    start: date | None
    end: date | None = None
    segment: int = -1


def read_period(seg: Segment, fmt_pos: int, value_pos: int, problems: list[Problem], what: str) -> DatePeriod:
    """The D8 date or RD8 range at (format element, value element) of ``seg``; bad input becomes a problem."""
    fmt = seg.get(fmt_pos).strip()
    value = seg.get(value_pos).strip()
    qualifier = seg.get(1).strip() if seg.id == "DTP" else ""
    if fmt == "D8":
        return DatePeriod(qualifier, parse_date(value, seg, problems, what), None, seg.index)
    if fmt == "RD8":
        first, sep, last = value.partition("-")
        if not sep:
            problems.append(Problem(seg.index, "BAD_DATE", f"{what} in {seg.id} is not a CCYYMMDD-CCYYMMDD range"))
            return DatePeriod(qualifier, None, None, seg.index)
        start = parse_date(first, seg, problems, what)
        end = parse_date(last, seg, problems, what)
        if start is not None and end is not None and end < start:
            problems.append(Problem(seg.index, "BAD_DATE", f"{what} in {seg.id} ends before it starts"))
        return DatePeriod(qualifier, start, end, seg.index)
    if fmt or value:
        problems.append(Problem(seg.index, "BAD_DATE", f"{what} in {seg.id} has date format {fmt!r}, not D8 or RD8"))
    return DatePeriod(qualifier, None, None, seg.index)


def read_dtp(seg: Segment, problems: list[Problem]) -> DatePeriod:
    """A DTP segment (DTP01 qualifier, DTP02 D8 or RD8, DTP03 value)."""
    return read_period(seg, 2, 3, problems, f"DTP03 ({seg.get(1).strip() or 'no qualifier'})")


class Hierarchy:
    """Checks the HL segments of one transaction set: unique ids, known parents, levels in their place.

    ``parents`` maps each HL03 level code the transaction allows to the level codes its parent may have
    ("" for a level with no parent).
    """

    def __init__(self, parents: Mapping[str, frozenset[str]], problems: list[Problem]) -> None:
        self.parents = parents
        self.problems = problems
        self.levels: dict[str, str] = {}

    def add(self, seg: Segment) -> str:
        """Record one HL segment and return its level code (HL03); problems for anything out of place."""
        ident = seg.get(1).strip()
        parent = seg.get(2).strip()
        level = seg.get(3).strip()
        if not ident:
            self.problems.append(Problem(seg.index, "MISSING_ELEMENT", "HL without HL01"))
        elif ident in self.levels:
            self.problems.append(Problem(seg.index, "DUPLICATE_HL", f"HL01 {ident} is used twice"))
        allowed = self.parents.get(level)
        if allowed is None:
            self.problems.append(Problem(seg.index, "UNEXPECTED_HL_LEVEL", f"HL03 {level!r} is not a level here"))
        elif parent and parent not in self.levels:
            self.problems.append(Problem(seg.index, "BAD_HL_PARENT", f"HL02 {parent} names no earlier HL"))
        elif (self.levels.get(parent, "") if parent else "") not in allowed:
            where = f"level {self.levels[parent]}" if parent else "no parent"
            self.problems.append(
                Problem(seg.index, "BAD_HL_PARENT", f"HL level {level} cannot sit under {where} (HL02)")
            )
        if ident:
            self.levels.setdefault(ident, level)
        return level
