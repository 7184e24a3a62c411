"""The operator's Retry in the real Prefect UI, in headless Chromium, against a real server, a process worker
and a real OpenSSH sshd (issue 12, "The real UI in a real browser").

The nightly deployment is deployed from ``prefect.yaml`` and its schedule paused. A nightly run uploads the
first interchange, then the clearinghouse refuses the second's rename (a folder squats its name: a permanent
error, so the task does not retry) and the run fails half-way. The operator clears the problem and presses
**Retry** on the run page; the worker runs the flow again from the top. What reached the clearinghouse is
counted on the server side: sftp-server's own operation log and the files in its folder, not our ledger.

The operator first uses "Change state -> Completed" on the failed upload task, as Prefect issues #15751 / #18303
show operators do, then presses Retry: Prefect does not skip the task, and our ledger makes running it again
safe. Both paths (the plain Retry and the task marked Completed) are checked on the one failed night, since each
night costs two flow-run processes on the worker.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser import headless_chromium
from delivery_world import StagedWorld, claims_by_interchange, segments, staged_world, submitted_events
from prefect_server import PREFECT, REPO_ROOT, PrefectServer, stop_process_group
from sshd import OpenSshServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

POOL = "revcycle-process"  # the pool prefect.yaml names
NIGHTLY = "nightly-revenue-cycle/nightly"
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
# Generous: a flow run on a loaded 2-core machine starts a Python process importing Prefect, pandas and GX.
RUN_LIMIT_SECONDS = 420
UI_LIMIT_MS = 120_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (fails under CI=true when Chromium or Playwright is missing)."""
    with headless_chromium() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[PrefectServer]:
    """One real server with its UI, the process pool, and the nightly deployed from prefect.yaml, paused."""
    with PrefectServer(tmp_path_factory.mktemp("prefect-ui"), ui=True) as running:
        running.cli(["work-pool", "create", POOL, "--type", "process"])
        running.cli(["--no-prompt", "deploy", "--name", "nightly"], cwd=REPO_ROOT, timeout=300)
        deployment = running.get(f"/deployments/name/{NIGHTLY}")
        if any(schedule["active"] for schedule in deployment["schedules"]):
            running.cli(["--no-prompt", "deployment", "schedule", "pause", "--all"])
        assert not any(s["active"] for s in running.get(f"/deployments/name/{NIGHTLY}")["schedules"])
        yield running


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser page per test; prints the browser version the test got."""
    print(f"browser: Chromium {browser.version}")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(UI_LIMIT_MS)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd") as running:
        for folder in ("claims", "responses", "archive"):
            (running.served / folder).mkdir()
        yield running


class Worker:
    """``prefect worker start`` polling the pool every second, in its own process group."""

    def __init__(self, server: PrefectServer, env: dict[str, str], home: Path) -> None:
        """Start the worker outside the checkout (only the deployment's pull step brings a run there)."""
        home.mkdir(parents=True, exist_ok=True)
        self.log_path = home / "worker.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", POOL],
                cwd=home,
                env=server.client_env({**env, "PREFECT_WORKER_QUERY_SECONDS": "1"}),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, lines: int = 60) -> str:
        """The end of the worker's log (it carries the flow runs' logs), for failure messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the worker and any flow run process it started."""
        stop_process_group(self.process)


@pytest.fixture
def world(tmp_path: Path, sshd: OpenSshServer, server: PrefectServer) -> Iterator[tuple[StagedWorld, Worker]]:
    """Staged interchanges in a warehouse, a worker whose runs use it and the sshd, and the obstacle in place."""
    staged = staged_world(tmp_path / "revcycle", encounters=12)
    (sshd.served / "claims" / staged.names[1]).mkdir()  # the second interchange's rename will be refused
    env = {**sshd.environment(), "REVCYCLE_WORKDIR": str(staged.root), "REVCYCLE_REPO": str(REPO_ROOT)}
    worker = Worker(server, env, tmp_path / "worker")
    try:
        yield staged, worker
    finally:
        worker.stop()


def wait_for(condition: Callable[[], Any], what: str, limit: float, details: Callable[[], str]) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {limit:.0f} s\n{details()}")
        time.sleep(1)


def flow_run(server: PrefectServer, run_id: str) -> dict[str, Any]:
    result: dict[str, Any] = server.get(f"/flow_runs/{run_id}")
    return result


def final_run(server: PrefectServer, worker: Worker, run_id: str, *, after_run_count: int = 0) -> dict[str, Any]:
    """The run once it reached a final state with more than ``after_run_count`` runs."""

    def finished() -> dict[str, Any] | None:
        run = flow_run(server, run_id)
        return run if run["state_type"] in FINAL and run["run_count"] > after_run_count else None

    result: dict[str, Any] = wait_for(finished, f"flow run {run_id} final", RUN_LIMIT_SECONDS, worker.log_tail)
    return result


def failed_task_runs(server: PrefectServer, run_id: str) -> list[dict[str, Any]]:
    """The task runs of flow run ``run_id`` in a Failed state."""
    body = {"task_runs": {"flow_run_id": {"any_": [run_id]}, "state": {"type": {"any_": ["FAILED"]}}}}
    found: list[dict[str, Any]] = server.post("/task_runs/filter", body)
    return found


def start_nightly_from_the_ui(page: Page, server: PrefectServer) -> str:
    """Open the deployment page, press Run -> Quick run; return the id of the run it created."""
    deployment = server.get(f"/deployments/name/{NIGHTLY}")
    body = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}}
    before = {run["id"] for run in server.post("/flow_runs/filter", body)}
    page.goto(f"{server.url}/deployments/deployment/{deployment['id']}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Quick run", exact=True).click()

    def new_runs() -> list[str]:
        return [run["id"] for run in server.post("/flow_runs/filter", body) if run["id"] not in before]

    runs = wait_for(new_runs, "a run created by Quick run", 60, str)
    assert len(runs) == 1, runs
    return str(runs[0])


def press_retry(page: Page, server: PrefectServer, run_id: str) -> None:
    """On the flow run page: Retry, then Retry again in the confirmation dialog."""
    page.goto(f"{server.url}/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Retry", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Retry", exact=True).click()


def fail_the_first_night(
    page: Page, server: PrefectServer, world: StagedWorld, worker: Worker, sshd: OpenSshServer
) -> str:
    """Start the nightly from the UI and see it fail at the second interchange; return the run id."""
    run_id = start_nightly_from_the_ui(page, server)
    failed = final_run(server, worker, run_id)
    first, victim = world.names[:2]
    assert failed["state_type"] == "FAILED", worker.log_tail()
    assert victim in failed["state"]["message"], failed["state"]
    assert sshd.renames_onto(sshd.served / "claims" / first) == 1  # the side effect before the failure
    assert sshd.renames_onto(sshd.served / "claims" / victim) == 0
    return run_id


def assert_each_interchange_and_claim_reached_the_server_once(sshd: OpenSshServer, world: StagedWorld) -> None:
    """Counted where the clearinghouse sees it: sftp-server's log and the files in its upload folder."""
    upload = sshd.served / "claims"
    assert sorted(p.name for p in upload.iterdir()) == sorted(world.names)  # no .part left, nothing else
    for name in world.names:
        assert sshd.renames_onto(upload / name) == 1, f"{name} reached the clearinghouse more than once"
        assert (upload / name).read_bytes() == world.staged_bytes(name)
    # One CLM per claim across what the server holds: every staged claim, none twice.
    on_server = Counter(
        segment.split("*")[1]
        for name in world.names
        for segment in segments((upload / name).read_bytes())
        if segment.startswith("CLM*")
    )
    staged_claims = set().union(*claims_by_interchange(world.engine).values())
    assert set(on_server) == staged_claims and set(on_server.values()) == {1}, on_server
    assert set(submitted_events(world.engine).values()) == {1}  # and the ledger agrees
    # The first interchange was written once: the Retry did not send it again. (The second was written
    # twice: its first rename was refused, so it never reached the clearinghouse before the Retry.)
    assert sshd.opens_for_write(upload / (world.names[0] + ".part")) == 1
    assert sshd.opens_for_write(upload / (world.names[1] + ".part")) == 2


def test_retry_clicked_in_the_ui_after_marking_the_failed_upload_completed_finishes_the_night_once(
    page: Page, server: PrefectServer, world: tuple[StagedWorld, Worker], sshd: OpenSshServer, tmp_path: Path
) -> None:
    """One failed night, worked the way an operator does: mark the failed task Completed, fix, press Retry.

    Both operator paths meet here, on one failed night (a night costs two flow-run processes on the worker):
    the plain Retry (the run is retried from the top and finishes) and Prefect #15751 / #18303 (the task marked
    Completed is not skipped on the Retry: it runs again, and the ledger keeps it from sending anything twice).
    """
    staged, worker = world
    run_id = fail_the_first_night(page, server, staged, worker, sshd)
    failed_tasks = failed_task_runs(server, run_id)
    assert [t["name"] for t in failed_tasks] == ["submit-claims-0"], failed_tasks  # the subflow, as a task run
    [submit] = server.post(
        "/flow_runs/filter", {"flow_runs": {"parent_task_run_id": {"any_": [failed_tasks[0]["id"]]}}}
    )
    failed_tasks = failed_task_runs(server, submit["id"])
    assert [t["name"].rsplit("-", 1)[0] for t in failed_tasks] == ["upload-interchanges"], failed_tasks

    # The operator marks the failed upload Completed, believing the Retry will then skip it.
    page.goto(f"{server.url}/runs/task-run/{failed_tasks[0]['id']}")
    page.locator(".page-heading").get_by_role("button").last.click()
    page.get_by_text("Change state", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.locator("button.p-select-button__control").click()
    page.keyboard.press("ArrowDown")  # opens the state list
    page.get_by_text("Completed", exact=True).click()
    dialog.get_by_role("button", name="Change", exact=True).click()
    wait_for(
        lambda: server.get(f"/task_runs/{failed_tasks[0]['id']}")["state_type"] == "COMPLETED",
        "the task run marked Completed",
        60,
        str,
    )

    (sshd.served / "claims" / staged.names[1]).rmdir()  # the clearinghouse is fixed
    press_retry(page, server, run_id)
    retried = final_run(server, worker, run_id, after_run_count=1)
    assert retried["state_type"] == "COMPLETED", worker.log_tail()
    assert retried["run_count"] == 2

    page.goto(f"{server.url}/runs/flow-run/{run_id}")
    page.locator(".state-badge", has_text="Completed").first.wait_for()
    evidence = tmp_path / "flow-run-after-retry.png"
    page.screenshot(path=str(evidence), full_page=True)
    print(f"evidence: {evidence}")
    # Prefect ran the upload again (the second interchange reached the server only on the Retry) ...
    assert sshd.renames_onto(sshd.served / "claims" / staged.names[1]) == 1
    # ... and the ledger kept it from sending anything twice.
    assert_each_interchange_and_claim_reached_the_server_once(sshd, staged)
