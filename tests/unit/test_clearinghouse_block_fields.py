"""The Clearinghouse SFTP block's fields are named as their variables (REVCYCLE_ dropped, lower case); the old
names (upload_dir, ...) still work, with one warning naming old and new."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.clearinghouse.block import VARIABLE_OF_FIELD, ClearinghouseSftp
from connectors.clearinghouse.keys import generate_ed25519_private_key
from revcycle.cli import main

PINNED = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOYkn3nOZba/dGOFXSS3CmuH/Rzo5CK2fjFjh7si0hNd"
# A block by the new names: password login, the host key pinned.
NEW_NAMES = {
    "sftp_host": "sftp.example",
    "sftp_username": "acme",
    "sftp_password": SecretStr("pw"),
    "sftp_known_host": PINNED,
}


def test_each_field_is_its_variable_without_the_prefix_in_lower_case() -> None:
    # From the issue: REVCYCLE_REMOTE_UPLOAD_DIR is the field remote_upload_dir; the key file's is
    # sftp_private_key_file (the block keeps the key's text under the variable's name).
    assert VARIABLE_OF_FIELD["remote_upload_dir"] == "REVCYCLE_REMOTE_UPLOAD_DIR"
    assert VARIABLE_OF_FIELD["sftp_private_key_file"] == "REVCYCLE_SFTP_PRIVATE_KEY_FILE"
    for field, variable in VARIABLE_OF_FIELD.items():
        assert field == variable.removeprefix("REVCYCLE_").lower()


def test_the_new_names_build_a_block_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        block = ClearinghouseSftp(**NEW_NAMES, remote_upload_dir="to-payer")
    assert (block.sftp_host, block.sftp_port, block.remote_upload_dir) == ("sftp.example", 22, "to-payer")


def test_old_keywords_still_build_the_block_with_one_warning_naming_old_and_new() -> None:
    key = generate_ed25519_private_key()
    with pytest.warns(FutureWarning) as caught:
        block = ClearinghouseSftp(
            host="sftp.example",
            port=2222,
            username="acme",
            private_key=SecretStr(key),
            known_host_key=PINNED,
            upload_dir="to-payer",
        )

    assert len(caught) == 1
    text = str(caught[0].message)
    assert "host is now sftp_host" in text
    assert "upload_dir is now remote_upload_dir" in text
    assert "private_key is now sftp_private_key_file" in text
    assert key not in text  # the warning names fields, never values
    assert (block.sftp_host, block.sftp_port, block.sftp_username) == ("sftp.example", 2222, "acme")
    assert block.sftp_private_key_file is not None
    assert block.sftp_private_key_file.get_secret_value() == key
    assert (block.sftp_known_host, block.remote_upload_dir) == (PINNED, "to-payer")
    assert not block.model_extra  # nothing kept under an old name
    endpoint = block.endpoint()
    assert (endpoint.upload_dir, endpoint.inbox_dir, endpoint.archive_dir) == ("to-payer", "responses", "archive")


def test_a_new_name_wins_over_its_old_name_and_the_warning_says_so() -> None:
    with pytest.warns(FutureWarning, match=r"upload_dir \(ignored: remote_upload_dir is set too\)"):
        block = ClearinghouseSftp(**NEW_NAMES, upload_dir="old", remote_upload_dir="new")
    assert block.remote_upload_dir == "new"
    assert not block.model_extra


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No REVCYCLE_* variable and no .env: the settings are their defaults."""
    for name in list(os.environ):
        if name.startswith("REVCYCLE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_block_create_names_every_missing_setting_in_one_line(
    no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Host and port have defaults (127.0.0.1, 22) for the runs, but a block for them is a mistake: the host,
    # the user, the pinned key and a credential must be set by the operator.
    no_settings.setenv("REVCYCLE_SFTP_HOST", "sftp.clearinghouse.example")

    code = main(["clearinghouse", "block", "create"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("revcycle: REVCYCLE_SFTP_USERNAME, REVCYCLE_SFTP_KNOWN_HOST, ")
    assert "REVCYCLE_SFTP_PRIVATE_KEY_FILE (or REVCYCLE_SFTP_PASSWORD) not set" in line
    assert "REVCYCLE_SFTP_HOST" not in line  # it is set


def test_block_create_without_a_prefect_server_says_what_to_set(
    no_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    for name, value in {
        "REVCYCLE_SFTP_HOST": "sftp.clearinghouse.example",
        "REVCYCLE_SFTP_USERNAME": "acme",
        "REVCYCLE_SFTP_PASSWORD": "pw",
        "REVCYCLE_SFTP_KNOWN_HOST": PINNED,
    }.items():
        no_settings.setenv(name, value)
    no_settings.delenv("PREFECT_API_URL", raising=False)

    # A block saved in Prefect's temporary server would be gone when the command ends.
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        code = main(["clearinghouse", "block", "create"])

    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        "revcycle: PREFECT_API_URL is not set: point it at your Prefect server first "
        "(prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api)"
    ]
    assert "pw" not in out
