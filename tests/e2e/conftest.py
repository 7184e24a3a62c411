"""End-to-end fixtures: one temporary Prefect API for the session (real server process, temp database)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

for _name, _value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A temporary Prefect server (subprocess, temporary SQLite database) for flows run in-process."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One real ``revcycle demo`` run (the CLI, its ephemeral Prefect server, the sandbox) for inspection."""
    import subprocess
    import sys
    from pathlib import Path

    workdir = tmp_path_factory.mktemp("demo") / "work"
    command = [
        str(Path(sys.executable).with_name("revcycle")),
        "demo",
        "--workdir",
        str(workdir),
        "--claims",
        "60",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVCYCLE_"))}
    env.update({"PREFECT_LOGGING_LEVEL": "INFO"})
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {"workdir": workdir, "stdout": completed.stdout, "stderr": completed.stderr}
