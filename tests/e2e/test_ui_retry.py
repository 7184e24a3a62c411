"""The UI-retry case against a real Prefect server, a process worker and a real OpenSSH sshd (Done when 4).

A submit run uploads the first interchange, then the server refuses the second's rename (a folder squats
its name: a permanent error, so the task does not retry) and the run fails half-way. The operator clears
the problem and presses Retry: the run is set back to Scheduled through the API exactly as the UI does
(``set_flow_run_state(..., AwaitingRetry(), force=True)``), a worker picks it up, the flow runs again from
the top, and the clearinghouse ends up with each interchange exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_world import AS_OF, CREATED, StagedWorld, interchange_states, staged_world, submitted_events
from prefect_server import REPO_ROOT, PrefectServer
from sshd import OpenSshServer

pytestmark = pytest.mark.e2e

POOL = "revcycle-ui-retry"
FLOW = "submit-claims"


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrefectServer]:
    with PrefectServer(tmp_path / "prefect") as running:
        running.cli(["work-pool", "create", POOL, "--type", "process"])
        yield running


def create_submit_deployment(server: PrefectServer, world: StagedWorld) -> str:
    """A deployment of flows/submit.py:submit_claims on the process pool, run from the checkout."""
    flow = server.post("/flows/", {"name": FLOW})
    deployment = server.post(
        "/deployments/",
        {
            "name": "ui-retry",
            "flow_id": flow["id"],
            "entrypoint": "flows/submit.py:submit_claims",
            "work_pool_name": POOL,
            "pull_steps": [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO_ROOT)}}],
            "parameters": {
                "batch_date": AS_OF.isoformat(),
                "created": CREATED.isoformat(),
                "workdir": str(world.root),
            },
            "enforce_parameter_schema": False,
        },
    )
    return str(deployment["id"])


def run_worker_until_final(
    server: PrefectServer, sshd: OpenSshServer, world: StagedWorld, home: Path, run_id: str
) -> tuple[dict[str, Any], str]:
    """Start a worker with ``--run-once`` until the run reaches a final state (a worker that polled just
    before the run became due finds nothing and exits: start another, at most three)."""
    home.mkdir(exist_ok=True)
    env = {**sshd.environment(), "REVCYCLE_WORKDIR": str(world.root)}
    outputs = []
    for _attempt in range(3):
        worker = server.cli(["worker", "start", "--pool", POOL, "--run-once"], cwd=home, env=env, timeout=240)
        outputs.append(worker.stdout)
        run = flow_run(server, run_id)
        if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            break
    return run, "\n".join(outputs)


def flow_run(server: PrefectServer, run_id: str) -> dict[str, Any]:
    result: dict[str, Any] = server.get(f"/flow_runs/{run_id}")
    return result


def test_retry_from_the_ui_after_a_failed_upload_completes_without_a_duplicate(
    server: PrefectServer, sshd: OpenSshServer, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import AwaitingRetry

    world = staged_world(tmp_path / "revcycle", encounters=12)
    first, victim, *rest = world.names
    upload = sshd.served / "claims"
    (upload / victim).mkdir(parents=True)  # the obstacle: the rename of the second interchange is refused

    deployment_id = create_submit_deployment(server, world)
    run_id = server.post(f"/deployments/{deployment_id}/create_flow_run", {})["id"]
    failed, output = run_worker_until_final(server, sshd, world, tmp_path / "worker", run_id)
    assert failed["state_type"] == "FAILED", output[-4000:]
    assert victim in failed["state"]["message"] and "refused" in failed["state"]["message"], failed["state"]
    assert sorted(p.name for p in upload.iterdir()) == sorted([first, victim, victim + ".part"])
    states = interchange_states(world.engine)
    assert (states[first], states[victim]) == ("uploaded", "uploading")
    assert {states[name] for name in rest} == {"staged"}

    (upload / victim).rmdir()  # the operator clears the problem, then presses Retry in the UI
    with temporary_settings({PREFECT_API_URL: server.api_url}), get_client(sync_client=True) as client:
        result = client.set_flow_run_state(run_id, AwaitingRetry(message="Retry from the UI"), force=True)
    assert result.status.value == "ACCEPT"
    assert flow_run(server, run_id)["state_type"] == "SCHEDULED"
    retried, output = run_worker_until_final(server, sshd, world, tmp_path / "worker", run_id)
    assert retried["state_type"] == "COMPLETED", output[-4000:]
    assert retried["run_count"] == 2
    assert sorted(p.name for p in upload.iterdir()) == sorted(world.names)  # no .part, no second copy
    for name in world.names:
        assert (upload / name).read_bytes() == world.staged_bytes(name)
        assert sshd.renames_onto(upload / name) == 1, f"{name} reached the clearinghouse more than once"
    assert sshd.renames_onto(upload / first) == 1  # the first interchange was not sent again by the retry
    assert sshd.opens_for_write(upload / (first + ".part")) == 1
    assert set(interchange_states(world.engine).values()) == {"uploaded"}
    assert set(submitted_events(world.engine).values()) == {1}
