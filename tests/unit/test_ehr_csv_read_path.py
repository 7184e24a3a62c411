"""The CSV read path of the intake (``read_for_intake`` then ``intake_rows``) on a few hundred synthetic lines
with the odd cases the reader handles, against what docs/charge-export.md ("The file") says they must give.

The expected rows are worked out here with the ``csv`` module alone, never with the reader's pandas path: every
value stripped, absent optional columns empty, empty lines skipped, each row's source the line its record
starts on (the header is line 1; a quoted value may span lines). When the file has a line of blanks only
(pandas skips it, the ``csv`` module does not) the reader numbers rows instead: ``row 1``, ``row 2`` ...
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date
from pathlib import Path

from connectors.ehr.intake import HELD_REASON_KEY, SOURCE_KEY, intake_rows, read_for_intake
from connectors.payers import registered_payers
from revcycle.charge_export import COLUMN_NAMES
from revcycle.charge_row import row_json
from revcycle.synth import generate_charge_rows

LINES = 300
BOM = "\ufeff"
# Columns in an order of their own (reversed) and one optional column left out.
LEFT_OUT = "group_number"
HEADER = [name for name in reversed(COLUMN_NAMES) if name != LEFT_OUT]


def _synthetic_rows() -> list[dict[str, str]]:
    rows = generate_charge_rows(list(registered_payers().values()), encounters=LINES, seed=7, as_of=date(2024, 3, 11))
    return list(itertools.islice(rows, LINES))


def _odd_text(rows: list[dict[str, str]], *, blank_only_line: bool) -> str:
    """The rows as an export with a BOM, CRLF line ends, quoted commas and line breaks, padded values, and
    empty lines (one after the header, some between records, two at the end)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    out.write("\r\n")
    for number, row in enumerate(rows):
        values = dict(row)
        if number % 7 == 0:
            values["billing_name"] = values["billing_name"] + ", LLC"  # a quoted delimiter
        if number % 11 == 0:
            values["patient_address1"] = values["patient_address1"] + "\nApt 4"  # a record over two lines
        if number % 5 == 0:
            values["procedure_code"] = f"  {values['procedure_code']} "
        writer.writerow([values.get(name, "") for name in HEADER])
        if number % 13 == 0:
            out.write("\r\n")
        if blank_only_line and number == LINES // 2:
            out.write("   \r\n")
    out.write("\r\n\r\n")
    return BOM + out.getvalue()


def _expected(text: str, name: str, *, numbered_rows: bool) -> list[dict[str, str]]:
    """The intake rows the docs call for, read with the csv module (see the module docstring)."""
    reader = csv.reader(io.StringIO(text.removeprefix(BOM), newline=""))
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    for record in reader:
        if record and any(value.strip() for value in record):
            records.append((previous_end + 1, record))
        previous_end = reader.line_num
    header = [value.strip() for value in records[0][1]]
    expected = []
    for number, (line, record) in enumerate(records[1:], start=1):
        values = dict(zip(header, record, strict=True))
        row = {column: values.get(column, "").strip() for column in COLUMN_NAMES}
        row[SOURCE_KEY] = f"{name} row {number}" if numbered_rows else f"{name} line {line}"
        expected.append(row)
    return expected


def _check(path: Path, text: str, *, numbered_rows: bool) -> None:
    path.write_bytes(text.encode("utf-8"))
    export = read_for_intake(path)
    expected = _expected(text, path.name, numbered_rows=numbered_rows)
    assert len(expected) == LINES
    assert export.format == "csv" and export.units_in == LINES
    assert export.held == [] and export.problems == []
    assert [dict(row) for row in export.rows] == [{k: v for k, v in e.items() if k != SOURCE_KEY} for e in expected]
    assert [str(source) for source in export.sources] == [e[SOURCE_KEY] for e in expected]
    rows = intake_rows(export)
    assert rows == expected
    assert all(HELD_REASON_KEY not in row for row in rows)
    # the text the warehouse keeps for each row is the standard library's sorted-keys JSON of the expected dict
    assert [row_json(row) for row in rows] == [json.dumps(e, sort_keys=True) for e in expected]


def test_odd_export_reads_as_the_docs_say(tmp_path: Path) -> None:
    """BOM, CRLF, reordered and missing columns, quoted commas and line breaks, padding, empty lines, ``.CSV``."""
    text = _odd_text(_synthetic_rows(), blank_only_line=False)
    # Spot checks worked out by hand: the header is line 1, line 2 is empty, the first record (a quoted line
    # break: number 0 is a multiple of 11) spans lines 3-4, an empty line follows it (0 is a multiple of 13).
    expected = _expected(text, "EXPORT.CSV", numbered_rows=False)
    assert [e[SOURCE_KEY] for e in expected[:2]] == ["EXPORT.CSV line 3", "EXPORT.CSV line 6"]
    _check(tmp_path / "EXPORT.CSV", text, numbered_rows=False)


def test_line_of_blanks_numbers_rows(tmp_path: Path) -> None:
    """A line of blanks only: pandas skips it, the csv module does not, so rows are numbered, not lined."""
    _check(tmp_path / "blanks.csv", _odd_text(_synthetic_rows(), blank_only_line=True), numbered_rows=True)
