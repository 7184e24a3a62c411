"""What every task shares: settings, the warehouse engine, and the retry rule (transient errors only)."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError
from sqlalchemy import Engine

from revcycle.errors import TransientError
from revcycle.settings import Settings, warn_unknown_variables
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse


@cache
def warehouse(url: str) -> Engine:
    """The engine of the warehouse at ``url``, migrated to the latest revision once per process."""
    engine = create_warehouse_engine(url)
    upgrade_warehouse(engine)
    return engine


def settings() -> Settings:
    """The run's settings from ``REVCYCLE_*`` environment variables.

    An unknown ``REVCYCLE_*`` variable (a typo) is reported once per process as a warning in the run's log.
    """
    loaded = Settings()
    warn_unknown_variables(_run_logger().warning)
    return loaded


def _run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a flow or task run (its lines reach the UI), else this module's logger."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def retry_on_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry only what ``errors.py`` calls transient (never auth or bad input)."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False
