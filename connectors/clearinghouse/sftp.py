"""``SftpTransport``: the clearinghouse ``Transport`` over SFTP (paramiko), with a pinned host key.

The host key is pinned from configuration and nothing else is trusted: an unknown or changed key raises
``HostKeyMismatch`` before any credential or byte is sent. Connecting retries transient failures with
exponential backoff and jitter, never refused credentials or host keys. The connection opens lazily; when it
drops, idempotent operations (list, stat, read, download, makedirs) reconnect once, while write, rename and
remove raise ``TransientError`` because whether they took effect is unknown and the caller's ledger decides.
"""

from __future__ import annotations

import errno
import logging
import random
import socket
import stat as stat_module
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import paramiko
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_HANDLE,
    CMD_NAME,
    CMD_OPEN,
    CMD_OPENDIR,
    CMD_READDIR,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    SFTPError,
)
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile
from paramiko.ssh_exception import IncompatiblePeer

from connectors.clearinghouse.keys import load_private_key, parse_known_host_key
from connectors.clearinghouse.transport import (
    HostileRemoteName,
    RemoteFile,
    RemoteOperationFailed,
    atomic_local_write,
    validate_remote_name,
    validate_remote_path,
)
from revcycle.errors import (
    AuthenticationFailed,
    ConfigurationError,
    HostKeyMismatch,
    LedgerConflict,
    RevcycleError,
    TransientError,
)

logger = logging.getLogger(__name__)

CHUNK_SIZE = 32 * 1024
# Read requests a download keeps in flight: enough to hide the round trip, few enough that the replies
# waiting to be written to disk stay a few megabytes (paramiko asks for the whole file at once otherwise).
PREFETCH_REQUESTS = 64
UPLOAD_MODE = 0o600  # an uploaded 837 holds PHI: readable by its owner only
# How long a clean close waits for the server to close the SFTP channel before closing the socket anyway.
CLOSE_WAIT_SECONDS = 2.0
_T = TypeVar("_T")


class _UnknownHostKey(paramiko.SSHException):
    """Raised by the host-key policy: the server offered no key we pinned."""


class _RefuseUnpinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Never trust a key that was not pinned (the opposite of AutoAddPolicy)."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise _UnknownHostKey(f"host key {key.get_name()} {key.fingerprint} for {hostname} is not pinned")


def classify_connect_error(error: BaseException, where: str) -> RevcycleError | None:
    """The revcycle error for a failure while connecting to ``where`` (``host:port``), or None if unknown."""
    if isinstance(error, paramiko.BadHostKeyException):
        return HostKeyMismatch(
            f"SFTP host key of {where} does not match the pinned key "
            f"(server offered {error.key.get_name()} {error.key.fingerprint}); nothing was sent"
        )
    if isinstance(error, _UnknownHostKey):
        return HostKeyMismatch(f"SFTP {error}; nothing was sent")
    if isinstance(error, IncompatiblePeer):
        if "host key" in str(error):
            return HostKeyMismatch(
                f"SFTP server {where} does not offer a host key of the pinned type; nothing was sent"
            )
        return ConfigurationError(f"SFTP server {where} shares no algorithm with this client: {error}")
    if isinstance(error, paramiko.AuthenticationException):
        return AuthenticationFailed(f"SFTP server {where} refused the credentials ({type(error).__name__})")
    if isinstance(error, paramiko.SSHException | EOFError | OSError):
        return TransientError(f"cannot reach SFTP server {where}: {type(error).__name__}: {error}")
    return None


def _listing(sftp: paramiko.SFTPClient, path: str) -> list[tuple[str, int, int, int]]:
    """``(name, mode, size, mtime)`` of every entry of the remote folder ``path``, names never refused.

    paramiko's ``listdir_attr`` decodes names strictly as UTF-8, so one file whose name is not UTF-8 makes
    the whole listing fail and would block the inbox for good. This is the same SFTP exchange with the
    names decoded with ``surrogateescape``: such a name then fails ``validate_remote_name`` like any other
    hostile name, and the other files are still listed.
    """
    # paramiko has no public listing that tolerates non-UTF-8 names: use its request primitive directly.
    request = sftp._request  # type: ignore[attr-defined]
    from_msg = SFTPAttributes._from_msg  # type: ignore[attr-defined]
    kind, message = request(CMD_OPENDIR, path)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = message.get_binary()
    entries: list[tuple[str, int, int, int]] = []
    try:
        while True:
            try:
                kind, message = request(CMD_READDIR, handle)
            except EOFError:  # paramiko's signal for the end of the folder
                break
            if kind != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(message.get_int()):
                raw_name = message.get_string()
                message.get_string()  # the "ls -l" long name, unused
                attrs = from_msg(message)
                name = raw_name.decode("utf-8", "surrogateescape")
                if name not in (".", ".."):
                    entries.append((name, attrs.st_mode or 0, int(attrs.st_size or 0), int(attrs.st_mtime or 0)))
    finally:
        request(CMD_CLOSE, handle)
    return entries


def _open_owner_only(sftp: paramiko.SFTPClient, path: str) -> SFTPFile:
    """Open ``path`` for writing (created or truncated) with permissions ``0600`` in the OPEN request itself.

    paramiko's ``open`` sends no attributes, so the server creates the file ``0666`` less its umask (``0644``
    on OpenSSH's defaults): readable by every account on the server from the first byte. The server applies
    the requested permissions (less its umask) when it creates the file; a file that already existed keeps
    its mode, so the caller sets it too before writing.
    """
    attributes = SFTPAttributes()
    attributes.st_mode = UPLOAD_MODE
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC
    # paramiko has no public open that takes attributes: the same request as its open, with them.
    kind, message = sftp._request(CMD_OPEN, path, flags, attributes)  # type: ignore[attr-defined]
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    return SFTPFile(sftp, message.get_binary(), "wb", -1)


def _is_safe_name(name: str) -> bool:
    try:
        validate_remote_name(name)
    except HostileRemoteName:
        return False
    return True


def _close_channel_cleanly(sftp: paramiko.SFTPClient) -> None:
    """End the SFTP session as OpenSSH's client does: send EOF, then wait (bounded) until the server closes.

    Closing the socket while the server's closing messages are still on their way leaves unread data, and the
    kernel then answers with a TCP reset instead of a FIN: the server logs it as an error ("Socket exception:
    Connection reset by peer" in paramiko, "Read error ... Connection reset by peer" in sshd). After EOF the
    server's SFTP process ends and the server closes the channel; once that close is read, nothing is left.
    """
    channel = sftp.get_channel()
    if channel is None or channel.closed:
        return
    channel.shutdown_write()
    deadline = time.monotonic() + CLOSE_WAIT_SECONDS
    while not channel.closed and time.monotonic() < deadline:
        time.sleep(0.005)


class SftpTransport:
    """A ``Transport`` over SFTP: pinned host key, key or password login, retries on transient failures."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        *,
        password: str | None = None,
        private_key: str | None = None,
        known_host_key: str,
        remote_root: str = "",
        connect_timeout: float = 10,
        banner_timeout: float = 10,
        auth_timeout: float = 10,
        keepalive_seconds: int = 30,
        retries: int = 3,
        backoff_base: float = 0.5,
        operation_timeout: float = 60,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Configure the connection (nothing connects until the first operation).

        ``private_key`` is PEM / OpenSSH private-key text (Ed25519, ECDSA or RSA); ``known_host_key`` is a
        known_hosts line (``[host]:port type base64``, ``host type base64`` or ``type base64``).
        ``remote_root`` (configuration, may be absolute) is the directory every relative path is resolved
        under; empty means the login directory. ``retries`` is how many times a transient connect failure
        is retried after the first attempt.
        """
        if password is None and private_key is None:
            raise ConfigurationError("the SFTP transport needs a password or a private key")
        if retries < 0:
            raise ConfigurationError("SFTP retries must be zero or more")
        if remote_root and "\x00" in remote_root:
            raise ConfigurationError("the SFTP remote root contains a NUL character")
        self.host = host
        self.remote_root = remote_root.rstrip("/") if remote_root not in ("", "/") else remote_root
        self.port = port
        self.username = username
        self._password = password
        self._pkey = load_private_key(private_key) if private_key is not None else None
        self._pinned_key = parse_known_host_key(known_host_key)
        self.connect_timeout = connect_timeout
        self.banner_timeout = banner_timeout
        self.auth_timeout = auth_timeout
        self.keepalive_seconds = keepalive_seconds
        self.retries = retries
        self.backoff_base = backoff_base
        self.operation_timeout = operation_timeout
        self._sleep = sleep
        self.connect_attempts = 0
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._posix_rename_supported: bool | None = None
        self._closed = False

    def _remote(self, path: str) -> str:
        """The server-side path of a validated relative ``path``."""
        if self.remote_root == "":
            return path
        if self.remote_root == "/":
            return f"/{path}"
        return f"{self.remote_root}/{path}"

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"

    # -- connection ------------------------------------------------------------------------------------

    def _connect_once(self) -> paramiko.SFTPClient:
        self.connect_attempts += 1
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_RefuseUnpinnedHostKey())
        pinned_name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        client.get_host_keys().add(pinned_name, self._pinned_key.get_name(), self._pinned_key)
        try:
            client.connect(
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                pkey=self._pkey,
                timeout=self.connect_timeout,
                banner_timeout=self.banner_timeout,
                auth_timeout=self.auth_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            transport = client.get_transport()
            if transport is not None and self.keepalive_seconds > 0:
                transport.set_keepalive(self.keepalive_seconds)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.operation_timeout)  # type: ignore[union-attr]
        except BaseException:
            client.close()
            raise
        self._client = client
        self._sftp = sftp
        return sftp

    def _connect(self) -> paramiko.SFTPClient:
        for attempt in range(self.retries + 1):
            try:
                sftp = self._connect_once()
            except Exception as exc:
                error = classify_connect_error(exc, self.where)
                if error is None:
                    raise
                if not isinstance(error, TransientError) or attempt == self.retries:
                    logger.warning("SFTP connect to %s failed: %s", self.where, type(error).__name__)
                    raise error from exc
                delay = self.backoff_base * (2**attempt) * random.uniform(0.5, 1.5)
                logger.info(
                    "SFTP connect to %s failed (%s), retry %d of %d in %.2fs",
                    self.where,
                    type(exc).__name__,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                self._sleep(delay)
            else:
                logger.info("SFTP connected to %s", self.where)
                return sftp
        raise AssertionError("unreachable")  # pragma: no cover

    def connect(self) -> None:
        """Open the connection now (host key, then login) instead of at the first operation."""
        self._ensure()

    def _ensure(self) -> paramiko.SFTPClient:
        if self._closed:
            raise RuntimeError("transport is closed")
        if self._sftp is not None and self._alive():
            return self._sftp
        self._disconnect()
        return self._connect()

    def _alive(self) -> bool:
        if self._client is None or self._sftp is None:
            return False
        transport = self._client.get_transport()
        channel = self._sftp.get_channel()
        if transport is None or channel is None:
            return False
        return bool(transport.is_active() and not channel.closed)

    def _disconnect(self, *, graceful: bool = False) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = None
        self._client = None
        try:
            if sftp is not None:
                if graceful:
                    _close_channel_cleanly(sftp)
                sftp.close()
        except Exception:  # closing a dead connection may fail in many ways; it is gone either way
            logger.debug("SFTP close failed", exc_info=True)
        finally:
            if client is not None:
                client.close()

    def _is_connection_error(self, error: BaseException) -> bool:
        if isinstance(error, EOFError | paramiko.SSHException | socket.timeout | ConnectionError):
            return True
        return isinstance(error, OSError) and not self._alive()

    def _call(self, operation: str, path: str, action: Callable[[paramiko.SFTPClient], _T], *, idempotent: bool) -> _T:
        sftp = self._ensure()
        try:
            return action(sftp)
        except RevcycleError:
            raise
        except Exception as exc:
            if not self._is_connection_error(exc):
                raise self._remote_error(operation, path, exc) from exc
            self._disconnect()
            if not idempotent:
                raise TransientError(
                    f"SFTP connection to {self.where} lost during {operation} of {path!r}; "
                    "whether it took effect is unknown"
                ) from exc
            logger.info("SFTP connection to %s lost during %s; reconnecting once", self.where, operation)
        sftp = self._ensure()
        try:
            return action(sftp)
        except RevcycleError:
            raise
        except Exception as exc:
            if self._is_connection_error(exc):
                self._disconnect()
                raise TransientError(
                    f"SFTP connection to {self.where} lost twice during {operation} of {path!r}"
                ) from exc
            raise self._remote_error(operation, path, exc) from exc

    @staticmethod
    def _remote_error(operation: str, path: str, error: Exception) -> Exception:
        if isinstance(error, FileNotFoundError):
            return FileNotFoundError(errno.ENOENT, f"remote {path!r} does not exist ({operation})")
        if isinstance(error, FileExistsError):  # rename_no_replace's refusal: part of the contract
            return error
        if isinstance(error, OSError):
            return RemoteOperationFailed(f"SFTP {operation} of {path!r} refused: {type(error).__name__}")
        return error

    # -- Transport -------------------------------------------------------------------------------------

    def list_dir(self, directory: str) -> list[RemoteFile]:
        """The regular files directly inside ``directory`` with safe names, sorted by name.

        Unlike paramiko's own listing, a name that is not UTF-8 does not break it (the entry is left out).
        """
        validate_remote_path(directory)

        def action(sftp: paramiko.SFTPClient) -> list[RemoteFile]:
            return sorted(
                (
                    RemoteFile(name, size, mtime)
                    for name, mode, size, mtime in _listing(sftp, self._remote(directory))
                    if stat_module.S_ISREG(mode) and _is_safe_name(name)
                ),
                key=lambda remote: remote.name,
            )

        return self._call("list_dir", directory, action, idempotent=True)

    def refused_entries(self, directory: str) -> list[str]:
        """Names in ``directory`` that ``list_dir`` leaves out for safety, so collect can report them.

        That is every name failing ``validate_remote_name`` (a name that is not UTF-8 comes back with its
        undecodable bytes as surrogates) and every entry that is neither a regular file nor a folder (a
        symlink may point outside the inbox). Returned raw and sorted; callers escape them.
        """
        validate_remote_path(directory)

        def action(sftp: paramiko.SFTPClient) -> list[str]:
            return sorted(
                name
                for name, mode, _size, _mtime in _listing(sftp, self._remote(directory))
                if not _is_safe_name(name) or not (stat_module.S_ISREG(mode) or stat_module.S_ISDIR(mode))
            )

        return self._call("list_dir", directory, action, idempotent=True)

    def read(self, path: str) -> bytes:
        """The content of the remote file ``path``."""
        validate_remote_path(path)

        def action(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(self._remote(path), "rb") as handle:
                handle.prefetch()
                return handle.read()

        return self._call("read", path, action, idempotent=True)

    def download(self, path: str, local_path: Path) -> int:
        """Stream ``path`` into ``local_path`` atomically, in chunks; the size must match the remote size.

        The file goes to a ``0600`` temporary file beside ``local_path`` as it arrives, never whole in memory.
        """
        validate_remote_path(path)

        def action(sftp: paramiko.SFTPClient) -> int:
            with sftp.open(self._remote(path), "rb") as handle:
                expected = int(handle.stat().st_size or 0)
                handle.prefetch(expected, max_concurrent_requests=PREFETCH_REQUESTS)

                def chunks() -> Iterator[bytes]:
                    while chunk := handle.read(CHUNK_SIZE):
                        yield chunk

                return atomic_local_write(Path(local_path), chunks(), expected_size=expected)

        return self._call("download", path, action, idempotent=True)

    def write(self, path: str, data: bytes) -> None:
        """Create or replace ``path`` with ``data``, mode ``0600``; the remote size is checked before returning."""
        validate_remote_path(path)

        def action(sftp: paramiko.SFTPClient) -> None:
            with _open_owner_only(sftp, self._remote(path)) as handle:
                self._restrict(handle, path)
                handle.set_pipelined(True)
                view = memoryview(data)
                for offset in range(0, len(view), CHUNK_SIZE):
                    handle.write(view[offset : offset + CHUNK_SIZE].tobytes())
                handle.flush()
                written = int(handle.stat().st_size or 0)
            if written != len(data):
                raise TransientError(f"SFTP write of {path!r} stored {written} of {len(data)} bytes")

        self._call("write", path, action, idempotent=False)

    def _restrict(self, handle: SFTPFile, path: str) -> None:
        """Set ``0600`` on an open file: one that existed before the open keeps its old mode otherwise.

        Some managed SFTP services refuse SETSTAT; the file was still created ``0600`` by the open itself,
        and the upload procedure removes a leftover ``.part`` before it resends, so the refusal is noted and
        the write goes on.
        """
        try:
            handle.chmod(UPLOAD_MODE)
        except OSError:
            if not self._alive():
                raise
            logger.info(
                "SFTP server %s refused to set mode 0600 on %r; kept the mode set at creation", self.where, path
            )

    def stat(self, path: str) -> RemoteFile | None:
        """The regular file at ``path``, or None when there is none."""
        validate_remote_path(path)

        def action(sftp: paramiko.SFTPClient) -> RemoteFile | None:
            try:
                attrs = sftp.stat(self._remote(path))
            except FileNotFoundError:
                return None
            if not stat_module.S_ISREG(attrs.st_mode or 0):
                return None
            return RemoteFile(path.rpartition("/")[2], int(attrs.st_size or 0), int(attrs.st_mtime or 0))

        return self._call("stat", path, action, idempotent=True)

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` onto ``dst``: posix-rename (atomic replace) where supported, else a guarded fallback.

        Fallback when the server lacks posix-rename: plain rename; if the target exists with the same size
        (the same deterministic file sent again) it is removed and the rename repeated; a target of another
        size raises ``LedgerConflict``.
        """
        validate_remote_path(src)
        validate_remote_path(dst)

        def action(sftp: paramiko.SFTPClient) -> None:
            if self._posix_rename_supported is not False:
                try:
                    sftp.posix_rename(self._remote(src), self._remote(dst))
                    self._posix_rename_supported = True
                    return
                except OSError as exc:
                    if exc.errno is not None or "unsupported" not in str(exc).lower() or not self._alive():
                        raise
                    logger.info("SFTP server %s has no posix-rename; using plain rename", self.where)
                    self._posix_rename_supported = False
            self._fallback_rename(sftp, self._remote(src), self._remote(dst))

        self._call("rename", f"{src} -> {dst}", action, idempotent=False)

    def _fallback_rename(self, sftp: paramiko.SFTPClient, src: str, dst: str) -> None:
        try:
            sftp.rename(src, dst)
            return
        except FileNotFoundError:
            raise
        except OSError:
            if not self._alive():
                raise
            try:
                target = sftp.stat(dst)
            except FileNotFoundError:
                target = None
            if target is None:
                raise
        source = sftp.stat(src)
        if target.st_size != source.st_size:
            raise LedgerConflict(
                f"cannot rename {src!r} onto {dst!r}: the target exists with another size "
                f"({target.st_size} vs {source.st_size} bytes)"
            )
        sftp.remove(dst)
        sftp.rename(src, dst)

    def rename_no_replace(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst`` with SFTP's plain rename, which refuses an existing target.

        OpenSSH's sftp-server carries it out with ``link`` and ``unlink``, so nothing at ``dst`` is ever
        replaced, even by a concurrent writer. A refusal with a file at ``dst`` raises ``FileExistsError``.
        """
        validate_remote_path(src)
        validate_remote_path(dst)

        def action(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.rename(self._remote(src), self._remote(dst))
            except FileNotFoundError:
                raise
            except OSError:
                if not self._alive():
                    raise
                try:
                    sftp.stat(self._remote(dst))
                except FileNotFoundError:
                    raise RemoteOperationFailed(f"SFTP rename of {src!r} to {dst!r} refused") from None
                raise FileExistsError(errno.EEXIST, f"remote {dst!r} exists (rename of {src!r})") from None

        self._call("rename_no_replace", f"{src} -> {dst}", action, idempotent=False)

    def remove(self, path: str) -> None:
        """Delete the remote file ``path``."""
        validate_remote_path(path)
        self._call("remove", path, lambda sftp: sftp.remove(self._remote(path)), idempotent=False)

    def makedirs(self, directory: str) -> None:
        """Create ``directory`` and its missing parents."""
        validate_remote_path(directory)

        def action(sftp: paramiko.SFTPClient) -> None:
            parts = directory.split("/")
            for depth in range(1, len(parts) + 1):
                current = self._remote("/".join(parts[:depth]))
                try:
                    attrs = sftp.stat(current)
                except FileNotFoundError:
                    try:
                        sftp.mkdir(current, mode=0o700)
                    except OSError:
                        # Another client may have made it in between: only a directory is fine.
                        attrs = sftp.stat(current)
                        if not stat_module.S_ISDIR(attrs.st_mode or 0):
                            raise
                    continue
                if not stat_module.S_ISDIR(attrs.st_mode or 0):
                    raise RemoteOperationFailed(f"remote {current!r} exists and is not a directory")

        self._call("makedirs", directory, action, idempotent=True)

    def close(self) -> None:
        """Close the connection; further operations raise ``RuntimeError``."""
        self._closed = True
        self._disconnect(graceful=True)

    def __enter__(self) -> Self:
        """Return self (the connection opens on the first operation)."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connection."""
        self.close()
