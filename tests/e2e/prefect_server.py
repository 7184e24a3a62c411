"""A throwaway real Prefect server (SQLite in a temporary folder) and the venv's ``prefect`` command."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment() -> dict[str, str]:
    """This process's environment without any PREFECT_* or REVCYCLE_* setting, plus the offline switches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVCYCLE_"))}
    env.update(OFFLINE_ENV)
    return env


def stop_process_group(process: subprocess.Popen[Any], grace_seconds: float = 10) -> None:
    """Terminate ``process`` and everything it started (it leads its own session), then reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_seconds)
    # Children may outlive a leader that already exited; the group id is still the leader's pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=grace_seconds)


class PrefectServer:
    """``prefect server start`` on a free port of 127.0.0.1 with its own PREFECT_HOME and SQLite database."""

    def __init__(
        self, home: Path, *, start_timeout: float = 90, ui: bool = False, extra_env: Mapping[str, str] | None = None
    ) -> None:
        """Configure the server; nothing runs until ``start()``. ``ui`` serves the web UI at ``url``."""
        self.home = Path(home)
        self.ui = ui
        self.extra_env = dict(extra_env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.start_timeout = start_timeout
        self.log_path = self.home / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def client_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a ``prefect`` command talking to this server."""
        env = clean_environment()
        env.update(
            {
                "PREFECT_HOME": str(self.home / "client-home"),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_LOGGING_LEVEL": "INFO",
                # Rich output must not wrap long names or ids into several lines.
                "COLUMNS": "200",
            }
        )
        env.update(extra or {})
        return env

    def start(self) -> None:
        """Start the server and wait until ``/api/health`` answers, or raise with the server's log."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = clean_environment()
        env.update(
            {
                "PREFECT_HOME": str(self.home / "server-home"),
                "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
                "PREFECT_UI_ENABLED": "true" if self.ui else "false",
                # The UI's JavaScript asks this address (the default is port 4200).
                "PREFECT_UI_API_URL": self.api_url,
                **self.extra_env,
            }
        )
        log = self.log_path.open("wb")
        try:
            self._process = subprocess.Popen(
                [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prefect server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"prefect server not healthy after {self.start_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server and every process it started."""
        if self._process is not None:
            stop_process_group(self._process)
            self._process = None

    def __enter__(self) -> Self:
        """Start the server (stopping it again if it does not come up) and return it."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server."""
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def cli(
        self,
        args: Sequence[str],
        *,
        cwd: Path = REPO_ROOT,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``prefect <args>`` against this server; raise with its output if it fails."""
        command = [PREFECT, *args]
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=self.client_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                stop_process_group(process)
        result = subprocess.CompletedProcess(command, process.returncode, output, None)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited with {result.returncode}:\n{output}")
        return result

    def get(self, path: str) -> Any:
        """GET ``path`` of the REST API as JSON."""
        response = httpx.get(f"{self.api_url}{path}", timeout=60)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` to ``path`` of the REST API, return the JSON answer."""
        response = httpx.post(f"{self.api_url}{path}", json=dict(body), timeout=60)
        response.raise_for_status()
        return response.json()
