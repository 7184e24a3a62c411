"""`revcycle config` shows every setting with secrets masked, unknown REVCYCLE_* variables are reported with the
closest setting, invalid settings are one line, and the README documents every setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

import revcycle.settings as settings_module
from revcycle.cli import main
from revcycle.settings import NOT_SETTINGS, Settings, unknown_variables

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test as a new process would see it: nothing warned yet, and no .env of the checkout in the way."""
    monkeypatch.setattr(settings_module, "_warned", set())
    monkeypatch.chdir(tmp_path)


def test_config_lists_every_setting_and_masks_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVCYCLE_SFTP_PASSWORD", "s3cret-planted")
    monkeypatch.setenv("REVCYCLE_USAGE_INDICATOR", "P")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-planted" not in out
    for name in Settings.model_fields:
        assert f"REVCYCLE_{name.upper()}" in out
    assert "│ P " in out


def test_the_password_is_a_secret_that_no_repr_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVCYCLE_SFTP_PASSWORD", "s3cret-planted")
    settings = Settings()
    assert isinstance(settings.sftp_password, SecretStr)
    assert settings.sftp_password.get_secret_value() == "s3cret-planted"
    assert "s3cret-planted" not in repr(settings) and "s3cret-planted" not in str(settings.model_dump())


def test_invalid_configuration_is_one_line_naming_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVCYCLE_USAGE_INDICATOR", "X")
    assert main(["config"]) == 1
    err = capsys.readouterr().err
    assert "REVCYCLE_USAGE_INDICATOR" in err
    assert len(err.strip().splitlines()) == 1


def test_invalid_configuration_stops_other_commands_with_one_line_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVCYCLE_SFTP_PORT", "twenty-two")
    assert main(["report"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("revcycle: invalid configuration: REVCYCLE_SFTP_PORT")
    assert "twenty-two" not in err  # a value can be a secret: never echoed
    assert len(err.strip().splitlines()) == 1


def test_a_mistyped_variable_is_named_with_the_setting_it_resembles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVCYCLE_SFTP_UPLOAD_DIR", "inbound-claims")
    found = {u.name: u for u in unknown_variables()}
    assert found["REVCYCLE_SFTP_UPLOAD_DIR"].closest == "REVCYCLE_REMOTE_UPLOAD_DIR"
    assert found["REVCYCLE_SFTP_UPLOAD_DIR"].source == "environment"
    assert "inbound-claims" not in found["REVCYCLE_SFTP_UPLOAD_DIR"].message()


def test_variables_that_are_ours_on_purpose_are_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NOT_SETTINGS:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("REVCYCLE_WORKDIR", "somewhere")
    monkeypatch.setenv("OTHER_SFTP_UPLOAD_DIR", "x")  # not ours at all
    assert unknown_variables() == []


def test_config_shows_unknown_variables_from_the_environment_and_the_env_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REVCYCLE_SFTP_UPLOAD_DIR", "inbound-claims")
    (tmp_path / ".env").write_text("REVCYCLE_TIMEZONE=America/Denver\nREVCYCLE_TIMEZOME=America/Denver\n")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    ignored = out.split("not settings", 1)[1]
    assert "REVCYCLE_SFTP_UPLOAD_DIR" in ignored and "REVCYCLE_REMOTE_UPLOAD_DIR" in ignored
    assert "REVCYCLE_TIMEZOME" in ignored and ".env" in ignored and "REVCYCLE_TIMEZONE" in ignored
    assert "│ America/Denver " in out  # the .env file's real setting still applies


def test_every_command_warns_about_an_unknown_variable_once_per_process(tmp_path: Path) -> None:
    missing = tmp_path / "missing.x12"
    code = (
        "import sys\nfrom revcycle.cli import main\n"
        f"main(['x12', 'parse', {str(missing)!r}])\nmain(['x12', 'parse', {str(missing)!r}])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVCYCLE_")}
    env["REVCYCLE_SFTP_UPLOAD_DIR"] = "inbound-claims"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    warnings = [line for line in completed.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "revcycle: warning: REVCYCLE_SFTP_UPLOAD_DIR (in the environment) is not a revcycle setting and is "
        "ignored; did you mean REVCYCLE_REMOTE_UPLOAD_DIR?"
    ]
    assert "Traceback" not in completed.stderr


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"`REVCYCLE_{name.upper()}`" not in text]
    assert missing == []


def test_config_shows_the_next_control_number_without_creating_a_warehouse(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "nowhere" / "warehouse.db"
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", f"sqlite:///{database}")
    assert main(["config"]) == 0
    assert "Next ISA13/GS06: 000000001 (no warehouse yet" in capsys.readouterr().out
    assert not database.exists()
