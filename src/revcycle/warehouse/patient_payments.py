"""Patient payments from the practice-management system's CSV export (contract: docs/patient-payments.md).

The net collection rate and patient A/R need what patients paid (copays at the desk, statement payments,
refunds), which no X12 file carries. ``revcycle patient-payments FILE`` loads the export: the file is
registered by sha256 (a file loaded before is skipped), each payment is kept once by its ``payment_id`` (a
payment sent again in a later export is recognised), and a bad row is refused with its line number and
reason while the rest loads. Messages name line numbers and columns, never values (an encounter id or an
amount is not printed).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, select

from revcycle.errors import RunFailure
from revcycle.money import to_cents
from revcycle.warehouse.kpi.ar import PATIENT_PAYMENTS_KIND
from revcycle.warehouse.ledger import mark_source_file_loaded, register_source_file
from revcycle.warehouse.schema import patient_payment

REQUIRED_COLUMNS = ("payment_id", "encounter_id", "payment_date", "amount")
OPTIONAL_COLUMNS = ("method",)
METHODS = frozenset({"cash", "check", "card", "ach", "other"})


@dataclass(frozen=True)
class PatientPayment:
    """One payment (a refund is negative)."""

    payment_id: str
    encounter_id: str
    payment_date: date
    amount: Decimal
    method: str | None = None


@dataclass
class PatientPaymentLoad:
    """What one load did (line numbers and counts only, no values)."""

    file_name: str
    skipped_file: bool = False  # the same file was loaded before
    loaded: int = 0
    already_loaded: int = 0  # the same payment (id and values) came in an earlier file
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _problem(row: dict[str, str]) -> tuple[PatientPayment | None, str]:
    payment_id = (row.get("payment_id") or "").strip()
    encounter_id = (row.get("encounter_id") or "").strip()
    if not payment_id or len(payment_id) > 64:
        return None, "payment_id is empty or longer than 64 characters"
    if not encounter_id or len(encounter_id) > 64:
        return None, "encounter_id is empty or longer than 64 characters"
    try:
        paid_on = date.fromisoformat((row.get("payment_date") or "").strip())
    except ValueError:
        return None, "payment_date is not a date (YYYY-MM-DD)"
    try:
        amount = Decimal((row.get("amount") or "").strip())
    except InvalidOperation:
        return None, "amount is not a number"
    if not amount.is_finite() or amount == 0 or amount != amount.quantize(Decimal("0.01")):
        return None, "amount must be a non-zero number of dollars with at most two decimals"
    method = (row.get("method") or "").strip().lower() or None
    if method is not None and method not in METHODS:
        return None, f"method must be one of {', '.join(sorted(METHODS))} or empty"
    return PatientPayment(payment_id, encounter_id, paid_on, amount, method), ""


def parse_patient_payments(text: str, file_name: str) -> tuple[list[tuple[int, PatientPayment]], list[tuple[int, str]]]:
    """The payments of a CSV export with their line numbers, and the refused lines with their reasons."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RunFailure(
            f"patient-payments file {file_name} lacks the columns {', '.join(missing)}: "
            "nothing was loaded; see docs/patient-payments.md"
        )
    payments: list[tuple[int, PatientPayment]] = []
    refused: list[tuple[int, str]] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        payment, reason = _problem(row)
        if payment is None:
            refused.append((line, reason))
        elif payment.payment_id in seen:
            refused.append((line, "payment_id appears twice in the file"))
        else:
            seen.add(payment.payment_id)
            payments.append((line, payment))
    return payments, refused


def load_patient_payments(conn: Connection, data: bytes, file_name: str) -> PatientPaymentLoad:
    """Load a patient-payments export in the caller's transaction (the file and its rows commit together)."""
    result = PatientPaymentLoad(file_name)
    entry = register_source_file(
        conn,
        kind=PATIENT_PAYMENTS_KIND,
        name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        origin="manual",
    )
    if entry.already_loaded:
        result.skipped_file = True
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RunFailure(f"patient-payments file {file_name} is not UTF-8 text: nothing was loaded") from None
    payments, result.refused = parse_patient_payments(text, file_name)
    ids = [p.payment_id for _line, p in payments]
    stored: dict[str, tuple[str, date, int]] = {}
    for start in range(0, len(ids), 500):
        for r in conn.execute(
            select(
                patient_payment.c.payment_id,
                patient_payment.c.encounter_id,
                patient_payment.c.payment_date,
                patient_payment.c.amount_cents,
            ).where(patient_payment.c.payment_id.in_(ids[start : start + 500]))
        ):
            stored[str(r.payment_id)] = (str(r.encounter_id), r.payment_date, int(r.amount_cents))
    new_rows = []
    for line, p in payments:
        known = stored.get(p.payment_id)
        if known is None:
            new_rows.append(
                {
                    "payment_id": p.payment_id,
                    "source_file_id": entry.id,
                    "encounter_id": p.encounter_id,
                    "payment_date": p.payment_date,
                    "amount_cents": to_cents(p.amount),
                    "method": p.method,
                }
            )
        elif known == (p.encounter_id, p.payment_date, to_cents(p.amount)):
            result.already_loaded += 1
        else:
            result.refused.append((line, "payment_id was loaded before with other values; correct it in the source"))
    if new_rows:
        conn.execute(patient_payment.insert(), new_rows)
    result.loaded = len(new_rows)
    result.refused.sort()
    mark_source_file_loaded(conn, entry.id, rows=len(payments) + len(result.refused), problems=len(result.refused))
    return result
