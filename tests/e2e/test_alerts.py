"""Alerts as code against a real ``prefect server start``: ``revcycle alerts create`` and a local webhook receiver.

The automations are created with the real command (twice: the second run must change nothing but update in
place), and each alert is seen where an operator would see it: a POST arriving at the webhook.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from delivery_world import simulated_responses, staged_world
from prefect_server import REPO_ROOT, PrefectServer

from connectors.clearinghouse.sandbox_server import SandboxSftpServer
from flows.alerts import FAILED_AUTOMATION, NIGHTLY_FLOW, QUIET_AUTOMATION, RESPONSES_FOUND, WEBHOOK_BLOCK

pytestmark = pytest.mark.e2e

REVCYCLE = str(Path(sys.executable).with_name("revcycle"))
# The automation services evaluate on their own loop; on a loaded machine a post can take a while.
POST_LIMIT_SECONDS = 120
QUIET_WINDOW = "10s"  # the shortest window Prefect accepts for a proactive trigger


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that keeps the JSON body of every POST it receives."""

    def __init__(self) -> None:
        """Listen on a free port (serving starts at once, on a daemon thread)."""
        self.posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.posts.append(json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def received(self, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The posts so far that ``match`` accepts."""
        with self._lock:
            return [post for post in self.posts if match(post)]

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def wait_for_post(receiver: WebhookReceiver, match: Callable[[dict[str, Any]], bool], server: PrefectServer) -> Any:
    """The first post ``match`` accepts; fail after ``POST_LIMIT_SECONDS``."""
    deadline = time.monotonic() + POST_LIMIT_SECONDS
    while not (found := receiver.received(match)):
        if time.monotonic() > deadline:
            pytest.fail(
                f"no matching webhook post after {POST_LIMIT_SECONDS} s; received: {receiver.posts}\n"
                f"{server.log_tail()}"
            )
        time.sleep(0.5)
    return found[0]


def revcycle(
    server: PrefectServer, *args: str, program: str = REVCYCLE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``revcycle`` command (or ``program``) against ``server`` (only the REVCYCLE_* settings ``env`` has)."""
    return subprocess.run(
        [program, *args],
        env=server.client_env(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with PrefectServer(tmp_path_factory.mktemp("prefect-alerts")) as running:
        yield running


@pytest.fixture(scope="module")
def created_twice(
    server: PrefectServer, receiver: WebhookReceiver
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """``revcycle alerts create`` run twice: with the webhook address, then again without it."""
    first = revcycle(server, "alerts", "create", "--webhook", receiver.url, "--quiet-window", QUIET_WINDOW)
    second = revcycle(server, "alerts", "create", "--quiet-window", QUIET_WINDOW)
    return first, second


def automations_named(server: PrefectServer, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = server.post("/automations/filter", {})
    return [a for a in found if a["name"] == name]


def test_running_alerts_create_twice_leaves_one_of_each(
    server: PrefectServer,
    receiver: WebhookReceiver,
    created_twice: tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]],
) -> None:
    first, second = created_twice
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"created  {FAILED_AUTOMATION}" in first.stdout and f"created  {QUIET_AUTOMATION}" in first.stdout
    assert f"updated  {FAILED_AUTOMATION}" in second.stdout and f"updated  {QUIET_AUTOMATION}" in second.stdout
    assert "created" not in second.stdout
    for name in (FAILED_AUTOMATION, QUIET_AUTOMATION):
        [automation] = automations_named(server, name)
        assert automation["enabled"] is True
        [action] = automation["actions"]
        assert action["type"] == "call-webhook"
    blocks = server.post("/block_documents/filter", {"block_types": {"slug": {"any_": ["webhook"]}}})
    assert [b["name"] for b in blocks] == [WEBHOOK_BLOCK]


def test_alerts_create_without_a_server_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in PrefectServer(tmp_path).client_env().items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [REVCYCLE, "alerts", "create", "--webhook", "http://127.0.0.1:9/x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "revcycle: PREFECT_API_URL is not set: point it at your Prefect server first "
        "(prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api)"
    ]


def test_a_failed_nightly_run_posts_to_the_webhook(
    server: PrefectServer, receiver: WebhookReceiver, created_twice: object, tmp_path: Path
) -> None:
    # A real nightly run with no clearinghouse configured: it fails at the first SFTP step.
    code = f"from flows.nightly import nightly_revenue_cycle as n; n(workdir={str(tmp_path / 'work')!r})"
    run = revcycle(server, "-c", code, program=sys.executable)
    assert run.returncode != 0, run.stdout[-2000:] + run.stderr[-2000:]
    [flow_run] = server.post("/flow_runs/filter", {"flows": {"name": {"any_": [NIGHTLY_FLOW]}}})
    assert flow_run["state_type"] == "FAILED"

    post = wait_for_post(receiver, lambda p: p.get("flow_run_id") == flow_run["id"], server)
    assert post["alert"] == FAILED_AUTOMATION
    assert (post["flow"], post["state"], post["flow_run"]) == (NIGHTLY_FLOW, "Failed", flow_run["name"])
    assert post["message"] == flow_run["state"]["message"]


def test_a_nightly_run_needing_attention_posts_and_a_completed_one_does_not(
    server: PrefectServer, receiver: WebhookReceiver, created_twice: object
) -> None:
    flow = server.post("/flows/", {"name": NIGHTLY_FLOW})
    runs = {}
    for name, final in (
        ("clean", {"type": "COMPLETED"}),
        ("attention", {"type": "FAILED", "name": "NeedsAttention"}),
    ):
        run = server.post("/flow_runs/", {"flow_id": flow["id"], "name": f"nightly-{name}"})
        server.post(f"/flow_runs/{run['id']}/set_state", {"state": {"type": "RUNNING"}, "force": True})
        server.post(f"/flow_runs/{run['id']}/set_state", {"state": final, "force": True})
        runs[name] = run["id"]

    post = wait_for_post(receiver, lambda p: p.get("flow_run_id") == runs["attention"], server)
    assert (post["alert"], post["state"], post["flow_run"]) == (
        FAILED_AUTOMATION,
        "NeedsAttention",
        "nightly-attention",
    )
    # The clean run's Completed event came first; its post would have arrived by now.
    assert receiver.received(lambda p: p.get("flow_run_id") == runs["clean"]) == []


def test_a_pickup_that_finds_nothing_for_the_window_posts_to_the_webhook(
    server: PrefectServer, receiver: WebhookReceiver, created_twice: object
) -> None:
    post = wait_for_post(receiver, lambda p: p.get("alert") == QUIET_AUTOMATION, server)
    assert post["event"] == "revcycle.responses.found"
    assert post["message"] == "the response pickup found no files at the clearinghouse for 10 s"


def test_a_pickup_that_finds_files_emits_the_event_the_quiet_alert_waits_for(
    server: PrefectServer, tmp_path: Path
) -> None:
    world = staged_world(tmp_path / "revcycle", encounters=6)
    responses = simulated_responses(world)  # a 999, a 277CA and 835s for each staged interchange
    clearinghouse = tmp_path / "clearinghouse"
    for folder in ("responses", "archive"):
        (clearinghouse / folder).mkdir(parents=True)
    for response in responses:
        (clearinghouse / "responses" / response.name).write_bytes(response.content)
    with SandboxSftpServer(clearinghouse, username="biller", password="sandbox only") as sftp:
        env = {
            "REVCYCLE_WORKDIR": str(world.root),
            "REVCYCLE_SFTP_HOST": "127.0.0.1",
            "REVCYCLE_SFTP_PORT": str(sftp.port),
            "REVCYCLE_SFTP_USERNAME": "biller",
            "REVCYCLE_SFTP_PASSWORD": "sandbox only",
            "REVCYCLE_SFTP_KNOWN_HOST": sftp.known_hosts_line(),
        }
        code = "from flows.ingest import ingest_responses as pickup; pickup()"
        run = revcycle(server, "-c", code, program=sys.executable, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]

    def found_events() -> list[dict[str, Any]]:
        body = {"filter": {"event": {"name": [RESPONSES_FOUND]}}, "limit": 10}
        events: list[dict[str, Any]] = server.post("/events/filter", body)["events"]
        return events

    deadline = time.monotonic() + POST_LIMIT_SECONDS
    while not (events := found_events()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [event["payload"]["files"] for event in events] == [len(responses)]
