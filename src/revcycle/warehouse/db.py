"""Warehouse connections and migrations (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from revcycle.filemodes import private_dir, private_file
from revcycle.warehouse.schema import TRIGGER_CHECKED

CompareFilter = Callable[[Any, str | None, str, bool, Any], bool]


# SQLite creates the WAL and shared-memory files lazily, with the database file's mode (os_unix.c,
# findCreateFileMode and unixOpenSharedMemory), also when they are recreated after the last connection closed.
SQLITE_COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def _private_sqlite_file(database: str) -> None:
    """Create the SQLite file ``0600`` before SQLite does (it would use ``0644``); tighten existing ones."""
    path = Path(database)
    if not path.parent.exists():
        private_dir(path.parent)  # a fresh worker has no workdir yet
    private_file(path)
    for suffix in SQLITE_COMPANION_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private_file(companion)


def create_warehouse_engine(url: str) -> Engine:
    """An engine for the warehouse at ``url``; SQLite gets WAL, foreign keys, a busy timeout and mode ``0600``.

    The SQLite file is created ``0600`` here (and tightened when it exists), so its WAL and shared-memory
    files, which SQLite creates with the database file's mode whenever it needs them, are ``0600`` too.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database not in (None, "", ":memory:") and not str(parsed.database).startswith("file:"):
            _private_sqlite_file(str(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if parsed.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine | None = None) -> Config:
    """The Alembic configuration of the warehouse migrations (bound to ``engine`` when given)."""
    config = Config()
    config.set_main_option("script_location", "revcycle.warehouse:migrations")
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade_warehouse(engine: Engine, revision: str = "head") -> None:
    """Migrate the warehouse to ``revision`` (creates every table on an empty database)."""
    command.upgrade(alembic_config(engine), revision)


def comparison_filter(dialect_name: str) -> CompareFilter:
    """An Alembic ``include_object`` hook: what autogenerate compares between the models and ``dialect_name``.

    On PostgreSQL the foreign keys marked ``TRIGGER_CHECKED`` in the models are triggers (migration 0003),
    not constraints, so their absence from the database is no difference.
    """

    def include(obj: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
        if dialect_name == "postgresql" and type_ == "foreign_key_constraint" and not reflected:
            return not obj.info.get(TRIGGER_CHECKED, False)
        return True

    return include
