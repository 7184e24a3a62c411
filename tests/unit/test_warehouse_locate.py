"""Which warehouse `revcycle report` (and the other warehouse commands) read with nothing configured: the
default workdir's, else the one `make demo` wrote to ./demo (said on stderr), else one line saying where it
looked. Never a traceback, never a new empty warehouse in ./revcycle-data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from revcycle.cli import main
from revcycle.settings import Settings
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.locate import locate_warehouse


@pytest.fixture
def nothing_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder as the current directory, and no REVCYCLE_* variable."""
    for name in list(os.environ):
        if name.startswith("REVCYCLE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_warehouse(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    engine = create_warehouse_engine(f"sqlite:///{folder / 'warehouse.db'}")
    upgrade_warehouse(engine)
    engine.dispose()
    return folder / "warehouse.db"


def test_report_after_the_demo_reads_the_demos_warehouse_and_says_so(
    nothing_configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_warehouse(nothing_configured / "demo")

    code = main(["report", "--as-of", "2026-11-30"])

    out, err = capsys.readouterr()
    assert code == 0
    assert "using the demo's warehouse demo/warehouse.db" in err
    assert "REVCYCLE_WORKDIR" in err
    assert out.startswith("Revenue-cycle report as of 2026-11-30")
    assert not (nothing_configured / "revcycle-data").exists()


def test_report_with_no_warehouse_anywhere_says_where_it_looked_in_one_line(
    nothing_configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "revcycle-data/warehouse.db" in err and "demo/warehouse.db" in err
    assert "make demo" in err and "REVCYCLE_WORKDIR" in err
    assert not (nothing_configured / "revcycle-data").exists()


def test_an_explicit_workdir_that_is_no_folder_is_named(
    nothing_configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_warehouse(nothing_configured / "demo")  # not used: the operator chose another workdir
    monkeypatch.setenv("REVCYCLE_WORKDIR", str(nothing_configured / "typo"))

    code = main(["worklist"])

    err = capsys.readouterr().err
    assert code == 1
    assert len(err.splitlines()) == 1
    assert "REVCYCLE_WORKDIR" in err and "typo" in err


def test_a_warehouse_that_cannot_be_opened_is_one_line_without_traceback(
    nothing_configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (nothing_configured / "a-file").write_text("not a folder")
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", f"sqlite:///{nothing_configured / 'a-file' / 'warehouse.db'}")

    code = main(["report"])

    err = capsys.readouterr().err
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith("revcycle: cannot open the warehouse sqlite:///")
    assert "REVCYCLE_WAREHOUSE_URL" in err


def test_the_default_workdirs_warehouse_wins_over_the_demos(nothing_configured: Path) -> None:
    make_warehouse(nothing_configured / "demo")
    default = make_warehouse(nothing_configured / "revcycle-data")

    location = locate_warehouse(Settings())

    assert location.url == f"sqlite:///{default.resolve()}"
    assert location.note is None


def test_an_explicit_workdir_without_a_warehouse_gets_one(nothing_configured: Path) -> None:
    (nothing_configured / "clinic").mkdir()

    location = locate_warehouse(Settings(workdir=nothing_configured / "clinic"))

    assert location.url == f"sqlite:///{(nothing_configured / 'clinic' / 'warehouse.db').resolve()}"
