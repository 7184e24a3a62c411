"""KPI definitions and worklists: claim next actions, patient payments, adjustment categories, practice timezone

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00

- ``claim_action``: each claim's current next action (revcycle.next_action), the source of the worklists;
- ``patient_payment``: payments the practice-management system received from patients (a CSV export);
- ``adjustment_category``: the (CAS group, CARC) category table (contractual, patient responsibility,
  denial with its sub-category, other), seeded from revcycle.codes.adjustments;
- ``practice_timezone_offset``: the UTC offsets of the practice's timezone, so SQL dates instants in it on
  SQLite and PostgreSQL alike; seeded for the default timezone, re-synced from the settings by the report;
- an index on claim (encounter_id, payer_id): accounts, held encounters;
- the KPI views, rebuilt from revcycle.warehouse.kpi (the old claim-rate, denial and days-in-A/R views go).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from revcycle.clock import DEFAULT_TIMEZONE
from revcycle.warehouse.reference import sync_adjustment_categories
from revcycle.warehouse.timezone import sync_practice_timezone
from revcycle.warehouse.views import create_views, drop_views

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_views(op.get_bind())
    op.create_table(
        "claim_action",
        sa.Column("claim_key", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False, comment="revcycle.next_action.Action"),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="pipeline, wait, person or final"),
        sa.Column(
            "reason", sa.String(length=500), nullable=False, comment="why, naming claim keys and codes only (no PHI)"
        ),
        sa.Column("source", sa.String(length=500), nullable=False, comment="the written rule's source"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, comment="when the claim got this action"),
        sa.Column(
            "due_on",
            sa.Date(),
            nullable=True,
            comment="appeal deadline of a denial, date a response is due (practice timezone)",
        ),
        sa.ForeignKeyConstraint(["claim_key"], ["claim.claim_key"], name=op.f("fk_claim_action_claim_key_claim")),
        sa.PrimaryKeyConstraint("claim_key", name=op.f("pk_claim_action")),
    )
    with op.batch_alter_table("claim_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_action_action"), ["action"], unique=False)
    op.create_table(
        "patient_payment",
        sa.Column(
            "payment_id",
            sa.String(length=64),
            nullable=False,
            comment="the practice-management system's payment id",
        ),
        sa.Column("source_file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("encounter_id", sa.String(length=64), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=False, comment="practice timezone"),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False, comment="a refund is negative"),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_file_id"], ["source_file.id"], name=op.f("fk_patient_payment_source_file_id_source_file")
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_patient_payment")),
    )
    with op.batch_alter_table("patient_payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_payment_encounter_id"), ["encounter_id"], unique=False)
    op.create_table(
        "adjustment_category",
        sa.Column("group_code", sa.String(length=2), nullable=False, comment="CAS01"),
        sa.Column("reason_code", sa.String(length=5), nullable=False, comment="CARC"),
        sa.Column(
            "category",
            sa.String(length=24),
            nullable=False,
            comment="contractual, patient_responsibility, denial, other",
        ),
        sa.Column("denial_kind", sa.String(length=32), nullable=True, comment="a denial's sub-category"),
        sa.Column("description", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("group_code", "reason_code", name=op.f("pk_adjustment_category")),
    )
    op.create_table(
        "practice_timezone_offset",
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False, comment="UTC instant the offset starts"),
        sa.Column("utc_offset_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("starts_at", name=op.f("pk_practice_timezone_offset")),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.create_index("ix_claim_encounter", ["encounter_id", "payer_id"], unique=False)
    bind = op.get_bind()
    sync_adjustment_categories(bind)
    sync_practice_timezone(bind, DEFAULT_TIMEZONE)
    create_views(bind)


def downgrade() -> None:
    drop_views(op.get_bind())
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_encounter")
    op.drop_table("practice_timezone_offset")
    op.drop_table("adjustment_category")
    with op.batch_alter_table("patient_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_payment_encounter_id"))
    op.drop_table("patient_payment")
    with op.batch_alter_table("claim_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_action_action"))
    op.drop_table("claim_action")
    create_views(op.get_bind())
