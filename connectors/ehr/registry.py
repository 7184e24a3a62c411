"""The EHR reader registry: every export format, picked by content (extensions only order the guess).

``read_export(path, config)`` is what the nightly flow calls for every file in the drop folder: it finds the
reader that recognises the file's first bytes and returns ``ExportRows``. A file no reader recognises is refused
with ``UnreadableExport`` (kept for the operator, like an unreadable CSV). Installed packages may add readers
through the ``revcycle.ehr_readers`` entry point group (each entry point names a reader object).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from connectors.ehr.base import EhrReader, ExportRows
from connectors.ehr.config import EhrConfig, load_ehr_config
from connectors.ehr.csv_export import UnreadableExport, read_charge_export
from connectors.ehr.csv_reader import CsvReader
from connectors.ehr.fhir_r4 import FhirReader
from connectors.ehr.files import file_head
from connectors.ehr.hl7_dft import Hl7DftReader
from revcycle import exports
from revcycle.errors import ConfigurationError

ENTRY_POINT_GROUP = "revcycle.ehr_readers"


class UnrecognisedExport(UnreadableExport):
    """No reader recognises the file's content; the file is kept for the operator."""


@cache
def registered_readers() -> dict[str, EhrReader]:
    """Every reader by name: CSV, HL7 v2 DFT^P03, FHIR R4, then installed entry points."""
    readers: dict[str, EhrReader] = {}
    for reader in (CsvReader(), Hl7DftReader(), FhirReader()):
        readers[reader.name] = reader
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        reader = entry.load()
        if not all(hasattr(reader, attribute) for attribute in ("name", "suffixes", "recognises", "read")):
            raise ConfigurationError(f"entry point {entry.name} does not name an EHR reader")
        if reader.name in readers:
            raise ConfigurationError(f"EHR reader {reader.name} is declared twice (again in {entry.name})")
        readers[reader.name] = reader
    return readers


def export_suffixes() -> frozenset[str]:
    """Every extension some reader usually comes with, lower case (the flow may list these; content decides)."""
    return frozenset(suffix for reader in registered_readers().values() for suffix in reader.suffixes)


def discover_exports(export_dir: Path) -> list[Path]:
    """The files in ``export_dir`` whose extension (matched case-blind) some reader takes, oldest name first."""
    suffixes = export_suffixes()
    return sorted(p for p in export_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def detect_reader(path: Path) -> EhrReader:
    """The reader whose format the file's content is; readers matching the extension are asked first."""
    head = file_head(path)
    readers = list(registered_readers().values())
    suffix = path.suffix.lower()
    readers.sort(key=lambda reader: suffix not in reader.suffixes)
    for reader in readers:
        if reader.recognises(head):
            return reader
    raise UnrecognisedExport(path.name, _why_unrecognised(path, head))


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _why_unrecognised(path: Path, head: bytes) -> exports.ExportRefusal:
    """The most telling refusal for a file no reader knows: what its bytes are, or why it is not our CSV."""
    if not head:
        return exports.empty_file()
    if head.startswith(_UTF16_BOMS):
        return exports.utf16()
    if b"\x00" in head:
        return exports.not_text()
    if path.suffix.lower() == ".csv":
        # A file named .csv is meant as our CSV: its header problem (missing columns, broken CSV) says more.
        try:
            read_charge_export(path)
        except UnreadableExport as unreadable:
            return unreadable.refusal
    return exports.unknown_format()


def read_export(path: Path, config: EhrConfig | None = None) -> ExportRows:
    """Read any export file into contract rows with their sources and the charges the reader held.

    ``config`` defaults to ``load_ehr_config()`` (``$REVCYCLE_EHR_CONFIG`` or the embedded demo defaults).
    """
    return detect_reader(path).read(path, config if config is not None else load_ehr_config())
