"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated SQLite warehouse in ``tmp_path`` (where ``revcycle attention`` finds it too)."""
    warehouse = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade_warehouse(warehouse)
    try:
        yield warehouse
    finally:
        warehouse.dispose()
