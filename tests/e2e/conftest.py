"""End-to-end fixtures: one temporary Prefect API for the session (real server process, temp database)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

for _name, _value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(_name, _value)


def pytest_configure(config: pytest.Config) -> None:
    """Let Prefect configure logging now, once, before any test's log capture attaches.

    Prefect configures logging when its public API is first imported (``from prefect import flow`` in
    flows/nightly.py), with a ``dictConfig`` that replaces the root logger's handlers, pytest's ``caplog``
    handler among them: the test running the session's first flow captured no record at all, so its
    WARNING check failed and its "no ERROR" check could not fail.
    """
    import prefect.main  # noqa: F401  (loading it runs Prefect's logging setup)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A temporary Prefect server (subprocess, temporary SQLite database) for flows run in-process."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


REPO_ROOT = Path(__file__).resolve().parents[2]
# Two CPU-bound processes beside the demo: on the 2-core CI machine the demo gets a fraction of a core,
# as on a busy server (issue 9: Prefect's temporary API then took longer than Prefect's 20 s to start).
BUSY_PROCESSES = 2


@contextmanager
def busy_machine(processes: int = BUSY_PROCESSES) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Keep ``processes`` CPU-bound Python processes spinning for the duration of the block."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One real ``make demo`` (the CLI, its temporary Prefect API, the sandbox) on a busy machine, for inspection.

    ``make -o .venv/.installed`` runs the very target a new user runs without re-installing the environment;
    ``BIN`` points it at the interpreter running the tests.
    """
    # Named demo, as `make demo` names it: the operator sequence runs `revcycle report` beside it.
    workdir = tmp_path_factory.mktemp("demo") / "demo"
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        f"BIN={Path(sys.executable).parent}",
        "demo",
        f"ARGS=--workdir {workdir} --claims 60",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVCYCLE_", "MAKE"))}
    env.update({"PREFECT_LOGGING_LEVEL": "INFO"})
    with busy_machine() as spinners:
        completed = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900, check=False
        )
        assert all(spinner.poll() is None for spinner in spinners), "the machine was not kept busy throughout"
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return {"workdir": workdir, "stdout": completed.stdout, "stderr": completed.stderr}
