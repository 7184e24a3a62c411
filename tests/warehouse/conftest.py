"""Warehouse fixtures: every warehouse test runs on SQLite and on PostgreSQL (one schema per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from warehouse_databases import empty_warehouse_url, migrated


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty warehouse database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    with empty_warehouse_url(request.param, tmp_path_factory) as url:
        yield url


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Engine]:
    """An engine on the warehouse, migrated to the latest revision."""
    with migrated(warehouse_url) as engine:
        yield engine
