"""The needs-attention list: every item a person must act on after a run (DESIGN.md §7, docs/needs-attention.md).

Two sorts of items, read from the warehouse:

- what the run **set aside**, recorded at or after ``since`` (the run's start): refused exports, each export's
  rejected charge lines, refused transaction sets, response files of a kind revcycle does not load, and (from
  the run itself, not the warehouse) files of the export folder that are not read and inbound names refused
  on the server;
- what is **still open**, whenever it was found: held claims, interchanges whose 999 is overdue, and remittance
  claims in suspense. These stay on every run's list until they are resolved.

Every item names files, claim keys, interchange names, control numbers, codes and counts, never a value from
a charge or a payment (those are PHI): the list goes to logs, artifacts and the terminal. A CLP01 in suspense
matches no claim of ours, so it may be another practice's account number: only counts and the file name show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from revcycle.eligibility import AWAITING
from revcycle.errors import RevcycleError
from revcycle.holds import open_holds
from revcycle.warehouse.ledger import overdue_interchanges, refused_transaction_sets
from revcycle.warehouse.schema import (
    charge_rejection,
    remittance,
    remittance_claim,
    remittance_suspense,
    source_file,
)

REFUSED_EXPORT = "refused export"
REJECTED_LINES = "rejected charge lines"
HELD_CLAIM = "held claim"
REFUSED_SET = "refused transaction set"
REFUSED_RESPONSE = "refused response file"
UNREAD_FILE = "unread file"
OVERDUE_ACK = "overdue 999"
SUSPENSE = "payments in suspense"
KINDS: tuple[str, ...] = (
    REFUSED_EXPORT,
    REJECTED_LINES,
    HELD_CLAIM,
    REFUSED_SET,
    REFUSED_RESPONSE,
    UNREAD_FILE,
    OVERDUE_ACK,
    SUSPENSE,
)
RESPONSE_KINDS = frozenset({"835", "999", "277CA", "TA1"})
_SHOWN_RULES = 4

_HOLD_ACTIONS = {
    "intake": "Correct the encounter's charges in the EHR and export them again: the corrected export builds the "
    "claim and releases the hold.",
    "build": "Fix what the reason names (a payer connector, a charge the builder cannot read); staging tries the "
    "claim again every night and sends it once it builds.",
    "coverage": "Check the patient's coverage with the payer and correct the EHR's insurance (a new 271 within "
    "the eligibility window releases the claim); bill the primary payer named first.",
    "stage": "Correct the value the reason names in the EHR and export the encounter again (if the writer or a "
    "payer rule is wrong, fix that: staging tries the claim again every night).",
}


@dataclass(frozen=True)
class AttentionItem:
    """One thing a person must act on: its kind, what it is, why, and what to do (no PHI)."""

    kind: str
    subject: str
    reason: str
    action: str

    def as_row(self) -> dict[str, str]:
        """The item as a table row (artifact, JSON)."""
        return asdict(self)


class NeedsAttention(RevcycleError):
    """A run finished its work but left items a person must act on; ``result`` is the run's result.

    Raised when a flow that ended in the ``NeedsAttention`` state is called like a function.
    """

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message, result)  # both in args, so the exception pickles whole
        self.message = message
        self.result = result

    def __str__(self) -> str:
        return self.message


def summary_line(items: Sequence[AttentionItem]) -> str:
    """One line counting the items by kind, e.g. ``3 items need attention: refused export 1, held claim 2``."""
    counts = {kind: sum(1 for i in items if i.kind == kind) for kind in KINDS}
    parts = [f"{kind} {n}" for kind, n in counts.items() if n]
    noun = "item needs" if len(items) == 1 else "items need"
    return f"{len(items)} {noun} attention: {', '.join(parts)}"


def _utc(moment: datetime) -> datetime:
    # Ledger timestamps are written in UTC; SQLite hands them back (and compares them) without their zone.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def refused_exports(conn: Connection, since: datetime) -> list[AttentionItem]:
    """Charge exports refused at or after ``since``: the reason and its remedy, as kept in the ledger."""
    rows = conn.execute(
        select(source_file.c.name, source_file.c.detail)
        .where(
            source_file.c.kind == "charges",
            source_file.c.status == "refused",
            source_file.c.received_at >= _utc(since),
        )
        .order_by(source_file.c.id)
    )
    return [
        AttentionItem(
            REFUSED_EXPORT,
            row.name,
            row.detail or "refused",
            f"Read exports/refused/{row.name}.reason.txt, fix the export as it says and put the corrected file "
            "in the exports folder: the next run reads it. Nothing of this file was loaded.",
        )
        for row in rows
    ]


def rejected_lines(conn: Connection, since: datetime) -> list[AttentionItem]:
    """Per export loaded at or after ``since``: how many of its charge lines were rejected, by which rules."""
    failing = conn.execute(
        select(
            source_file.c.id,
            source_file.c.name,
            charge_rejection.c.rule,
            charge_rejection.c.column_name,
            func.count(func.distinct(charge_rejection.c.charge_id)).label("lines"),
        )
        .join(charge_rejection, charge_rejection.c.source_file_id == source_file.c.id)
        .where(
            source_file.c.kind == "charges",
            source_file.c.status == "loaded",
            source_file.c.loaded_at >= _utc(since),
            charge_rejection.c.severity == "error",
        )
        .group_by(source_file.c.id, source_file.c.name, charge_rejection.c.rule, charge_rejection.c.column_name)
        .order_by(source_file.c.id)
    ).all()
    totals: dict[int, int] = {
        int(file_id): int(count)
        for file_id, count in conn.execute(
            select(charge_rejection.c.source_file_id, func.count(func.distinct(charge_rejection.c.charge_id)))
            .where(
                charge_rejection.c.source_file_id.in_({row.id for row in failing}),
                charge_rejection.c.severity == "error",
            )
            .group_by(charge_rejection.c.source_file_id)
        )
    }
    names: dict[int, str] = {}
    rules: dict[int, list[tuple[int, str]]] = {}
    for row in failing:
        names[row.id] = row.name
        rules.setdefault(row.id, []).append((int(row.lines), f"{row.rule} on {row.column_name or 'the row'}"))
    items = []
    for file_id, name in names.items():
        found = sorted(rules[file_id], key=lambda item: (-item[0], item[1]))
        shown = ", ".join(f"{text} ({lines})" for lines, text in found[:_SHOWN_RULES])
        more = f" and {len(found) - _SHOWN_RULES} more" if len(found) > _SHOWN_RULES else ""
        count = int(totals.get(file_id, 0))
        items.append(
            AttentionItem(
                REJECTED_LINES,
                name,
                f"{count} charge line{'s' if count != 1 else ''} rejected: {shown}{more}",
                "Correct the lines in the EHR (the charge-validation artifact and docs/charge-export.md name the "
                "rules; `revcycle worklist held` lists them) and export them again; their encounters are held "
                "until then.",
            )
        )
    return items


def held_claims(conn: Connection) -> list[AttentionItem]:
    """Every claim held and not yet released, whenever it was held."""
    return [
        AttentionItem(
            HELD_CLAIM,
            f"claim {hold.claim_key} (payer {hold.payer_id})",
            f"held at {hold.stage}: {hold.reason}",
            _HOLD_ACTIONS.get(hold.stage, "Fix what the reason names; the claim is built again once it can be."),
        )
        for hold in open_holds(conn)
        # a claim awaiting its 271 needs nobody yet: a late 271 is reported by the eligibility step and report
        # nor do late charges: the next-action rules send them in a replacement (or name a person's action)
        if not (hold.stage == "coverage" and hold.reason.endswith(AWAITING)) and hold.stage != "late"
    ]


def refused_sets(conn: Connection, since: datetime) -> list[AttentionItem]:
    """Transaction sets (835, 999, 277CA ...) refused at or after ``since``: never posted, their files kept."""
    return [
        AttentionItem(
            REFUSED_SET,
            f"{item.file_name} set {item.set_ordinal} ({item.kind}, ST02 {item.control_number})",
            f"{item.problem_code}; nothing of the set was posted, the file is kept as "
            f"inbound/{item.stored_name or item.file_name}",
            item.message[:1].upper() + item.message[1:] + ".",
        )
        for item in refused_transaction_sets(conn, since=_utc(since))
    ]


def refused_responses(conn: Connection, since: datetime) -> list[AttentionItem]:
    """Files received at or after ``since`` as responses that are none of the kinds revcycle loads."""
    rows = conn.execute(
        select(source_file.c.name, source_file.c.kind, source_file.c.stored_name)
        .where(
            source_file.c.origin != "export",
            source_file.c.kind != "charges",
            source_file.c.kind.not_in(RESPONSE_KINDS),
            source_file.c.status.in_(("loaded", "refused")),
            source_file.c.received_at >= _utc(since),
        )
        .order_by(source_file.c.id)
    )
    return [
        AttentionItem(
            REFUSED_RESPONSE,
            row.name,
            f"it holds {row.kind if row.kind != 'unknown' else 'no X12 transaction'}, which revcycle does not "
            f"load; kept as inbound/{row.stored_name or row.name}",
            "Ask the clearinghouse what the file is and why it was in the response folder; nothing of it was loaded.",
        )
        for row in rows
    ]


def unread_files(names: Iterable[str]) -> list[AttentionItem]:
    """Files of the export folder that are not read (their extension is not ``.csv``)."""
    return [
        AttentionItem(
            UNREAD_FILE,
            name,
            "in the exports folder but not a .csv file, so it is not read",
            "If it is a charge export, save it as .csv (comma separated, UTF-8); otherwise move it out of the "
            "exports folder.",
        )
        for name in names
    ]


def refused_remote_names(names: Iterable[str]) -> list[AttentionItem]:
    """Inbound entries left on the server for an unsafe name or type (shown escaped by the collector)."""
    return [
        AttentionItem(
            REFUSED_RESPONSE,
            name,
            "an entry of the clearinghouse's response folder with an unsafe name or type (a folder, a link, "
            "a path); left on the server, nothing written",
            "Ask the clearinghouse to remove it or to send the file under a plain name.",
        )
        for name in names
    ]


def overdue_acknowledgments(conn: Connection, overdue_after: timedelta, now: datetime) -> list[AttentionItem]:
    """Interchanges uploaded more than ``overdue_after`` before ``now`` with no 999 or TA1 since."""
    hours = overdue_after.total_seconds() / 3600
    return [
        AttentionItem(
            OVERDUE_ACK,
            f"{item.file_name} (ISA13 {item.control_number})",
            f"uploaded {item.uploaded_at.isoformat(timespec='minutes')}, no 999 or TA1 after {hours:g} hours",
            "Ask the clearinghouse whether it received the interchange; do not resend before it answers (a resend "
            "with the same ISA13 is refused as a duplicate, docs/delivery-guarantees.md).",
        )
        for item in overdue_interchanges(conn, overdue_after, now=_utc(now))
    ]


def suspense(conn: Connection) -> list[AttentionItem]:
    """Remittance claims in suspense (their CLP01 matches no claim we sent) and not resolved, by 835 file."""
    rows = conn.execute(
        select(source_file.c.name, remittance.c.trace_number, func.count().label("claims"))
        .select_from(remittance_suspense)
        .join(remittance_claim, remittance_claim.c.id == remittance_suspense.c.remittance_claim_id)
        .join(remittance, remittance.c.id == remittance_claim.c.remittance_id)
        .join(source_file, source_file.c.id == remittance.c.source_file_id)
        .where(remittance_suspense.c.resolved_at.is_(None))
        .group_by(source_file.c.name, remittance.c.trace_number)
        .order_by(source_file.c.name, remittance.c.trace_number)
    )
    return [
        AttentionItem(
            SUSPENSE,
            f"{row.name} (TRN02 {row.trace_number})",
            f"{row.claims} claim payment{'s' if row.claims != 1 else ''} match no claim we sent (CLP01)",
            "Match each payment to its claim by hand or return it to the payer; the money is counted in the "
            "payment totals but posted to no claim.",
        )
        for row in rows
    ]


def needs_attention(
    conn: Connection,
    *,
    since: datetime,
    now: datetime,
    ack_overdue_after: timedelta,
    unread: Iterable[str] = (),
    refused_remote: Iterable[str] = (),
) -> list[AttentionItem]:
    """The needs-attention list: what was set aside at or after ``since``, and what is still open at ``now``.

    ``unread`` (files of the export folder not read) and ``refused_remote`` (inbound names refused on the
    server) come from the run, since the warehouse does not record them.
    """
    return [
        *refused_exports(conn, since),
        *rejected_lines(conn, since),
        *unread_files(unread),
        *held_claims(conn),
        *refused_sets(conn, since),
        *refused_responses(conn, since),
        *refused_remote_names(refused_remote),
        *overdue_acknowledgments(conn, ack_overdue_after, now),
        *suspense(conn),
    ]
