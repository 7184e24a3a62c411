"""The settings as a saved Clearinghouse SFTP block (``revcycle clearinghouse block create``), and the saved
block read back for ``revcycle clearinghouse check --block``. Both talk to the Prefect server PREFECT_API_URL
names: a block saved in Prefect's temporary server would be gone when the command ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import SecretStr

from connectors.clearinghouse.block import ClearinghouseSftp, load_clearinghouse_block
from connectors.clearinghouse.factory import private_key_text
from revcycle.errors import ConfigurationError
from revcycle.settings import Settings

# Set by the operator, not left at a default: a block for 127.0.0.1 as user "revcycle" is a mistake.
REQUIRED_SETTINGS = ("sftp_host", "sftp_username", "sftp_known_host")
T = TypeVar("T")


def block_from_settings(settings: Settings) -> ClearinghouseSftp:
    """The block holding the REVCYCLE_SFTP_* / REVCYCLE_REMOTE_* settings, the key file's text as a secret.

    One ConfigurationError naming every variable that is missing; the key and the pinned host key are parsed
    before anything is saved.
    """
    missing = [
        f"REVCYCLE_{name.upper()}"
        for name in REQUIRED_SETTINGS
        if name not in settings.model_fields_set or not getattr(settings, name)
    ]
    if settings.sftp_private_key_file is None and settings.sftp_password is None:
        missing.append("REVCYCLE_SFTP_PRIVATE_KEY_FILE (or REVCYCLE_SFTP_PASSWORD)")
    if missing:
        raise ConfigurationError(
            f"{', '.join(missing)} not set: set the clearinghouse's settings (docs/prefect.md, section 4), then "
            "run the command again"
        )
    key = private_key_text(settings)
    block = ClearinghouseSftp(
        sftp_host=settings.sftp_host,
        sftp_port=settings.sftp_port,
        sftp_username=settings.sftp_username,
        sftp_private_key_file=SecretStr(key) if key is not None else None,
        sftp_password=settings.sftp_password,
        sftp_known_host=settings.sftp_known_host or "",
        sftp_remote_root=settings.sftp_remote_root,
        remote_upload_dir=settings.remote_upload_dir,
        remote_inbox_dir=settings.remote_inbox_dir,
        remote_archive_dir=settings.remote_archive_dir,
    )
    try:
        block.endpoint()  # parses the private key and the pinned host key
    except ConfigurationError as problem:
        raise ConfigurationError(
            f"{problem}: check REVCYCLE_SFTP_PRIVATE_KEY_FILE and REVCYCLE_SFTP_KNOWN_HOST"
        ) from None
    return block


def on_prefect_server(work: Callable[[], T]) -> T:
    """``work()`` against the server PREFECT_API_URL names; one ConfigurationError if none is set or reachable."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    if not api_url:
        raise ConfigurationError(
            "PREFECT_API_URL is not set: point it at your Prefect server first "
            "(prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api)"
        )
    try:
        return work()
    except httpx.TransportError:
        raise ConfigurationError(
            f"cannot reach the Prefect server at {api_url}: start it, or fix PREFECT_API_URL"
        ) from None


def store_block(block: ClearinghouseSftp, name: str, overwrite: bool) -> None:
    """Save ``block`` as ``name``; an existing block is replaced whole when ``overwrite``, else refused.

    Not ``Block.save(overwrite=True)``: Prefect merges the new data into the stored data, so fields stored under
    the old names would stay, the private key among them, unmasked under the new schema.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import BlockDocumentUpdate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            existing = client.read_block_document_by_name(name, block.get_block_type_slug(), include_secrets=False)
        except ObjectNotFound:
            block.save(name)
            return
        if not overwrite:
            raise ConfigurationError(
                f"a clearinghouse block named {name!r} exists already: add --overwrite to replace it"
            )
        block.register_type_and_schema()
        document = block._to_block_document(name=name, include_secrets=True)
        replacement = BlockDocumentUpdate(
            block_schema_id=document.block_schema_id, data=document.data, merge_existing_data=False
        )
        client.update_block_document(existing.id, replacement)


def save_block_from_settings(settings: Settings, name: str, overwrite: bool) -> str:
    """Save the settings as the block ``name``; the line saying how to use it. Refuses to replace one unasked."""
    block = block_from_settings(settings)
    on_prefect_server(lambda: store_block(block, name, overwrite))
    return (
        f"saved the Clearinghouse SFTP block {name!r} ({settings.sftp_username}@{settings.sftp_host}:"
        f"{settings.sftp_port}); runs use it when their clearinghouse_block parameter is {name!r}, e.g. "
        f"prefect deployment run 'nightly-revenue-cycle/nightly' --param clearinghouse_block={name}"
    )


def rename_block_fields(name: str) -> str:
    """Store the block ``name`` again under the fields' new names (a block saved before the rename)."""
    import warnings

    from connectors.clearinghouse.block import RenamedBlockFieldWarning

    def rename() -> bool:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RenamedBlockFieldWarning)
            block = load_clearinghouse_block(name)
        if not any(issubclass(w.category, RenamedBlockFieldWarning) for w in caught):
            return False
        store_block(block, name, overwrite=True)
        return True

    if on_prefect_server(rename):
        return f"stored the clearinghouse block {name!r} under the new field names"
    return f"the clearinghouse block {name!r} has the new field names already: nothing to do"


def saved_block(name: str) -> ClearinghouseSftp:
    """The saved block ``name`` from the Prefect server; one ConfigurationError when it cannot be had."""
    return on_prefect_server(lambda: load_clearinghouse_block(name))
