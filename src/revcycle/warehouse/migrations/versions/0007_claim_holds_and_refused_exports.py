"""claim holds: claims set aside at intake, build or staging, with their reason; refused exports in the ledger

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 17:00:00

``claim_hold`` keeps every claim that was set aside instead of sent (the writer refused a value, the claim no
longer rebuilds, the claims suite failed on the written 837, a line of its encounter was rejected ...), with a
reason that names the claim key, charge ids, fields and rules, never a value. A later build of the claim
releases it (``released_at``). ``source_file.status`` may now also be ``refused`` for an export that cannot be
read as the contract (moved to ``exports/refused/``); only its comment changes, on PostgreSQL (SQLite keeps no
column comments). No view reads ``claim_hold``, and no table a view reads is rebuilt, so the views stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUS_BEFORE = "received, loaded, refused (a response none of whose transaction sets posted), failed"
STATUS_NOW = (
    "received, loaded, failed, refused (an export intake refused, or a response none of whose transaction sets posted)"
)


def upgrade() -> None:
    op.create_table(
        "claim_hold",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("claim_key", sa.String(20), nullable=False, comment="CLM01 the claim has or would have"),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("encounter_id", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False, comment="intake, build or stage: where the claim was held"),
        sa.Column(
            "reason",
            sa.String(500),
            nullable=False,
            comment="claim key, charge ids, fields and rules; no values",
        ),
        sa.Column("source_file_id", Id, nullable=True, comment="the export whose intake held it"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), comment="when a later build of the claim released it"),
        sa.ForeignKeyConstraint(
            ["source_file_id"], ["source_file.id"], name="fk_claim_hold_source_file_id_source_file"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_claim_hold"),
    )
    op.create_index("ix_claim_hold_claim_key", "claim_hold", ["claim_key"])
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "source_file",
            "status",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=STATUS_NOW,
            existing_comment=STATUS_BEFORE,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "source_file",
            "status",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=STATUS_BEFORE,
            existing_comment=STATUS_NOW,
        )
    op.drop_index("ix_claim_hold_claim_key", table_name="claim_hold")
    op.drop_table("claim_hold")
