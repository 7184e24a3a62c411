"""HL7 v2 DFT^P03 reader: single messages, message streams and FHS/BHS batch files into charge contract rows.

Parsing is python-hl7's (``hl7.parse``); this module splits the file into messages as it streams (either segment
terminator: CR, LF or CRLF; MLLP frame bytes ignored), checks escapes, and maps fields onto the contract. The
field-by-field mapping is in docs/ehr-feeds.md. A message it cannot read is held whole (every FT1 in it, found by
a plain scan) with the reason; credits (FT1-6 CD) and adjustments (AJ) are held for the claim-correction rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hl7
from hl7.util import unescape as hl7_unescape

from connectors.ehr.base import (
    HOLD_BROKEN_MESSAGE,
    HOLD_CORRECTION,
    HOLD_UNKNOWN_CHARGEMASTER_CODE,
    HOLD_UNKNOWN_FACILITY,
    HOLD_UNMAPPED_PLAN,
    HOLD_UNSUPPORTED,
    ExportRows,
    HeldCharge,
    SourceRef,
)
from connectors.ehr.config import EhrConfig, Facility, PlanMapping
from connectors.ehr.files import BOM, MLLP_FRAME_BYTES, file_sha256
from revcycle.charge_export import INSTITUTIONAL_CLAIM_COLUMNS, MAX_DIAGNOSES, MAX_MODIFIERS, OTHER_COVERAGE_COLUMNS

NAME = "hl7"
ENVELOPE_SEGMENTS = frozenset({"FHS", "BHS", "BTS", "FTS"})
CHARGE = "CG"
CORRECTIONS = {"CD": "credit", "AJ": "adjustment"}
# HL7 table 0063 (relationship) onto the contract's relationship values.
RELATIONSHIPS_0063: dict[str, str] = {
    "SEL": "self",
    "SPO": "spouse",
    "CHD": "child",
    "NCH": "child",
    "SCH": "child",
    "FCH": "child",
    "DEP": "child",
    "GCH": "other",
    "DOM": "other",
    "WRD": "other",
    "PAR": "other",
    "OTH": "other",
}
# HL7 table 0001 (administrative sex) onto M, F, U.
SEXES_0001 = {"M": "M", "F": "F"}
_READ_CHUNK = 1 << 20


class BrokenMessage(ValueError):
    """A message that cannot be read; the text names segments and fields, never values."""


@dataclass
class RawMessage:
    """One message as it stood in the file: its number (1-based, in file order) and its segment lines."""

    number: int
    segments: list[str] = field(default_factory=list)


def iter_segments(path: Path) -> Iterator[str]:
    """Every segment line of the file, streaming, with either terminator (CR, LF, CRLF) and frame bytes removed."""
    pending = b""
    first = True
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_READ_CHUNK)
            if first and chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
            first = False
            if not chunk:
                break
            data = pending + chunk
            parts = re.split(rb"\r\n|\r|\n", data)
            pending = parts.pop()
            # A CRLF split over two chunks leaves an empty line, which is skipped.
            for part in parts:
                text = _segment_text(part)
                if text:
                    yield text
    text = _segment_text(pending)
    if text:
        yield text


def _segment_text(raw: bytes) -> str:
    raw = raw.strip(MLLP_FRAME_BYTES).rstrip(b" \t")
    if not raw.strip():
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # HL7 v2 is often Latin-1 (MSH-18 8859/1); every byte decodes, so the message is read, not lost.
        return raw.decode("latin-1")


def iter_messages(segments: Iterator[str], envelope: list[str]) -> Iterator[RawMessage]:
    """Group segment lines into messages (each starts at MSH); FHS/BHS/BTS/FTS lines go to ``envelope``."""
    current: RawMessage | None = None
    number = 0
    for segment in segments:
        kind = segment[:3]
        if kind in ENVELOPE_SEGMENTS:
            envelope.append(segment)
            continue
        if kind == "MSH":
            if current is not None:
                yield current
            number += 1
            current = RawMessage(number, [segment])
        elif current is None:
            number += 1
            current = RawMessage(number, [segment])  # text before any MSH: held as a broken message
        else:
            current.segments.append(segment)
    if current is not None:
        yield current


_ESCAPE_BODY = r"(?:[FSTRE]|H|N|X[0-9A-Fa-f]*|Z[^{esc}]*|C[0-9A-Fa-f]+|M[0-9A-Fa-f]+|\.[a-z]{{2}}[-+]?\d*)"


def _escape_problem(segments: list[str], field_separator: str, escape: str) -> str | None:
    """The first field holding a malformed escape sequence (as ``PID-5``), or None."""
    if not escape:
        return None
    pattern = re.compile(re.escape(escape) + _ESCAPE_BODY.format(esc=re.escape(escape)) + re.escape(escape))
    for segment in segments:
        body = segment[8:] if segment.startswith("MSH") else segment
        if escape not in body:
            continue
        fields = segment.split(field_separator)
        start = 2 if segment.startswith("MSH") else 1  # MSH-2 holds the escape character itself
        for index in range(start, len(fields)):
            if escape in pattern.sub("", fields[index]):
                number = index + 1 if segment.startswith("MSH") else index
                return f"{segment[:3]}-{number}"
    return None


def _scan_charges(raw: RawMessage, field_separator: str) -> list[tuple[int, str | None, str | None]]:
    """(FT1 number, FT1-2, FT1-6) of every FT1 of a message, by a plain split (used when parsing fails)."""
    found: list[tuple[int, str | None, str | None]] = []
    for segment in raw.segments:
        if segment.startswith("FT1"):
            fields = segment.split(field_separator)
            charge_id = fields[2] if len(fields) > 2 and fields[2] else None
            kind = fields[6] if len(fields) > 6 and fields[6] else None
            found.append((len(found) + 1, charge_id, kind))
    return found


def _control_id(raw: RawMessage, field_separator: str) -> str:
    head = raw.segments[0]
    if not head.startswith("MSH"):
        return ""
    fields = head.split(field_separator)
    return fields[9] if len(fields) > 9 else ""


def _get(segment: hl7.Segment | None, number: int, repeat: int = 1, component: int = 1, sub: int = 1) -> str:
    """One value (unescaped) or '' when the segment, field, repetition or component is absent.

    The same walk as python-hl7's ``Segment.extract_field`` (a value deeper than the tree is the leaf reached,
    when every deeper position asked for is 1), without its per-call accessor object: about a fifth of the
    reader's time went there.
    """
    if segment is None or number >= len(segment):
        return ""
    value: Any = segment[number]
    for position in (repeat, component, sub):
        if isinstance(value, str):
            if position != 1:
                return ""
            continue
        if position > len(value):
            return ""
        value = value[position - 1]
    text = value if isinstance(value, str) else str(value)
    if segment.esc in text:
        text = str(hl7_unescape(segment, text))
    return text.strip()


def _repetitions(segment: hl7.Segment | None, number: int) -> int:
    if segment is None or number >= len(segment):
        return 0
    value = segment[number]
    if isinstance(value, str):
        return 1 if value else 0
    if len(value) == 1 and not str(value):
        return 0
    return len(value)


def _date(text: str) -> str:
    """An HL7 DT/TS value as YYYY-MM-DD; text that is not a date is passed on as it is (the gate rejects it)."""
    day = text[:8]
    if len(day) == 8 and day.isdigit():
        return f"{day[:4]}-{day[4:6]}-{day[6:8]}"
    return text


def _sex(text: str) -> str:
    return SEXES_0001.get(text.upper(), "U") if text else ""


def _person_id(segment: hl7.Segment | None, number: int) -> tuple[str, str, str]:
    """(id, family name, given name) of an XCN field: the repetition typed NPI (XCN-13), else the first."""
    count = _repetitions(segment, number)
    chosen = 1
    for repeat in range(1, count + 1):
        if _get(segment, number, repeat, 13).upper() == "NPI":
            chosen = repeat
            break
    return _get(segment, number, chosen, 1), _get(segment, number, chosen, 2), _get(segment, number, chosen, 3)


def _patient_mrn(pid: hl7.Segment | None) -> str:
    for repeat in range(1, _repetitions(pid, 3) + 1):
        if _get(pid, 3, repeat, 5).upper() == "MR":
            return _get(pid, 3, repeat, 1)
    return _get(pid, 3, 1, 1)


def _address(segment: hl7.Segment | None, number: int) -> dict[str, str]:
    return {
        "address1": _get(segment, number, 1, 1),
        "city": _get(segment, number, 1, 3),
        "state": _get(segment, number, 1, 4),
        "zip": _get(segment, number, 1, 5).replace("-", ""),
    }


def _segments(message: hl7.Message, kind: str) -> list[hl7.Segment]:
    return [segment for segment in message if segment[0][0] == kind]


def _encounter_diagnoses(message: hl7.Message) -> list[str]:
    """DG1 codes by priority (DG1-15; 1 is the principal), then by set id, without repeats."""
    ranked = []
    for order, dg1 in enumerate(_segments(message, "DG1")):
        code = _get(dg1, 3, 1, 1)
        if not code:
            continue
        priority = _get(dg1, 15)
        ranked.append((int(priority) if priority.isdigit() and int(priority) > 0 else 10**6, order, code))
    codes: list[str] = []
    for _priority, _order, code in sorted(ranked):
        if code not in codes:
            codes.append(code)
    return codes


@dataclass(frozen=True)
class _Encounter:
    """What every FT1 of a message shares."""

    row: dict[str, str]
    diagnoses: tuple[str, ...]
    facility: Facility | None
    plan: PlanMapping | None
    plan_problem: str


def _encounter(message: hl7.Message, config: EhrConfig) -> _Encounter:
    msh = message.segment("MSH")
    pid = next(iter(_segments(message, "PID")), None)
    pv1 = next(iter(_segments(message, "PV1")), None)
    insurers = _segments(message, "IN1")
    in1 = next((s for s in insurers if _get(s, 1) in ("", "1")), insurers[0] if insurers else None)
    in2 = None
    if in1 is not None:
        position = next(i for i, s in enumerate(message) if s is in1)
        following = message[position + 1] if position + 1 < len(message) else None
        in2 = following if following is not None and str(following[0]) == "IN2" else None
    patient_address = _address(pid, 11)
    row: dict[str, str] = {
        "encounter_id": _get(pv1, 19, 1, 1) or _get(pid, 18, 1, 1),
        "patient_mrn": _patient_mrn(pid),
        "patient_last_name": _get(pid, 5, 1, 1, 1),
        "patient_first_name": _get(pid, 5, 1, 2),
        "patient_birth_date": _date(_get(pid, 7)),
        "patient_sex": _sex(_get(pid, 8)),
        **{f"patient_{key}": value for key, value in patient_address.items()},
    }
    relationship_code = _get(in1, 17, 1, 1).upper()
    relationship = RELATIONSHIPS_0063.get(relationship_code, "other" if relationship_code else "")
    is_self = relationship == "self"
    insured_address = _address(in1, 19)
    if is_self and not insured_address["address1"]:
        insured_address = patient_address
    row |= {
        "relationship": relationship,
        "subscriber_last_name": _get(in1, 16, 1, 1, 1) or (row["patient_last_name"] if is_self else ""),
        "subscriber_first_name": _get(in1, 16, 1, 2) or (row["patient_first_name"] if is_self else ""),
        "subscriber_birth_date": _date(_get(in1, 18)) or (row["patient_birth_date"] if is_self else ""),
        "subscriber_sex": _sex(_get(in1, 43)) or (row["patient_sex"] if is_self else ""),
        **{f"subscriber_{key}": value for key, value in insured_address.items()},
        "member_id": _get(in1, 36) or _get(in1, 49, 1, 1) or _get(in2, 6) or _get(in2, 8),
        "group_number": _get(in1, 8),
        "prior_authorization": _get(in1, 14, 1, 1),
        "claim_frequency_code": "1",
        "original_claim_number": "",
        "visit_status": "",
    }
    referring = _person_id(pv1, 8)
    row |= {"referring_npi": referring[0], "referring_last_name": referring[1], "referring_first_name": referring[2]}
    facility = config.facility(_get(pv1, 3, 1, 4), _get(msh, 4, 1, 1))
    if facility is not None:
        row |= dict(facility.billing)
        row |= {"place_of_service": facility.place_of_service, "claim_type": facility.claim_type}
    plan = None
    plan_problem = ""
    if in1 is None:
        plan_problem = "the message has no IN1 segment, so no payer"
    else:
        plan_ids = [_get(in1, 2, 1, 1)]
        company_ids = [_get(in1, 3, repeat, 1) for repeat in range(1, _repetitions(in1, 3) + 1)]
        plan = config.plan(plan_ids, company_ids)
        if plan is None:
            plan_problem = "the plan in IN1-2/IN1-3 is not in the plan crosswalk (ehr.toml [[plans]])"
        else:
            row |= {"payer_id": plan.payer_id, "claim_filing_indicator": plan.claim_filing_indicator}
    return _Encounter(row, tuple(_encounter_diagnoses(message)), facility, plan, plan_problem)


def _line(ft1: hl7.Segment, encounter: _Encounter, config: EhrConfig) -> tuple[dict[str, str], str | None]:
    """The contract row of one FT1, or the row so far and why it must be held (chargemaster)."""
    row = dict(encounter.row)
    procedure = _get(ft1, 25, 1, 1).upper()
    modifiers = [_get(ft1, 26, repeat, 1).upper() for repeat in range(1, _repetitions(ft1, 26) + 1)]
    modifiers = [m for m in modifiers if m]
    problem = None
    if not procedure:
        code = _get(ft1, 7, 1, 1)
        entry = config.chargemaster.get(code) if code else None
        if entry is not None:
            procedure = entry.procedure_code
            modifiers = modifiers or list(entry.modifiers)
        elif code:
            problem = "FT1-25 is empty and the FT1-7 charge code is not in the chargemaster"
    start = _date(_get(ft1, 4, 1, 1))
    end = _date(_get(ft1, 4, 1, 2)) or start
    line_codes = [_get(ft1, 19, repeat, 1) for repeat in range(1, _repetitions(ft1, 19) + 1)]
    line_codes = [code for code in line_codes if code]
    diagnoses = list(encounter.diagnoses)
    for code in line_codes:
        if code not in diagnoses:
            diagnoses.append(code)
    pointed = line_codes or diagnoses[:4]
    pointers = [str(diagnoses.index(code) + 1) for code in dict.fromkeys(pointed)]
    rendering = _person_id(ft1, 20)
    row |= {
        "rendering_npi": rendering[0],
        "rendering_last_name": rendering[1],
        "rendering_first_name": rendering[2],
        "type_of_bill": "",
        "revenue_code": "",
        **dict.fromkeys(INSTITUTIONAL_CLAIM_COLUMNS, ""),
        **dict.fromkeys(OTHER_COVERAGE_COLUMNS, ""),
        "service_date_from": start,
        "service_date_to": end,
        "procedure_code": procedure,
        **{f"modifier{i}": (modifiers[i - 1] if i <= len(modifiers) else "") for i in range(1, MAX_MODIFIERS + 1)},
        "units": _get(ft1, 10, 1, 1),
        "charge_amount": _get(ft1, 11, 1, 1, 1),
        **{f"diagnosis{i}": (diagnoses[i - 1] if i <= len(diagnoses) else "") for i in range(1, MAX_DIAGNOSES + 1)},
        "diagnosis_pointers": ":".join(pointers),
    }
    if len(diagnoses) > MAX_DIAGNOSES:
        problem = problem or f"the message carries {len(diagnoses)} diagnoses, the contract at most {MAX_DIAGNOSES}"
    return row, problem


def _scanned_encounter(raw: RawMessage, separator: str) -> dict[str, str] | None:
    """The visit number (PV1-19.1) of a message that cannot be parsed, by a plain split, so that its encounter
    is held whole with it; None when there is none (escapes are not resolved: it is only an id)."""
    head = raw.segments[0]
    component = head[4] if head.startswith("MSH") and len(head) > 4 else "^"
    for segment in raw.segments:
        if segment.startswith("PV1"):
            fields = segment.split(separator)
            visit = fields[19].split(component)[0].strip() if len(fields) > 19 else ""
            return {"encounter_id": visit} if visit else None
    return None


def _hold_all(out: ExportRows, raw: RawMessage, separator: str, rule: str, reason: str) -> None:
    control = _control_id(raw, separator)
    charges = _scan_charges(raw, separator)
    encounter = _scanned_encounter(raw, separator)
    for number, charge_id, kind in charges:
        source = SourceRef(out.path.name, _position(raw.number, control, number))
        fallback = f"{control}-{number}" if control else None
        row = dict(encounter) if encounter else None
        out.hold(HeldCharge(source, rule, f"{source}: {reason}", charge_id or fallback, kind, row))
    out.units_in += len(charges)
    if not charges:
        out.problems.append(f"{out.path.name} message {raw.number}: {reason} (no FT1 found in it)")


def _position(message_number: int, control_id: str, ft1_number: int | None = None) -> str:
    where = f"message {message_number}" + (f" (MSH-10 {control_id})" if control_id else "")
    return where + (f" FT1 {ft1_number}" if ft1_number is not None else "")


def read_message(out: ExportRows, raw: RawMessage, config: EhrConfig) -> None:
    """Map one raw message into ``out``: a row per CG charge, a held entry for every other FT1."""
    head = raw.segments[0]
    if not head.startswith("MSH") or len(head) < 9:
        _hold_all(out, raw, "|", HOLD_BROKEN_MESSAGE, "broken message: it does not start with an MSH segment")
        return
    separator = head[3]
    encoding = head[4:8]
    escape = encoding[2] if len(encoding) > 2 else ""
    problem = _escape_problem(raw.segments, separator, escape)
    if problem is not None:
        _hold_all(out, raw, separator, HOLD_BROKEN_MESSAGE, f"broken message: malformed escape sequence in {problem}")
        return
    try:
        message = hl7.parse("\r".join(raw.segments))
        msh = message.segment("MSH")
    except Exception as error:  # the library's errors are not one type; the message is held, never lost
        _hold_all(out, raw, separator, HOLD_BROKEN_MESSAGE, f"broken message: {type(error).__name__} from the parser")
        return
    message_type = _get(msh, 9, 1, 1).upper()
    if message_type != "DFT":
        _hold_all(out, raw, separator, HOLD_UNSUPPORTED, f"MSH-9 is {message_type or 'empty'}, not a DFT message")
        return
    control = _get(msh, 10)
    encounter = _encounter(message, config)
    for number, ft1 in enumerate(_segments(message, "FT1"), start=1):
        out.units_in += 1
        source = SourceRef(out.path.name, _position(raw.number, control, number))
        charge_id = _get(ft1, 2) or f"{control}-{_get(ft1, 1) or number}"
        kind = _get(ft1, 6).upper()
        row, line_problem = _line(ft1, encounter, config)
        row["charge_id"] = charge_id
        if kind in CORRECTIONS:
            reason = (
                f"{source}: FT1-6 {kind} ({CORRECTIONS[kind]}) is held for the claim-correction rules, "
                "which are not built yet"
            )
            out.hold(HeldCharge(source, HOLD_CORRECTION, reason, charge_id, kind, row))
        elif kind != CHARGE:
            reason = f"{source}: FT1-6 transaction type {kind or 'empty'} is not a charge (CG)"
            out.hold(HeldCharge(source, HOLD_UNSUPPORTED, reason, charge_id, kind or None, row))
        elif encounter.facility is None:
            reason = f"{source}: no configured facility for PV1-3.4 or MSH-4 (ehr.toml [facilities])"
            out.hold(HeldCharge(source, HOLD_UNKNOWN_FACILITY, reason, charge_id, kind, row))
        elif encounter.plan is None:
            out.hold(
                HeldCharge(source, HOLD_UNMAPPED_PLAN, f"{source}: {encounter.plan_problem}", charge_id, kind, row)
            )
        elif line_problem is not None:
            rule = HOLD_UNKNOWN_CHARGEMASTER_CODE if "chargemaster" in line_problem else HOLD_UNSUPPORTED
            out.hold(HeldCharge(source, rule, f"{source}: {line_problem}", charge_id, kind, row))
        else:
            out.add_row(row, source)


def _check_envelope(out: ExportRows, envelope: list[str], messages: int) -> None:
    for segment in envelope:
        if segment.startswith("BTS"):
            fields = segment.split(segment[3] if len(segment) > 3 else "|")
            declared = fields[1] if len(fields) > 1 else ""
            if declared.isdigit() and int(declared) != messages:
                out.problems.append(
                    f"{out.path.name}: BTS-1 declares {declared} messages, the file holds {messages}; "
                    "ask the sender whether messages are missing"
                )


class Hl7DftReader:
    """HL7 v2 DFT^P03: messages starting with MSH, or batch files starting with FHS or BHS."""

    name: str = NAME
    suffixes: tuple[str, ...] = (".hl7", ".dft", ".txt", ".dat", ".msg")

    def recognises(self, head: bytes) -> bool:
        """MSH, FHS or BHS followed by a field separator."""
        return len(head) > 4 and head[:3] in (b"MSH", b"FHS", b"BHS") and not head[3:4].isalnum()

    def read(self, path: Path, config: EhrConfig) -> ExportRows:
        """Read every message of the file, streaming."""
        out = ExportRows(path=path, format=NAME, sha256=file_sha256(path), size=path.stat().st_size)
        envelope: list[str] = []
        messages = 0
        for raw in iter_messages(iter_segments(path), envelope):
            messages += 1
            read_message(out, raw, config)
        _check_envelope(out, envelope, messages)
        return out
