"""The export folder: which files are charge exports, and how an export that cannot be used is refused.

An export that cannot be read into the charge contract (empty, no charge lines, not text, not UTF-8, not CSV,
required columns missing, none of the EHR formats, a feed without charges) or whose rejected share passes the
threshold is **refused**: recorded in the
``source_file`` ledger with status ``refused`` and its reason, then moved to ``exports/refused/`` (folder 0700,
file 0600) with ``NAME.reason.txt`` beside it saying what is wrong and what to do. The rest of the night goes
on. A corrected file (new content) put back in the export folder is read by the next run like any other.
Reasons name files, columns, rules and counts, never a value from the file (they are PHI).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, update

from revcycle.warehouse.schema import source_file

EXPORT_EXTENSIONS: tuple[str, ...] = (".csv",)
"""Extensions read as charge exports when the caller names none, compared case-blind (Windows EHRs write ``.CSV``).

The nightly flow passes the extensions of every registered EHR reader (``connectors.ehr.intake.list_exports``)."""
REFUSED_FOLDER = "refused"
REASON_SUFFIX = ".reason.txt"
_DETAIL_LENGTH = 500  # source_file.detail
_CORRECTED = (
    "Put the corrected export in the exports folder (the folder above this one): the next run reads it "
    "like any new file. Nothing from this file was loaded."
)


@dataclass(frozen=True)
class ExportListing:
    """What the export folder holds: the exports to read, and the files whose extension is not read."""

    exports: list[Path]
    unread: list[Path]


def is_export_name(name: str, extensions: Sequence[str] = EXPORT_EXTENSIONS) -> bool:
    """True when a file of this name is read as a charge export (one of ``extensions``, in any case)."""
    return name.lower().endswith(tuple(extension.lower() for extension in extensions))


def discover_exports(export_dir: Path, extensions: Sequence[str] = EXPORT_EXTENSIONS) -> ExportListing:
    """The files waiting in ``export_dir`` (not its subfolders), by name: exports (``extensions``, any case),
    and files we do not read."""
    if not export_dir.is_dir():
        return ExportListing([], [])
    files = sorted((p for p in export_dir.iterdir() if p.is_file()), key=lambda p: p.name)
    return ExportListing(
        exports=[p for p in files if is_export_name(p.name, extensions)],
        unread=[p for p in files if not is_export_name(p.name, extensions)],
    )


@dataclass(frozen=True)
class ExportRefusal:
    """Why an export is refused: what is wrong and what to do (file structure, columns, counts; no values)."""

    problem: str
    remedy: str

    @property
    def detail(self) -> str:
        """The one-line reason kept in ``source_file.detail`` and logged."""
        return f"{self.problem} {self.remedy}"


def empty_file() -> ExportRefusal:
    """The file holds no bytes (or only blank lines)."""
    return ExportRefusal(
        "The file is empty: no header row and no charge lines.",
        "Run the charge export again in the EHR; if there were no charges, no file is needed.",
    )


def no_charge_lines() -> ExportRefusal:
    """The file holds the header row and nothing else."""
    return ExportRefusal(
        "The file has a header row but no charge lines.",
        "If the EHR had charges for this period, run the export again; if it had none, delete the file "
        "(an export with no lines is refused like an empty one, so a failed export never looks like a quiet day).",
    )


def no_charges_found(what: str) -> ExportRefusal:
    """An EHR feed file (HL7, FHIR) holds no charge at all: no FT1 segment, no ChargeItem or Claim item."""
    return ExportRefusal(
        f"The file is a {what} feed but holds no charge (no FT1 segment, ChargeItem or Claim item).",
        "Check that the EHR interface sends charges (DFT^P03 messages, FHIR ChargeItem or Claim) to this folder; "
        "if there were no charges, no file is needed.",
    )


def not_fhir_json() -> ExportRefusal:
    """A file that starts like FHIR JSON but is not valid JSON (cut short, or not UTF-8)."""
    return ExportRefusal(
        "The file starts like a FHIR JSON document but is not valid JSON (cut short, or not UTF-8 text).",
        "Have the EHR write the Bundle again, whole and as UTF-8; nothing from this file was loaded.",
    )


def fhir_not_one_object() -> ExportRefusal:
    """A FHIR JSON document that is not one object (a list, a number ...)."""
    return ExportRefusal(
        "The file is JSON but not one FHIR object: a document must be a Bundle or a single resource.",
        "Send a Bundle (collection or transaction), one resource, or bulk-data NDJSON (docs/ehr-feeds.md).",
    )


def not_text() -> ExportRefusal:
    """The file holds binary content (NUL bytes): a spreadsheet, an archive, a PDF ..."""
    return ExportRefusal(
        "The file is not a text CSV file (it holds binary content, e.g. an Excel workbook or an archive).",
        "Export the charges as CSV (comma separated, UTF-8) instead.",
    )


def utf16() -> ExportRefusal:
    """The file is UTF-16 text (Excel's 'Unicode text')."""
    return ExportRefusal(
        "The file is UTF-16 text, not UTF-8.",
        "Save or export it as 'CSV UTF-8' (comma separated).",
    )


def not_utf8() -> ExportRefusal:
    """The bytes are not valid UTF-8."""
    return ExportRefusal(
        "The file is not UTF-8 text (some bytes are not valid UTF-8, e.g. a Windows-1252 export).",
        "Save or export it as 'CSV UTF-8' (comma separated).",
    )


def not_csv(line: int | None) -> ExportRefusal:
    """The CSV structure is broken (a row with more fields than the header, an open quote ...)."""
    where = f" (first problem near line {line})" if line is not None else ""
    return ExportRefusal(
        f"The file is not a well-formed CSV file{where}: a row has more fields than the header, or a quote is "
        "never closed.",
        "Fix the EHR export so every row has the header's columns, separated by commas, values with commas quoted.",
    )


def unknown_format() -> ExportRefusal:
    """No EHR reader recognises the content: not CSV with the contract header, HL7 v2 or FHIR."""
    return ExportRefusal(
        "The file is none of the known export formats (CSV with a charge_id header, HL7 v2 starting with "
        "MSH/FHS/BHS, FHIR JSON or NDJSON).",
        "Check what the EHR interface writes into the export folder (docs/ehr-feeds.md); send one of those formats.",
    )


def missing_columns(missing: Sequence[str], *, none_found: bool) -> ExportRefusal:
    """Required columns of the contract are absent from the header (``none_found``: none of them is there)."""
    if none_found:
        return ExportRefusal(
            "The header row names none of the charge contract's required columns "
            "(is the file comma separated, with the header on the first line?).",
            "Export with the column names of docs/charge-export.md, comma separated, header on the first line.",
        )
    return ExportRefusal(
        f"The header lacks the required column(s) {', '.join(missing)}.",
        "Add the column(s) to the EHR export (names and meaning in docs/charge-export.md) and export again.",
    )


def over_threshold(
    rejected: int, evaluated: int, threshold: float, failing_rules: Sequence[tuple[str, str, int]]
) -> ExportRefusal:
    """Too many lines failed validation: ``failing_rules`` are (rule, column, failing lines), most first."""
    share = rejected / evaluated if evaluated else 0.0
    rules = ", ".join(f"{rule} on {column} ({count})" for rule, column, count in failing_rules[:8])
    more = f" and {len(failing_rules) - 8} more" if len(failing_rules) > 8 else ""
    return ExportRefusal(
        f"{rejected} of {evaluated} charge lines ({share:.1%}) failed validation, above the {threshold:.0%} "
        f"threshold (REVCYCLE_REJECT_THRESHOLD): a whole export this broken is more likely a broken extract "
        f"than bad charges. Failing rules (lines): {rules}{more}.",
        "Fix the export (the charge-validation artifact and docs/charge-export.md name the rules), and export again.",
    )


@dataclass(frozen=True)
class RefusedExport:
    """An export set aside: its name, where it and its reason file now are, and why.

    ``moved`` is False when the export folder would not let the file be moved (a read-only share): the
    file stays where it was, ``reason_file`` is None, and the next run refuses it again.
    """

    name: str
    moved_to: Path
    reason_file: Path | None
    refusal: ExportRefusal
    moved: bool = True


def reason_text(name: str, refusal: ExportRefusal, refused_at: datetime) -> str:
    """The content of ``NAME.reason.txt``: what is wrong and what to do (no values from the file)."""
    return (
        f"Refused charge export: {name}\n"
        f"Refused at: {refused_at.isoformat(timespec='seconds')}\n"
        "\n"
        f"What is wrong: {refusal.problem}\n"
        "\n"
        f"What to do: {refusal.remedy} {_CORRECTED}\n"
        "This file and its reason can be deleted once the corrected export has been loaded.\n"
    )


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as left, b.open("rb") as right:
        while True:
            chunk = left.read(1 << 20)
            if chunk != right.read(1 << 20):
                return False
            if not chunk:
                return True


def refused_folder(export_dir: Path) -> Path:
    """``export_dir/refused``, created 0700 (a refused export holds PHI)."""
    folder = export_dir / REFUSED_FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    return folder


def refuse_export(
    engine: Engine,
    path: Path,
    *,
    refusal: ExportRefusal,
    source_file_id: int,
    sha256: str,
    refused_at: datetime,
) -> RefusedExport:
    """Refuse the export at ``path`` (already registered as ``source_file_id``): ledger first, then the move.

    The ledger row gets status ``refused`` and the reason; then the reason file is written and the export
    moved beside it. A crash in between leaves the export where it was, and the next run refuses it again.
    An earlier refused file of the same name is never overwritten: the new one is named after its content.
    """
    with engine.begin() as conn:
        conn.execute(
            update(source_file)
            .where(source_file.c.id == source_file_id)
            .values(status="refused", detail=refusal.detail[:_DETAIL_LENGTH])
        )
    try:
        folder = refused_folder(path.parent)
        target = folder / path.name
        if target.exists() and not _same_content(target, path):
            target = folder / f"{path.stem}.{sha256[:12]}{path.suffix}"
        reason_file = target.with_name(target.name + REASON_SUFFIX)
        _write_private(reason_file, reason_text(path.name, refusal, refused_at))
        if target.exists():
            path.unlink()  # the very same content is already there
        else:
            path.rename(target)
        target.chmod(0o600)
    except OSError:
        # The refusal stands (ledger, log, run result); only the move failed, and nothing was loaded.
        return RefusedExport(name=path.name, moved_to=path, reason_file=None, refusal=refusal, moved=False)
    return RefusedExport(name=path.name, moved_to=target, reason_file=reason_file, refusal=refusal)
