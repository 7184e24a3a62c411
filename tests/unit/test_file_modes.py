"""PHI modes: the SQLite warehouse and its WAL and shared-memory files 0600, folders 0700, whatever the umask.

SQLite creates a database with mode 0644 less the umask, and its -wal and -shm files lazily, with the
database file's mode, each time they are needed again after the last connection closed them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from revcycle.filemodes import private_dir, private_file, private_tree
from revcycle.warehouse.db import create_warehouse_engine


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask of a typical service account (022): files 0644 and folders 0755 unless we say otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write(url: str, value: int) -> None:
    engine = create_warehouse_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
            companions = {p.name: mode(p) for p in path_of(url).parent.iterdir() if p.name != "warehouse.db"}
            # Inside the transaction the WAL and shared-memory files exist: this is when they must be private.
            assert companions == {"warehouse.db-wal": 0o600, "warehouse.db-shm": 0o600}
    finally:
        engine.dispose()


def path_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_a_new_sqlite_warehouse_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'work' / 'warehouse.db'}"
    _write(url, 1)
    assert mode(path_of(url)) == 0o600
    # Missing folders on the way are created private.
    assert mode(tmp_path / "fresh") == 0o700 and mode(tmp_path / "fresh" / "work") == 0o700


def test_wal_and_shm_recreated_after_the_last_connection_closed_are_0600_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    _write(url, 1)
    # The last connection closing checkpoints and removes the WAL and shared-memory files ...
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.db"]
    # ... and the next writer creates them again (checked inside _write).
    _write(url, 2)


def test_an_existing_warehouse_readable_by_others_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.db"
    for name in ("warehouse.db", "warehouse.db-wal"):
        (tmp_path / name).write_bytes(b"")
        (tmp_path / name).chmod(0o644)
    create_warehouse_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == 0o600 and mode(tmp_path / "warehouse.db-wal") == 0o600


def test_private_dir_creates_parents_0700_and_tightens_an_existing_folder(tmp_path: Path) -> None:
    created = private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700 and mode(created) == 0o700
    existing = tmp_path / "open"
    existing.mkdir(mode=0o755)
    private_dir(existing)
    assert mode(existing) == 0o700


def test_private_file_is_created_0600_and_keeps_its_content_when_it_exists(tmp_path: Path) -> None:
    path = private_file(tmp_path / "new.csv")
    assert mode(path) == 0o600 and path.read_bytes() == b""
    old = tmp_path / "old.csv"
    old.write_text("kept")
    old.chmod(0o664)
    private_file(old)
    assert mode(old) == 0o600 and old.read_text() == "kept"


def test_private_tree_tightens_every_folder_and_file(tmp_path: Path) -> None:
    (tmp_path / "site" / "static" / "css").mkdir(parents=True)
    (tmp_path / "site" / "index.html").write_text("x")
    (tmp_path / "site" / "static" / "css" / "style.css").write_text("x")
    private_tree(tmp_path / "site")
    modes = {str(p.relative_to(tmp_path)): mode(p) for p in (tmp_path / "site").rglob("*")}
    assert modes == {
        "site/index.html": 0o600,
        "site/static": 0o700,
        "site/static/css": 0o700,
        "site/static/css/style.css": 0o600,
    }
    assert mode(tmp_path / "site") == 0o700
