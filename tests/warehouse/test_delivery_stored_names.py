"""Issue 9, case 4: a response name reused by the payer (``ERA.835``) never destroys the earlier file.

Collect stores each file under its name and its sha256, locally and in the remote archive, and never removes
an archive entry; the original name stays in the ledger (``source_file.name``). In-memory transport here, on
SQLite and PostgreSQL; tests/e2e/test_openssh_response_names.py runs the same story against OpenSSH.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select
from warehouse_data import add_claim, cas, clp, remittance, svc, write_remittances

from connectors.clearinghouse.delivery import collect_responses
from connectors.clearinghouse.memory import MemoryTransport
from revcycle.responses import load_response
from revcycle.warehouse.ledger import stored_file_name
from revcycle.warehouse.schema import remittance as remittance_table
from revcycle.warehouse.schema import source_file

SERVED = date(2026, 6, 1)
INBOX, ARCHIVE = "responses", "archive"


def _era(control_number: int, trace: str, key: str) -> bytes:
    line = svc("99213", "100", "80", SERVED, cas("CO", "45", "20"))
    return write_remittances(
        control_number, remittance(trace, date(2026, 7, 1), (clp(key, "1", "100", "80", services=(line,)),))
    )


def _collect(engine: Engine, transport: MemoryTransport, inbound: Path) -> None:
    collect_responses(
        engine,
        transport,
        inbox_dir=INBOX,
        archive_dir=ARCHIVE,
        inbound_local_dir=inbound,
        load=load_response,
    )


def _remote(transport: MemoryTransport, folder: str) -> dict[str, bytes]:
    return {path.partition("/")[2]: data for path, data in transport.files.items() if path.startswith(f"{folder}/")}


def test_two_different_era_835_files_both_survive_byte_for_byte_and_both_load(
    warehouse: Engine, tmp_path: Path
) -> None:
    with warehouse.begin() as conn:
        add_claim(conn, "A1", "P1", [("99213", "100")], SERVED, SERVED)
        add_claim(conn, "B1", "P1", [("99213", "100")], SERVED, SERVED)
    first, second = _era(61, "TRACE-1", "A1"), _era(62, "TRACE-2", "B1")
    assert first != second
    transport = MemoryTransport()
    transport.makedirs(INBOX)
    inbound = tmp_path / "inbound"

    transport.files[f"{INBOX}/ERA.835"] = first
    _collect(warehouse, transport, inbound)
    transport.files[f"{INBOX}/ERA.835"] = second  # the next day, the payer reuses the name
    _collect(warehouse, transport, inbound)

    # locally: both files, byte for byte
    local = {p.name: p.read_bytes() for p in inbound.iterdir()}
    assert first in local.values(), "the first ERA.835 is gone from inbound/"
    assert sorted(local.values()) == sorted([first, second])
    # remotely: the inbox is empty and the archive holds both, byte for byte
    assert _remote(transport, INBOX) == {}
    archived = _remote(transport, ARCHIVE)
    assert first in archived.values(), "the first ERA.835 is gone from the remote archive"
    assert sorted(archived.values()) == sorted([first, second])
    # the ledger keeps the name they arrived under, and the name each is stored under (the same locally and
    # remotely): the content's sha256 between the name and its extension
    with warehouse.connect() as conn:
        rows = conn.execute(select(source_file.c.name, source_file.c.stored_name, source_file.c.status)).all()
        traces = sorted(conn.execute(select(remittance_table.c.trace_number)).scalars())
    expected = {f"ERA.{hashlib.sha256(data).hexdigest()}.835" for data in (first, second)}
    assert {row.stored_name for row in rows} == expected == set(local) == set(archived)
    assert [row.name for row in rows] == ["ERA.835", "ERA.835"]
    assert {row.status for row in rows} == {"loaded"}
    assert traces == ["TRACE-1", "TRACE-2"]


def test_the_same_file_sent_again_leaves_one_archived_copy_and_an_empty_inbox(
    warehouse: Engine, tmp_path: Path
) -> None:
    data = _era(71, "TRACE-7", "A7")
    transport = MemoryTransport()
    transport.makedirs(INBOX)
    inbound = tmp_path / "inbound"
    transport.files[f"{INBOX}/ERA.835"] = data
    _collect(warehouse, transport, inbound)
    transport.files[f"{INBOX}/ERA.835"] = data  # the clearinghouse delivers the very same bytes again
    _collect(warehouse, transport, inbound)

    assert _remote(transport, INBOX) == {}
    assert list(_remote(transport, ARCHIVE).values()) == [data]
    assert [p.read_bytes() for p in inbound.iterdir()] == [data]


def test_an_existing_archive_entry_is_never_removed(warehouse: Engine, tmp_path: Path) -> None:
    # Earlier files in the archive: one under the plain name (archived before stored names existed), and a
    # different file under the very name collect would archive to (someone else put it there).
    data = _era(81, "TRACE-8", "A8")
    stored = f"ERA.{hashlib.sha256(data).hexdigest()}.835"
    earlier, stranger = b"an earlier ERA.835", b"not ours" * 3
    transport = MemoryTransport()
    transport.makedirs(INBOX)
    transport.makedirs(ARCHIVE)
    transport.files[f"{ARCHIVE}/ERA.835"] = earlier
    transport.files[f"{ARCHIVE}/{stored}"] = stranger
    transport.files[f"{INBOX}/ERA.835"] = data

    _collect(warehouse, transport, tmp_path / "inbound")

    archived = _remote(transport, ARCHIVE)
    assert archived.get("ERA.835") == earlier, "an existing archive entry was replaced"
    assert archived.get(stored) == stranger, "an existing archive entry was replaced"
    assert sorted(archived.values()) == sorted([earlier, stranger, data])
    assert _remote(transport, INBOX) == {}


def test_stored_names_keep_the_extension_last_and_stay_within_255_bytes() -> None:
    digest = "ab" * 32
    assert stored_file_name("ERA.835", digest) == f"ERA.{digest}.835"
    assert stored_file_name("277CA_000000001.x12", digest) == f"277CA_000000001.{digest}.x12"
    assert stored_file_name("REMIT", digest) == f"REMIT.{digest}"  # no extension
    assert stored_file_name("a.tar.gz", digest) == f"a.tar.{digest}.gz"
    # an "extension" of 17 bytes is part of the name; the name is cut at a character to 170 bytes
    long_name = "é" * 200 + ".abcdefghijklmnopq"
    stored = stored_file_name(long_name, digest)
    assert stored.endswith(f".{digest}") and len(stored.encode("utf-8")) <= 170 + 65
    assert stored.encode("utf-8").decode("utf-8") == stored
    worst = stored_file_name("x" * 255 + ".abcdefghijklmnop", digest)
    assert len(worst.encode("utf-8")) + len(".99") <= 255  # room for the archive's .N suffixes
