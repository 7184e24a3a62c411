"""The operator sequence docs/prefect.md starts with, run line by line as subprocesses, checked by what it
leaves behind: exit codes, files on the real OpenSSH server, rows in the warehouse.

`make demo` is the session's ``demo_run`` (the Makefile target, into ``<tmp>/demo``); every other line runs
in ``<tmp>`` as written, so ``revcycle report`` finds ``./demo`` exactly as after `make demo` in a checkout.
``UPDATE_DOCS=1`` writes what the commands printed into the doc's output blocks.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect_server import REPO_ROOT, clean_environment, stop_process_group
from sqlalchemy import create_engine, func, select
from sshd import require_sshd

from revcycle.warehouse.schema import acknowledgment, claim_event, interchange, remittance, source_file

pytestmark = pytest.mark.e2e

DOC = REPO_ROOT / "docs" / "prefect.md"
BIN = Path(sys.executable).parent
SHOWN_BASE = "/home/you/revcycle"
REPORT_LINES_SHOWN = 12
DEMO_CLAIMS = 60  # conftest.demo_run: `make demo ARGS='--claims 60 ...'`: 60 encounters, one claim each


def documented_commands() -> list[str]:
    """The lines of the doc's operator-sequence block, comments cut off."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- operator-sequence", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


class Operator:
    """Runs the doc's lines in ``base`` as a shell would, keeping the variables a ``set -a; . FILE`` sets."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.env = clean_environment()
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.background: list[subprocess.Popen[bytes]] = []
        self.outputs: dict[str, subprocess.CompletedProcess[str]] = {}

    def argv(self, line: str) -> list[str]:
        words = shlex.split(line)
        if words[0] == "python":  # the checkout's scripts, with the checkout's interpreter
            return [sys.executable, str(REPO_ROOT / words[1]), *words[2:]]
        return [str(BIN / words[0]), *words[1:]]

    def run(self, line: str) -> None:
        if line.startswith("set -a; . "):
            env_file = self.base / line.split(". ", 1)[1].split(";", 1)[0]
            for entry in env_file.read_text().splitlines():
                name, _, value = entry.partition("=")
                self.env[name] = shlex.split(value)[0]
            return
        if line.endswith("&"):
            words = shlex.split(line[:-1])
            self.background.append(
                subprocess.Popen(self.argv(line[:-1]), cwd=self.base, env=self.env, start_new_session=True)
            )
            ready = self.base / words[-1] / "ready"
            deadline = time.monotonic() + 120
            while not ready.exists():
                assert self.background[-1].poll() is None, f"{line} exited"
                assert time.monotonic() < deadline, f"{line}: not ready after 120 s"
                time.sleep(0.2)
            return
        done = subprocess.run(
            self.argv(line),
            cwd=self.base,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
            check=False,
        )
        self.outputs[line] = done
        assert done.returncode == 0, f"{line} exited {done.returncode}:\n{done.stdout[-4000:]}"
        assert "Traceback" not in done.stdout, done.stdout
        assert not [row for row in done.stdout.splitlines() if " ERROR " in row], done.stdout

    def stop(self) -> None:
        for process in self.background:
            stop_process_group(process)


@pytest.fixture
def operator(demo_run: dict[str, object]) -> Iterator[Operator]:
    require_sshd()
    workdir = Path(str(demo_run["workdir"]))
    assert workdir.name == "demo", "demo_run must write ./demo for `revcycle report` to find it"
    running = Operator(workdir.parent)
    try:
        yield running
    finally:
        running.stop()


def output_of(operator: Operator, prefix: str) -> str:
    (line,) = [line for line in operator.outputs if line.startswith(prefix)]
    return operator.outputs[line].stdout


def test_the_documented_operator_sequence(operator: Operator) -> None:
    commands = documented_commands()
    assert commands[0] == "make demo"
    for line in commands[1:]:
        if line.startswith(". .venv/bin/activate"):
            continue  # the test runs the environment's binaries by path
        operator.run(line)

    base = operator.base
    served = base / "loopback" / "sshd" / "served"
    clinic = create_engine(f"sqlite:///{base / 'clinic' / 'warehouse.db'}")

    # revcycle report: the demo's warehouse, said so, with figures (not the empty report of a new warehouse).
    report = output_of(operator, "revcycle report")
    assert "using the demo's warehouse demo/warehouse.db" in report
    assert re.search(r"Clean-claim rate +│ +\d+\.\d%", report), report[:2000]
    assert not (base / "revcycle-data").exists()

    # revcycle clearinghouse check: six OKs.
    check = output_of(operator, "revcycle clearinghouse check")
    assert [line.split()[0] for line in check.splitlines()[1:-1]] == ["OK"] * 6
    assert check.splitlines()[-1] == "all 6 checks passed"

    # revcycle run nightly: every claim of the export built and submitted, one 837 per interchange on the server.
    with clinic.connect() as conn:
        # Checked after the whole sequence: the pickup has moved them on from "uploaded" since.
        uploaded = set(conn.scalars(select(interchange.c.file_name).where(interchange.c.uploaded_at.is_not(None))))
        all_interchanges = conn.scalar(select(func.count()).select_from(interchange))
        submitted = conn.scalar(
            select(func.count(func.distinct(claim_event.c.claim_key))).where(claim_event.c.status == "submitted")
        )
    assert uploaded and len(uploaded) == all_interchanges
    assert submitted == DEMO_CLAIMS
    assert {p.name for p in (served / "claims").iterdir()} == uploaded
    for name in uploaded:
        assert (served / "claims" / name).read_bytes() == (base / "clinic" / "outbound" / name).read_bytes()
    assert re.search(rf"claims built +│ +{DEMO_CLAIMS} ", output_of(operator, "revcycle run nightly"))

    # The stand-in clearinghouse answered each 837 with a 999, a 277CA and an 835 (one payer per interchange).
    answered = 3 * len(uploaded)
    assert f"{answered} response files written" in output_of(operator, "python tests/e2e/loopback_clearinghouse.py")

    # revcycle run pickup: all loaded, the inbox emptied into the archive, one 999 per interchange.
    assert list((served / "responses").iterdir()) == []
    assert len(list((served / "archive").iterdir())) == answered
    with clinic.connect() as conn:
        loaded = conn.scalar(
            select(func.count())
            .select_from(source_file)
            .where(source_file.c.origin == "sftp", source_file.c.status == "loaded")
        )
        acks = conn.scalar(select(func.count()).select_from(acknowledgment).where(acknowledgment.c.kind == "999"))
        remittances = conn.scalar(select(func.count()).select_from(remittance))
    # One remittance per 835 transaction set the stand-in sent (a file may hold several), counted in its files.
    sets_835 = sum(p.read_bytes().count(b"ST*835*") for p in (served / "archive").glob("835_*"))
    assert sets_835 >= len(uploaded)
    assert (loaded, acks, remittances) == (answered, len(uploaded), sets_835)
    pickup = output_of(operator, "revcycle run pickup")
    assert re.search(rf"999 files loaded +│ +{len(uploaded)} ", pickup), pickup
    clinic.dispose()

    if os.environ.get("UPDATE_DOCS") == "1":
        update_doc(operator)


def shown(text: str, base: Path) -> str:
    return text.replace(str(base), SHOWN_BASE).rstrip("\n") + "\n"


def update_doc(operator: Operator) -> None:
    """Write each command's output into its ``<!-- output: NAME -->`` block of the doc."""
    outputs = {
        "report": "\n".join(output_of(operator, "revcycle report").splitlines()[:REPORT_LINES_SHOWN]),
        "check": output_of(operator, "revcycle clearinghouse check"),
        "nightly": output_of(operator, "revcycle run nightly"),
        "answer": output_of(operator, "python tests/e2e/loopback_clearinghouse.py answer"),
        "pickup": output_of(operator, "revcycle run pickup"),
    }
    text = DOC.read_text(encoding="utf-8")
    for name, output in outputs.items():
        pattern = re.compile(rf"(<!-- output: {name} -->\n```text\n)(.*?)(```)", re.S)
        assert pattern.search(text), f"no output block {name} in the doc"
        text = pattern.sub(lambda m, o=output: m.group(1) + shown(o, operator.base) + m.group(3), text, count=1)
    DOC.write_text(text, encoding="utf-8")
