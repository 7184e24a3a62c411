"""The clearinghouse SFTP connection as a Prefect block, editable by an operator in the Prefect UI.

Register it once per Prefect server: ``prefect block register -m connectors.clearinghouse.block``. A run
uses it when its ``clearinghouse_block`` parameter names a saved block; otherwise the ``REVCYCLE_SFTP_*``
settings apply. The private key and the password are secrets (masked in the UI and in logs); the host key
is pinned, never learned on first contact.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from connectors.clearinghouse.factory import ClearinghouseEndpoint
from connectors.clearinghouse.sftp import SftpTransport
from revcycle.errors import ConfigurationError

# The setting (REVCYCLE_* variable) each block field stands for: a run uses the block when its
# clearinghouse_block parameter names one, else these variables. docs/prefect.md shows this table (a test
# checks it). The block holds the private key's text; the variable names the file holding it.
VARIABLE_OF_FIELD: dict[str, str] = {
    "host": "REVCYCLE_SFTP_HOST",
    "port": "REVCYCLE_SFTP_PORT",
    "username": "REVCYCLE_SFTP_USERNAME",
    "private_key": "REVCYCLE_SFTP_PRIVATE_KEY_FILE",
    "password": "REVCYCLE_SFTP_PASSWORD",
    "known_host_key": "REVCYCLE_SFTP_KNOWN_HOST",
    "remote_root": "REVCYCLE_SFTP_REMOTE_ROOT",
    "upload_dir": "REVCYCLE_REMOTE_UPLOAD_DIR",
    "inbox_dir": "REVCYCLE_REMOTE_INBOX_DIR",
    "archive_dir": "REVCYCLE_REMOTE_ARCHIVE_DIR",
}


class ClearinghouseSftp(Block):
    """How to reach the clearinghouse's SFTP drop: host, login, pinned host key and remote folders."""

    _block_type_name = "Clearinghouse SFTP"
    _block_type_slug = "revcycle-clearinghouse-sftp"
    _description = (
        "The clearinghouse's SFTP server for revcycle: 837 claims go up, 999/277CA/835 responses come down. "
        "The host key is pinned from a known_hosts line; an unknown or changed key stops the run."
    )

    host: str = Field(..., description="SFTP host name or address.")
    port: int = Field(22, ge=1, le=65535, description="SFTP port.")
    username: str = Field(..., description="SFTP login name.")
    private_key: SecretStr | None = Field(
        None, description="OpenSSH or PEM private key text (Ed25519, ECDSA or RSA); preferred over a password."
    )
    password: SecretStr | None = Field(None, description="SFTP password, when the clearinghouse gives no key login.")
    known_host_key: str = Field(
        ...,
        description=(
            "The server's host key as a known_hosts line ([host]:port type base64); check it against what the "
            "clearinghouse published."
        ),
    )
    remote_root: str = Field("", description="Folder the remote folders are relative to; empty: the login folder.")
    upload_dir: str = Field("claims", description="Remote folder 837 files are uploaded to.")
    inbox_dir: str = Field("responses", description="Remote folder 999/277CA/835 files are picked up from.")
    archive_dir: str | None = Field(
        "archive", description="Remote folder picked-up files are moved to after loading; empty to leave them."
    )

    def endpoint(self) -> ClearinghouseEndpoint:
        """The transport and remote folders this block describes."""
        if self.private_key is None and self.password is None:
            raise ConfigurationError(
                "the clearinghouse block has neither a private key nor a password: set one in the block"
            )
        private_key = self.private_key.get_secret_value() if self.private_key is not None else None
        password = self.password.get_secret_value() if self.password is not None else None
        transport = SftpTransport(
            self.host,
            self.port,
            self.username,
            password=password,
            private_key=private_key,
            known_host_key=self.known_host_key,
            remote_root=self.remote_root,
        )
        return ClearinghouseEndpoint(
            transport=transport,
            upload_dir=self.upload_dir,
            inbox_dir=self.inbox_dir,
            archive_dir=self.archive_dir or None,
        )


def load_clearinghouse_block(name: str) -> ClearinghouseSftp:
    """The saved block ``name``; a clear ConfigurationError when there is none."""
    try:
        block = ClearinghouseSftp.load(name)
    except ValueError as problem:
        raise ConfigurationError(
            f"no clearinghouse block named {name!r} on the Prefect server ({problem}); create it in the UI "
            "(Blocks > Clearinghouse SFTP) after `prefect block register -m connectors.clearinghouse.block`"
        ) from None
    if not isinstance(block, ClearinghouseSftp):  # pragma: no cover - load returns the class it is called on
        raise ConfigurationError(f"block {name!r} is not a clearinghouse SFTP block")
    return block
