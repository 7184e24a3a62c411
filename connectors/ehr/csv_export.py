"""The CSV charge export reader: every column as text, header checked against the contract."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from revcycle.charge_export import COLUMN_NAMES, REQUIRED_COLUMNS
from revcycle.errors import RunFailure

NAME = "csv"


class UnreadableExport(RunFailure):
    """The export cannot be read as the charge contract; the file is kept for the operator."""


@dataclass(frozen=True)
class ChargeExport:
    """One export file read into text columns, with its content hash for the ledger."""

    path: Path
    sha256: str
    size: int
    frame: pd.DataFrame


def file_sha256(path: Path) -> str:
    """The sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_charge_export(path: Path) -> ChargeExport:
    """Read a CSV charge export; a missing column or an unreadable file is a clear error (file kept)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as problem:
        raise UnreadableExport(
            f"{path.name} is not a readable CSV charge export ({type(problem).__name__}); "
            "fix or replace the file and rerun: nothing from it was loaded"
        ) from None
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise UnreadableExport(f"{path.name} lacks required columns {', '.join(missing)}; see docs/charge-export.md")
    for name in COLUMN_NAMES:
        if name not in frame.columns:
            frame[name] = ""
    frame = frame[list(COLUMN_NAMES)].map(str.strip)
    return ChargeExport(path=path, sha256=file_sha256(path), size=path.stat().st_size, frame=frame)
