"""weekly rollups"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import string, utc, weekly_rollup_key

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    op.create_table(
        "rollup_dirty",
        string("service", 128),
        utc("week_start"),
        sa.PrimaryKeyConstraint("service", "week_start"),
    )
    op.create_table(
        "rollup_state",
        string("timezone", 64),
        utc("built_at"),
        sa.PrimaryKeyConstraint("timezone"),
    )
    op.create_table(
        "weekly_rollup",
        *weekly_rollup_key(),
        sa.Column("deployments", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("deploy_days_mask", sa.Integer(), nullable=False),
        sa.Column("lead_seconds", sa.JSON(), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.Column("restore_seconds", sa.JSON(), nullable=False),
        sa.Column("friction", sa.Integer(), nullable=False),
        sa.Column("friction_minutes", sa.Integer(), nullable=False),
        sa.UniqueConstraint("timezone", "week", "service", "platform", name="uq_rollup_key"),
    )


def downgrade() -> None:
    op.drop_table("weekly_rollup")
    op.drop_table("rollup_state")
    op.drop_table("rollup_dirty")
