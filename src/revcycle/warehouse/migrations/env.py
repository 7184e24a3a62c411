"""Alembic environment: runs migrations on the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from revcycle.warehouse.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # the alembic command line: REVCYCLE_WAREHOUSE_URL or -x url=...
    from revcycle.settings import Settings

    url = context.get_x_argument(as_dictionary=True).get("url") or Settings().resolved_warehouse_url()
    engine = create_engine(url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
