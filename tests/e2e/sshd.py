"""A real OpenSSH ``sshd`` for the tests: 127.0.0.1, a free port, generated keys, the current user, internal-sftp.

Nothing here is stored in the repository: the host key, the client key and ``authorized_keys`` are generated
in a temporary folder per server. The server runs in the foreground (``-D -e``) in its own process group, so
``stop()`` takes its per-connection children with it and ``kill_sessions()`` can drop every open connection
without stopping the listener. internal-sftp logs each operation (``-l INFO``) to the server log, which the
tests read to count what really reached the server (opens, renames, logins).

When ``/usr/sbin/sshd`` is missing the calling test is skipped with the reason, except under ``CI=true``
where it fails: ``.ci/run`` installs openssh-server, so absence in CI is a broken environment.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from connectors.clearinghouse.keys import generate_ed25519_private_key, load_private_key, public_key_line
from connectors.clearinghouse.sftp import SftpTransport

SSHD = os.environ.get("REVCYCLE_TEST_SSHD", "/usr/sbin/sshd")
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server")
PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")


def require_sshd() -> tuple[str, str]:
    """The sshd and sftp-server binaries; skip the test when absent (fail under ``CI=true``)."""
    sftp_server = next((path for path in SFTP_SERVERS if os.access(path, os.X_OK)), None)
    if os.access(SSHD, os.X_OK) and sftp_server is not None:
        return SSHD, sftp_server
    reason = (
        f"OpenSSH server not found ({SSHD} and sftp-server in {', '.join(SFTP_SERVERS)}): install "
        "openssh-server (apt-get install openssh-server) to run the real-sshd tests"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_secret(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def _children(pid: int) -> list[int]:
    """Every descendant process of ``pid`` (read from /proc; no psutil here)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may hold spaces, so split after its ")".
        ppid = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class OpenSshServer:
    """One ``sshd -D -e`` serving ``served`` (an absolute folder the transport uses as its remote root)."""

    def __init__(self, base: Path, *, password_authentication: bool = False) -> None:
        """Generate keys and folders under ``base``; nothing runs until ``start()``."""
        self.binary, self.sftp_server = require_sshd()
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.served = self.base / "served"
        self.served.mkdir(exist_ok=True)
        self.user = getpass.getuser()
        self.port = free_port()
        self.password_authentication = password_authentication
        self.host_key_file = self.base / "ssh_host_ed25519_key"
        self.set_host_key(generate_ed25519_private_key())
        self.client_key_text = generate_ed25519_private_key()
        self.client_key_file = self.base / "client_ed25519"
        _write_secret(self.client_key_file, self.client_key_text)
        self.authorized_keys = self.base / "authorized_keys"
        self.authorized_keys.write_text(public_key_line(load_private_key(self.client_key_text)) + "\n")
        self.config_file = self.base / "sshd_config"
        self.pid_file = self.base / "sshd.pid"
        self.log_path = self.base / "sshd.log"
        self.sftp_log_path = self.base / "sftp-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    # -- keys and configuration -------------------------------------------------------------------------

    def set_host_key(self, private_key_text: str) -> None:
        """Use this host key from the next ``start()`` on (a changed key simulates an impostor)."""
        _write_secret(self.host_key_file, private_key_text)
        self._host_public = load_private_key(private_key_text)

    def known_hosts_line(self) -> str:
        """The known_hosts line pinning the current host key for ``[127.0.0.1]:port``."""
        return f"[127.0.0.1]:{self.port} {public_key_line(self._host_public)}"

    def _config(self, penalties: bool) -> str:
        lines = [
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key_file}",
            f"PidFile {self.pid_file}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            f"AllowUsers {self.user}",
            "StrictModes no",
            "UsePAM no",
            "PubkeyAuthentication yes",
            f"PasswordAuthentication {'yes' if self.password_authentication else 'no'}",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin yes",
            "MaxStartups 100",
            "MaxAuthTries 3",
            "LoginGraceTime 20",
            "LogLevel VERBOSE",
            # sftp-server rather than internal-sftp: run through the login shell, its log (-e) can be sent to
            # a file the tests read, instead of to the client's stderr channel.
            f"Subsystem sftp {self.sftp_server} -e -l INFO 2>>{self.sftp_log_path}",
        ]
        if penalties:
            # OpenSSH 9.8+ penalises addresses whose sessions crash or fail to log in; the tests do both on
            # purpose, from 127.0.0.1, and must not be locked out.
            lines.append("PerSourcePenalties no")
        return "\n".join(lines) + "\n"

    def _write_config(self) -> None:
        self.config_file.write_text(self._config(penalties=True))
        check = subprocess.run(
            [self.binary, "-t", "-f", str(self.config_file)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0 and "PerSourcePenalties" in check.stderr:
            self.config_file.write_text(self._config(penalties=False))
            check = subprocess.run(
                [self.binary, "-t", "-f", str(self.config_file)], capture_output=True, text=True, check=False
            )
        if check.returncode != 0:
            raise RuntimeError(f"sshd refused the generated configuration:\n{check.stderr}")

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self, timeout: float = 15) -> None:
        """Start sshd on ``self.port`` and wait until it answers with an SSH banner."""
        if self._process is not None:
            raise RuntimeError("sshd is already running")
        if not PRIVILEGE_SEPARATION_DIR.is_dir() and os.geteuid() == 0:
            PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._write_config()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self.binary, "-D", "-e", "-f", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise RuntimeError(f"sshd exited with {code}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                probe.settimeout(2)
                if probe.recv(64).startswith(b"SSH-2.0-"):
                    return
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"sshd did not answer on port {self.port}:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop sshd and every connection it serves (the whole process group)."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        # The listener may be gone while a session child lingers a moment; wait for the port to free up.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop and start again on the same port with the same keys (a server restart)."""
        self.stop()
        self.start()

    def kill_sessions(self) -> int:
        """SIGKILL every per-connection sshd process, keeping the listener: the network drops mid-session."""
        if self._process is None:
            return 0
        killed = 0
        for pid in _children(self._process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        return killed

    def __enter__(self) -> Self:
        """Start the server and return it."""
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server."""
        self.stop()

    # -- what clients and tests need -------------------------------------------------------------------

    def transport(self, *, port: int | None = None, **overrides: object) -> SftpTransport:
        """An SftpTransport logged in with the generated client key, rooted at ``served``.

        ``port`` connects elsewhere (a proxy in front of this server) while pinning this server's host key.
        """
        options: dict[str, object] = {
            "private_key": self.client_key_text,
            "known_host_key": self.known_hosts_line(),
            "remote_root": str(self.served),
            "retries": 0,
            "connect_timeout": 5,
            "banner_timeout": 5,
            "auth_timeout": 5,
        }
        options.update(overrides)
        return SftpTransport("127.0.0.1", port or self.port, self.user, **options)  # type: ignore[arg-type]

    def environment(
        self, upload_dir: str = "claims", inbox_dir: str = "responses", archive_dir: str = "archive"
    ) -> dict[str, str]:
        """The ``REVCYCLE_*`` settings pointing a run at this server (key login, pinned host key)."""
        return {
            "REVCYCLE_SFTP_HOST": "127.0.0.1",
            "REVCYCLE_SFTP_PORT": str(self.port),
            "REVCYCLE_SFTP_USERNAME": self.user,
            "REVCYCLE_SFTP_PRIVATE_KEY_FILE": str(self.client_key_file),
            "REVCYCLE_SFTP_KNOWN_HOST": self.known_hosts_line(),
            "REVCYCLE_SFTP_REMOTE_ROOT": str(self.served),
            "REVCYCLE_REMOTE_UPLOAD_DIR": upload_dir,
            "REVCYCLE_REMOTE_INBOX_DIR": inbox_dir,
            "REVCYCLE_REMOTE_ARCHIVE_DIR": archive_dir,
        }

    def log_text(self) -> str:
        """Everything sshd logged so far (connections, logins)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def sftp_log_text(self) -> str:
        """Every operation sftp-server logged so far (opens, closes, renames, removes)."""
        try:
            return self.sftp_log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        """The end of the sshd log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def renames_onto(self, final_path: Path) -> int:
        """How many renames (posix-rename or plain) onto ``final_path`` sftp-server carried out.

        At log level INFO sftp-server logs each request and, right after it, ``sent status ...`` only when
        the request failed; a refused rename is therefore not counted.
        """
        pattern = re.compile(r'rename old "[^"]*" new "' + re.escape(str(final_path)) + '"$')
        lines = self.sftp_log_text().splitlines()
        return sum(
            1
            for index, line in enumerate(lines)
            if pattern.search(line) and not (index + 1 < len(lines) and lines[index + 1].startswith("sent status"))
        )

    def opens_for_write(self, path: Path) -> int:
        """How many times internal-sftp opened ``path`` for writing."""
        pattern = re.compile(r'open "' + re.escape(str(path)) + r'" flags [A-Z,]*WRITE')
        return len(pattern.findall(self.sftp_log_text()))

    def accepted_logins(self) -> int:
        """How many logins sshd accepted."""
        return self.log_text().count("Accepted publickey") + self.log_text().count("Accepted password")

    def connections(self) -> int:
        """How many TCP connections sshd received."""
        return len(re.findall(r"Connection from 127\.0\.0\.1 port", self.log_text()))


class DroppingProxy:
    """A TCP relay on 127.0.0.1 in front of a server that can cut the connection mid-transfer, once.

    ``arm(direction, after_bytes)``: the next time ``after_bytes`` more bytes have been relayed in
    ``direction`` (``"up"`` client to server, ``"down"`` server to client), both sockets of that connection are
    closed, as when a network path dies. Later connections are relayed untouched.
    """

    def __init__(self, target_port: int) -> None:
        """Listen on a free port; relay every connection to ``target_port``."""
        self.target_port = target_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._armed: tuple[str, int] | None = None
        self._counted = {"up": 0, "down": 0}
        self.drops = 0
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, direction: str, after_bytes: int) -> None:
        """Drop the connection once ``after_bytes`` more bytes have gone ``direction``."""
        with self._lock:
            self._armed = (direction, after_bytes)
            self._counted = {"up": 0, "down": 0}

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "down"), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        try:
            while chunk := source.recv(4096):
                with self._lock:
                    drop = False
                    if self._armed is not None and self._armed[0] == direction:
                        allowed = self._armed[1] - self._counted[direction]
                        if len(chunk) >= allowed:
                            chunk, drop = chunk[: max(allowed, 0)], True
                        self._counted[direction] += len(chunk)
                if chunk:
                    sink.sendall(chunk)
                if drop:
                    with self._lock:
                        self._armed = None
                        self.drops += 1
                    break
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        """Stop listening and close every relayed connection."""
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
