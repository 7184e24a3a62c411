"""277CA claim acknowledgments: the status of every claim a payer or clearinghouse acknowledged."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from revcycle.x12.reader import Problem, Segment, TransactionSetEnvelope, read_segments
from revcycle.x12.transactions import build_transactions
from revcycle.x12.x835 import parse_amount

ACCEPTED_CATEGORIES = frozenset({"A1", "A2", "A5"})
REJECTED_CATEGORIES = frozenset({"A3", "A6", "A7", "A8"})

_HL_LEVELS = {"20": "information_source", "21": "information_receiver", "19": "provider", "PT": "patient"}


@dataclass(frozen=True)
class StatusInfo:
    """One STC status: category (A1, A7 ...), status code, entity, and STC02-STC04."""

    category: str
    code: str
    entity: str
    effective_date: str = ""
    action_code: str = ""
    amount: Decimal | None = None


@dataclass
class ClaimStatus277:
    """The acknowledgment of one claim (loop 2200D): TRN02 is our CLM01 claim key."""

    segment: int
    claim_key: str = ""
    statuses: list[StatusInfo] = field(default_factory=list)
    payer_claim_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    service_date: str = ""
    line_statuses: list[tuple[str, StatusInfo]] = field(default_factory=list)  # (procedure, status)

    @property
    def category(self) -> str:
        """The first status category, e.g. A1."""
        return self.statuses[0].category if self.statuses else ""

    @property
    def accepted(self) -> bool | None:
        """False when any claim status category is a rejection, True when one is an acceptance, else None."""
        categories = {s.category for s in self.statuses}
        if categories & REJECTED_CATEGORIES:
            return False
        if categories & ACCEPTED_CATEGORIES:
            return True
        return None


@dataclass
class Ack277CA:
    """One 277CA transaction set."""

    control_number: str
    segment: int
    version: str = ""
    claims: list[ClaimStatus277] = field(default_factory=list)
    # statuses at the information receiver and provider levels: (HL level, status)
    level_statuses: list[tuple[str, StatusInfo]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _statuses(seg: Segment, problems: list[Problem]) -> list[StatusInfo]:
    amount = parse_amount(seg.get(4), seg, problems, "STC04")
    out: list[StatusInfo] = []
    for pos in (1, 10, 11):  # STC10 and STC11 carry further statuses of the same entity
        parts = seg.components(pos)
        if not parts:
            continue
        parts += ["", "", ""]
        out.append(
            StatusInfo(
                parts[0].strip(),
                parts[1].strip(),
                parts[2].strip(),
                seg.get(2).strip(),
                seg.get(3).strip(),
                amount,
            )
        )
    return out


class Builder277CA:
    """Builds one Ack277CA from the segments of one 277 transaction set, fed in order."""

    def __init__(self, st: Segment) -> None:
        self.result = Ack277CA(control_number=st.get(2).strip(), segment=st.index, version=st.get(3).strip())
        self.level = ""
        self.claim: ClaimStatus277 | None = None
        self.procedure: str | None = None

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        res = self.result
        if seg.id == "HL":
            code = seg.get(3).strip()
            self.level = _HL_LEVELS.get(code, code)
            self.procedure = None
            self.claim = None
            if self.level == "patient":
                self.claim = ClaimStatus277(seg.index)
                res.claims.append(self.claim)
        elif seg.id == "TRN":
            if self.claim is not None and not self.claim.claim_key:
                self.claim.claim_key = seg.get(2).strip()
        elif seg.id == "STC":
            statuses = _statuses(seg, res.problems)
            if self.claim is None:
                res.level_statuses.extend((self.level, s) for s in statuses)
            elif self.procedure is not None:
                self.claim.line_statuses.extend((self.procedure, s) for s in statuses)
            else:
                self.claim.statuses.extend(statuses)
        elif seg.id == "REF" and self.claim is not None and self.procedure is None:
            qualifier = seg.get(1).strip()
            if qualifier == "1K":
                self.claim.payer_claim_number = seg.get(2).strip()
            elif qualifier == "D9":
                self.claim.clearinghouse_trace = seg.get(2).strip()
        elif seg.id == "DTP" and self.claim is not None and self.procedure is None:
            if seg.get(1).strip() == "472":
                self.claim.service_date = seg.get(3).strip()
        elif seg.id == "SVC" and self.claim is not None:
            parts = seg.components(1)
            self.procedure = parts[1].strip() if len(parts) > 1 else seg.get(1).strip()

    def finish(self) -> Ack277CA:
        """The acknowledgment, with a problem for every claim without a TRN02 or an STC."""
        for claim in self.result.claims:
            if not claim.claim_key:
                self.result.problems.append(Problem(claim.segment, "MISSING_ELEMENT", "claim without TRN02"))
            if not claim.statuses:
                self.result.problems.append(Problem(claim.segment, "MISSING_SEGMENT", "claim without STC"))
        return self.result


@dataclass
class Read277CA:
    """The 277CA transaction sets of a file, the problems found reading it, and every set's envelope.

    An acknowledgment's envelope is the one in ``sets`` whose ``start`` is the acknowledgment's ``segment``.
    """

    acks: list[Ack277CA]
    problems: list[Problem]
    sets: list[TransactionSetEnvelope] = field(default_factory=list)


def read_277ca(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read277CA:
    """Parse every 277 transaction set of a file as a 277CA; others are reported as problems."""
    problems: list[Problem] = []
    sets: list[TransactionSetEnvelope] = []
    acks = build_transactions(read_segments(source, problems, sets), "277", Builder277CA, problems)
    for ack in acks:
        problems.extend(ack.problems)
    return Read277CA(acks, problems, sets)
