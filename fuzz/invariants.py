"""Warehouse invariants, checked after every file a case hands to the loader or the intake.

Each check looks only at what the file just added (rows above the ``Marks`` taken before it), except the
double-posting check, which compares the claims the file touched with everything posted before.

Ingest (response files):

* ``file_accounted``: every file is loaded or refused. The outcome is loaded, skipped (loaded before) or
  refused; the ledger agrees (``source_file.status``); no file is left half-way (``received``).
* ``no_payment_from_refused_set``: nothing is posted from a refused file; nothing from a transaction set
  listed in ``refused_transaction_set`` (when that table exists); and nothing from a set that is plainly
  broken (no SE, SE02 not ST02, SE01 not its count), as judged by the independent splitter ``x12_sets``.
* ``no_ack_from_broken_set``: a 999 or 277CA file whose transaction sets are all plainly broken (same
  judge) leaves no acknowledgment, claim status or claim event behind.
* ``clean_set_posts``: in a loaded file that is clean (the tokenizer reports no problem and the splitter finds
  every set intact), every 835 set's trace number is posted, by this file or before it, or the set is recorded
  in ``refused_transaction_set`` with its reason. This catches a duplicate key recorded for a set that never
  posted (the complete copy of a cut 835 must post).
* ``remittance_balanced``: each remittance posted balances (BPR02 = sum of CLP04 - sum of PLB amounts, in
  the stored cents) or carries a recorded balancing problem.
* ``no_double_posting``: no claim has two postings of one payment: the same CLP (status, charge, paid)
  under the same trace number (TRN02) of the same payer, from two remittance rows.

Intake (charge exports):

* ``file_accounted``: a loaded export is marked loaded with its row count; an export that raised a documented
  error left no charge, rejection or claim behind.
* ``nothing_dropped``: every charge id of a loaded export is in the charge table (rejected, held or claimed).
* ``claims_consistent``: each new claim's total is its lines' sum, its line count its lines, and each line's
  charge is claimed by it.
* ``rejected_not_claimed``: no charge with an error rejection is claimed, and no claim holds a charge of an
  encounter that has a rejected line in the export (the encounter is held whole).
* ``claims_writable``: each new claim rebuilds from its stored charges (as staging rebuilds it) and the 837P
  writer takes it. A built claim the writer refuses stops the night at staging (issue 9 #1); one that does not
  rebuild is dropped by staging without a word.

Details name ids, counts, ST02 control numbers and segment positions, never values from the input.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, inspect, select, text

from fuzz import x12_sets
from fuzz.engine import Violation
from revcycle.payers import PayerProfile
from revcycle.warehouse.schema import (
    charge,
    charge_rejection,
    claim,
    claim_line,
    provider_adjustment,
    remittance,
    remittance_claim,
    source_file,
)

# Ledger statuses that end a file's story. Add the intake's and loader's refusal statuses here when they
# merge (e.g. "refused"); a status outside these is a file left half-way.
LOADED = frozenset({"loaded"})
REFUSED = frozenset({"refused"})
# The outcomes ingest_file may report.
INGEST_OUTCOMES = frozenset({"loaded", "skipped", "refused"})


@dataclass(frozen=True)
class Marks:
    """The highest ids before a file was handed over: rows above them are the file's."""

    source_file: int
    remittance: int
    remittance_claim: int
    claim_event: int


def marks(conn: Connection) -> Marks:
    """The current highest ids of the tables the checks look at."""
    from revcycle.warehouse.schema import claim_event

    def top(table: object) -> int:
        return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())  # type: ignore[attr-defined]

    return Marks(top(source_file), top(remittance), top(remittance_claim), top(claim_event))


def sha256(data: bytes) -> str:
    """The content hash the ledger keys files by."""
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# ingest


def ingest_file_accounted(conn: Connection, before: Marks, outcome: str | None, data: bytes) -> list[Violation]:
    """Every file is loaded or refused, and the ledger says which (``outcome`` None: a documented error)."""
    out = []
    row = conn.execute(
        select(source_file.c.id, source_file.c.status).where(source_file.c.sha256 == sha256(data))
    ).first()
    if outcome is not None and outcome not in INGEST_OUTCOMES:
        out.append(Violation("file_accounted", f"ingest reported outcome {outcome!r}, neither loaded nor refused"))
    elif outcome == "loaded" or (outcome == "skipped" and (row is None or row.status not in REFUSED)):
        # "skipped" means seen before: a file refused before (every set refused) is skipped too.
        if row is None or row.status not in LOADED:
            status = "no ledger row" if row is None else f"ledger status {row.status!r}"
            out.append(Violation("file_accounted", f"ingest says {outcome} but the file has {status}"))
    elif row is not None and row.status not in REFUSED and row.id > before.source_file:
        how = "refused" if outcome == "refused" else "raised a documented error"
        out.append(Violation("file_accounted", f"ingest {how} but the ledger has the file as {row.status!r}"))
    left = conn.execute(
        select(func.count())
        .select_from(source_file)
        .where(source_file.c.id > before.source_file, source_file.c.status.not_in(sorted(LOADED | REFUSED)))
    ).scalar_one()
    if left:
        out.append(Violation("file_accounted", f"{left} ledger row(s) left neither loaded nor refused"))
    return out


def _has_table(conn: Connection, name: str) -> bool:
    return bool(inspect(conn).has_table(name))


def no_payment_from_refused_set(
    conn: Connection, before: Marks, outcome: str | None, parts: x12_sets.Split
) -> list[Violation]:
    """Nothing posted from a refused file, a listed refused set, or a plainly broken 835 set."""
    new = conn.execute(
        select(remittance.c.id, remittance.c.source_file_id, remittance.c.trace_number).where(
            remittance.c.id > before.remittance
        )
    ).all()
    if not new:
        return []
    out = []
    if outcome in (None, "refused"):
        out.append(Violation("no_payment_from_refused_set", f"{len(new)} remittance(s) posted from a refused file"))
    if _has_table(conn, "refused_transaction_set"):
        out += _listed_refused_sets(conn, list(new), parts)
    if not parts.decided:
        return out
    sets = [s for s in parts.sets if s.set_id.strip() == "835"]
    broken = {s.trace for s in sets if s.state == "broken"}
    others = {s.trace for s in sets if s.state != "broken"}
    only_broken = broken - others  # a trace also in a set not known broken cannot be told apart
    posted = [r for r in new if r.trace_number in only_broken]
    for row in posted:
        controls = sorted(s.control for s in sets if s.trace == row.trace_number)
        out.append(
            Violation(
                "no_payment_from_refused_set",
                f"remittance {row.id} posted from 835 set ST02 {'/'.join(controls)}, which is broken "
                "(missing SE, SE02 not ST02, or SE01 not its segment count)",
            )
        )
    return out


def _listed_refused_sets(conn: Connection, new: list[Any], parts: x12_sets.Split) -> list[Violation]:
    """Remittances posted from a set the loader itself lists in ``refused_transaction_set``.

    The table names a set by its file and its trace number, its place among the file's sets (from 1, as the
    independent splitter counts them) or its ST02; a remittance row carries its trace, which the splitter maps
    to the places and ST02s of the file's sets (when it can read the file).
    """
    columns = {c["name"] for c in inspect(conn).get_columns("refused_transaction_set")}
    files = sorted({r.source_file_id for r in new})
    if {"source_file_id", "trace_number"} <= columns:
        refused = _refused_names(conn, files, "trace_number")
        hits = [r for r in new if (r.source_file_id, r.trace_number) in refused]
    elif {"source_file_id", "set_ordinal"} <= columns:
        # A set is named by its place in the file: ST02 alone is ambiguous when a file repeats it (a sender's
        # bug the fuzz plants: a run of empty sets refused, then an intact set with the same ST02 that posts).
        if not parts.decided:
            return []
        refused = _refused_names(conn, files, "set_ordinal")
        hits = _posted_from_refused(new, parts, refused, lambda place, _set: place)
    elif {"source_file_id", "control_number"} <= columns:
        if not parts.decided:
            return []
        refused = _refused_names(conn, files, "control_number")
        hits = _posted_from_refused(new, parts, refused, lambda _place, found: found.control.strip())
    else:
        return [
            Violation(
                "no_payment_from_refused_set",
                "refused_transaction_set names sets by neither trace_number nor control_number: adapt "
                "fuzz/invariants.py to it",
            )
        ]
    return [
        Violation("no_payment_from_refused_set", f"remittance {r.id} posted from a set the loader listed as refused")
        for r in hits
    ]


def _refused_names(conn: Connection, files: list[Any], column: str) -> set[tuple[Any, Any]]:
    """(file, ``column``) of every set the loader lists as refused in ``files``."""
    query = text(f"SELECT source_file_id, {column} FROM refused_transaction_set WHERE source_file_id IN :ids")
    return set(conn.execute(query.bindparams(bindparam("ids", expanding=True)), {"ids": files}).tuples())


def _posted_from_refused(
    new: list[Any], parts: x12_sets.Split, refused: set[tuple[Any, Any]], name_of: Callable[[int, Any], Any]
) -> list[Any]:
    """The remittances whose trace belongs only to 835 sets named (by ``name_of(place, set)``) in ``refused``."""
    hits = []
    for r in new:
        names = {
            name_of(place, found)
            for place, found in enumerate(parts.sets, start=1)
            if found.set_id.strip() == "835" and found.trace == r.trace_number
        }
        if names and all((r.source_file_id, name) in refused for name in names):
            hits.append(r)
    return hits


def no_ack_from_broken_set(conn: Connection, before: Marks, data: bytes, parts: x12_sets.Split) -> list[Violation]:
    """Nothing is recorded from a 999/277CA file all of whose sets are plainly broken (no TA1 in it)."""
    if not parts.decided or not parts.sets or any(seg[0] == "TA1" for seg in parts.segments):
        return []
    if any(s.state != "broken" or s.set_id.strip() not in ("999", "277") for s in parts.sets):
        return []
    file_id = conn.execute(select(source_file.c.id).where(source_file.c.sha256 == sha256(data))).scalar_one_or_none()
    if file_id is None or file_id <= before.source_file:  # not new: checked when it was loaded
        return []
    from revcycle.warehouse.schema import acknowledgment, claim_event, claim_status

    found = {
        table.name: conn.execute(
            select(func.count()).select_from(table).where(table.c.source_file_id == file_id)
        ).scalar_one()
        for table in (acknowledgment, claim_status, claim_event)
    }
    recorded = {name: count for name, count in found.items() if count}
    if not recorded:
        return []
    rows = ", ".join(f"{count} {name}" for name, count in sorted(recorded.items()))
    return [Violation("no_ack_from_broken_set", f"{rows} row(s) recorded from a file whose sets are all broken")]


def clean_set_posts(conn: Connection, outcome: str | None, data: bytes, parts: x12_sets.Split) -> list[Violation]:
    """Every 835 set of a clean, loaded file has its trace number posted (by this file or an earlier one)."""
    if outcome != "loaded":
        return []
    sets = [s for s in parts.sets if s.set_id.strip() == "835" and s.trace]
    if not parts.decided or not sets or any(s.state != "intact" for s in parts.sets):
        return []
    from revcycle.x12.reader import Problem, read_segments

    problems: list[Problem] = []
    for _segment in read_segments(data, problems):
        pass
    if problems:
        return []
    traces = sorted({s.trace for s in sets})
    posted = set(conn.execute(select(remittance.c.trace_number).where(remittance.c.trace_number.in_(traces))).scalars())
    # A set the loader refused for its content (an unreadable amount, no TRN03 ...) is recorded with its reason:
    # that is no lost set. A set neither posted nor recorded is.
    refused = set(
        conn.execute(
            text(
                "SELECT r.control_number FROM refused_transaction_set r JOIN source_file f ON f.id = r.source_file_id "
                "WHERE f.sha256 = :sha256"
            ),
            {"sha256": hashlib.sha256(data).hexdigest()},
        ).scalars()
    )
    return [
        Violation(
            "clean_set_posts",
            f"835 set ST02 {s.control} of a clean file posted nowhere and is not recorded as refused",
        )
        for s in sets
        if s.trace not in posted and s.control not in refused
    ]


def remittance_balanced(conn: Connection, before: Marks) -> list[Violation]:
    """Each new remittance balances in cents, or has a balancing problem recorded."""
    paid = (
        select(remittance_claim.c.remittance_id, func.sum(remittance_claim.c.paid_cents).label("paid"))
        .group_by(remittance_claim.c.remittance_id)
        .subquery()
    )
    plb = (
        select(provider_adjustment.c.remittance_id, func.sum(provider_adjustment.c.amount_cents).label("plb"))
        .group_by(provider_adjustment.c.remittance_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            remittance.c.id,
            remittance.c.payment_cents,
            remittance.c.balance_problem_count,
            func.coalesce(paid.c.paid, 0),
            func.coalesce(plb.c.plb, 0),
        )
        .select_from(
            remittance.outerjoin(paid, paid.c.remittance_id == remittance.c.id).outerjoin(
                plb, plb.c.remittance_id == remittance.c.id
            )
        )
        .where(remittance.c.id > before.remittance)
    ).all()
    return [
        Violation(
            "remittance_balanced",
            f"remittance {rid}: BPR02 {payment} cents, claims paid {claims_paid} - PLB {plb_total} = "
            f"{claims_paid - plb_total} cents, and no balancing problem recorded",
        )
        for rid, payment, problems, claims_paid, plb_total in rows
        if problems == 0 and payment != claims_paid - plb_total
    ]


def no_double_posting(conn: Connection, before: Marks) -> list[Violation]:
    """No claim has the same payment (CLP under one payer's trace number) posted from two remittance rows.

    Only pairs with a row the file just added are reported (an older pair was reported when it was made).
    """
    keys = sorted(
        set(
            conn.execute(
                select(remittance_claim.c.claim_key).where(remittance_claim.c.id > before.remittance_claim)
            ).scalars()
        )
    )
    out = []
    for start in range(0, len(keys), 500):
        rows = conn.execute(
            select(
                remittance_claim.c.id,
                remittance_claim.c.claim_key,
                remittance_claim.c.status_code,
                remittance_claim.c.charge_cents,
                remittance_claim.c.paid_cents,
                remittance.c.id,
                remittance.c.trace_number,
                remittance.c.payer_identifier,
                remittance.c.payer_name,
            )
            .select_from(remittance_claim.join(remittance, remittance.c.id == remittance_claim.c.remittance_id))
            .where(remittance_claim.c.claim_key.in_(keys[start : start + 500]))
        ).all()
        groups: dict[tuple[object, ...], dict[int, tuple[str, str]]] = defaultdict(dict)
        fresh: set[int] = set()
        for row_id, key, status, charged, paid, rid, trace, ident, name in rows:
            groups[(key, status, charged, paid, trace)][rid] = (ident or "", name or "")
            if row_id > before.remittance_claim:
                fresh.add(rid)
        for (key, *_rest), remits in groups.items():
            ids = sorted(remits)
            for i, first in enumerate(ids):
                for second in ids[i + 1 :]:
                    if (first in fresh or second in fresh) and _same_payer(remits[first], remits[second]):
                        out.append(
                            Violation(
                                "no_double_posting",
                                f"claim {key}: one payment posted by remittances {first} and {second} "
                                "(same CLP, same trace number, same payer)",
                            )
                        )
    return out


def _same_payer(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """The same payer, as far as the stored identifiers tell (a fallback identifier counts as unknown)."""
    (ident_a, name_a), (ident_b, name_b) = a, b
    if not ident_a or not ident_b:
        return True
    return ident_a in (ident_b, name_b) or ident_b == name_a


def check_ingest(conn: Connection, before: Marks, outcome: str | None, data: bytes) -> list[Violation]:
    """Every ingest invariant after one file (``outcome`` None when ingest raised a documented error)."""
    parts = x12_sets.split(data)
    return [
        *ingest_file_accounted(conn, before, outcome, data),
        *no_payment_from_refused_set(conn, before, outcome, parts),
        *no_ack_from_broken_set(conn, before, data, parts),
        *clean_set_posts(conn, outcome, data, parts),
        *remittance_balanced(conn, before),
        *no_double_posting(conn, before),
    ]


# ---------------------------------------------------------------------------------------------------------
# intake


def check_intake(
    conn: Connection,
    before: Marks,
    *,
    source_file_id: int | None,
    loaded: bool,
    charge_ids: list[str],
    already_claimed: set[str],
    rejected_ids: set[str],
    payers: Mapping[str, PayerProfile] | None = None,
) -> list[Violation]:
    """Every intake invariant after one export (``loaded`` False when a documented error stopped it).

    ``claims_writable`` runs when ``payers`` (the registered payer profiles) is given.
    """
    out: list[Violation] = []
    if source_file_id is None:  # stopped before it reached the ledger
        return [Violation("file_accounted", "the export was loaded but has no ledger row")] if loaded else []
    row = conn.execute(
        select(source_file.c.status, source_file.c.row_count).where(source_file.c.id == source_file_id)
    ).first()
    new_charges = conn.execute(
        select(func.count()).select_from(charge).where(charge.c.source_file_id == source_file_id)
    ).scalar_one()
    if loaded:
        if row is None or row.status not in LOADED:
            out.append(Violation("file_accounted", "the export loaded but its ledger row is not marked loaded"))
        elif row.row_count != len(charge_ids):
            out.append(
                Violation("file_accounted", f"the ledger counts {row.row_count} rows, the export has {len(charge_ids)}")
            )
    else:
        rejections = conn.execute(
            select(func.count())
            .select_from(charge_rejection)
            .where(charge_rejection.c.source_file_id == source_file_id)
        ).scalar_one()
        if new_charges or rejections:
            out.append(
                Violation(
                    "file_accounted",
                    f"a documented error stopped the export, yet {new_charges} charge(s) and {rejections} "
                    "rejection(s) were recorded from it",
                )
            )
        return out
    stored: dict[str, str] = {
        row.charge_id: row.status
        for row in conn.execute(
            select(charge.c.charge_id, charge.c.status).where(charge.c.source_file_id == source_file_id)
        )
    }
    missing = [cid for cid in set(charge_ids) if cid not in stored and cid not in already_claimed]
    if missing:
        out.append(Violation("nothing_dropped", f"{len(missing)} charge id(s) of the export are not in the warehouse"))
    claimed_rejected = sorted(cid for cid in rejected_ids if stored.get(cid) == "claimed")
    if claimed_rejected:
        out.append(
            Violation(
                "rejected_not_claimed",
                f"{len(claimed_rejected)} rejected charge(s) claimed, e.g. {claimed_rejected[0]}",
            )
        )
    out += _claims_consistent(conn, before)
    out += _encounters_held_whole(conn, source_file_id)
    if payers is not None:
        out += claims_writable(conn, before, payers)
    return out


def _new_claim_keys(conn: Connection, before: Marks) -> list[str]:
    from revcycle.warehouse.schema import claim_event

    return sorted(
        set(
            conn.execute(
                select(claim_event.c.claim_key).where(
                    claim_event.c.id > before.claim_event, claim_event.c.status == "built"
                )
            ).scalars()
        )
    )


def claims_writable(conn: Connection, before: Marks, payers: Mapping[str, PayerProfile]) -> list[Violation]:
    """Each new claim rebuilds from its charges and the 837P writer takes it (no reason to hold it at staging)."""
    from revcycle.claims import build_claims
    from revcycle.x12.write837 import split_quarantined
    from revcycle.x12.write837p import VERSION_837P, Submitter, write_837p
    from revcycle.x12.writer import Delimiters, Envelope

    keys = _new_claim_keys(conn, before)
    if not keys:
        return []
    rows = [
        json.loads(text)
        for start in range(0, len(keys), 500)
        for text in conn.execute(
            select(charge.c.row_json).where(
                charge.c.status == "claimed", charge.c.claim_key.in_(keys[start : start + 500])
            )
        ).scalars()
    ]
    rebuilt = {c.claim_key: c for c in build_claims(rows, payers).claims}
    out = [
        Violation("claims_writable", f"claim {key} does not rebuild from its charges (staging would drop it)")
        for key in keys
        if key not in rebuilt
    ]
    _kept, quarantined = split_quarantined([rebuilt[k] for k in keys if k in rebuilt], Delimiters())
    out += [
        Violation(
            "claims_writable", f"claim {q.claim_key} was built but the 837P writer refuses it: {'; '.join(q.reasons)}"
        )
        for q in quarantined
    ]
    refused = {q.claim_key for q in quarantined}
    envelope = Envelope("FUZZ", "PAYER", 1, 1, "T", datetime(2024, 5, 1, 8, 0), "HC", VERSION_837P)
    submitter = Submitter("FUZZ BILLING", "FUZZ", "Billing", phone="5555550100")
    for key in keys:
        if key in rebuilt and key not in refused:
            try:
                write_837p([rebuilt[key]], envelope, submitter, "PAYER")
            except ValueError as refusal:  # the writer's documented refusal of a claim: the finding itself
                out.append(Violation("claims_writable", f"claim {key}: the 837P writer refuses it ({refusal})"))
    return out


def _claims_consistent(conn: Connection, before: Marks) -> list[Violation]:
    new_keys = _new_claim_keys(conn, before)
    out = []
    for start in range(0, len(new_keys), 500):
        chunk = new_keys[start : start + 500]
        lines = conn.execute(
            select(
                claim_line.c.claim_key,
                func.count(),
                func.coalesce(func.sum(claim_line.c.charge_cents), 0),
            )
            .where(claim_line.c.claim_key.in_(chunk))
            .group_by(claim_line.c.claim_key)
        ).all()
        by_key = {key: (count, total) for key, count, total in lines}
        for key, total, count in conn.execute(
            select(claim.c.claim_key, claim.c.total_charge_cents, claim.c.line_count).where(
                claim.c.claim_key.in_(chunk)
            )
        ):
            got = by_key.get(key, (0, 0))
            if (count, total) != got:
                out.append(
                    Violation(
                        "claims_consistent",
                        f"claim {key}: {count} lines totalling {total} cents, its lines say {got[0]} and {got[1]}",
                    )
                )
        wrong = conn.execute(
            select(func.count())
            .select_from(claim_line.join(charge, charge.c.charge_id == claim_line.c.charge_id, isouter=True))
            .where(
                claim_line.c.claim_key.in_(chunk),
                (charge.c.charge_id.is_(None))
                | (charge.c.status != "claimed")
                | (charge.c.claim_key != claim_line.c.claim_key),
            )
        ).scalar_one()
        if wrong:
            out.append(
                Violation("claims_consistent", f"{wrong} claim line(s) whose charge is not claimed by the claim")
            )
    return out


def _encounters_held_whole(conn: Connection, source_file_id: int) -> list[Violation]:
    rejected_encounters = (
        select(charge.c.encounter_id)
        .join(charge_rejection, charge_rejection.c.charge_id == charge.c.charge_id)
        .where(
            charge.c.source_file_id == source_file_id,
            charge_rejection.c.source_file_id == source_file_id,
            charge_rejection.c.severity == "error",
        )
    )
    claimed = conn.execute(
        select(func.count())
        .select_from(charge)
        .where(
            charge.c.source_file_id == source_file_id,
            charge.c.status == "claimed",
            charge.c.encounter_id.in_(rejected_encounters),
        )
    ).scalar_one()
    if claimed:
        return [Violation("rejected_not_claimed", f"{claimed} charge(s) claimed from encounters with a rejected line")]
    return []
