"""Load what the clearinghouse sends back (TA1, 999, 277CA, 835, 271, 277) into the warehouse, in one transaction.

Grain: the transaction set. A 999, 277CA or 835 set posts whole, and only when it is intact: its own
ST..SE, its group's GS..GE and its interchange's ISA..IEA (``revcycle.refusals``), and for an 835 a trace
number and amounts the warehouse can hold. Every other set is recorded in ``refused_transaction_set``
with a code and a message without values, and nothing of it is written; the file's intact sets post.
An 835 is streamed from its file and posted in batches (``revcycle.remittance_load``), so neither a large
file nor a large set is held whole; acknowledgments are small and read whole here.

Matching: a 999's AK1 (GS06) and a TA1's TA101 name our interchange (we write GS06 = ISA13); a 277CA's
TRN02 and an 835's CLP01 name our claim (CLM01). A remittance claim that matches no claim we sent goes
to ``remittance_suspense``. A remittance whose payer trace number was posted before is not posted again;
the trace number is recorded only for sets that posted, so a complete copy of a refused set posts later.
Every claim state change is an event naming the file; the current status is derived from the events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, bindparam, insert, select, update

from revcycle.clock import clock_in_force
from revcycle.domain import ClaimStatus
from revcycle.eligibility_batch import load_271
from revcycle.gc_pacing import collecting_less_often
from revcycle.refusals import envelope_refusal, refusal
from revcycle.remittance_load import RemittanceObserver, load_835
from revcycle.response_posting import (
    LoadSummary,
    RefusedSet,
    add_events,
    known_claims,
    record_refusals,
    refused_set,
)
from revcycle.status_inquiry import load_277
from revcycle.warehouse.ledger import mark_source_file_loaded, utcnow
from revcycle.warehouse.schema import (
    acknowledgment,
    adjustment,
    claim,
    claim_event,
    claim_status,
    interchange,
    provider_adjustment,
    refused_transaction_set,
    remark,
    remittance,
    remittance_claim,
    remittance_service,
    remittance_suspense,
    source_file,
)
from revcycle.x12.reader import TransactionSetEnvelope, read_segments
from revcycle.x12.x277ca import Ack277CA, read_277ca
from revcycle.x12.x999 import Ack999, read_999

__all__ = ["LoadSummary", "RefusedSet", "detect_kind", "load_response"]

log = logging.getLogger(__name__)

DUPLICATE_INTERCHANGE_NOTE = "025"
# The tables loading responses writes: refresh their planner statistics once a pickup's files are loaded
# (warehouse/statistics.py), before the night decides the next actions from them.
RESPONSE_TABLES = (
    source_file,
    acknowledgment,
    interchange,
    claim,
    claim_event,
    claim_status,
    refused_transaction_set,
    remittance,
    remittance_claim,
    remittance_service,
    adjustment,
    remark,
    remittance_suspense,
    provider_adjustment,
)


T = TypeVar("T")


def detect_kind(source: bytes | Path) -> str:
    """The kind of an X12 file (its bytes or its path) from its first TA1 or ST segment: 835, 999, 277CA ...

    A path is read only as far as that segment.
    """
    for segment in read_segments(source):
        if segment.id == "TA1":
            return "TA1"
        if segment.id == "ST":
            set_id = segment.get(1)
            version = segment.get(3)
            if set_id == "277" and "X214" in version:
                return "277CA"
            if set_id == "837":
                return "837I" if "X223" in version else "837P"
            return set_id or "unknown"
    return "unknown"


def _intact_sets(
    envelopes: Sequence[TransactionSetEnvelope],
    set_id: str,
    kind: str,
    built: Mapping[int, T],
    refused: list[RefusedSet],
) -> list[T]:
    """The built transaction sets whose envelopes are intact, in file order; every other set goes to ``refused``.

    ``built`` maps an ST position to the set the reader built from it. A set of another type than ``set_id``
    is refused as UNEXPECTED_TRANSACTION (the file's reader does not build it).
    """
    intact: list[T] = []
    for envelope in envelopes:
        transaction = built.get(envelope.start) if envelope.set_id == set_id else None
        if transaction is None:
            refused.append(refused_set(envelope, envelope.set_id[:8] or "?", refusal("UNEXPECTED_TRANSACTION")))
            continue
        reason = envelope_refusal(envelope)
        if reason is None:
            intact.append(transaction)
        else:
            refused.append(refused_set(envelope, kind, reason))
    return intact


def _claims_of_interchange(conn: Connection, control_number: int) -> tuple[int | None, list[str]]:
    interchange_id = conn.execute(
        select(interchange.c.id).where(interchange.c.control_number == control_number)
    ).scalar_one_or_none()
    if interchange_id is None:
        return None, []
    keys = list(conn.execute(select(claim.c.claim_key).where(claim.c.interchange_id == interchange_id)).scalars())
    return interchange_id, keys


MAX_CONTROL_DIGITS = 18  # a control number the BIGINT columns hold (ISA13 and GS06 are at most 9 digits)


def _int_or_none(text: str) -> int | None:
    # str.isdigit() also accepts superscripts and other scripts' digits, which int() refuses or reads otherwise.
    digits = text.strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= MAX_CONTROL_DIGITS:
        return int(digits)
    return None


def _post_ack999(conn: Connection, source_file_id: int, ack: Ack999) -> tuple[int, int]:
    """Post one intact 999 transaction set: its acknowledgment rows and its verdict on our interchange."""
    rows = 0
    control_number = _int_or_none(ack.group_control_number)
    for transaction in ack.transactions or []:
        conn.execute(
            insert(acknowledgment).values(
                source_file_id=source_file_id,
                kind="999",
                interchange_control_number=control_number,
                transaction_control_number=transaction.control_number[:9],
                code=(transaction.status or "?")[:2],
                error_count=len(transaction.segment_errors) + len(transaction.error_codes),
            )
        )
        rows += 1
    if control_number is None:
        return rows, 0
    interchange_id, keys = _claims_of_interchange(conn, control_number)
    if interchange_id is None:
        log.warning("999 acknowledges interchange %s, which we did not send", control_number)
        return rows, 0
    rejected = ack.status in {"R", "M", "W", "X"} or any(t.status == "R" for t in ack.transactions)
    conn.execute(
        update(interchange)
        .where(interchange.c.id == interchange_id)
        .values(
            state="rejected" if rejected else "accepted",
            acknowledged_at=utcnow(),
            ack_code=ack.status[:2],
        )
    )
    events = [(key, ClaimStatus.REJECTED, f"999 {ack.status}") for key in keys] if rejected else []
    return rows, add_events(conn, events, source_file_id)


def _load_999(conn: Connection, source_file_id: int, data: bytes, name: str) -> LoadSummary:
    parsed = read_999(data)
    refused: list[RefusedSet] = []
    intact = _intact_sets(parsed.sets, "999", "999", {ack.segment: ack for ack in parsed.acks}, refused)
    rows = events = 0
    for ack in intact:
        posted_rows, posted_events = _post_ack999(conn, source_file_id, ack)
        rows += posted_rows
        events += posted_events
    record_refusals(conn, source_file_id, name, refused)
    return LoadSummary("999", rows, len(parsed.problems), events, refused=tuple(refused), sets=len(parsed.sets))


def _load_ta1(conn: Connection, source_file_id: int, data: bytes) -> LoadSummary:
    parsed = read_999(data)
    events: list[tuple[str, ClaimStatus, str]] = []
    for ta1 in parsed.ta1s:
        control_number = _int_or_none(ta1.control_number)
        conn.execute(
            insert(acknowledgment).values(
                source_file_id=source_file_id,
                kind="TA1",
                interchange_control_number=control_number,
                code=ta1.ack_code[:2] or "?",
                note_code=ta1.note_code[:3],
                error_count=0 if ta1.ack_code == "A" else 1,
            )
        )
        if control_number is None or ta1.ack_code == "A":
            continue
        if ta1.note_code == DUPLICATE_INTERCHANGE_NOTE:
            # The clearinghouse already has this interchange: our resend after an unknowable crash window.
            log.info("TA1 025 for interchange %s: already received by the clearinghouse", control_number)
            continue
        interchange_id, keys = _claims_of_interchange(conn, control_number)
        if interchange_id is not None:
            conn.execute(
                update(interchange).where(interchange.c.id == interchange_id).values(state="rejected", ack_code="TR")
            )
            events.extend((key, ClaimStatus.REJECTED, f"TA1 {ta1.note_code}") for key in keys)
    count = add_events(conn, events, source_file_id)
    return LoadSummary("TA1", len(parsed.ta1s), len(parsed.problems), count)


def _post_277ca_set(conn: Connection, source_file_id: int, ack: Ack277CA) -> tuple[int, int, int]:
    """Post one intact 277CA transaction set: a claim_status row per claim and the events of our claims.

    Returns (claim statuses, events, statuses matching no claim we sent).
    """
    statuses = ack.claims
    known = known_claims(conn, (s.claim_key for s in statuses))
    events: list[tuple[str, ClaimStatus, str]] = []
    rows: list[dict[str, object]] = []
    numbers: list[dict[str, str]] = []
    for status in statuses:
        first = status.statuses[0] if status.statuses else None
        accepted = status.accepted
        rows.append(
            {
                "source_file_id": source_file_id,
                "claim_key": status.claim_key[:38],
                "category": (first.category if first else "")[:4],
                "status_code": (first.code if first else "")[:8],
                "entity": (first.entity if first else "")[:4],
                "accepted": bool(accepted),
                "payer_claim_number": status.payer_claim_number[:50] or None,
                "matched": status.claim_key in known,
            }
        )
        if status.claim_key not in known or accepted is None:
            continue
        new_status = ClaimStatus.ACCEPTED if accepted else ClaimStatus.REJECTED
        events.append((status.claim_key, new_status, f"277CA {status.category}:{first.code if first else ''}"))
        if status.payer_claim_number:
            numbers.append({"claim_key_": status.claim_key, "number_": status.payer_claim_number[:50]})
    if rows:
        conn.execute(insert(claim_status), rows)
    if numbers:
        conn.execute(
            update(claim)
            .where(claim.c.claim_key == bindparam("claim_key_"))
            .values(payer_claim_number=bindparam("number_")),
            numbers,
        )
    unmatched = sum(1 for status in statuses if status.claim_key not in known)
    return len(statuses), add_events(conn, events, source_file_id), unmatched


def _load_277ca(conn: Connection, source_file_id: int, data: bytes, name: str) -> LoadSummary:
    parsed = read_277ca(data)
    refused: list[RefusedSet] = []
    intact = _intact_sets(parsed.sets, "277", "277CA", {ack.segment: ack for ack in parsed.acks}, refused)
    rows = events = unmatched = 0
    for ack in intact:
        posted_rows, posted_events, posted_unmatched = _post_277ca_set(conn, source_file_id, ack)
        rows += posted_rows
        events += posted_events
        unmatched += posted_unmatched
    record_refusals(conn, source_file_id, name, refused)
    return LoadSummary(
        "277CA", rows, len(parsed.problems), events, unmatched, refused=tuple(refused), sets=len(parsed.sets)
    )


def _load_inquiry_answer(conn: Connection, source_file_id: int, data: bytes, kind: str) -> LoadSummary:
    """A 271 (coverage) or 277 (claim status) recorded beside the inquiry it answers; no claim status changes."""
    clock = clock_in_force()
    if kind == "271":
        answered, unmatched = load_271(conn, source_file_id, data, clock.now(), clock.today())
    else:
        answered, unmatched = load_277(conn, source_file_id, data, clock.now())
    return LoadSummary(kind, answered, unmatched, unmatched=unmatched)


def load_response(
    conn: Connection,
    source_file_id: int,
    source: bytes | Path,
    name: str,
    observer: RemittanceObserver | None = None,
) -> LoadSummary:
    """Load one received X12 file (its bytes or its path) of any kind and mark it loaded (or refused).

    Runs in the caller's transaction. Its intact transaction sets post; the others are kept in
    ``refused_transaction_set`` and listed in the summary. The file is marked ``refused`` when it held
    transaction sets and every one was refused. ``observer`` sees the claims of an 835 as they are read.
    """
    kind = detect_kind(source)
    if kind == "835":
        with collecting_less_often():
            summary = load_835(conn, source_file_id, source, name, observer)
    elif kind in ("999", "TA1", "277CA"):
        # Acknowledgments are small: read whole.
        data = source if isinstance(source, bytes) else source.read_bytes()
        if kind == "999":
            summary = _load_999(conn, source_file_id, data, name)
        elif kind == "TA1":
            summary = _load_ta1(conn, source_file_id, data)
        else:
            summary = _load_277ca(conn, source_file_id, data, name)
    elif kind in ("271", "277"):
        data = source if isinstance(source, bytes) else source.read_bytes()
        summary = _load_inquiry_answer(conn, source_file_id, data, kind)
    else:
        log.warning("file %s holds %s, which revcycle does not load; kept in the ledger", name, kind)
        summary = LoadSummary(kind, 0, 1)
    mark_source_file_loaded(
        conn,
        source_file_id,
        rows=summary.rows,
        problems=summary.problems,
        kind=summary.kind,
        status=summary.status,
    )
    return summary
