"""999 implementation acknowledgments and TA1 interchange acknowledgments, as dataclasses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO

from revcycle.x12.reader import Problem, Segment, TransactionSetEnvelope, read_segments
from revcycle.x12.transactions import build_transactions


@dataclass(frozen=True)
class ElementError:
    """IK4: an element in error (position composite as written, reference number, error code)."""

    position: str
    reference: str
    code: str


@dataclass
class SegmentError:
    """IK3: a segment in error, with its IK4 element errors."""

    segment_id: str
    position: str
    loop: str
    code: str
    element_errors: list[ElementError] = field(default_factory=list)


@dataclass
class TransactionAck:
    """AK2..IK5: the verdict on one acknowledged transaction set (IK501 A, E, R, M, W or X)."""

    set_id: str
    control_number: str
    version: str
    status: str = ""
    error_codes: tuple[str, ...] = ()
    segment_errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """A (accepted) and E (accepted with errors) let the transaction set through."""
        return self.status in ("A", "E")


@dataclass
class Ack999:
    """One 999 transaction set: the acknowledged group (AK1), its transaction sets (AK2) and AK9."""

    control_number: str
    segment: int
    functional_id: str = ""
    group_control_number: str = ""
    group_version: str = ""
    transactions: list[TransactionAck] = field(default_factory=list)
    status: str = ""  # AK901: A, E, P (partially accepted), R, M, W, X
    included: int | None = None
    received: int | None = None
    accepted_count: int | None = None
    group_error_codes: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class TA1Ack:
    """TA1: the verdict on a whole interchange (TA104 A, E or R; TA105 note code, 025 = duplicate)."""

    segment: int
    control_number: str
    date: str
    time: str
    ack_code: str
    note_code: str

    @property
    def accepted(self) -> bool:
        """A and E accept the interchange; R rejects it."""
        return self.ack_code in ("A", "E")


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_ta1(seg: Segment) -> TA1Ack:
    """The TA1 segment as a dataclass."""
    return TA1Ack(
        seg.index,
        seg.get(1).strip(),
        seg.get(2).strip(),
        seg.get(3).strip(),
        seg.get(4).strip(),
        seg.get(5).strip(),
    )


class Builder999:
    """Builds one Ack999 from the segments of one 999 transaction set, fed in order."""

    def __init__(self, st: Segment) -> None:
        self.result = Ack999(control_number=st.get(2).strip(), segment=st.index)
        self.current: TransactionAck | None = None
        self.segment_error: SegmentError | None = None

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        res = self.result
        if seg.id == "AK1":
            res.functional_id = seg.get(1).strip()
            res.group_control_number = seg.get(2).strip()
            res.group_version = seg.get(3).strip()
        elif seg.id == "AK2":
            self.current = TransactionAck(seg.get(1).strip(), seg.get(2).strip(), seg.get(3).strip())
            self.segment_error = None
            res.transactions.append(self.current)
        elif seg.id == "IK3":
            if self.current is None:
                res.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "IK3 before any AK2"))
                return
            self.segment_error = SegmentError(
                seg.get(1).strip(), seg.get(2).strip(), seg.get(3).strip(), seg.get(4).strip()
            )
            self.current.segment_errors.append(self.segment_error)
        elif seg.id == "IK4":
            if self.segment_error is None:
                res.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "IK4 before any IK3"))
                return
            self.segment_error.element_errors.append(
                ElementError(seg.get(1).strip(), seg.get(2).strip(), seg.get(3).strip())
            )
        elif seg.id == "IK5":
            if self.current is None:
                res.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "IK5 before any AK2"))
                return
            self.current.status = seg.get(1).strip()
            self.current.error_codes = tuple(c for p in range(2, 7) if (c := seg.get(p).strip()))
            self.segment_error = None
        elif seg.id == "AK9":
            res.status = seg.get(1).strip()
            res.included = _int(seg.get(2))
            res.received = _int(seg.get(3))
            res.accepted_count = _int(seg.get(4))
            res.group_error_codes = tuple(c for p in range(5, 10) if (c := seg.get(p).strip()))

    def finish(self) -> Ack999:
        """The acknowledgment, with a problem for every AK2 left without its IK5."""
        for ack in self.result.transactions:
            if not ack.status:
                self.result.problems.append(
                    Problem(
                        self.result.segment,
                        "MISSING_IK5",
                        f"acknowledged transaction set {ack.control_number} has no IK5",
                    )
                )
        return self.result


@dataclass
class Read999:
    """The 999 transaction sets and TA1 segments of a file, the problems found reading it, every set's envelope.

    An acknowledgment's envelope is the one in ``sets`` whose ``start`` is the acknowledgment's ``segment``.
    """

    acks: list[Ack999]
    ta1s: list[TA1Ack]
    problems: list[Problem]
    sets: list[TransactionSetEnvelope] = field(default_factory=list)


def read_999(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read999:
    """Parse every 999 transaction set and TA1 of a file; other transaction sets are reported as problems."""
    problems: list[Problem] = []
    ta1s: list[TA1Ack] = []
    sets: list[TransactionSetEnvelope] = []

    def take_ta1(seg: Segment) -> None:
        if seg.id == "TA1":
            ta1s.append(parse_ta1(seg))

    acks = build_transactions(read_segments(source, problems, sets), "999", Builder999, problems, outside=take_ta1)
    for ack in acks:
        problems.extend(ack.problems)
    return Read999(acks, ta1s, problems, sets)
