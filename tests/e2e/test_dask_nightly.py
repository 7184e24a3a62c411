"""The nightly with REVCYCLE_TASK_RUNNER=dask (issue 15, done when 3): each export's intake runs as a task on a
Dask cluster of two worker processes, bound to loopback, and the warehouse ends as under the default runner.

Both runs take the same three exports (fixed seeds) on the same batch date, each into its own workdir and
sandbox clearinghouse. They are compared by business keys: claim keys, charge ids, amounts, statuses, the
control numbers and payers of the interchanges, and the claim keys inside the 837s that reached the
clearinghouse. Exactly-once: no interchange reaches the clearinghouse twice, no claim is in two interchanges.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import pytest
from pipeline import PipelineWorld, pipeline_world
from sqlalchemy import select

from revcycle.warehouse.db import create_warehouse_engine
from revcycle.warehouse.schema import charge, claim, interchange, remittance_claim

pytestmark = pytest.mark.e2e

AS_OF = date(2026, 11, 20)
SEEDS = (301, 302, 303)
ENCOUNTERS = 12


def _dask_or_fail() -> Any:
    """The ``distributed`` module; missing it is a failure under CI=true (the lock installs it), else a skip."""
    try:
        import distributed
        import prefect_dask  # noqa: F401
    except ImportError as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"dask is not installed ({missing.name}); run make .venv/.installed")
        pytest.skip(f"dask is not installed ({missing.name})")
    return distributed


class ChildWatch:
    """Samples, in a thread, the TCP ports this process and the ones it starts listen on, and who listens."""

    def __init__(self) -> None:
        self.listeners: set[int] = set()
        self.listening: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            for process in [me, *me.children(recursive=True)]:
                try:
                    sockets = process.net_connections(kind="inet")
                except psutil.Error:
                    continue
                found = {(c.laddr.ip, c.laddr.port) for c in sockets if c.status == psutil.CONN_LISTEN}
                if found:
                    self.listeners.add(process.pid)
                self.listening |= found

    def __enter__(self) -> ChildWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _run_night(workdir: Path, extra_env: dict[str, str]) -> PipelineWorld:
    with pipeline_world(workdir) as world:
        os.environ.update(extra_env)
        for seed in SEEDS:
            world.write_export(seed=seed, encounters=ENCOUNTERS, as_of=AS_OF)
        world.run_nightly(AS_OF)
        return world


def _clm01s(path: Path) -> list[str]:
    """CLM01 of every claim in an 837 file: separators read from its ISA, as X12 defines them."""
    text = path.read_text()
    element, terminator = text[3], text[105]
    segments = (s.strip() for s in text.split(terminator))
    return [s.split(element)[1] for s in segments if s.startswith(f"CLM{element}")]


def _content(world: PipelineWorld) -> dict[str, Any]:
    engine = create_warehouse_engine(f"sqlite:///{world.workdir / 'warehouse.db'}")
    with engine.connect() as conn:
        found: dict[str, Any] = {
            "claims": sorted(
                conn.execute(
                    select(
                        claim.c.claim_key,
                        claim.c.payer_id,
                        claim.c.total_charge_cents,
                        claim.c.line_count,
                        claim.c.status,
                    )
                ).all()
            ),
            "charges": sorted(
                conn.execute(
                    select(charge.c.charge_id, charge.c.claim_key, charge.c.charge_cents, charge.c.status)
                ).all()
            ),
            "interchanges": sorted(
                conn.execute(
                    select(
                        interchange.c.control_number,
                        interchange.c.payer_id,
                        interchange.c.claim_count,
                        interchange.c.total_charge_cents,
                    )
                ).all()
            ),
            "remittance_claims": sorted(
                conn.execute(select(remittance_claim.c.claim_key, remittance_claim.c.paid_cents)).all()
            ),
        }
    engine.dispose()
    folder = world.clearinghouse.root / world.clearinghouse.upload_dir
    found["claim_keys_sent"] = Counter(key for name in world.uploaded_files for key in _clm01s(folder / name))
    return found


def _intake_subflow_task_runs() -> list[tuple[str, str]]:
    """(flow run state, task run name) of every task run of every ``intake-exports`` subflow run so far."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["intake-exports"])))
        if not runs:
            return []
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in runs])))
    states = {r.id: r.state_type.value if r.state_type else "" for r in runs}
    return sorted((states[t.flow_run_id], t.name.rsplit("-", 1)[0]) for t in tasks if t.flow_run_id)


def test_the_nightly_on_dask_ends_with_the_warehouse_of_the_default_runner(prefect_api: None, tmp_path: Path) -> None:
    _dask_or_fail()
    default = _run_night(tmp_path / "default", {})
    assert _intake_subflow_task_runs() == [], "the default runner must take the exports in the flow itself"
    already = {child.pid for child in psutil.Process().children(recursive=True)}
    with ChildWatch() as watch:
        on_dask = _run_night(tmp_path / "dask", {"REVCYCLE_TASK_RUNNER": "dask", "REVCYCLE_DASK_WORKERS": "2"})

    assert default.last_state.is_completed() and on_dask.last_state.is_completed()
    # Each export's intake was one task of the fanned-out subflow, on a cluster of two worker processes
    # (listening for the scheduler), and nothing the run opened listened beyond loopback.
    assert _intake_subflow_task_runs() == [("COMPLETED", "intake-charge-export")] * len(SEEDS)
    assert len(watch.listeners - already - {os.getpid()}) >= 2, "no Dask worker processes were started"
    assert sorted(f"{ip}:{port}" for ip, port in watch.listening if not ipaddress.ip_address(ip).is_loopback) == []

    expected, found = _content(default), _content(on_dask)
    # The synthetic exports hold one claim per encounter: 3 exports x 12 encounters.
    assert len(expected["claims"]) == len(SEEDS) * ENCOUNTERS
    assert expected["remittance_claims"], "the sandbox answered nothing: the comparison would prove little"
    for part in ("claims", "charges", "interchanges", "remittance_claims"):
        assert found[part] == expected[part], part
    assert found["claim_keys_sent"] == expected["claim_keys_sent"]
    # Exactly once: every claim in one interchange, every interchange received by the clearinghouse once.
    assert set(found["claim_keys_sent"].values()) == {1}
    assert set(found["claim_keys_sent"]) == {row[0] for row in found["claims"] if row[4] != "held"}
    assert on_dask.clearinghouse.received == on_dask.uploaded_files
    assert len(set(on_dask.clearinghouse.received)) == len(on_dask.clearinghouse.received)
