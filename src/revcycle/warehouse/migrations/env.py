"""Alembic environment: runs migrations on the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from revcycle.warehouse.db import comparison_filter
from revcycle.warehouse.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # the alembic command line: REVCYCLE_WAREHOUSE_URL or -x url=...
    from revcycle.settings import Settings

    url = context.get_x_argument(as_dictionary=True).get("url") or Settings().resolved_warehouse_url()
    engine = create_engine(url)

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection
    if sqlite and raw is not None:
        # Batch mode rebuilds SQLite tables (copy, drop, rename): with foreign keys enforced, dropping a table
        # that other rows reference fails. The pragma only takes effect outside a transaction.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                compare_type=True,
                include_object=comparison_filter(connection.dialect.name),
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left {len(broken)} rows with a broken foreign key")
    finally:
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")
