"""Run one upload or collect pass in its own process, optionally killing itself (SIGKILL) at a named step.

Usage: ``python crash_worker.py SPEC.json``. The spec names the warehouse, the local folders, the SFTP server
(host, port, user, key file or password, pinned known_hosts line, remote root), the remote folders, the
mode (``upload`` or ``collect``) and optionally ``crash_step`` (a ``crash_hook`` step of
``connectors.clearinghouse.delivery``) and ``crash_file`` (the file name at which to die; any file when
absent). Without a crash the pass's report is printed as JSON on stdout. A crash is a real SIGKILL: no
``finally``, no atexit, no flush, exactly what the operating system does to an OOM-killed worker.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from connectors.clearinghouse.delivery import collect_responses, upload_interchanges
from connectors.clearinghouse.sftp import SftpTransport
from revcycle.responses import load_response
from revcycle.warehouse.db import create_warehouse_engine


def crash_hook(step: str | None, file_name: str | None) -> Callable[[str, str], None]:
    """A delivery ``crash_hook`` that SIGKILLs this process at ``step`` (for ``file_name``, or any file)."""

    def hook(at_step: str, name: str) -> None:
        if at_step == step and (file_name is None or name == file_name):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Do the pass the spec describes and return its report."""
    sftp = spec["sftp"]
    key_file = sftp.get("private_key_file")
    transport = SftpTransport(
        sftp["host"],
        int(sftp["port"]),
        sftp["username"],
        private_key=Path(key_file).read_text() if key_file else None,
        password=sftp.get("password"),
        known_host_key=sftp["known_host"],
        remote_root=sftp.get("remote_root", ""),
        retries=0,
        connect_timeout=5,
    )
    engine = create_warehouse_engine(spec["warehouse_url"])
    hook = crash_hook(spec.get("crash_step"), spec.get("crash_file"))
    with transport:
        if spec["mode"] == "upload":
            transport.makedirs(spec["upload_dir"])
            report: Any = upload_interchanges(
                engine,
                transport,
                outbound_dir=Path(spec["outbound_dir"]),
                upload_dir=spec["upload_dir"],
                crash_hook=hook,
            )
        else:
            report = collect_responses(
                engine,
                transport,
                inbox_dir=spec["inbox_dir"],
                archive_dir=spec.get("archive_dir"),
                inbound_local_dir=Path(spec["inbound_dir"]),
                load=load_response,
                crash_hook=hook,
            )
    engine.dispose()
    return asdict(report)


if __name__ == "__main__":
    print(json.dumps(run(json.loads(Path(sys.argv[1]).read_text()))))
