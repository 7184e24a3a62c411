"""Issue 9, Done when 2: two nights of the real nightly flow with every kind of bad input in them.

Night 1: the export folder holds a good export (one visit of it with a prior authorization ``PA*7781``) and a
bad export (a required column missing); the clearinghouse's response folder holds an 835 cut inside a CLP and
an ``ERA.835``. Night 2: the response folder holds the cut 835's complete copy and another, different
``ERA.835`` under the same name.

The 835s are the payer simulator's answers to the very claims the good export builds (written from a scratch
warehouse before night 1), so every payment matches a claim we sent; the sandbox clearinghouse itself stays
silent (realistic timing on a clock that never moves), so these are the only answers that arrive.

After it: every good claim was sent, once; the complete 835 posted once and the cut one never; both
``ERA.835`` survive byte for byte (inbound/ and the remote archive); and the needs-attention list of each
night names exactly the bad items, the run ending in the ``NeedsAttention`` state.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from delivery_world import SENDER
from intake_records import record_export
from pipeline import PipelineWorld, pipeline_world
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType

from connectors.payers import registered_payers
from revcycle.claims import claim_key_for
from revcycle.clock import SimulatedClock
from revcycle.sandbox.payer_simulator import respond
from revcycle.submission import stage_interchanges
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.x12.x837 import read_837

pytestmark = pytest.mark.e2e
NIGHT_1 = date(2026, 11, 20)
NIGHT_2 = NIGHT_1 + timedelta(days=1)
CUT_NAME = "REMIT_0001.835"


def _rows(seed: int, encounters: int) -> list[dict[str, str]]:
    return list(
        generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=seed, as_of=NIGHT_1)
    )


def _key(row: dict[str, str]) -> str:
    return claim_key_for(row["encounter_id"], row["payer_id"], row["billing_npi"])


def _answers_835(rows: list[dict[str, str]], scratch: Path) -> list[bytes]:
    """The payer simulator's 835s for the claims of ``rows``, staged in a scratch warehouse of their own."""
    engine = create_warehouse_engine(f"sqlite:///{scratch / 'warehouse.db'}")
    upgrade_warehouse(engine)
    payers = registered_payers()
    record_export(engine, rows, batch_date=NIGHT_1, name="x.csv", payers=payers)
    staged = stage_interchanges(
        engine,
        payers=payers,
        sender=SENDER,
        outbound_dir=scratch / "outbound",
        batch_date=NIGHT_1,
        created=datetime(2026, 11, 20, 21, 30, tzinfo=UTC),
    )
    engine.dispose()
    numbers = itertools.count(800)
    answers: list[bytes] = []
    for record in staged:
        files = respond(
            (scratch / "outbound" / record.file_name).read_bytes(),
            usage_indicator="T",
            now=datetime(2026, 11, 21, 6, 0, tzinfo=UTC),
            control_numbers=lambda: next(numbers),
        )
        answers += [f.content for f in files if f.kind == "835"]
    return answers


def _trace(era: bytes) -> str:
    found = re.search(rb"TRN\*1\*([^*~\r\n]+)\*", era)
    assert found is not None
    return found.group(1).decode()


def _cut_inside_first_clp(era: bytes) -> bytes:
    start = era.index(b"CLP*")
    return era[: start + 12]  # the file ends inside the CLP segment: no terminator, no SE, GE or IEA


def _query(world: PipelineWorld, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(world.workdir / "warehouse.db") as db:
        return db.execute(sql, args).fetchall()


def _sent(world: PipelineWorld) -> list[str]:
    folder = world.clearinghouse.root / world.clearinghouse.upload_dir
    keys = []
    for path in sorted(folder.iterdir()):
        received = read_837(path.read_bytes())
        assert received.problems == [], path.name
        keys += [c.claim_key for c in received.claims]
    return keys


def _listed(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(item["kind"], item["subject"]) for item in result["needs_attention"]}


def test_two_nights_of_bad_inputs_send_every_good_claim_and_list_exactly_the_bad_items(
    prefect_api: None, tmp_path: Path
) -> None:
    good = _rows(seed=311, encounters=60)  # the bad visit's lines stay below the 5 % reject threshold
    bad_visit = good[0]["encounter_id"]
    for row in good:
        if row["encounter_id"] == bad_visit:
            row["prior_authorization"] = "PA*7781"
    bad_lines = [r for r in good if r["encounter_id"] == bad_visit]
    held_key = _key(bad_lines[0])
    good_claims = {_key(r) for r in good if r["encounter_id"] != bad_visit}
    missing_column = _rows(seed=312, encounters=5)

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    eras = _answers_835([r for r in good if r["encounter_id"] != bad_visit], scratch)
    assert len(eras) >= 3 and len({_trace(e) for e in eras}) == len(eras), "three different payments are needed"
    complete, era_1, era_2 = eras[:3]
    cut = _cut_inside_first_clp(complete)

    silent = {"timing": "realistic", "clock": SimulatedClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))}
    with pipeline_world(tmp_path / "world", **silent) as world:
        inbox = world.clearinghouse.root / world.clearinghouse.inbox_dir
        archive = world.clearinghouse.root / world.clearinghouse.archive_dir
        write_charge_export(good, world.export_dir / "charges_311.csv")
        with (world.export_dir / "charges_312.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[n for n in good[0] if n != "member_id"], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(missing_column)
        (inbox / CUT_NAME).write_bytes(cut)
        (inbox / "ERA.835").write_bytes(era_1)

        first = world.run_nightly(NIGHT_1)
        first_state = world.last_state

        (inbox / CUT_NAME).write_bytes(complete)
        (inbox / "ERA.835").write_bytes(era_2)
        second = world.run_nightly(NIGHT_2)
        second_state = world.last_state

        # Every good claim was sent, once; the held visit's claim and the refused export's never.
        sent = _sent(world)
        assert sorted(sent) == sorted(good_claims)
        assert held_key not in sent

        # The complete 835 posted once, from its own file; nothing ever posted from the cut copy.
        files = {sha: (fid, status) for fid, sha, status in _query(world, "SELECT id, sha256, status FROM source_file")}
        cut_id, cut_status = files[hashlib.sha256(cut).hexdigest()]
        complete_id, _ = files[hashlib.sha256(complete).hexdigest()]
        assert cut_status == "refused"
        posted = _query(world, "SELECT source_file_id FROM remittance WHERE trace_number = ?", _trace(complete))
        assert posted == [(complete_id,)]
        assert _query(world, "SELECT count(*) FROM remittance WHERE source_file_id = ?", cut_id) == [(0,)]
        assert _query(world, "SELECT problem_code FROM refused_transaction_set") == [("MISSING_TERMINATOR",)]

        # Both ERA.835 files survive byte for byte, locally and in the remote archive; the inbox is empty.
        local = [p.read_bytes() for p in (world.workdir / "inbound").iterdir()]
        remote = [p.read_bytes() for p in archive.iterdir()]
        for era in (era_1, era_2):
            assert local.count(era) == 1 and remote.count(era) == 1
        assert list(inbox.iterdir()) == []
        assert _query(
            world, "SELECT count(*) FROM remittance WHERE trace_number IN (?, ?)", *map(_trace, eras[1:3])
        ) == [(2,)]
        # Nothing of the payments lands in suspense: each pays a claim we sent.
        assert _query(world, "SELECT count(*) FROM remittance_suspense") == [(0,)]

    # Night 1 lists exactly its bad items; night 2 only what is still open (the held claim).
    ((refused_set,),) = _query_set_subject(world)
    assert _listed(first) == {
        ("refused export", "charges_312.csv"),
        ("rejected charge lines", "charges_311.csv"),
        ("held claim", f"claim {held_key} (payer {bad_lines[0]['payer_id']})"),
        ("refused transaction set", refused_set),
    }
    rejected = next(i for i in first["needs_attention"] if i["kind"] == "rejected charge lines")
    assert rejected["reason"].startswith(f"{len(bad_lines)} charge line")
    assert "identifier_format on prior_authorization" in rejected["reason"]
    assert _listed(second) == {("held claim", f"claim {held_key} (payer {bad_lines[0]['payer_id']})")}
    for state in (first_state, second_state):
        assert state.is_failed() and state.name == "NeedsAttention"
    with get_client(sync_client=True) as client:  # as the Prefect server (and its UI) keeps it
        stored = client.read_flow_run(first_state.state_details.flow_run_id).state
    assert stored is not None and (stored.type, stored.name) == (StateType.FAILED, "NeedsAttention")
    assert first_state.message.startswith("4 items need attention")
    text = str(first["needs_attention"]) + str(second["needs_attention"])
    for row in [*good, *missing_column]:  # no PHI on the list
        assert row["patient_last_name"] not in text and row["member_id"] not in text


def _query_set_subject(world: PipelineWorld) -> list[tuple[str]]:
    """The refused set as the list names it, built by hand from the ledger: file, set, kind and ST02."""
    rows = _query(
        world,
        "SELECT f.name, r.set_ordinal, r.kind, r.control_number FROM refused_transaction_set r "
        "JOIN source_file f ON f.id = r.source_file_id",
    )
    return [(f"{name} set {ordinal} ({kind}, ST02 {st02})",) for name, ordinal, kind, st02 in rows]
