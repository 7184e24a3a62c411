"""Load an 835 into the warehouse as it is read, in memory that stays flat whatever the size of a file or a set.

The file is streamed by ``iter_835``, claim by claim. Each transaction set is posted in batches of claims
inside a savepoint of its own, nested in a savepoint of its functional group, nested in one of its
interchange, all inside the caller's transaction; so a set still posts whole or not at all (DESIGN.md §7):

- a set refused by its own envelope (SE) or by its values (``SetChecks``) is rolled back to its savepoint
  as soon as that is known, and the rest of it is read without writing;
- a group whose GE, or an interchange whose IEA, is wrong is rolled back to its savepoint once its trailer
  was read, taking back every set in it. A level is complete when the next set lies outside it, or at the
  end of the file.

The refused sets are recorded once their interchange is complete, outside every savepoint, with the same
reasons in the same order of precedence as a loader holding the whole file: the set's own envelope, its
group's, its interchange's, then its values.

A ``RemittanceObserver`` sees every 835 set of the file in the same batches, posted or not: the remittance
checks run through it, and the core knows nothing of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, NestedTransaction, bindparam, insert, update

from revcycle import progress
from revcycle.cancellation import void_events
from revcycle.money import to_cents
from revcycle.refusals import (
    SetRefusal,
    envelope_refusal,
    group_refusal,
    interchange_refusal,
    refusal,
    set_refusal,
)
from revcycle.remittance_rows import (
    ADJUSTMENT_COLUMNS,
    CLAIM_COLUMNS,
    REMARK_COLUMNS,
    SERVICE_COLUMNS,
    Posting,
    SetChecks,
    build_claim_rows,
    claim_remittance,
    link_reversals,
    set_balance_problems,
)
from revcycle.response_posting import (
    LoadSummary,
    RefusedSet,
    add_events,
    known_claims,
    record_refusals,
    refused_set,
)
from revcycle.warehouse.background_copy import NewRows
from revcycle.warehouse.bulk import lock_for_writing, reserve_ids
from revcycle.warehouse.ledger import utcnow
from revcycle.warehouse.schema import (
    adjustment,
    claim,
    provider_adjustment,
    remark,
    remittance,
    remittance_claim,
    remittance_service,
    remittance_suspense,
)
from revcycle.x12.reader import EnvelopeLevel, Problem, TransactionSetEnvelope
from revcycle.x12.x835 import ClaimPayment, Remittance835, RemittanceEnd, iter_835

log = logging.getLogger(__name__)

# Claims per batch: large enough that a round trip carries thousands of rows, small enough that a batch's
# objects and rows stay a few megabytes.
BATCH_CLAIMS = 2000
SUSPENSE_COLUMNS = ("remittance_claim_id", "reason", "created_at")
UNMATCHED_REASON = "CLP01 matches no claim we sent"


class RemittanceObserver(Protocol):
    """Sees every 835 transaction set of a file as it is read, in batches of claims (posted or not)."""

    def claims(self, remit: Remittance835, batch: Sequence[ClaimPayment]) -> None:
        """Take the next claims of ``remit`` (its header only: its ``claims`` list stays empty)."""

    def end(self, end: RemittanceEnd) -> None:
        """Take the end of the set: its provider adjustments, claim count and paid total."""


@dataclass
class _Counts:
    claims: int = 0
    events: int = 0
    unmatched: int = 0


@dataclass
class _Outcome:
    """What became of one 835 set once read: why its values refuse it, and what it posted (None: nothing)."""

    refusal: SetRefusal | None = None
    posted: _Counts | None = None


def _stored_time(conn: Connection, moment: datetime) -> object:
    """``moment`` as the driver stores it for a timestamp column (SQLite keeps SQLAlchemy's text form)."""
    column_type = remittance_suspense.c.created_at.type
    processor = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(moment) if processor is not None else moment


class _SetLoader:
    """Posts one 835 transaction set in batches inside a savepoint of its own, or reads it without writing."""

    def __init__(
        self,
        conn: Connection,
        new_rows: NewRows,
        source_file_id: int,
        remit: Remittance835,
        envelope: TransactionSetEnvelope,
    ):
        self.conn = conn
        self.new_rows = new_rows
        self.source_file_id = source_file_id
        self.remit = remit
        self.envelope = envelope
        self.checks = SetChecks(remit)
        self.counts = _Counts()
        self.sequence = 0
        self.balance_problems = 0
        self.reversals: list[tuple[int, str, int, int]] = []
        self.savepoint: NestedTransaction | None = None
        self.remittance_id: int | None = None
        if set_refusal(envelope) is not None or self.checks.failed:
            return
        self.savepoint = conn.begin_nested()
        self.remittance_id = claim_remittance(conn, source_file_id, remit)
        if self.remittance_id is None:
            log.info("remittance trace %s was posted before; not posted again", remit.payment.trace_number)

    def claims(self, batch: Sequence[ClaimPayment]) -> None:
        """Check the next claims of the set and post them, unless the set can no longer post."""
        for payment in batch:
            self.checks.claim(payment)
            self.balance_problems += len(payment.balance_problems)
        if self.remittance_id is None:
            return
        if self.checks.failed:
            self._abandon()
            return
        self._post(batch)

    def _abandon(self) -> None:
        if self.savepoint is not None:
            self.savepoint.rollback()
            self.savepoint = None
        self.remittance_id = None

    def _post(self, batch: Sequence[ClaimPayment]) -> None:
        conn = self.conn
        remittance_id = self.remittance_id
        assert remittance_id is not None
        known = known_claims(conn, (c.patient_control_number for c in batch))
        # Every row below hangs from the remittance this savepoint inserted, under ids just reserved: none can
        # exist yet, so they go straight into their tables (a duplicate would be a bug, and fails).
        claim_ids = reserve_ids(conn, remittance_claim, len(batch))
        service_ids = reserve_ids(conn, remittance_service, sum(len(c.services) for c in batch))
        ids = (iter(claim_ids), iter(service_ids))
        posting = Posting()
        progress.advance(progress.REMITTANCES_POSTED, len(batch))
        for payment in batch:
            self.sequence += 1
            build_claim_rows(posting, remittance_id, payment, self.sequence, ids, known)
        new_rows = self.new_rows
        new_rows.add(remittance_claim, CLAIM_COLUMNS, posting.claims)
        new_rows.add(remittance_service, SERVICE_COLUMNS, posting.services)
        new_rows.add(adjustment, ADJUSTMENT_COLUMNS, posting.adjustments)
        new_rows.add(remark, REMARK_COLUMNS, posting.remarks)
        if posting.suspense:
            now = _stored_time(conn, utcnow())
            new_rows.add(
                remittance_suspense,
                SUSPENSE_COLUMNS,
                [(claim_id, UNMATCHED_REASON, now) for claim_id in posting.suspense],
            )
        # The statements below touch claims and their events, not the rows above: they run before those rows are
        # sent, so that on PostgreSQL the server writes them while the next batch is read (background_copy).
        if posting.payer_claim_numbers:
            conn.execute(
                update(claim)
                .where(claim.c.claim_key == bindparam("claim_key_"))
                .values(payer_claim_number=bindparam("number_")),
                [{"claim_key_": key, "number_": number} for key, number in posting.payer_claim_numbers.items()],
            )
        # Reversals are linked at the end of the set, when every posting of it can be a candidate.
        self.reversals.extend(posting.reversals)
        self.counts.claims += len(posting.claims)
        self.counts.unmatched += len(posting.suspense)
        voided = void_events(conn, [key for _id, key, _paid, _charge in posting.reversals])
        self.counts.events += add_events(conn, posting.events + voided, self.source_file_id)
        new_rows.send()

    def end(self, end: RemittanceEnd) -> _Outcome:
        """Finish the set: post its trailer and keep it, or roll it back; what became of it."""
        self.checks.end()
        self.balance_problems += len(end.remittance.balance_problems)
        if self.remittance_id is not None and (self.checks.failed or set_refusal(self.envelope) is not None):
            self._abandon()
        if self.remittance_id is None:
            if self.savepoint is not None:  # a payment posted before: nothing was written
                self.savepoint.commit()
            return _Outcome(self.checks.refusal())
        assert self.savepoint is not None
        if self.remit.provider_adjustments:
            self.conn.execute(
                insert(provider_adjustment),
                [
                    {
                        "remittance_id": self.remittance_id,
                        "reason": plb.reason[:4],
                        "reference": plb.reference[:50] or None,
                        "amount_cents": to_cents(plb.amount),
                    }
                    for plb in self.remit.provider_adjustments
                ],
            )
        link_reversals(self.conn, self.reversals)
        set_balance_problems(self.conn, self.remittance_id, self.balance_problems)
        self.savepoint.commit()
        return _Outcome(None, self.counts)


_NO_LEVEL = EnvelopeLevel(-1, "")  # no level entered yet (None is a level: a set outside any group)


@dataclass
class _Scopes:
    """The savepoints of the interchange and the functional group being read, and the outcomes of their sets."""

    conn: Connection
    interchange: EnvelopeLevel | None = _NO_LEVEL
    group: EnvelopeLevel | None = _NO_LEVEL
    interchange_savepoint: NestedTransaction | None = None
    group_savepoint: NestedTransaction | None = None
    interchange_outcomes: list[_Outcome] = field(default_factory=list)
    group_outcomes: list[_Outcome] = field(default_factory=list)

    def enter(self, envelope: TransactionSetEnvelope) -> bool:
        """Open the levels of the set of ``envelope``, closing those it lies outside; True at a new interchange.

        The reader has read the trailers of the levels closed here: their problems are complete.
        """
        new_interchange = envelope.interchange is not self.interchange
        if new_interchange:
            self.close()
            self.interchange = envelope.interchange
            self.interchange_savepoint = self.conn.begin_nested()
        if new_interchange or envelope.group is not self.group:
            self._close_group()
            self.group = envelope.group
            self.group_savepoint = self.conn.begin_nested()
        return new_interchange

    def add(self, outcome: _Outcome) -> None:
        """Count a finished set among those of the current group."""
        self.group_outcomes.append(outcome)

    def _close_group(self) -> None:
        if self.group_savepoint is None:
            return
        if group_refusal(self.group) is None:
            self.group_savepoint.commit()
        else:
            self.group_savepoint.rollback()
            _taken_back(self.group_outcomes)
        self.interchange_outcomes.extend(self.group_outcomes)
        self.group_outcomes = []
        self.group_savepoint = None

    def close(self) -> None:
        """Close the group and the interchange being read (at a new interchange, or at the end of the file)."""
        self._close_group()
        if self.interchange_savepoint is None:
            return
        if interchange_refusal(self.interchange) is None:
            self.interchange_savepoint.commit()
        else:
            self.interchange_savepoint.rollback()
            _taken_back(self.interchange_outcomes)
        self.interchange_outcomes = []
        self.interchange_savepoint = None


def _taken_back(outcomes: list[_Outcome]) -> None:
    for outcome in outcomes:
        outcome.posted = None


@dataclass
class _FileLoader:
    """Follows the events of one 835 file: scopes, the set being read, its batch, and what the file did."""

    conn: Connection
    new_rows: NewRows
    source_file_id: int
    name: str
    observer: RemittanceObserver | None
    sets: list[TransactionSetEnvelope] = field(default_factory=list)
    scopes: _Scopes | None = None
    current: _SetLoader | None = None
    batch: list[ClaimPayment] = field(default_factory=list)
    outcomes: dict[int, _Outcome] = field(default_factory=dict)
    refused: list[RefusedSet] = field(default_factory=list)
    totals: _Counts = field(default_factory=_Counts)
    set_count: int = 0
    problems: int = 0
    _looked_at: int = 0  # sets[:_looked_at] were passed over looking for a remittance's envelope

    def __post_init__(self) -> None:
        self.scopes = _Scopes(self.conn)

    def _envelope(self, remit: Remittance835) -> TransactionSetEnvelope:
        # The reader lists a set's envelope at its ST, before the set's events: it is among the newer ones.
        while self._looked_at < len(self.sets):
            envelope = self.sets[self._looked_at]
            self._looked_at += 1
            if envelope.start == remit.segment:
                return envelope
        raise LookupError("an 835 set without its envelope")  # the reader lists every ST: a bug if reached

    def start(self, remit: Remittance835) -> None:
        """A new 835 set begins: enter its group and interchange, then its own savepoint."""
        assert self.scopes is not None
        envelope = self._envelope(remit)
        if self.scopes.enter(envelope):
            self._settle(before=envelope.ordinal)
        self.current = _SetLoader(self.conn, self.new_rows, self.source_file_id, remit, envelope)

    def claim(self, payment: ClaimPayment) -> None:
        """Take the next claim of the set being read."""
        self.batch.append(payment)
        if len(self.batch) >= BATCH_CLAIMS:
            self._flush()

    def _flush(self) -> None:
        if not self.batch:
            return
        assert self.current is not None
        if self.observer is not None:
            self.observer.claims(self.current.remit, self.batch)
        self.current.claims(self.batch)
        self.batch = []

    def end(self, end: RemittanceEnd) -> None:
        """The set being read ends: post or roll it back, and keep its outcome until its interchange closes."""
        assert self.current is not None and self.scopes is not None
        self._flush()
        if self.observer is not None:
            self.observer.end(end)
        outcome = self.current.end(end)
        self.problems += len(end.remittance.problems) + self.current.balance_problems
        self.outcomes[end.remittance.segment] = outcome
        self.scopes.add(outcome)
        self.current = None

    def finish(self) -> None:
        """The file was read to its end: close every level and settle every set."""
        assert self.scopes is not None
        self.scopes.close()
        self._settle(before=None)

    def _settle(self, before: int | None) -> None:
        """Decide the sets whose interchange is complete (those before ordinal ``before``), and record refusals.

        Runs outside every savepoint, so the refusals recorded here stay whatever is rolled back later.
        """
        settled = 0
        refused: list[RefusedSet] = []
        for envelope in self.sets:
            if before is not None and envelope.ordinal >= before:
                break
            settled += 1
            if envelope.set_id != "835":
                refused.append(refused_set(envelope, envelope.set_id[:8] or "?", refusal("UNEXPECTED_TRANSACTION")))
                continue
            outcome = self.outcomes.pop(envelope.start)
            reason = envelope_refusal(envelope) or outcome.refusal
            if reason is not None:
                if outcome.posted is not None:
                    # The levels are decided from the same problems: a refused set still posted is a bug,
                    # and failing the file's transaction is the only safe answer.
                    raise RuntimeError(f"transaction set {envelope.ordinal} is refused but was not rolled back")
                refused.append(refused_set(envelope, "835", reason))
            elif outcome.posted is not None:
                self.totals.claims += outcome.posted.claims
                self.totals.events += outcome.posted.events
                self.totals.unmatched += outcome.posted.unmatched
        del self.sets[:settled]
        self._looked_at = max(0, self._looked_at - settled)
        self.set_count += settled
        record_refusals(self.conn, self.source_file_id, self.name, refused)
        self.refused.extend(refused)


def load_835(
    conn: Connection,
    source_file_id: int,
    source: bytes | Path,
    name: str,
    observer: RemittanceObserver | None = None,
) -> LoadSummary:
    """Post the intact transaction sets of an 835 (its bytes or its path) as it is read, in the caller's transaction.

    The other sets are recorded in ``refused_transaction_set`` and listed in the summary. ``observer``, when
    given, sees every 835 set of the file in batches of claims.
    """
    # A savepoint opened outside a transaction would start (and its release commit) one of its own on
    # SQLite: make sure the caller's transaction has begun before the first savepoint.
    lock_for_writing(conn, remittance)
    found: list[Problem] = []
    with NewRows(conn) as new_rows:
        loader = _FileLoader(conn, new_rows, source_file_id, name, observer)
        progress.begin(progress.REMITTANCES_POSTED)
        for event in iter_835(source, found, loader.sets):
            if isinstance(event, ClaimPayment):
                loader.claim(event)
            elif isinstance(event, RemittanceEnd):
                loader.end(event)
            else:
                loader.start(event)
        loader.finish()
    progress.end(progress.REMITTANCES_POSTED)
    totals = loader.totals
    return LoadSummary(
        "835",
        totals.claims,
        len(found) + loader.problems,
        totals.events,
        totals.unmatched,
        refused=tuple(sorted(loader.refused, key=lambda item: item.ordinal)),
        sets=loader.set_count,
    )
