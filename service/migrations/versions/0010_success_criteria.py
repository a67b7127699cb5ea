"""Success criteria of a migration and their audit trail"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import id_key, string, utc

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.create_table(
        "success_criterion",
        id_key(),
        sa.Column("migration_id", sa.Integer(), sa.ForeignKey("migration.id"), nullable=False, index=True),
        string("metric", 64),
        string("direction", 16),
        string("kind", 16),
        sa.Column("target", sa.Float(), nullable=False),
        utc("deadline", nullable=True),
        utc("created_at"),
        utc("updated_at"),
        sa.UniqueConstraint("migration_id", "metric", name="uq_criterion_migration_metric"),
    )
    op.create_table(
        "criteria_change",
        id_key(),
        sa.Column("migration_id", sa.Integer(), sa.ForeignKey("migration.id"), nullable=False, index=True),
        string("subject", 64),
        string("action", 16),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        string("changed_by", 128),
        utc("changed_at"),
        sa.Column("after_start", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("criteria_change")
    op.drop_table("success_criterion")
