"""Progress bars on a terminal, plain text through a pipe (issue 12): ``revcycle ingest`` of a synthetic 835."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from benchmarks.bench_x12_835 import make_835


def _ingest_command(era: Path, workdir: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVCYCLE_", "PREFECT_"))}
    env.update({"REVCYCLE_WORKDIR": str(workdir), "COLUMNS": "120", "TERM": "xterm"})
    return [sys.executable, "-m", "revcycle.cli", "ingest", str(era)], env


def _run_in_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as its stdout and stderr; its exit code and everything it wrote."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=600), b"".join(chunks).decode("utf-8", "replace")


def test_revcycle_ingest_draws_a_bar_on_a_terminal_and_plain_text_through_a_pipe(tmp_path: Path) -> None:
    era = tmp_path / "ERA.835"
    claims = int(make_835(era, 60_000)["claims"])
    assert claims > 1
    (tmp_path / "tty").mkdir()
    (tmp_path / "pipe").mkdir()

    code, shown = _run_in_a_terminal(*_ingest_command(era, tmp_path / "tty"))
    assert code == 0, shown[-2000:]
    # The bar names its stage and ends with every CLP of the file done, out of as many.
    assert "remittances posted" in shown
    assert f"{claims}/{claims}" in shown
    assert "\x1b[" in shown  # drawn with terminal control sequences

    command, env = _ingest_command(era, tmp_path / "pipe")
    piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert "remittances posted" not in piped.stdout + piped.stderr
    assert "\x1b[" not in piped.stdout + piped.stderr
    assert "ERA.835" in piped.stdout  # the summary table is still there
