"""The JSON view of any X12 file (`revcycle x12 parse FILE --json`): transactions, amounts, problems.

The view carries no names, member ids, birth dates or addresses: claim keys, trace numbers, codes, amounts
and control numbers only (organisation names of payers and providers aside). Amounts are decimal strings,
never floats. Each transaction type's fields are listed in docs/x12-json.md.
"""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO, Protocol

from revcycle.x12.hierarchy import DatePeriod, Name
from revcycle.x12.reader import Problem, Segment, read_segments
from revcycle.x12.x270 import Builder270, EligibilityInquiry270
from revcycle.x12.x271 import Builder271, EligibilityResponse271, NamedAction, Rejection
from revcycle.x12.x276 import Builder276, ClaimStatusRequest276
from revcycle.x12.x277 import Builder277, ClaimStatusResponse277, StatusReport
from revcycle.x12.x277ca import Ack277CA, Builder277CA, StatusInfo
from revcycle.x12.x835 import Adjustment, Builder835, Remittance835
from revcycle.x12.x837 import Builder837, ReceivedClaim, transaction_type_837
from revcycle.x12.x999 import Ack999, Builder999, parse_ta1


class _Builder(Protocol):
    def feed(self, seg: Segment) -> None: ...


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _adjustments(items: list[Adjustment]) -> list[dict[str, Any]]:
    return [
        {"group": a.group, "reason": a.reason, "amount": str(a.amount), "quantity": _money(a.quantity)} for a in items
    ]


def _835(remit: Remittance835) -> dict[str, Any]:
    pay = remit.payment
    return {
        "payment": {
            "amount": str(pay.amount),
            "method": pay.method,
            "date": pay.date.isoformat() if pay.date else None,
            "trace_number": pay.trace_number,
        },
        "payer": {"name": remit.payer.name, "id": remit.payer_id},
        "payee": {"name": remit.payee.name, "npi": remit.payee.npi},
        "claims": [
            {
                "patient_control_number": c.patient_control_number,
                "status": c.status,
                "charge": str(c.charge),
                "paid": str(c.paid),
                "patient_responsibility": _money(c.patient_responsibility) or "0",
                "payer_claim_number": c.payer_claim_number,
                "adjustments": _adjustments(c.adjustments),
                "remarks": c.remarks,
                "services": [
                    {
                        "qualifier": s.qualifier,
                        "code": s.code,
                        "modifiers": list(s.modifiers),
                        "charge": str(s.charge),
                        "paid": str(s.paid),
                        "units": str(s.units) if s.units is not None else "1",
                        "adjustments": _adjustments(s.adjustments),
                        "remarks": s.remarks,
                    }
                    for s in c.services
                ],
            }
            for c in remit.claims
        ],
        "provider_adjustments": [
            {"reason": p.reason, "reference": p.reference, "amount": str(p.amount)} for p in remit.provider_adjustments
        ],
        "balance_problems": [
            {"patient_control_number": b.patient_control_number, "message": b.message} for b in remit.balance_problems
        ],
    }


def _999(ack: Ack999) -> dict[str, Any]:
    return {
        "acknowledged_group": {
            "functional_id": ack.functional_id,
            "control_number": ack.group_control_number,
            "version": ack.group_version,
        },
        "status": ack.status,
        "included": ack.included,
        "received": ack.received,
        "accepted": ack.accepted_count,
        "transactions": [
            {
                "set_id": t.set_id,
                "control_number": t.control_number,
                "status": t.status,
                "accepted": t.accepted,
                "error_codes": list(t.error_codes),
                "segment_errors": [
                    {
                        "segment_id": e.segment_id,
                        "position": e.position,
                        "loop": e.loop,
                        "code": e.code,
                        "element_errors": [
                            {"position": x.position, "reference": x.reference, "code": x.code} for x in e.element_errors
                        ],
                    }
                    for e in t.segment_errors
                ],
            }
            for t in ack.transactions
        ],
    }


def _status(s: StatusInfo) -> dict[str, Any]:
    return {
        "category": s.category,
        "code": s.code,
        "entity": s.entity,
        "action_code": s.action_code,
        "amount": _money(s.amount),
    }


def _277ca(ack: Ack277CA) -> dict[str, Any]:
    return {
        "claims": [
            {
                "claim_key": c.claim_key,
                "accepted": c.accepted,
                "category": c.category,
                "statuses": [_status(s) for s in c.statuses],
                "payer_claim_number": c.payer_claim_number,
                "clearinghouse_trace": c.clearinghouse_trace,
            }
            for c in ack.claims
        ]
    }


def _837(claims: list[ReceivedClaim]) -> dict[str, Any]:
    return {
        "claims": [
            {
                "claim_key": c.claim_key,
                "charge": str(c.total_charge),
                "frequency_code": c.frequency_code,
                "lines": len(c.lines),
            }
            for c in claims
        ]
    }


# -- 270 / 271 / 276 / 277 (X212) -------------------------------------------------------------------------

# NM108 qualifiers whose NM109 identifies an organisation (payer id, NPI, ETIN, tax id), never a member
_ORG_ID_QUALIFIERS = frozenset({"PI", "XV", "NI", "XX", "46", "FI", "24", "SV"})


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _party(name: Name | None) -> dict[str, Any]:
    """An organisation's name and identifier; a person's name stays out, and so does a member id."""
    if name is None:
        return {"entity": "", "name": "", "id_qualifier": "", "id": ""}
    shown_id = name.identifier if name.id_qualifier in _ORG_ID_QUALIFIERS else ""
    return {
        "entity": name.entity,
        "name": "" if name.is_person else name.last,
        "id_qualifier": name.id_qualifier if shown_id else "",
        "id": shown_id,
    }


def _period(p: DatePeriod) -> dict[str, Any]:
    return {"qualifier": p.qualifier, "start": _iso(p.start), "end": _iso(p.end)}


def _rejection(r: Rejection) -> dict[str, Any]:
    return {
        "loop": r.loop,
        "valid_request": r.valid_request,
        "reason": r.reason,
        "reason_text": r.reason_text,
        "follow_up": r.follow_up,
        "action": str(r.rule.action),
        "source": r.rule.source,
    }


def _action(a: NamedAction) -> dict[str, Any]:
    return {
        "action": str(a.action),
        "source": a.source,
        "loop": a.loop,
        "reason": a.reason,
        "follow_up": a.follow_up,
        "entity": _party(a.entity) if a.entity is not None else None,
    }


def _270(inquiry: EligibilityInquiry270) -> dict[str, Any]:
    return {
        "reference": inquiry.reference,
        "payer": _party(inquiry.payer),
        "provider": _party(inquiry.provider),
        "inquiries": [
            {
                "level": m.level,
                "trace": m.trace.number if m.trace else "",
                "asks": m.asks,
                "service_types": list(m.service_types),
            }
            for m in inquiry.members
        ],
    }


def _271(response: EligibilityResponse271) -> dict[str, Any]:
    return {
        "reference": response.reference,
        "payer": _party(response.payer),
        "provider": _party(response.receiver),
        "rejections": [_rejection(r) for r in response.rejections],
        "actions": [_action(a) for a in response.actions],
        "members": [
            {
                "level": m.level,
                "trace": m.inquiry_trace,
                "coverage": str(m.coverage),
                "relationship": m.relationship,
                "plan": {"begin": _iso(m.plan_begin), "end": _iso(m.plan_end)},
                "eligibility": {"begin": _iso(m.eligibility_begin), "end": _iso(m.eligibility_end)},
                "dates": [_period(d) for d in m.dates],
                "benefits": [
                    {
                        "code": b.code,
                        "kind": b.kind,
                        "coverage_level": b.coverage_level,
                        "service_types": list(b.service_types),
                        "insurance_type": b.insurance_type,
                        "plan_description": b.plan_description,
                        "time_period": b.time_period,
                        "remaining": b.remaining,
                        "amount": _money(b.amount),
                        "percent": _money(b.percent),
                        "quantity_qualifier": b.quantity_qualifier,
                        "quantity": _money(b.quantity),
                        "authorization_required": b.authorization_required,
                        "in_network": b.in_network,
                        "network": b.network,
                        "dates": [_period(d) for d in b.dates],
                    }
                    for b in m.benefits
                ],
                "other_payers": [
                    {
                        "order": p.order,
                        "entity": p.entity,
                        "name": "" if p.is_person else p.name,
                        "id_qualifier": p.id_qualifier if p.id_qualifier in _ORG_ID_QUALIFIERS else "",
                        "id": p.identifier if p.id_qualifier in _ORG_ID_QUALIFIERS else "",
                        "insurance_type": p.insurance_type,
                        "service_types": list(p.service_types),
                    }
                    for p in m.other_payers
                ],
                "authorization_required_for": list(m.authorization_required_for),
                "rejections": [_rejection(r) for r in m.rejections],
                "actions": [_action(a) for a in m.actions],
            }
            for m in response.members
        ],
    }


def _276(request: ClaimStatusRequest276) -> dict[str, Any]:
    return {
        "reference": request.reference,
        "payer": _party(request.payer),
        "claims": [
            {
                "level": c.level,
                "trace": c.trace,
                "claim_key": c.claim_key,
                "payer_claim_number": c.payer_claim_number,
                "charge": _money(c.total_charge),
                "bill_type": c.bill_type,
                "provider": _party(c.provider),
                "lines": len(c.lines),
            }
            for c in request.claims
        ],
    }


def _report(r: StatusReport) -> dict[str, Any]:
    return {
        "statuses": [
            {"category": s.category, "code": s.code, "entity": s.entity, "stage": s.stage} for s in r.statuses
        ],
        "effective_date": _iso(r.effective_date),
        "charge": _money(r.total_charge),
        "paid": _money(r.paid),
        "adjudicated": _iso(r.adjudicated),
        "remittance_date": _iso(r.remittance_date),
        "remittance_trace": r.remittance_trace,
    }


def _277(response: ClaimStatusResponse277) -> dict[str, Any]:
    return {
        "reference": response.reference,
        "payer": _party(response.payer),
        "claims": [
            {
                "level": c.level,
                "trace": c.trace,
                "claim_key": c.claim_key,
                "payer_claim_number": c.payer_claim_number,
                "clearinghouse_trace": c.clearinghouse_trace,
                "provider": _party(c.provider),
                "category": c.category,
                "stage": c.stage,
                "charge": _money(c.total_charge),
                "paid": _money(c.paid),
                "adjudicated": _iso(c.adjudicated),
                "remittance_date": _iso(c.remittance_date),
                "statuses": [_report(r) for r in c.reports],
                "lines": [
                    {
                        "qualifier": line.qualifier,
                        "procedure": line.procedure,
                        "modifiers": list(line.modifiers),
                        "charge": _money(line.charge),
                        "paid": _money(line.paid),
                        "units": _money(line.units),
                        "statuses": [_report(r) for r in line.reports],
                    }
                    for line in c.lines
                ],
            }
            for c in response.claims
        ],
        "level_statuses": [{"level": level, **_report(r)} for level, r in response.level_reports],
    }


class _Document:
    """Routes each transaction set to its builder and collects the JSON entries."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.transactions: list[dict[str, Any]] = []
        self.entry: dict[str, Any] | None = None
        self.builder: _Builder | None = None
        self.group_id = ""
        self.group_version = ""

    def feed(self, seg: Segment) -> None:
        if seg.id == "TA1":
            ta1 = parse_ta1(seg)
            self.transactions.append(
                {
                    "type": "TA1",
                    "control_number": ta1.control_number,
                    "ack_code": ta1.ack_code,
                    "note_code": ta1.note_code,
                    "accepted": ta1.accepted,
                }
            )
        elif seg.id == "GS":
            self.group_id = seg.get(1).strip()
            self.group_version = seg.get(8).strip()
        elif seg.id == "ST":
            self.close()
            self._open(seg)
        elif seg.id == "SE":
            self.close()
        elif seg.id in ("ISA", "IEA", "GE"):
            pass
        elif self.builder is not None:
            self.builder.feed(seg)

    def _open(self, st: Segment) -> None:
        set_id = st.get(1).strip()
        version = st.get(3).strip() or self.group_version
        kind = set_id
        builder: _Builder | None = None
        if set_id == "835":
            builder = Builder835(st, version=version)
        elif set_id == "837":
            kind = transaction_type_837(st, self.group_version)
            builder = Builder837(st)
        elif set_id == "999":
            builder = Builder999(st)
        elif set_id == "277" and "X212" in version:
            builder = Builder277(st)
        elif set_id == "277" and ("X214" in version or self.group_id == "HN"):
            kind = "277CA"
            builder = Builder277CA(st)
        elif set_id == "270":
            builder = Builder270(st)
        elif set_id == "271":
            builder = Builder271(st)
        elif set_id == "276":
            builder = Builder276(st)
        else:
            self.problems.append(
                Problem(
                    st.index,
                    "UNSUPPORTED_TRANSACTION",
                    f"transaction set {set_id or '(empty ST01)'} ({version}) is listed but not parsed",
                )
            )
        self.entry = {"type": kind, "control_number": st.get(2).strip()}
        self.transactions.append(self.entry)
        self.builder = builder

    def close(self) -> None:
        builder, entry = self.builder, self.entry
        self.builder = None
        self.entry = None
        if builder is None or entry is None:
            return
        if isinstance(builder, Builder835):
            remit = builder.finish()
            entry.update(_835(remit))
            self.problems.extend(remit.problems)
        elif isinstance(builder, Builder837):
            claims = builder.finish()
            entry.update(_837(claims))
            self.problems.extend(builder.problems)
        elif isinstance(builder, Builder999):
            ack = builder.finish()
            entry.update(_999(ack))
            self.problems.extend(ack.problems)
        elif isinstance(builder, Builder277CA):
            ack277 = builder.finish()
            entry.update(_277ca(ack277))
            self.problems.extend(ack277.problems)
        else:
            self._close_inquiry(builder, entry)

    def _close_inquiry(self, builder: _Builder, entry: dict[str, Any]) -> None:
        """The 270, 271, 276 and 277 (X212) transaction sets."""
        if isinstance(builder, Builder270):
            inquiry = builder.finish()
            entry.update(_270(inquiry))
            self.problems.extend(inquiry.problems)
        elif isinstance(builder, Builder271):
            response = builder.finish()
            entry.update(_271(response))
            self.problems.extend(response.problems)
        elif isinstance(builder, Builder276):
            request = builder.finish()
            entry.update(_276(request))
            self.problems.extend(request.problems)
        elif isinstance(builder, Builder277):
            status = builder.finish()
            entry.update(_277(status))
            self.problems.extend(status.problems)


def parse_document(source: bytes | str | os.PathLike[str] | BinaryIO, file_name: str) -> dict[str, Any]:
    """The JSON-ready view of an X12 file: ``{"file", "problems", "transactions"}`` (see the CLI docs).

    The whole view is held in memory (every claim of every transaction set): meant for files up to some
    tens of MB. For a large 835 use ``x835.iter_835``, which streams claim by claim in flat memory.
    """
    doc = _Document()
    for seg in read_segments(source, doc.problems):
        doc.feed(seg)
    doc.close()
    if not doc.transactions and not any(p.code == "ISA_NOT_FOUND" for p in doc.problems):
        doc.problems.append(Problem(None, "NO_TRANSACTIONS", "the file holds no transaction set"))
    ordered = sorted(doc.problems, key=lambda p: -1 if p.segment is None else p.segment)
    return {
        "file": file_name,
        "problems": [{"segment": p.segment, "code": p.code, "message": p.message} for p in ordered],
        "transactions": doc.transactions,
    }


def to_json(doc: dict[str, Any]) -> str:
    """The document as indented JSON text."""
    return json.dumps(doc, indent=2, ensure_ascii=False)
