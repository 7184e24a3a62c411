"""claim versions and charge revisions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 21:45:00

``claim_version`` keeps one row per submission of a claim (``revcycle.claim_versions``): its number, its
frequency code (CLM05-3), a digest of its content as written, its interchange, the payer claim number a 7 or
8 replaces (REF*F8) and its outcome. The claims staged before this revision get their version 1 here, with
no digest (the content they were written with is not kept) and the outcome of their current status.
``charge_revision`` keeps each re-sent charge of a claim whose content changed (a corrected export).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_OUTCOME = """CASE status
    WHEN 'built' THEN 'staged'
    WHEN 'submitted' THEN 'uploaded'
    WHEN 'accepted' THEN 'accepted'
    WHEN 'reversed' THEN 'accepted'
    WHEN 'rejected' THEN 'rejected'
    ELSE 'adjudicated' END"""


def upgrade() -> None:
    op.create_table(
        "claim_version",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("claim_key", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, comment="1 for the first submission, then 2, 3 ..."),
        sa.Column("frequency_code", sa.String(1), nullable=False, comment="CLM05-3: 1 original, 7 replacement, 8 void"),
        sa.Column(
            "content_digest",
            sa.String(64),
            comment="revcycle.claim_versions.claim_digest; null: staged before 0009",
        ),
        sa.Column("interchange_id", Id, nullable=False),
        sa.Column("replaces_payer_claim_number", sa.String(50), comment="REF*F8 of a 7 or 8"),
        sa.Column(
            "outcome",
            sa.String(16),
            nullable=False,
            comment="staged, uploaded, accepted, rejected or adjudicated",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claim_key"], ["claim.claim_key"], name="fk_claim_version_claim_key_claim"),
        sa.ForeignKeyConstraint(
            ["interchange_id"], ["interchange.id"], name="fk_claim_version_interchange_id_interchange"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_claim_version"),
        sa.UniqueConstraint("claim_key", "version", name="uq_claim_version_claim_key"),
    )
    op.create_index("ix_claim_version_claim_key", "claim_version", ["claim_key"])
    op.execute(
        "INSERT INTO claim_version (claim_key, version, frequency_code, interchange_id, outcome, created_at) "
        f"SELECT claim_key, 1, frequency_code, interchange_id, {_OUTCOME}, COALESCE(submitted_at, built_at) "
        "FROM claim WHERE interchange_id IS NOT NULL"
    )

    op.create_table(
        "charge_revision",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("source_file_id", Id, nullable=False, comment="the export that re-sent it"),
        sa.Column("claim_key", sa.String(20), nullable=False, comment="the claim the charge is a line of"),
        sa.Column(
            "changed_columns",
            sa.String(500),
            nullable=False,
            comment="names of the columns that changed; no values",
        ),
        sa.Column(
            "replaced_row_json", sa.Text(), nullable=False, comment="the content it replaced (PHI: warehouse only)"
        ),
        sa.Column("row_json", sa.Text(), nullable=False, comment="the content re-sent (PHI: warehouse only)"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["charge_id"], ["charge.charge_id"], name="fk_charge_revision_charge_id_charge"),
        sa.ForeignKeyConstraint(
            ["source_file_id"], ["source_file.id"], name="fk_charge_revision_source_file_id_source_file"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_charge_revision"),
    )
    op.create_index("ix_charge_revision_charge_id", "charge_revision", ["charge_id"])
    op.create_index("ix_charge_revision_claim_key", "charge_revision", ["claim_key"])


def downgrade() -> None:
    op.drop_index("ix_charge_revision_claim_key", table_name="charge_revision")
    op.drop_index("ix_charge_revision_charge_id", table_name="charge_revision")
    op.drop_table("charge_revision")
    op.drop_index("ix_claim_version_claim_key", table_name="claim_version")
    op.drop_table("claim_version")
