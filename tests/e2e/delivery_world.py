"""A warehouse with staged 837 interchanges, their simulated responses, and ledger probes for delivery tests.

The world is built from a synthetic export through the real intake and staging code (no Great Expectations
pass, which the delivery tests do not exercise), so the interchanges, their ISA13s and their claims are what
a nightly run would upload.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from connectors.payers import registered_payers
from revcycle.intake import record_intake
from revcycle.sandbox.payer_simulator import ResponseFile, respond
from revcycle.submission import SenderIdentity, stage_interchanges
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.ledger import InterchangeRecord, register_source_file
from revcycle.warehouse.schema import (
    acknowledgment,
    claim,
    claim_event,
    claim_status,
    interchange,
    remittance,
    remittance_claim,
    source_file,
)
from revcycle.x12.write837p import Submitter

AS_OF = date(2026, 11, 20)
CREATED = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
SENDER = SenderIdentity(
    sender_id="REVCYCLE01",
    usage_indicator="T",
    submitter=Submitter(name="REVCYCLE BILLING", id="REVCYCLE01", contact_name="BILLING OFFICE", phone="5555550100"),
)


@dataclass
class StagedWorld:
    """A warehouse and its outbound folder holding staged interchanges (none uploaded yet)."""

    root: Path
    warehouse_url: str
    engine: Engine
    outbound_dir: Path
    inbound_dir: Path
    staged: list[InterchangeRecord]

    @property
    def names(self) -> list[str]:
        """The staged interchanges' file names, in ISA13 order (the upload order)."""
        return [record.file_name for record in self.staged]

    def staged_bytes(self, name: str) -> bytes:
        """The bytes of a staged interchange, as the outbound folder holds them."""
        return (self.outbound_dir / name).read_bytes()


def staged_world(root: Path, *, encounters: int = 40, seed: int = 7) -> StagedWorld:
    """Intake a synthetic export and stage its claims into one 837P per payer under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'warehouse.db'}"
    engine = create_warehouse_engine(url)
    upgrade_warehouse(engine)
    payers = registered_payers()
    rows = list(generate_charge_rows(list(payers.values()), encounters=encounters, seed=seed, as_of=AS_OF))
    with engine.begin() as conn:
        entry = register_source_file(
            conn, kind="charges", name=f"charges_{seed}.csv", sha256=f"{seed:064x}", size=len(rows), origin="export"
        )
    record_intake(engine, source_file_id=entry.id, rows=rows, rejections=[], payers=payers, batch_date=AS_OF)
    staged = stage_interchanges(
        engine, payers=payers, sender=SENDER, outbound_dir=root / "outbound", batch_date=AS_OF, created=CREATED
    )
    return StagedWorld(
        root=root,
        warehouse_url=url,
        engine=engine,
        outbound_dir=root / "outbound",
        inbound_dir=root / "inbound",
        staged=staged,
    )


def simulated_responses(world: StagedWorld, first_control_number: int = 500) -> list[ResponseFile]:
    """What the payer simulator answers to every staged interchange (999, 277CA, 835s), in that order."""
    numbers = itertools.count(first_control_number)
    responses: list[ResponseFile] = []
    for name in world.names:
        responses.extend(
            respond(world.staged_bytes(name), usage_indicator="T", now=CREATED, control_numbers=lambda: next(numbers))
        )
    return responses


def segments(data: bytes) -> list[str]:
    """The segments of an X12 file, split on its own terminator (ISA is 106 characters; byte 105 ends it)."""
    text = data.decode("ascii")
    terminator = text[105]
    return [s.strip() for s in text.split(terminator) if s.strip()]


def interchange_states(engine: Engine) -> dict[str, str]:
    """Each interchange's ledger state by file name."""
    with engine.connect() as conn:
        return {row.file_name: row.state for row in conn.execute(select(interchange.c.file_name, interchange.c.state))}


def submitted_events(engine: Engine) -> Counter[str]:
    """How many ``submitted`` events each claim has."""
    with engine.connect() as conn:
        keys = conn.execute(select(claim_event.c.claim_key).where(claim_event.c.status == "submitted")).scalars()
        return Counter(keys)


def claims_by_interchange(engine: Engine) -> dict[str, set[str]]:
    """The claim keys of each interchange, by file name."""
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for row in conn.execute(
            select(interchange.c.file_name, claim.c.claim_key).join(claim, claim.c.interchange_id == interchange.c.id)
        ):
            found.setdefault(row.file_name, set()).add(row.claim_key)
    return found


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of the tables a response load writes."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (source_file, acknowledgment, claim_status, remittance, remittance_claim, claim_event)
        }
