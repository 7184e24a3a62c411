"""The EHR feeds in the nightly intake (connectors/ehr/intake.py): what is listed, what is refused and why, and
planted defects in HL7 and FHIR feeds quarantined in the warehouse with precision and recall 1.0.

The ground-truth tests run what ``tasks/intake.intake_export`` runs, without Prefect: read by the reader the
content names, the charges gate (GX), the reader's holds as rejections, ``record_intake``; then they read the
warehouse back.
"""

from __future__ import annotations

import json
import stat
from datetime import date, datetime
from pathlib import Path

import pytest
from intake_records import record_export
from sqlalchemy import select

from connectors.ehr.base import HOLD_CORRECTION
from connectors.ehr.csv_export import UnreadableExport
from connectors.ehr.intake import (
    READER_SUITE,
    SOURCE_KEY,
    defect_share,
    held_rejections,
    intake_rows,
    list_exports,
    read_for_intake,
    rejection_sources,
)
from connectors.payers import registered_payers
from expectations.gate import charge_rejections, payer_charge_rules
from expectations.runner import validate_charges
from revcycle.demo_export import CONFIG_FILE, DEFECTS_FILE, write_demo_export
from revcycle.synth import generate_charge_rows
from revcycle.synth_ehr import chargemaster_csv, plant_ehr_defects, practice_config_toml
from revcycle.synth_fhir import write_fhir
from revcycle.synth_hl7 import write_dft_file
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.schema import charge, charge_rejection

AS_OF = date(2026, 11, 2)
SENT = datetime(2026, 11, 2, 21, 0)
RATE = 0.04


def _rows(seed: int, encounters: int) -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=seed, as_of=AS_OF))


def _practice(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    (tmp_path / "chargemaster.csv").write_text(chargemaster_csv(), encoding="utf-8")
    config = tmp_path / "ehr.toml"
    config.write_text(practice_config_toml(rows), encoding="utf-8")
    return config


@pytest.mark.parametrize(("feed", "seed"), [("hl7", 3), ("hl7", 29), ("fhir", 3), ("fhir", 29)])
def test_planted_feed_defects_are_quarantined_in_the_warehouse_naming_their_source(
    tmp_path: Path, feed: str, seed: int
) -> None:
    payers = registered_payers()
    clean = _rows(seed, 150)
    planted = plant_ehr_defects(clean, feed, RATE, seed, payers=payers, as_of=AS_OF)
    config = _practice(tmp_path, clean)
    path = tmp_path / "exports" / ("feed.hl7" if feed == "hl7" else "feed.ndjson")
    path.parent.mkdir()
    if feed == "hl7":
        write_dft_file(planted.rows, path, sent=SENT, format_defects=planted.format_defects)
        ids = {r["charge_id"]: r["charge_id"] for r in planted.rows}
    else:
        ids = write_fhir(planted.rows, path, created=AS_OF, ndjson=True, format_defects=planted.format_defects)
    truth = {ids[d.charge_id] for d in planted.ground_truth}
    assert len(truth) >= 6 and {d.defect for d in planted.ground_truth} & {"broken_escape", "dangling_reference"}

    export = read_for_intake(path, config_path=config)
    validation = validate_charges(export.frame(), today=AS_OF, payer_rules=payer_charge_rules(payers))
    share = defect_share(export, len(validation.rejected_rows), [])
    assert (share.flagged, share.evaluated) == (len(truth), len(planted.rows))
    rejections = charge_rejections(validation) + held_rejections(export)
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_warehouse(engine)
    record_export(
        engine,
        intake_rows(export),
        batch_date=AS_OF,
        name=path.name,
        sha256=export.sha256,
        origin="x",
        rejections=rejections,
        payers=payers,
    )
    with engine.connect() as conn:
        quarantined = set(
            conn.execute(select(charge_rejection.c.charge_id).where(charge_rejection.c.severity == "error")).scalars()
        )
        stored = {r.charge_id: (r.status, json.loads(r.row_json)) for r in conn.execute(select(charge))}
    engine.dispose()
    assert quarantined - truth == set(), "precision below 1.0"
    assert truth - quarantined == set(), "recall below 1.0"
    # Every quarantined charge is named with its file and message or resource line.
    named = {line["charge_id"]: line["source"] for line in rejection_sources(export, rejections)}
    assert set(named) == truth
    position = " message " if feed == "hl7" else " line "
    assert all(source.startswith(path.name + position) for source in named.values()), list(named.values())[:3]
    # Clean encounters are claimed; no charge of a quarantined one is.
    encounter_of = {ids[r["charge_id"]]: r["encounter_id"] for r in planted.rows}
    defective = {encounter_of[c] for c in truth}
    for charge_id, (status, row) in stored.items():
        assert row[SOURCE_KEY].startswith(path.name), charge_id
        if charge_id in truth:
            assert status == "rejected", charge_id
        elif encounter_of[charge_id] in defective:
            assert status == "held", charge_id
        else:
            assert status == "claimed", charge_id
    assert {c for c, (status, _row) in stored.items() if status == "claimed"} == {
        c for c in encounter_of if encounter_of[c] not in defective
    }


def test_a_message_that_cannot_be_parsed_holds_its_whole_encounter(tmp_path: Path) -> None:
    """A broken DFT (a malformed escape) is held by the reader; its visit number, read by a plain split, holds
    the encounter's other charges sent in another message, so no partial claim goes out."""
    rows = _rows(41, 8)
    first = next(e for e in (r["encounter_id"] for r in rows) if sum(r["encounter_id"] == e for r in rows) >= 2)
    lines = [r for r in rows if r["encounter_id"] == first]
    config = _practice(tmp_path, rows)
    broken = tmp_path / "broken.hl7"
    # Two messages for one encounter (an EHR that sends a DFT per charge): the first with a bad escape in PID-5.
    write_dft_file(lines[:1], broken, sent=SENT, batch=False)
    text = broken.read_bytes().replace(b"\rPID|", b"\rPID|\\Q\\", 1)
    write_dft_file(lines[1:], tmp_path / "second.hl7", sent=SENT, batch=False)
    second = (tmp_path / "second.hl7").read_bytes().replace(b"SYN00000001", b"SYN00000002")
    assert text.count(b"\\Q\\") == 1 and second.count(b"SYN00000002") == 1
    broken.write_bytes(text + second)
    export = read_for_intake(broken, config_path=config)
    assert [h.rule for h in export.held] == ["broken_message"]
    assert export.held[0].row == {"encounter_id": first}
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_warehouse(engine)
    result = record_export(
        engine,
        intake_rows(export),
        batch_date=AS_OF,
        name=broken.name,
        origin="x",
        rejections=held_rejections(export),
    )
    engine.dispose()
    assert result.claim_keys == [] and result.held_charges == len(lines) - 1 and result.rejected_charges == 1


def test_credits_are_quarantined_but_not_counted_as_defects(tmp_path: Path) -> None:
    rows = _rows(5, 4)
    config = _practice(tmp_path, rows)
    path = tmp_path / "credit.hl7"
    write_dft_file(rows, path, sent=SENT)
    # FT1-6 of the first charge line: CG (charge) -> CD (credit), HL7 table 0017.
    path.write_bytes(path.read_bytes().replace(b"|CG|", b"|CD|", 1))
    export = read_for_intake(path, config_path=config)
    assert [h.rule for h in export.held] == [HOLD_CORRECTION]
    share = defect_share(export, 0, [])
    assert (share.flagged, share.evaluated) == (0, len(rows))
    (rejection,) = held_rejections(export)
    assert (rejection.suite, rejection.rule, rejection.severity) == (READER_SUITE, HOLD_CORRECTION, "error")
    credited = [r for r in intake_rows(export) if r["charge_id"] == rejection.charge_id]
    assert len(credited) == 1 and credited[0]["encounter_id"] == rows[0]["encounter_id"]


def test_exports_of_every_format_are_listed_and_text_of_no_known_format_is_not(tmp_path: Path) -> None:
    rows = _rows(7, 2)
    write_dft_file(rows, tmp_path / "dft.TXT", sent=SENT)  # an interface engine's .txt holding HL7
    (tmp_path / "b.CSV").write_text("charge_id,encounter_id\nC1,E1\n", encoding="utf-8")
    (tmp_path / "c.hl7").write_text("not hl7\n", encoding="utf-8")  # listed, then refused with its reason
    (tmp_path / "d.Json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("call the EHR vendor\n", encoding="utf-8")
    (tmp_path / "feed.dat").write_bytes(b"")
    (tmp_path / ".mllp-abc.part").write_text("MSH|^~\\&|\r", encoding="utf-8")  # the listener's temporary file
    (tmp_path / "charges.csv.part").write_text("charge_id\n", encoding="utf-8")
    listing = list_exports(tmp_path)
    assert [p.name for p in listing.exports] == ["b.CSV", "c.hl7", "d.Json", "dft.TXT"]
    assert [p.name for p in listing.unread] == [".mllp-abc.part", "charges.csv.part", "feed.dat", "notes.txt"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "The file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), "not a text CSV file"),
        ("charge_id,encounter_id\n".encode("utf-16"), "UTF-16"),
        (b"encounter_id,member_id\nE1,M1\n", "The header lacks the required column(s) charge_id"),
        (b"Smith,John,1980-01-01\n", "names none of the charge contract's required columns"),
    ],
    ids=["empty", "binary", "utf16", "no-charge-id-column", "no-header"],
)
def test_a_csv_no_reader_recognises_keeps_the_csv_refusal(tmp_path: Path, content: bytes, expected: str) -> None:
    """Content decides the format, but a .csv file no reader recognises is refused with the CSV's own reason
    (what an operator can act on), not as an unknown format."""
    path = tmp_path / "charges.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableExport) as raised:
        read_for_intake(path)
    assert expected in raised.value.refusal.problem


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bundle.json", b'{"resourceType": "Bundle", "entry": [', "not valid JSON"),
        ("interface.hl7", b"<html>502 Bad Gateway</html>", "none of the known export formats"),
        ("adt_only.hl7", b"MSH|^~\\&|EHR|FAC|||20261102||ADT^A08|C1|P|2.5.1\rPID|1||M1\r", "holds no charge"),
        ("empty_bundle.json", b'{"resourceType": "Bundle", "type": "collection", "entry": []}', "holds no charge"),
    ],
    ids=["cut-json", "html", "adt-only", "empty-bundle"],
)
def test_a_feed_file_that_cannot_be_used_is_refused_with_its_reason(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableExport) as raised:
        read_for_intake(path)
    assert expected in raised.value.refusal.problem and raised.value.refusal.remedy
    assert name in str(raised.value)


@pytest.mark.parametrize("ehr_format", ["hl7", "fhir", "mixed"])
def test_the_demo_writes_its_feed_with_the_practice_config_and_the_ground_truth(
    tmp_path: Path, ehr_format: str
) -> None:
    workdir = tmp_path / "demo"
    exports = workdir / "exports"
    exports.mkdir(parents=True)
    written = write_demo_export(
        ehr_format=ehr_format,
        workdir=workdir,
        export_dir=exports,
        encounters_count=30,
        seed=9,
        defect_rate=0.1,
        payers=registered_payers(),
        as_of=AS_OF,
        sent=SENT,
    )
    formats = ["csv", "hl7", "fhir"] if ehr_format == "mixed" else [ehr_format]
    assert [f for f, _path, _lines in written.files] == formats
    listing = list_exports(exports)
    assert sorted(listing.exports) == sorted(path for _f, path, _lines in written.files) and listing.unread == []
    read = [read_for_intake(path, config_path=workdir / CONFIG_FILE) for _f, path, _lines in written.files]
    assert [e.format for e in read] == formats
    assert sum(e.units_in for e in read) == written.lines
    truth = (workdir / DEFECTS_FILE).read_text(encoding="utf-8").splitlines()
    assert len(truth) == len(written.defects) + 1 >= 4
    for path in [workdir / CONFIG_FILE, workdir / DEFECTS_FILE, *(p for _f, p, _l in written.files)]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_a_dft_arriving_after_its_claim_went_out_is_held_for_a_replacement_claim(tmp_path: Path) -> None:
    """Issue 13: a late DFT follows the late-charge rule: its charge is not billed on a new original claim."""
    rows = _rows(17, 3)
    config = _practice(tmp_path, rows)
    late = dict(rows[0], charge_id="LATE-0001", procedure_code="36415", charge_amount="25.00")
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_warehouse(engine)
    results = []
    for number, batch in enumerate((rows, [late]), start=1):
        path = tmp_path / f"night{number}.hl7"
        write_dft_file(batch, path, sent=SENT)
        export = read_for_intake(path, config_path=config)
        assert export.held == []
        results.append(record_export(engine, intake_rows(export), batch_date=AS_OF, name=path.name, origin="x"))
    engine.dispose()
    first, second = results
    assert len(first.claim_keys) == 3
    assert second.claim_keys == [] and len(second.held_claims) == 1
    (key,) = second.held_claims
    assert key in first.claim_keys and "replacement claim" in second.hold_reasons[key][0]
