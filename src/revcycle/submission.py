"""Stage claims into 837 interchanges: control numbers and file names fixed in the ledger before any upload.

Staging is idempotent: a claim already in an interchange is never put in another (a deliberate resend of
a rejected claim is a new submission, recorded as such). The file is written and synced under a
temporary name, the ledger row committed, then the file renamed into ``outbound/``; a rerun finishes a
rename that a crash interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from revcycle.claims import build_claims
from revcycle.domain import Claim
from revcycle.money import to_cents
from revcycle.payers import PayerProfile
from revcycle.warehouse.ledger import InterchangeRecord, insert_interchange, next_control_number
from revcycle.warehouse.schema import charge, claim, interchange
from revcycle.x12.write837p import VERSION_837P, Submitter, write_837p
from revcycle.x12.writer import Envelope

MAX_CLAIMS_PER_INTERCHANGE = 5000


@dataclass(frozen=True)
class SenderIdentity:
    """Who we are in the envelope: ISA06/GS02, the 1000A submitter, and ISA15."""

    sender_id: str
    usage_indicator: str
    submitter: Submitter


def interchange_file_name(transaction_type: str, payer_id: str, control_number: int) -> str:
    """The deterministic file name of an interchange (fixed in the ledger before the upload)."""
    return f"{transaction_type}_{payer_id}_{control_number:09d}.x12"


def _unsent_claims(engine: Engine, payers: Mapping[str, PayerProfile]) -> list[Claim]:
    with engine.connect() as conn:
        keys = set(
            conn.execute(
                select(claim.c.claim_key).where(claim.c.interchange_id.is_(None), claim.c.status == "built")
            ).scalars()
        )
        if not keys:
            return []
        rows = [
            json.loads(text)
            for text in conn.execute(
                select(charge.c.row_json).where(charge.c.status == "claimed", charge.c.claim_key.in_(sorted(keys)))
            ).scalars()
        ]
    rebuilt = build_claims(rows, payers)
    return [c for c in rebuilt.claims if c.claim_key in keys]


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
) -> list[InterchangeRecord]:
    """Write an 837P interchange per payer for every built claim not yet in one; return the new ones."""
    outbound_dir.mkdir(parents=True, exist_ok=True)
    outbound_dir.chmod(0o700)
    _discard_uncommitted_staging(engine, outbound_dir)
    finish_pending_renames(outbound_dir)
    by_payer: dict[str, list[Claim]] = defaultdict(list)
    for c in _unsent_claims(engine, payers):
        by_payer[c.payer_id].append(c)
    staged: list[InterchangeRecord] = []
    for payer_id in sorted(by_payer):
        payer = payers[payer_id]
        claims = by_payer[payer_id]
        for start in range(0, len(claims), MAX_CLAIMS_PER_INTERCHANGE):
            staged.append(
                _stage_one(
                    engine,
                    claims[start : start + MAX_CLAIMS_PER_INTERCHANGE],
                    payer,
                    sender,
                    outbound_dir,
                    batch_date,
                    created,
                )
            )
    return staged


def _discard_uncommitted_staging(engine: Engine, outbound_dir: Path) -> None:
    # A .staging file whose ledger row never committed belongs to no interchange: its number is reused.
    with engine.connect() as conn:
        known = set(conn.execute(select(interchange.c.file_name)).scalars())
    for staging in outbound_dir.glob("*.staging"):
        if staging.with_suffix("").name not in known:
            staging.unlink()


def _stage_one(
    engine: Engine,
    claims: list[Claim],
    payer: PayerProfile,
    sender: SenderIdentity,
    outbound_dir: Path,
    batch_date: date,
    created: datetime,
) -> InterchangeRecord:
    with engine.begin() as conn:
        control_number = next_control_number(conn, "isa13")
        envelope = Envelope(
            sender_id=sender.sender_id,
            receiver_id=payer.interchange_receiver_id,
            interchange_control_number=control_number,
            group_control_number=control_number,
            usage_indicator=sender.usage_indicator,
            created=created,
            functional_id_code="HC",
            version=VERSION_837P,
            application_receiver_code=payer.group_receiver_code,
        )
        content = write_837p(claims, envelope, sender.submitter, receiver_name=payer.name)
        name = interchange_file_name("837P", payer.payer_id, control_number)
        staging = outbound_dir / (name + ".staging")
        _write_synced(staging, content)
        sha256 = hashlib.sha256(content).hexdigest()
        interchange_id = insert_interchange(
            conn,
            control_number=control_number,
            file_name=name,
            payer_id=payer.payer_id,
            transaction_type="837P",
            usage_indicator=sender.usage_indicator,
            claim_count=len(claims),
            total_charge_cents=sum(to_cents(c.total_charge) for c in claims),
            sha256=sha256,
            size=len(content),
            batch_date=batch_date,
        )
        conn.execute(
            update(claim)
            .where(claim.c.claim_key.in_([c.claim_key for c in claims]))
            .values(interchange_id=interchange_id)
        )
    staging.rename(outbound_dir / name)
    return InterchangeRecord(
        id=interchange_id,
        control_number=control_number,
        file_name=name,
        payer_id=payer.payer_id,
        sha256=sha256,
        size=len(content),
        state="staged",
        claim_count=len(claims),
    )
