"""What a person reads first in an X12 file (`revcycle x12 parse FILE` without ``--json``).

Works on the JSON-ready view of ``document.parse_document``: per transaction set one result in the table
(999 acknowledgement code, 277CA accepted and rejected counts, 835 amount paid) and the details below it
(rejected sets with their error codes, rejected claims with their status codes, the 835's payer, payee,
payment and claim totals). ``findings`` lists what the file reports as wrong; with the reader's problems
they decide the exit code (see docs/x12-json.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from revcycle.tables import render_table

# AK901 / IK501 / TA104 codes (999 and TA1 implementation guides)
ACK_CODES: Mapping[str, str] = {
    "A": "accepted",
    "E": "accepted with errors",
    "P": "partially accepted",
    "R": "rejected",
    "M": "rejected (message authentication code failed)",
    "W": "rejected (assurance failed validity tests)",
    "X": "rejected (content could not be analysed after decryption)",
}


def ack_label(code: str) -> str:
    """``R rejected``: an acknowledgement code with its meaning (an unknown code as written)."""
    meaning = ACK_CODES.get(code)
    if not code:
        return "(no code)"
    return f"{code} {meaning}" if meaning else code


def _total(values: Sequence[str | None]) -> str:
    """The sum of decimal strings as written (``16.8`` + ``14`` = ``30.8``); an unreadable one is skipped."""
    total = Decimal(0)
    for value in values:
        try:
            total += Decimal(value or "0")
        except InvalidOperation:
            continue
    return str(total)


def _set_errors(t: Mapping[str, Any]) -> str:
    """``IK5 5; CLM at segment 22: 8; element 2 (782): 1`` for one 999 transaction set response."""
    parts = []
    if t.get("error_codes"):
        parts.append("IK5 " + ", ".join(t["error_codes"]))
    for e in t.get("segment_errors") or []:
        loop = f" (loop {e['loop']})" if e.get("loop") else ""
        parts.append(f"{e['segment_id']} at segment {e['position']}{loop}: {e['code']}")
        for x in e.get("element_errors") or []:
            reference = f" ({x['reference']})" if x.get("reference") else ""
            parts.append(f"element {x['position']}{reference}: {x['code']}")
    return "; ".join(parts) or "no error code given"


def _result_999(t: Mapping[str, Any]) -> str:
    counts = f"{t['included']} included, {t['received']} received, {t['accepted']} accepted"
    return f"{ack_label(t.get('status') or '')}: {counts}"


def _details_999(t: Mapping[str, Any]) -> Iterator[str]:
    group = t["acknowledged_group"]
    acknowledged = " ".join(v for v in (group["functional_id"], group["control_number"], group["version"]) if v)
    yield f"999 {t['control_number']}: group {acknowledged or '(not named)'}: {_result_999(t)}"
    for s in t["transactions"]:
        if s["status"] != "A":
            yield f"  set {s['set_id']} {s['control_number']}: {ack_label(s['status'])}: {_set_errors(s)}"


def _counts_277ca(t: Mapping[str, Any]) -> str:
    accepted = sum(1 for c in t["claims"] if c["accepted"])
    return f"{accepted} accepted, {len(t['claims']) - accepted} rejected"


def _details_277ca(t: Mapping[str, Any]) -> Iterator[str]:
    yield f"277CA {t['control_number']}: {len(t['claims'])} claims: {_counts_277ca(t)}"
    for c in t["claims"]:
        if not c["accepted"]:
            codes = ", ".join(
                f"{s['category']}:{s['code']}" + (f" (entity {s['entity']})" if s.get("entity") else "")
                for s in c["statuses"]
            )
            yield f"  claim {c['claim_key']} rejected: {codes or c['category']}"


def _details_835(t: Mapping[str, Any]) -> Iterator[str]:
    payer, payee, pay = t["payer"], t["payee"], t["payment"]
    payer_id = f" (id {payer['id']})" if payer.get("id") else ""
    payee_npi = f" (NPI {payee['npi']})" if payee.get("npi") else ""
    on = f" on {pay['date']}" if pay.get("date") else ""
    yield (
        f"835 {t['control_number']}: payer {payer['name'] or '(no name)'}{payer_id} to payee "
        f"{payee['name'] or '(no name)'}{payee_npi}: {pay['amount']} by {pay['method'] or '(no method)'}{on}, "
        f"trace {pay['trace_number'] or '(none)'}"
    )
    claims = t["claims"]
    yield (
        f"  {len(claims)} claims: charged {_total([c['charge'] for c in claims])}, "
        f"paid {_total([c['paid'] for c in claims])}, "
        f"patient responsibility {_total([c['patient_responsibility'] for c in claims])}"
    )
    if t["provider_adjustments"]:
        yield f"  provider adjustments (PLB): {_total([p['amount'] for p in t['provider_adjustments']])}"
    for b in t["balance_problems"]:
        yield f"  claim {b['patient_control_number']} does not balance: {b['message']}"


def result_cell(t: Mapping[str, Any]) -> str:
    """The short result of one transaction set for the table (empty for a request we send)."""
    kind = t.get("type")
    if kind == "999" and "status" in t:
        return ack_label(t["status"] or "")
    if kind == "TA1":
        note = f", note {t['note_code']}" if t.get("note_code") else ""
        return ack_label(t.get("ack_code") or "") + note
    if kind == "277CA" and "claims" in t:
        return _counts_277ca(t)
    if kind == "835" and "payment" in t:
        return f"paid {t['payment']['amount']}"
    return ""


def detail_lines(document: Mapping[str, Any]) -> Iterator[str]:
    """The lines printed under the table, transaction set by transaction set."""
    for t in document["transactions"]:
        kind = t.get("type")
        if kind == "999" and "status" in t:
            yield from _details_999(t)
        elif kind == "277CA" and "claims" in t:
            yield from _details_277ca(t)
        elif kind == "835" and "payment" in t:
            yield from _details_835(t)


def counted(t: Mapping[str, Any]) -> int:
    """What one transaction set carries: claims (835, 837, 277CA, 276, 277), the transaction sets a 999
    answers (its AK2s), members answered (271) or asked about (270)."""
    if t.get("type") == "999":
        return len(t.get("transactions") or [])
    return len(t.get("claims") or t.get("members") or t.get("inquiries") or [])


def text_lines(document: Mapping[str, Any]) -> Iterator[str]:
    """The whole text answer: the table, the details, the reader's problems and a closing line."""
    rows = [
        (str(t.get("type")), str(t.get("control_number", "")), result_cell(t), str(counted(t)))
        for t in document["transactions"]
    ]
    yield render_table(("Transaction", "Control number", "Result", "Claims/sets/members"), rows, right_align_from=3)
    yield from detail_lines(document)
    for problem in document["problems"]:
        where = "file" if problem["segment"] is None else f"segment {problem['segment']}"
        yield f"  problem at {where}: {problem['code']}: {problem['message']}"
    found = findings(document)
    if document["problems"]:
        found.insert(0, f"{len(document['problems'])} in the file itself")
    yield f"problems found: {'; '.join(found)}" if found else "no problems"


def findings(document: Mapping[str, Any]) -> list[str]:
    """What the file reports as wrong: acknowledgements short of ``A``, rejected claims, unbalanced claims."""
    found = []
    for t in document["transactions"]:
        kind, number = t.get("type"), t.get("control_number", "")
        if kind == "999" and "status" in t and t["status"] != "A":
            found.append(f"999 {number} is {ack_label(t['status'] or '')}")
        elif kind == "TA1" and not t.get("accepted"):
            found.append(f"TA1 {number} is {ack_label(t.get('ack_code') or '')}")
        elif kind == "277CA" and any(not c["accepted"] for c in t.get("claims", [])):
            found.append(f"277CA {number} rejects {sum(1 for c in t['claims'] if not c['accepted'])} claim(s)")
        elif kind == "835" and t.get("balance_problems"):
            found.append(f"835 {number} has {len(t['balance_problems'])} claim(s) that do not balance")
    return found


def has_problems(document: Mapping[str, Any]) -> bool:
    """Whether the reader found problems in the file or the file reports something wrong (exit code 1)."""
    return bool(document["problems"]) or bool(findings(document))
