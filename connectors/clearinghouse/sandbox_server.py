"""The embedded sandbox clearinghouse's SFTP server (paramiko server classes, 127.0.0.1 only).

It serves the files under one root directory and nothing else: every client path is resolved (symlinks
included) and refused when it lands outside the root. A file that lands in the upload directory (renamed
there, or written there directly under a name not ending in ``.part``) is handed to ``on_file_landed``; the
lead's payer simulator answers it by dropping responses into a response directory.

Renames: ``posix-rename@openssh.com`` is served with ``os.replace`` (atomic, replaces the target). The plain
SFTP ``rename`` refuses an existing target, as SFTP v3 says, and is made atomic with ``link`` + ``unlink``
so a concurrent writer can never be overwritten by it.
"""

from __future__ import annotations

import hmac
import logging
import os
import posixpath
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.sftp import SFTP_FAILURE, SFTP_OK, SFTP_OP_UNSUPPORTED, SFTP_PERMISSION_DENIED

from connectors.clearinghouse.keys import generate_ed25519_key, known_hosts_line

logger = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"
_ACCEPT_POLL_SECONDS = 0.2

FileLandedCallback = Callable[[str, Path], None]
ListingCallback = Callable[[str], None]


class SandboxSftpServer:
    """An SFTP server on 127.0.0.1 serving ``root``, with a hook for files landing in ``upload_dir``.

    Authentication: ``username`` with ``password`` and/or ``authorized_public_key``. ``host_key`` is
    generated (Ed25519) when not given. ``pickup_at_once`` moves each landed file into ``processed_dir``
    right after ``on_file_landed`` returns, like a clearinghouse that takes files the moment they land.
    ``posix_rename=False`` makes the server answer posix-rename as unsupported (to test client fallbacks).
    ``on_list`` is called with the folder's path relative to the root before each directory listing is
    read (the embedded clearinghouse releases the answers that fell due there); a failure in it is logged
    and the listing goes on.
    Counters ``connections_accepted`` and ``auth_attempts`` and the list ``landed`` let tests see what
    reached the server. ``on_file_landed`` runs on the connection's thread, one landing at a time, before
    the client gets its reply (so with ``pickup_at_once`` the file is already gone when the rename returns).
    """

    def __init__(
        self,
        root: Path,
        *,
        username: str,
        authorized_public_key: paramiko.PKey | None = None,
        password: str | None = None,
        host_key: paramiko.PKey | None = None,
        on_file_landed: FileLandedCallback | None = None,
        upload_dir: str = "upload",
        processed_dir: str = "processed",
        pickup_at_once: bool = False,
        posix_rename: bool = True,
        on_list: ListingCallback | None = None,
    ) -> None:
        """Configure the server; nothing listens until ``start()``."""
        if authorized_public_key is None and password is None:
            raise ValueError("the sandbox server needs a password or an authorized public key")
        self.root = Path(root)
        self.username = username
        self.authorized_public_key = authorized_public_key
        self.password = password
        self._host_key = host_key if host_key is not None else generate_ed25519_key()
        self.on_file_landed = on_file_landed
        self.upload_dir = upload_dir
        self.processed_dir = processed_dir
        self.pickup_at_once = pickup_at_once
        self.posix_rename_supported = posix_rename
        self.on_list = on_list
        self.connections_accepted = 0
        self.auth_attempts = 0
        self.landed: list[str] = []
        self.root_real = os.path.realpath(self.root)
        self._port: int | None = None
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._transports: set[paramiko.Transport] = set()
        self._state_lock = threading.Lock()
        self._landing_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> int:
        """Create the root, upload and processed directories, listen on an ephemeral port, return it."""
        if self._listener is not None:
            raise RuntimeError("the sandbox server is already started")
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root_real = os.path.realpath(self.root)
        for directory in (self.upload_dir, self.processed_dir):
            (self.root / directory).mkdir(parents=True, exist_ok=True, mode=0o700)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LISTEN_HOST, 0))
        listener.listen(16)
        listener.settimeout(_ACCEPT_POLL_SECONDS)
        self._listener = listener
        self._port = int(listener.getsockname()[1])
        self._stopping.clear()
        self._accept_thread = threading.Thread(target=self._accept_loop, name="sandbox-sftp-accept", daemon=True)
        self._accept_thread.start()
        logger.info("sandbox SFTP server listening on %s:%d", LISTEN_HOST, self._port)
        return self._port

    def stop(self) -> None:
        """Stop accepting, close every client connection and wait for the accept loop to end."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        self.drop_connections()
        self._listener = None
        self._accept_thread = None

    def drop_connections(self) -> int:
        """Close every open client connection (simulates a network drop); return how many were closed."""
        with self._state_lock:
            transports = list(self._transports)
            self._transports.clear()
        for transport in transports:
            transport.close()
        return len(transports)

    def open_connections(self) -> int:
        """How many client connections are being served right now (ended ones are gone)."""
        with self._state_lock:
            return len(self._transports)

    def __enter__(self) -> Self:
        """Start the server (if not started) and return it."""
        if self._listener is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def port(self) -> int:
        """The listening port (only after ``start()``)."""
        if self._port is None:
            raise RuntimeError("the sandbox server is not started")
        return self._port

    @property
    def host_key(self) -> paramiko.PKey:
        """The server's host key (its public half is what clients pin)."""
        return self._host_key

    def known_hosts_line(self) -> str:
        """The known_hosts line a client pins for this server: ``[127.0.0.1]:port type base64``."""
        return known_hosts_line(LISTEN_HOST, self.port, self._host_key)

    # -- connections -----------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with self._state_lock:
                self.connections_accepted += 1
            threading.Thread(target=self._serve, args=(connection,), name="sandbox-sftp-conn", daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(None)
        transport = paramiko.Transport(connection)
        transport.add_server_key(self._host_key)
        transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _SandboxSftp, sandbox=self)
        with self._state_lock:
            self._transports.add(transport)
        try:
            transport.start_server(server=_SandboxAuth(self))
            transport.join()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            # Refused host keys and failed logins end here; the client reports them on its side.
            logger.debug("sandbox SFTP connection ended during negotiation: %s", type(exc).__name__)
        finally:
            transport.close()
            with self._state_lock:
                self._transports.discard(transport)

    # -- paths -----------------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path | None:
        """The absolute local path for a client path, or ``None`` when it would escape the root."""
        if "\x00" in path:
            return None
        candidate = os.path.realpath(os.path.join(self.root_real, path.lstrip("/")))
        if candidate != self.root_real and not candidate.startswith(self.root_real + os.sep):
            return None
        return Path(candidate)

    def relative(self, absolute: Path) -> str:
        """``absolute`` as a posix path relative to the root."""
        return Path(absolute).relative_to(self.root_real).as_posix()

    def is_landing(self, absolute: Path) -> bool:
        """True when a file at ``absolute`` counts as landed in the upload directory."""
        upload = os.path.realpath(os.path.join(self.root_real, self.upload_dir))
        return str(Path(absolute).parent) == upload and not Path(absolute).name.endswith(".part")

    def file_landed(self, absolute: Path) -> None:
        """Record a landed file, call ``on_file_landed``, then pick it up at once if configured."""
        with self._landing_lock:
            relative = self.relative(absolute)
            self.landed.append(relative)
            if self.on_file_landed is not None:
                try:
                    self.on_file_landed(relative, absolute)
                except Exception:
                    # The upload itself succeeded: a simulator bug must not turn it into a client error.
                    logger.exception("on_file_landed failed for %s", relative)
            if self.pickup_at_once and absolute.exists():
                self._pick_up(absolute)

    def listing(self, absolute: Path) -> None:
        """Call ``on_list`` for a folder about to be listed."""
        if self.on_list is None:
            return
        try:
            relative = "." if str(absolute) == self.root_real else self.relative(absolute)
            self.on_list(relative)
        except Exception:
            # The listing itself must still work: a simulator bug must not turn it into a client error.
            logger.exception("on_list failed")

    def _pick_up(self, absolute: Path) -> None:
        processed = self.root / self.processed_dir
        target = processed / absolute.name
        counter = 1
        while target.exists():
            # A resent file keeps its earlier copy: the clearinghouse would have both.
            target = processed / f"{absolute.name}.{counter}"
            counter += 1
        os.replace(absolute, target)


def _sftp_code(error: OSError) -> int:
    """The SFTP status code for a local OS error."""
    if error.errno is None:
        return int(SFTP_FAILURE)
    return int(paramiko.SFTPServer.convert_errno(error.errno))


class _SandboxAuth(paramiko.ServerInterface):
    """Authentication and channel policy for one sandbox connection."""

    def __init__(self, sandbox: SandboxSftpServer) -> None:
        self.sandbox = sandbox

    def get_allowed_auths(self, username: str) -> str:
        methods = []
        if self.sandbox.authorized_public_key is not None:
            methods.append("publickey")
        if self.sandbox.password is not None:
            methods.append("password")
        return ",".join(methods)

    def _user_ok(self, username: str) -> bool:
        return hmac.compare_digest(username.encode(), self.sandbox.username.encode())

    def check_auth_password(self, username: str, password: str) -> int:
        with self.sandbox._state_lock:
            self.sandbox.auth_attempts += 1
        expected = self.sandbox.password
        if (
            expected is not None
            and self._user_ok(username)
            and hmac.compare_digest(password.encode(), expected.encode())
        ):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        with self.sandbox._state_lock:
            self.sandbox.auth_attempts += 1
        expected = self.sandbox.authorized_public_key
        if expected is not None and self._user_ok(username) and hmac.compare_digest(key.asbytes(), expected.asbytes()):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _SandboxHandle(paramiko.SFTPHandle):
    """An open file; closing a file written in the upload directory counts as a landing."""

    def __init__(self, flags: int, handle: Any, absolute: Path, sandbox: SandboxSftpServer, writing: bool):
        super().__init__(flags)
        self._handle = handle
        self._absolute = absolute
        self._sandbox = sandbox
        self._writing = writing
        self._closed = False
        if handle.readable():
            self.readfile = handle
        if writing:
            self.writefile = handle

    def stat(self) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self._handle.fileno()))
        except OSError as exc:
            return _sftp_code(exc)

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        # Permissions and times sent by clients are ignored: the sandbox decides them (0600).
        return SFTP_OK

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        super().close()
        if self._writing and self._sandbox.is_landing(self._absolute) and self._absolute.exists():
            self._sandbox.file_landed(self._absolute)


class _SandboxSftp(paramiko.SFTPServerInterface):
    """File operations confined to the sandbox root."""

    def __init__(self, server: paramiko.ServerInterface, *args: Any, sandbox: SandboxSftpServer, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.sandbox = sandbox

    def _resolve(self, path: str) -> Path | None:
        resolved = self.sandbox.resolve(path)
        if resolved is None:
            logger.warning("sandbox SFTP refused a path outside its root")
        return resolved

    def canonicalize(self, path: str) -> str:
        return posixpath.normpath("/" + path)

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> paramiko.SFTPHandle | int:
        absolute = self._resolve(path)
        if absolute is None:
            return SFTP_PERMISSION_DENIED
        access = flags & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
        writing = access != os.O_RDONLY
        if access == os.O_RDONLY:
            mode = "rb"
        elif access == os.O_WRONLY:
            mode = "ab" if flags & os.O_APPEND else "wb"
        else:
            mode = "a+b" if flags & os.O_APPEND else "r+b"
        try:
            fd = os.open(absolute, flags | os.O_NOFOLLOW | getattr(os, "O_BINARY", 0), 0o600)
        except OSError as exc:
            return _sftp_code(exc)
        try:
            handle = os.fdopen(fd, mode)
        except OSError as exc:
            os.close(fd)
            return _sftp_code(exc)
        return _SandboxHandle(flags, handle, absolute, self.sandbox, writing)

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        absolute = self._resolve(path)
        if absolute is None:
            return SFTP_PERMISSION_DENIED
        self.sandbox.listing(absolute)
        try:
            listing = []
            with os.scandir(absolute) as entries:
                for entry in entries:
                    try:
                        stat = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # renamed away since the folder was read (an answer's temporary file): not listed
                    listing.append(paramiko.SFTPAttributes.from_stat(stat, entry.name))
            return listing
        except OSError as exc:
            return _sftp_code(exc)

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        absolute = self._resolve(path)
        if absolute is None:
            return SFTP_PERMISSION_DENIED
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(absolute))
        except OSError as exc:
            return _sftp_code(exc)

    def lstat(self, path: str) -> paramiko.SFTPAttributes | int:
        absolute = self._resolve(path)
        if absolute is None:
            return SFTP_PERMISSION_DENIED
        try:
            return paramiko.SFTPAttributes.from_stat(os.lstat(absolute))
        except OSError as exc:
            return _sftp_code(exc)

    def remove(self, path: str) -> int:
        absolute = self._resolve(path)
        if absolute is None:
            return SFTP_PERMISSION_DENIED
        try:
            os.remove(absolute)
        except OSError as exc:
            return _sftp_code(exc)
        return SFTP_OK

    def rename(self, oldpath: str, newpath: str) -> int:
        old, new = self._resolve(oldpath), self._resolve(newpath)
        if old is None or new is None:
            return SFTP_PERMISSION_DENIED
        try:
            if old.is_dir():
                if new.exists():
                    return SFTP_FAILURE
                os.rename(old, new)
            else:
                # link fails with EEXIST when the target exists: a no-clobber rename without a race.
                os.link(old, new, follow_symlinks=False)
                os.unlink(old)
        except FileExistsError:
            return SFTP_FAILURE
        except OSError as exc:
            return _sftp_code(exc)
        self._after_rename(new)
        return SFTP_OK

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        if not self.sandbox.posix_rename_supported:
            return SFTP_OP_UNSUPPORTED
        old, new = self._resolve(oldpath), self._resolve(newpath)
        if old is None or new is None:
            return SFTP_PERMISSION_DENIED
        try:
            os.replace(old, new)
        except OSError as exc:
            return _sftp_code(exc)
        self._after_rename(new)
        return SFTP_OK

    def _after_rename(self, new: Path) -> None:
        if new.is_file() and self.sandbox.is_landing(new):
            self.sandbox.file_landed(new)

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        absolute = self._resolve(path)
        if absolute is None:
            return SFTP_PERMISSION_DENIED
        try:
            os.mkdir(absolute, 0o700)
        except OSError as exc:
            return _sftp_code(exc)
        return SFTP_OK

    def rmdir(self, path: str) -> int:
        absolute = self._resolve(path)
        if absolute is None or str(absolute) == self.sandbox.root_real:
            return SFTP_PERMISSION_DENIED
        try:
            os.rmdir(absolute)
        except OSError as exc:
            return _sftp_code(exc)
        return SFTP_OK

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return SFTP_OK if self._resolve(path) is not None else SFTP_PERMISSION_DENIED

    def readlink(self, path: str) -> str | int:
        # Symlinks are how a confined tree usually leaks; the sandbox neither makes nor reveals them.
        return SFTP_OP_UNSUPPORTED

    def symlink(self, target_path: str, path: str) -> int:
        return SFTP_OP_UNSUPPORTED
