"""Taking a charges export into a test warehouse: its ``source_file`` entry, then ``record_intake`` over its rows.

Imported by test modules as ``from intake_records import record_export`` (``tests/`` is on ``sys.path``, see
``tests/conftest.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import Engine

from connectors.payers import registered_payers
from revcycle.intake import ChargeRejection, ClaimCheck, IntakeResult, record_intake
from revcycle.payers import PayerProfile
from revcycle.warehouse.ledger import register_source_file


def name_sha256(name: str) -> str:
    """The content hash a test export named ``name`` is registered under: the SHA-256 of the name."""
    return hashlib.sha256(name.encode()).hexdigest()


def record_export(
    engine: Engine,
    rows: Sequence[Mapping[str, str]],
    *,
    batch_date: date,
    name: str = "export.csv",
    sha256: str | None = None,
    origin: str = "export",
    rejections: Sequence[ChargeRejection] = (),
    payers: Mapping[str, PayerProfile] | None = None,
    claim_check: ClaimCheck | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """Register a charges source file named ``name`` (size 1) and record ``rows`` from it with ``record_intake``.

    The file is registered in a transaction of its own under ``sha256`` (default: ``name_sha256(name)``, so
    the same name registered again returns the same entry), from ``origin``. ``payers`` defaults to
    ``registered_payers()``; ``rejections``, ``claim_check`` and ``now`` go to ``record_intake`` as given
    (``now=None`` is ``record_intake``'s own default: the ledger clock). Returns the intake's result.
    """
    with engine.begin() as conn:
        entry = register_source_file(
            conn,
            kind="charges",
            name=name,
            sha256=name_sha256(name) if sha256 is None else sha256,
            size=1,
            origin=origin,
        )
    return record_intake(
        engine,
        source_file_id=entry.id,
        rows=rows,
        rejections=rejections,
        payers=registered_payers() if payers is None else payers,
        batch_date=batch_date,
        claim_check=claim_check,
        now=now,
    )
