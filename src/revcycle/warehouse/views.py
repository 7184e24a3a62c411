"""The KPI queries of ``kpi.py`` as SQL views for BI tools (Metabase, Superset, Power BI).

Views take ``CURRENT_DATE`` as the reference date. A migration that changes a view drops and recreates it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select, func

from revcycle.warehouse import kpi

VIEWS: dict[str, Callable[[], Select[Any]]] = {
    "kpi_claim_rates": kpi.claim_rates_query,
    "kpi_initial_denials_by_payer": kpi.denials_by_payer_query,
    "kpi_initial_denials_by_reason": kpi.denials_by_reason_query,
    "kpi_net_collection_rate": kpi.net_collection_query,
    "kpi_days_in_ar": lambda: kpi.days_in_ar_query(func.current_date()),
    "kpi_ar_aging": lambda: kpi.ar_aging_query(func.current_date()),
    "kpi_days_to_payment": kpi.days_to_payment_query,
    "kpi_underpayments": kpi.underpayments_query,
    "kpi_denial_worklist": lambda: kpi.denial_worklist_query(func.current_date()),
    "kpi_payments_by_date": kpi.payments_by_date_query,
}


def view_sql(conn: Connection, name: str) -> str:
    """The SELECT of view ``name`` in the dialect of ``conn``, with every value inlined."""
    query = VIEWS[name]()
    return str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def create_views(conn: Connection) -> None:
    """Create (or replace) every KPI view."""
    for name in VIEWS:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE VIEW {name} AS {view_sql(conn, name)}")


def drop_views(conn: Connection) -> None:
    """Drop every KPI view."""
    for name in VIEWS:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
