"""Charge intake: record an export's rows, quarantine rejected ones, hold their encounters, build claims.

One transaction per export: the rows, their rejections, the claims built from them, the claims held (in
``claim_hold``, stage ``intake``) and the file's ``loaded`` mark commit together, so a crash leaves either
all of it or none of it. A claim built now releases the holds an earlier export left on it.

A charge id is a line's identity across exports (a corrected export resends it; a claim line names it). The
rows of one export that share a charge id, or have none, are all rejected (``charge_id_unique``,
``required``): the export alone cannot say which of them is the line, and keeping the first would drop a
different line that happened to share its id, a lost charge. The ``charge`` table keeps one row per id (the
first of them, rejected); the export file itself is kept. A corrected export with unique ids loads them.

A charge already on a claim that a later export re-sends with other content (a contract column changed: an
amount, a code, modifiers, units, a diagnosis ...) is a **revision**: the ``charge`` row takes the new content
and ``charge_revision`` keeps what it replaced and the names of the columns that changed. The claim is not
touched here: the next-action rules decide what its revision means (docs/claim-rules.md).

A row with ``visit_status`` ``cancelled`` (the EHR cancelled the visit) is stored as a ``cancelled`` charge:
re-sent for a charge on a claim it is a revision that cancels the claim's visit (``revcycle.cancellation``);
a charge not on a claim yet builds no claim.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from revcycle import progress
from revcycle.cancellation import CANCELLED, is_cancelled
from revcycle.charge_export import COLUMN_NAMES
from revcycle.charge_row import row_json
from revcycle.claims import BuildResult, HeldClaim, build_claims, claim_key_for
from revcycle.domain import Claim, ClaimStatus
from revcycle.gc_pacing import collecting_less_often
from revcycle.holds import ClaimHold, record_holds, release_holds
from revcycle.money import to_cents
from revcycle.payers import PayerProfile
from revcycle.warehouse.ledger import mark_source_file_loaded, utcnow
from revcycle.warehouse.schema import (
    charge,
    charge_rejection,
    charge_revision,
    claim,
    claim_event,
    claim_hold,
    claim_line,
)
from revcycle.warehouse.statistics import refresh_statistics

# The tables an intake writes: their planner statistics are refreshed before it commits.
INTAKE_TABLES = (charge, charge_rejection, charge_revision, claim, claim_line, claim_event, claim_hold)

ClaimCheck = Callable[[Sequence[Claim]], Mapping[str, Sequence[str]]]
"""A check over built claims (e.g. the GX claims suite): claim key -> reasons to hold it (no PHI)."""


@dataclass(frozen=True)
class ChargeRejection:
    """One failed check of one charge row; ``masked_value`` never holds PHI."""

    charge_id: str
    suite: str
    rule: str
    expectation: str
    column: str | None
    severity: str  # "error" quarantines the row; "warning" only flags it
    masked_value: str | None = None


@dataclass
class IntakeResult:
    """Counts and keys of one intake (no PHI)."""

    rows: int = 0
    rejected_charges: int = 0
    held_charges: int = 0
    skipped_already_claimed: int = 0
    revised_charges: int = 0  # charges of a claim re-sent with other content (``charge_revision``)
    revised_claims: list[str] = field(default_factory=list)
    claim_keys: list[str] = field(default_factory=list)
    held_claims: list[str] = field(default_factory=list)
    hold_reasons: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rejected_share(self) -> float:
        """The share of the export's rows rejected by validation."""
        return self.rejected_charges / self.rows if self.rows else 0.0


# charge.charge_cents is a 64-bit integer; a rejected row's amount may be any text (a 20-digit amount is
# rejected by charge_amount_format and then stored without its cents rather than stopping the export).
_MAX_STORED_CENTS = 2**63 - 1


def _cents_or_none(text: str) -> int | None:
    try:
        cents = to_cents(Decimal(text))
    except (InvalidOperation, ValueError):
        return None
    return cents if abs(cents) <= _MAX_STORED_CENTS else None


def _is_blank(charge_id: object) -> bool:
    return not isinstance(charge_id, str) or not charge_id.strip()


def _rejections_by_charge_id(
    rows: Sequence[Mapping[str, str]], rejections: Sequence[ChargeRejection]
) -> list[ChargeRejection]:
    """``rejections`` keyed by the charge ids of ``rows``, with one more for each id that names no single row.

    The charges gate keys a rejection of a row without a charge id ``row-N`` (its position): it is rekeyed
    to that row's (blank) id, so the row is rejected. An id shared by rows or blank that no error on the
    ``charge_id`` column covers yet (a caller without the charges suite) gets one here.
    """
    blank_positions = {f"row-{i}": row["charge_id"] for i, row in enumerate(rows) if _is_blank(row["charge_id"])}
    keyed = [
        replace(r, charge_id=blank_positions[r.charge_id]) if r.charge_id in blank_positions else r for r in rejections
    ]
    covered = {r.charge_id for r in keyed if r.severity == "error" and r.column == "charge_id"}
    counts = Counter(row["charge_id"] for row in rows)
    for charge_id, count in counts.items():
        if charge_id in covered or (count == 1 and not _is_blank(charge_id)):
            continue
        rule = "required" if _is_blank(charge_id) else "charge_id_unique"
        keyed.append(ChargeRejection(charge_id, "intake", rule, "one row per charge id", "charge_id", "error"))
    return keyed


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _claimed_charge_ids(conn: Connection, charge_ids: Sequence[str]) -> set[str]:
    """The charges of ``charge_ids`` that are lines of a claim: claimed, or cancelled after they were claimed."""
    claimed: set[str] = set()
    on_claim = or_(charge.c.status == "claimed", and_(charge.c.status == CANCELLED, charge.c.claim_key.is_not(None)))
    for start in range(0, len(charge_ids), 500):
        chunk = charge_ids[start : start + 500]
        claimed.update(
            conn.execute(select(charge.c.charge_id).where(charge.c.charge_id.in_(chunk), on_claim)).scalars()
        )
    return claimed


def _charge_columns(row: Mapping[str, str]) -> dict[str, object]:
    """The ``charge`` columns read from an export row (besides its id, status, claim and source)."""
    return {
        "encounter_id": row.get("encounter_id", ""),
        "patient_mrn": row.get("patient_mrn", ""),
        "payer_id": row.get("payer_id", ""),
        "procedure_code": (row.get("procedure_code") or "")[:8],
        "service_date": _date_or_none(row.get("service_date_from", "")),
        "charge_cents": _cents_or_none(row.get("charge_amount", "")),
        "row_json": row_json(row),
    }


# Rows written per INSERT when recording an export: large enough for the driver's batching to pay, small
# enough that a million-line export's rows are never built all at once.
WRITE_BATCH = 5_000

# The columns that make a claim (its key and its header's parties): a charge on a claim cannot move to another.
CLAIM_IDENTITY_COLUMNS = ("encounter_id", "patient_mrn", "payer_id", "billing_npi")


def _claim_identity_changes(
    conn: Connection, rows: Sequence[Mapping[str, str]], claimed: set[str]
) -> list[ChargeRejection]:
    """Claimed charges re-sent under another encounter, patient, payer or billing provider: rejected, not revised.

    Such a row is no revision of its claim (the claim would hold a line of someone else's visit); it is
    quarantined naming the first such column, never a value, for a person to sort out (a charge id reused
    by the EHR, or a charge moved to another payer, which needs the claim withdrawn or voided first).
    """
    wanted = sorted({r["charge_id"] for r in rows if r["charge_id"] in claimed})
    stored: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        query = select(charge.c.charge_id, charge.c.row_json).where(charge.c.charge_id.in_(wanted[start : start + 500]))
        stored.update({str(r.charge_id): str(r.row_json) for r in conn.execute(query)})
    out = []
    for row in rows:
        old_json = stored.get(row["charge_id"])
        if old_json is None:
            continue
        old = json.loads(old_json)
        changed = [name for name in CLAIM_IDENTITY_COLUMNS if (old.get(name) or "") != (row.get(name) or "")]
        if changed:
            out.append(
                ChargeRejection(
                    row["charge_id"],
                    "intake",
                    "claim_identity_changed",
                    "a charge already on a claim keeps its encounter, patient, payer and billing provider",
                    changed[0],
                    "error",
                )
            )
    return out


def _record_revisions(
    conn: Connection, source_file_id: int, rows: Sequence[Mapping[str, str]], now: datetime
) -> tuple[int, list[str]]:
    """Record the claimed charges ``rows`` re-send with other content: (how many, the claims they revise)."""
    wanted = [r["charge_id"] for r in rows]
    stored: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 500):
        query = select(charge.c.charge_id, charge.c.claim_key, charge.c.row_json).where(
            charge.c.charge_id.in_(wanted[start : start + 500])
        )
        stored.update({str(r.charge_id): (str(r.claim_key), str(r.row_json)) for r in conn.execute(query)})
    revisions: list[dict[str, object]] = []
    keys: set[str] = set()
    for row in rows:
        claim_key, old_json = stored[row["charge_id"]]
        old = json.loads(old_json)
        # only the contract's columns: a row's place in its file (its source) is not its content
        changed = [name for name in COLUMN_NAMES if (old.get(name) or "") != (row.get(name) or "")]
        if not changed:
            continue
        values = _charge_columns(row)
        if is_cancelled(row):  # final: a cancelled charge re-sent as active stays cancelled (cancellation.py)
            values["status"] = CANCELLED
        conn.execute(
            update(charge).where(charge.c.charge_id == row["charge_id"]).values(source_file_id=source_file_id, **values)
        )
        keys.add(claim_key)
        revisions.append(
            {
                "charge_id": row["charge_id"],
                "source_file_id": source_file_id,
                "claim_key": claim_key,
                "changed_columns": ",".join(changed)[:500],
                "replaced_row_json": old_json,
                "row_json": values["row_json"],
                "created_at": now,
            }
        )
    if revisions:
        conn.execute(insert(charge_revision), revisions)
    return len(revisions), sorted(keys)


def _record_late(conn: Connection, source_file_id: int, late: Sequence[HeldClaim], now: datetime) -> None:
    """A late charge is a revision of its claim too: a new line (nothing replaced)."""
    ids = [charge_id for held in late for charge_id in held.charge_ids]
    if not ids:
        return
    contents = dict(
        conn.execute(select(charge.c.charge_id, charge.c.row_json).where(charge.c.charge_id.in_(ids))).tuples().all()
    )
    conn.execute(
        insert(charge_revision),
        [
            {
                "charge_id": charge_id,
                "source_file_id": source_file_id,
                "claim_key": held.claim_key,
                "changed_columns": "(a late charge: a new line)",
                "replaced_row_json": "",
                "row_json": contents[charge_id],
                "created_at": now,
            }
            for held in late
            for charge_id in held.charge_ids
        ],
    )


def _upsert_charges(
    conn: Connection,
    source_file_id: int,
    rows: Sequence[Mapping[str, str]],
    statuses: Mapping[str, tuple[str, str | None]],
) -> None:
    ids = [r["charge_id"] for r in rows]
    existing: set[str] = set()
    for start in range(0, len(ids), 500):
        existing.update(
            conn.execute(select(charge.c.charge_id).where(charge.c.charge_id.in_(ids[start : start + 500]))).scalars()
        )
    new_rows = []
    first_rows: dict[str, Mapping[str, str]] = {}
    for row in rows:  # the first row of each id, in the export's order
        first_rows.setdefault(row["charge_id"], row)
    for row in first_rows.values():
        status, claim_key = statuses[row["charge_id"]]
        values = {
            "charge_id": row["charge_id"],
            "source_file_id": source_file_id,
            "status": status,
            "claim_key": claim_key,
            **_charge_columns(row),
        }
        if row["charge_id"] in existing:
            conn.execute(update(charge).where(charge.c.charge_id == row["charge_id"]).values(**values))
        else:
            new_rows.append(values)
        if len(new_rows) == WRITE_BATCH:  # each row carries its export row as JSON: hold one batch, not the export
            conn.execute(insert(charge), new_rows)
            new_rows = []
    if new_rows:
        conn.execute(insert(charge), new_rows)


def claim_line_rows(claims: Sequence[Claim]) -> list[dict[str, object]]:
    """The ``claim_line`` rows of built claims."""
    return [
        {
            "claim_key": c.claim_key,
            "line_number": line.line_number,
            "charge_id": line.charge_id,
            "procedure_code": line.procedure_code,
            "modifiers": ":".join(line.modifiers),
            "units": str(line.units),
            "charge_cents": to_cents(line.charge),
            "service_date": line.service_date,
        }
        for c in claims
        for line in c.lines
    ]


def insert_claims(conn: Connection, claims: Sequence[Claim], batch_date: date) -> None:
    """Record built claims: their ``claim`` and ``claim_line`` rows and a ``built`` event.

    Written ``WRITE_BATCH`` claims at a time, so the rows of a large export's claims are never all held at once.
    """
    now = utcnow()
    for start in range(0, len(claims), WRITE_BATCH):
        _insert_claim_batch(conn, claims[start : start + WRITE_BATCH], batch_date, now)


def _insert_claim_batch(conn: Connection, claims: Sequence[Claim], batch_date: date, now: datetime) -> None:
    conn.execute(
        insert(claim),
        [
            {
                "claim_key": c.claim_key,
                "encounter_id": c.encounter_id,
                "payer_id": c.payer_id,
                "claim_type": c.claim_type.value,
                "billing_npi": c.billing_provider.npi,
                "frequency_code": c.frequency_code,
                "total_charge_cents": to_cents(c.total_charge),
                "line_count": len(c.lines),
                "first_service_date": min(line.service_date for line in c.lines),
                "built_at": now,
                "status": ClaimStatus.BUILT.value,
                "status_at": now,
            }
            for c in claims
        ],
    )
    conn.execute(insert(claim_line), claim_line_rows(claims))
    conn.execute(
        insert(claim_event),
        [
            {
                "claim_key": c.claim_key,
                "status": ClaimStatus.BUILT.value,
                "occurred_at": now,
                "detail": f"batch {batch_date}",
            }
            for c in claims
        ],
    )


def _late_charges(conn: Connection, built: BuildResult) -> list[HeldClaim]:
    """New charges of a claim already built cannot join it as it was sent: they wait as ``late`` charges.

    They are taken out of ``built`` and returned; the next-action rules send them in a replacement after the
    payer adjudicates the claim (or resend it, if it was rejected), ``revcycle.resend``.
    """
    keys = [c.claim_key for c in built.claims]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            conn.execute(select(claim.c.claim_key).where(claim.c.claim_key.in_(keys[start : start + 500]))).scalars()
        )
    if not existing:
        return []
    kept, late = [], []
    for c in built.claims:
        if c.claim_key in existing:
            reason = (
                f"claim {c.claim_key} was already built; its late charges wait for a replacement claim (frequency 7)"
            )
            late.append(HeldClaim(c.claim_key, c.payer_id, tuple(line.charge_id for line in c.lines), (reason,)))
        else:
            kept.append(c)
    built.claims = kept
    return late


def _hold_failing_checks(built: BuildResult, claim_check: ClaimCheck) -> None:
    """Claims the check finds fault with are held whole with its reasons, never sent in part."""
    problems = claim_check(built.claims)
    if not problems:
        return
    kept = []
    for c in built.claims:
        reasons = problems.get(c.claim_key)
        if reasons:
            built.held.append(
                HeldClaim(c.claim_key, c.payer_id, tuple(line.charge_id for line in c.lines), tuple(reasons))
            )
        else:
            kept.append(c)
    built.claims = kept


_SHOWN_REJECTIONS = 3


def _rejected_encounter_holds(
    rows: Sequence[Mapping[str, str]], errors: Sequence[ChargeRejection], claimed: set[str], source_file_id: int
) -> list[ClaimHold]:
    """One hold per claim of an encounter with a rejected line, naming the charges, rules and columns."""
    failures: dict[str, list[ChargeRejection]] = defaultdict(list)
    for r in errors:
        failures[r.charge_id].append(r)
    encounters_of: dict[str, set[str]] = defaultdict(set)  # rows sharing an id may be of several encounters
    for row in rows:
        encounters_of[row["charge_id"]].add(row.get("encounter_id", ""))
    held_encounters = {e for c in failures for e in encounters_of.get(c, ())}
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for row in rows:
        encounter = row.get("encounter_id", "")
        if encounter in held_encounters and row["charge_id"] not in claimed:
            groups[(encounter, row.get("payer_id", ""), row.get("billing_npi", ""))].append(row["charge_id"])
    encounter_failures: dict[str, list[ChargeRejection]] = defaultdict(list)
    for charge_id, found in failures.items():
        for encounter in encounters_of.get(charge_id, ()):
            encounter_failures[encounter] += found
    holds = []
    for (encounter, payer_id, npi), _charge_ids in sorted(groups.items()):
        key = claim_key_for(encounter, payer_id, npi)
        distinct = {(r.charge_id, r.rule, r.column or ""): r for r in encounter_failures[encounter]}
        found = [distinct[k] for k in sorted(distinct)]
        named = [
            f"charge {r.charge_id if not _is_blank(r.charge_id) else '(no charge id)'} failed {r.rule} on "
            f"{r.column or 'the row'}"
            for r in found[:_SHOWN_REJECTIONS]
        ]
        more = f" and {len(found) - _SHOWN_REJECTIONS} more" if len(found) > _SHOWN_REJECTIONS else ""
        reason = f"claim {key}: a line of its encounter was rejected by validation ({'; '.join(named)}{more})"
        holds.append(ClaimHold(key, payer_id, encounter, "intake", reason, source_file_id))
    return holds


def _built_holds(
    held: Sequence[HeldClaim], rows: Sequence[Mapping[str, str]], source_file_id: int, stage: str = "intake"
) -> list[ClaimHold]:
    encounter_of = {r["charge_id"]: r.get("encounter_id", "") for r in rows}
    return [
        ClaimHold(
            h.claim_key,
            h.payer_id,
            encounter_of.get(h.charge_ids[0], "") if h.charge_ids else "",
            stage,
            "; ".join(r if h.claim_key in r else f"claim {h.claim_key}: {r}" for r in h.reasons),
            source_file_id,
        )
        for h in held
    ]


@collecting_less_often()
def record_intake(
    engine: Engine,
    *,
    source_file_id: int,
    rows: Sequence[Mapping[str, str]],
    rejections: Sequence[ChargeRejection],
    payers: Mapping[str, PayerProfile],
    batch_date: date,
    claim_check: ClaimCheck | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """Store an export's rows and rejections, hold encounters with a rejected line, build the rest.

    ``claim_check`` (optional) runs over the built claims; the claims it names are held with its reasons.
    Every claim held is recorded in ``claim_hold`` (stage ``intake``); every claim built releases the holds
    an earlier export left on its key. ``now`` stamps the holds (default: the ledger clock).
    """
    stamp = now or utcnow()
    result = IntakeResult(rows=len(rows))
    rejections = _rejections_by_charge_id(rows, rejections)
    statuses: dict[str, tuple[str, str | None]] = {}
    with engine.begin() as conn:
        claimed = _claimed_charge_ids(conn, [r["charge_id"] for r in rows])
        rejections = rejections + _claim_identity_changes(conn, rows, claimed)
        errors = [r for r in rejections if r.severity == "error"]
        rejected_ids = {r.charge_id for r in errors}
        result.rejected_charges = len(rejected_ids)
        held_encounters = {r.get("encounter_id", "") for r in rows if r["charge_id"] in rejected_ids}
        # A revision of an encounter with a rejected line waits with the rest of the encounter (held whole).
        resent = [
            r
            for r in rows
            if r["charge_id"] in claimed
            and r["charge_id"] not in rejected_ids
            and r.get("encounter_id", "") not in held_encounters
        ]
        result.revised_charges, result.revised_claims = _record_revisions(conn, source_file_id, resent, stamp)
        result.skipped_already_claimed = len(claimed) - result.revised_charges
        buildable = []
        for row in rows:
            charge_id = row["charge_id"]
            if charge_id in claimed:
                continue
            if charge_id in rejected_ids:
                statuses[charge_id] = ("rejected", None)
            elif is_cancelled(row):  # a cancelled visit never becomes a claim
                statuses[charge_id] = (CANCELLED, None)
            elif row.get("encounter_id", "") in held_encounters:
                statuses[charge_id] = ("held", None)
                result.held_charges += 1
            else:
                buildable.append(row)
        built: BuildResult = build_claims(buildable, payers)
        progress.advance(progress.CLAIMS_BUILT, len(built.claims))
        late = _late_charges(conn, built)
        if claim_check is not None:
            _hold_failing_checks(built, claim_check)
        for held in built.held:
            result.held_claims.append(held.claim_key)
            result.hold_reasons[held.claim_key] = list(held.reasons)
            for charge_id in held.charge_ids:
                statuses[charge_id] = ("held", None)
                result.held_charges += 1
        for held in late:
            result.held_claims.append(held.claim_key)
            result.hold_reasons[held.claim_key] = list(held.reasons)
            for charge_id in held.charge_ids:
                statuses[charge_id] = ("late", held.claim_key)
                result.held_charges += 1
        for c in built.claims:
            for line in c.lines:
                statuses[line.charge_id] = ("claimed", c.claim_key)
        result.claim_keys = [c.claim_key for c in built.claims]
        _upsert_charges(conn, source_file_id, [r for r in rows if r["charge_id"] not in claimed], statuses)
        _record_late(conn, source_file_id, late, stamp)
        if rejections:
            now = utcnow()
            conn.execute(
                insert(charge_rejection),
                [
                    {
                        "charge_id": r.charge_id,
                        "source_file_id": source_file_id,
                        "suite": r.suite,
                        "rule": r.rule,
                        "expectation": r.expectation,
                        "column_name": r.column,
                        "severity": r.severity,
                        "masked_value": r.masked_value,
                        "created_at": now,
                    }
                    for r in {(x.charge_id, x.rule, x.column): x for x in rejections}.values()
                ],
            )
        insert_claims(conn, built.claims, batch_date)
        record_holds(
            conn,
            _rejected_encounter_holds(rows, errors, claimed, source_file_id)
            + _built_holds(built.held, rows, source_file_id)
            + _built_holds(late, rows, source_file_id, stage="late"),
            stamp,
        )
        # a cancelled visit's claim waits on nothing any more: its holds (a held build, coverage, late charges) go
        cancelled = {
            claim_key_for(r.get("encounter_id", ""), r.get("payer_id", ""), r.get("billing_npi", ""))
            for r in rows
            if is_cancelled(r)
            and r["charge_id"] not in rejected_ids
            and r.get("encounter_id", "") not in held_encounters
        }
        release_holds(conn, [*result.claim_keys, *cancelled], stamp)
        mark_source_file_loaded(conn, source_file_id, rows=len(rows), problems=len(rejected_ids))
        if rows:  # the staging of the same night reads these tables next (warehouse/statistics.py)
            refresh_statistics(conn, INTAKE_TABLES)
    return result
