"""270 eligibility inquiries (005010X279A1) read back: what a payer (or the sandbox) is asked, member by member.

Each subscriber (2000C) or dependent (2000D) carries its trace number (TRN*1), name and member id (PHI),
birth date, the dates asked about (DTP*291) and the service types asked for (EQ01, repetitions allowed).
The reader never raises; problems carry positions and codes, never values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from revcycle.x12.hierarchy import DatePeriod, Hierarchy, Name, Trace, read_dtp, read_name, read_trace
from revcycle.x12.reader import Problem, Segment, read_segments
from revcycle.x12.transactions import build_transactions
from revcycle.x12.x271 import ELIGIBILITY_LEVELS
from revcycle.x12.x835 import parse_date


@dataclass
class InquiredMember:
    """One subscriber or dependent of a 270, with what is asked about them."""

    segment: int
    level: str  # subscriber or dependent
    hl_id: str
    parent_id: str
    child_code: str = ""
    traces: list[Trace] = field(default_factory=list)
    name: Name | None = None  # PHI
    birth_date: date | None = None  # PHI
    gender: str = ""
    references: list[tuple[str, str]] = field(default_factory=list)
    dates: list[DatePeriod] = field(default_factory=list)  # DTP*291 at 2100 or 2110
    service_types: list[str] = field(default_factory=list)  # EQ01 of every 2110 loop

    @property
    def trace(self) -> Trace | None:
        """The TRN*1 the inquirer assigned (echoed as TRN*2 in the 271)."""
        return next((t for t in self.traces if t.trace_type == "1"), None)

    @property
    def member_id(self) -> str:
        """NM109 when NM108 is MI."""
        return self.name.identifier if self.name is not None and self.name.id_qualifier == "MI" else ""

    @property
    def asks(self) -> bool:
        """True when this member is the one asked about (it has an EQ)."""
        return bool(self.service_types)


@dataclass
class EligibilityInquiry270:
    """One 270 transaction set."""

    control_number: str
    segment: int
    version: str = ""
    reference: str = ""  # BHT03
    purpose: str = ""  # BHT02: 13 request, 01 cancellation
    payer: Name | None = None
    provider: Name | None = None
    members: list[InquiredMember] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def subscribers(self) -> list[tuple[InquiredMember, list[InquiredMember]]]:
        """Each subscriber with its dependents, in file order."""
        out: list[tuple[InquiredMember, list[InquiredMember]]] = []
        by_hl: dict[str, list[InquiredMember]] = {}
        for member in self.members:
            if member.level == "subscriber":
                dependents: list[InquiredMember] = []
                out.append((member, dependents))
                by_hl.setdefault(member.hl_id, dependents)
            elif member.parent_id in by_hl:
                by_hl[member.parent_id].append(member)
        return out


class Builder270:
    """Builds one EligibilityInquiry270 from the segments of one 270 transaction set, fed in order."""

    def __init__(self, st: Segment) -> None:
        self.result = EligibilityInquiry270(st.get(2).strip(), st.index, st.get(3).strip())
        self.problems = self.result.problems
        self.hierarchy = Hierarchy(ELIGIBILITY_LEVELS, self.problems)
        self.level = ""
        self.member: InquiredMember | None = None

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        sid = seg.id
        member = self.member
        if sid == "BHT":
            self.result.purpose = seg.get(2).strip()
            self.result.reference = seg.get(3).strip()
        elif sid == "HL":
            self.level = self.hierarchy.add(seg)
            self.member = None
            if self.level in ("22", "23"):
                self.member = InquiredMember(
                    seg.index,
                    "subscriber" if self.level == "22" else "dependent",
                    seg.get(1).strip(),
                    seg.get(2).strip(),
                    seg.get(4).strip(),
                )
                self.result.members.append(self.member)
        elif sid == "NM1":
            name = read_name(seg)
            if self.level == "20":
                self.result.payer = name
            elif self.level == "21":
                self.result.provider = name
            elif member is not None:
                member.name = name
        elif member is None:
            if sid in ("TRN", "DMG", "DTP", "EQ"):
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", f"{sid} outside a member loop"))
        elif sid == "TRN":
            member.traces.append(read_trace(seg))
        elif sid == "DMG":
            if seg.get(1).strip() == "D8":
                member.birth_date = parse_date(seg.get(2), seg, self.problems, "DMG02")
            member.gender = seg.get(3).strip()
        elif sid == "DTP":
            member.dates.append(read_dtp(seg, self.problems))
        elif sid == "REF":
            member.references.append((seg.get(1).strip(), seg.get(2).strip()))
        elif sid == "EQ":
            types = [s.strip() for s in seg.repetitions(1) if s.strip()]
            if not types and not seg.get(2).strip():
                self.problems.append(Problem(seg.index, "MISSING_ELEMENT", "EQ without EQ01 or EQ02"))
            member.service_types.extend(types)

    def finish(self) -> EligibilityInquiry270:
        """The inquiry, with a problem for every member that cannot be answered."""
        res = self.result
        if res.payer is None:
            res.problems.append(Problem(res.segment, "MISSING_SEGMENT", "no 2100A information source name (NM1)"))
        if not res.members:
            res.problems.append(Problem(res.segment, "MISSING_SEGMENT", "no subscriber loop (HL*22)"))
        for member in res.members:
            if member.name is None:
                res.problems.append(Problem(member.segment, "MISSING_SEGMENT", f"{member.level} without NM1"))
            if member.trace is None and (member.asks or member.level == "dependent"):
                res.problems.append(Problem(member.segment, "MISSING_SEGMENT", f"{member.level} without TRN*1"))
        return res


@dataclass
class Read270:
    """The 270 transaction sets of a file, and the problems found reading it."""

    inquiries: list[EligibilityInquiry270]
    problems: list[Problem]


def read_270(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read270:
    """Parse every 270 transaction set of a file; other transaction sets are reported as problems."""
    problems: list[Problem] = []
    inquiries = build_transactions(read_segments(source, problems), "270", Builder270, problems)
    for inquiry in inquiries:
        problems.extend(inquiry.problems)
    return Read270(inquiries, sorted(problems, key=lambda p: -1 if p.segment is None else p.segment))
