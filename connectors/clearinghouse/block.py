"""The clearinghouse SFTP connection as a Prefect block, editable by an operator in the Prefect UI.

Register it once per Prefect server: ``prefect block register -m connectors.clearinghouse.block``. A run
uses it when its ``clearinghouse_block`` parameter names a saved block; otherwise the ``REVCYCLE_SFTP_*``
settings apply. The private key and the password are secrets (masked in the UI and in logs); the host key
is pinned, never learned on first contact.
"""

from __future__ import annotations

import warnings
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, model_validator

from connectors.clearinghouse.factory import ClearinghouseEndpoint
from connectors.clearinghouse.sftp import SftpTransport
from revcycle.errors import ConfigurationError

# The field names before they became the variables' names (blocks saved then are still in operators' Prefect
# databases, and scripts still pass them): accepted, with a warning naming the new name.
OLD_FIELD_NAMES: dict[str, str] = {
    "host": "sftp_host",
    "port": "sftp_port",
    "username": "sftp_username",
    "private_key": "sftp_private_key_file",
    "password": "sftp_password",
    "known_host_key": "sftp_known_host",
    "remote_root": "sftp_remote_root",
    "upload_dir": "remote_upload_dir",
    "inbox_dir": "remote_inbox_dir",
    "archive_dir": "remote_archive_dir",
}


class RenamedBlockFieldWarning(FutureWarning):
    """A clearinghouse block was given a field by its old name."""


class ClearinghouseSftp(Block):
    """How to reach the clearinghouse's SFTP drop: host, login, pinned host key and remote folders."""

    _block_type_name = "Clearinghouse SFTP"
    _block_type_slug = "revcycle-clearinghouse-sftp"
    _description = (
        "The clearinghouse's SFTP server for revcycle: 837 claims go up, 999/277CA/835 responses come down. "
        "The host key is pinned from a known_hosts line; an unknown or changed key stops the run. "
        "Documentation: docs/prefect.md in the revcycle repository (fields, variables, block create)."
    )

    sftp_host: str = Field(..., description="SFTP host name or address.")
    sftp_port: int = Field(22, ge=1, le=65535, description="SFTP port.")
    sftp_username: str = Field(..., description="SFTP login name.")
    sftp_private_key_file: SecretStr | None = Field(
        None,
        description=(
            "The text of the private key file (OpenSSH or PEM; Ed25519, ECDSA or RSA), not its path; preferred "
            "over a password."
        ),
    )
    sftp_password: SecretStr | None = Field(
        None, description="SFTP password, when the clearinghouse gives no key login."
    )
    sftp_known_host: str = Field(
        ...,
        description=(
            "The server's host key as a known_hosts line ([host]:port type base64); check it against what the "
            "clearinghouse published."
        ),
    )
    sftp_remote_root: str = Field("", description="Folder the remote folders are relative to; empty: the login folder.")
    remote_upload_dir: str = Field("claims", description="Remote folder 837 files are uploaded to.")
    remote_inbox_dir: str = Field("responses", description="Remote folder 999/277CA/835 files are picked up from.")
    remote_archive_dir: str | None = Field(
        "archive", description="Remote folder picked-up files are moved to after loading; empty to leave them."
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_old_field_names(cls, data: Any) -> Any:
        """Rename the old field names (a block saved before the rename, an old keyword) with one warning.

        ``Block.load`` validates a saved document's data with this model, so the rename happens on load too.
        """
        if not isinstance(data, dict):
            return data
        old = [name for name in OLD_FIELD_NAMES if name in data]
        if not old:
            return data
        renamed = dict(data)
        notes = []
        for name in old:
            new = OLD_FIELD_NAMES[name]
            value = renamed.pop(name)
            if new in renamed:
                notes.append(f"{name} (ignored: {new} is set too)")
            else:
                renamed[new] = value
                notes.append(f"{name} is now {new}")
        warnings.warn(
            "clearinghouse block: old field names: " + ", ".join(notes) + "; store the block under the new "
            "names with `revcycle clearinghouse block rename-fields --name BLOCK`",
            RenamedBlockFieldWarning,
            stacklevel=2,
        )
        return renamed

    def endpoint(self) -> ClearinghouseEndpoint:
        """The transport and remote folders this block describes."""
        if self.sftp_private_key_file is None and self.sftp_password is None:
            raise ConfigurationError(
                "the clearinghouse block has neither sftp_private_key_file nor sftp_password: set one in the block"
            )
        private_key = self.sftp_private_key_file.get_secret_value() if self.sftp_private_key_file is not None else None
        password = self.sftp_password.get_secret_value() if self.sftp_password is not None else None
        transport = SftpTransport(
            self.sftp_host,
            self.sftp_port,
            self.sftp_username,
            password=password,
            private_key=private_key,
            known_host_key=self.sftp_known_host,
            remote_root=self.sftp_remote_root,
        )
        return ClearinghouseEndpoint(
            transport=transport,
            upload_dir=self.remote_upload_dir,
            inbox_dir=self.remote_inbox_dir,
            archive_dir=self.remote_archive_dir or None,
        )


# The setting (REVCYCLE_* variable) each block field stands for: a field is its variable's name without the
# prefix, lower-cased. A run uses the block when its clearinghouse_block parameter names one, else these
# variables. docs/prefect.md shows this table (a test checks it). The block holds the private key's text; the
# variable names the file holding it.
VARIABLE_OF_FIELD: dict[str, str] = {name: f"REVCYCLE_{name.upper()}" for name in ClearinghouseSftp.model_fields}


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
