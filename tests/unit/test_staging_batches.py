"""Staging in bounded batches (issue 15): the same interchanges, holds and ledger as staging the night at once.

Core only (no Prefect): intake and staging over SQLite warehouses, with the 837s read back from outbound/.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from intake_records import record_export
from sqlalchemy import Engine, select

from connectors.payers import registered_payers
from revcycle import submission
from revcycle.claims import claim_key_for
from revcycle.submission import SenderIdentity, WrittenClaimCheck, WrittenInterchange, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.schema import claim, claim_hold, interchange
from revcycle.x12.write837p import Submitter
from revcycle.x12.x837 import read_837

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
SENDER = SenderIdentity("REVCYCLE01", "T", Submitter("REVCYCLE BILLING", "REVCYCLE01", "BILLING", phone="5555550100"))
PER_INTERCHANGE = 3
CHECK_BATCH = 7  # two interchanges of 3 fit, a third does not
REBUILD_SLICE = 4  # not a multiple of the interchange size: interchanges span rebuild slices


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    made = []
    for name in ("whole", "batched"):
        engine = create_warehouse_engine(f"sqlite:///{tmp_path / (name + '.db')}")
        upgrade_warehouse(engine)
        made.append(engine)
    yield made[0], made[1]
    for engine in made:
        engine.dispose()


def _key(row: Mapping[str, str]) -> str:
    return claim_key_for(row["encounter_id"], row["payer_id"], row["billing_npi"])


def _intake(engine: Engine, rows: Sequence[Mapping[str, str]]) -> None:
    record_export(engine, rows, batch_date=AS_OF, origin="x", now=NOW)


def _files(outbound: Path) -> list[tuple[str, bytes, list[str]]]:
    """(name, bytes, claim keys) of each staged 837, in control-number order."""
    paths = sorted(outbound.glob("*.x12"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    files = []
    for path in paths:
        content = path.read_bytes()
        received = read_837(content)
        assert received.problems == []
        files.append((path.name, content, [c.claim_key for c in received.claims]))
    return files


def _ledger(engine: Engine) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """The claims with their interchange's file name and status, and the holds, by business keys."""
    with engine.connect() as conn:
        claims = {
            tuple(r)
            for r in conn.execute(
                select(claim.c.claim_key, interchange.c.file_name, claim.c.status).join(
                    interchange, claim.c.interchange_id == interchange.c.id
                )
            )
        }
        holds = {
            tuple(r)
            for r in conn.execute(
                select(claim_hold.c.claim_key, claim_hold.c.stage, claim_hold.c.reason, claim_hold.c.released_at)
            )
        }
    return claims, holds


def test_staging_in_small_batches_gives_the_interchanges_holds_and_ledger_of_one_batch(
    engines: tuple[Engine, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=80, seed=21, as_of=AS_OF))
    bad = rows[0]  # a delimiter in its prior authorization: the writer refuses it (held at stage)
    rows = [dict(r, prior_authorization="PA*1") if r["encounter_id"] == bad["encounter_id"] else r for r in rows]
    payer_ids = sorted({r["payer_id"] for r in rows})
    keys_by_payer = {p: sorted({_key(r) for r in rows if r["payer_id"] == p} - {_key(bad)}) for p in payer_ids}
    # By hand: each payer's claims, in key order, cut into interchanges of 3; payers in order.
    expected = []
    for payer_id in payer_ids:
        keys = keys_by_payer[payer_id]
        expected += [keys[i : i + 3] for i in range(0, len(keys), 3)]
    assert len(expected) >= 6 and any(len(keys) > REBUILD_SLICE for keys in keys_by_payer.values())
    failing = next(chunk for chunk in expected if len(chunk) == PER_INTERCHANGE)[1]  # fails the claims suite
    expected = [[k for k in chunk if k != failing] for chunk in expected]
    calls: dict[str, list[int]] = {"whole": [], "batched": []}

    def check_for(name: str) -> WrittenClaimCheck:
        def check(written: Sequence[WrittenInterchange]) -> Mapping[str, list[str]]:
            calls[name].append(sum(len(w.claims) for w in written))
            if failing in {c.claim_key for w in written for c in w.claims}:
                return {failing: [f"claim {failing}: claims suite rule claim_total_equals_lines failed"]}
            return {}

        return check

    monkeypatch.setattr(submission, "MAX_CLAIMS_PER_INTERCHANGE", PER_INTERCHANGE)
    results = {}
    for (name, engine), (check_batch, rebuild_slice) in zip(
        [("whole", engines[0]), ("batched", engines[1])], [(10**9, 10**9), (CHECK_BATCH, REBUILD_SLICE)], strict=True
    ):
        monkeypatch.setattr(submission, "CHECK_BATCH_CLAIMS", check_batch)
        monkeypatch.setattr(submission, "REBUILD_BATCH_CLAIMS", rebuild_slice)
        _intake(engine, rows)
        results[name] = stage_claims(
            engine,
            payers=registered_payers(),
            sender=SENDER,
            outbound_dir=tmp_path / name,
            batch_date=AS_OF,
            created=NOW,
            now=NOW,
            check=check_for(name),
        )

    whole, batched = _files(tmp_path / "whole"), _files(tmp_path / "batched")
    # the writer orders an interchange's claims by its own hierarchy (HL): compare what each one holds
    assert [sorted(keys) for _, _, keys in batched] == expected
    assert batched == whole  # names (so control numbers) and bytes
    assert _ledger(engines[1]) == _ledger(engines[0])
    assert results["batched"].interchanges == results["whole"].interchanges
    held = {(h.claim_key, h.stage) for h in results["batched"].held}
    assert held == {(_key(bad), "stage"), (failing, "stage")}
    assert held == {(h.claim_key, h.stage) for h in results["whole"].held}
    # One run over every claim, then its re-check without the failing claim; batched: never more than 7 a run.
    sent = sum(len(keys) for keys in expected)
    assert calls["whole"] == [sent + 1, PER_INTERCHANGE - 1]
    # at most two interchanges a batch, so at least ceil(interchanges / 2) batches, and the re-check
    assert max(calls["batched"]) <= CHECK_BATCH and len(calls["batched"]) >= -(-len(expected) // 2) + 1
