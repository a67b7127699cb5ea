"""Success criteria of a migration and their audit trail

Revision ID: 0010
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "success_criterion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("deadline", service.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["migration_id"], ["migration.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("migration_id", "metric", name="uq_criterion_migration_metric"),
    )
    op.create_index("ix_success_criterion_migration_id", "success_criterion", ["migration_id"])
    op.create_table(
        "criteria_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("changed_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("after_start", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["migration_id"], ["migration.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_criteria_change_migration_id", "criteria_change", ["migration_id"])


def downgrade() -> None:
    op.drop_index("ix_criteria_change_migration_id", table_name="criteria_change")
    op.drop_table("criteria_change")
    op.drop_index("ix_success_criterion_migration_id", table_name="success_criterion")
    op.drop_table("success_criterion")
