"""`revcycle control-numbers seed --isa13 N`: a new warehouse goes on from the old one's numbers, never back.

A new warehouse (after moving from SQLite to PostgreSQL) counted ISA13 from 000000001 with no way to seed
it; a clearinghouse answers a reused number with TA1 025. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from intake_records import record_export
from sqlalchemy import Engine, select

from connectors.payers import registered_payers
from revcycle.cli import main
from revcycle.submission import SenderIdentity, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.schema import interchange
from revcycle.x12.write837p import Submitter

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
SENDER = SenderIdentity("REVCYCLE01", "T", Submitter("REVCYCLE BILLING", "REVCYCLE01", "BILLING", phone="5555550100"))
# The old warehouse's last interchange: the new one must write numbers above it.
OLD_HIGHEST = 4711


def _stage_some_claims(engine: Engine, outbound: Path, seed: int) -> list[bytes]:
    payers = registered_payers()
    rows = list(generate_charge_rows(list(payers.values()), encounters=6, seed=seed, as_of=AS_OF))
    record_export(engine, rows, batch_date=AS_OF, name=f"charges-{seed}.csv", origin="x", payers=payers, now=NOW)
    staged = stage_claims(
        engine, payers=payers, sender=SENDER, outbound_dir=outbound, batch_date=AS_OF, created=NOW, now=NOW
    )
    assert staged.interchanges, "the synthetic charges must build at least one interchange"
    return [p.read_bytes() for p in sorted(outbound.glob("*.x12"))]


def _isa13_and_gs06(data: bytes) -> tuple[int, int]:
    # ISA13 is the 13th element of the fixed-width ISA; GS06 the 6th of the GS (split by hand on '*' and '~')
    segments = [s.strip() for s in data.decode().split("~")]
    isa = segments[0].split("*")
    gs = next(s for s in segments if s.startswith("GS*")).split("*")
    return int(isa[13]), int(gs[6])


def test_a_seeded_warehouse_writes_isa13_above_the_old_one_and_refuses_to_go_back(
    warehouse: Engine,
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", warehouse_url)
    assert main(["control-numbers", "show"]) == 0
    assert "next ISA13/GS06: 000000001" in capsys.readouterr().out  # a new warehouse starts at 1

    assert main(["control-numbers", "seed", "--isa13", str(OLD_HIGHEST + 1)]) == 0
    assert "next ISA13/GS06: 000004712" in capsys.readouterr().out
    files = _stage_some_claims(warehouse, tmp_path / "outbound", seed=3)
    numbers = [_isa13_and_gs06(f) for f in files]
    assert min(isa13 for isa13, _ in numbers) == OLD_HIGHEST + 1
    assert all(isa13 == gs06 for isa13, gs06 in numbers)
    with warehouse.connect() as conn:
        recorded = sorted(conn.execute(select(interchange.c.control_number)).scalars())
    assert recorded == sorted(isa13 for isa13, _ in numbers)
    highest = recorded[-1]

    # at or below the highest used is refused, in one line naming it, and changes nothing
    for value in (highest, OLD_HIGHEST, 1):
        assert main(["control-numbers", "seed", "--isa13", str(value)]) == 1
        err = capsys.readouterr().err
        assert f"already used ISA13 up to {highest}" in err and len(err.strip().splitlines()) == 1
    assert main(["control-numbers", "seed", "--isa13", "1000000000"]) == 1  # ISA13 has nine digits
    assert "1 to 999999999" in capsys.readouterr().err
    assert main(["control-numbers", "show"]) == 0
    assert f"next ISA13/GS06: {highest + 1:09d}" in capsys.readouterr().out
    assert main(["config"]) == 0
    assert f"Next ISA13/GS06: {highest + 1:09d}" in capsys.readouterr().out

    # a jump forward is allowed; the next interchange takes exactly it
    assert main(["control-numbers", "seed", "--isa13", "90000"]) == 0
    capsys.readouterr()
    later = _stage_some_claims(warehouse, tmp_path / "outbound-2", seed=4)
    assert min(_isa13_and_gs06(f)[0] for f in later) == 90000
