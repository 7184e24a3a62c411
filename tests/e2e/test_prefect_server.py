"""prefect.yaml against a real Prefect server: deployments, cron schedules in the practice's timezone, limits,
and a process worker running a deployment from the repository checkout."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prefect_server import REPO_ROOT, PrefectServer

from connectors.clearinghouse.sandbox_server import SandboxSftpServer

pytestmark = pytest.mark.e2e

POOL = "revcycle-process"
CHICAGO = ZoneInfo("America/Chicago")
# What the design asks for (DESIGN.md §9), not read from prefect.yaml: the nightly run in the evening,
# outside the 01:00-03:00 DST window; the response pickup several times a day.
NIGHTLY = "nightly-revenue-cycle/nightly"
NIGHTLY_TIMES = [(21, 30)]
PICKUP = "ingest-responses/response-pickup"
PICKUP_TIMES = [(7, 0), (11, 0), (15, 0), (19, 0)]
SCHEDULE_WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A real server with the work pool and every deployment of prefect.yaml, deployed from the repo root."""
    with PrefectServer(tmp_path_factory.mktemp("prefect-server")) as running:
        running.cli(["work-pool", "create", POOL, "--type", "process"])
        running.cli(["--no-prompt", "deploy", "--all"], cwd=REPO_ROOT, timeout=300)
        running.deployed = {name: deployment(running, name) for name in (NIGHTLY, PICKUP)}  # type: ignore[attr-defined]
        # docs/prefect.md: deployed paused, then turned on by the operator with this command.
        running.cli(["--no-prompt", "deployment", "schedule", "resume", "--all"])
        yield running


def deployment(server: PrefectServer, name: str) -> dict[str, Any]:
    """The deployment ``flow-name/deployment-name`` as the API returns it."""
    result: dict[str, Any] = server.get(f"/deployments/name/{name}")
    return result


def scheduled_runs(server: PrefectServer, deployment_id: str) -> list[dict[str, Any]]:
    """The deployment's flow runs in a Scheduled state, earliest first; waits (bounded) for the scheduler."""
    body = {
        "flow_runs": {"deployment_id": {"any_": [deployment_id]}, "state": {"type": {"any_": ["SCHEDULED"]}}},
        "sort": "EXPECTED_START_TIME_ASC",
        "limit": 50,
    }
    deadline = time.monotonic() + SCHEDULE_WAIT_SECONDS
    while True:
        runs: list[dict[str, Any]] = server.post("/flow_runs/filter", body)
        if runs or time.monotonic() > deadline:
            return runs
        time.sleep(1)


def local_slots(after: datetime, times: list[tuple[int, int]], count: int) -> list[datetime]:
    """The first ``count`` wall-clock times ``times`` in Chicago strictly after ``after``."""
    slots: list[datetime] = []
    day: date = after.astimezone(CHICAGO).date()
    while len(slots) < count:
        for hour, minute in times:
            slot = datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)
            if slot > after and len(slots) < count:
                slots.append(slot)
        day += timedelta(days=1)
    return slots


def assert_runs_follow_cron(server: PrefectServer, name: str, times: list[tuple[int, int]]) -> None:
    """The deployment has scheduled runs exactly at the next local ``times`` after it was created."""
    found = deployment(server, name)
    created = datetime.fromisoformat(found["created"])
    runs = scheduled_runs(server, found["id"])
    observed_at = datetime.now(tz=CHICAGO)
    assert runs, f"no scheduled runs for {name} after {SCHEDULE_WAIT_SECONDS} s: is the scheduler broken?\n"
    assert all(run["state"]["name"] == "Scheduled" for run in runs)
    starts = [datetime.fromisoformat(run["expected_start_time"]) for run in runs]
    for start in starts:
        local = start.astimezone(CHICAGO)
        assert (local.hour, local.minute, local.second) in {(h, m, 0) for h, m in times}, local.isoformat()
    expected = local_slots(created, times, len(starts))
    if starts[0] != expected[0] and expected[0] <= observed_at:
        # The first slot passed between the deployment's creation and the scheduler's visit.
        expected = local_slots(expected[0], times, len(starts))
    assert starts == expected


def schedule_states(found: dict[str, Any]) -> list[bool]:
    """Whether each schedule of a deployment (as the API returns it) is active."""
    return [bool(schedule["active"]) for schedule in found["schedules"]]


def test_deploy_leaves_every_schedule_paused_until_the_operator_resumes_them(server: PrefectServer) -> None:
    deployed: dict[str, dict[str, Any]] = server.deployed  # type: ignore[attr-defined]
    # Right after `prefect deploy --all`: one schedule each, paused (prefect.yaml says active: false).
    assert {name: schedule_states(found) for name, found in deployed.items()} == {NIGHTLY: [False], PICKUP: [False]}
    # After `prefect deployment schedule resume --all`, the documented way to turn them on.
    assert {name: schedule_states(deployment(server, name)) for name in deployed} == {NIGHTLY: [True], PICKUP: [True]}


def test_deployments_read_back_from_the_api(server: PrefectServer) -> None:
    for name, entrypoint, cron in (
        (NIGHTLY, "flows/nightly.py:nightly_revenue_cycle", "30 21 * * *"),
        (PICKUP, "flows/ingest.py:ingest_responses", "0 7,11,15,19 * * *"),
    ):
        found = deployment(server, name)
        assert found["entrypoint"] == entrypoint
        assert found["work_pool_name"] == POOL
        assert found["paused"] is False
        # Prefect 3.8 keeps a deployment's concurrency_limit as a global limit named after the deployment.
        limit = found["global_concurrency_limit"]
        assert limit is not None, f"{name} has no concurrency limit"
        assert (limit["limit"], limit["name"], limit["active"]) == (1, f"deployment:{found['id']}", True)
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"], s["active"]) for s in found["schedules"]] == [
            (cron, "America/Chicago", True)
        ]
        assert found["parameters"] == {}
        assert found["description"]
        assert "revcycle" in found["tags"]
        assert found["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $REVCYCLE_REPO }}"}}
        ]


def test_nightly_runs_are_scheduled_at_2130_chicago_time(server: PrefectServer) -> None:
    assert_runs_follow_cron(server, NIGHTLY, NIGHTLY_TIMES)


def test_response_pickup_runs_are_scheduled_four_times_a_day(server: PrefectServer) -> None:
    assert_runs_follow_cron(server, PICKUP, PICKUP_TIMES)


def test_a_process_worker_runs_the_response_pickup_from_the_checkout(server: PrefectServer, tmp_path: Path) -> None:
    workdir = tmp_path / "revcycle-data"
    workdir.mkdir()
    clearinghouse = tmp_path / "clearinghouse"
    for folder in ("responses", "archive"):
        (clearinghouse / folder).mkdir(parents=True)
    worker_home = tmp_path / "worker"
    worker_home.mkdir()
    with SandboxSftpServer(clearinghouse, username="biller", password="sandbox only") as sftp:
        worker_env = {
            "REVCYCLE_REPO": str(REPO_ROOT),
            "REVCYCLE_WORKDIR": str(workdir),
            "REVCYCLE_SFTP_HOST": "127.0.0.1",
            "REVCYCLE_SFTP_PORT": str(sftp.port),
            "REVCYCLE_SFTP_USERNAME": "biller",
            "REVCYCLE_SFTP_PASSWORD": "sandbox only",
            "REVCYCLE_SFTP_KNOWN_HOST": sftp.known_hosts_line(),
        }
        triggered = server.cli(["deployment", "run", PICKUP])
        match = re.search(r"UUID: ([0-9a-f-]{36})", triggered.stdout)
        assert match, triggered.stdout
        run_id = match.group(1)
        # The worker starts outside the checkout: only the deployment's pull step can bring the run there.
        worker = server.cli(
            ["worker", "start", "--pool", POOL, "--run-once"], cwd=worker_home, env=worker_env, timeout=240
        )
        run = server.get(f"/flow_runs/{run_id}")
        assert run["state_type"] == "COMPLETED", f"run ended {run['state_type']}:\n{worker.stdout[-4000:]}"
        assert run["deployment_id"] == deployment(server, PICKUP)["id"]
        assert sftp.connections_accepted >= 1, "the run never reached the clearinghouse of the worker's env"
    assert (workdir / "warehouse.db").is_file(), "the run did not use the worker's REVCYCLE_WORKDIR"


def test_a_later_deploy_pauses_schedules_the_operator_turned_on(server: PrefectServer) -> None:
    # Last in this module: it pauses the schedules the tests above need active. docs/prefect.md says this.
    assert schedule_states(deployment(server, NIGHTLY)) == [True]
    server.cli(["--no-prompt", "deploy", "--all"], cwd=REPO_ROOT, timeout=300)
    assert {name: schedule_states(deployment(server, name)) for name in (NIGHTLY, PICKUP)} == {
        NIGHTLY: [False],
        PICKUP: [False],
    }
