"""The scratch warehouse a worker fuzzes against: migrated once, copied back at every chunk, seeded.

Seeding makes the generated and corpus responses *match* something: synthetic claims are taken in through
the real intake (``record_intake``) and given interchanges as if sent, and the claim keys that the corpus
835s and 277CAs name are added as sent claims too. The seed depends only on (campaign seed, chunk), so a
replay of any case rebuilds the same world.
"""

from __future__ import annotations

import atexit
import hashlib
import random
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, insert, update

from fuzz.corpus import load_corpus
from fuzz.x12_generate import BASE_DAY, Pool
from revcycle.domain import ClaimStatus
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.ledger import insert_interchange, register_source_file, set_interchange_state
from revcycle.warehouse.schema import claim, claim_event

_SEEDED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Scratch:
    """One worker's scratch warehouse: the SQLite file, its engine, and the template it is reset from."""

    path: Path
    template: Path
    engine: Engine | None = None

    def open(self) -> Engine:
        """A fresh copy of the migrated template, and an engine on it."""
        self.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.template, self.path)
        self.engine = create_warehouse_engine(f"sqlite:///{self.path}")
        return self.engine

    def dispose(self) -> None:
        """Close every connection of the engine."""
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


@cache
def _migrated_template() -> Path:
    """An empty warehouse migrated to head, made once per process (Alembic takes a second or two)."""
    folder = Path(tempfile.mkdtemp(prefix="revcycle-fuzz-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    template = folder / "template.db"
    engine = create_warehouse_engine(f"sqlite:///{template}")
    upgrade_warehouse(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return template


def scratch_warehouse(workdir: Path) -> Scratch:
    """A migrated empty warehouse in ``workdir`` (the template), and the path its working copies take."""
    workdir.mkdir(parents=True, exist_ok=True)
    template = workdir / "template.db"
    if not template.exists():
        shutil.copyfile(_migrated_template(), template)
    return Scratch(workdir / "warehouse.db", template)


@cache
def corpus_claim_keys() -> tuple[str, ...]:
    """The claim keys the corpus 835s (CLP01) and 277CAs (TRN02 of a claim) name, at most 20 characters."""
    from revcycle.x12.x277ca import read_277ca
    from revcycle.x12.x835 import read_835

    keys: set[str] = set()
    for sample in load_corpus():
        if sample.folder == "835":
            keys.update(c.patient_control_number for r in read_835(sample.data).remittances for c in r.claims)
        elif sample.folder == "277ca":
            keys.update(c.claim_key for a in read_277ca(sample.data).acks for c in a.claims)
    return tuple(sorted(k for k in keys if 0 < len(k) <= 20))


def world_rng(seed: int, chunk: int) -> random.Random:
    """The random source of one chunk's world."""
    return random.Random(f"revcycle-fuzz-world:{seed}:{chunk}")


def seed_world(engine: Engine, seed: int, chunk: int, *, with_corpus_keys: bool = True) -> Pool:
    """Fill a fresh warehouse with sent claims and their interchanges; returns what responses may name."""
    from connectors.payers import registered_payers
    from revcycle.intake import record_intake
    from revcycle.synth import generate_charge_rows

    rng = world_rng(seed, chunk)
    payers = registered_payers()
    rows = list(
        generate_charge_rows(
            list(payers.values()),
            encounters=rng.randint(10, 40),
            seed=rng.randrange(10**9),
            as_of=BASE_DAY,
            id_prefix=f"W{chunk}",
        )
    )
    digest = hashlib.sha256(f"world:{seed}:{chunk}".encode()).hexdigest()
    with engine.begin() as conn:
        entry = register_source_file(conn, kind="charges", name="world.csv", sha256=digest, size=0, origin="export")
    result = record_intake(
        engine, source_file_id=entry.id, rows=rows, rejections=[], payers=payers, batch_date=BASE_DAY
    )
    keys = list(result.claim_keys)
    numbers: list[int] = []
    with engine.begin() as conn:
        for start in range(0, len(keys), 5):
            group = keys[start : start + 5]
            number = rng.randint(1, 999_999_999)
            while number in numbers:
                number = rng.randint(1, 999_999_999)
            numbers.append(number)
            interchange_id = insert_interchange(
                conn,
                control_number=number,
                file_name=f"fuzz_{number:09d}.x12",
                payer_id="FUZZ",
                transaction_type="837P",
                usage_indicator="T",
                claim_count=len(group),
                total_charge_cents=0,
                sha256=hashlib.sha256(str(number).encode()).hexdigest(),
                size=0,
                batch_date=BASE_DAY,
            )
            set_interchange_state(conn, interchange_id, "uploaded")
            conn.execute(
                update(claim)
                .where(claim.c.claim_key.in_(group))
                .values(interchange_id=interchange_id, status="submitted")
            )
        corpus_keys = [k for k in corpus_claim_keys() if k not in set(keys)] if with_corpus_keys else []
        if corpus_keys:
            conn.execute(
                insert(claim),
                [
                    {
                        "claim_key": key,
                        "encounter_id": "CORPUS",
                        "payer_id": "CORPUS",
                        "claim_type": "professional",
                        "billing_npi": "1234567893",
                        "frequency_code": "1",
                        "total_charge_cents": 0,
                        "line_count": 0,
                        "first_service_date": BASE_DAY,
                        "built_at": _SEEDED_AT,
                        "status": ClaimStatus.SUBMITTED.value,
                        "status_at": _SEEDED_AT,
                    }
                    for key in corpus_keys
                ],
            )
        every = keys + corpus_keys
        if every:
            conn.execute(
                insert(claim_event),
                [
                    {
                        "claim_key": key,
                        "status": ClaimStatus.SUBMITTED.value,
                        "occurred_at": _SEEDED_AT,
                        "detail": "fuzz world",
                    }
                    for key in every
                ],
            )
    return Pool(tuple(every), tuple(numbers))
