"""work items, their status history and references; incident category (issue 15)

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-01 20:10:19.421530
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("raw_status", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("parent", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
        sa.Column("created_at", service.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", service.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "key", name="uq_work_item_source_key"),
    )
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_item_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_item_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_item_parent"), ["parent"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_item_service"), ["service"], unique=False)

    op.create_table(
        "work_item_reference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("repository", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("seen_at", service.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "kind", "repository", "ref", name="uq_work_item_reference"),
    )
    with op.batch_alter_table("work_item_reference", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_item_reference_key"), ["key"], unique=False)

    op.create_table(
        "work_item_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("raw_status", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("changed_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "key", "changed_at", "status", name="uq_work_item_status_point"),
    )
    with op.batch_alter_table("work_item_status", schema=None) as batch_op:
        batch_op.create_index("ix_work_item_status_item", ["source", "key"], unique=False)

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("category_source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("category_evidence", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("category_evidence")
        batch_op.drop_column("category_source")
        batch_op.drop_column("category")

    with op.batch_alter_table("work_item_status", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_status_item")

    op.drop_table("work_item_status")
    with op.batch_alter_table("work_item_reference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_reference_key"))

    op.drop_table("work_item_reference")
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_service"))
        batch_op.drop_index(batch_op.f("ix_work_item_parent"))
        batch_op.drop_index(batch_op.f("ix_work_item_kind"))
        batch_op.drop_index(batch_op.f("ix_work_item_key"))

    op.drop_table("work_item")
