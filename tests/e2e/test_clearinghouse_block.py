"""The Clearinghouse SFTP block on the session's Prefect API: `revcycle clearinghouse block create` saves the
settings as a block (secrets kept secret, no overwrite unasked), and a block saved before the fields were
renamed (`host`, `upload_dir`, ...) still loads, with one warning, and is stored with the new names once saved.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from connectors.clearinghouse.block import OLD_FIELD_NAMES, ClearinghouseSftp, load_clearinghouse_block
from connectors.clearinghouse.keys import generate_ed25519_key, generate_ed25519_private_key, known_hosts_line
from revcycle.cli import main

pytestmark = pytest.mark.e2e

SLUG = "revcycle-clearinghouse-sftp"


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """An operator's REVCYCLE_SFTP_* / REVCYCLE_REMOTE_* settings (key login), nothing else from outside."""
    for name in list(os.environ):
        if name.startswith("REVCYCLE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    key_file = tmp_path / "clearinghouse_ed25519"
    key_file.write_text(generate_ed25519_private_key())
    key_file.chmod(0o600)
    settings = {
        "REVCYCLE_SFTP_HOST": "sftp.clearinghouse.example",
        "REVCYCLE_SFTP_PORT": "2222",
        "REVCYCLE_SFTP_USERNAME": "acme-billing",
        "REVCYCLE_SFTP_PRIVATE_KEY_FILE": str(key_file),
        "REVCYCLE_SFTP_PASSWORD": "a password never to print",
        "REVCYCLE_SFTP_KNOWN_HOST": known_hosts_line("sftp.clearinghouse.example", 2222, generate_ed25519_key()),
        "REVCYCLE_REMOTE_UPLOAD_DIR": "to-payer",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def stored_data(name: str, include_secrets: bool) -> dict[str, Any]:
    """The block document's data as the server keeps it."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        document = client.read_block_document_by_name(name, SLUG, include_secrets=include_secrets)
    return dict(document.data)


def test_block_create_saves_the_settings_as_a_block_and_prints_no_secret(
    prefect_api: None, operator: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["clearinghouse", "block", "create", "--name", "from-settings"])

    out, err = capsys.readouterr()
    assert code == 0, err
    (line,) = out.splitlines()
    assert "'from-settings'" in line and "clearinghouse_block" in line
    key_text = Path(operator["REVCYCLE_SFTP_PRIVATE_KEY_FILE"]).read_text()
    for secret in (key_text.splitlines()[1], operator["REVCYCLE_SFTP_PASSWORD"]):
        assert secret not in out + err

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stored under the new names: no renaming warning
        block = load_clearinghouse_block("from-settings")
    assert (block.sftp_host, block.sftp_port) == ("sftp.clearinghouse.example", 2222)
    assert block.sftp_username == "acme-billing"
    assert block.sftp_known_host == operator["REVCYCLE_SFTP_KNOWN_HOST"]
    assert block.sftp_private_key_file is not None and block.sftp_password is not None
    assert block.sftp_private_key_file.get_secret_value() == key_text  # the file's text, not its path
    assert block.sftp_password.get_secret_value() == operator["REVCYCLE_SFTP_PASSWORD"]
    # Settings left at their defaults come over too.
    assert (block.remote_upload_dir, block.remote_inbox_dir, block.remote_archive_dir) == (
        "to-payer",
        "responses",
        "archive",
    )
    # The server masks the secrets to anyone reading the block without asking for them (the UI).
    shown = stored_data("from-settings", include_secrets=False)
    assert key_text not in str(shown) and operator["REVCYCLE_SFTP_PASSWORD"] not in str(shown)
    assert shown["sftp_host"] == "sftp.clearinghouse.example"


def test_block_create_refuses_to_replace_a_block_unless_told_to(
    prefect_api: None, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clearinghouse", "block", "create", "--name", "replace-me"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("REVCYCLE_REMOTE_UPLOAD_DIR", "claims-v2")

    code = main(["clearinghouse", "block", "create", "--name", "replace-me"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "revcycle: a clearinghouse block named 'replace-me' exists already: add --overwrite to replace it"
    ]
    assert load_clearinghouse_block("replace-me").remote_upload_dir == "to-payer"  # untouched

    assert main(["clearinghouse", "block", "create", "--name", "replace-me", "--overwrite"]) == 0
    assert load_clearinghouse_block("replace-me").remote_upload_dir == "claims-v2"


def _old_schema_fields() -> dict[str, Any]:
    """The block's JSON schema as it was before the rename: today's, with each field under its old name."""
    new_to_old = {new: old for old, new in OLD_FIELD_NAMES.items()}
    fields = ClearinghouseSftp.model_json_schema()
    fields["properties"] = {new_to_old[name]: value for name, value in fields["properties"].items()}
    fields["required"] = [new_to_old[name] for name in fields["required"]]
    fields["secret_fields"] = [new_to_old[name] for name in fields["secret_fields"]]
    return fields


def test_a_block_saved_with_the_old_field_names_loads_with_one_warning_and_is_stored_with_the_new(
    prefect_api: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import BlockDocumentCreate, BlockSchemaCreate

    key_text = generate_ed25519_private_key()
    pinned = known_hosts_line("sftp.clearinghouse.example", 22, generate_ed25519_key())
    # What an operator's Prefect database holds for a block saved in the UI before the rename.
    old_data = {
        "host": "sftp.clearinghouse.example",
        "port": 22,
        "username": "acme-billing",
        "private_key": key_text,
        "password": None,
        "known_host_key": pinned,
        "remote_root": "",
        "upload_dir": "to-payer",
        "inbox_dir": "from-payer",
        "archive_dir": "done",
    }
    ClearinghouseSftp.register_type_and_schema()
    with get_client(sync_client=True) as client:
        block_type = client.read_block_type_by_slug(SLUG)
        old_schema = client.create_block_schema(
            BlockSchemaCreate(fields=_old_schema_fields(), block_type_id=block_type.id, capabilities=[])
        )
        client.create_block_document(
            BlockDocumentCreate(
                name="saved-before-the-rename",
                data=old_data,
                block_schema_id=old_schema.id,
                block_type_id=block_type.id,
            )
        )

    with pytest.warns(FutureWarning) as caught:
        block = load_clearinghouse_block("saved-before-the-rename")

    assert len(caught) == 1
    assert "upload_dir is now remote_upload_dir" in str(caught[0].message)
    assert "known_host_key is now sftp_known_host" in str(caught[0].message)
    assert block.sftp_private_key_file is not None
    assert block.sftp_private_key_file.get_secret_value() == key_text
    assert (block.sftp_host, block.sftp_known_host) == ("sftp.clearinghouse.example", pinned)
    endpoint = block.endpoint()  # what a run does with it
    assert (endpoint.upload_dir, endpoint.inbox_dir, endpoint.archive_dir) == ("to-payer", "from-payer", "done")

    # The command the warning names stores it under the new names, replacing the old data (Prefect's own
    # save(overwrite=True) merges, which would keep the key under `private_key`, unmasked by the new schema).
    assert main(["clearinghouse", "block", "rename-fields", "--name", "saved-before-the-rename"]) == 0
    said = capsys.readouterr().out
    assert said == "stored the clearinghouse block 'saved-before-the-rename' under the new field names\n"
    assert key_text not in str(stored_data("saved-before-the-rename", include_secrets=False))
    stored = stored_data("saved-before-the-rename", include_secrets=True)
    assert set(OLD_FIELD_NAMES.values()) <= set(stored)
    assert not set(OLD_FIELD_NAMES) & set(stored)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_clearinghouse_block("saved-before-the-rename")
    assert again.remote_inbox_dir == "from-payer"
    assert main(["clearinghouse", "block", "rename-fields", "--name", "saved-before-the-rename"]) == 0
    assert "nothing to do" in capsys.readouterr().out
