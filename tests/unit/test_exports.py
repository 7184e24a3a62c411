"""The export folder (issue 9, cases 2 and 5): what is read, what is refused and why, and how it is moved aside."""

from __future__ import annotations

import csv
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.ehr.csv_export import UnreadableExport, read_charge_export, scan_export
from connectors.payers import registered_payers
from revcycle import exports
from revcycle.charge_export import COLUMN_NAMES, REQUIRED_COLUMNS
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.schema import source_file

AS_OF = date(2026, 11, 20)
REFUSED_AT = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=4, seed=7, as_of=AS_OF))


def _refusal(path: Path) -> exports.ExportRefusal:
    with pytest.raises(UnreadableExport) as raised:
        read_charge_export(path)
    return raised.value.refusal


def test_csv_exports_are_found_in_any_case_and_other_files_are_listed_apart(tmp_path: Path) -> None:
    for name in ("b_charges.csv", "A_WINDOWS.CSV", "c_mixed.Csv", "notes.txt", "charges.csv.part", ".hidden"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "refused").mkdir()
    (tmp_path / "refused" / "old.csv").write_text("x\n")
    listing = exports.discover_exports(tmp_path)
    assert [p.name for p in listing.exports] == ["A_WINDOWS.CSV", "b_charges.csv", "c_mixed.Csv"]
    assert [p.name for p in listing.unread] == [".hidden", "charges.csv.part", "notes.txt"]
    assert exports.discover_exports(tmp_path / "absent") == exports.ExportListing([], [])


def test_a_contract_export_reads_whole(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "charges.CSV"
    write_charge_export(rows, path)
    export = read_charge_export(path)
    assert len(export.frame) == len(rows) and list(export.frame.columns) == list(COLUMN_NAMES)
    assert export.sha256 == scan_export(path).sha256 and export.size == path.stat().st_size


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "The file is empty"),
        (b"\n \r\n\n", "The file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), "not a text CSV file"),
        ("charge_id,encounter_id\n".encode("utf-16"), "UTF-16"),
        ("charge_id,caf\u00e9\n".encode("cp1252"), "not UTF-8"),
        (b'charge_id,encounter_id\n"C1,E1\n', "not a well-formed CSV"),
    ],
    ids=["empty", "blank-lines", "binary", "utf16", "cp1252", "open-quote"],
)
def test_files_that_are_not_a_csv_text_are_refused_with_what_is_wrong(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    refusal = _refusal(path)
    assert expected in refusal.problem
    assert refusal.remedy


def test_a_header_without_lines_is_refused_like_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "header_only.csv"
    path.write_text(",".join(COLUMN_NAMES) + "\n", encoding="utf-8")
    assert "no charge lines" in _refusal(path).problem


def test_a_nul_byte_after_the_first_block_still_refuses_the_file(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "late_nul.csv"
    write_charge_export(rows * 400, path)  # well past the first 64 KB read to recognise a file
    assert path.stat().st_size > 1 << 17
    path.write_bytes(path.read_bytes() + b"C9,\x00\n")
    assert "not a text CSV file" in _refusal(path).problem


def test_a_row_with_more_fields_than_the_header_names_its_line(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "extra_field.csv"
    write_charge_export(rows, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] += ",surplus"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "near line 4" in _refusal(path).problem


def test_missing_required_columns_are_named_and_no_value_is_repeated(
    tmp_path: Path, rows: list[dict[str, str]]
) -> None:
    path = tmp_path / "missing.csv"
    names = [n for n in COLUMN_NAMES if n not in ("member_id", "payer_id")]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    refusal = _refusal(path)
    assert refusal.problem == "The header lacks the required column(s) member_id, payer_id."
    assert "docs/charge-export.md" in refusal.remedy


def test_a_file_without_a_header_is_refused_without_quoting_its_first_line(
    tmp_path: Path, rows: list[dict[str, str]]
) -> None:
    path = tmp_path / "no_header.csv"
    write_charge_export(rows, path)
    path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    refusal = _refusal(path)
    assert "names none of the charge contract's required columns" in refusal.problem
    first = rows[0]
    for value in (first["patient_last_name"], first["member_id"], first["patient_birth_date"]):
        assert value not in refusal.detail
    assert len(REQUIRED_COLUMNS) > 2


def test_over_the_threshold_reason_gives_counts_and_rules_most_first() -> None:
    refusal = exports.over_threshold(12, 40, 0.05, [("npi_check_digit", "billing_npi", 9), ("required", "units", 3)])
    assert refusal.problem.startswith("12 of 40 charge lines (30.0%) failed validation, above the 5% threshold")
    assert "npi_check_digit on billing_npi (9), required on units (3)." in refusal.problem


def _register(engine, path: Path) -> int:  # type: ignore[no-untyped-def]
    scan = scan_export(path)
    with engine.begin() as conn:
        return register_source_file(
            conn, kind="charges", name=path.name, sha256=scan.sha256, size=scan.size, origin="export"
        ).id


def test_refusing_records_the_ledger_then_moves_the_file_beside_its_reason(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "charges.csv"
    path.write_bytes(b"")
    file_id = _register(engine, path)
    refused = exports.refuse_export(
        engine,
        path,
        refusal=exports.empty_file(),
        source_file_id=file_id,
        sha256=scan_export(path).sha256,
        refused_at=REFUSED_AT,
    )
    assert not path.exists()
    assert refused.moved_to == folder / "refused" / "charges.csv"
    assert refused.reason_file == folder / "refused" / "charges.csv.reason.txt"
    assert stat.S_IMODE((folder / "refused").stat().st_mode) == 0o700
    assert stat.S_IMODE(refused.moved_to.stat().st_mode) == stat.S_IMODE(refused.reason_file.stat().st_mode) == 0o600
    text = refused.reason_file.read_text(encoding="utf-8")
    assert text.splitlines()[:2] == ["Refused charge export: charges.csv", "Refused at: 2026-11-21T03:30:00+00:00"]
    assert "What is wrong: The file is empty" in text and "What to do:" in text
    with engine.connect() as conn:
        row = conn.execute(select(source_file.c.status, source_file.c.detail)).one()
    assert row.status == "refused" and row.detail == exports.empty_file().detail


def test_a_second_refused_file_of_the_same_name_never_overwrites_the_first(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exports"
    folder.mkdir()
    moved = []
    for content in (b"first\n", b"second\n", b"second\n"):
        path = folder / "charges.csv"
        path.write_bytes(content)
        sha256 = scan_export(path).sha256
        refused = exports.refuse_export(
            engine,
            path,
            refusal=exports.no_charge_lines(),
            source_file_id=_register(engine, path),
            sha256=sha256,
            refused_at=REFUSED_AT,
        )
        moved.append((refused.moved_to.name, sha256))
    (first, _), (second, second_sha), (third, _) = moved
    assert first == "charges.csv"
    assert second == third == f"charges.{second_sha[:12]}.csv"  # the same content again: the same place
    assert (folder / "refused" / first).read_bytes() == b"first\n"
    assert (folder / "refused" / second).read_bytes() == b"second\n"
    assert sorted(p.name for p in (folder / "refused").iterdir()) == sorted(
        [first, f"{first}.reason.txt", second, f"{second}.reason.txt"]
    )
    assert list(folder.glob("*.csv")) == []


def test_a_refusal_stands_when_the_file_cannot_be_moved_aside(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "charges.csv"
    path.write_bytes(b"")
    file_id = _register(engine, path)
    (folder / "refused").write_text("a file where the folder should be\n")  # mkdir fails, as on a read-only share
    refused = exports.refuse_export(
        engine,
        path,
        refusal=exports.empty_file(),
        source_file_id=file_id,
        sha256=scan_export(path).sha256,
        refused_at=REFUSED_AT,
    )
    assert (refused.moved, refused.moved_to, refused.reason_file) == (False, path, None)
    assert path.exists()
    with engine.connect() as conn:
        assert conn.execute(select(source_file.c.status)).scalar_one() == "refused"
