"""A stand-in clearinghouse for trying the one-shot commands: a real OpenSSH sshd on 127.0.0.1, by hand.

    python tests/e2e/loopback_clearinghouse.py start DIR    # keep it running; writes DIR/clearinghouse.env
    python tests/e2e/loopback_clearinghouse.py answer DIR   # answer each 837 uploaded since the last call

``start`` runs the tests' sshd harness (``sshd.py``: generated host and client keys, the current user,
internal folders ``claims``, ``responses`` and ``archive`` under ``DIR/sshd/served``), writes the
``REVCYCLE_*`` settings that point revcycle at it to ``DIR/clearinghouse.env`` (mode 0600) and serves until
interrupted. ``answer`` plays the clearinghouse and the payers behind it with the sandbox payer simulator:
a 999, a 277CA and the 835s for every 837 in ``claims/`` it has not answered yet, dropped into
``responses/`` under a dot-name and then renamed, as a clearinghouse does. docs/prefect.md starts with these.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sshd import OpenSshServer

from revcycle.sandbox.payer_simulator import respond

FOLDERS = ("claims", "responses", "archive")
ENV_FILE = "clearinghouse.env"
READY_FILE = "ready"
ANSWERED_FILE = "answered.txt"
# The stand-in's own interchange control numbers (ISA13) start here; any 9-digit range would do.
FIRST_CONTROL_NUMBER = 700000001


def served(base: Path) -> Path:
    """The folder the server serves (REVCYCLE_SFTP_REMOTE_ROOT)."""
    return base / "sshd" / "served"


def start(base: Path) -> None:
    """Serve until SIGINT/SIGTERM; ``DIR/ready`` appears once the server answers and the env file is written."""
    base.mkdir(parents=True, exist_ok=True)
    (base / READY_FILE).unlink(missing_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with OpenSshServer(base / "sshd") as server:
        for folder in FOLDERS:
            (server.served / folder).mkdir(mode=0o700, exist_ok=True)
        env_file = base / ENV_FILE
        env_file.touch(mode=0o600, exist_ok=True)
        env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in server.environment().items()))
        (base / READY_FILE).write_text(f"{server.port}\n")
        print(f"clearinghouse on 127.0.0.1:{server.port}; settings in {env_file}; Ctrl-C stops it", flush=True)
        stop.wait()
    (base / READY_FILE).unlink(missing_ok=True)


def answer(base: Path) -> int:
    """Answer every 837 in ``claims/`` not answered before; the number of response files written."""
    root = served(base)
    answered_file = base / ANSWERED_FILE
    answered = set(answered_file.read_text().split()) if answered_file.is_file() else set()
    counter = [FIRST_CONTROL_NUMBER + len(answered) * 100]

    def next_control_number() -> int:
        counter[0] += 1
        return counter[0]

    written = 0
    for upload in sorted((root / "claims").glob("*.x12")):
        if upload.name in answered:
            continue
        responses = respond(
            upload.read_bytes(), usage_indicator="T", now=datetime.now(UTC), control_numbers=next_control_number
        )
        for response in responses:
            hidden = root / "responses" / f".{response.name}.tmp"
            hidden.write_bytes(response.content)
            hidden.chmod(0o600)
            os.replace(hidden, root / "responses" / response.name)
            written += 1
        answered.add(upload.name)
        print(f"{upload.name}: answered with {', '.join(r.name for r in responses)}", flush=True)
    answered_file.write_text("".join(f"{name}\n" for name in sorted(answered)))
    return written


def main(argv: list[str]) -> int:
    """``start DIR`` or ``answer DIR``."""
    if len(argv) != 2 or argv[0] not in ("start", "answer"):
        print(__doc__, file=sys.stderr)
        return 2
    base = Path(argv[1]).resolve()
    if argv[0] == "start":
        with contextlib.suppress(KeyboardInterrupt):
            start(base)
        return 0
    print(f"{answer(base)} response files written to {served(base) / 'responses'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
