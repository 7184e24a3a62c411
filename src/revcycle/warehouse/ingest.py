"""Load response files that arrived some other way (a portal download, an e-mailed file) like the flow does.

Each file is streamed from disk (never read whole), recorded by sha256 and loaded in its own transaction
together with its ``loaded`` mark; a file loaded before is skipped, and a remittance whose payer trace number
was posted before is not posted again.
A transaction set that is cut, miscounted or in a broken group or interchange is refused and listed in the
outcome (``refused_sets``); the file's other sets post.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from revcycle.file_sniff import describe_unloadable
from revcycle.remittance_load import RemittanceObserver
from revcycle.responses import RESPONSE_TABLES, LoadSummary, RefusedSet, detect_kind, load_response
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.statistics import refresh_statistics

log = logging.getLogger(__name__)

LOADABLE_KINDS = frozenset({"835", "999", "277CA", "TA1"})


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one file: loaded, skipped (seen before), refused (not a response, or every
    transaction set refused) or failed; ``refused_sets`` lists the sets that did not post."""

    name: str
    outcome: str
    kind: str
    summary: LoadSummary | None = None
    reason: str = ""

    @property
    def refused_sets(self) -> tuple[RefusedSet, ...]:
        """The file's transaction sets that were refused (none when it was not loaded)."""
        return self.summary.refused if self.summary is not None else ()


_SNIFF_BYTES = 1 << 20


def file_sha256(path: Path) -> tuple[str, int]:
    """The sha256 (hex) and the size of the file at ``path``, read in chunks."""
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        return digest, handle.tell()


def ingest_file(
    engine: Engine, path: Path, *, origin: str = "manual", observer: RemittanceObserver | None = None
) -> IngestOutcome:
    """Record and load one 835, 999, 277CA or TA1 file in one transaction, streaming it from ``path``.

    ``observer`` sees the claims of an 835 as they are read (the remittance checks).
    """
    kind = detect_kind(path)
    if kind not in LOADABLE_KINDS:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)  # enough to say what the file is; a refused file is not read whole
        unloadable = describe_unloadable(head, kind)
        return IngestOutcome(path.name, "refused", unloadable.kind, reason=unloadable.message)
    digest, size = file_sha256(path)
    with engine.begin() as conn:
        entry = register_source_file(conn, kind=kind, name=path.name, sha256=digest, size=size, origin=origin)
        if entry.already_loaded:
            return IngestOutcome(path.name, "skipped", kind, reason="loaded before (same sha256)")
        summary = load_response(conn, entry.id, path, path.name, observer)
    log.info(
        "ingested %s (%s): %d rows, %d problems, %d transaction sets refused",
        path.name,
        kind,
        summary.rows,
        summary.problems,
        len(summary.refused),
    )
    if summary.status == "refused":
        return IngestOutcome(path.name, "refused", kind, summary, reason="every transaction set refused")
    return IngestOutcome(path.name, "loaded", kind, summary)


def ingest_files(engine: Engine, paths: Iterable[Path], *, origin: str = "manual") -> list[IngestOutcome]:
    """Ingest each file; a file that fails to load is rolled back alone and reported, the others go on."""
    outcomes = []
    for path in paths:
        try:
            outcomes.append(ingest_file(engine, path, origin=origin))
        except (OSError, ValueError) as problem:
            log.warning("could not ingest %s: %s", path.name, type(problem).__name__)
            outcomes.append(IngestOutcome(path.name, "failed", "unknown", reason=type(problem).__name__))
    if any(item.outcome == "loaded" for item in outcomes):
        refresh_response_statistics(engine)
    return outcomes


def refresh_response_statistics(engine: Engine) -> None:
    """Refresh the planner statistics of the tables loading responses writes, once a batch of files is loaded.

    Once per batch (``revcycle ingest``'s files, a pickup's), not per file: each refresh reads a sample of every
    such table, whatever was loaded.
    """
    with engine.begin() as conn:
        refresh_statistics(conn, RESPONSE_TABLES)
