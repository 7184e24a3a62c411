"""Progress of long work (issue 12): each stage reports what it did, and a terminal gets rich bars.

The stages are told to a recording listener while the real core and connector code runs (intake, staging
and upload through the in-memory transport, collect and the 835 loader); the counts they report are checked
against what the warehouse and the transport hold afterwards, counted separately. ``tests/unit/test_progress_bars.py``
runs ``revcycle ingest`` in a pseudo-terminal (bars drawn) and through a pipe (plain text, no bars).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from intake_records import record_export
from sqlalchemy import Engine, func, select
from warehouse_data import add_claim, cas, clp, remittance, svc, write_remittances

from connectors.clearinghouse.delivery import collect_responses, upload_interchanges
from connectors.clearinghouse.memory import MemoryTransport
from connectors.payers import registered_payers
from revcycle import progress
from revcycle.responses import load_response
from revcycle.submission import SenderIdentity, stage_interchanges
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.schema import claim, interchange, remittance_claim
from revcycle.x12.write837p import Submitter

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
SENDER = SenderIdentity("REVCYCLE01", "T", Submitter("REVCYCLE BILLING", "REVCYCLE01", "BILLING", phone="5555550100"))


class Recorder:
    """A listener that keeps every call: the totals each stage began with and the units it reported."""

    def __init__(self) -> None:
        self.totals: dict[str, list[int | None]] = {}
        self.done: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()

    def begun(self, stage: str, total: int | None) -> None:
        self.totals.setdefault(stage, []).append(total)

    def advanced(self, stage: str, amount: int) -> None:
        self.done[stage] += amount

    def ended(self, stage: str) -> None:
        self.ends[stage] += 1


def test_intake_staging_and_upload_report_the_claims_built_and_the_files_uploaded(
    warehouse: Engine, tmp_path: Path
) -> None:
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=12, seed=5, as_of=AS_OF))
    recorder = Recorder()
    with progress.listening(recorder):
        record_export(warehouse, rows, batch_date=AS_OF, name="c.csv", origin="x")
        stage_interchanges(
            warehouse,
            payers=registered_payers(),
            sender=SENDER,
            outbound_dir=tmp_path / "outbound",
            batch_date=AS_OF,
            created=NOW,
            now=NOW,
        )
        transport = MemoryTransport()
        transport.makedirs("upload")
        upload_interchanges(warehouse, transport, outbound_dir=tmp_path / "outbound", upload_dir="upload")
    with warehouse.connect() as conn:
        claims = conn.execute(select(func.count()).select_from(claim)).scalar_one()
        interchanges = conn.execute(select(func.count()).select_from(interchange)).scalar_one()
    # One claim per encounter and payer (every synthetic encounter bills one payer), one interchange per payer.
    assert claims == len({(r["encounter_id"], r["payer_id"]) for r in rows}) > 0
    assert interchanges == len({r["payer_id"] for r in rows}) > 0
    assert recorder.done[progress.CLAIMS_BUILT] == claims
    uploaded = [p for p in transport.files if p.startswith("upload/")]
    assert recorder.totals[progress.FILES_UPLOADED] == [interchanges]
    assert recorder.done[progress.FILES_UPLOADED] == len(uploaded) == interchanges
    assert recorder.ends[progress.FILES_UPLOADED] == 1


def _era(control_number: int, trace: str, keys: tuple[str, ...]) -> bytes:
    served = date(2026, 6, 1)
    claims = tuple(
        clp(key, "1", "100", "80", services=(svc("99213", "100", "80", served, cas("CO", "45", "20")),)) for key in keys
    )
    return write_remittances(control_number, remittance(trace, date(2026, 7, 1), claims))


def test_collect_reports_each_file_downloaded_and_each_remittance_claim_posted(
    warehouse: Engine, tmp_path: Path
) -> None:
    served = date(2026, 6, 1)
    with warehouse.begin() as conn:
        for key in ("A1", "B1", "C1"):
            add_claim(conn, key, "P1", [("99213", "100")], served, served)
    transport = MemoryTransport()
    transport.makedirs("responses")
    transport.files["responses/ERA1.835"] = _era(61, "TRACE-1", ("A1", "B1"))  # two claims paid
    transport.files["responses/ERA2.835"] = _era(62, "TRACE-2", ("C1",))  # one claim paid
    recorder = Recorder()
    with progress.listening(recorder):
        collect_responses(
            warehouse,
            transport,
            inbox_dir="responses",
            archive_dir="archive",
            inbound_local_dir=tmp_path / "inbound",
            load=load_response,
        )
    with warehouse.connect() as conn:
        posted = conn.execute(select(func.count()).select_from(remittance_claim)).scalar_one()
    assert posted == 3  # 2 + 1 CLPs
    assert recorder.totals[progress.FILES_DOWNLOADED] == [2]
    assert recorder.done[progress.FILES_DOWNLOADED] == 2
    assert recorder.done[progress.REMITTANCES_POSTED] == posted
    assert recorder.ends[progress.REMITTANCES_POSTED] == 2  # one loader pass per 835


def test_nothing_listens_by_default_and_two_listeners_cannot_be_installed() -> None:
    progress.advance(progress.CLAIMS_BUILT, 5)  # nobody listens: nothing happens, nothing fails
    with progress.listening(Recorder()), pytest.raises(RuntimeError), progress.listening(Recorder()):
        pass
