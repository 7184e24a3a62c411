"""An EHR export made ready for the nightly intake: listed, read by the reader its content names, and turned into
what ``revcycle.intake.record_intake`` takes.

Every format goes the same way after its reader: the reader's rows go to the charges gate (GX); the charges the
reader held itself (a broken message, an unmapped plan, a dangling reference, a credit ...) are quarantined like
rejected rows (suite ``ehr_reader``, the hold's rule), so their encounters are held too; the threshold counts
both. Each row kept in the warehouse carries where it came from (``source``: file and message or resource
position) beside the contract columns, and ``rejection_sources`` names it for every quarantined charge.
Positions and reasons name files, segments, fields and element paths, never values (no PHI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.ehr.base import HOLD_CORRECTION, ExportRows, HeldCharge
from connectors.ehr.config import EhrConfig, load_ehr_config
from connectors.ehr.csv_export import UnreadableExport
from connectors.ehr.files import file_head
from connectors.ehr.registry import detect_reader, export_suffixes, registered_readers
from revcycle import exports
from revcycle.charge_export import COLUMN_NAMES
from revcycle.charge_row import ChargeRow, RowLayout
from revcycle.intake import ChargeRejection

READER_SUITE = "ehr_reader"
SOURCE_KEY = "source"
"""The key under which a stored row (``charge.row_json``) keeps its file and position; not a contract column."""
HELD_REASON_KEY = "held_reason"
# Extensions ordinary text files have too: such a file is read only when its content is a known format, else it
# is reported as not read (like any other extension), never refused and moved.
AMBIGUOUS_SUFFIXES = frozenset({".txt", ".dat"})
_WHAT_IS_HELD = {"hl7": "DFT message", "fhir": "FHIR resource", "csv": "CSV line"}
_FORMAT_NAMES = {"hl7": "HL7 v2", "fhir": "FHIR"}
_SHOWN_SOURCES = 500


def _known_content(path: Path) -> bool:
    try:
        head = file_head(path)
    except OSError:
        return False
    return any(reader.recognises(head) for reader in registered_readers().values())


def list_exports(export_dir: Path) -> exports.ExportListing:
    """The exports waiting in ``export_dir``: files with an extension some reader takes (case-blind), by name.

    A ``.txt`` or ``.dat`` file whose content is no known format joins the files not read.
    """
    listing = exports.discover_exports(export_dir, extensions=tuple(sorted(export_suffixes())))
    listed: list[Path] = []
    unread = list(listing.unread)
    for path in listing.exports:
        if path.suffix.lower() in AMBIGUOUS_SUFFIXES and not _known_content(path):
            unread.append(path)
        else:
            listed.append(path)
    return exports.ExportListing(listed, sorted(unread, key=lambda p: p.name))


def read_for_intake(path: Path, *, config_path: Path | None = None, workdir: Path | None = None) -> ExportRows:
    """Read one export with the reader its content names; the EHR configuration is loaded only for a feed.

    Raises ``UnreadableExport`` (with its refusal) when no reader knows the content, the reader cannot read
    the file, or the file holds no charge line at all.
    """
    reader = detect_reader(path)
    config = EhrConfig() if reader.name == "csv" else load_ehr_config(config_path, workdir=workdir)
    export = reader.read(path, config)
    if export.units_in == 0:
        raise UnreadableExport(path.name, exports.no_charges_found(_FORMAT_NAMES.get(export.format, export.format)))
    return export


def held_charge_id(export: ExportRows, index: int, held: HeldCharge) -> str:
    """The charge id a held charge is quarantined under: its own, else one made from the file and its place."""
    return held.charge_id or f"unread-{export.sha256[:16]}-{index + 1}"


_ROW_LAYOUT = RowLayout(COLUMN_NAMES, (SOURCE_KEY,))
_HELD_ROW_LAYOUT = RowLayout(COLUMN_NAMES, (SOURCE_KEY, HELD_REASON_KEY))


def intake_rows(export: ExportRows) -> list[ChargeRow]:
    """The rows to record: every mapped row, then each held charge whose encounter is known, with its source.

    A held charge whose id is already a row's is not added again (its rejection quarantines that row); one
    whose encounter could not be read is recorded as a rejection only, so it holds no made-up claim. Rows share
    their column names (``ChargeRow``): a dict per row would hold about 3.4 KB; these share the reader's tuples.
    """
    # each row keeps the reader's tuple of values (shared, not copied) and its source as text
    rows = [
        _ROW_LAYOUT.row(row.as_tuple(), (str(source),)) for row, source in zip(export.rows, export.sources, strict=True)
    ]
    seen = {row["charge_id"] for row in rows}
    for index, held in enumerate(export.held):
        charge_id = held_charge_id(export, index, held)
        mapped = held.row or {}
        if charge_id in seen or not mapped.get("encounter_id"):
            continue
        values = {name: str(mapped.get(name, "")) for name in COLUMN_NAMES} | {"charge_id": charge_id}
        rows.append(_HELD_ROW_LAYOUT.row([values[name] for name in COLUMN_NAMES], (str(held.source), held.reason)))
        seen.add(charge_id)
    return rows


def held_rejections(export: ExportRows) -> list[ChargeRejection]:
    """One quarantining rejection per charge the reader held (suite ``ehr_reader``, rule the hold's rule)."""
    return [
        ChargeRejection(
            charge_id=held_charge_id(export, index, held),
            suite=READER_SUITE,
            rule=held.rule,
            expectation=f"{export.format} reader",
            column=None,
            severity="error",
        )
        for index, held in enumerate(export.held)
    ]


@dataclass(frozen=True)
class DefectShare:
    """What the reject threshold judges: lines flagged (gate errors and reader holds) of lines read."""

    flagged: int
    evaluated: int
    failing_rules: list[tuple[str, str, int]]  # (rule, column or what was held, lines), most first

    @property
    def share(self) -> float:
        """Flagged lines over lines read (0 when none was read)."""
        return self.flagged / self.evaluated if self.evaluated else 0.0


def defect_share(export: ExportRows, gate_rejected: int, gate_failing: Sequence[tuple[str, str, int]]) -> DefectShare:
    """The flagged share of an export: gate-rejected rows plus held charges; credits and adjustments held for
    the correction rules are no defect, so they count as read but not as flagged."""
    holds: dict[str, int] = {}
    for held in export.held:
        if held.rule != HOLD_CORRECTION:
            holds[held.rule] = holds.get(held.rule, 0) + 1
    what = _WHAT_IS_HELD.get(export.format, "record")
    failing = list(gate_failing) + [(rule, f"the {what}", count) for rule, count in holds.items()]
    failing.sort(key=lambda item: (-item[2], item[0], item[1]))
    return DefectShare(gate_rejected + sum(holds.values()), len(export.rows) + len(export.held), failing)


def rejection_sources(export: ExportRows, rejections: Sequence[ChargeRejection]) -> list[dict[str, str]]:
    """One line per quarantined charge and rule: charge id, suite, rule, column and where in the file it was."""
    where = {row["charge_id"]: str(source) for row, source in zip(export.rows, export.sources, strict=True)}
    where |= {held_charge_id(export, i, h): str(h.source) for i, h in enumerate(export.held)}
    lines = [
        {
            "charge_id": r.charge_id,
            "suite": r.suite,
            "rule": r.rule,
            "column": r.column or "",
            "source": where.get(r.charge_id, export.path.name),
        }
        for r in rejections
        if r.severity == "error"
    ]
    return lines[:_SHOWN_SOURCES]
