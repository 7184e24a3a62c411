"""The CSV contract export behind the reader interface: a thin adapter over ``csv_export.read_charge_export``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.ehr.base import ContractRow, ExportRows, SourceRef
from connectors.ehr.config import EhrConfig
from connectors.ehr.csv_export import read_charge_export
from revcycle.charge_export import COLUMN_NAMES

NAME = "csv"


class CsvReader:
    """Our own CSV contract (docs/charge-export.md): a header naming ``charge_id`` and the other columns."""

    name: str = NAME
    suffixes: tuple[str, ...] = (".csv", ".txt")

    def recognises(self, head: bytes) -> bool:
        """The first line is a comma-separated header naming ``charge_id``."""
        first = head.split(b"\n", 1)[0]
        names = [name.strip().strip('"').lower() for name in first.decode("utf-8", "replace").split(",")]
        return "charge_id" in names

    def read(self, path: Path, config: EhrConfig) -> ExportRows:
        """Read the export (the header checked by ``read_charge_export``); CSV rows are never held here."""
        export = read_charge_export(path)
        out = ExportRows(path=path, format=NAME, sha256=export.sha256, size=export.size)
        count = len(export.frame)
        lines = record_lines(path)
        if len(lines) != count:  # the csv module and pandas disagree on an odd file: count rows instead
            positions = [f"row {number}" for number in range(1, count + 1)]
        else:
            positions = [f"line {line}" for line in lines]
        columns = [column_values(export.frame[name]) for name in COLUMN_NAMES]
        out.rows.extend(map(ContractRow, zip(*columns, strict=True)))
        name = path.name
        out.sources.extend(SourceRef(name, position) for position in positions)
        out.units_in = count
        return out


def column_values(column: pd.Series) -> list[str]:
    """A text column as Python strings, one object per distinct value (a night repeats payers, dates, codes).

    Converting each distinct value once, then taking them by position, costs a fraction of converting cell by
    cell, and the rows share the strings instead of holding a copy each.
    """
    codes, distinct = pd.factorize(column)
    values: list[str] = np.asarray(distinct, dtype=object).take(codes).tolist()
    return values


def record_lines(path: Path) -> list[int]:
    """The line on which each charge line starts (the header is not one), blank lines skipped as pandas does.

    A quoted value may span lines, so the line of a record is counted by the csv module, not by its index.
    """
    starts: list[int] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        previous_end = 0
        for record in reader:
            if record:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    return starts[1:]
