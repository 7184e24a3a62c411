"""Run `revcycle demo --days N ...` as a user would and read its one progress line a night (e2e tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# "night 3/5 2026-01-10: 3 visits, ..., 7 still due" or "night 9 (settling, no new visits) 2026-01-16: 0 visits, ..."
NIGHT_LINE = re.compile(
    r"^night (\d+)(?:/\d+| \(settling, no new visits\)) (\d{4}-\d\d-\d\d): (\d+) visits, .*, (\d+) still due"
)


def run_demo_nights(workdir: Path, options: list[str], timeout: int) -> dict[str, object]:
    """One real `revcycle demo --workdir WORKDIR OPTIONS` (its own Prefect server and sandbox), which must succeed.

    Returns ``workdir``, ``stdout``, ``stderr`` and ``nights``: (number, date, visits, still due) per night line.
    """
    revcycle = str(Path(sys.executable).with_name("revcycle"))
    command = [revcycle, "demo", "--workdir", str(workdir), *options]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVCYCLE_"))}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    nights = [m.groups() for line in completed.stdout.splitlines() if (m := NIGHT_LINE.match(line))]
    return {"workdir": workdir, "stdout": completed.stdout, "stderr": completed.stderr, "nights": nights}
