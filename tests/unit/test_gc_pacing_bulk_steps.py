"""The night's bulk steps run with the collector's thresholds raised, and give the caller's back (issue 15).

Storing the charges and building the claims (``record_intake``), staging (``stage_claims``) and deciding the
next actions (``decide_open_claims``) create and keep many objects per claim; at CPython's default thresholds
they pay for full collections over everything the night holds. Each step here is watched from inside, through
an argument it reads while it runs (the rows, the claims suite's check, the payers), and the thresholds seen
there must be the bulk ones, while the test's own (CPython's defaults) are back afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from intake_records import record_export
from sqlalchemy import Engine, func, select

from connectors.payers import registered_payers
from revcycle.gc_pacing import BULK_THRESHOLDS
from revcycle.payers import PayerProfile
from revcycle.submission import SenderIdentity, WrittenInterchange, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.claim_snapshots import decide_open_claims
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.schema import claim
from revcycle.x12.write837p import Submitter

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
SENDER = SenderIdentity("REVCYCLE01", "T", Submitter("REVCYCLE BILLING", "REVCYCLE01", "BILLING", phone="5555550100"))
DEFAULTS = (700, 10, 10)  # CPython's own thresholds (gcmodule.c)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    before = gc.get_threshold()
    gc.set_threshold(*DEFAULTS)
    made = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_warehouse(made)
    try:
        yield made
    finally:
        made.dispose()
        gc.set_threshold(*before)


class _WatchedRows(list[dict[str, str]]):
    """Charge rows that note the collector's thresholds whenever the intake walks them."""

    seen: list[tuple[int, int, int]]

    def __iter__(self) -> Iterator[dict[str, str]]:
        self.seen.append(gc.get_threshold())
        return super().__iter__()


class _WatchedPayers(Mapping[str, PayerProfile]):
    """The registered payers, noting the collector's thresholds whenever they are read."""

    def __init__(self) -> None:
        self.payers = registered_payers()
        self.seen: list[tuple[int, int, int]] = []

    def __getitem__(self, key: str) -> PayerProfile:
        self.seen.append(gc.get_threshold())
        return self.payers[key]

    def __iter__(self) -> Iterator[str]:
        self.seen.append(gc.get_threshold())
        return iter(self.payers)

    def __len__(self) -> int:
        return len(self.payers)


def test_intake_staging_and_next_actions_run_under_the_bulk_thresholds(engine: Engine, tmp_path: Path) -> None:
    rows = _WatchedRows(generate_charge_rows(list(registered_payers().values()), encounters=12, seed=5, as_of=AS_OF))
    rows.seen = []
    record_export(engine, rows, batch_date=AS_OF, origin="x", now=NOW)
    assert rows.seen and set(rows.seen) == {BULK_THRESHOLDS}
    assert gc.get_threshold() == DEFAULTS

    checked: list[tuple[int, int, int]] = []

    def check(written: Sequence[WrittenInterchange]) -> dict[str, list[str]]:
        checked.append(gc.get_threshold())
        return {}

    staged = stage_claims(
        engine,
        payers=registered_payers(),
        sender=SENDER,
        outbound_dir=tmp_path / "outbound",
        batch_date=AS_OF,
        created=NOW,
        now=NOW,
        check=check,
    )
    assert staged.interchanges and checked and set(checked) == {BULK_THRESHOLDS}
    assert gc.get_threshold() == DEFAULTS

    payers = _WatchedPayers()
    decided: Any = decide_open_claims(engine, payers, AS_OF, NOW)
    with engine.connect() as conn:
        claims = conn.execute(select(func.count()).select_from(claim)).scalar_one()
    assert claims > 0 and sum(decided.values()) == claims
    assert payers.seen and set(payers.seen) == {BULK_THRESHOLDS}
    assert gc.get_threshold() == DEFAULTS
