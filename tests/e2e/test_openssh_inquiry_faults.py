"""Tracker issue 14, Done-when 3: the delivery fault matrix for 270 and 276 files against a real OpenSSH sshd.

The same crash points as the 837s (tests/e2e/test_openssh_fault_matrix.py: a real SIGKILL of a worker at each
upload and collect step, a fresh process for the rerun). After each: one final copy of every inquiry
interchange on the server, put in place once (counted in sftp-server's own log), every interchange
``uploaded``, every inquiry still in exactly one interchange; every 271/277/999 loaded once and every
inquiry answered once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from delivery_world import AS_OF, CREATED, SENDER, StagedWorld, interchange_states
from intake_records import record_export
from sqlalchemy import select, update
from sshd import OpenSshServer
from test_openssh_fault_matrix import (
    INBOX,
    KILLED,
    UPLOAD,
    UPLOAD_CRASHES,
    in_process,
    remote_names,
    report_of,
    run_worker,
    stored_names,
)

from connectors.payers import registered_payers
from revcycle.eligibility_batch import review_eligibility
from revcycle.sandbox.payer import SandboxConfig, SandboxPayer
from revcycle.sandbox.render import ResponseFile
from revcycle.status_inquiry import stage_status_inquiries
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.ledger import interchanges_to_upload
from revcycle.warehouse.schema import claim, eligibility_check, source_file, status_inquiry

pytestmark = pytest.mark.e2e


@pytest.fixture
def sshd(tmp_path: Path) -> OpenSshServer:  # type: ignore[misc]
    with OpenSshServer(tmp_path / "sshd") as server:
        yield server


def inquiry_world(root: Path) -> StagedWorld:
    """A warehouse whose outbound folder holds 270s (every pair unverified) and 276s (every claim silent)."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'warehouse.db'}"
    engine = create_warehouse_engine(url)
    upgrade_warehouse(engine)
    payers = registered_payers()
    rows = list(generate_charge_rows(list(payers.values()), encounters=12, seed=14, as_of=AS_OF))
    record_export(engine, rows, batch_date=AS_OF, name="c.csv", payers=payers)
    outbound = root / "outbound"
    review_eligibility(
        engine,
        payers=payers,
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=AS_OF,
        created=CREATED,
        now=CREATED,
        today=AS_OF,
        window_days=30,
        unverified_payers=frozenset(),
        send_inquiries=True,
    )
    with engine.begin() as conn:  # as if sent 40 days ago and never answered
        conn.execute(update(claim).values(status="accepted", submitted_at=CREATED - timedelta(days=40)))
    stage_status_inquiries(
        engine,
        payers=payers,
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=AS_OF,
        created=CREATED,
        now=CREATED,
        after_days=30,
        every_days=30,
    )
    with engine.connect() as conn:
        staged = interchanges_to_upload(conn)
    return StagedWorld(root, url, engine, outbound, root / "inbound", staged)


@pytest.fixture
def world(tmp_path: Path) -> StagedWorld:
    built = inquiry_world(tmp_path / "revcycle")
    kinds = Counter(name.split("_")[0] for name in built.names)
    assert kinds["270"] >= 2 and kinds["276"] >= 2, kinds
    return built


def inquiries_per_interchange(world: StagedWorld) -> Counter[str]:
    """How many interchanges each inquiry (TRN02) is in: always one."""
    with world.engine.connect() as conn:
        traces = list(conn.execute(select(eligibility_check.c.trace))) + list(
            conn.execute(select(status_inquiry.c.trace))
        )
    found: Counter[str] = Counter()
    for name in world.names:
        text = world.staged_bytes(name).decode()
        for (trace,) in traces:
            if f"TRN*1*{trace}*" in text:
                found[trace] += 1
    return found


def assert_inquiries_converged(world: StagedWorld, sshd: OpenSshServer) -> None:
    assert remote_names(sshd, UPLOAD) == sorted(world.names)
    for name in world.names:
        assert (sshd.served / UPLOAD / name).read_bytes() == world.staged_bytes(name)
        assert sshd.renames_onto(sshd.served / UPLOAD / name) == 1, f"{name} was put in place more than once"
    assert interchange_states(world.engine) == dict.fromkeys(world.names, "uploaded")
    per = inquiries_per_interchange(world)
    assert per and set(per.values()) == {1}, "an inquiry is in two interchanges"


@pytest.mark.parametrize("step", list(UPLOAD_CRASHES))
def test_inquiry_upload_killed_at_each_step_converges_on_rerun(
    step: str, world: StagedWorld, sshd: OpenSshServer
) -> None:
    _first, victim, *_rest = world.names
    crashed = run_worker(world, sshd, "upload", crash_step=step, crash_file=victim)
    assert crashed.returncode == KILLED, crashed.stderr[-2000:]
    report = report_of(run_worker(world, sshd, "upload"))
    treatment = UPLOAD_CRASHES[step][2]
    assert report["resent"] == ([victim] if treatment == "resent" else [])
    assert report["reconciled"] == ([victim] if treatment == "reconciled" else [])
    assert_inquiries_converged(world, sshd)
    assert in_process(world, sshd, "upload") == {"uploaded": [], "reconciled": [], "resent": []}


def sandbox_answers(world: StagedWorld) -> list[ResponseFile]:
    """The sandbox payer's answers (instant timing) to every uploaded inquiry: a 999 and a 271 or 277 each."""
    payer = SandboxPayer(SandboxConfig(timing="instant"))
    files: list[ResponseFile] = []
    for name in world.names:
        files += payer.receive(world.staged_bytes(name), CREATED)
    return files


@pytest.mark.parametrize("step", ["after_download", "after_load"])
def test_inquiry_collect_killed_at_each_step_answers_every_inquiry_once(
    step: str, world: StagedWorld, sshd: OpenSshServer
) -> None:
    in_process(world, sshd, "upload")
    responses = sandbox_answers(world)
    assert {r.kind for r in responses} == {"999", "271", "277"}
    inbox = sshd.served / INBOX
    inbox.mkdir(exist_ok=True)
    for response in responses:
        (inbox / response.name).write_bytes(response.content)
    names = sorted(r.name for r in responses)
    victim = next(n for n in names if n.startswith(("271", "277")))
    crashed = run_worker(world, sshd, "collect", crash_step=step, crash_file=victim)
    assert crashed.returncode == KILLED, crashed.stderr[-2000:]
    assert victim in remote_names(sshd, INBOX), "a file must stay in the inbox until its load committed"
    report_of(run_worker(world, sshd, "collect"))
    assert remote_names(sshd, INBOX) == []
    assert sorted(p.name for p in world.inbound_dir.iterdir()) == stored_names(responses)
    with world.engine.connect() as conn:
        files = conn.execute(select(source_file.c.name, source_file.c.status).where(source_file.c.origin == "sftp"))
        recorded = Counter(f.name for f in files)
        checks = list(conn.execute(select(eligibility_check)))
        inquiries = list(conn.execute(select(status_inquiry)))
    assert sorted(recorded) == names and set(recorded.values()) == {1}
    # every inquiry answered, each by the one file that answers it (no response lost, none loaded twice)
    assert checks and all(c.answered_at is not None and c.source_file_id is not None for c in checks)
    # this sandbox never received the claims' 837s: each is answered A4:35, not found
    assert inquiries and all(
        i.answered_at is not None and (i.category, i.status_code) == ("A4", "35") for i in inquiries
    )
