"""Exactly-once effect over a plain file drop (DESIGN.md §6, docs/delivery-guarantees.md).

Upload: the interchange's name and ISA13 are already fixed in the ledger (staged). The ledger moves to
``uploading`` before the first byte; the bytes go to ``NAME.part``, the size is checked, the part is
renamed into place, and the ledger moves to ``uploaded``. A rerun of an ``uploading`` interchange
reconciles with the server: the final file with the right size means it arrived; a ``.part`` leftover is
removed and the very same bytes are sent again. Where the clearinghouse took the file away the moment it
landed, the rerun cannot tell, resends the same bytes, and the clearinghouse's duplicate check answers with
a TA1 (note 025), which ingest records as "already received".

Collect: each inbox file is downloaded (temp file, size check, fsync, rename), recorded by sha256, kept under
its stored name (its name and its sha256, so a payer reusing ``ERA.835`` never replaces an earlier file),
loaded in one transaction with its ``loaded`` mark, and only then moved to the remote archive under the
same stored name, never replacing an archive entry.

Both passes take a ``guard``: called before each remote rename (upload) and each archive move (collect),
it raises ``RunFailure`` when this run no longer holds the clearinghouse lease, so nothing remote happens.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine

from connectors.clearinghouse.transport import (
    HostileRemoteName,
    RemoteFile,
    Transport,
    fsync_directory,
    join_remote,
    validate_remote_name,
)
from revcycle import progress
from revcycle.claim_versions import record_submission
from revcycle.errors import LedgerConflict, TransientError
from revcycle.responses import LoadSummary, RefusedSet
from revcycle.warehouse.ingest import file_sha256
from revcycle.warehouse.ledger import (
    InterchangeRecord,
    interchanges_to_upload,
    mark_source_file_archived,
    register_source_file,
    set_interchange_state,
    stored_file_name,
    utcnow,
)

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
# A download waits under this prefix (in inbound/) until its hash, and so its stored name, is known.
INCOMING_PREFIX = ".incoming."
# How many ``.N`` suffixes the archive move tries beside a foreign file under the stored name.
ARCHIVE_SUFFIXES = 99

Guard = Callable[[], None]
"""Raises (``RunFailure``) when the run may no longer act on the clearinghouse; called before remote moves."""


def _check(guard: Guard | None) -> None:
    # Without a guard (the delivery procedure used on its own, as in its tests) there is no lease to check.
    if guard is not None:
        guard()


@dataclass
class UploadReport:
    """What one upload pass did, by interchange file name (no PHI)."""

    uploaded: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)


def _record_submitted(conn: Connection, record: InterchangeRecord) -> None:
    set_interchange_state(conn, record.id, "uploaded")
    record_submission(conn, record.id, record.file_name, utcnow())


def _read_staged(outbound_dir: Path, record: InterchangeRecord) -> bytes:
    path = outbound_dir / record.file_name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LedgerConflict(
            f"interchange {record.file_name} is in the ledger but missing from {outbound_dir.name}/; "
            "restore the file from backup before rerunning (its ISA13 is already fixed)"
        ) from None
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise LedgerConflict(f"interchange {record.file_name} on disk differs from the ledger's sha256")
    return data


def upload_interchanges(
    engine: Engine,
    transport: Transport,
    *,
    outbound_dir: Path,
    upload_dir: str,
    crash_hook: Callable[[str, str], None] | None = None,
    guard: Guard | None = None,
) -> UploadReport:
    """Upload every staged or interrupted interchange, reconciling interrupted ones with the server first.

    ``crash_hook(step, file_name)`` is called between steps; tests use it to kill the process there.
    ``guard()`` runs before each interchange's first remote step and again before its rename into the upload
    folder (the step the clearinghouse acts on).
    """
    report = UploadReport()
    with engine.connect() as conn:
        pending = interchanges_to_upload(conn)
    progress.begin(progress.FILES_UPLOADED, len(pending))
    for record in pending:
        data = _read_staged(outbound_dir, record)
        final = join_remote(upload_dir, record.file_name)
        part = final + PART_SUFFIX
        _check(guard)
        if record.state == "uploading":
            remote = transport.stat(final)
            if remote is not None and remote.size == record.size:
                with engine.begin() as conn:
                    _record_submitted(conn, record)
                report.reconciled.append(record.file_name)
                log.info("interchange %s found on the server; recorded as uploaded", record.file_name)
                progress.advance(progress.FILES_UPLOADED)
                continue
            if transport.stat(part) is not None:
                transport.remove(part)
            report.resent.append(record.file_name)
        else:
            with engine.begin() as conn:
                set_interchange_state(conn, record.id, "uploading")
        if crash_hook:
            crash_hook("before_write", record.file_name)
        transport.write(part, data)
        written = transport.stat(part)
        if written is None or written.size != record.size:
            raise TransientError(f"{record.file_name}.part has the wrong size on the server; will resend")
        if crash_hook:
            crash_hook("before_rename", record.file_name)
        _check(guard)
        transport.rename(part, final)
        if crash_hook:
            crash_hook("after_rename", record.file_name)
        with engine.begin() as conn:
            _record_submitted(conn, record)
        if crash_hook:
            crash_hook("after_ledger", record.file_name)
        report.uploaded.append(record.file_name)
        log.info("uploaded interchange %s (%d claims)", record.file_name, record.claim_count)
        progress.advance(progress.FILES_UPLOADED)
    progress.end(progress.FILES_UPLOADED)
    return report


ResponseLoader = Callable[[Connection, int, Path, str], LoadSummary]
"""Loads one received file (its path, name as received) in the caller's transaction, marking it loaded."""


@dataclass
class CollectReport:
    """What one collect pass did (file names, kinds and refused transaction sets only).

    ``loaded`` holds (name as received, kind); ``stored`` maps each name as received to the name the file is
    kept under in ``inbound/`` and the remote archive (the last one, when a name came twice).
    """

    loaded: list[tuple[str, str]] = field(default_factory=list)
    skipped_duplicates: list[str] = field(default_factory=list)
    refused_names: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)
    refused_sets: list[tuple[str, RefusedSet]] = field(default_factory=list)


def _escaped(name: str) -> str:
    # Refused names come from outside: shown escaped (no control characters reach a log) and cut short.
    return name.encode("unicode_escape").decode("ascii")[:80]


def _safe_listing(transport: Transport, inbox_dir: str, report: CollectReport) -> list[RemoteFile]:
    for name in transport.refused_entries(inbox_dir):
        report.refused_names.append(_escaped(name))
    safe = []
    for remote in sorted(transport.list_dir(inbox_dir), key=lambda f: f.name):
        try:
            validate_remote_name(remote.name)
        except HostileRemoteName:
            report.refused_names.append(_escaped(remote.name))
            continue
        if remote.name.endswith(PART_SUFFIX) or remote.name.startswith("."):
            continue
        safe.append(remote)
    if report.refused_names:
        log.warning(
            "refused %d inbound entries with unsafe names or types; left on the server, nothing written",
            len(report.refused_names),
        )
    return safe


def _remove_stale_downloads(inbound_local_dir: Path) -> None:
    # A process killed mid-download leaves the temporary file of atomic_local_write, or a whole download not
    # yet under its stored name; never a stored name (the rerun downloads the file again).
    for pattern in (".*.tmp", f"{INCOMING_PREFIX}*"):
        for stale in inbound_local_dir.glob(pattern):
            stale.unlink(missing_ok=True)


def _archive(transport: Transport, remote_path: str, archive_dir: str, stored: str, digest: str, size: int) -> str:
    """Move the inbox file into the archive under its stored name, never replacing an archive entry.

    When the stored name is taken by the very same bytes (read back and compared by sha256), the file is
    archived already: the inbox copy is removed. A different file under that name (put there by someone
    else) is left alone, and the file goes beside it as ``NAME.1``, ``NAME.2`` ... Returns the archive path.
    """
    for suffix in ("", *(f".{n}" for n in range(1, ARCHIVE_SUFFIXES + 1))):
        target = join_remote(archive_dir, stored + suffix)
        try:
            transport.rename_no_replace(remote_path, target)
            return target
        except FileExistsError:
            existing = transport.stat(target)
            same_size = existing is not None and existing.size == size
            if same_size and hashlib.sha256(transport.read(target)).hexdigest() == digest:
                transport.remove(remote_path)
                return target
    raise LedgerConflict(
        f"archive/{stored} and {ARCHIVE_SUFFIXES} suffixed names are taken by other files; "
        "move them out of the remote archive folder and rerun"
    )


def _keep_locally(incoming: Path, inbound_local_dir: Path, stored: str) -> None:
    """Put a finished download under its stored name (the same bytes if a copy is there already)."""
    os.replace(incoming, inbound_local_dir / stored)
    fsync_directory(inbound_local_dir)


def collect_responses(
    engine: Engine,
    transport: Transport,
    *,
    inbox_dir: str,
    archive_dir: str | None,
    inbound_local_dir: Path,
    load: ResponseLoader,
    crash_hook: Callable[[str, str], None] | None = None,
    guard: Guard | None = None,
) -> CollectReport:
    """Download, record, load and archive every file in the inbox; a file loaded before is not loaded again.

    Each file is kept in ``inbound_local_dir`` and archived remotely under ``stored_file_name`` (its name and
    its sha256): two different files sent under one name both survive, byte for byte. ``guard()`` runs before
    each archive move.
    """
    report = CollectReport()
    inbound_local_dir.mkdir(parents=True, exist_ok=True)
    inbound_local_dir.chmod(0o700)
    _remove_stale_downloads(inbound_local_dir)
    if archive_dir:
        transport.makedirs(archive_dir)
    listing = _safe_listing(transport, inbox_dir, report)
    progress.begin(progress.FILES_DOWNLOADED, len(listing))
    for remote in listing:
        remote_path = join_remote(inbox_dir, remote.name)
        incoming = inbound_local_dir / f"{INCOMING_PREFIX}{remote.name}"
        # The download goes to disk in chunks (created 0600); the file is hashed and loaded from there,
        # never held whole in memory.
        transport.download(remote_path, incoming)
        incoming.chmod(0o600)
        digest, size = file_sha256(incoming)
        if crash_hook:
            crash_hook("after_download", remote.name)
        with engine.begin() as conn:
            entry = register_source_file(
                conn,
                kind="unknown",
                name=remote.name,
                sha256=digest,
                size=size,
                origin="sftp",
                stored_name=stored_file_name(remote.name, digest),
            )
            stored = entry.stored_name or stored_file_name(remote.name, digest)
            _keep_locally(incoming, inbound_local_dir, stored)
            report.stored[remote.name] = stored
            if entry.already_loaded:
                report.skipped_duplicates.append(remote.name)
            else:
                summary = load(conn, entry.id, inbound_local_dir / stored, remote.name)
                report.loaded.append((remote.name, summary.kind))
                report.refused_sets.extend((remote.name, item) for item in summary.refused)
        if crash_hook:
            crash_hook("after_load", remote.name)
        if archive_dir:
            _check(guard)
            _archive(transport, remote_path, archive_dir, stored, digest, size)
            with engine.begin() as conn:
                mark_source_file_archived(conn, entry.id)
            report.archived.append(remote.name)
        progress.advance(progress.FILES_DOWNLOADED)
    progress.end(progress.FILES_DOWNLOADED)
    return report
