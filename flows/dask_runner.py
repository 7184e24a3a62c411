"""The Dask task runner: a local cluster bound to loopback by default, or a running cluster at an address.

``distributed.LocalCluster`` listens on every interface for its dashboard (``0.0.0.0:8787``), and
``dashboard_address=None`` does not turn that off: it keeps the fixed port 8787. Tasks carry PHI, so the
local cluster here puts its scheduler, its dashboard, every nanny, worker and worker dashboard on
``127.0.0.1``, on ports chosen by the system. A cluster spanning hosts is started by its operator, with TLS
(docs), and named by its address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect_dask.task_runners import DaskTaskRunner

LOOPBACK = "127.0.0.1"
DEFAULT_WORKERS = 2


def local_cluster_kwargs(workers: int = DEFAULT_WORKERS) -> dict[str, Any]:
    """``LocalCluster`` arguments: ``workers`` processes of one thread, every listener on loopback."""
    return {
        "n_workers": workers,
        "processes": True,
        "threads_per_worker": 1,
        "host": LOOPBACK,
        "dashboard_address": f"{LOOPBACK}:0",
        "worker_dashboard_address": f"{LOOPBACK}:0",
    }


def dask_task_runner(address: str | None = None, workers: int = DEFAULT_WORKERS) -> DaskTaskRunner:
    """A ``DaskTaskRunner`` on the cluster at ``address``, or on a local loopback-only cluster of ``workers``."""
    from prefect_dask.task_runners import DaskTaskRunner  # distributed is imported only when Dask is chosen

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=local_cluster_kwargs(workers))
