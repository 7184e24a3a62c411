"""Build the clearinghouse transport from the run's settings (the environment) or a saved Prefect block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connectors.clearinghouse.sftp import SftpTransport
from revcycle.errors import AuthenticationFailed, ConfigurationError, HostKeyMismatch
from revcycle.settings import Settings


@dataclass
class ClearinghouseEndpoint:
    """A transport to the clearinghouse and the remote folders of its file drop."""

    transport: SftpTransport
    upload_dir: str
    inbox_dir: str
    archive_dir: str | None


def private_key_text(settings: Settings) -> str | None:
    """The text of REVCYCLE_SFTP_PRIVATE_KEY_FILE (None when it is not set); one line naming it if unreadable."""
    if settings.sftp_private_key_file is None:
        return None
    try:
        return settings.sftp_private_key_file.read_text()
    except OSError as problem:
        raise ConfigurationError(
            f"cannot read REVCYCLE_SFTP_PRIVATE_KEY_FILE ({problem.strerror}); check the path and permissions"
        ) from None


def sftp_transport_from_settings(settings: Settings) -> SftpTransport:
    """An SFTP transport to the configured clearinghouse; the host key must be pinned."""
    if not settings.sftp_known_host:
        raise ConfigurationError(
            "REVCYCLE_SFTP_KNOWN_HOST is not set: pin the clearinghouse's host key as a known_hosts line "
            "(ssh-keyscan -p PORT HOST, checked against what the clearinghouse published)"
        )
    private_key = private_key_text(settings)
    if private_key is None and settings.sftp_password is None:
        raise ConfigurationError("set REVCYCLE_SFTP_PRIVATE_KEY_FILE or REVCYCLE_SFTP_PASSWORD for the clearinghouse")
    return SftpTransport(
        settings.sftp_host,
        settings.sftp_port,
        settings.sftp_username,
        password=settings.sftp_password.get_secret_value() if settings.sftp_password is not None else None,
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
