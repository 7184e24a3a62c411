"""The CSV charge export reader: every column as text, header checked against the contract.

A file that cannot be read as the contract raises ``UnreadableExport`` carrying the refusal (what is wrong,
what to do): the intake task refuses that one file and the night goes on (``revcycle.exports``).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from revcycle import exports
from revcycle.charge_export import COLUMN_NAMES, REQUIRED_COLUMNS
from revcycle.errors import RevcycleError

NAME = "csv"
_SNIFF_BYTES = 1 << 16
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_PANDAS_LINE = re.compile(r"\bline (\d+)\b")


class UnreadableExport(RevcycleError):
    """The export cannot be read as the charge contract: that file is refused, the rest of the night goes on."""

    def __init__(self, name: str, refusal: exports.ExportRefusal) -> None:
        super().__init__(f"{name}: {refusal.problem}")
        self.refusal = refusal


@dataclass(frozen=True)
class ChargeExport:
    """One export file read into text columns, with its content hash for the ledger."""

    path: Path
    sha256: str
    size: int
    frame: pd.DataFrame


def file_sha256(path: Path) -> str:
    """The sha256 of a file's content, read in chunks."""
    return scan_export(path).sha256


@dataclass(frozen=True)
class ExportScan:
    """One pass over an export's bytes: its content hash and size, and what its bytes say about it."""

    sha256: str
    size: int
    head: bytes  # the first bytes, to recognise an empty, UTF-16 or binary file
    has_nul: bool  # a NUL byte anywhere: binary content, never a CSV value


def scan_export(path: Path) -> ExportScan:
    """Hash the file and look for NUL bytes in the same pass (before any parsing)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    has_nul = False
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if not head:
                head = chunk[:_SNIFF_BYTES]
            digest.update(chunk)
            size += len(chunk)
            has_nul = has_nul or b"\x00" in chunk
    return ExportScan(sha256=digest.hexdigest(), size=size, head=head, has_nul=has_nul)


def _check_bytes(name: str, scan: ExportScan) -> None:
    if not scan.head.strip():
        raise UnreadableExport(name, exports.empty_file())
    if scan.head.startswith(_UTF16_BOMS):
        raise UnreadableExport(name, exports.utf16())
    if scan.has_nul:
        raise UnreadableExport(name, exports.not_text())


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableExport(path.name, exports.not_utf8()) from None
    except pd.errors.EmptyDataError:
        raise UnreadableExport(path.name, exports.empty_file()) from None
    except (ValueError, csv.Error) as problem:  # pandas' ParserError is a ValueError
        # Only the line number is kept from the parser's message: the rest may quote the file.
        found = _PANDAS_LINE.search(str(problem))
        raise UnreadableExport(path.name, exports.not_csv(int(found.group(1)) if found else None)) from None


def read_charge_export(path: Path, scan: ExportScan | None = None) -> ChargeExport:
    """Read a CSV charge export; raises ``UnreadableExport`` (with its refusal) when it is not the contract.

    Refused: an empty file, a header without charge lines, binary or UTF-16 content, bytes that are not
    UTF-8, broken CSV structure, and a header lacking required columns. The header's own names are never
    repeated in a reason: a file without a header has data (PHI) on its first line. ``scan`` is the
    file's ``scan_export`` when the caller has it already (the file is then hashed once).
    """
    scan = scan or scan_export(path)
    _check_bytes(path.name, scan)
    frame = _read_frame(path)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        refusal = exports.missing_columns(missing, none_found=len(missing) == len(REQUIRED_COLUMNS))
        raise UnreadableExport(path.name, refusal)
    if frame.empty:
        raise UnreadableExport(path.name, exports.no_charge_lines())
    for name in COLUMN_NAMES:
        if name not in frame.columns:
            frame[name] = ""
    frame = frame[list(COLUMN_NAMES)]
    for name in COLUMN_NAMES:
        frame[name] = _stripped(frame[name])
    return ChargeExport(path=path, sha256=scan.sha256, size=scan.size, frame=frame)


def _stripped(column: pd.Series) -> pd.Series:
    """The column with every value stripped (``str.strip``), each distinct value stripped once.

    A night repeats its payers, dates and codes: stripping the distinct values and taking them back by
    position costs a fraction of stripping every cell, and a column with nothing to strip is kept as it is.
    """
    codes, distinct = pd.factorize(column)
    values = np.asarray(distinct, dtype=object)
    stripped = np.array([value.strip() for value in values], dtype=object)
    if (stripped == values).all():
        return column
    return pd.Series(stripped.take(codes), index=column.index, dtype=column.dtype, name=column.name)
