"""`revcycle ingest` says what a file that is not a response is, and what to do; it loads nothing of it.

Before, an empty file, 2 MB of random bytes and a text file all got "unknown is not a response revcycle loads".
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from revcycle.cli import main
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.schema import source_file


@pytest.fixture(scope="module")
def sqlite_cli_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated SQLite warehouse named by REVCYCLE_WAREHOUSE_URL: every test leaves it empty."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ingest') / 'warehouse.db'}"
    engine = create_warehouse_engine(url)
    upgrade_warehouse(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVCYCLE_WAREHOUSE_URL", url)
        try:
            yield engine
        finally:
            engine.dispose()


# A file's bytes, and words the one line about it must hold: what it is, and what to do next.
CASES = {
    "empty.835": (b"", ("empty file", "fetch the file again")),
    "blank.835": (b"\r\n  \n", ("blank file", "fetch the file again")),
    "noise.bin": (random.Random(12).randbytes(2_000_000), ("binary data", "an X12 file starts with ISA")),
    "notes.txt": (b"Remittance for June\nsee attached\n", ("text without an ISA segment", "starts with ISA")),
    "portal.zip": (b"PK\x03\x04" + bytes(60), ("ZIP archive", "unzip it")),
    "eob.pdf": (b"%PDF-1.7\n" + bytes(60), ("PDF document", "ask the sender for the X12")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_file_that_is_not_x12_gets_one_line_saying_what_it_is(
    name: str, sqlite_cli_warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, words = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["ingest", str(path)]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if name in line)
    for word in words:
        assert word in line, out
    assert "unknown" not in out
    with sqlite_cli_warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(source_file)).scalar_one() == 0


def test_an_x12_file_of_another_kind_names_its_kind(
    sqlite_cli_warehouse: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an interchange with a 270 eligibility inquiry (a request we send) and one with no transaction set at all
    isa = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*000000001*0*T*:~"
    assert len(isa) == 106
    inquiry = tmp_path / "inquiry.x12"
    inquiry.write_text(
        isa + "GS*HS*S*R*20260101*1200*1*X*005010X279A1~ST*270*0001*005010X279A1~SE*2*0001~GE*1*1~IEA*1*000000001~"
    )
    empty = tmp_path / "envelope.x12"
    empty.write_text(isa + "IEA*0*000000001~")
    assert main(["ingest", str(inquiry), str(empty)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "X12 270" in next(line for line in lines if "inquiry.x12" in line)
    assert "ingest loads 835, 999, 277CA and TA1" in out
    assert "no transaction set" in next(line for line in lines if "envelope.x12" in line)
    with sqlite_cli_warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(source_file)).scalar_one() == 0
