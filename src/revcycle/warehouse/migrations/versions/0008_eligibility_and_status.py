"""eligibility checks (270/271) and claim status inquiries (276/277)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 19:30:00

``eligibility_check`` keeps one row per 270 inquiry (a member and payer pair, keyed by a digest, never the
member id) and what its 271 said: the coverage, the primary payer named when it is another, the named action
and the date verified. ``claim_coverage`` keeps, per claim, its pair and whether it was verified at its
latest review (the insurance verification rate). ``status_inquiry`` keeps one row per 276 (one claim) and
its 277's STC. No view reads them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _answer_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("interchange_id", Id, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
    ]


def upgrade() -> None:
    op.create_table(
        "eligibility_check",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("trace", sa.String(50), nullable=False, comment="TRN02 of the 270, echoed in the 271"),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("member_key", sa.String(64), nullable=False, comment="digest of member id and patient; no PHI"),
        *_answer_columns(),
        sa.Column("source_file_id", Id, comment="the 271 that answered it"),
        sa.Column("coverage", sa.String(16), comment="active, inactive, other_primary or no_answer"),
        sa.Column("primary_payer", sa.String(120), comment="the 2120 PRP payer named, when not the claim's payer"),
        sa.Column("primary_payer_id", sa.String(80), comment="that payer's NM109"),
        sa.Column("action", sa.String(32), comment="the named action of an answer neither active nor inactive"),
        sa.Column("verified_on", sa.Date(), comment="the practice-timezone date the 271 was loaded"),
        sa.ForeignKeyConstraint(
            ["interchange_id"], ["interchange.id"], name="fk_eligibility_check_interchange_id_interchange"
        ),
        sa.ForeignKeyConstraint(
            ["source_file_id"], ["source_file.id"], name="fk_eligibility_check_source_file_id_source_file"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_eligibility_check"),
        sa.UniqueConstraint("trace", name="uq_eligibility_check_trace"),
    )
    op.create_index("ix_eligibility_check_member_key", "eligibility_check", ["member_key"])
    op.create_table(
        "claim_coverage",
        sa.Column("claim_key", sa.String(20), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("member_key", sa.String(64), nullable=False, comment="the pair (eligibility_check.member_key)"),
        sa.Column("verified", sa.Boolean(), nullable=False, comment="a 271 within the window answered for the pair"),
        sa.Column("decision", sa.String(16), nullable=False, comment="send, held or awaiting at the latest review"),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("claim_key", name="pk_claim_coverage"),
    )
    op.create_table(
        "status_inquiry",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("trace", sa.String(50), nullable=False, comment="TRN02 of the 276, echoed in the 277"),
        sa.Column("claim_key", sa.String(20), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        *_answer_columns(),
        sa.Column("source_file_id", Id, comment="the 277 that answered it"),
        sa.Column("category", sa.String(4), comment="STC01-1, e.g. P1 pending, F1 finalized/payment, A4 not found"),
        sa.Column("status_code", sa.String(8), comment="STC01-2"),
        sa.Column("entity", sa.String(4), comment="STC01-3"),
        sa.Column("payer_claim_number", sa.String(50)),
        sa.Column("effective_date", sa.Date(), comment="STC02"),
        sa.Column("adjudicated_on", sa.Date(), comment="STC06"),
        sa.Column("paid_cents", sa.BigInteger(), comment="STC05"),
        sa.ForeignKeyConstraint(
            ["interchange_id"], ["interchange.id"], name="fk_status_inquiry_interchange_id_interchange"
        ),
        sa.ForeignKeyConstraint(
            ["source_file_id"], ["source_file.id"], name="fk_status_inquiry_source_file_id_source_file"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_inquiry"),
        sa.UniqueConstraint("trace", name="uq_status_inquiry_trace"),
    )
    op.create_index("ix_status_inquiry_claim_key", "status_inquiry", ["claim_key"])


def downgrade() -> None:
    op.drop_index("ix_status_inquiry_claim_key", table_name="status_inquiry")
    op.drop_table("status_inquiry")
    op.drop_table("claim_coverage")
    op.drop_index("ix_eligibility_check_member_key", table_name="eligibility_check")
    op.drop_table("eligibility_check")
