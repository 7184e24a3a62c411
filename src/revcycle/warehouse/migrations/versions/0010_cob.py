"""coordination of benefits: secondary claims and crossover carriers

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:00:00

``claim.prior_claim_key`` links a secondary or tertiary claim to the claim whose 835 it was built from (null
for a primary claim); ``remittance_claim.crossover_carrier`` records that the 835 named a crossover carrier
(NM1*TT), i.e. the payer forwarded the claim to the next payer itself (null: loaded before this revision).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from revcycle.warehouse.views import create_views, drop_views

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "claim",
        sa.Column(
            "prior_claim_key",
            sa.String(20),
            comment="a secondary or tertiary claim: the claim whose 835 it was built from",
        ),
    )
    op.create_index("ix_claim_prior_claim_key", "claim", ["prior_claim_key"])
    op.add_column(
        "remittance_claim",
        sa.Column("crossover_carrier", sa.Boolean(), comment="the 835 named a crossover carrier (NM1*TT)"),
    )


def downgrade() -> None:
    # SQLite batch mode copies the tables, which the views read: drop them first, recreate them after
    drop_views(op.get_bind())
    with op.batch_alter_table("remittance_claim") as batch:
        batch.drop_column("crossover_carrier")
    op.drop_index("ix_claim_prior_claim_key", table_name="claim")
    with op.batch_alter_table("claim") as batch:
        batch.drop_column("prior_claim_key")
    create_views(op.get_bind())
