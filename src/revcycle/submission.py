"""Stage claims into 837 interchanges: control numbers and file names fixed in the ledger before any upload.

Staging is idempotent: a claim already in an interchange is never put in another (a deliberate resend of
a rejected claim is a new submission, recorded as such). The file is written and synced under a
temporary name, the ledger row committed, then the file renamed into ``outbound/``; a rerun finishes a
rename that a crash interrupted.

One bad claim never stops the others (issue 9). A built claim is **held** (``revcycle.holds``), with a
reason naming its key and the field or rule, and every other claim of its payer still goes out, when:

- its charges no longer rebuild into it (stage ``build``);
- the 837 writer would refuse it: an identifier holding a delimiter, a control or non-ASCII character,
  or a failed 837P or 837I check (stage ``stage``);
- the written-claim check (the GX claims suite, handed in by the task) fails on the 837 as written and
  read back (stage ``stage``): the interchange is written again without it and checked again.

A claim held at ``build`` or ``stage`` is tried again at the start of every staging: when its charges now
build into it and the writer takes it (the payer connector is back, the writer was fixed), it is built
again and its hold released, so a Retry after the fix converges without a new export.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, or_, select, update

from revcycle.cancellation import cancelled_claim_keys, void_claims
from revcycle.claim_versions import record_versions
from revcycle.claims import build_claims
from revcycle.domain import Claim, ClaimType
from revcycle.filemodes import private_file
from revcycle.gc_pacing import collecting_less_often
from revcycle.holds import ClaimHold, hold_unsent_claims, release_holds
from revcycle.intake import insert_claims
from revcycle.money import to_cents
from revcycle.next_payer import bill_next_payers
from revcycle.payers import PayerProfile
from revcycle.resend import send_corrections
from revcycle.settings import Settings
from revcycle.warehouse.cob_chain import chains, cob_claims
from revcycle.warehouse.ledger import InterchangeRecord, insert_interchange, next_control_number, utcnow
from revcycle.warehouse.schema import charge, claim, claim_hold, claim_line, interchange
from revcycle.x12.write837 import QuarantinedClaim
from revcycle.x12.write837i import VERSION_837I, write_837i
from revcycle.x12.write837i import split_writable as split_writable_837i
from revcycle.x12.write837p import VERSION_837P, Submitter, write_837p
from revcycle.x12.write837p import split_writable as split_writable_837p
from revcycle.x12.writer import Envelope

MAX_CLAIMS_PER_INTERCHANGE = 5000
CHECK_BATCH_CLAIMS = 10_000
"""Claims written and checked together by one run of the written-claim check: with the rebuild slice, what bounds
staging's memory whatever the size of the night (a batch holds whole interchanges, so at least one). Smaller
batches pay GX's per-run overhead more often; docs/scale.md gives the trade-off measured."""
REBUILD_BATCH_CLAIMS = MAX_CLAIMS_PER_INTERCHANGE
"""Claims rebuilt from their charge rows together (one transaction with their build and writer holds)."""
MAX_CHECK_ROUNDS = 4
"""Check rounds: after each, the failing claims are held and their interchange rewritten and checked again;
an interchange still failing in the last round is held whole (only checked bytes are ever staged)."""


@dataclass(frozen=True)
class ClaimWriter:
    """How one claim type is written: its transaction (file name prefix), GS08, writer and writer checks."""

    transaction_type: str
    version: str
    write: Callable[..., bytes]
    split_writable: Callable[[Sequence[Claim]], tuple[list[Claim], list[QuarantinedClaim]]]


# One interchange holds one claim type: its GS08 names the implementation guide (an 837P and an 837I never share
# a functional group), so a payer's professional and institutional claims go out in interchanges of their own.
CLAIM_WRITERS: dict[ClaimType, ClaimWriter] = {
    ClaimType.PROFESSIONAL: ClaimWriter("837P", VERSION_837P, write_837p, split_writable_837p),
    ClaimType.INSTITUTIONAL: ClaimWriter("837I", VERSION_837I, write_837i, split_writable_837i),
}


def split_writable(claims: Sequence[Claim]) -> tuple[list[Claim], list[QuarantinedClaim]]:
    """The claims their type's 837 writer takes, and those it would refuse (with reasons), in ``claims`` order."""
    refused: list[QuarantinedClaim] = []
    taken: set[str] = set()
    for claim_type, writer in CLAIM_WRITERS.items():
        of_type = [c for c in claims if c.claim_type is claim_type]
        if of_type:
            writable, not_writable = writer.split_writable(of_type)
            taken.update(c.claim_key for c in writable)
            refused += not_writable
    return [c for c in claims if c.claim_key in taken], refused


@dataclass(frozen=True)
class SenderIdentity:
    """Who we are in the envelope: ISA06/GS02, the 1000A submitter, and ISA15."""

    sender_id: str
    usage_indicator: str
    submitter: Submitter

    @classmethod
    def of(cls, config: Settings) -> SenderIdentity:
        """Our identity as the settings give it (REVCYCLE_SUBMITTER_*, REVCYCLE_USAGE_INDICATOR)."""
        submitter = Submitter(
            name=config.submitter_name,
            id=config.submitter_id,
            contact_name=config.submitter_contact,
            phone=config.submitter_phone,
        )
        return cls(sender_id=config.submitter_id, usage_indicator=config.usage_indicator, submitter=submitter)


@dataclass(frozen=True)
class StagedLine:
    """A claim line as intake recorded it (``claim_line``)."""

    line_number: int
    procedure_code: str
    charge_cents: int


@dataclass(frozen=True)
class StagedClaim:
    """A built claim as intake recorded it (``claim``, ``claim_line``): what the written 837 must say."""

    claim_key: str
    payer_id: str
    encounter_id: str
    frequency_code: str
    total_charge_cents: int
    lines: tuple[StagedLine, ...]
    original_claim_number: str | None = None  # REF*F8 of a replacement or void (the claim row's)
    prior_claim_key: str | None = None  # a secondary or tertiary claim: the claim whose 835 it was built from


@dataclass(frozen=True)
class WrittenInterchange:
    """An interchange as written (its bytes) and the staged claims it must hold."""

    content: bytes
    claims: tuple[StagedClaim, ...]


WrittenClaimCheck = Callable[[Sequence[WrittenInterchange]], Mapping[str, Sequence[str]]]
"""A check over written interchanges (the GX claims suite): claim key -> reasons to hold it (no PHI)."""


@dataclass
class StagingResult:
    """What one staging produced: the new interchanges, the claims held instead of sent, those built again."""

    interchanges: list[InterchangeRecord] = field(default_factory=list)
    held: list[ClaimHold] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)  # claim keys built again from an earlier hold
    resent: list[str] = field(default_factory=list)  # claims the rules resend (1) or replace (7) tonight
    billed_next: list[str] = field(default_factory=list)  # secondary or tertiary claims built tonight (COB)


def interchange_file_name(transaction_type: str, payer_id: str, control_number: int) -> str:
    """The deterministic file name of an interchange (fixed in the ledger before the upload)."""
    return f"{transaction_type}_{payer_id}_{control_number:09d}.x12"


def _unsent_claims() -> list[ColumnElement[bool]]:
    """The claims staging sends: built, in no interchange, not held for their coverage, not cancelled (but a void)."""
    return [
        claim.c.interchange_id.is_(None),
        claim.c.status == "built",
        # a cancelled visit's claim never staged is withdrawn (revcycle.cancellation); its void (8) goes out
        or_(claim.c.frequency_code == "8", claim.c.claim_key.not_in(cancelled_claim_keys())),
        # a claim held for its coverage (revcycle.eligibility) stays built but is not sent
        claim.c.claim_key.not_in(
            select(claim_hold.c.claim_key).where(claim_hold.c.stage == "coverage", claim_hold.c.released_at.is_(None))
        ),
    ]


def _unsent_keys_by_payer(conn: Connection) -> dict[tuple[str, ClaimType], list[str]]:
    """(Payer, claim type) -> the keys (sorted) of every claim to stage: only keys, so the night costs little here."""
    keys: dict[tuple[str, ClaimType], list[str]] = defaultdict(list)
    query = select(claim.c.payer_id, claim.c.claim_type, claim.c.claim_key).where(*_unsent_claims())
    for row in conn.execute(query):
        keys[(row.payer_id, ClaimType(row.claim_type))].append(row.claim_key)
    for payer_keys in keys.values():
        payer_keys.sort()
    return dict(keys)


def _staged_claims(conn: Connection, keys: Sequence[str]) -> dict[str, StagedClaim]:
    """The claims of ``keys`` still to stage, as intake recorded them."""
    heads: list[Row[Any]] = []
    lines: dict[str, list[StagedLine]] = defaultdict(list)
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        heads += conn.execute(
            select(
                claim.c.claim_key,
                claim.c.payer_id,
                claim.c.encounter_id,
                claim.c.frequency_code,
                claim.c.total_charge_cents,
                claim.c.payer_claim_number,
                claim.c.prior_claim_key,
            ).where(claim.c.claim_key.in_(part), *_unsent_claims())
        ).all()
        # a secondary or tertiary claim's lines are its primary's claim_line rows (each charge is one row)
        roots = {key: chain[0] for key, chain in chains(conn, list(part)).items()}
        owners: dict[str, list[str]] = defaultdict(list)
        for key in part:
            owners[roots.get(key, key)].append(key)
        for row in conn.execute(
            select(
                claim_line.c.claim_key, claim_line.c.line_number, claim_line.c.procedure_code, claim_line.c.charge_cents
            )
            .where(claim_line.c.claim_key.in_(sorted(owners)))
            .order_by(claim_line.c.claim_key, claim_line.c.line_number)
        ):
            for owner in owners[row.claim_key]:
                lines[owner].append(StagedLine(row.line_number, row.procedure_code, row.charge_cents))
    return {
        h.claim_key: StagedClaim(
            h.claim_key,
            h.payer_id,
            h.encounter_id,
            h.frequency_code,
            h.total_charge_cents,
            tuple(lines[h.claim_key]),
            h.payer_claim_number if h.frequency_code in ("7", "8") else None,
            h.prior_claim_key,
        )
        for h in heads
    }


def _retry_held(conn: Connection, payers: Mapping[str, PayerProfile], batch_date: date, now: datetime) -> list[str]:
    """Build again the claims held at build or stage whose charges now build and write; release their holds.

    A claim with an open intake hold too (a line of its encounter rejected) waits for a corrected export:
    building it from the lines that passed would send part of the visit.
    """
    holds = conn.execute(
        select(claim_hold.c.claim_key, claim_hold.c.encounter_id, claim_hold.c.stage).where(
            claim_hold.c.released_at.is_(None)
        )
    ).all()
    waiting_on_export = {h.claim_key for h in holds if h.stage == "intake"}
    # a coverage hold waits for a 271, not for a rebuild (revcycle.eligibility releases it); late charges wait
    # for the replacement the rules decide (revcycle.resend)
    retry = {h.claim_key: h.encounter_id for h in holds if h.stage not in ("intake", "coverage", "late")}
    for key in waiting_on_export:
        retry.pop(key, None)
    if not retry:
        return []
    encounters = sorted(set(retry.values()))
    rows = []
    for start in range(0, len(encounters), 500):
        rows += [
            json.loads(text)
            for text in conn.execute(
                select(charge.c.row_json).where(
                    charge.c.status == "held", charge.c.encounter_id.in_(encounters[start : start + 500])
                )
            ).scalars()
        ]
    existing = set(conn.execute(select(claim.c.claim_key).where(claim.c.claim_key.in_(sorted(retry)))).scalars())
    candidates = [c for c in build_claims(rows, payers).claims if c.claim_key in retry and c.claim_key not in existing]
    writable, _still_refused = split_writable(candidates)
    if not writable:
        return []
    insert_claims(conn, writable, batch_date)
    for c in writable:
        conn.execute(
            update(charge)
            .where(charge.c.charge_id.in_([line.charge_id for line in c.lines]))
            .values(status="claimed", claim_key=c.claim_key)
        )
    keys = [c.claim_key for c in writable]
    release_holds(conn, keys, now)
    return keys


def _rebuild(
    conn: Connection, staged: Mapping[str, StagedClaim], payers: Mapping[str, PayerProfile]
) -> tuple[list[Claim], list[ClaimHold]]:
    """The staged claims rebuilt from their charge rows; those that no longer rebuild are held (``build``).

    A void (frequency 8) repeats the version it voids (``revcycle.cancellation.void_rows``): its charges are
    cancelled, so it is built from their content as that version was.
    """
    voided = sorted(key for key, c in staged.items() if c.frequency_code == "8")
    voids = void_claims(conn, voided, payers) if voided else {}
    keys = sorted(set(staged) - set(voided))
    rows = []
    for start in range(0, len(keys), 500):
        rows += [
            json.loads(text)
            for text in conn.execute(
                select(charge.c.row_json).where(
                    charge.c.status == "claimed", charge.c.claim_key.in_(keys[start : start + 500])
                )
            ).scalars()
        ]
    rebuilt = build_claims(rows, payers)
    # a replacement or void goes out as the rules decided it (revcycle.resend), not as the export's rows say
    claims = [
        replace(c, frequency_code="7", original_claim_number=staged[c.claim_key].original_claim_number)
        if staged[c.claim_key].frequency_code == "7"
        else c
        for c in rebuilt.claims
        if c.claim_key in staged and c.claim_key not in voids
    ]
    claims += [
        replace(c, frequency_code="8", original_claim_number=staged[key].original_claim_number)
        for key, c in sorted(voids.items())
    ]
    # a secondary or tertiary claim: its primary rebuilt from the charges, then each prior payer's 835
    claims += cob_claims(conn, [key for key in keys if staged[key].prior_claim_key], payers).values()
    claims.sort(key=lambda c: c.claim_key)
    reasons: dict[str, list[str]] = defaultdict(list)
    for held in rebuilt.held:
        if held.claim_key in staged:
            reasons[held.claim_key] += [
                r if held.claim_key in r else f"claim {held.claim_key}: {r}" for r in held.reasons
            ]
    built = {c.claim_key for c in claims}
    for key in staged:
        if key not in built and key not in reasons:
            reasons[key].append(f"claim {key}: its charges no longer rebuild into this claim")
    holds = [_hold(staged[key], "build", texts) for key, texts in sorted(reasons.items())]
    return claims, holds


def _hold(staged: StagedClaim, stage: str, reasons: Sequence[str]) -> ClaimHold:
    return ClaimHold(staged.claim_key, staged.payer_id, staged.encounter_id, stage, "; ".join(reasons))


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    path.chmod(0o600)


def finish_pending_renames(outbound_dir: Path) -> int:
    """Complete renames a crash interrupted: a committed interchange's ``.staging`` file is moved in place."""
    finished = 0
    for staging in outbound_dir.glob("*.staging"):
        final = staging.with_suffix("")
        if final.exists():
            staging.unlink()
        else:
            staging.rename(final)
            finished += 1
    return finished


def stage_interchanges(
    engine: Engine,
    *,
    payers: Mapping[str, PayerProfile],
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
    check: WrittenClaimCheck | None = None,
    now: datetime | None = None,
) -> list[InterchangeRecord]:
    """Write 837 interchanges (837P and 837I apart) per payer for every built claim not in one; return the new ones.

    See ``stage_claims``, which also returns the claims held instead of sent.
    """
    return stage_claims(
        engine,
        payers=payers,
        sender=sender,
        outbound_dir=outbound_dir,
        batch_date=batch_date,
        created=created,
        check=check,
        now=now,
    ).interchanges


@collecting_less_often()
def stage_claims(
    engine: Engine,
    *,
    payers: Mapping[str, PayerProfile],
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
    check: WrittenClaimCheck | None = None,
    now: datetime | None = None,
) -> StagingResult:
    """Write 837 interchanges per payer and claim type for every built claim not yet in one, holding the bad ones.

    Professional claims go in 837P interchanges (GS08 005010X222A1), institutional ones in 837I interchanges
    (GS08 005010X223A2, file ``837I_<payer>_<ISA13>.x12``): one claim type per interchange.

    A payer's claims are rebuilt REBUILD_BATCH_CLAIMS at a time; those that no longer rebuild or that the
    writer would refuse are held; the others fill interchanges of MAX_CLAIMS_PER_INTERCHANGE, written in
    batches of up to CHECK_BATCH_CLAIMS claims, each checked by ``check`` (when given) as written and read
    back, rewritten without the claims it fails, and committed with its holds. ``now`` stamps the holds
    (default: the ledger clock).
    """
    stamp = now or utcnow()
    outbound_dir.mkdir(parents=True, exist_ok=True)
    outbound_dir.chmod(0o700)
    _discard_uncommitted_staging(engine, outbound_dir)
    finish_pending_renames(outbound_dir)
    result = StagingResult()
    with engine.begin() as conn:
        result.rebuilt = _retry_held(conn, payers, batch_date, stamp)
        result.resent = send_corrections(conn, payers, batch_date, stamp)
        result.billed_next = bill_next_payers(conn, payers, batch_date, stamp)
        to_stage = _unsent_keys_by_payer(conn)

    def stage_batch(chunks: list[tuple[PayerProfile, list[Claim]]], staged: Mapping[str, StagedClaim]) -> None:
        _stage_batch(engine, chunks, staged, sender, outbound_dir, batch_date, created, check, stamp, result)

    # Streamed so that memory is bounded by the batch, not by the night: a payer's claims are rebuilt a slice at a
    # time (in claim-key order, the order the rebuild gives), cut into interchanges of MAX_CLAIMS_PER_INTERCHANGE
    # as they come, and each batch of whole interchanges is written, checked and committed before the next slice
    # is read. The interchanges are the same as when the whole night is rebuilt at once.
    batches = _Batches(stage_batch)
    # A payer's professional claims first, then its institutional ones: each type fills interchanges of its own.
    for payer_id, claim_type in sorted(to_stage, key=lambda pair: (pair[0], pair[1] is ClaimType.INSTITUTIONAL)):
        keys = to_stage[(payer_id, claim_type)]
        interchange_claims: list[Claim] = []
        for start in range(0, len(keys), REBUILD_BATCH_CLAIMS):
            with engine.begin() as conn:
                staged = _staged_claims(conn, keys[start : start + REBUILD_BATCH_CLAIMS])
                claims, held = _rebuild(conn, staged, payers)
                # a claim whose rebuild changed type is refused by this type's writer (held), never mixed in
                writable, refused = CLAIM_WRITERS[claim_type].split_writable(claims)
                held += [_hold(staged[r.claim_key], "stage", r.reasons) for r in refused]
                hold_unsent_claims(conn, held, stamp)
            result.held += held
            for c in writable:
                batches.staged[c.claim_key] = staged[c.claim_key]
                interchange_claims.append(c)
                if len(interchange_claims) == MAX_CLAIMS_PER_INTERCHANGE:
                    batches.add(payers[payer_id], interchange_claims)
                    interchange_claims = []
        if interchange_claims:
            batches.add(payers[payer_id], interchange_claims)
    batches.flush()
    return result


@dataclass
class _Batches:
    """Interchanges gathered into check batches of at most CHECK_BATCH_CLAIMS claims (or one interchange)."""

    stage: Callable[[list[tuple[PayerProfile, list[Claim]]], Mapping[str, StagedClaim]], None]
    chunks: list[tuple[PayerProfile, list[Claim]]] = field(default_factory=list)
    staged: dict[str, StagedClaim] = field(default_factory=dict)  # the claims gathered, and those coming next

    def add(self, payer: PayerProfile, claims: list[Claim]) -> None:
        """Add an interchange's claims, staging the batch first when they would take it past the limit."""
        if self.chunks and sum(len(c) for _, c in self.chunks) + len(claims) > CHECK_BATCH_CLAIMS:
            self.flush({c.claim_key for c in claims})
        self.chunks.append((payer, claims))

    def flush(self, coming: set[str] | frozenset[str] = frozenset()) -> None:
        """Stage the batch gathered; keep only the staged claims of ``coming`` (claims not in it yet)."""
        if self.chunks:
            self.stage(self.chunks, self.staged)
        self.chunks = []
        self.staged = {key: self.staged[key] for key in coming}


def _discard_uncommitted_staging(engine: Engine, outbound_dir: Path) -> None:
    # A .staging file whose ledger row never committed belongs to no interchange: its number is reused.
    with engine.connect() as conn:
        known = set(conn.execute(select(interchange.c.file_name)).scalars())
    for staging in outbound_dir.glob("*.staging"):
        if staging.with_suffix("").name not in known:
            staging.unlink()


@dataclass
class _Draft:
    """An interchange being staged: its payer, ISA13, claims (all of one type) and current bytes."""

    payer: PayerProfile
    control_number: int
    claims: list[Claim]
    content: bytes = b""
    writer: ClaimWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = CLAIM_WRITERS[self.claims[0].claim_type]


def payer_envelope(
    payer: PayerProfile,
    sender: SenderIdentity,
    control_number: int,
    created: datetime,
    *,
    functional_id_code: str = "HC",
    version: str = VERSION_837P,
) -> Envelope:
    """The ISA/GS envelope of an interchange to ``payer`` (837: HC; 270: HS; 276: HR), ISA13 = GS06."""
    return Envelope(
        sender_id=sender.sender_id,
        receiver_id=payer.interchange_receiver_id,
        interchange_control_number=control_number,
        group_control_number=control_number,
        usage_indicator=sender.usage_indicator,
        created=created,
        functional_id_code=functional_id_code,
        version=version,
        application_receiver_code=payer.group_receiver_code,
    )


def stage_inquiry_interchange(
    conn: Connection,
    outbound_dir: Path,
    *,
    transaction_type: str,
    payer: PayerProfile,
    sender: SenderIdentity,
    control_number: int,
    content: bytes,
    batch_date: date,
) -> tuple[int, Path]:
    """Write an inquiry interchange (270, 276) as ``NAME.staging`` (0600) and record it: (its id, the file).

    The same ledger path as the 837s (DESIGN.md §6): the row commits with the caller's transaction, and the
    ``.staging`` file is renamed to its final name after the commit (``finish_pending_renames``).
    """
    name = interchange_file_name(transaction_type, payer.payer_id, control_number)
    staging = private_file(outbound_dir / (name + ".staging"))
    staging.write_bytes(content)
    interchange_id = insert_interchange(
        conn,
        control_number=control_number,
        file_name=name,
        payer_id=payer.payer_id,
        transaction_type=transaction_type,
        usage_indicator=sender.usage_indicator,
        claim_count=0,
        total_charge_cents=0,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        batch_date=batch_date,
    )
    return interchange_id, staging


def _write(draft: _Draft, sender: SenderIdentity, created: datetime) -> list[tuple[str, str]]:
    """Write the draft's bytes; a claim the writer still refuses is left out. Returns (claim key, reason)."""
    envelope = payer_envelope(draft.payer, sender, draft.control_number, created, version=draft.writer.version)

    def write(claims: list[Claim]) -> bytes:
        return draft.writer.write(claims, envelope, sender.submitter, receiver_name=draft.payer.name)

    refused: list[tuple[str, str]] = []
    try:
        draft.content = write(draft.claims)
        return refused
    except ValueError as problem:
        whole = problem
    # split_writable runs the writer's own checks first, so this is a last resort: find the claims the writer
    # refuses one by one (its messages name the claim and the field, never a value), write the rest.
    kept = []
    for c in draft.claims:
        try:
            write([c])
        except ValueError as problem:
            refused.append((c.claim_key, str(problem)))
        else:
            kept.append(c)
    if not kept and len(draft.claims) > 1:
        raise whole  # no claim writes even alone: the interchange itself is wrong, not a claim
    draft.claims = kept
    draft.content = write(kept) if kept else b""
    return refused


def _stage_batch(
    engine: Engine,
    batch: list[tuple[PayerProfile, list[Claim]]],
    staged: Mapping[str, StagedClaim],
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
    check: WrittenClaimCheck | None,
    now: datetime,
    result: StagingResult,
) -> None:
    """Write, check, rewrite and commit one batch of interchanges with the holds they produced."""
    holds: list[ClaimHold] = []
    renames: list[Path] = []
    with engine.begin() as conn:
        drafts = [_Draft(payer, next_control_number(conn, "isa13"), list(claims)) for payer, claims in batch]
        pending = []
        for draft in drafts:
            holds += [_hold(staged[key], "stage", [reason]) for key, reason in _write(draft, sender, created)]
            if draft.claims:
                pending.append(draft)
        for round_number in range(1, MAX_CHECK_ROUNDS + 1):
            if check is None or not pending:
                break
            problems = check(
                [WrittenInterchange(d.content, tuple(staged[c.claim_key] for c in d.claims)) for d in pending]
            )
            rewritten = []
            for draft in pending:
                failing = {c.claim_key for c in draft.claims} & problems.keys()
                if not failing:
                    continue
                if round_number == MAX_CHECK_ROUNDS:
                    # Still failing after every rewrite: nothing of it goes out unchecked.
                    failing = {c.claim_key for c in draft.claims}
                for key in sorted(failing):
                    reasons = problems.get(key) or [f"claim {key}: its interchange kept failing the claims suite"]
                    holds.append(_hold(staged[key], "stage", reasons))
                draft.claims = [c for c in draft.claims if c.claim_key not in failing]
                if draft.claims:
                    holds += [_hold(staged[key], "stage", [reason]) for key, reason in _write(draft, sender, created)]
                if draft.claims:
                    rewritten.append(draft)
            pending = rewritten
        hold_unsent_claims(conn, holds, now)
        for draft in drafts:
            if not draft.claims:
                continue  # every claim held: no interchange, its control number stays unused
            record, staging = _record_draft(conn, draft, outbound_dir, batch_date, sender, now)
            result.interchanges.append(record)
            renames.append(staging)
    result.held += holds
    for staging in renames:
        staging.rename(staging.with_suffix(""))


def _record_draft(
    conn: Connection, draft: _Draft, outbound_dir: Path, batch_date: date, sender: SenderIdentity, now: datetime
) -> tuple[InterchangeRecord, Path]:
    name = interchange_file_name(draft.writer.transaction_type, draft.payer.payer_id, draft.control_number)
    staging = outbound_dir / (name + ".staging")
    _write_synced(staging, draft.content)
    sha256 = hashlib.sha256(draft.content).hexdigest()
    interchange_id = insert_interchange(
        conn,
        control_number=draft.control_number,
        file_name=name,
        payer_id=draft.payer.payer_id,
        transaction_type=draft.writer.transaction_type,
        usage_indicator=sender.usage_indicator,
        claim_count=len(draft.claims),
        total_charge_cents=sum(to_cents(c.total_charge) for c in draft.claims),
        sha256=sha256,
        size=len(draft.content),
        batch_date=batch_date,
    )
    conn.execute(
        update(claim)
        .where(claim.c.claim_key.in_([c.claim_key for c in draft.claims]))
        .values(interchange_id=interchange_id)
    )
    record_versions(conn, draft.claims, draft.payer, interchange_id, now)
    record = InterchangeRecord(
        id=interchange_id,
        control_number=draft.control_number,
        file_name=name,
        payer_id=draft.payer.payer_id,
        sha256=sha256,
        size=len(draft.content),
        state="staged",
        claim_count=len(draft.claims),
    )
    return record, staging
