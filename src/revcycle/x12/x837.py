"""Reading 837P / 837I claims back: what a payer (or the sandbox clearinghouse) received.

The reader keeps to the fields the pipeline needs to answer a claim; it reports oddities as Problems and
never raises. The names and member ids it returns are PHI: never log them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from revcycle.x12.reader import Problem, Segment, read_segments
from revcycle.x12.x835 import Adjustment, parse_amount, parse_date, split_composite

ZERO = Decimal("0")
_DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "ABF", "BK", "BF"})
# CLM05 written with a separator other than ISA16, e.g. '13>A>1' in a file whose ISA16 is ':'
_CLM05_OTHER_SEPARATOR = re.compile(r"([0-9A-Z]{1,2})([^0-9A-Za-z ])([AB])\2([0-9A-Z])")


@dataclass(frozen=True)
class ReceivedServiceLine:
    """One 2400 service line (SV1 for 837P, SV2 for 837I)."""

    line_number: int
    qualifier: str
    procedure_code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal
    service_date: date | None
    revenue_code: str | None
    diagnosis_pointers: tuple[str, ...] = ()  # SV107 as written (837P): positions in the claim's HI list


@dataclass(frozen=True)
class ReceivedLineAdjudication:
    """One 2430 loop: how another payer adjudicated a service line (SVD, its CAS, DTP*573)."""

    line_number: int  # the 2400 service line (LX01) the loop sits under
    payer_id: str  # SVD01: the 2330B payer id of the payer that adjudicated the line
    paid: Decimal  # SVD02
    procedure_code: str  # SVD03-2
    units: Decimal | None  # SVD05
    adjustments: tuple[Adjustment, ...] = ()
    adjudication_date: date | None = None


@dataclass(frozen=True)
class ReceivedOtherPayer:
    """One 2320/2330 loop: another payer named on the claim and, when it adjudicated it, what it did."""

    responsibility: str  # 2320 SBR01: P, S, T ...
    filing_indicator: str  # 2320 SBR09
    payer_id: str  # 2330B NM109
    payer_name: str  # 2330B NM103
    paid: Decimal | None  # 2320 AMT*D, None when that payer has not adjudicated the claim
    adjustments: tuple[Adjustment, ...] = ()  # 2320 CAS (claim-level adjustments)
    adjudication_date: date | None = None  # 2330B DTP*573
    lines: tuple[ReceivedLineAdjudication, ...] = ()  # the 2430 loops whose SVD01 names this payer

    def line_adjudications(self, line_number: int) -> tuple[ReceivedLineAdjudication, ...]:
        """This payer's 2430 loops for one service line."""
        return tuple(adj for adj in self.lines if adj.line_number == line_number)


@dataclass(frozen=True)
class ReceivedClaim:
    """One 2300 claim with the parties above it in the HL hierarchy."""

    claim_key: str
    total_charge: Decimal
    frequency_code: str
    place_of_service: str
    payer_id: str
    payer_name: str
    member_id: str
    subscriber_last_name: str
    subscriber_first_name: str
    patient_last_name: str
    patient_first_name: str  # the subscriber's when there is no 2000C patient loop
    billing_npi: str
    billing_name: str
    billing_tax_id: str
    diagnoses: tuple[str, ...]
    lines: tuple[ReceivedServiceLine, ...]
    original_claim_number: str | None
    transaction_control_number: str
    filing_indicator: str = ""  # SBR09 of the subscriber (2000B)
    payer_responsibility: str = "P"  # SBR01 of the subscriber (2000B): P, S or T for the payer billed
    other_payers: tuple[ReceivedOtherPayer, ...] = ()  # 2320/2330 loops, in order


@dataclass
class Received837:
    """An 837 file as received: envelope ids, every claim, every problem."""

    interchange_control_number: str = ""
    sender_id: str = ""
    receiver_id: str = ""
    usage_indicator: str = ""
    group_control_number: str = ""
    version: str = ""
    transaction_type: str = ""  # 837P / 837I
    transaction_control_numbers: list[str] = field(default_factory=list)
    claims: list[ReceivedClaim] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def transaction_type_837(st: Segment, group_version: str) -> str:
    """837P or 837I from ST03, else GS08 (X222/X098 professional, X223/X096 institutional), else '837'."""
    for version in (st.get(3).strip(), group_version):
        if "X222" in version or "X098" in version:
            return "837P"
        if "X223" in version or "X096" in version:
            return "837I"
    return "837"


@dataclass
class _Line:
    number: int
    qualifier: str = ""
    code: str = ""
    modifiers: tuple[str, ...] = ()
    charge: Decimal = ZERO
    units: Decimal = Decimal("1")
    service_date: date | None = None
    revenue_code: str | None = None
    pointers: tuple[str, ...] = ()


@dataclass
class _LineAdjudication:
    line_number: int
    payer_id: str
    paid: Decimal
    code: str
    units: Decimal | None
    adjustments: list[Adjustment] = field(default_factory=list)
    adjudication_date: date | None = None


@dataclass
class _OtherPayer:
    responsibility: str
    filing_indicator: str
    payer_id: str = ""
    payer_name: str = ""
    paid: Decimal | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    adjudication_date: date | None = None


@dataclass
class _Claim:
    segment: int
    key: str
    charge: Decimal
    frequency: str
    place: str
    diagnoses: list[str] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)
    original: str | None = None
    claim_date: date | None = None
    other_payers: list[_OtherPayer] = field(default_factory=list)
    line_adjudications: list[_LineAdjudication] = field(default_factory=list)


class Builder837:
    """Builds the ReceivedClaims of one 837 transaction set from its segments, fed in order."""

    def __init__(self, st: Segment) -> None:
        self.control_number = st.get(2).strip()
        self.claims: list[ReceivedClaim] = []
        self.problems: list[Problem] = []
        self.billing = ("", "", "")  # npi, name, tax id
        self.payer = ("", "")  # id, name
        self.subscriber = ("", "", "")  # last, first, member id
        self.patient: tuple[str, str] | None = None
        self.filing_indicator = ""
        self.responsibility = "P"
        self.hl_level = ""
        self.loop = ""  # the NM1/SBR context that REF and the like belong to
        self.claim: _Claim | None = None
        self.line: _Line | None = None
        self.other: _OtherPayer | None = None  # the 2320 loop being read
        self.line_adjudication: _LineAdjudication | None = None  # the 2430 loop being read

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the transaction set."""
        sid = seg.id
        if sid == "HL":
            self._close_claim()
            self.hl_level = seg.get(3).strip()
            self.loop = "HL" + self.hl_level
            if self.hl_level == "20":
                self.billing = ("", "", "")
            if self.hl_level in ("20", "22"):
                self.patient = None
        elif sid == "NM1":
            self._on_nm1(seg)
        elif sid == "SBR":
            self.loop = "SBR2320" if self.claim is not None else "SBR"
            if self.claim is None:
                self.filing_indicator = seg.get(9).strip()
                self.responsibility = seg.get(1).strip() or "P"
            else:
                self.other = _OtherPayer(seg.get(1).strip(), seg.get(9).strip())
                self.claim.other_payers.append(self.other)
        elif sid in ("CAS", "AMT", "SVD") and self.claim is not None:
            self._on_cob(seg)
        elif sid == "REF":
            self._on_ref(seg)
        elif sid == "CLM":
            self._on_clm(seg)
        elif sid == "HI" and self.claim is not None:
            for pos in range(1, 13):
                parts = seg.components(pos)
                if len(parts) >= 2 and parts[0].strip() in _DIAGNOSIS_QUALIFIERS and parts[1].strip():
                    self.claim.diagnoses.append(parts[1].strip())
        elif sid == "LX" and self.claim is not None:
            lx01 = seg.get(1).strip()
            # LX01 is N0 1/6: anything else (a superscript digit, thousands of digits) numbers the line by position
            number = int(lx01) if lx01.isascii() and lx01.isdigit() and len(lx01) <= 6 else len(self.claim.lines) + 1
            self.other = None
            self.line_adjudication = None
            self.line = _Line(number)
            self.claim.lines.append(self.line)
            self.loop = "2400"
        elif sid == "SV1" and self.line is not None:
            self._on_sv1(seg)
        elif sid == "SV2" and self.line is not None:
            self._on_sv2(seg)
        elif sid == "DTP" and seg.get(1).strip() == "573" and self.claim is not None:
            when = parse_date(seg.get(3)[:8], seg, self.problems, "DTP03")
            if self.line_adjudication is not None:
                self.line_adjudication.adjudication_date = when
            elif self.other is not None and self.line is None:
                self.other.adjudication_date = when
        elif sid == "DTP" and seg.get(1).strip() == "472":
            when = parse_date(seg.get(3)[:8], seg, self.problems, "DTP03")
            if self.line is not None and self.loop == "2400":
                self.line.service_date = when
            elif self.claim is not None and self.line is None:
                self.claim.claim_date = when

    def _on_nm1(self, seg: Segment) -> None:
        code = seg.get(1).strip()
        self.loop = "NM1" + code
        if self.claim is not None:
            if code == "PR" and self.other is not None and self.line is None:  # 2330B: the other payer
                self.other.payer_id = seg.get(9).strip()
                self.other.payer_name = seg.get(3).strip()
            return  # 2310x / 2330x names belong to other parties
        if code == "85":
            self.billing = (
                seg.get(9).strip() if seg.get(8).strip() == "XX" else "",
                seg.get(3).strip(),
                self.billing[2],
            )
        elif code == "IL":
            self.subscriber = (seg.get(3).strip(), seg.get(4).strip(), seg.get(9).strip())
        elif code == "PR":
            self.payer = (seg.get(9).strip(), seg.get(3).strip())
        elif code == "QC":
            self.patient = (seg.get(3).strip(), seg.get(4).strip())

    def _on_ref(self, seg: Segment) -> None:
        qualifier = seg.get(1).strip()
        if self.loop == "NM185" and qualifier in ("EI", "SY"):
            self.billing = (self.billing[0], self.billing[1], seg.get(2).strip())
        elif self.loop == "CLM" and qualifier == "F8" and self.claim is not None:
            self.claim.original = seg.get(2).strip() or None

    def _on_cob(self, seg: Segment) -> None:
        """CAS, AMT and SVD inside a claim: the 2320 and 2430 coordination-of-benefits loops."""
        assert self.claim is not None
        sid = seg.id
        if sid == "SVD":
            if self.line is None:
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "SVD outside a service line"))
                return
            parts = split_composite(seg, 3, self.problems)
            self.line_adjudication = _LineAdjudication(
                self.line.number,
                seg.get(1).strip(),
                self._amount(seg, 2, "SVD02"),
                parts[1].strip() if len(parts) > 1 else "",
                parse_amount(seg.get(5), seg, self.problems, "SVD05"),
            )
            self.claim.line_adjudications.append(self.line_adjudication)
        elif sid == "CAS":
            found = _cas(seg, self.problems)
            if self.line is not None:
                if self.line_adjudication is None:
                    self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "line CAS without its SVD"))
                else:
                    self.line_adjudication.adjustments.extend(found)
            elif self.other is not None:
                self.other.adjustments.extend(found)
            else:
                self.problems.append(Problem(seg.index, "UNEXPECTED_SEGMENT", "CAS outside a 2320 loop"))
        elif seg.get(1).strip() == "D" and self.other is not None and self.line is None:  # AMT*D in 2320
            self.other.paid = self._amount(seg, 2, "AMT02")

    def _on_clm(self, seg: Segment) -> None:
        self._close_claim()
        charge = parse_amount(seg.get(2), seg, self.problems, "CLM02")
        if charge is None:
            self.problems.append(Problem(seg.index, "MISSING_ELEMENT", "CLM02 is missing or invalid"))
        facility = seg.components(5)
        odd = _CLM05_OTHER_SEPARATOR.fullmatch(facility[0]) if len(facility) == 1 else None
        if odd:
            message = f"CLM05 uses {odd.group(2)!r} instead of the ISA16 component separator"
            self.problems.append(Problem(seg.index, "COMPONENT_SEPARATOR_MISMATCH", message))
            facility = [odd.group(1), odd.group(3), odd.group(4)]
        facility += ["", "", ""]
        key = seg.get(1).strip()
        if not key:
            self.problems.append(Problem(seg.index, "MISSING_ELEMENT", "CLM01 is empty"))
        self.claim = _Claim(
            seg.index, key, charge if charge is not None else ZERO, facility[2].strip(), facility[0].strip()
        )
        self.loop = "CLM"

    def _on_sv1(self, seg: Segment) -> None:
        assert self.line is not None
        parts = split_composite(seg, 1, self.problems)
        self.line.qualifier = parts[0].strip() if parts else ""
        self.line.code = parts[1].strip() if len(parts) > 1 else ""
        self.line.modifiers = tuple(m.strip() for m in parts[2:6] if m.strip())
        self.line.charge = self._amount(seg, 2, "SV102")
        units = parse_amount(seg.get(4), seg, self.problems, "SV104")
        if units is not None:
            self.line.units = units
        self.line.pointers = tuple(p.strip() for p in seg.components(7) if p.strip())

    def _on_sv2(self, seg: Segment) -> None:
        assert self.line is not None
        self.line.revenue_code = seg.get(1).strip() or None
        parts = split_composite(seg, 2, self.problems)
        self.line.qualifier = parts[0].strip() if parts else ""
        self.line.code = parts[1].strip() if len(parts) > 1 else ""
        self.line.modifiers = tuple(m.strip() for m in parts[2:6] if m.strip())
        self.line.charge = self._amount(seg, 3, "SV203")
        units = parse_amount(seg.get(5), seg, self.problems, "SV205")
        if units is not None:
            self.line.units = units

    def _amount(self, seg: Segment, pos: int, what: str) -> Decimal:
        value = parse_amount(seg.get(pos), seg, self.problems, what)
        if value is None:
            self.problems.append(Problem(seg.index, "MISSING_ELEMENT", f"{what} is missing or invalid"))
            return ZERO
        return value

    def _other_payers(self, claim: _Claim) -> tuple[ReceivedOtherPayer, ...]:
        known = {other.payer_id for other in claim.other_payers}
        for adj in claim.line_adjudications:
            if adj.payer_id not in known:
                self.problems.append(
                    Problem(claim.segment, "UNKNOWN_OTHER_PAYER", "a 2430 SVD01 names no 2330B payer of the claim")
                )
        return tuple(
            ReceivedOtherPayer(
                responsibility=other.responsibility,
                filing_indicator=other.filing_indicator,
                payer_id=other.payer_id,
                payer_name=other.payer_name,
                paid=other.paid,
                adjustments=tuple(other.adjustments),
                adjudication_date=other.adjudication_date,
                lines=tuple(
                    ReceivedLineAdjudication(
                        adj.line_number,
                        adj.payer_id,
                        adj.paid,
                        adj.code,
                        adj.units,
                        tuple(adj.adjustments),
                        adj.adjudication_date,
                    )
                    for adj in claim.line_adjudications
                    if adj.payer_id == other.payer_id
                ),
            )
            for other in claim.other_payers
        )

    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = None
        self.line = None
        self.other = None
        self.line_adjudication = None
        patient = self.patient or self.subscriber[:2]
        lines = tuple(
            ReceivedServiceLine(
                ln.number,
                ln.qualifier,
                ln.code,
                ln.modifiers,
                ln.charge,
                ln.units,
                ln.service_date or claim.claim_date,
                ln.revenue_code,
                ln.pointers,
            )
            for ln in claim.lines
        )
        if not lines:
            self.problems.append(Problem(claim.segment, "MISSING_SEGMENT", "claim without service lines"))
        self.claims.append(
            ReceivedClaim(
                claim_key=claim.key,
                total_charge=claim.charge,
                frequency_code=claim.frequency,
                place_of_service=claim.place,
                payer_id=self.payer[0],
                payer_name=self.payer[1],
                member_id=self.subscriber[2],
                subscriber_last_name=self.subscriber[0],
                subscriber_first_name=self.subscriber[1],
                patient_last_name=patient[0],
                patient_first_name=patient[1],
                billing_npi=self.billing[0],
                billing_name=self.billing[1],
                billing_tax_id=self.billing[2],
                diagnoses=tuple(claim.diagnoses),
                lines=lines,
                original_claim_number=claim.original,
                transaction_control_number=self.control_number,
                filing_indicator=self.filing_indicator,
                payer_responsibility=self.responsibility,
                other_payers=self._other_payers(claim),
            )
        )

    def finish(self) -> list[ReceivedClaim]:
        """Every claim of the transaction set."""
        self._close_claim()
        return self.claims


def _cas(seg: Segment, problems: list[Problem]) -> list[Adjustment]:
    """The reason/amount/quantity triples of one CAS segment (up to six)."""
    group = seg.get(1).strip()
    found: list[Adjustment] = []
    for first in range(2, 19, 3):
        reason = seg.get(first).strip()
        if not reason and not seg.get(first + 1).strip():
            continue
        amount = parse_amount(seg.get(first + 1), seg, problems, f"CAS{first + 1:02d}")
        if amount is None:
            problems.append(Problem(seg.index, "CAS_INCOMPLETE", f"CAS{first:02d} reason without a usable amount"))
            continue
        quantity = parse_amount(seg.get(first + 2), seg, problems, f"CAS{first + 2:02d}")
        found.append(Adjustment(group, reason, amount, quantity))
    return found


def read_837(source: bytes | str | os.PathLike[str] | BinaryIO) -> Received837:
    """Read every claim of an 837P or 837I file; other transaction sets are reported as problems."""
    out = Received837()
    builder: Builder837 | None = None
    group_version = ""
    seen_isa = seen_gs = False

    def close() -> None:
        nonlocal builder
        if builder is not None:
            out.claims.extend(builder.finish())
            out.problems.extend(builder.problems)
            builder = None

    for seg in read_segments(source, out.problems):
        if seg.id == "ISA" and not seen_isa:
            seen_isa = True
            out.interchange_control_number = seg.get(13).strip()
            out.sender_id = seg.get(6).strip()
            out.receiver_id = seg.get(8).strip()
            out.usage_indicator = seg.get(15).strip()
        elif seg.id == "GS":
            group_version = seg.get(8).strip()
            if not seen_gs:
                seen_gs = True
                out.group_control_number = seg.get(6).strip()
                out.version = group_version
        elif seg.id == "ST":
            close()
            if seg.get(1).strip() == "837":
                builder = Builder837(seg)
                out.transaction_control_numbers.append(builder.control_number)
                if not out.transaction_type:
                    out.transaction_type = transaction_type_837(seg, group_version)
            else:
                out.problems.append(
                    Problem(
                        seg.index,
                        "UNEXPECTED_TRANSACTION",
                        f"transaction set {seg.get(1).strip()!r} is not an 837",
                    )
                )
        elif seg.id == "SE":
            close()
        elif builder is not None:
            builder.feed(seg)
    close()
    return out
