"""Issue 9, intake and claim grain: one bad charge or one bad export never stops the night.

Each test runs the real nightly flow (Prefect, the sandbox SFTP clearinghouse, the SQLite warehouse) over an
export folder holding good and bad inputs, and checks what an operator can observe: the flow completes, the
837s on the server, the warehouse rows, the files moved aside, and the log levels.
"""

from __future__ import annotations

import csv
import logging
import sqlite3
import stat
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pipeline import PipelineWorld, pipeline_world

from connectors.payers import registered_payers
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.x12.x837 import read_837

pytestmark = pytest.mark.e2e
AS_OF = date(2026, 11, 20)
OUR_LOGGERS = ("prefect", "revcycle", "tasks", "flows", "connectors", "expectations")


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """The WARNING-and-above records of our code and of the Prefect run loggers so far in the test.

    Fails when pytest's capture handler is no longer on the root logger (something reconfigured logging
    during the test): the records would then be missing, and a "no ERROR" check could not fail.
    """
    caplog.set_level(logging.WARNING)

    def records() -> list[logging.LogRecord]:
        assert caplog.handler in logging.getLogger().handlers, "the log capture was detached during the test"
        return [r for r in caplog.records if r.name.split(".")[0] in OUR_LOGGERS]

    return records


def _rows(seed: int, encounters: int) -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=seed, as_of=AS_OF))


def _claims_of(rows: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    # One claim per (encounter, payer, billing NPI): docs/charge-export.md, "From rows to claims".
    return {(r["encounter_id"], r["payer_id"], r["billing_npi"]) for r in rows}


def _sent(world: PipelineWorld) -> dict[str, tuple[Decimal, tuple[Decimal, ...]]]:
    """Claim key -> (CLM02, line charges) of every claim in the 837s the clearinghouse received."""
    folder = world.clearinghouse.root / world.clearinghouse.upload_dir
    sent: dict[str, tuple[Decimal, tuple[Decimal, ...]]] = {}
    for path in sorted(folder.iterdir()):
        received = read_837(path.read_bytes())
        assert received.problems == [], path.name
        for c in received.claims:
            assert c.claim_key not in sent, f"{c.claim_key} sent twice"
            sent[c.claim_key] = (c.total_charge, tuple(line.charge for line in c.lines))
    return sent


def _query(world: PipelineWorld, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(world.workdir / "warehouse.db") as db:
        return db.execute(sql, args).fetchall()


def _claim_keys_of_encounters(world: PipelineWorld, encounters: set[str]) -> set[str]:
    marks = ",".join("?" * len(encounters))
    sql = f"SELECT claim_key FROM charge WHERE encounter_id IN ({marks})"
    return {key for (key,) in _query(world, sql, *sorted(encounters))}


def _assert_no_errors(records: list[logging.LogRecord]) -> None:
    errors = [f"{r.name}: {r.getMessage()[:200]}" for r in records if r.levelno >= logging.ERROR]
    assert errors == []


def test_a_delimiter_in_a_prior_authorization_holds_that_claim_and_every_other_goes_out(
    prefect_api: None, tmp_path: Path, logged: Callable[[], list[logging.LogRecord]]
) -> None:
    rows = _rows(seed=301, encounters=60)  # the bad visit's lines stay below the 5 % reject threshold
    bad_encounter = rows[0]["encounter_id"]
    for row in rows:
        if row["encounter_id"] == bad_encounter:
            row["prior_authorization"] = "PA*7781"
    with pipeline_world(tmp_path / "world") as world:
        write_charge_export(rows, world.export_dir / "charges_301.csv")
        result = world.run_nightly(AS_OF)

        good_rows = [r for r in rows if r["encounter_id"] != bad_encounter]
        sent = _sent(world)
        assert len(sent) == len(_claims_of(good_rows)) == len(_claims_of(rows)) - 1
        assert set(sent) == _claim_keys_of_encounters(world, {r["encounter_id"] for r in good_rows})
        statuses = dict(_query(world, "SELECT charge_id, status FROM charge"))
        assert {statuses[r["charge_id"]] for r in good_rows} == {"claimed"}
        assert statuses[rows[0]["charge_id"]] == "rejected"
        assert _query(
            world, "SELECT rule, column_name FROM charge_rejection WHERE charge_id = ?", rows[0]["charge_id"]
        ) == [("identifier_format", "prior_authorization")]
        holds = _query(world, "SELECT claim_key, encounter_id, stage, reason, released_at FROM claim_hold")
        assert len(holds) == 1
        key, encounter, stage, reason, released = holds[0]
        assert (encounter, stage, released) == (bad_encounter, "intake", None)
        assert key in reason and "prior_authorization" in reason and "7781" not in reason
        assert key not in sent
        assert result["run"]["claims held (open)"] == 1
    _assert_no_errors(logged())


def test_a_claim_the_writer_refuses_at_staging_is_held_and_released_by_the_corrected_export(
    prefect_api: None, tmp_path: Path, logged: Callable[[], list[logging.LogRecord]]
) -> None:
    """A warehouse holding a built claim with `PA*7781` (built before the format rule existed): every rerun
    used to fail at staging. Now that claim is held at staging, its payer's other claims go out, and the
    corrected export builds it again and releases the hold."""
    from revcycle.intake import record_intake
    from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
    from revcycle.warehouse.ledger import register_source_file

    rows = _rows(seed=302, encounters=16)
    bad = rows[0]
    bad_encounter = bad["encounter_id"]
    same_payer = [r for r in rows if r["payer_id"] == bad["payer_id"] and r["encounter_id"] != bad_encounter]
    assert same_payer, "the seed must give the bad claim's payer other claims"
    planted = [dict(r, prior_authorization="PA*7781") if r["encounter_id"] == bad_encounter else r for r in rows]
    with pipeline_world(tmp_path / "world") as world:
        engine = create_warehouse_engine(f"sqlite:///{world.workdir / 'warehouse.db'}")
        upgrade_warehouse(engine)
        with engine.begin() as conn:
            entry = register_source_file(
                conn, kind="charges", name="old_export.csv", sha256="0" * 64, size=1, origin="export"
            )
        # Recorded straight into the warehouse, as a release without the format rule did.
        record_intake(
            engine, source_file_id=entry.id, rows=planted, rejections=[], payers=registered_payers(), batch_date=AS_OF
        )
        engine.dispose()
        world.export_dir.mkdir(parents=True, exist_ok=True)
        result = world.run_nightly(AS_OF)

        sent = _sent(world)
        key_of = dict(_query(world, "SELECT DISTINCT encounter_id, claim_key FROM claim"))
        assert len(sent) == len(_claims_of(rows)) - 1
        assert {key_of[r["encounter_id"]] for r in same_payer} <= set(sent)
        holds = _query(world, "SELECT claim_key, encounter_id, payer_id, stage, reason, released_at FROM claim_hold")
        assert len(holds) == 1
        key, encounter, payer_id, stage, reason, released = holds[0]
        assert (encounter, payer_id, stage, released) == (bad_encounter, bad["payer_id"], "stage", None)
        assert key in reason and "prior authorization" in reason and "7781" not in reason
        assert key not in sent
        assert {s for (s,) in _query(world, "SELECT status FROM charge WHERE encounter_id = ?", bad_encounter)} == {
            "held"
        }
        assert result["run"]["claims held (open)"] == 1

        corrected = [r for r in rows if r["encounter_id"] == bad_encounter]  # the EHR re-exports the visit
        write_charge_export(corrected, world.export_dir / "charges_302_fixed.csv")
        second = world.run_nightly(AS_OF)
        assert key in _sent(world)
        ((released_at,),) = _query(world, "SELECT released_at FROM claim_hold WHERE claim_key = ?", key)
        assert released_at is not None
        assert second["run"]["claims held (open)"] == 0
    _assert_no_errors(logged())


def test_the_claims_suite_holds_a_claim_whose_written_total_disagrees_with_its_lines(
    prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from revcycle.claims import claim_key_for
    from revcycle.x12 import writer

    rows = _rows(seed=303, encounters=12)
    target = claim_key_for(rows[0]["encounter_id"], rows[0]["payer_id"], rows[0]["billing_npi"])
    original_segment = writer.SegmentWriter.segment
    wrong: list[str] = []

    def segment(self: writer.SegmentWriter, segment_id: str, *elements: writer.Element) -> None:
        # The writer goes wrong on one claim: CLM02 one cent above the sum of its lines.
        if segment_id == "CLM" and elements[0] == target:
            wrong.append(target)
            elements = (elements[0], str(Decimal(str(elements[1])) + Decimal("0.01")), *elements[2:])
        original_segment(self, segment_id, *elements)

    monkeypatch.setattr(writer.SegmentWriter, "segment", segment)
    with pipeline_world(tmp_path / "world") as world:
        write_charge_export(rows, world.export_dir / "charges_303.csv")
        world.run_nightly(AS_OF)

        assert wrong, "the planted fault never fired"
        sent = _sent(world)
        assert target not in sent
        assert len(sent) == len(_claims_of(rows)) - 1
        for total, lines in sent.values():
            assert total == sum(lines)
        holds = _query(world, "SELECT claim_key, stage, reason FROM claim_hold")
        assert [(k, s) for k, s, _ in holds] == [(target, "stage")]
        assert "claim_total_equals_lines" in holds[0][2]


def _reason_files(refused: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in refused.glob("*.reason.txt")}


def test_bad_exports_are_refused_and_moved_aside_while_the_good_ones_go_out(
    prefect_api: None, tmp_path: Path, logged: Callable[[], list[logging.LogRecord]]
) -> None:
    good = _rows(seed=304, encounters=8)
    windows = _rows(seed=305, encounters=6)
    missing = _rows(seed=306, encounters=5)
    with pipeline_world(tmp_path / "world") as world:
        exports = world.export_dir
        write_charge_export(good, exports / "charges_304.csv")
        write_charge_export(windows, exports / "WINDOWS_EHR.CSV")  # the extension in upper case
        with (exports / "missing_column.csv").open("w", newline="", encoding="utf-8") as handle:
            names = [n for n in good[0] if n != "member_id"]
            writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(missing)
        (exports / "empty.csv").write_bytes(b"")
        (exports / "header_only.csv").write_text(",".join(good[0]) + "\n", encoding="utf-8")
        (exports / "binary.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 8)
        (exports / "notes.txt").write_text("not an export\n", encoding="utf-8")

        result = world.run_nightly(AS_OF)

        sent = _sent(world)
        assert len(sent) == len(_claims_of(good)) + len(_claims_of(windows))
        refused_dir = exports / "refused"
        bad_names = {"missing_column.csv", "empty.csv", "header_only.csv", "binary.csv"}
        assert {p.name for p in refused_dir.iterdir() if not p.name.endswith(".reason.txt")} == bad_names
        assert stat.S_IMODE(refused_dir.stat().st_mode) == 0o700
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in refused_dir.iterdir())
        assert not any((exports / name).exists() for name in bad_names)
        assert (exports / "notes.txt").exists()  # reported, never moved or read
        reasons = _reason_files(refused_dir)
        assert set(reasons) == {f"{name}.reason.txt" for name in bad_names}
        assert "member_id" in reasons["missing_column.csv.reason.txt"]
        assert "empty" in reasons["empty.csv.reason.txt"]
        assert "no charge lines" in reasons["header_only.csv.reason.txt"]
        assert "not a text" in reasons["binary.csv.reason.txt"]
        for text in reasons.values():
            assert "What to do" in text
        for row in missing:  # no value of the refused file reaches a reason file
            assert not any(row["patient_last_name"] in text or row["member_id"] in text for text in reasons.values())
        ledger = dict(_query(world, "SELECT name, status FROM source_file"))
        assert {name: ledger[name] for name in bad_names} == dict.fromkeys(bad_names, "refused")
        assert ledger["charges_304.csv"] == ledger["WINDOWS_EHR.CSV"] == "loaded"
        details = dict(_query(world, "SELECT name, detail FROM source_file WHERE status = 'refused'"))
        assert "member_id" in details["missing_column.csv"]
        assert result["run"]["exports refused"] == 4
        assert sorted(r["file"] for r in result["refused_exports"]) == sorted(bad_names)
        assert result["unread_files"] == ["notes.txt"]
        warned = " ".join(r.getMessage() for r in logged() if r.levelno == logging.WARNING)
        assert [name for name in sorted([*bad_names, "notes.txt"]) if name not in warned] == []

        # The EHR re-exports the file with its column: picked up by the next run, its claims sent.
        write_charge_export(missing, exports / "missing_column.csv")
        second = world.run_nightly(AS_OF)
        assert len(_sent(world)) == len(sent) + len(_claims_of(missing))
        assert second["run"]["exports refused"] == 0
        assert (
            dict(_query(world, "SELECT name, status FROM source_file WHERE status = 'loaded'"))["missing_column.csv"]
            == "loaded"
        )
    _assert_no_errors(logged())
