"""Catalogue aliases: a renamed or merged service's old names

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_alias",
        sa.Column("alias", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service"], ["service.slug"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alias"),
    )
    op.create_index(op.f("ix_service_alias_service"), "service_alias", ["service"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_service_alias_service"), table_name="service_alias")
    op.drop_table("service_alias")
