"""reporting warehouse: payer appeal window, fee schedules, denial reasons, reversals, bulk keys, KPI views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from revcycle.warehouse.views import create_views, drop_views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Share of denied dollars an appeal typically recovers, by CARC: a starting point an operator tunes in the table.
DENIAL_REASONS = (
    ("16", "Claim lacks information or has submission/billing errors", 90),
    ("197", "Precertification/authorization absent", 50),
    ("50", "Not deemed a medical necessity by the payer", 40),
    ("97", "Included in the payment of another service (bundled)", 30),
    ("29", "The time limit for filing has expired", 5),
    ("18", "Exact duplicate claim/service", 5),
    ("27", "Expenses incurred after coverage terminated", 10),
    ("204", "Service not covered under the patient's benefit plan", 15),
)

REDUNDANT_INDEXES = (
    ("remittance_claim", "remittance_id"),
    ("remittance_service", "remittance_claim_id"),
    ("adjustment", "remittance_claim_id"),
    ("remark", "remittance_claim_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("payer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "appeal_days",
                sa.Integer(),
                server_default=sa.text("90"),
                nullable=False,
                comment="days after the denial's payment date within which the payer takes an appeal",
            )
        )
    op.create_table(
        "fee_schedule",
        sa.Column("payer_id", sa.String(length=32), nullable=False),
        sa.Column("procedure_code", sa.String(length=8), nullable=False),
        sa.Column("contracted_cents", sa.BigInteger(), nullable=False, comment="contracted amount per unit"),
        sa.Column("source_name", sa.String(length=255), nullable=True, comment="the fee-schedule CSV it came from"),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payer_id"], ["payer.payer_id"], name=op.f("fk_fee_schedule_payer_id_payer")),
        sa.PrimaryKeyConstraint("payer_id", "procedure_code", name=op.f("pk_fee_schedule")),
    )
    denial = op.create_table(
        "denial_reason",
        sa.Column("reason_code", sa.String(length=5), nullable=False, comment="CARC"),
        sa.Column("description", sa.String(length=120), nullable=False),
        sa.Column(
            "recoverability_pct",
            sa.Integer(),
            nullable=False,
            comment="share of denied dollars an appeal recovers",
        ),
        sa.PrimaryKeyConstraint("reason_code", name=op.f("pk_denial_reason")),
    )
    op.bulk_insert(
        denial,
        [{"reason_code": c, "description": d, "recoverability_pct": p} for c, d, p in DENIAL_REASONS],
    )
    with op.batch_alter_table("remittance_claim", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reversed_by_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
                comment="the CLP02 22 reversal that cancelled this posting",
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_remittance_claim_reversed_by_id_remittance_claim"),
            "remittance_claim",
            ["reversed_by_id"],
            ["id"],
        )
        batch_op.create_unique_constraint("uq_remittance_claim_sequence", ["remittance_id", "sequence"])
    with op.batch_alter_table("remittance_service", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_remittance_service_sequence", ["remittance_claim_id", "sequence"])
    for table in ("adjustment", "remark"):
        # Rows loaded before this revision get their id as sequence: unique, and in load order.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "sequence",
                    sa.Integer(),
                    nullable=True,
                    comment="order within the remittance claim (claim and lines)",
                )
            )
        op.execute(f"UPDATE {table} SET sequence = id")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "sequence",
                existing_type=sa.Integer(),
                nullable=False,
                existing_comment="order within the remittance claim (claim and lines)",
            )
            batch_op.create_unique_constraint(f"uq_{table}_sequence", ["remittance_claim_id", "sequence"])
    # The unique keys above lead with the parent id: the single-column parent indexes only slow bulk loads.
    for table, column in REDUNDANT_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_{column}")
    create_views(op.get_bind())


def downgrade() -> None:
    drop_views(op.get_bind())
    for table, column in REDUNDANT_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_{column}", [column], unique=False)
    for table in ("remark", "adjustment"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_sequence", type_="unique")
            batch_op.drop_column("sequence")
    with op.batch_alter_table("remittance_service", schema=None) as batch_op:
        batch_op.drop_constraint("uq_remittance_service_sequence", type_="unique")
    with op.batch_alter_table("remittance_claim", schema=None) as batch_op:
        batch_op.drop_constraint("uq_remittance_claim_sequence", type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_remittance_claim_reversed_by_id_remittance_claim"), type_="foreignkey")
        batch_op.drop_column("reversed_by_id")
    op.drop_table("denial_reason")
    op.drop_table("fee_schedule")
    with op.batch_alter_table("payer", schema=None) as batch_op:
        batch_op.drop_column("appeal_days")
