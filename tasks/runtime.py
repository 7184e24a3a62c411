"""What every task shares: settings, the warehouse engine, and the retry rule (transient errors only)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from revcycle.errors import TransientError
from revcycle.settings import Settings
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse


@cache
def warehouse(url: str) -> Engine:
    """The engine of the warehouse at ``url``, migrated to the latest revision once per process."""
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)  # a fresh worker has no workdir yet
    engine = create_warehouse_engine(url)
    upgrade_warehouse(engine)
    return engine


def settings() -> Settings:
    """The run's settings from ``REVCYCLE_*`` environment variables."""
    return Settings()


def retry_on_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry only what ``errors.py`` calls transient (never auth or bad input)."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False
