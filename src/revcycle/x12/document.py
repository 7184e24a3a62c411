"""The JSON view of any X12 file (`revcycle x12 parse FILE --json`): transactions, amounts, problems.

The view carries no names, member ids, birth dates or addresses: claim keys, codes, amounts and control
numbers only. Amounts are decimal strings, never floats.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any, BinaryIO, Protocol

from revcycle.x12.reader import Problem, Segment, read_segments
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
        elif set_id == "277" and ("X214" in version or (self.group_id == "HN" and "X212" not in version)):
            kind = "277CA"
            builder = Builder277CA(st)
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
