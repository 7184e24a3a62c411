"""The KPI queries of ``revcycle.warehouse.kpi`` as SQL views for BI tools (Metabase, Superset, Power BI).

Views are the same ``Select`` the Python functions run, compiled for the database's dialect. Their
reference date is today in the practice's timezone; the period figures are given per week (Monday) or over
every date, for the BI tool to filter. A migration that changes a view, or rebuilds a table a view reads
(SQLite batch mode), drops the views first and recreates them at its end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select, Table, inspect, select

from revcycle.warehouse.kpi import ar, claims, denials, payments, worklists
from revcycle.warehouse.kpi.common import today_in_practice
from revcycle.warehouse.schema import practice_timezone_offset
from revcycle.warehouse.sqlfunc import local_date

OFFSET_TABLE = practice_timezone_offset.name

VIEWS: dict[str, Callable[[], Select[Any]]] = {
    "kpi_claim_units": claims.claim_units_view,
    "kpi_clean_claims_weekly": lambda: claims.clean_claims_query(by_week=True),
    "kpi_first_pass_by_payer": lambda: claims.first_pass_query(by_payer=True),
    "kpi_first_pass_resolution": claims.first_pass_resolution_query,
    "kpi_initial_outcomes": lambda: select(denials.initial_outcomes()),
    "kpi_initial_denials_submitted_weekly": lambda: denials.initial_denials_query(
        denials.SUBMITTED, by_payer=True, by_week=True
    ),
    "kpi_initial_denials_remitted_weekly": lambda: denials.initial_denials_query(
        denials.REMITTED, by_payer=True, by_week=True
    ),
    "kpi_denials_by_reason": denials.denials_by_reason_query,
    "kpi_net_collection": payments.net_collection_query,
    "kpi_cash_weekly": lambda: payments.cash_collected_query(by_week=True),
    "kpi_days_to_payment": payments.days_to_payment_query,
    "kpi_days_to_payment_weekly": lambda: payments.days_to_payment_query(by="week"),
    "kpi_account_balances": lambda: ar.account_balances_view(today_in_practice()),
    "kpi_open_ar": lambda: ar.open_ar_query(today_in_practice()),
    "kpi_ar_aging": lambda: ar.ar_aging_query(today_in_practice()),
    "kpi_underpayments": payments.underpayments_query,
    "kpi_payments_by_date": payments.payments_by_date_query,
    "kpi_worklist_rejections": worklists.rejections_query,
    "kpi_worklist_denials": lambda: worklists.denials_query(today_in_practice()),
    "kpi_worklist_held": worklists.held_charges_view,
    "kpi_worklist_silent": lambda: worklists.silent_claims_query(today_in_practice()),
    "kpi_worklist_recoupments": worklists.recoupments_query,
}

# Views of earlier revisions, dropped when the views are recreated.
RETIRED_VIEWS = (
    "kpi_claim_rates",
    "kpi_initial_denials_by_payer",
    "kpi_initial_denials_by_reason",
    "kpi_net_collection_rate",
    "kpi_days_in_ar",
    "kpi_denial_worklist",
)


def view_sql(conn: Connection, name: str) -> str:
    """The SELECT of view ``name`` in the dialect of ``conn``, with every value inlined."""
    return _compiled(name, conn.dialect)


# The SQL of a view depends on the code and the dialect only: compiled once per process (a few hundred
# milliseconds for all of them, which every migrated test database would otherwise pay again).
_COMPILED: dict[tuple[str, str, tuple[Any, ...] | None], str] = {}


def _compiled(name: str, dialect: Any) -> str:
    key = (name, dialect.name, getattr(dialect, "server_version_info", None))
    if key not in _COMPILED:
        query = VIEWS[name]()
        _COMPILED[key] = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return _COMPILED[key]


def _tables_of(name: str) -> set[str]:
    if name not in _TABLES:
        _TABLES[name] = tables_read(VIEWS[name]())
    return _TABLES[name]


_TABLES: dict[str, set[str]] = {}


def tables_read(query: Select[Any]) -> set[str]:
    """The tables a query reads (each shared subquery walked once)."""
    tables: set[str] = set()
    seen: set[int] = set()
    stack: list[Any] = [query]
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        if isinstance(element, Table):
            tables.add(element.name)
        elif isinstance(element, local_date):
            tables.add(OFFSET_TABLE)  # read by the compiled SQL of local_date
        stack.extend(element.get_children())
    return tables


def create_views(conn: Connection) -> list[str]:
    """Create (or replace) every KPI view whose tables exist yet; returns the names created.

    An early migration calling this creates the views its schema can hold; the migration that adds the last
    table a view reads creates the rest.
    """
    existing = set(inspect(conn).get_table_names())
    created = []
    for name in VIEWS:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
        if _tables_of(name) <= existing:
            conn.exec_driver_sql(f"CREATE VIEW {name} AS {view_sql(conn, name)}")
            created.append(name)
    return created


def drop_views(conn: Connection) -> None:
    """Drop every KPI view (and the retired ones)."""
    for name in (*VIEWS, *RETIRED_VIEWS):
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
