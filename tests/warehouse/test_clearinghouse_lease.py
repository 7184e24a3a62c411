"""Issue 9, case 7: the clearinghouse lease holds. Exclusion, expiry, takeover after a crash, renewal while
the run works, a nested holding that releases nothing, and a lost lease stopping remote side effects.

Lease times come from a SimulatedClock (``revcycle.clock``); only the heartbeat's pace is real time, and the
tests wait for it on a condition with a generous limit. Two tests use the flows' own context manager with
the wall clock, as a run does.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from warehouse_data import add_claim, cas, clp, remittance, svc, write_remittances

from connectors.clearinghouse.delivery import collect_responses
from connectors.clearinghouse.memory import MemoryTransport
from flows.common import clearinghouse_lease
from revcycle.clock import SimulatedClock
from revcycle.errors import RunFailure
from revcycle.responses import load_response
from revcycle.warehouse.lease import (
    LeaseHeld,
    LeaseLost,
    acquire_lease,
    current_lease,
    held_lease,
    holds_lease,
)
from revcycle.warehouse.schema import lease as lease_table
from revcycle.warehouse.schema import remittance as remittance_table
from revcycle.warehouse.schema import source_file

NAME = "clearinghouse:default"
START = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)


def wait_until(condition: Callable[[], bool], limit: float = 60) -> None:
    """Wait for ``condition`` (polled), failing only after a generous ``limit`` in seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit} s")
        time.sleep(0.01)


def expires_at(engine: Engine) -> datetime:
    with engine.connect() as conn:
        value = conn.execute(select(lease_table.c.expires_at).where(lease_table.c.name == NAME)).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


# -- exclusion, expiry, takeover ---------------------------------------------------------------------------


def test_two_holders_exclude_each_other(warehouse: Engine, clock: SimulatedClock) -> None:
    with held_lease(warehouse, NAME, "nightly-1", 60, clock, renew_every=3600):
        with (
            pytest.raises(LeaseHeld, match="another run is working the clearinghouse"),
            held_lease(warehouse, NAME, "pickup-2", 60, clock, renew_every=3600),
        ):
            pass  # pragma: no cover - never entered
        assert holds_lease(warehouse, NAME, "nightly-1", now=clock.now())
    # released on exit: the next run takes it at once
    with held_lease(warehouse, NAME, "pickup-2", 60, clock, renew_every=3600):
        assert holds_lease(warehouse, NAME, "pickup-2", now=clock.now())
        assert not holds_lease(warehouse, NAME, "nightly-1", now=clock.now())


def test_a_holder_whose_lease_expired_has_lost_it(warehouse: Engine, clock: SimulatedClock) -> None:
    # No heartbeat period passes in real time (an hour): the lease runs out on the simulated clock.
    with held_lease(warehouse, NAME, "nightly-1", 60, clock, renew_every=3600) as lease:
        lease.check()  # held
        clock.advance(timedelta(seconds=59))
        lease.check()  # still held one second before expiry
        clock.advance(timedelta(seconds=1))
        with pytest.raises(LeaseLost, match="nothing more was sent or archived"):
            lease.check()
        assert not lease.renew()  # an expired lease is not renewed, even if nobody took it
        assert acquire_lease(warehouse, NAME, "pickup-2", 60, now=clock.now())
    # the lost holder's exit does not release the new holder's lease
    assert holds_lease(warehouse, NAME, "pickup-2", now=clock.now())


CRASHING_RUN = textwrap.dedent(
    """
    import os, signal, sys
    from revcycle.clock import SystemClock
    from revcycle.warehouse.db import create_warehouse_engine
    from revcycle.warehouse.lease import held_lease

    engine = create_warehouse_engine(sys.argv[1])
    with held_lease(engine, "clearinghouse:default", "crashed-run", 60, SystemClock()):
        print("held", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # a crash: no release, no more heartbeats
    """
)


def test_a_crashed_runs_lease_is_taken_after_its_expiry_and_not_before(warehouse: Engine, warehouse_url: str) -> None:
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, warehouse_url], capture_output=True, text=True, timeout=120, check=False
    )
    assert crashed.returncode == -signal.SIGKILL and crashed.stdout.strip() == "held", crashed.stderr[-2000:]
    expiry = expires_at(warehouse)
    # the next run's clock: just after the crash, then just before and at the dead lease's expiry
    assert not acquire_lease(warehouse, NAME, "next-run", 60, now=expiry - timedelta(seconds=59))
    assert not acquire_lease(warehouse, NAME, "next-run", 60, now=expiry - timedelta(microseconds=1))
    assert acquire_lease(warehouse, NAME, "next-run", 60, now=expiry)
    assert holds_lease(warehouse, NAME, "next-run", now=expiry)


# -- renewal ---------------------------------------------------------------------------------------------------


def test_a_run_longer_than_its_lease_keeps_it_by_renewing(warehouse: Engine, clock: SimulatedClock) -> None:
    with held_lease(warehouse, NAME, "nightly-1", 60, clock, renew_every=0.01) as lease:
        for _ in range(15):  # 15 x 20 s = 300 s of work: five times the lease
            clock.advance(timedelta(seconds=20))
            now = clock.now()
            wait_until(lambda now=now: expires_at(warehouse) >= now + timedelta(seconds=60))  # type: ignore[misc]
        lease.check()
        assert not acquire_lease(warehouse, NAME, "pickup-2", 60, now=clock.now())
        assert lease.renewals >= 15
    # without a heartbeat the same 300 s would have let another run in after 60 s
    assert acquire_lease(warehouse, NAME, "plain-1", 60, now=clock.now())
    clock.advance(timedelta(seconds=60))
    assert acquire_lease(warehouse, NAME, "pickup-2", 60, now=clock.now())


def test_the_heartbeat_notices_a_lost_lease_and_stops(warehouse: Engine, clock: SimulatedClock) -> None:
    with held_lease(warehouse, NAME, "nightly-1", 60, clock, renew_every=0.01) as lease:
        # the machine stalls longer than the lease; another run takes it over meanwhile
        clock.advance(timedelta(seconds=61))
        assert acquire_lease(warehouse, NAME, "pickup-2", 60, now=clock.now())
        wait_until(lambda: lease.lost)
        with pytest.raises(LeaseLost):
            lease.check()
    assert holds_lease(warehouse, NAME, "pickup-2", now=clock.now())


# -- nesting ------------------------------------------------------------------------------------------------------


def test_a_nested_holding_by_the_same_holder_joins_and_releases_nothing(
    warehouse: Engine, clock: SimulatedClock
) -> None:
    with held_lease(warehouse, NAME, "nightly-1", 60, clock, renew_every=3600) as outer:
        with held_lease(warehouse, NAME, "nightly-1", 60, clock, renew_every=3600) as inner:
            assert inner is outer
            assert current_lease(warehouse, NAME, "nightly-1") is outer
        assert holds_lease(warehouse, NAME, "nightly-1", now=clock.now())
        with pytest.raises(LeaseHeld), held_lease(warehouse, NAME, "pickup-2", 60, clock, renew_every=3600):
            pass  # pragma: no cover - never entered
    assert current_lease(warehouse, NAME, "nightly-1") is None
    assert not holds_lease(warehouse, NAME, "nightly-1", now=clock.now())


# -- the flows' context manager, on the wall clock -------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


def test_the_ingest_subflow_under_the_nightly_flow_does_not_release_its_lease(sqlite_url: str) -> None:
    with clearinghouse_lease(sqlite_url, "nightly-1", 60):
        with clearinghouse_lease(sqlite_url, "nightly-1", 60):  # ingest_responses(lease_holder=...)
            pass
        with (
            pytest.raises(RunFailure, match="another run is working the clearinghouse"),
            clearinghouse_lease(sqlite_url, "pickup-2", 60),
        ):
            pass  # pragma: no cover - never entered


def test_a_nightly_run_longer_than_its_lease_keeps_it(sqlite_url: str) -> None:
    # A 6-second lease, renewed every 2 s by the heartbeat, held for 9 s of work (wall clock).
    with clearinghouse_lease(sqlite_url, "nightly-1", 6):
        time.sleep(9)
        with (
            pytest.raises(RunFailure, match="another run is working the clearinghouse"),
            clearinghouse_lease(sqlite_url, "pickup-2", 6),
        ):
            pass  # pragma: no cover - never entered


# -- a lost lease stops remote side effects -------------------------------------------------------------------


def test_collect_with_a_lost_lease_archives_nothing_and_the_next_run_finishes(
    warehouse: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    served = START.date()
    with warehouse.begin() as conn:
        add_claim(conn, "A1", "P1", [("99213", "100")], served, served)
    era = write_remittances(
        91,
        remittance(
            "TRACE-L",
            served,
            (clp("A1", "1", "100", "80", services=(svc("99213", "100", "80", served, cas("CO", "45", "20")),)),),
        ),
    )
    transport = MemoryTransport()
    transport.makedirs("responses")
    transport.files["responses/ERA.835"] = era
    inbound = tmp_path / "inbound"

    with held_lease(warehouse, NAME, "pickup-1", 60, clock, renew_every=3600) as lease:
        clock.advance(timedelta(seconds=61))  # the run stalled past its lease
        assert acquire_lease(warehouse, NAME, "pickup-2", 60, now=clock.now())
        with pytest.raises(LeaseLost):
            collect_responses(
                warehouse,
                transport,
                inbox_dir="responses",
                archive_dir="archive",
                inbound_local_dir=inbound,
                load=load_response,
                guard=lease.check,
            )
    renames = [op for op, _path in transport.operations if op.startswith("rename") or op == "remove"]
    assert renames == []  # nothing moved or removed on the server
    assert transport.files["responses/ERA.835"] == era
    with warehouse.connect() as conn:
        assert conn.execute(select(source_file.c.status, source_file.c.archived_at)).one() == ("loaded", None)

    # the run that holds the lease now picks the file up: loaded before, so only archived
    with held_lease(warehouse, NAME, "pickup-2", 60, clock, renew_every=3600) as lease:
        report = collect_responses(
            warehouse,
            transport,
            inbox_dir="responses",
            archive_dir="archive",
            inbound_local_dir=inbound,
            load=load_response,
            guard=lease.check,
        )
    assert report.skipped_duplicates == ["ERA.835"] and report.archived == ["ERA.835"]
    with warehouse.connect() as conn:
        assert len(conn.execute(select(remittance_table.c.id)).all()) == 1


@pytest.fixture(autouse=True)
def _no_leftover_holdings() -> Iterator[None]:
    yield
    # every holding ends with its block: nothing may linger into the next test
    from revcycle.warehouse import lease as lease_module

    assert lease_module._HOLDINGS == {}
