"""weekly rollups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 11:53:00.157008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "rollup_dirty",
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("week_start", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "week_start"),
    )
    op.create_table(
        "rollup_state",
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("built_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("timezone"),
    )
    op.create_table(
        "weekly_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("week_start", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("deployments", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("deploy_days_mask", sa.Integer(), nullable=False),
        sa.Column("lead_seconds", sa.JSON(), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.Column("restore_seconds", sa.JSON(), nullable=False),
        sa.Column("friction", sa.Integer(), nullable=False),
        sa.Column("friction_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("timezone", "week", "service", "platform", name="uq_rollup_key"),
    )
    with op.batch_alter_table("weekly_rollup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_weekly_rollup_week"), ["week"], unique=False)
        batch_op.create_index(batch_op.f("ix_weekly_rollup_week_start"), ["week_start"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("weekly_rollup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_weekly_rollup_week_start"))
        batch_op.drop_index(batch_op.f("ix_weekly_rollup_week"))

    op.drop_table("weekly_rollup")
    op.drop_table("rollup_state")
    op.drop_table("rollup_dirty")
