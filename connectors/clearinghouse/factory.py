"""Build the clearinghouse transport from the run's settings (the environment or a Prefect block)."""

from __future__ import annotations

from connectors.clearinghouse.sftp import SftpTransport
from revcycle.errors import ConfigurationError
from revcycle.settings import Settings


def sftp_transport_from_settings(settings: Settings) -> SftpTransport:
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
    return SftpTransport(
        settings.sftp_host,
        settings.sftp_port,
        settings.sftp_username,
        password=settings.sftp_password,
        private_key=private_key,
        known_host_key=settings.sftp_known_host,
    )
