"""Prefect's own database on PostgreSQL (issue 15, done when 3): a real ``prefect server start`` whose database
is a PostgreSQL database of its own, the nightly deployed from prefect.yaml and run by a process worker.

The run's flow run, its subflow runs and its task runs, with their final states, are read back from the
server's PostgreSQL tables: the proof that Prefect stored them there and not in a SQLite file.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pipeline import pipeline_world
from prefect_server import REPO_ROOT, PrefectServer
from sqlalchemy import create_engine, text
from warehouse_databases import postgres_admin

pytestmark = pytest.mark.e2e

POOL = "revcycle-process"
NIGHTLY = "nightly-revenue-cycle/nightly"
AS_OF = date(2026, 11, 20)


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A new PostgreSQL database for Prefect (``prefect_test_<random>``), dropped afterwards; yields its URL."""
    admin = postgres_admin()
    name = f"prefect_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin.url.set(drivername="postgresql+psycopg", database=name)
    try:
        yield base.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_worker_runs_the_nightly_on_a_server_whose_database_is_postgresql(
    prefect_database: str, tmp_path: Path
) -> None:
    asyncpg_url = prefect_database.replace("postgresql+psycopg://", "postgresql+asyncpg://", 1)
    server_env = {"PREFECT_API_DATABASE_CONNECTION_URL": asyncpg_url}
    with (
        PrefectServer(tmp_path / "prefect", extra_env=server_env) as server,
        pipeline_world(tmp_path / "work") as world,
    ):
        for seed in (401, 402):
            world.write_export(seed=seed, encounters=8, as_of=AS_OF)
        server.cli(["work-pool", "create", POOL, "--type", "process"])
        server.cli(["--no-prompt", "deploy", "--name", "nightly"], cwd=REPO_ROOT, timeout=300)
        triggered = server.cli(["deployment", "run", NIGHTLY, "--param", f"batch_date={AS_OF.isoformat()}"])
        match = re.search(r"UUID: ([0-9a-f-]{36})", triggered.stdout)
        assert match, triggered.stdout
        run_id = match.group(1)
        worker_home = tmp_path / "worker"
        worker_home.mkdir()
        # The worker gets the sandbox's REVCYCLE_* settings that pipeline_world put in this process's environment.
        worker_env = {k: v for k, v in os.environ.items() if k.startswith("REVCYCLE_")}
        worker_env["REVCYCLE_REPO"] = str(REPO_ROOT)
        worker = server.cli(
            ["worker", "start", "--pool", POOL, "--run-once"], cwd=worker_home, env=worker_env, timeout=600
        )
        api_state = server.get(f"/flow_runs/{run_id}")["state_type"]
        assert api_state == "COMPLETED", f"run ended {api_state}:\n{worker.stdout[-4000:]}"
        assert world.uploaded_files, "the nightly sent nothing to the sandbox clearinghouse"

        stored = create_engine(prefect_database)
        try:
            with stored.connect() as conn:
                flow_runs = sorted(
                    (str(name), str(state))
                    for name, state in conn.execute(
                        text(
                            "SELECT f.name, r.state_type FROM flow_run r JOIN flow f ON f.id = r.flow_id"
                            " WHERE r.id = :run OR r.parent_task_run_id IN"
                            " (SELECT id FROM task_run WHERE flow_run_id = :run)"
                        ),
                        {"run": run_id},
                    )
                )
                task_states = conn.execute(
                    text(
                        "SELECT t.name, t.state_type FROM task_run t JOIN flow_run r ON r.id = t.flow_run_id"
                        " WHERE r.id = :run OR r.parent_task_run_id IN"
                        " (SELECT id FROM task_run WHERE flow_run_id = :run)"
                    ),
                    {"run": run_id},
                ).all()
        finally:
            stored.dispose()
    # The nightly and the subflows it calls (flows/nightly.py: submission and pickup; the eligibility and
    # status-inquiry subflows run only with batch eligibility on, off here), each Completed.
    assert flow_runs == [
        ("ingest-responses", "COMPLETED"),
        ("nightly-revenue-cycle", "COMPLETED"),
        ("submit-claims", "COMPLETED"),
    ]
    names = [name.rsplit("-", 1)[0] for name, _state in task_states]
    # One intake task per export, then staging and the upload inside submit-claims.
    assert names.count("intake-charge-export") == 2
    assert {"stage-interchanges", "upload-interchanges"} <= set(names)
    assert {str(state) for _name, state in task_states} == {"COMPLETED"}
