"""The local Dask cluster of the nightly's Dask task runner listens on loopback only (issue 15, done when 4).

Every listening socket that the cluster opens, in this process (scheduler, dashboard) and in the worker
processes it starts (nannies, workers, worker dashboards), is found through the operating system and must be
bound to 127.0.0.1. The second test shows why the runner sets every address: ``LocalCluster``'s own defaults
put the dashboard on all interfaces.
"""

from __future__ import annotations

import ipaddress

import psutil
import pytest
from distributed import LocalCluster

from flows.dask_runner import dask_task_runner

pytestmark = pytest.mark.e2e


def _listening() -> set[tuple[int, str, int]]:
    """(pid, address, port) of every listening TCP socket of this process and its descendants."""
    me = psutil.Process()
    found = set()
    for process in [me, *me.children(recursive=True)]:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for connection in connections:
            if connection.status == psutil.CONN_LISTEN:
                found.add((process.pid, connection.laddr.ip, connection.laddr.port))
    return found


def _not_loopback(sockets: set[tuple[int, str, int]]) -> list[str]:
    return sorted(f"{ip}:{port}" for _pid, ip, port in sockets if not ipaddress.ip_address(ip).is_loopback)


def test_every_port_of_the_default_dask_cluster_is_on_loopback() -> None:
    before = _listening()
    with dask_task_runner(workers=2) as runner:
        assert runner.client.scheduler_info()["workers"]  # the runner starts its cluster at its first client
        opened = _listening() - before
    # the scheduler and its dashboard, and per worker a nanny, a worker and a worker dashboard: 2 + 2 x 3
    assert len(opened) >= 8, opened
    assert _not_loopback(opened) == []


def test_a_local_cluster_on_its_own_defaults_listens_beyond_loopback() -> None:
    # Why the runner names every address: without them the dashboard listens on all interfaces.
    before = _listening()
    with LocalCluster(n_workers=1, processes=True, threads_per_worker=1):  # type: ignore[no-untyped-call]
        opened = _listening() - before
    assert _not_loopback(opened) != []
