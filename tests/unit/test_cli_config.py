"""`revcycle config` shows every setting with secrets masked, and the README documents every setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from revcycle.cli import main
from revcycle.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


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


def test_invalid_configuration_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVCYCLE_USAGE_INDICATOR", "X")
    assert main(["config"]) == 1
    assert "usage_indicator" in capsys.readouterr().err


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"`REVCYCLE_{name.upper()}`" not in text]
    assert missing == []
