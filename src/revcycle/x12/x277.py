"""277 claim status responses (005010X212): where each claim asked about stands at the payer.

Distinct from the 277CA (005010X214, ``x277ca``), which acknowledges a batch of claims at the front door.
What a 277 yields per claim (loop 2200D or 2200E):

- every STC: the status category (STC01-1, e.g. F1 finalized/payment, P1 pending/in process, A4 not found),
  the status code (STC01-2) and the entity it concerns (STC01-3), with STC10 and STC11 as further
  statuses; STC02 the status effective date; STC04 the total charge and STC05 the payment amount when
  given; STC06 the adjudication date; STC08 the remittance (check or EFT) date and STC09 its trace number;
- the payer's claim number (REF*1K), our claim key (REF*EJ, the 837 CLM01) and the trace number of the
  276 it answers (TRN*2);
- each service line's SVC and its STCs.

A 277 informs; it never changes a claim's adjudication status. Only an 835 pays, denies or reverses a
claim: a 277 saying "finalized/payment" is news that an 835 is on its way, and is recorded as such.
The reader never raises; problems carry segment positions and codes, never values.
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
from revcycle.x12.x276 import CLAIM_STATUS_LEVELS
from revcycle.x12.x835 import parse_amount, parse_date

# STC01-1 first letter -> the stage of the claim it reports (the claim status category code list, 507)
STAGES: dict[str, str] = {
    "A": "acknowledgement",
    "P": "pending",
    "F": "finalized",
    "R": "request_for_information",
    "E": "error",
    "D": "data_search_unsuccessful",
}
_LEVEL_NAMES = {"20": "information_source", "21": "information_receiver", "19": "service_provider"}


@dataclass(frozen=True)
class StatusCode:
    """One health care claim status composite (STC01, STC10 or STC11)."""

    category: str  # e.g. F1
    code: str  # e.g. 65
    entity: str = ""  # e.g. PR payer, QC patient
    code_list: str = ""  # C043-04, e.g. RX for NCPDP reject codes

    @property
    def stage(self) -> str:
        """acknowledgement, pending, finalized, request_for_information, error or data_search_unsuccessful."""
        return STAGES.get(self.category[:1], "")


@dataclass(frozen=True)
class StatusReport:
    """One STC segment."""

    segment: int
    statuses: tuple[StatusCode, ...]
    effective_date: date | None = None  # STC02
    action_code: str = ""  # STC03 (not used in X212; read for odd senders)
    total_charge: Decimal | None = None  # STC04
    paid: Decimal | None = None  # STC05
    adjudicated: date | None = None  # STC06 adjudication finalized date
    payment_method: str = ""  # STC07 (not used in X212 claim loops)
    remittance_date: date | None = None  # STC08 check issue or EFT effective date
    remittance_trace: str = ""  # STC09 check or EFT trace number
    message: str = ""  # STC12 free-form text (not used in X212; may hold anything)


@dataclass
class LineStatus:
    """One service line of a claim (loop 2220D/2220E)."""

    segment: int
    qualifier: str  # SVC01-1, e.g. HC
    procedure: str  # SVC01-2
    modifiers: tuple[str, ...]
    charge: Decimal | None
    paid: Decimal | None
    revenue_code: str = ""  # SVC04
    units: Decimal | None = None  # SVC07
    line_item_control: str = ""  # REF*FJ
    service_period: DatePeriod | None = None
    reports: list[StatusReport] = field(default_factory=list)


@dataclass
class ClaimStatusReport:
    """The status of one claim asked about (loop 2200D or 2200E)."""

    segment: int
    level: str  # subscriber or dependent
    trace: str = ""  # TRN02: the 276's TRN*1 echoed back
    claim_key: str = ""  # REF*EJ patient control number: the 837 CLM01
    payer_claim_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    bill_type: str = ""  # REF*BLT
    voucher: str = ""  # REF*VV
    service_period: DatePeriod | None = None  # DTP*472
    provider: Name | None = None  # 2100C
    subscriber: Name | None = None  # 2100D (PHI)
    patient: Name | None = None  # 2100E (PHI)
    reports: list[StatusReport] = field(default_factory=list)
    lines: list[LineStatus] = field(default_factory=list)

    @property
    def statuses(self) -> list[StatusCode]:
        """Every status of every claim-level STC, in order."""
        return [s for r in self.reports for s in r.statuses]

    @property
    def category(self) -> str:
        """The first status category, e.g. F1."""
        found = self.statuses
        return found[0].category if found else ""

    @property
    def stage(self) -> str:
        """The stage of the first status (see ``StatusCode.stage``)."""
        found = self.statuses
        return found[0].stage if found else ""

    @property
    def total_charge(self) -> Decimal | None:
        """The first STC04 given."""
        return next((r.total_charge for r in self.reports if r.total_charge is not None), None)

    @property
    def paid(self) -> Decimal | None:
        """The first STC05 given."""
        return next((r.paid for r in self.reports if r.paid is not None), None)

    @property
    def adjudicated(self) -> date | None:
        """The first STC06 (adjudication finalized date) given."""
        return next((r.adjudicated for r in self.reports if r.adjudicated is not None), None)

    @property
    def remittance_date(self) -> date | None:
        """The first STC08 (check issue or EFT effective date) given."""
        return next((r.remittance_date for r in self.reports if r.remittance_date is not None), None)


@dataclass
class ClaimStatusResponse277:
    """One 277 (005010X212) transaction set."""

    control_number: str
    segment: int
    version: str = ""
    reference: str = ""  # BHT03
    payer: Name | None = None  # 2100A (the first, when the set repeats 2000A)
    receiver: Name | None = None  # 2100B
    claims: list[ClaimStatusReport] = field(default_factory=list)
    # STCs at the information receiver (2200B) and service provider (2200C) levels: (level, report)
    level_reports: list[tuple[str, StatusReport]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _status_code(parts: list[str]) -> StatusCode:
    parts = [p.strip() for p in parts] + ["", "", "", ""]
    return StatusCode(parts[0], parts[1], parts[2], parts[3])


def read_status(seg: Segment, problems: list[Problem]) -> StatusReport:
    """An STC segment as a StatusReport (X212 element meanings)."""
    statuses = tuple(_status_code(seg.components(pos)) for pos in (1, 10, 11) if seg.get(pos).strip())
    if not seg.get(1).strip():
        problems.append(Problem(seg.index, "MISSING_ELEMENT", "STC without STC01 status"))
    return StatusReport(
        segment=seg.index,
        statuses=statuses,
        effective_date=parse_date(seg.get(2), seg, problems, "STC02"),
        action_code=seg.get(3).strip(),
        total_charge=parse_amount(seg.get(4), seg, problems, "STC04"),
        paid=parse_amount(seg.get(5), seg, problems, "STC05"),
        adjudicated=parse_date(seg.get(6), seg, problems, "STC06"),
        payment_method=seg.get(7).strip(),
        remittance_date=parse_date(seg.get(8), seg, problems, "STC08"),
        remittance_trace=seg.get(9).strip(),
        message=seg.get(12).strip(),
    )


def _line(seg: Segment, problems: list[Problem]) -> LineStatus:
    parts = [p.strip() for p in seg.components(1)]
    qualifier = parts[0] if parts else ""
    procedure = parts[1] if len(parts) > 1 else ""
    return LineStatus(
        segment=seg.index,
        qualifier=qualifier,
        procedure=procedure,
        modifiers=tuple(m for m in parts[2:6] if m),
        charge=parse_amount(seg.get(2), seg, problems, "SVC02"),
        paid=parse_amount(seg.get(3), seg, problems, "SVC03"),
        revenue_code=seg.get(4).strip(),
        units=parse_amount(seg.get(7), seg, problems, "SVC07"),
    )


class Builder277:
    """Builds one ClaimStatusResponse277 from the segments of one 277 (X212) transaction set, fed in order."""

    def __init__(self, st: Segment) -> None:
        self.result = ClaimStatusResponse277(st.get(2).strip(), st.index, st.get(3).strip())
        self.problems = self.result.problems
        self.hierarchy = Hierarchy(CLAIM_STATUS_LEVELS, self.problems)
        self.level = ""
        self.provider: Name | None = None
        self.subscriber: Name | None = None
        self.patient: Name | None = None
        self.claim: ClaimStatusReport | None = None
        self.line: LineStatus | None = None

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        sid = seg.id
        if sid == "BHT":
            self.result.reference = seg.get(3).strip()
        elif sid == "HL":
            self.level = self.hierarchy.add(seg)
            self.claim = None
            self.line = None
            if self.level in ("19", "20", "21"):
                self.subscriber = None
            if self.level in ("20", "21"):
                self.provider = None
            if self.level != "23":
                self.patient = None
        elif sid == "NM1":
            self._nm1(seg)
        elif sid == "TRN":
            self._trn(seg)
        elif sid == "STC":
            report = read_status(seg, self.problems)
            if self.line is not None:
                self.line.reports.append(report)
            elif self.claim is not None:
                self.claim.reports.append(report)
            elif self.level in _LEVEL_NAMES:
                self.result.level_reports.append((_LEVEL_NAMES[self.level], report))
            else:
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "STC outside a claim loop (TRN)"))
        elif sid == "SVC":
            if self.claim is None:
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "SVC outside a claim loop (TRN)"))
                return
            self.line = _line(seg, self.problems)
            self.claim.lines.append(self.line)
        elif sid == "REF":
            self._ref(seg)
        elif sid == "DTP":
            period = read_dtp(seg, self.problems)
            if self.line is not None:
                self.line.service_period = period
            elif self.claim is not None and period.qualifier == "472":
                self.claim.service_period = period

    def _nm1(self, seg: Segment) -> None:
        name = read_name(seg)
        if self.level == "20":
            if self.result.payer is None:
                self.result.payer = name
        elif self.level == "21":
            if self.result.receiver is None:
                self.result.receiver = name
        elif self.level == "19":
            self.provider = name
        elif self.level == "22":
            self.subscriber = name
        elif self.level == "23":
            self.patient = name
        else:
            self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "NM1 out of place"))

    def _trn(self, seg: Segment) -> None:
        self.line = None
        if self.level not in ("22", "23"):
            return  # 2200B / 2200C trace identifiers: nothing to keep
        self.claim = ClaimStatusReport(
            seg.index,
            "subscriber" if self.level == "22" else "dependent",
            trace=seg.get(2).strip(),
            provider=self.provider,
            subscriber=self.subscriber,
            patient=self.patient,
        )
        self.result.claims.append(self.claim)

    def _ref(self, seg: Segment) -> None:
        qualifier, value = seg.get(1).strip(), seg.get(2).strip()
        if self.line is not None:
            if qualifier == "FJ":
                self.line.line_item_control = value
            return
        claim = self.claim
        if claim is None:
            return
        if qualifier == "1K":
            claim.payer_claim_number = value
        elif qualifier == "EJ":
            claim.claim_key = value
        elif qualifier == "D9":
            claim.clearinghouse_trace = value
        elif qualifier == "BLT":
            claim.bill_type = value
        elif qualifier == "VV":
            claim.voucher = value

    def finish(self) -> ClaimStatusResponse277:
        """The response, with a problem for every claim without a trace number or a status."""
        res = self.result
        if res.payer is None:
            res.problems.append(Problem(res.segment, "MISSING_SEGMENT", "no 2100A payer name (NM1)"))
        for claim in res.claims:
            if not claim.trace:
                res.problems.append(Problem(claim.segment, "MISSING_ELEMENT", "claim without TRN02"))
            if not claim.reports:
                res.problems.append(Problem(claim.segment, "MISSING_SEGMENT", "claim without STC"))
            for line in claim.lines:
                if not line.reports:
                    res.problems.append(Problem(line.segment, "MISSING_SEGMENT", "service line without STC"))
        return res


@dataclass
class Read277:
    """The 277 (X212) transaction sets of a file, and the problems found reading it."""

    responses: list[ClaimStatusResponse277]
    problems: list[Problem]


def read_277(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read277:
    """Parse every 277 transaction set of a file as a claim status response (X212)."""
    problems: list[Problem] = []
    responses = build_transactions(read_segments(source, problems), "277", Builder277, problems)
    for response in responses:
        problems.extend(response.problems)
    return Read277(responses, sorted(problems, key=lambda p: -1 if p.segment is None else p.segment))
