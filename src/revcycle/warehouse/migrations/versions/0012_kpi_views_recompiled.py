"""the KPI views compiled again from the current KPI queries

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00

No table changes. The views are the KPI queries compiled when a migration created them, so a warehouse
migrated before this revision kept the earlier SQL of three queries that now read the same figures another way:
the accounts' balances (``kpi_account_balances``, ``kpi_open_ar``, ``kpi_ar_aging``), whose earlier form joined
every claim with every event on PostgreSQL at scale, and the first-pass outcome (``kpi_claim_units``,
``kpi_clean_claims_weekly``, ``kpi_first_pass_by_payer``), whose earlier form looked each claim's events up 14
times (docs/scale.md, "The report on PostgreSQL" and "The report's first-pass queries").
"""

from __future__ import annotations

from alembic import op

from revcycle.warehouse.views import create_views

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_views(op.get_bind())


def downgrade() -> None:
    # The views are the code's at hand: a downgrade leaves them compiled from it, as any later upgrade would.
    create_views(op.get_bind())
