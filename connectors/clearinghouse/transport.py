"""The clearinghouse transport contract: primitive operations on the remote side of a file drop.

One interface, two implementations (like httpx's transports): ``SftpTransport`` talks to a real server,
``MemoryTransport`` keeps the remote side in a dict for tests. Paths are relative ``directory/name``
strings, resolved under the transport's remote root; every component is checked by
``validate_remote_name`` before anything is sent, so a name taken from a remote listing can never walk out
of its directory.

Error contract shared by every implementation:

- a missing remote file or directory raises the built-in ``FileNotFoundError`` (``stat`` returns ``None``);
- ``rename_no_replace`` onto an existing file raises the built-in ``FileExistsError`` and changes nothing;
- a connection problem raises ``revcycle.errors.TransientError``;
- a pinned host key that does not match raises ``HostKeyMismatch``; refused credentials raise
  ``AuthenticationFailed`` (both ``RunFailure``: never retried);
- any other refusal by the server raises ``RemoteOperationFailed``.

No message carries file contents: only remote paths, sizes and counts.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from revcycle.errors import RunFailure, TransientError

MAX_NAME_BYTES = 255


class HostileRemoteName(RunFailure):
    """A remote name that could escape its directory or confuse a tool (``..``, ``/``, control bytes...)."""


class RemoteOperationFailed(RunFailure):
    """The server refused an operation for a reason other than a missing file (permissions, quota...)."""


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One regular file in a remote directory: bare name, size in bytes, modification time (epoch seconds)."""

    name: str
    size: int
    mtime: int


def validate_remote_name(name: str) -> str:
    """Return ``name`` unchanged when it is one safe file or directory name, else raise HostileRemoteName.

    Refused: empty names, ``.`` and ``..``, path separators (``/`` and ``\\``), NUL and other control
    characters, a leading dash (read as an option by command-line tools) and names over 255 UTF-8 bytes.
    """
    if not isinstance(name, str) or name == "":
        raise HostileRemoteName("remote name is empty")
    if name in (".", ".."):
        raise HostileRemoteName("remote name is a relative directory reference")
    if "/" in name or "\\" in name:
        raise HostileRemoteName(f"remote name {_printable(name)} contains a path separator")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise HostileRemoteName(f"remote name {_printable(name)} contains a control character")
    if name.startswith("-"):
        raise HostileRemoteName(f"remote name {_printable(name)} starts with a dash")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HostileRemoteName("remote name is not valid Unicode text") from exc
    if len(encoded) > MAX_NAME_BYTES:
        raise HostileRemoteName(f"remote name is {len(encoded)} bytes long (limit {MAX_NAME_BYTES})")
    return name


def validate_remote_path(path: str) -> str:
    """Return ``path`` when it is relative and every component passes ``validate_remote_name``.

    Absolute paths are refused: a transport resolves relative paths under its configured remote root, so
    no path handed to it can reach anything outside that root.
    """
    if not isinstance(path, str) or path == "":
        raise HostileRemoteName("remote path is empty")
    if path.startswith("/"):
        raise HostileRemoteName(f"remote path {_printable(path)} is absolute")
    for part in path.split("/"):
        validate_remote_name(part)
    return path


def join_remote(directory: str, name: str) -> str:
    """The remote path of ``name`` inside ``directory``, with ``name`` validated as a single safe name."""
    validate_remote_name(name)
    validate_remote_path(directory)
    return f"{directory}/{name}"


def atomic_local_write(local_path: Path, chunks: Iterable[bytes], *, expected_size: int | None = None) -> int:
    """Write ``chunks`` to ``local_path`` atomically (temp file in the same directory, fsync, rename).

    The file is created ``0600`` (it may hold PHI). Returns the number of bytes written. When
    ``expected_size`` is given and differs, ``TransientError`` is raised (the remote file changed while it
    was read) and nothing is renamed. On any error the temp file is removed and ``local_path`` is untouched.
    """
    local_path = Path(local_path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{local_path.name}.", suffix=".tmp", dir=local_path.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if expected_size is not None and size != expected_size:
            raise TransientError(f"read {size} bytes for {local_path.name!r}, expected {expected_size}")
        os.replace(tmp_name, local_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_directory(local_path.parent)
    return size


def fsync_directory(directory: Path) -> None:
    """Make the renames in ``directory`` durable (its entries on disk); a no-op where that is not possible."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _printable(name: str) -> str:
    # Hostile names are shown escaped and cut short: they come from outside and may be arbitrarily long.
    shown = name.encode("unicode_escape").decode("ascii")
    return repr(shown[:60] + ("..." if len(shown) > 60 else ""))


@runtime_checkable
class Transport(Protocol):
    """Primitive operations on the clearinghouse side; every path is ``directory/name`` (see module doc)."""

    def list_dir(self, directory: str) -> list[RemoteFile]:
        """The regular files directly inside ``directory`` (hostile names are left out), sorted by name."""
        ...

    def refused_entries(self, directory: str) -> list[str]:
        """Raw names in ``directory`` that ``list_dir`` leaves out for safety (hostile names, links ...)."""
        ...

    def read(self, path: str) -> bytes:
        """The whole content of the remote file ``path``."""
        ...

    def download(self, path: str, local_path: Path) -> int:
        """Stream ``path`` into ``local_path`` atomically (temp, fsync, rename); return the size written."""
        ...

    def write(self, path: str, data: bytes) -> None:
        """Create or replace the remote file ``path`` with ``data``, readable by its owner only (``0600``).

        Used for ``NAME.part``: it holds PHI from the first byte, so it is created ``0600`` and an existing
        file is set to ``0600`` before a byte is written.
        """
        ...

    def stat(self, path: str) -> RemoteFile | None:
        """The remote file at ``path``, or ``None`` when nothing is there."""
        ...

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst``, replacing ``dst`` if it exists, atomically where the server allows."""
        ...

    def rename_no_replace(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst`` only if nothing is at ``dst``; else raise ``FileExistsError``, changing nothing.

        The archive move: an archived file is never replaced (SFTP's plain rename, which OpenSSH carries out
        with ``link`` and ``unlink``, so the check and the move are one step on the server).
        """
        ...

    def remove(self, path: str) -> None:
        """Delete the remote file ``path``."""
        ...

    def makedirs(self, directory: str) -> None:
        """Create ``directory`` and its missing parents; an existing directory is fine."""
        ...

    def close(self) -> None:
        """Release the connection; further operations raise ``RuntimeError``."""
        ...

    def __enter__(self) -> Self:
        """Use the transport as a context manager that closes it on exit."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the transport."""
        ...
