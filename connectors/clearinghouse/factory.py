"""Build the clearinghouse transport from the run's settings (the environment) or a saved Prefect block."""

from __future__ import annotations

import stat as stat_module
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError
from paramiko.sftp_attr import SFTPAttributes

from connectors.clearinghouse.sftp import SftpTransport
from connectors.clearinghouse.transport import (
    HostileRemoteName,
    RemoteFile,
    validate_remote_name,
    validate_remote_path,
)
from revcycle.errors import AuthenticationFailed, ConfigurationError, HostKeyMismatch
from revcycle.settings import Settings


def _listing(sftp: paramiko.SFTPClient, path: str) -> list[tuple[str, int, int, int]]:
    """``(name, mode, size, mtime)`` of every entry of the remote folder ``path``, names never refused.

    paramiko's ``listdir_attr`` decodes names strictly as UTF-8, so one file whose name is not UTF-8 makes
    the whole listing fail and would block the inbox for good. This is the same SFTP exchange with the
    names decoded with ``surrogateescape``: such a name then fails ``validate_remote_name`` like any other
    hostile name, and the other files are still listed.
    """
    kind, message = sftp._request(CMD_OPENDIR, path)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = message.get_binary()
    entries: list[tuple[str, int, int, int]] = []
    try:
        while True:
            try:
                kind, message = sftp._request(CMD_READDIR, handle)
            except EOFError:  # paramiko's signal for the end of the folder
                break
            if kind != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(message.get_int()):
                raw_name = message.get_string()
                message.get_string()  # the "ls -l" long name, unused
                attrs = SFTPAttributes._from_msg(message)
                name = raw_name.decode("utf-8", "surrogateescape")
                if name not in (".", ".."):
                    entries.append((name, attrs.st_mode or 0, int(attrs.st_size or 0), int(attrs.st_mtime or 0)))
    finally:
        sftp._request(CMD_CLOSE, handle)
    return entries


def _is_safe_name(name: str) -> bool:
    try:
        validate_remote_name(name)
    except HostileRemoteName:
        return False
    return True


class ClearinghouseSftpTransport(SftpTransport):
    """The SFTP transport revcycle runs use: ``SftpTransport`` whose listings survive and report hostile entries."""

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


@dataclass
class ClearinghouseEndpoint:
    """A transport to the clearinghouse and the remote folders of its file drop."""

    transport: SftpTransport
    upload_dir: str
    inbox_dir: str
    archive_dir: str | None


def sftp_transport_from_settings(settings: Settings) -> ClearinghouseSftpTransport:
    """An SFTP transport to the configured clearinghouse; the host key must be pinned."""
    if not settings.sftp_known_host:
        raise ConfigurationError(
            "REVCYCLE_SFTP_KNOWN_HOST is not set: pin the clearinghouse's host key as a known_hosts line "
            "(ssh-keyscan -p PORT HOST, checked against what the clearinghouse published)"
        )
    private_key = None
    if settings.sftp_private_key_file is not None:
        try:
            private_key = settings.sftp_private_key_file.read_text()
        except OSError as problem:
            raise ConfigurationError(
                f"cannot read REVCYCLE_SFTP_PRIVATE_KEY_FILE ({problem.strerror}); check the path and permissions"
            ) from None
    if private_key is None and settings.sftp_password is None:
        raise ConfigurationError("set REVCYCLE_SFTP_PRIVATE_KEY_FILE or REVCYCLE_SFTP_PASSWORD for the clearinghouse")
    return ClearinghouseSftpTransport(
        settings.sftp_host,
        settings.sftp_port,
        settings.sftp_username,
        password=settings.sftp_password,
        private_key=private_key,
        known_host_key=settings.sftp_known_host,
        remote_root=settings.sftp_remote_root,
    )


def clearinghouse_endpoint(settings: Settings, block_name: str | None = None) -> ClearinghouseEndpoint:
    """The clearinghouse of this run: the Prefect block ``block_name`` when given, else the settings."""
    if block_name:
        from connectors.clearinghouse.block import load_clearinghouse_block

        return load_clearinghouse_block(block_name).endpoint()
    return ClearinghouseEndpoint(
        transport=sftp_transport_from_settings(settings),
        upload_dir=settings.remote_upload_dir,
        inbox_dir=settings.remote_inbox_dir,
        archive_dir=settings.remote_archive_dir or None,
    )


@contextmanager
def operator_guidance(block_name: str | None = None) -> Iterator[None]:
    """Re-raise host-key and login refusals with what the operator should do (same error kinds, never retried)."""
    where = f"the clearinghouse block {block_name!r}" if block_name else "REVCYCLE_SFTP_KNOWN_HOST"
    login = f"the clearinghouse block {block_name!r}" if block_name else "REVCYCLE_SFTP_USERNAME and its key/password"
    try:
        yield
    except HostKeyMismatch as problem:
        raise HostKeyMismatch(
            f"{problem}. The server presented a host key that is not the pinned one: this is either a key "
            "change by the clearinghouse or someone in the middle. Confirm the new key's fingerprint with the "
            f"clearinghouse through another channel, update the pinned known_hosts line in {where}, then retry "
            "the run. Nothing was uploaded or downloaded."
        ) from problem
    except AuthenticationFailed as problem:
        raise AuthenticationFailed(
            f"{problem}. Not retried (repeated failures can lock the account): check {login}, then retry the run."
        ) from problem
