"""271 eligibility responses (005010X279A1): coverage, cost shares, other payers and rejections per member.

What a 271 yields for each subscriber (loop 2000C) or dependent (2000D):

- coverage: active (some EB01 1-5), inactive (EB01 6-8 and none active), rejected (an AAA and no EB01 1-8)
  or undetermined (none of these: an EB01 V or U says why). When some EB01 1-8 carry service type 30
  (health benefit plan coverage) only those decide;
- plan and eligibility dates (DTP 346 plan begin, 347 plan end, 291 plan, 356/357 eligibility begin/end);
- cost shares: coinsurance, copay, deductible, out of pocket (EB01 A, B, C, G) with their service types
  (EB03), time period (EB06, 29 = remaining), amount (EB07) or percent (EB08) and network (EB12);
- authorization required (EB11 Y) per service type;
- other or additional payers (EB01 R) with their order from the loop 2120 NM1 (PRP primary, SEP secondary,
  TTP tertiary);
- named actions (``revcycle.eligibility_actions``) for EB01 V, EB01 U and every AAA, at whichever level the
  AAA sits (2000A, 2100A, 2100B, 2100C, 2100D, 2110C, 2110D).

The reader never raises on bad input: problems carry segment positions and codes, never values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import BinaryIO

from revcycle.codes.eligibility import (
    ACTIVE_CODES,
    COST_SHARE_KINDS,
    INACTIVE_CODES,
    OTHER_PAYER,
    PAYER_ORDER,
    REJECT_REASONS,
    REMAINING,
)
from revcycle.eligibility_actions import ActionRule, EligibilityAction, rule_for_benefit, rule_for_rejection
from revcycle.x12.hierarchy import DatePeriod, Hierarchy, Name, Trace, read_dtp, read_name, read_trace
from revcycle.x12.reader import Problem, Segment, read_segments
from revcycle.x12.transactions import build_transactions
from revcycle.x12.x835 import parse_amount, parse_date

HEALTH_BENEFIT_PLAN_COVERAGE = "30"

# HL03 level -> the levels its parent may have (271 and 270 share the hierarchy)
ELIGIBILITY_LEVELS: dict[str, frozenset[str]] = {
    "20": frozenset({""}),
    "21": frozenset({"20"}),
    "22": frozenset({"21"}),
    "23": frozenset({"22"}),
}
_LOOP_OF_LEVEL = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D"}


class CoverageStatus(StrEnum):
    """What a 271 says about one member's coverage."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    REJECTED = "rejected"
    UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Rejection:
    """An AAA segment: where it sits, whether the request was valid (AAA01), the reason and follow-up code."""

    segment: int
    loop: str  # 2000A, 2100A, 2100B, 2100C, 2100D, 2110C or 2110D
    valid_request: str  # AAA01 Y or N
    reason: str  # AAA03
    follow_up: str  # AAA04

    @property
    def reason_text(self) -> str:
        """The reject reason's meaning (empty for a code the guide does not list)."""
        return REJECT_REASONS.get(self.reason, "")

    @property
    def rule(self) -> ActionRule:
        """The named action this rejection calls for."""
        return rule_for_rejection(self.reason, self.follow_up)


@dataclass(frozen=True)
class RelatedEntity:
    """A loop 2120 entity named under a benefit (another payer, a primary care provider ...)."""

    segment: int
    name: Name

    @property
    def payer_order(self) -> str | None:
        """primary, secondary or tertiary for NM101 PRP, SEP, TTP; None for any other entity."""
        return PAYER_ORDER.get(self.name.entity)


@dataclass
class Benefit:
    """One EB segment (loop 2110C/2110D) with its dates, references, messages and 2120 entities."""

    segment: int
    code: str  # EB01
    coverage_level: str = ""  # EB02
    service_types: tuple[str, ...] = ()  # EB03 repetitions
    insurance_type: str = ""  # EB04
    plan_description: str = ""  # EB05
    time_period: str = ""  # EB06
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization: str = ""  # EB11 Y, N or U
    network: str = ""  # EB12 Y, N, U or W
    procedure: tuple[str, ...] = ()  # EB13 components
    dates: list[DatePeriod] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)  # REF01, REF02
    messages: list[str] = field(default_factory=list)  # MSG01
    entities: list[RelatedEntity] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        """coinsurance, copay, deductible or out_of_pocket for EB01 A, B, C, G; None otherwise."""
        return COST_SHARE_KINDS.get(self.code)

    @property
    def remaining(self) -> bool:
        """EB06 29: the amount is what remains (of a deductible or out-of-pocket maximum)."""
        return self.time_period == REMAINING

    @property
    def authorization_required(self) -> bool | None:
        """EB11: True for Y, False for N, None when unknown (U) or not said."""
        return {"Y": True, "N": False}.get(self.authorization)

    @property
    def in_network(self) -> bool | None:
        """EB12: True for Y (in plan network), False for N, None for U, W (not applicable) or nothing."""
        return {"Y": True, "N": False}.get(self.network)


@dataclass(frozen=True)
class OtherPayer:
    """Another payer an EB01 R benefit names, with its order when loop 2120 gives one."""

    order: str | None  # primary, secondary, tertiary, or None when the 2120 NM101 is not PRP/SEP/TTP
    entity: str  # 2120 NM101
    name: str  # NM103 (an organisation's name)
    id_qualifier: str  # NM108, e.g. PI payer id
    identifier: str  # NM109
    insurance_type: str  # EB04
    service_types: tuple[str, ...]  # EB03
    benefit_segment: int
    dates: tuple[DatePeriod, ...] = ()  # 2110 DTP (e.g. 290 coordination of benefits)
    references: tuple[tuple[str, str], ...] = ()  # 2110 REF (e.g. 1W member id at that payer: PHI)
    is_person: bool = False  # NM102 1: the entity is a person, whose name is not shown outside the warehouse


_ORDER_RANK = {"primary": 0, "secondary": 1, "tertiary": 2}


@dataclass(frozen=True)
class NamedAction:
    """A named next step, the X12 source that called for it, and where that source sits."""

    action: EligibilityAction
    source: str
    segment: int
    loop: str
    reason: str = ""  # AAA03, for a rejection
    follow_up: str = ""  # AAA04, for a rejection
    entity: Name | None = None  # the 2120 entity to contact, for EB01 U


@dataclass
class MemberEligibility:
    """The 271 answer for one subscriber (2000C) or dependent (2000D)."""

    segment: int  # the HL's position
    level: str  # subscriber or dependent
    hl_id: str
    parent_id: str
    child_code: str = ""  # HL04: 1 when dependents follow
    traces: list[Trace] = field(default_factory=list)
    name: Name | None = None  # PHI: names and member id
    birth_date: date | None = None  # PHI
    gender: str = ""
    relationship: str = ""  # INS02, e.g. 19 child
    references: list[tuple[str, str]] = field(default_factory=list)
    dates: list[DatePeriod] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)  # 2100C/2100D and 2110 AAA
    benefits: list[Benefit] = field(default_factory=list)

    @property
    def inquiry_trace(self) -> str:
        """TRN02 of the TRN with TRN01 2: the 270's own trace number echoed back."""
        return next((t.number for t in self.traces if t.trace_type == "2"), "")

    @property
    def member_id(self) -> str:
        """NM109 when NM108 is MI (member identification number)."""
        return self.name.identifier if self.name is not None and self.name.id_qualifier == "MI" else ""

    @property
    def coverage(self) -> CoverageStatus:
        """Active, inactive, rejected or undetermined (see the module docstring for the rule)."""
        decisive = [b for b in self.benefits if b.code in ACTIVE_CODES or b.code in INACTIVE_CODES]
        plan_level = [b for b in decisive if HEALTH_BENEFIT_PLAN_COVERAGE in b.service_types]
        considered = plan_level or decisive
        if any(b.code in ACTIVE_CODES for b in considered):
            return CoverageStatus.ACTIVE
        if considered:
            return CoverageStatus.INACTIVE
        if self.rejections:
            return CoverageStatus.REJECTED
        return CoverageStatus.UNDETERMINED

    def _date(self, qualifier: str) -> DatePeriod | None:
        return next((d for d in self.dates if d.qualifier == qualifier), None)

    @property
    def plan_begin(self) -> date | None:
        """DTP 346 plan begin, else the first day of DTP 291 plan."""
        found = self._date("346") or self._date("291")
        return found.start if found else None

    @property
    def plan_end(self) -> date | None:
        """DTP 347 plan end, else the last day of an RD8 DTP 291 plan range."""
        end = self._date("347")
        if end is not None:
            return end.start
        plan = self._date("291")
        return plan.end if plan else None

    @property
    def eligibility_begin(self) -> date | None:
        """DTP 356 eligibility begin."""
        found = self._date("356")
        return found.start if found else None

    @property
    def eligibility_end(self) -> date | None:
        """DTP 357 eligibility end."""
        found = self._date("357")
        return found.start if found else None

    @property
    def cost_shares(self) -> list[Benefit]:
        """The coinsurance, copay, deductible and out-of-pocket benefits (EB01 A, B, C, G)."""
        return [b for b in self.benefits if b.kind is not None]

    @property
    def authorization_required_for(self) -> tuple[str, ...]:
        """The service types (EB03) of every benefit with EB11 Y, in order, without repeats."""
        out: list[str] = []
        for benefit in self.benefits:
            if benefit.authorization_required:
                out.extend(s for s in benefit.service_types or ("",) if s not in out)
        return tuple(out)

    @property
    def other_payers(self) -> list[OtherPayer]:
        """Every payer an EB01 R benefit names: primary, secondary, tertiary first, then the unordered."""
        found: list[OtherPayer] = []
        for benefit in self.benefits:
            if benefit.code != OTHER_PAYER:
                continue
            entities: list[RelatedEntity | None] = list(benefit.entities) or [None]
            for entity in entities:
                name = entity.name if entity is not None else Name("")
                found.append(
                    OtherPayer(
                        entity.payer_order if entity is not None else None,
                        name.entity,
                        name.last,
                        name.id_qualifier,
                        name.identifier,
                        benefit.insurance_type,
                        benefit.service_types,
                        benefit.segment,
                        tuple(benefit.dates),
                        tuple(benefit.references),
                        name.is_person,
                    )
                )
        return sorted(found, key=lambda p: _ORDER_RANK.get(p.order or "", 3))

    @property
    def primary_payer(self) -> OtherPayer | None:
        """The other payer loop 2120 names as primary (NM101 PRP), if any."""
        return next((p for p in self.other_payers if p.order == "primary"), None)

    @property
    def actions(self) -> list[NamedAction]:
        """The named actions of this member's EB01 V / U benefits and AAA rejections, in file order."""
        level = "C" if self.level == "subscriber" else "D"
        found: list[NamedAction] = []
        for benefit in self.benefits:
            rule = rule_for_benefit(benefit.code)
            if rule is not None:
                entity = benefit.entities[0].name if benefit.entities else None
                found.append(NamedAction(rule.action, rule.source, benefit.segment, f"2110{level}", entity=entity))
        for rejection in self.rejections:
            rule = rejection.rule
            found.append(
                NamedAction(
                    rule.action, rule.source, rejection.segment, rejection.loop, rejection.reason, rejection.follow_up
                )
            )
        return sorted(found, key=lambda a: a.segment)


@dataclass
class EligibilityResponse271:
    """One 271 transaction set."""

    control_number: str
    segment: int
    version: str = ""
    reference: str = ""  # BHT03: the 270's BHT03 echoed back
    purpose: str = ""  # BHT02: 11 response, 06 confirmation
    payer: Name | None = None  # 2100A
    receiver: Name | None = None  # 2100B: the provider who asked
    rejections: list[Rejection] = field(default_factory=list)  # 2000A, 2100A, 2100B
    members: list[MemberEligibility] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def actions(self) -> list[NamedAction]:
        """The named actions of the rejections above member level (they answer every member of the set)."""
        return [
            NamedAction(r.rule.action, r.rule.source, r.segment, r.loop, r.reason, r.follow_up) for r in self.rejections
        ]


def read_benefit(seg: Segment, problems: list[Problem]) -> Benefit:
    """An EB segment as a Benefit (dates, references and entities are added by the builder)."""
    code = seg.get(1).strip()
    if not code:
        problems.append(Problem(seg.index, "MISSING_ELEMENT", "EB without EB01"))
    return Benefit(
        segment=seg.index,
        code=code,
        coverage_level=seg.get(2).strip(),
        service_types=tuple(s.strip() for s in seg.repetitions(3) if s.strip()),
        insurance_type=seg.get(4).strip(),
        plan_description=seg.get(5).strip(),
        time_period=seg.get(6).strip(),
        amount=parse_amount(seg.get(7), seg, problems, "EB07"),
        percent=parse_amount(seg.get(8), seg, problems, "EB08"),
        quantity_qualifier=seg.get(9).strip(),
        quantity=parse_amount(seg.get(10), seg, problems, "EB10"),
        authorization=seg.get(11).strip(),
        network=seg.get(12).strip(),
        procedure=tuple(c.strip() for c in seg.components(13)),
    )


def read_rejection(seg: Segment, loop: str, problems: list[Problem]) -> Rejection:
    """An AAA segment as a Rejection at ``loop``."""
    reason = seg.get(3).strip()
    if not reason:
        problems.append(Problem(seg.index, "MISSING_ELEMENT", "AAA without AAA03 reject reason"))
    return Rejection(seg.index, loop, seg.get(1).strip(), reason, seg.get(4).strip())


class Builder271:
    """Builds one EligibilityResponse271 from the segments of one 271 transaction set, fed in order."""

    def __init__(self, st: Segment) -> None:
        self.result = EligibilityResponse271(st.get(2).strip(), st.index, st.get(3).strip())
        self.problems = self.result.problems
        self.hierarchy = Hierarchy(ELIGIBILITY_LEVELS, self.problems)
        self.loop = ""
        self.member: MemberEligibility | None = None
        self.members_by_hl: dict[str, MemberEligibility] = {}
        self.benefit: Benefit | None = None
        self.ls_open: int | None = None

    def _close_ls(self, index: int) -> None:
        if self.ls_open is not None:
            self.problems.append(Problem(index, "MISSING_LE", f"LS at segment {self.ls_open} has no LE"))
            self.ls_open = None

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        sid = seg.id
        if sid == "BHT":
            self.result.purpose = seg.get(2).strip()
            self.result.reference = seg.get(3).strip()
        elif sid == "HL":
            self._hl(seg)
        elif sid == "NM1":
            self._nm1(seg)
        elif sid == "EB":
            self._close_ls(seg.index)
            if self.member is None:
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "EB outside a subscriber or dependent"))
                return
            self.benefit = read_benefit(seg, self.problems)
            self.member.benefits.append(self.benefit)
            self.loop = "2110C" if self.member.level == "subscriber" else "2110D"
        elif sid == "AAA":
            self._aaa(seg)
        elif sid == "LS":
            self._ls(seg)
        elif sid == "LE":
            if self.ls_open is None:
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "LE without an open LS"))
            elif seg.get(1).strip() != "2120":
                self.problems.append(Problem(seg.index, "LS_LE_MISMATCH", "LE01 is not the 2120 loop LS opened"))
            self.ls_open = None
        elif sid == "TRN" and self.member is not None and self.benefit is None:
            self.member.traces.append(read_trace(seg))
        elif sid == "DTP":
            period = read_dtp(seg, self.problems)
            if self.benefit is not None:
                self.benefit.dates.append(period)
            elif self.member is not None:
                self.member.dates.append(period)
        elif sid == "REF":
            ref = (seg.get(1).strip(), seg.get(2).strip())
            if self.benefit is not None:
                self.benefit.references.append(ref)
            elif self.member is not None:
                self.member.references.append(ref)
        elif sid == "MSG" and self.benefit is not None:
            self.benefit.messages.append(seg.get(1).strip())
        elif sid == "DMG" and self.member is not None and self.benefit is None:
            if seg.get(1).strip() == "D8":
                self.member.birth_date = parse_date(seg.get(2), seg, self.problems, "DMG02")
            self.member.gender = seg.get(3).strip()
        elif sid == "INS" and self.member is not None and self.benefit is None:
            self.member.relationship = seg.get(2).strip()

    def _hl(self, seg: Segment) -> None:
        self._close_ls(seg.index)
        level = self.hierarchy.add(seg)
        self.loop = _LOOP_OF_LEVEL.get(level, "")
        self.benefit = None
        self.member = None
        if level in ("22", "23"):
            member = MemberEligibility(
                segment=seg.index,
                level="subscriber" if level == "22" else "dependent",
                hl_id=seg.get(1).strip(),
                parent_id=seg.get(2).strip(),
                child_code=seg.get(4).strip(),
            )
            self.member = member
            self.result.members.append(member)
            self.members_by_hl.setdefault(member.hl_id, member)

    def _nm1(self, seg: Segment) -> None:
        name = read_name(seg)
        if self.ls_open is not None:
            if self.benefit is not None:
                self.benefit.entities.append(RelatedEntity(seg.index, name))
            return
        if self.benefit is not None:
            self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "NM1 after EB outside an LS/LE 2120 loop"))
            return
        if self.loop == "2000A":
            self.result.payer = name
            self.loop = "2100A"
        elif self.loop == "2000B":
            self.result.receiver = name
            self.loop = "2100B"
        elif self.member is not None and self.loop in ("2000C", "2000D"):
            self.member.name = name
            self.loop = "2100C" if self.loop == "2000C" else "2100D"
        else:
            self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "NM1 out of place"))

    def _aaa(self, seg: Segment) -> None:
        loop = self.loop
        if self.ls_open is not None:
            self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "AAA inside an LS/LE 2120 loop"))
            return
        rejection = read_rejection(seg, loop, self.problems)
        if loop in ("2000A", "2100A", "2100B"):
            self.result.rejections.append(rejection)
        elif self.member is not None and loop in ("2100C", "2100D", "2110C", "2110D"):
            self.member.rejections.append(rejection)
            if self.benefit is not None:
                self.benefit.rejections.append(rejection)
        else:
            self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", f"AAA out of place ({loop or 'no loop'})"))

    def _ls(self, seg: Segment) -> None:
        if self.benefit is None:
            self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "LS outside a 2110 benefit loop"))
            return
        if self.ls_open is not None:
            self.problems.append(Problem(seg.index, "MISSING_LE", f"LS at segment {self.ls_open} has no LE"))
        if seg.get(1).strip() != "2120":
            self.problems.append(Problem(seg.index, "LS_LE_MISMATCH", "LS01 is not 2120"))
        self.ls_open = seg.index

    def finish(self) -> EligibilityResponse271:
        """The response, with a problem for every member left without an answer."""
        res = self.result
        self._close_ls(res.segment)
        if res.payer is None:
            res.problems.append(Problem(res.segment, "MISSING_SEGMENT", "no 2100A information source name (NM1)"))
        if not res.members and not res.rejections:
            res.problems.append(Problem(res.segment, "MISSING_SEGMENT", "no subscriber and no AAA rejection"))
        for member in res.members:
            if member.name is None:
                res.problems.append(Problem(member.segment, "MISSING_SEGMENT", f"{member.level} without NM1"))
            answered = member.benefits or member.rejections or res.rejections
            if not answered and member.child_code != "1":
                res.problems.append(
                    Problem(member.segment, "MISSING_SEGMENT", f"{member.level} without EB or AAA (no answer)")
                )
        return res


@dataclass
class Read271:
    """The 271 transaction sets of a file, and the problems found reading it."""

    responses: list[EligibilityResponse271]
    problems: list[Problem]


def read_271(source: bytes | str | os.PathLike[str] | BinaryIO) -> Read271:
    """Parse every 271 transaction set of a file; other transaction sets are reported as problems."""
    problems: list[Problem] = []
    responses = build_transactions(read_segments(source, problems), "271", Builder271, problems)
    for response in responses:
        problems.extend(response.problems)
    return Read271(responses, sorted(problems, key=lambda p: -1 if p.segment is None else p.segment))
