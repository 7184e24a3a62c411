"""refused transaction sets, and the collision-free name each received file is stored under

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 09:00:00

``refused_transaction_set`` keeps every 835, 999 or 277CA transaction set that did not post (a cut or
miscounted set, or a set of a broken group or interchange), with a code and a message without values.
``source_file.stored_name`` is the name a collected file is kept under locally and in the remote archive
(its original name and its sha256), so two files sent under one name never replace each other. No view
reads either table, so the views are not recreated.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUS_BEFORE = "received, loaded, failed"
STATUS_NOW = "received, loaded, refused (a response none of whose transaction sets posted), failed"
NAME_NOW = "the name it arrived under"
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "refused_transaction_set",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("source_file_id", Id, nullable=False),
        sa.Column(
            "kind",
            sa.String(length=8),
            nullable=False,
            comment="835, 999, 277CA, or the ST01 of a set of another type",
        ),
        sa.Column(
            "set_ordinal",
            sa.Integer(),
            nullable=False,
            comment="its place among the file's transaction sets, from 1",
        ),
        sa.Column("control_number", sa.String(length=9), nullable=False, comment="ST02"),
        sa.Column(
            "problem_code",
            sa.String(length=32),
            nullable=False,
            comment="why it was refused (revcycle.refusals)",
        ),
        sa.Column("message", sa.String(length=255), nullable=False, comment="what to do, without values"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_file_id"],
            ["source_file.id"],
            name=op.f("fk_refused_transaction_set_source_file_id_source_file"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_transaction_set")),
        sa.UniqueConstraint("source_file_id", "set_ordinal", name="uq_refused_transaction_set_file_ordinal"),
    )
    op.create_index(
        op.f("ix_refused_transaction_set_source_file_id"),
        "refused_transaction_set",
        ["source_file_id"],
        unique=False,
    )
    # A nullable column is added in place on both databases (no batch copy of source_file).
    op.add_column(
        "source_file",
        sa.Column(
            "stored_name",
            sa.String(length=255),
            nullable=True,
            comment="the name it is kept under in inbound/ and the remote archive (name and sha256); "
            "null when it was not collected over SFTP",
        ),
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no column comments
        op.alter_column(
            "source_file",
            "status",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=STATUS_NOW,
            existing_comment=STATUS_BEFORE,
        )
        op.alter_column(
            "source_file",
            "name",
            existing_type=sa.String(length=255),
            existing_nullable=False,
            comment=NAME_NOW,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "source_file",
            "name",
            existing_type=sa.String(length=255),
            existing_nullable=False,
            comment=None,
            existing_comment=NAME_NOW,
        )
        op.alter_column(
            "source_file",
            "status",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            comment=STATUS_BEFORE,
            existing_comment=STATUS_NOW,
        )
    with op.batch_alter_table("source_file", schema=None) as batch_op:
        batch_op.drop_column("stored_name")
    op.drop_index(op.f("ix_refused_transaction_set_source_file_id"), table_name="refused_transaction_set")
    op.drop_table("refused_transaction_set")
