"""The CSV contract export behind the reader interface: a thin adapter over ``csv_export.read_charge_export``."""

from __future__ import annotations

from pathlib import Path

from connectors.ehr.base import ExportRows, SourceRef
from connectors.ehr.config import EhrConfig
from connectors.ehr.csv_export import read_charge_export

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
        for number, row in enumerate(export.frame.to_dict("records"), start=2):
            out.add_row({str(k): str(v) for k, v in row.items()}, SourceRef(path.name, f"line {number}"))
        out.units_in = len(out.rows)
        return out
