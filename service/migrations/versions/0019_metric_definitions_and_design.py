"""user-declared metrics (any measurement name judged like the built-in ones); a migration's design

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 05:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.core.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_definition",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("effect_scale", sa.String(length=16), nullable=False),
        sa.Column("defined_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
    )

    op.add_column("migration", sa.Column("design", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("migration", "design")
    op.drop_table("metric_definition")
