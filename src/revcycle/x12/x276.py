"""276 claim status requests (005010X212) read back: which claims a payer (or the sandbox) is asked about.

Each claim loop (2200D under a subscriber, 2200E under a dependent) carries the trace number (TRN*1), the
claim key (REF*EJ, the 837 CLM01), the payer's claim number when known (REF*1K), the bill type (REF*BLT),
the total charge (AMT*T3) and the service dates (DTP*472), with the billing provider (2100C), subscriber
(2100D, PHI) and dependent (2100E, PHI) it sits under. The reader never raises; problems carry positions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from revcycle.x12.hierarchy import DatePeriod, Hierarchy, Name, read_dtp, read_name
from revcycle.x12.reader import Problem, Segment, read_segments
from revcycle.x12.transactions import build_transactions
from revcycle.x12.x835 import parse_amount, parse_date

# HL03 level -> the levels its parent may have (276 and 277 X212 share the hierarchy)
CLAIM_STATUS_LEVELS: dict[str, frozenset[str]] = {
    "20": frozenset({""}),
    "21": frozenset({"20"}),
    "19": frozenset({"21"}),
    "22": frozenset({"19"}),
    "23": frozenset({"22"}),
}


@dataclass
class QueriedClaim:
    """One claim asked about (loop 2200D or 2200E)."""

    segment: int
    level: str  # subscriber or dependent
    trace: str = ""  # TRN02
    claim_key: str = ""  # REF*EJ
    payer_claim_number: str = ""  # REF*1K
    bill_type: str = ""  # REF*BLT
    total_charge: Decimal | None = None  # AMT*T3
    service_period: DatePeriod | None = None  # DTP*472
    provider: Name | None = None  # 2100C
    subscriber: Name | None = None  # 2100D (PHI)
    patient: Name | None = None  # 2100E (PHI), None when the subscriber is the patient
    patient_birth_date: date | None = None  # DMG of the patient (PHI)
    lines: list[tuple[str, Decimal | None]] = field(default_factory=list)  # SVC01 composite, SVC02 charge


@dataclass
class ClaimStatusRequest276:
    """One 276 transaction set."""

    control_number: str
    segment: int
    version: str = ""
    reference: str = ""  # BHT03
    payer: Name | None = None
    receiver: Name | None = None
    claims: list[QueriedClaim] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class Builder276:
    """Builds one ClaimStatusRequest276 from the segments of one 276 transaction set, fed in order."""

    def __init__(self, st: Segment) -> None:
        self.result = ClaimStatusRequest276(st.get(2).strip(), st.index, st.get(3).strip())
        self.problems = self.result.problems
        self.hierarchy = Hierarchy(CLAIM_STATUS_LEVELS, self.problems)
        self.level = ""
        self.provider: Name | None = None
        self.subscriber: Name | None = None
        self.patient: Name | None = None
        self.birth_date: date | None = None
        self.claim: QueriedClaim | None = None
        self.in_line = False

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        sid = seg.id
        claim = self.claim
        if sid == "BHT":
            self.result.reference = seg.get(3).strip()
        elif sid == "HL":
            self.level = self.hierarchy.add(seg)
            self.claim = None
            self.in_line = False
            self.birth_date = None
            if self.level in ("19", "20", "21"):
                self.subscriber = None
            if self.level != "23":
                self.patient = None
        elif sid == "NM1":
            self._nm1(seg)
        elif sid == "DMG":
            if seg.get(1).strip() == "D8":
                self.birth_date = parse_date(seg.get(2), seg, self.problems, "DMG02")
        elif sid == "TRN":
            if self.level not in ("22", "23"):
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "TRN outside a subscriber/dependent"))
                return
            self.claim = QueriedClaim(
                seg.index,
                "subscriber" if self.level == "22" else "dependent",
                trace=seg.get(2).strip(),
                provider=self.provider,
                subscriber=self.subscriber,
                patient=self.patient,
                patient_birth_date=self.birth_date,
            )
            self.in_line = False
            self.result.claims.append(self.claim)
        elif claim is None:
            if sid in ("REF", "AMT", "SVC"):
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", f"{sid} outside a claim loop (TRN)"))
        elif sid == "SVC":
            self.in_line = True
            claim.lines.append((seg.get(1).strip(), parse_amount(seg.get(2), seg, self.problems, "SVC02")))
        elif self.in_line:
            if sid == "DTP":
                read_dtp(seg, self.problems)
        elif sid == "REF":
            qualifier, value = seg.get(1).strip(), seg.get(2).strip()
            if qualifier == "EJ":
                claim.claim_key = value
            elif qualifier == "1K":
                claim.payer_claim_number = value
            elif qualifier == "BLT":
                claim.bill_type = value
        elif sid == "AMT" and seg.get(1).strip() == "T3":
            claim.total_charge = parse_amount(seg.get(2), seg, self.problems, "AMT02")
        elif sid == "DTP" and seg.get(1).strip() == "472":
            claim.service_period = read_dtp(seg, self.problems)

    def _nm1(self, seg: Segment) -> None:
        name = read_name(seg)
        if self.level == "20":
            self.result.payer = name
        elif self.level == "21":
            self.result.receiver = name
        elif self.level == "19":
            self.provider = name
        elif self.level == "22":
            self.subscriber = name
        elif self.level == "23":
            self.patient = name
        else:
            self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "NM1 out of place"))

    def finish(self) -> ClaimStatusRequest276:
        """The request, with a problem for every claim that cannot be looked up."""
        res = self.result
        if res.payer is None:
            res.problems.append(Problem(res.segment, "MISSING_SEGMENT", "no 2100A payer name (NM1)"))
        if not res.claims:
            res.problems.append(Problem(res.segment, "MISSING_SEGMENT", "no claim loop (TRN)"))
        for claim in res.claims:
            if not claim.trace:
                res.problems.append(Problem(claim.segment, "MISSING_ELEMENT", "claim without TRN02"))
        return res


@dataclass
class Read276:
    """The 276 transaction sets of a file, and the problems found reading it."""

    requests: list[ClaimStatusRequest276]
    problems: list[Problem]


def read_276(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read276:
    """Parse every 276 transaction set of a file; other transaction sets are reported as problems."""
    problems: list[Problem] = []
    requests = build_transactions(read_segments(source, problems), "276", Builder276, problems)
    for request in requests:
        problems.extend(request.problems)
    return Read276(requests, sorted(problems, key=lambda p: -1 if p.segment is None else p.segment))
