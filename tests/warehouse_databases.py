"""Empty warehouse databases for tests: a SQLite file, or a fresh PostgreSQL schema dropped afterwards.

A module of its own (not a conftest) so that test modules can import it by name whatever else is collected.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse

POSTGRES_URL = os.environ.get("REVCYCLE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_admin() -> Engine:
    """An AUTOCOMMIT engine on the tests' PostgreSQL; unreachable is a failure under CI=true, else a skip."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as problem:
        admin.dispose()
        reason = f"PostgreSQL is unreachable at {POSTGRES_URL} ({type(problem.orig).__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return admin


@contextmanager
def empty_warehouse_url(dialect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty warehouse database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'warehouse.db'}"
        return
    admin = postgres_admin()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    """An engine on the warehouse at ``url``, migrated to the latest revision; disposed after."""
    engine = create_warehouse_engine(url)
    upgrade_warehouse(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def migrated_warehouse(dialect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An empty warehouse (``empty_warehouse_url``) migrated to the latest revision."""
    with empty_warehouse_url(dialect, tmp_path_factory) as url, migrated(url) as engine:
        yield engine
