"""Reference data the KPIs need: payers (with their appeal window), fee schedules, adjustment categories."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, delete, insert, select, update

from revcycle.codes.adjustments import CATEGORY_TABLE, carc_description
from revcycle.errors import RunFailure
from revcycle.money import to_cents
from revcycle.payers import PayerProfile
from revcycle.warehouse.kpi.worklists import DEFAULT_APPEAL_DAYS
from revcycle.warehouse.ledger import utcnow
from revcycle.warehouse.schema import adjustment_category, fee_schedule, payer

FEE_SCHEDULE_COLUMNS = ("procedure_code", "contracted_amount")


@dataclass(frozen=True)
class PayerRow:
    """What the warehouse keeps of a payer."""

    payer_id: str
    name: str
    filing_indicator: str
    timely_filing_days: int
    appeal_days: int = DEFAULT_APPEAL_DAYS


def payer_row(profile: PayerProfile) -> PayerRow:
    """The warehouse row of a payer profile; its appeal window defaults to 90 days when the profile has none."""
    appeal_days = profile.appeal_days or DEFAULT_APPEAL_DAYS
    return PayerRow(
        profile.payer_id, profile.name, profile.filing_indicator, profile.timely_filing_days, int(appeal_days)
    )


def sync_payers(conn: Connection, payers: Iterable[PayerRow]) -> int:
    """Insert or update the ``payer`` rows; returns how many payers were written."""
    rows = list(payers)
    existing = set(conn.execute(select(payer.c.payer_id)).scalars())
    for row in rows:
        values = {
            "name": row.name[:120],
            "filing_indicator": row.filing_indicator[:4],
            "timely_filing_days": row.timely_filing_days,
            "appeal_days": row.appeal_days,
        }
        if row.payer_id in existing:
            conn.execute(update(payer).where(payer.c.payer_id == row.payer_id).values(**values))
        else:
            conn.execute(insert(payer).values(payer_id=row.payer_id, **values))
    return len(rows)


def parse_fee_schedule(text: str, source_name: str) -> dict[str, Decimal]:
    """A fee-schedule CSV (columns procedure_code, contracted_amount) as procedure code → contracted amount."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in FEE_SCHEDULE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RunFailure(f"fee schedule {source_name} lacks the columns {', '.join(missing)}")
    schedule: dict[str, Decimal] = {}
    for line, row in enumerate(reader, start=2):
        code = (row["procedure_code"] or "").strip()
        try:
            amount = Decimal((row["contracted_amount"] or "").strip())
        except InvalidOperation:
            raise RunFailure(f"fee schedule {source_name} line {line}: contracted_amount is not a number") from None
        if not code or len(code) > 8 or not amount.is_finite() or amount < 0:
            raise RunFailure(f"fee schedule {source_name} line {line}: bad procedure code or amount")
        schedule[code] = amount
    return schedule


def load_fee_schedule(conn: Connection, payer_id: str, schedule: dict[str, Decimal], source_name: str) -> int:
    """Replace a payer's fee schedule (the payer must be in ``payer``); returns the number of codes."""
    if conn.execute(select(payer.c.payer_id).where(payer.c.payer_id == payer_id)).first() is None:
        raise RunFailure(f"fee schedule {source_name}: unknown payer {payer_id}")
    conn.execute(delete(fee_schedule).where(fee_schedule.c.payer_id == payer_id))
    now = utcnow()
    if schedule:
        conn.execute(
            insert(fee_schedule),
            [
                {
                    "payer_id": payer_id,
                    "procedure_code": code,
                    "contracted_cents": to_cents(amount),
                    "source_name": source_name[:255],
                    "loaded_at": now,
                }
                for code, amount in sorted(schedule.items())
            ],
        )
    return len(schedule)


def adjustment_category_rows() -> list[dict[str, str | None]]:
    """The rows of ``adjustment_category``: the (group, CARC) table of ``revcycle.codes.adjustments``."""
    return [
        {
            "group_code": group,
            "reason_code": reason,
            "category": category.value,
            "denial_kind": kind.value if kind is not None else None,
            "description": carc_description(reason)[:160],
        }
        for (group, reason), (category, kind) in sorted(CATEGORY_TABLE.items())
    ]


def sync_adjustment_categories(conn: Connection) -> bool:
    """Make ``adjustment_category`` equal the code table of this version; False when it already was."""
    wanted = adjustment_category_rows()
    columns = ("group_code", "reason_code", "category", "denial_kind", "description")
    stored = [
        dict(zip(columns, row, strict=True))
        for row in conn.execute(
            select(*(adjustment_category.c[c] for c in columns)).order_by(
                adjustment_category.c.group_code, adjustment_category.c.reason_code
            )
        )
    ]
    if stored == wanted:
        return False
    conn.execute(delete(adjustment_category))
    conn.execute(insert(adjustment_category), wanted)
    return True
