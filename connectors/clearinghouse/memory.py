"""An in-memory ``Transport``: the remote side is a dict, with fault injection for tests.

It keeps the same contract as ``SftpTransport`` (see ``transport.py``): validated paths, directories that
must exist before files go into them, ``FileNotFoundError`` for missing files, rename that replaces.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from connectors.clearinghouse.transport import (
    HostileRemoteName,
    RemoteFile,
    RemoteOperationFailed,
    atomic_local_write,
    validate_remote_name,
    validate_remote_path,
)

_T = TypeVar("_T")

OPERATIONS = frozenset(
    {"list_dir", "read", "download", "write", "stat", "rename", "rename_no_replace", "remove", "makedirs"}
)


@dataclass(frozen=True, slots=True)
class _Fault:
    error: BaseException
    after: bool


class MemoryTransport:
    """A ``Transport`` over a dict of path → bytes, with hooks a fake clearinghouse and tests can use.

    ``files`` and ``directories`` are the remote disk and may be inspected or changed directly by tests.
    ``operations`` records every call as ``(operation, path)``. ``on_rename(src, dst)`` runs after each
    successful rename (a fake clearinghouse reacting to a landed file); it may change ``files``.
    """

    def __init__(
        self,
        *,
        on_rename: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """An empty remote side whose root directory exists."""
        self.files: dict[str, bytes] = {}
        self.mtimes: dict[str, int] = {}
        self.directories: set[str] = {""}
        self.operations: list[tuple[str, str]] = []
        self.on_rename = on_rename
        self._clock = clock
        self._faults: dict[str, deque[_Fault]] = {}
        self._lock = threading.RLock()
        self._closed = False

    # -- fault injection -------------------------------------------------------------------------------

    def fail_next(self, operation: str, error: BaseException, *, after: bool = False) -> None:
        """Make the next call of ``operation`` raise ``error``.

        With ``after=True`` the operation takes effect first and then raises: the "did it happen?" window
        of a connection lost after the server acted (e.g. a rename that landed but whose reply was lost).
        Several faults queue up in order.
        """
        if operation not in OPERATIONS:
            raise ValueError(f"unknown transport operation {operation!r}")
        with self._lock:
            self._faults.setdefault(operation, deque()).append(_Fault(error, after))

    def _take_fault(self, operation: str) -> _Fault | None:
        queue = self._faults.get(operation)
        return queue.popleft() if queue else None

    def _run(self, operation: str, paths: tuple[str, ...], action: Callable[[], _T]) -> _T:
        for path in paths:
            validate_remote_path(path)
        with self._lock:
            if self._closed:
                raise RuntimeError("transport is closed")
            self.operations.append((operation, " -> ".join(paths)))
            fault = self._take_fault(operation)
            if fault is not None and not fault.after:
                raise fault.error
            result = action()
            if fault is not None:
                raise fault.error
            return result

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def _key(path: str) -> str:
        return validate_remote_path(path)

    def _require_parent(self, key: str) -> None:
        parent = key.rpartition("/")[0]
        if parent not in self.directories:
            raise FileNotFoundError(f"remote directory {parent!r} does not exist")

    def _entry(self, key: str) -> RemoteFile:
        # Files planted straight into ``files`` by a test may have no recorded mtime.
        return RemoteFile(name=key.rpartition("/")[2], size=len(self.files[key]), mtime=self.mtimes.get(key, 0))

    def _now(self) -> int:
        return int(self._clock())

    # -- Transport -------------------------------------------------------------------------------------

    def list_dir(self, directory: str) -> list[RemoteFile]:
        """The files directly inside ``directory``, sorted by name."""

        def action() -> list[RemoteFile]:
            key = self._key(directory)
            if key not in self.directories:
                raise FileNotFoundError(f"remote directory {directory!r} does not exist")
            prefix = f"{key}/"
            entries = []
            for path in sorted(self.files):
                name = path[len(prefix) :]
                if not path.startswith(prefix) or "/" in name:
                    continue
                try:
                    validate_remote_name(name)
                except HostileRemoteName:
                    # Planted by a test as a hostile server would: left out, like SftpTransport does.
                    continue
                entries.append(self._entry(path))
            return entries

        return self._run("list_dir", (directory,), action)

    def refused_entries(self, directory: str) -> list[str]:
        """The names directly inside ``directory`` that ``list_dir`` leaves out as hostile, sorted."""

        def action() -> list[str]:
            key = self._key(directory)
            if key not in self.directories:
                raise FileNotFoundError(f"remote directory {directory!r} does not exist")
            prefix = f"{key}/"
            refused = []
            for path in sorted(self.files):
                name = path[len(prefix) :]
                if not path.startswith(prefix) or "/" in name:
                    continue
                try:
                    validate_remote_name(name)
                except HostileRemoteName:
                    refused.append(name)
            return refused

        return self._run("list_dir", (directory,), action)

    def read(self, path: str) -> bytes:
        """The content of ``path``."""

        def action() -> bytes:
            key = self._key(path)
            if key not in self.files:
                raise FileNotFoundError(f"remote file {path!r} does not exist")
            return self.files[key]

        return self._run("read", (path,), action)

    def download(self, path: str, local_path: Path) -> int:
        """Copy ``path`` into ``local_path`` atomically and return its size."""

        def action() -> int:
            key = self._key(path)
            if key not in self.files:
                raise FileNotFoundError(f"remote file {path!r} does not exist")
            return atomic_local_write(Path(local_path), [self.files[key]])

        return self._run("download", (path,), action)

    def write(self, path: str, data: bytes) -> None:
        """Create or replace ``path`` with ``data``."""

        def action() -> None:
            key = self._key(path)
            self._require_parent(key)
            if key in self.directories:
                raise RemoteOperationFailed(f"remote path {path!r} is a directory")
            self.files[key] = bytes(data)
            self.mtimes[key] = self._now()

        self._run("write", (path,), action)

    def stat(self, path: str) -> RemoteFile | None:
        """The file at ``path`` or ``None``."""

        def action() -> RemoteFile | None:
            key = self._key(path)
            return self._entry(key) if key in self.files else None

        return self._run("stat", (path,), action)

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` onto ``dst`` (replacing it), then call ``on_rename``."""

        def action() -> None:
            src_key, dst_key = self._key(src), self._key(dst)
            if src_key not in self.files:
                raise FileNotFoundError(f"remote file {src!r} does not exist")
            self._require_parent(dst_key)
            if dst_key in self.directories:
                raise RemoteOperationFailed(f"remote path {dst!r} is a directory")
            self.files[dst_key] = self.files.pop(src_key)
            self.mtimes[dst_key] = self.mtimes.pop(src_key, self._now())
            if self.on_rename is not None:
                self.on_rename(src, dst)

        self._run("rename", (src, dst), action)

    def rename_no_replace(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst`` unless ``dst`` exists (``FileExistsError``), then call ``on_rename``."""

        def action() -> None:
            src_key, dst_key = self._key(src), self._key(dst)
            if src_key not in self.files:
                raise FileNotFoundError(f"remote file {src!r} does not exist")
            self._require_parent(dst_key)
            if dst_key in self.files or dst_key in self.directories:
                raise FileExistsError(f"remote path {dst!r} exists")
            self.files[dst_key] = self.files.pop(src_key)
            self.mtimes[dst_key] = self.mtimes.pop(src_key, self._now())
            if self.on_rename is not None:
                self.on_rename(src, dst)

        self._run("rename_no_replace", (src, dst), action)

    def remove(self, path: str) -> None:
        """Delete ``path``."""

        def action() -> None:
            key = self._key(path)
            if key not in self.files:
                raise FileNotFoundError(f"remote file {path!r} does not exist")
            del self.files[key]
            self.mtimes.pop(key, None)

        self._run("remove", (path,), action)

    def makedirs(self, directory: str) -> None:
        """Create ``directory`` and its parents."""

        def action() -> None:
            key = self._key(directory)
            parts = key.split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if prefix in self.files:
                    raise RemoteOperationFailed(f"remote path {prefix!r} is a file")
                self.directories.add(prefix)

        self._run("makedirs", (directory,), action)

    def close(self) -> None:
        """Mark the transport closed (the remote dict is kept for inspection)."""
        with self._lock:
            self._closed = True

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the transport."""
        self.close()
