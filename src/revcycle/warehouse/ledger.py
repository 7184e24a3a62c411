"""The warehouse ledgers: files received (and transaction sets refused), control numbers, interchanges sent.

The clearinghouse lease lives in ``revcycle.warehouse.lease``.

Every side effect outside the warehouse is recorded here first (claimed), then confirmed; a rerun reads
the ledger to decide what is left to do, so a crash at any point converges on the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, CursorResult, insert, select, update

from revcycle.clock import clock_in_force
from revcycle.warehouse.schema import control_counter, interchange, refused_transaction_set, source_file


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT created."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no primary key for an insert")
    return int(key[0])


def utcnow() -> datetime:
    """The current time of the clock in force, timezone-aware UTC (every ledger timestamp)."""
    return clock_in_force().now()


# A file in one of these states was processed whole: loading the same bytes again would change nothing.
PROCESSED_STATUSES = frozenset({"loaded", "refused"})


@dataclass(frozen=True)
class SourceFileEntry:
    """A file in the ledger: its id, whether it was processed already (loaded or refused), its stored name."""

    id: int
    already_loaded: bool
    stored_name: str | None = None


def register_source_file(
    conn: Connection,
    *,
    kind: str,
    name: str,
    sha256: str,
    size: int,
    origin: str,
    stored_name: str | None = None,
) -> SourceFileEntry:
    """Record a received file by content hash; a file seen before returns its existing entry.

    ``stored_name`` is the name the file is kept under (``stored_file_name``); the first arrival's is kept.
    """
    existing = conn.execute(
        select(source_file.c.id, source_file.c.status, source_file.c.stored_name).where(source_file.c.sha256 == sha256)
    ).first()
    if existing is not None:
        if existing.stored_name is None and stored_name is not None:
            conn.execute(update(source_file).where(source_file.c.id == existing.id).values(stored_name=stored_name))
        return SourceFileEntry(
            id=existing.id,
            already_loaded=existing.status in PROCESSED_STATUSES,
            stored_name=existing.stored_name or stored_name,
        )
    result = conn.execute(
        insert(source_file).values(
            kind=kind,
            name=name,
            sha256=sha256,
            size=size,
            origin=origin,
            status="received",
            received_at=utcnow(),
            problem_count=0,
            stored_name=stored_name,
        )
    )
    return SourceFileEntry(id=inserted_id(result), already_loaded=False, stored_name=stored_name)


def stored_file_name(name: str, sha256: str) -> str:
    """The name a received file is kept under, locally and in the remote archive: its sha256 before its extension.

    ``ERA.835`` with content hash ``h`` is kept as ``ERA.h.835``: two different files sent under one name
    (payers reuse ``ERA.835``) get two names, the same bytes always the same one, and the extension stays
    last for the tools that go by it. The name before the hash is cut (at a character, to 170 bytes) and an
    extension of more than 16 bytes is not treated as one, so the whole stays well within 255 bytes.
    """
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode("utf-8")) > 16:
        stem, extension = name, ""
    stem = stem.encode("utf-8")[:170].decode("utf-8", "ignore")
    return f"{stem}.{sha256}.{extension}" if extension else f"{stem}.{sha256}"


def mark_source_file_loaded(
    conn: Connection,
    file_id: int,
    *,
    rows: int,
    problems: int,
    kind: str | None = None,
    status: str = "loaded",
) -> None:
    """Mark a file processed (``loaded``, or ``refused`` when nothing of it could post), with its rows."""
    values: dict[str, object] = {
        "status": status,
        "loaded_at": utcnow(),
        "row_count": rows,
        "problem_count": problems,
    }
    if kind:
        values["kind"] = kind
    conn.execute(update(source_file).where(source_file.c.id == file_id).values(**values))


def mark_source_file_archived(conn: Connection, file_id: int) -> None:
    """Record that the remote copy was moved to the archive folder."""
    conn.execute(update(source_file).where(source_file.c.id == file_id).values(archived_at=utcnow()))


def next_control_number(conn: Connection, name: str, *, start: int = 1, maximum: int = 999_999_999) -> int:
    """The next value of a persisted counter (ISA13, GS06 ...); wraps to ``start`` after ``maximum``."""
    updated = conn.execute(
        update(control_counter).where(control_counter.c.name == name).values(value=control_counter.c.value + 1)
    )
    if updated.rowcount == 0:
        conn.execute(insert(control_counter).values(name=name, value=start))
        return start
    value = int(conn.execute(select(control_counter.c.value).where(control_counter.c.name == name)).scalar_one())
    if value > maximum:
        conn.execute(update(control_counter).where(control_counter.c.name == name).values(value=start))
        return start
    return value


@dataclass(frozen=True)
class InterchangeRecord:
    """One interchange we built: its ISA13, file name, content hash and delivery state."""

    id: int
    control_number: int
    file_name: str
    payer_id: str
    sha256: str
    size: int
    state: str
    claim_count: int


def _record(row: object) -> InterchangeRecord:
    return InterchangeRecord(
        id=row.id,  # type: ignore[attr-defined]
        control_number=row.control_number,  # type: ignore[attr-defined]
        file_name=row.file_name,  # type: ignore[attr-defined]
        payer_id=row.payer_id,  # type: ignore[attr-defined]
        sha256=row.sha256,  # type: ignore[attr-defined]
        size=row.size,  # type: ignore[attr-defined]
        state=row.state,  # type: ignore[attr-defined]
        claim_count=row.claim_count,  # type: ignore[attr-defined]
    )


def interchanges_to_upload(conn: Connection) -> list[InterchangeRecord]:
    """Interchanges staged or interrupted mid-upload, oldest first."""
    rows = conn.execute(
        select(interchange)
        .where(interchange.c.state.in_(("staged", "uploading")))
        .order_by(interchange.c.control_number)
    )
    return [_record(row) for row in rows]


def interchange_by_control_number(conn: Connection, control_number: int) -> InterchangeRecord | None:
    """The interchange we sent with ISA13 ``control_number``, if any."""
    row = conn.execute(select(interchange).where(interchange.c.control_number == control_number)).first()
    return _record(row) if row is not None else None


def set_interchange_state(conn: Connection, interchange_id: int, state: str) -> None:
    """Move an interchange to ``state``, stamping the time of the step."""
    values: dict[str, object] = {"state": state}
    if state == "uploading":
        values["upload_started_at"] = utcnow()
    elif state == "uploaded":
        values["uploaded_at"] = utcnow()
    conn.execute(update(interchange).where(interchange.c.id == interchange_id).values(**values))


def insert_interchange(
    conn: Connection,
    *,
    control_number: int,
    file_name: str,
    payer_id: str,
    transaction_type: str,
    usage_indicator: str,
    claim_count: int,
    total_charge_cents: int,
    sha256: str,
    size: int,
    batch_date: date,
) -> int:
    """Record a built interchange in state ``staged``; returns its id."""
    result = conn.execute(
        insert(interchange).values(
            control_number=control_number,
            file_name=file_name,
            payer_id=payer_id,
            transaction_type=transaction_type,
            usage_indicator=usage_indicator,
            claim_count=claim_count,
            total_charge_cents=total_charge_cents,
            sha256=sha256,
            size=size,
            state="staged",
            batch_date=batch_date,
            created_at=utcnow(),
        )
    )
    return inserted_id(result)


@dataclass(frozen=True)
class OverdueInterchange:
    """An uploaded interchange still waiting for its 999: file name, ISA13 and when it went up."""

    file_name: str
    control_number: int
    uploaded_at: datetime


def overdue_interchanges(
    conn: Connection, older_than: timedelta, *, now: datetime | None = None
) -> list[OverdueInterchange]:
    """Interchanges uploaded more than ``older_than`` ago with no 999 or TA1 since, oldest first."""
    cutoff = (now or utcnow()) - older_than
    rows = conn.execute(
        select(interchange.c.file_name, interchange.c.control_number, interchange.c.uploaded_at)
        .where(
            interchange.c.state == "uploaded",
            interchange.c.acknowledged_at.is_(None),
            interchange.c.uploaded_at.is_not(None),
            interchange.c.uploaded_at < cutoff,
        )
        .order_by(interchange.c.uploaded_at, interchange.c.control_number)
    )
    return [
        OverdueInterchange(
            file_name=row.file_name,
            control_number=int(row.control_number),
            # SQLite hands timestamps back without their zone; every ledger timestamp is written in UTC.
            uploaded_at=row.uploaded_at if row.uploaded_at.tzinfo else row.uploaded_at.replace(tzinfo=UTC),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class RefusedSetRecord:
    """A refused transaction set as an operator sees it: the file's name, the set, its ST02, code and message."""

    source_file_id: int
    file_name: str
    stored_name: str | None
    kind: str
    set_ordinal: int
    control_number: str
    problem_code: str
    message: str
    created_at: datetime


def refused_transaction_sets(conn: Connection, *, since: datetime | None = None) -> list[RefusedSetRecord]:
    """Every refused transaction set (recorded at or after ``since`` when given), oldest first.

    Names, control numbers, codes and messages only: safe for a log, an artifact or a needs-attention list.
    """
    query = (
        select(
            refused_transaction_set.c.source_file_id,
            source_file.c.name,
            source_file.c.stored_name,
            refused_transaction_set.c.kind,
            refused_transaction_set.c.set_ordinal,
            refused_transaction_set.c.control_number,
            refused_transaction_set.c.problem_code,
            refused_transaction_set.c.message,
            refused_transaction_set.c.created_at,
        )
        .join(source_file, source_file.c.id == refused_transaction_set.c.source_file_id)
        .order_by(refused_transaction_set.c.id)
    )
    if since is not None:
        query = query.where(refused_transaction_set.c.created_at >= since)
    return [
        RefusedSetRecord(
            source_file_id=int(row.source_file_id),
            file_name=row.name,
            stored_name=row.stored_name,
            kind=row.kind,
            set_ordinal=int(row.set_ordinal),
            control_number=row.control_number,
            problem_code=row.problem_code,
            message=row.message,
            # SQLite hands timestamps back without their zone; every ledger timestamp is written in UTC.
            created_at=row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC),
        )
        for row in conn.execute(query)
    ]
